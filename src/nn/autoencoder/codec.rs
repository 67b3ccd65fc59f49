//! What every autoencoder shares: the [`Autoencoder`] trait, the shape helpers that flatten a batch of
//! observations, and the last encoder layer.

use super::OutputActivation;
use crate::nn::linear::Linear;
use crate::nn::orthogonal::Orthogonal;
use crate::nn::params::Scope;
use candle_core::{Result, Tensor};

/// An encoder φ and decoder ψ.
pub trait Autoencoder: Send + Sync {
    /// φ: `[n, obs..]` → `[n, latent]`. Train mode uses and updates batch statistics.
    fn encode(&self, x: &Tensor, train: bool) -> Result<Tensor>;
    /// ψ before its output activation (the logits of a sigmoid output): `[n, latent]` → `[n, obs..]`.
    fn decode_pre(&self, z: &Tensor, train: bool) -> Result<Tensor>;
    /// The decoder's output activation.
    fn output(&self) -> OutputActivation {
        OutputActivation::Identity
    }
    /// ψ: `[n, latent]` → `[n, obs..]`, the output activation of [`Self::decode_pre`].
    fn decode(&self, z: &Tensor, train: bool) -> Result<Tensor> {
        self.output().apply(&self.decode_pre(z, train)?)
    }
    /// Latent dimension per observation.
    fn latent_dim(&self) -> usize;
    /// Eval-mode φ(x) and its directional derivative J_φ(x)·v along `v` (same shape as `x`), by
    /// forward mode (exact): the latent time derivative ż = J_φ(x)·ẋ.
    fn encode_jvp(&self, x: &Tensor, v: &Tensor) -> Result<(Tensor, Tensor)>;
    /// Eval-mode ψ(z) and its directional derivative J_ψ(z)·v along `v` (`[n, latent]`), by forward
    /// mode built from differentiable ops, so that a loss on it trains the decoder (the SINDy
    /// autoencoder's ẋ ≈ J_ψ(z)·ż). Kinds whose Jacobians are not built that way have none.
    fn decode_jvp(&self, _z: &Tensor, _v: &Tensor) -> Result<(Tensor, Tensor)> {
        candle_core::bail!(
            "this autoencoder kind has no trainable decoder Jacobian (use kind = \"mlp\", \"pca\" or \"identity\")"
        )
    }
    /// Sets the parts fitted to data rather than trained (the `pca` projection) from a sample of training
    /// observations, before a new run starts; returns a line for the log. The others have none.
    fn fit(&self, _frames: &[&[f32]]) -> Result<Option<String>> {
        Ok(None)
    }
}

/// Flattens `[n, obs..]` to `[n, Π obs]`.
pub(crate) fn flatten_obs(x: &Tensor) -> Result<Tensor> {
    let n = x.dim(0)?;
    x.reshape((n, x.elem_count() / n.max(1)))
}

/// Reshapes rows `[n, Π obs]` to `[n, obs..]`.
pub(crate) fn unflatten_obs(x: &Tensor, obs: &[usize]) -> Result<Tensor> {
    let mut shape = vec![x.dim(0)?];
    shape.extend(obs);
    x.reshape(shape)
}

/// Last encoder layer: orthogonal (bias-free) or plain.
pub(crate) enum Head {
    Orthogonal(Orthogonal),
    Linear(Linear),
}

impl Head {
    /// An orthogonal or plain (biased) map `inp → out` in scope `s`.
    pub(crate) fn new(s: &mut Scope, orthogonal: bool, inp: usize, out: usize) -> Result<Self> {
        Ok(if orthogonal {
            Head::Orthogonal(Orthogonal::new(s, inp, out)?)
        } else {
            Head::Linear(Linear::new(s, inp, out, true)?)
        })
    }

    /// The weight `[out, inp]`.
    pub(crate) fn weight(&self) -> Result<Tensor> {
        match self {
            Head::Orthogonal(o) => o.weight(),
            Head::Linear(l) => Ok(l.weight.as_tensor().clone()),
        }
    }

    /// Applies the layer.
    pub(crate) fn forward(&self, x: &Tensor) -> Result<Tensor> {
        match self {
            Head::Orthogonal(o) => o.forward(x),
            Head::Linear(l) => l.forward(x),
        }
    }
}
