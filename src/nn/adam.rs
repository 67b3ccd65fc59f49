//! Adam (PyTorch's formulation, no weight decay) over one parameter group, with its moment estimates
//! and step count readable and writable so training resumes exactly. On the CPU the update of each
//! variable is one fused pass over its storage, in place; elsewhere (and on the generic path,
//! `fused::generic`) it is composed of candle ops on the variable's device.

use super::fused::{fuses, Float};
use candle_core::backprop::GradStore;
use candle_core::{CpuStorage, DType, InplaceOp2, Layout, Result, Tensor, Var};
use std::sync::Mutex;

/// Adam over a named list of variables.
pub struct Adam {
    params: Vec<(String, Var)>,
    /// First and second moments per variable (same element type as the variable).
    moments: Vec<Moments>,
    steps: u64,
    pub lr: f64,
    pub beta1: f64,
    pub beta2: f64,
    pub eps: f64,
}

/// A variable's first and second moments: host storage the fused update works in, or tensors on the
/// variable's device.
enum Moments {
    Host(CpuStorage, CpuStorage),
    Device(Tensor, Tensor),
}

/// One variable's update: m ← β₁m + (1−β₁)g, v ← β₂v + (1−β₂)g², θ ← θ − lr/bc1 · m/(√v/√bc2 + eps).
struct Update<'a> {
    moments: Mutex<(&'a mut CpuStorage, &'a mut CpuStorage)>,
    beta1: f64,
    beta2: f64,
    step_size: f64,
    sqrt_bc2: f64,
    eps: f64,
}

impl Update<'_> {
    fn run<T: Float>(&self, p: &mut [T], g: &[T], m: &mut [T], v: &mut [T]) {
        let c = |x: f64| T::from_f64(x);
        let (b1, b2, lr, sb, eps) = (
            c(self.beta1),
            c(self.beta2),
            c(self.step_size),
            c(1.0 / self.sqrt_bc2),
            c(self.eps),
        );
        let (one_b1, one_b2) = (c(1.0 - self.beta1), c(1.0 - self.beta2));
        let update = |p: &mut [T], g: &[T], m: &mut [T], v: &mut [T]| {
            for (((p, &g), m), v) in p.iter_mut().zip(g).zip(m.iter_mut()).zip(v.iter_mut()) {
                *m = b1 * *m + one_b1 * g;
                *v = b2 * *v + one_b2 * g * g;
                *p -= lr * *m / (num_traits::Float::sqrt(*v) * sb + eps);
            }
        };
        // Element-wise, so splitting across the pool changes no result.
        const CHUNK: usize = 1 << 15;
        if p.len() <= CHUNK {
            return update(p, g, m, v);
        }
        use rayon::prelude::*;
        p.par_chunks_mut(CHUNK)
            .zip(g.par_chunks(CHUNK))
            .zip(m.par_chunks_mut(CHUNK))
            .zip(v.par_chunks_mut(CHUNK))
            .for_each(|(((p, g), m), v)| update(p, g, m, v));
    }
}

impl InplaceOp2 for Update<'_> {
    fn name(&self) -> &'static str {
        "adam-update"
    }
    fn cpu_fwd(
        &self,
        s1: &mut CpuStorage,
        l1: &Layout,
        s2: &CpuStorage,
        l2: &Layout,
    ) -> Result<()> {
        let (Some((a1, b1)), Some((a2, b2))) = (l1.contiguous_offsets(), l2.contiguous_offsets())
        else {
            candle_core::bail!("adam: expected contiguous variables and gradients");
        };
        let mut guard = self.moments.lock().expect("adam moments lock");
        let (m, v) = &mut *guard;
        match (s1, s2, &mut **m, &mut **v) {
            (CpuStorage::F32(p), CpuStorage::F32(g), CpuStorage::F32(m), CpuStorage::F32(v)) => {
                self.run(&mut p[a1..b1], &g[a2..b2], m, v)
            }
            (CpuStorage::F64(p), CpuStorage::F64(g), CpuStorage::F64(m), CpuStorage::F64(v)) => {
                self.run(&mut p[a1..b1], &g[a2..b2], m, v)
            }
            _ => candle_core::bail!("adam supports f32 and f64 variables"),
        }
        Ok(())
    }
}

impl Moments {
    /// Moments `m` and `v` of `var` (any shape, device and float type), kept where `var`'s update runs.
    fn new(var: &Var, m: &Tensor, v: &Tensor) -> Result<Self> {
        if !matches!(var.dtype(), DType::F32 | DType::F64) {
            candle_core::bail!(
                "adam supports f32 and f64 variables, found {:?}",
                var.dtype()
            );
        }
        let on = |t: &Tensor| -> Result<Tensor> {
            t.to_dtype(var.dtype())?
                .to_device(var.device())?
                .reshape(var.shape())
        };
        if !fuses(var.as_tensor()) {
            return Ok(Self::Device(on(m)?, on(v)?));
        }
        let host = |t: &Tensor| -> Result<CpuStorage> {
            let t = t.to_dtype(var.dtype())?.flatten_all()?;
            Ok(match var.dtype() {
                DType::F32 => CpuStorage::F32(t.to_vec1()?),
                _ => CpuStorage::F64(t.to_vec1()?),
            })
        };
        Ok(Self::Host(host(m)?, host(v)?))
    }

    /// Zero moments for `var`.
    fn zeros(var: &Var) -> Result<Self> {
        let z = var.as_tensor().zeros_like()?;
        Self::new(var, &z, &z)
    }

    /// (m, v) as tensors shaped like `var`.
    fn tensors(&self, var: &Var) -> Result<(Tensor, Tensor)> {
        let t = |s: &CpuStorage| match s {
            CpuStorage::F32(d) => Tensor::from_slice(d, var.shape(), var.device()),
            CpuStorage::F64(d) => Tensor::from_slice(d, var.shape(), var.device()),
            _ => candle_core::bail!("adam supports f32 and f64 variables"),
        };
        match self {
            Self::Host(m, v) => Ok((t(m)?, t(v)?)),
            Self::Device(m, v) => Ok((m.clone(), v.clone())),
        }
    }
}

impl Adam {
    /// Adam with learning rate `lr`, betas 0.9/0.999, eps 1e-8, zero moments.
    pub fn new(params: Vec<(String, Var)>, lr: f64) -> Result<Self> {
        let moments = params
            .iter()
            .map(|(_, v)| Moments::zeros(v))
            .collect::<Result<_>>()?;
        Ok(Self {
            params,
            moments,
            steps: 0,
            lr,
            beta1: 0.9,
            beta2: 0.999,
            eps: 1e-8,
        })
    }

    /// Steps taken so far.
    pub fn steps(&self) -> u64 {
        self.steps
    }

    /// One update from the gradients in `grads`; variables without a gradient are left alone.
    pub fn step(&mut self, grads: &GradStore) -> Result<()> {
        self.steps += 1;
        let t = self.steps as i32;
        let bc1 = 1.0 - self.beta1.powi(t);
        let bc2 = 1.0 - self.beta2.powi(t);
        for ((_, var), moments) in self.params.iter().zip(self.moments.iter_mut()) {
            let Some(g) = grads.get(var.as_tensor()) else {
                continue;
            };
            let (step_size, sqrt_bc2) = (self.lr / bc1, bc2.sqrt());
            match moments {
                Moments::Host(m, v) => {
                    let update = Update {
                        moments: Mutex::new((m, v)),
                        beta1: self.beta1,
                        beta2: self.beta2,
                        step_size,
                        sqrt_bc2,
                        eps: self.eps,
                    };
                    var.as_tensor().inplace_op2(&g.contiguous()?, &update)?;
                }
                Moments::Device(m, v) => {
                    let g = g.detach();
                    *m = (m.affine(self.beta1, 0.0)? + g.affine(1.0 - self.beta1, 0.0)?)?;
                    *v = (v.affine(self.beta2, 0.0)? + g.sqr()?.affine(1.0 - self.beta2, 0.0)?)?;
                    let denom = v.sqrt()?.affine(1.0 / sqrt_bc2, self.eps)?;
                    let step = m.affine(step_size, 0.0)?.div(&denom)?;
                    var.set(&var.as_tensor().sub(&step)?)?;
                }
            }
        }
        Ok(())
    }

    /// Moments as `(prefix.m.<name>, tensor)` and `(prefix.v.<name>, tensor)`.
    pub fn state(&self, prefix: &str) -> Result<Vec<(String, Tensor)>> {
        let mut out = Vec::with_capacity(2 * self.params.len());
        for ((name, var), moments) in self.params.iter().zip(&self.moments) {
            let (m, v) = moments.tensors(var)?;
            out.push((format!("{prefix}.m.{name}"), m));
            out.push((format!("{prefix}.v.{name}"), v));
        }
        Ok(out)
    }

    /// Restores moments saved by [`Adam::state`] with the same prefix, and the step count.
    pub fn load(
        &mut self,
        prefix: &str,
        steps: u64,
        mut lookup: impl FnMut(&str) -> Option<Tensor>,
    ) -> std::result::Result<(), String> {
        let mut loaded = Vec::with_capacity(self.params.len());
        for (name, var) in &self.params {
            let mut pair = Vec::with_capacity(2);
            for kind in ["m", "v"] {
                let key = format!("{prefix}.{kind}.{name}");
                let t = lookup(&key).ok_or_else(|| format!("missing tensor {key}"))?;
                if t.dims() != var.dims() {
                    return Err(format!(
                        "tensor {key} has shape {:?}, expected {:?}",
                        t.dims(),
                        var.dims()
                    ));
                }
                pair.push(t);
            }
            let moments = Moments::new(var, &pair[0], &pair[1])
                .map_err(|e| format!("{prefix}.*.{name}: {e}"))?;
            loaded.push(moments);
        }
        self.moments = loaded;
        self.steps = steps;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use candle_core::{DType, Device};

    #[test]
    fn matches_hand_computed_adam_steps() {
        crate::testing::on_both_paths(|| {
            let x = Var::new(&[1.0f64, -2.0], &Device::Cpu).unwrap();
            let mut opt = Adam::new(vec![("x".into(), x.clone())], 0.1).unwrap();
            // f = Σ x², g = 2x. Reference values from the formula done by hand in f64.
            let (mut m, mut v, mut p) = ([0.0f64; 2], [0.0f64; 2], [1.0f64, -2.0]);
            for t in 1..=3 {
                let g = x
                    .as_tensor()
                    .sqr()
                    .unwrap()
                    .sum_all()
                    .unwrap()
                    .backward()
                    .unwrap();
                opt.step(&g).unwrap();
                for i in 0..2 {
                    let gi = 2.0 * p[i];
                    m[i] = 0.9 * m[i] + 0.1 * gi;
                    v[i] = 0.999 * v[i] + 0.001 * gi * gi;
                    let mh = m[i] / (1.0 - 0.9f64.powi(t));
                    let vh = v[i] / (1.0 - 0.999f64.powi(t));
                    p[i] -= 0.1 * mh / (vh.sqrt() + 1e-8);
                }
            }
            let got = x.as_tensor().to_vec1::<f64>().unwrap();
            for i in 0..2 {
                assert!((got[i] - p[i]).abs() < 1e-12, "{got:?} vs {p:?}");
            }
        });
    }

    #[test]
    fn state_round_trip_continues_identically() {
        crate::testing::on_both_paths(|| {
            let run = |split: bool| -> Vec<f32> {
                let x = Var::new(&[0.5f32, 1.5, -1.0], &Device::Cpu).unwrap();
                let mut opt = Adam::new(vec![("x".into(), x.clone())], 0.05).unwrap();
                let loss = |x: &Var| x.as_tensor().powf(4.0).unwrap().sum_all().unwrap();
                for _ in 0..3 {
                    opt.step(&loss(&x).backward().unwrap()).unwrap();
                }
                if split {
                    let saved: std::collections::HashMap<_, _> =
                        opt.state("ae").unwrap().into_iter().collect();
                    let steps = opt.steps();
                    opt = Adam::new(vec![("x".into(), x.clone())], 0.05).unwrap();
                    opt.load("ae", steps, |k| saved.get(k).cloned()).unwrap();
                    assert!(opt.load("other", 1, |k| saved.get(k).cloned()).is_err());
                }
                for _ in 0..3 {
                    opt.step(&loss(&x).backward().unwrap()).unwrap();
                }
                x.as_tensor()
                    .to_dtype(DType::F32)
                    .unwrap()
                    .to_vec1()
                    .unwrap()
            };
            assert_eq!(run(false), run(true));
        });
    }
}
