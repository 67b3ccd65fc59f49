//! Named parameters and buffers of one model part, created from the project's seeded streams (candle's
//! own random generator cannot be seeded). Names are ordered, so optimizers and checkpoints see the
//! same order every run.

use crate::rng::{self, Stream};
use candle_core::{DType, Device, Result, Tensor, Var};
use std::collections::BTreeMap;

/// Trainable variables and non-trainable buffers (e.g. batch-norm running statistics) of a model part.
#[derive(Clone)]
pub struct Params {
    vars: BTreeMap<String, Var>,
    buffers: BTreeMap<String, Var>,
    dtype: DType,
    device: Device,
}

impl Params {
    /// An empty store for tensors of `dtype` on `device`.
    pub fn new(dtype: DType, device: &Device) -> Self {
        Self {
            vars: BTreeMap::new(),
            buffers: BTreeMap::new(),
            dtype,
            device: device.clone(),
        }
    }
    /// Element type of the tensors.
    pub fn dtype(&self) -> DType {
        self.dtype
    }
    /// Device of the tensors.
    pub fn device(&self) -> &Device {
        &self.device
    }
    /// Trainable variables by name.
    pub fn vars(&self) -> &BTreeMap<String, Var> {
        &self.vars
    }
    /// Buffers by name.
    pub fn buffers(&self) -> &BTreeMap<String, Var> {
        &self.buffers
    }
    /// A scope that prefixes names with `prefix.` and draws initial values from `rng`.
    pub fn scope<'a>(&'a mut self, prefix: &str, rng: &'a mut Stream) -> Scope<'a> {
        Scope {
            params: self,
            prefix: prefix.to_string(),
            rng,
        }
    }
    /// All variables and buffers as (name, tensor), variables first.
    pub fn state(&self) -> Vec<(String, Tensor)> {
        self.vars
            .iter()
            .chain(&self.buffers)
            .map(|(k, v)| (k.clone(), v.as_tensor().clone()))
            .collect()
    }
    /// Overwrites variables and buffers from `lookup` (name → tensor); every name must be present with the
    /// same shape.
    pub fn load(
        &self,
        mut lookup: impl FnMut(&str) -> Option<Tensor>,
    ) -> std::result::Result<(), String> {
        for (name, v) in self.vars.iter().chain(&self.buffers) {
            let t = lookup(name).ok_or_else(|| format!("missing tensor {name}"))?;
            if t.dims() != v.dims() {
                return Err(format!(
                    "tensor {name} has shape {:?}, expected {:?}",
                    t.dims(),
                    v.dims()
                ));
            }
            let t = t
                .to_dtype(self.dtype)
                .and_then(|t| t.to_device(&self.device))
                .map_err(|e| e.to_string())?;
            v.set(&t).map_err(|e| format!("tensor {name}: {e}"))?;
        }
        Ok(())
    }
}

/// Creates named variables inside a [`Params`] store.
pub struct Scope<'a> {
    params: &'a mut Params,
    prefix: String,
    rng: &'a mut Stream,
}

impl Scope<'_> {
    /// A sub-scope `prefix.name`.
    pub fn pp(&mut self, name: impl std::fmt::Display) -> Scope<'_> {
        let prefix = if self.prefix.is_empty() {
            name.to_string()
        } else {
            format!("{}.{name}", self.prefix)
        };
        Scope {
            params: self.params,
            prefix,
            rng: self.rng,
        }
    }

    fn full(&self, name: &str) -> String {
        if self.prefix.is_empty() {
            name.to_string()
        } else {
            format!("{}.{name}", self.prefix)
        }
    }

    fn tensor(&self, values: Vec<f64>, shape: &[usize]) -> Result<Tensor> {
        Tensor::from_vec(values, shape, &self.params.device)?.to_dtype(self.params.dtype)
    }

    /// Refuses a new tensor `name` of `shape` when the store with it would not fit in memory: each
    /// element is counted four times (value, gradient, two Adam moments), plus the f64 initial values.
    fn reserve(&self, name: &str, shape: &[usize]) -> Result<()> {
        let held: usize = self
            .params
            .vars
            .values()
            .chain(self.params.buffers.values())
            .map(|v| v.elem_count())
            .sum();
        let size = self.params.dtype.size_in_bytes();
        let need = crate::memory::bytes(shape, 1, 1).and_then(|n| {
            let total = n.checked_add(held as u64)?;
            total
                .checked_mul(4 * size as u64)?
                .checked_add(n.checked_mul(8)?)
        });
        crate::memory::check(need, || {
            format!("tensor {} of shape {shape:?}", self.full(name))
        })
        .map_err(|e| candle_core::Error::Msg(format!("{e}; reduce the sizes in the config")))
    }

    /// Registers a trainable variable with the given initial values.
    pub fn var(&mut self, name: &str, shape: &[usize], values: Vec<f64>) -> Result<Var> {
        let v = Var::from_tensor(&self.tensor(values, shape)?)?;
        self.params.vars.insert(self.full(name), v.clone());
        Ok(v)
    }
    /// A variable with entries U(−bound, bound) (PyTorch's default Linear init uses 1/√fan_in).
    pub fn uniform(&mut self, name: &str, shape: &[usize], bound: f64) -> Result<Var> {
        self.reserve(name, shape)?;
        let n = shape.iter().product();
        let v = (0..n)
            .map(|_| rng::uniform(self.rng, -bound, bound))
            .collect();
        self.var(name, shape, v)
    }
    /// A variable with standard normal entries times `scale`.
    pub fn normal(&mut self, name: &str, shape: &[usize], scale: f64) -> Result<Var> {
        self.reserve(name, shape)?;
        let n = shape.iter().product();
        let v = (0..n).map(|_| scale * rng::normal(self.rng)).collect();
        self.var(name, shape, v)
    }
    /// A variable filled with `value`.
    pub fn constant(&mut self, name: &str, shape: &[usize], value: f64) -> Result<Var> {
        self.reserve(name, shape)?;
        self.var(name, shape, vec![value; shape.iter().product()])
    }
    /// A non-trainable buffer filled with `value`.
    pub fn buffer(&mut self, name: &str, shape: &[usize], value: f64) -> Result<Var> {
        self.reserve(name, shape)?;
        let v = Var::from_tensor(&self.tensor(vec![value; shape.iter().product()], shape)?)?;
        self.params.buffers.insert(self.full(name), v.clone());
        Ok(v)
    }
}
