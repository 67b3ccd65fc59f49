//! Fully connected layer with PyTorch's default initialization, U(±1/√fan_in) for weight and bias.

use super::fused::{self, Act};
use super::params::Scope;
use candle_core::{Result, Tensor, Var};

/// y = x Wᵀ + b over the last dimension.
pub struct Linear {
    pub weight: Var,
    pub bias: Option<Var>,
}

impl Linear {
    /// A layer `inp → out` in scope `s` (`weight` `[out, inp]`, `bias` `[out]`).
    pub fn new(s: &mut Scope, inp: usize, out: usize, bias: bool) -> Result<Self> {
        let bound = 1.0 / (inp as f64).sqrt();
        let weight = s.uniform("weight", &[out, inp], bound)?;
        let bias = if bias {
            Some(s.uniform("bias", &[out], bound)?)
        } else {
            None
        };
        Ok(Self { weight, bias })
    }

    /// Applies the layer to `[.., inp]`.
    pub fn forward(&self, x: &Tensor) -> Result<Tensor> {
        self.forward_act(x, Act::Identity)
    }

    /// act(x Wᵀ + b) in one fused op.
    pub fn forward_act(&self, x: &Tensor, act: Act) -> Result<Tensor> {
        self.forward_repeat(x, act, 0)
    }

    /// [`Self::forward_act`] for an `x` whose last `repeat` rows (leading dimensions flattened) repeat
    /// its first `repeat` rows: see [`fused::linear_repeat`].
    pub fn forward_repeat(&self, x: &Tensor, act: Act, repeat: usize) -> Result<Tensor> {
        let b = self.bias.as_ref().map(Var::as_tensor);
        flat_rows(x, self.weight.as_tensor(), |x| {
            fused::linear_repeat(x, self.weight.as_tensor(), b, act, repeat)
        })
    }
}

/// x Wᵀ (+ b) for `x` of any rank ≥ 2 (leading dimensions flattened into one matmul).
pub fn linear(x: &Tensor, w: &Tensor, b: Option<&Tensor>) -> Result<Tensor> {
    linear_act(x, w, b, Act::Identity)
}

/// act(x Wᵀ + b) as one fused op, for `x` of any rank ≥ 2.
pub fn linear_act(x: &Tensor, w: &Tensor, b: Option<&Tensor>, act: Act) -> Result<Tensor> {
    flat_rows(x, w, |x| fused::linear(x, w, b, act))
}

/// Applies `f` (`[rows, inp] → [rows, out]`, `out` the rows of `w`) to `x` with its leading dimensions
/// flattened into rows, and restores them.
fn flat_rows(x: &Tensor, w: &Tensor, f: impl FnOnce(&Tensor) -> Result<Tensor>) -> Result<Tensor> {
    let dims = x.dims().to_vec();
    let inp = dims[dims.len() - 1];
    let rows: usize = dims[..dims.len() - 1].iter().product();
    let y = f(&x.reshape((rows, inp))?)?;
    let mut out = dims;
    *out.last_mut().expect("rank ≥ 1") = w.dim(0)?;
    y.reshape(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::nn::params::Params;
    use crate::testing::{grad_check, randn_like};
    use candle_core::{DType, Device};

    #[test]
    fn gradients_match_finite_differences() {
        crate::testing::on_both_paths(|| {
            let mut p = Params::new(DType::F64, &Device::Cpu);
            let mut rng = crate::rng::stream(0, "t");
            let lin = Linear::new(&mut p.scope("l", &mut rng), 3, 4, true).unwrap();
            let x = randn_like(&[2, 5, 3], 1.0, 1).unwrap();
            let w = randn_like(&[2, 5, 4], 1.0, 2).unwrap();
            let err = grad_check(&x, 1e-6, |x| lin.forward(x)?.mul(&w)?.sum_all()).unwrap();
            assert!(err < 1e-8, "input {err:e}");
            let (b, xx) = (lin.bias.clone().unwrap(), x.clone());
            let err = grad_check(lin.weight.as_tensor(), 1e-6, |wt| {
                linear(&xx, wt, Some(b.as_tensor()))?.mul(&w)?.sum_all()
            })
            .unwrap();
            assert!(err < 1e-8, "weight {err:e}");
            let wt = lin.weight.as_tensor().clone();
            let err = grad_check(b.as_tensor(), 1e-6, |bb| {
                linear(&x, &wt, Some(bb))?.mul(&w)?.sum_all()
            })
            .unwrap();
            assert!(err < 1e-8, "bias {err:e}");
            assert_eq!(
                p.vars().keys().collect::<Vec<_>>(),
                vec!["l.bias", "l.weight"]
            );
        });
    }
}
