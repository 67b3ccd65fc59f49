//! The train-mode fast path of a stack of hidden layers (Linear → [batch norm] → ReLU or nothing): the
//! whole stack is one autograd node. Its forward and backward run the same fused kernels, in the same
//! order, as the per-layer ops, so every gradient is bit-for-bit the same; the parameter gradients go
//! straight to a [`GradSink`] instead of through candle's gradient store, which zero-fills and then adds
//! each gradient it accumulates (two extra passes over every weight and activation gradient).
//!
//! The path is taken only while a sink is active on the calling thread ([`GradSink::activate`]), and
//! whoever activates it moves its gradients into the store after the backward pass
//! ([`GradSink::drain_into`]); everywhere else the stack runs layer by layer.

use super::fused::{self, float_dispatch, Act};
use super::layer::{Activation, Layer};
use candle_core::backprop::GradStore;
use candle_core::{
    CpuStorage, CustomOp2, DType, Layout, Result, Shape, Tensor, TensorId, WithDType,
};
use std::cell::RefCell;
use std::collections::HashMap;
use std::sync::{Arc, Mutex};

/// Parameter gradients collected outside candle's gradient store, keyed by parameter.
#[derive(Clone, Default)]
pub struct GradSink(Arc<Mutex<HashMap<TensorId, Tensor>>>);

thread_local! {
    static ACTIVE: RefCell<Option<GradSink>> = const { RefCell::new(None) };
}

/// Keeps a sink active on this thread until dropped (then the previous one, if any, is active again).
pub struct SinkGuard(Option<GradSink>);

impl Drop for SinkGuard {
    fn drop(&mut self) {
        ACTIVE.with(|a| *a.borrow_mut() = self.0.take());
    }
}

impl GradSink {
    /// Routes the parameter gradients of stacks built on this thread to this sink while the guard lives.
    pub fn activate(&self) -> SinkGuard {
        SinkGuard(ACTIVE.with(|a| a.borrow_mut().replace(self.clone())))
    }

    /// The sink active on this thread.
    fn active() -> Option<GradSink> {
        ACTIVE.with(|a| a.borrow().clone())
    }

    /// Adds `grad` to the gradient of `param`.
    fn add(&self, param: TensorId, grad: Tensor) -> Result<()> {
        let mut map = self.0.lock().expect("gradient sink poisoned");
        let sum = match map.remove(&param) {
            Some(g) => g.add(&grad)?,
            None => grad,
        };
        map.insert(param, sum);
        Ok(())
    }

    /// Moves the collected gradients into `grads`, adding to any the store already holds.
    pub fn drain_into(&self, grads: &mut GradStore) -> Result<()> {
        let map = std::mem::take(&mut *self.0.lock().expect("gradient sink poisoned"));
        for (id, g) in map {
            let sum = match grads.get_id(id) {
                Some(prev) => prev.add(&g)?,
                None => g,
            };
            grads.insert_id(id, sum);
        }
        Ok(())
    }
}

/// A parameter, detached, with the id its gradient is filed under.
type Param = (Tensor, TensorId);

fn detached(v: &candle_core::Var) -> Param {
    (v.as_tensor().detach(), v.as_tensor().id())
}

/// A layer's batch norm as its backward needs it: γ, β, its input and the batch statistics.
struct Norm {
    gamma: Param,
    beta: Param,
    pre: Tensor,
    mean: Vec<f64>,
    inv: Vec<f64>,
}

/// One layer as its backward needs it: parameters, input, batch norm, output.
struct Saved {
    weight: Param,
    bias: Option<Param>,
    act: Act,
    x: Tensor,
    norm: Option<Norm>,
    y: Tensor,
}

/// The stack as one op on (input, first weight): the first weight is an argument so that the node
/// joins the graph even when the input is data.
struct StackOp {
    layers: Vec<Saved>,
    repeat: usize,
    sink: GradSink,
}

/// `layers` applied to `x` `[rows, in]` in train mode as one node when a sink is active and every
/// layer's activation fuses (ReLU or none) on the fused CPU path; `None` when the stack must run layer
/// by layer.
pub(crate) fn forward(layers: &[Layer], x: &Tensor, repeat: usize) -> Result<Option<Tensor>> {
    let Some(sink) = GradSink::active() else {
        return Ok(None);
    };
    let fusable = layers.iter().all(|l| {
        matches!(l.activation, None | Some(Activation::Relu)) && (l.norm.is_none() || repeat == 0)
    });
    if layers.is_empty()
        || !fusable
        || !fused::fuses(x)
        || x.rank() != 2
        || !matches!(x.dtype(), DType::F32 | DType::F64)
    {
        return Ok(None);
    }
    let mut saved = Vec::with_capacity(layers.len());
    let mut h = x.detach();
    for l in layers {
        let act = match l.activation {
            Some(_) => Act::Relu,
            None => Act::Identity,
        };
        let weight = detached(&l.linear.weight);
        let bias = l.linear.bias.as_ref().map(detached);
        let (w, b) = (&weight.0, bias.as_ref().map(|b| &b.0));
        let (norm, y) = match &l.norm {
            Some(bn) => {
                let (gamma, beta) = (detached(&bn.weight), detached(&bn.bias));
                let pre = fused::linear(&h, w, b, Act::Identity)?;
                let (mean, var) = bn.batch_stats(&pre)?;
                let y = fused::batch_norm(
                    &pre,
                    &gamma.0,
                    &beta.0,
                    mean.clone(),
                    &var,
                    bn.eps,
                    act,
                    true,
                )?;
                let inv = fused::inv_std(&var, bn.eps);
                let norm = Norm {
                    gamma,
                    beta,
                    pre,
                    mean,
                    inv,
                };
                (Some(norm), y)
            }
            None => (None, fused::linear_repeat(&h, w, b, act, repeat)?),
        };
        let x = std::mem::replace(&mut h, y.clone());
        saved.push(Saved {
            weight,
            bias,
            act,
            x,
            norm,
            y,
        });
    }
    let op = StackOp {
        layers: saved,
        repeat,
        sink,
    };
    Ok(Some(x.apply_op2(layers[0].linear.weight.as_tensor(), op)?))
}

impl CustomOp2 for StackOp {
    fn name(&self) -> &'static str {
        "layer-stack"
    }

    /// The output was computed when the op was built; this hands a copy to the graph.
    fn cpu_fwd(
        &self,
        _: &CpuStorage,
        _: &Layout,
        _: &CpuStorage,
        _: &Layout,
    ) -> Result<(CpuStorage, Shape)> {
        let y = &self.layers.last().expect("a stack has layers").y;
        float_dispatch!(y.dtype(), T => fused::with_data::<T, _>(y, |d| {
            Ok((T::to_cpu_storage_owned(d.to_vec()), y.shape().clone()))
        }))
    }

    fn bwd(
        &self,
        x: &Tensor,
        _w: &Tensor,
        _y: &Tensor,
        g: &Tensor,
    ) -> Result<(Option<Tensor>, Option<Tensor>)> {
        let mut g = g.clone();
        let mut dx = None;
        for (i, s) in self.layers.iter().enumerate().rev() {
            let need_dx = i > 0 || x.track_op();
            let (w, wid) = &s.weight;
            let (d, dw, db) = match &s.norm {
                Some(n) => {
                    let (gpre, dgamma, dbeta) = fused::batch_norm_backward(
                        &n.pre,
                        &n.gamma.0,
                        &s.y,
                        &g,
                        n.mean.clone(),
                        n.inv.clone(),
                        s.act,
                    )?;
                    self.sink.add(n.gamma.1, dgamma)?;
                    self.sink.add(n.beta.1, dbeta)?;
                    fused::linear_backward(&s.x, w, &n.pre, &gpre, Act::Identity, 0, need_dx)?
                }
                None => fused::linear_backward(&s.x, w, &s.y, &g, s.act, self.repeat, need_dx)?,
            };
            self.sink.add(*wid, dw)?;
            if let Some((_, bid)) = &s.bias {
                self.sink.add(*bid, db)?;
            }
            match d {
                Some(d) if i > 0 => g = d,
                d => dx = d,
            }
        }
        Ok((dx, None))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::nn::mlp::{forward_all_repeat, hidden_layers, MlpSpec};
    use crate::nn::params::Params;
    use crate::testing::{grad_check, grad_check_var_sunk, randn_like, randomize_norms};
    use candle_core::{Device, Var};

    fn stack(batch_norm: bool, seed: u64) -> (Params, Vec<Layer>) {
        let mut p = Params::new(DType::F64, &Device::Cpu);
        let mut rng = crate::rng::stream(seed, "t");
        let spec = MlpSpec {
            input: 3,
            hidden: 6,
            layers: 3,
            batch_norm,
            activation: Activation::Relu,
        };
        let layers = hidden_layers(&mut p.scope("mlp", &mut rng), spec).unwrap();
        randomize_norms(&p).unwrap();
        (p, layers)
    }

    /// Rows of which the last `repeat` repeat the first.
    fn input(rows: usize, repeat: usize) -> Tensor {
        let x = randn_like(&[rows - repeat, 3], 1.5, 7).unwrap();
        Tensor::cat(&[&x, &x.narrow(0, 0, repeat).unwrap()], 0).unwrap()
    }

    /// Σ over the inputs x, 2x, … (`uses` of them) of Σ r ⊙ stack(input).
    fn loss(layers: &[Layer], x: &Tensor, repeat: usize, uses: usize) -> Result<Tensor> {
        let r = randn_like(&[x.dim(0)?, 6], 1.0, 9)?;
        let mut total = Tensor::zeros((), DType::F64, &Device::Cpu)?;
        for u in 0..uses {
            let y = forward_all_repeat(layers, &x.affine(1.0 + u as f64, 0.0)?, true, repeat)?;
            total = (total + y.mul(&r)?.sum_all()?)?;
        }
        Ok(total)
    }

    /// Gradients of every variable and of `x`, and the running statistics after the forward pass.
    fn gradients(sunk: bool, batch_norm: bool, repeat: usize, uses: usize) -> Vec<Vec<f64>> {
        let (p, layers) = stack(batch_norm, 1);
        let x = Var::from_tensor(&input(8, repeat)).unwrap();
        let sink = GradSink::default();
        let mut grads = {
            let _active = sunk.then(|| sink.activate());
            let l = loss(&layers, x.as_tensor(), repeat, uses).unwrap();
            l.backward().unwrap()
        };
        sink.drain_into(&mut grads).unwrap();
        let flat = |t: &Tensor| t.flatten_all().unwrap().to_vec1::<f64>().unwrap();
        let mut out = vec![flat(grads.get(x.as_tensor()).expect("input gradient"))];
        for (name, v) in p.vars() {
            let g = grads
                .get(v.as_tensor())
                .unwrap_or_else(|| panic!("no gradient for {name}"));
            out.push(flat(g));
        }
        out.extend(p.buffers().values().map(|b| flat(b.as_tensor())));
        out
    }

    #[test]
    fn one_node_gives_the_gradients_of_the_layer_by_layer_ops_bit_for_bit() {
        for (batch_norm, repeat, uses) in [(true, 0, 1), (false, 2, 1), (true, 0, 2)] {
            let layered = gradients(false, batch_norm, repeat, uses);
            let stacked = gradients(true, batch_norm, repeat, uses);
            assert_eq!(layered.len(), stacked.len());
            for (a, b) in layered.iter().zip(&stacked) {
                assert_eq!(a, b, "batch_norm {batch_norm} repeat {repeat} uses {uses}");
            }
        }
    }

    #[test]
    fn the_stack_is_one_node_only_in_train_mode_while_a_sink_is_active() {
        let (_p, layers) = stack(true, 2);
        let x = input(8, 0);
        let w = layers[1].linear.weight.as_tensor();
        let sink = GradSink::default();
        // Whether candle's own store got the weight's gradient (the layer-by-layer path).
        let in_store = |train: bool, active: bool| {
            let _active = active.then(|| sink.activate());
            let y = forward_all_repeat(&layers, &x, train, 0).unwrap();
            let grads = y.sum_all().unwrap().backward().unwrap();
            grads.get(w).is_some()
        };
        assert!(in_store(true, false));
        assert!(!in_store(true, true));
        let mut grads = Tensor::zeros((), DType::F64, &Device::Cpu)
            .unwrap()
            .backward()
            .unwrap();
        sink.drain_into(&mut grads).unwrap();
        assert!(grads.get(w).is_some(), "the sink holds it");
        assert!(in_store(false, true), "eval mode runs layer by layer");
    }

    #[test]
    fn gradients_match_finite_differences() {
        for (batch_norm, repeat) in [(true, 0), (false, 2)] {
            let (p, layers) = stack(batch_norm, 3);
            let x = input(8, repeat);
            // The input: its gradient leaves the node through candle.
            let sink = GradSink::default();
            let e = {
                let _active = sink.activate();
                // Only distinct rows are free: repeated ones must stay equal to the rows they repeat.
                let head = x.narrow(0, 0, 8 - repeat).unwrap();
                grad_check(&head, 1e-6, |h| {
                    let x = Tensor::cat(&[h, &h.narrow(0, 0, repeat)?], 0)?;
                    loss(&layers, &x, repeat, 1)
                })
                .unwrap()
            };
            assert!(e < 1e-6, "batch_norm {batch_norm}: input {e:e}");
            // Every parameter: its gradient goes through the sink.
            for (name, v) in p.vars() {
                let e = grad_check_var_sunk(v, 1e-6, || loss(&layers, &x, repeat, 1)).unwrap();
                assert!(e < 1e-6, "batch_norm {batch_norm}: {name} {e:e}");
            }
        }
    }
}
