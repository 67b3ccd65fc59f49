//! One fully connected layer: Linear, then optionally batch norm and an activation, with its
//! forward-mode derivative.

use super::batch_norm::BatchNorm;
use super::fused::Act;
use super::linear::Linear;
use candle_core::{Result, Tensor};
use serde::{Deserialize, Serialize};

/// Element-wise non-linearity between layers.
#[derive(Clone, Copy, Debug, Default, Serialize, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "kebab-case")]
pub enum Activation {
    #[default]
    Relu,
    /// max(x, 0.01·x).
    LeakyRelu,
    Tanh,
}

impl Activation {
    /// Applies the activation.
    pub fn apply(self, x: &Tensor) -> Result<Tensor> {
        match self {
            Activation::Relu => x.relu(),
            // 0.505·x + 0.495·|x| = x for x ≥ 0, 0.01·x below; composed of ops with exact gradients.
            Activation::LeakyRelu => x.affine(0.505, 0.0)? + x.abs()?.affine(0.495, 0.0)?,
            Activation::Tanh => x.tanh(),
        }
    }

    /// The derivative at pre-activation `x`, given the output `y = apply(x)`.
    pub fn derivative(self, x: &Tensor, y: &Tensor) -> Result<Tensor> {
        match self {
            Activation::Relu => x.gt(0.0)?.to_dtype(x.dtype()),
            Activation::LeakyRelu => x.gt(0.0)?.to_dtype(x.dtype())?.affine(0.99, 0.01),
            Activation::Tanh => y.sqr()?.affine(-1.0, 1.0),
        }
    }
}

/// One layer of the stack.
pub struct Layer {
    pub linear: Linear,
    pub norm: Option<BatchNorm>,
    pub activation: Option<Activation>,
}

impl Layer {
    /// Linear → batch norm (train mode uses batch statistics) → activation.
    pub fn forward(&self, x: &Tensor, train: bool) -> Result<Tensor> {
        self.forward_repeat(x, train, 0)
    }

    /// [`Self::forward`] for `[rows, in]` whose last `repeat` rows repeat its first `repeat` rows
    /// (see [`super::fused::linear_repeat`]); layers with batch norm take only distinct rows.
    pub fn forward_repeat(&self, x: &Tensor, train: bool, repeat: usize) -> Result<Tensor> {
        // ReLU (or nothing) is fused into the last op of the layer; other activations follow it.
        let (fused, rest) = match self.activation {
            None => (Act::Identity, None),
            Some(Activation::Relu) => (Act::Relu, None),
            Some(a) => (Act::Identity, Some(a)),
        };
        let y = match &self.norm {
            Some(_) if repeat > 0 => {
                candle_core::bail!("batch norm: repeated rows would weigh twice in its statistics")
            }
            Some(bn) => bn.forward_act(&self.linear.forward(x)?, train, fused)?,
            None => self.linear.forward_repeat(x, fused, repeat)?,
        };
        match rest {
            Some(a) => a.apply(&y),
            None => Ok(y),
        }
    }
}

impl Layer {
    /// Eval-mode output and its directional derivative along the tangent `t` (forward mode, exact):
    /// returns (y, J·t) for input `x` `[rows, in]` and `t` of the same shape.
    pub fn forward_jvp(&self, x: &Tensor, t: &Tensor) -> Result<(Tensor, Tensor)> {
        let mut pre = self.linear.forward(x)?;
        let mut tp = super::linear::linear(t, self.linear.weight.as_tensor(), None)?;
        if let Some(bn) = &self.norm {
            let scale = bn.eval_scale()?;
            pre = bn.forward(&pre, false)?;
            tp = tp.broadcast_mul(&scale)?;
        }
        match self.activation {
            Some(a) => {
                let y = a.apply(&pre)?;
                let dt = tp.mul(&a.derivative(&pre, &y)?)?;
                Ok((y, dt))
            }
            None => Ok((pre, tp)),
        }
    }
}
