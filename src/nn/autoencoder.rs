//! Autoencoders between observations and the latent space, chosen by the `[autoencoder]` config: an MLP
//! (batch norm, orthogonal last encoder layer, latent batch norm), convolutional ones for signals and
//! images (`conv1d`, `cnn`; see [`super::cnn`]) and the identity (plain LieGAN in data space). Every implementation maps a batch of single observations `[n, obs..]` to `[n, latent]` and
//! back; windows are encoded element-wise by flattening them into the batch, so every window element
//! shares the weights and batch statistics pool batch × window.

use super::batch_norm::BatchNorm;
use super::linear::Linear;
use super::mlp::{forward_all, forward_jvp_all, hidden_layers, Activation, Layer, MlpSpec};
use super::orthogonal::Orthogonal;
use super::params::Scope;
use candle_core::{Result, Tensor};
use serde::{Deserialize, Serialize};

/// Which autoencoder.
#[derive(Clone, Copy, Debug, Default, Serialize, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "kebab-case")]
pub enum Kind {
    #[default]
    Mlp,
    /// 1-D convolutions over `[length]` or `[channels, length]` signals.
    Conv1d,
    /// 2-D convolutions over `[height, width]` or `[channels, height, width]` images.
    Cnn,
    /// z = x (flattened): the linear LieGAN baseline.
    Identity,
}

/// Non-linearity on the decoder's output.
#[derive(Clone, Copy, Debug, Default, Serialize, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "kebab-case")]
pub enum OutputActivation {
    /// Unbounded output (the MLP default).
    #[default]
    Identity,
    /// Values in (0, 1), for pixel intensities.
    Sigmoid,
}

impl OutputActivation {
    /// Applies the activation.
    pub fn apply(self, y: &Tensor) -> Result<Tensor> {
        match self {
            OutputActivation::Identity => Ok(y.clone()),
            OutputActivation::Sigmoid => candle_nn::ops::sigmoid(y),
        }
    }
}

/// `[autoencoder]` settings.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields, default)]
pub struct AutoencoderConfig {
    pub kind: Kind,
    /// Latent dimension per observation (ignored by `identity`, whose latent is the observation).
    pub latent: usize,
    /// Width of the hidden layers (`mlp`).
    pub hidden: usize,
    /// Hidden layers of the encoder and of the decoder (`mlp`).
    pub layers: usize,
    /// Hidden-layer activation (`mlp`; the convolutional kinds use ReLU).
    pub activation: Activation,
    /// Batch norm between each hidden Linear and its activation (`mlp`, encoder only).
    pub batch_norm: bool,
    /// Output channels of the convolution stages, each followed by a max-pool by 2 (`conv1d`, `cnn`).
    pub channels: Vec<usize>,
    /// Convolution kernel size (odd; padded to keep the size).
    pub kernel: usize,
    /// Fully connected widths between the convolution features and the latent (`conv1d`, `cnn`).
    pub fc: Vec<usize>,
    /// Decoder output activation.
    pub output: OutputActivation,
    /// Last encoder layer with exactly orthonormal rows and no bias (else a plain Linear).
    pub orthogonal: bool,
    /// Batch norm on the latent.
    pub latent_norm: bool,
}

impl Default for AutoencoderConfig {
    fn default() -> Self {
        Self {
            kind: Kind::Mlp,
            latent: 2,
            hidden: 512,
            layers: 5,
            activation: Activation::Relu,
            batch_norm: true,
            channels: vec![16, 32, 64],
            kernel: 3,
            fc: vec![128, 32],
            output: OutputActivation::Identity,
            orthogonal: true,
            latent_norm: true,
        }
    }
}

/// An encoder φ and decoder ψ.
pub trait Autoencoder: Send + Sync {
    /// φ: `[n, obs..]` → `[n, latent]`. Train mode uses and updates batch statistics.
    fn encode(&self, x: &Tensor, train: bool) -> Result<Tensor>;
    /// ψ: `[n, latent]` → `[n, obs..]`.
    fn decode(&self, z: &Tensor, train: bool) -> Result<Tensor>;
    /// Latent dimension per observation.
    fn latent_dim(&self) -> usize;
    /// Eval-mode φ(x) and its directional derivative J_φ(x)·v along `v` (same shape as `x`), by
    /// forward mode (exact): the latent time derivative ż = J_φ(x)·ẋ.
    fn encode_jvp(&self, x: &Tensor, v: &Tensor) -> Result<(Tensor, Tensor)>;
}

/// Builds the autoencoder of `cfg` for observations of shape `obs` in scope `s`.
pub fn build(
    cfg: &AutoencoderConfig,
    obs: &[usize],
    s: &mut Scope,
) -> Result<Box<dyn Autoencoder>> {
    Ok(match cfg.kind {
        Kind::Mlp => Box::new(MlpAutoencoder::new(cfg, obs, s)?),
        Kind::Conv1d | Kind::Cnn => Box::new(super::cnn::ConvAutoencoder::new(cfg, obs, s)?),
        Kind::Identity => Box::new(Identity { obs: obs.to_vec() }),
    })
}

/// Flattens `[n, obs..]` to `[n, Π obs]`.
pub(crate) fn flatten_obs(x: &Tensor) -> Result<Tensor> {
    let n = x.dim(0)?;
    x.reshape((n, x.elem_count() / n.max(1)))
}

/// The identity autoencoder.
pub struct Identity {
    obs: Vec<usize>,
}

impl Autoencoder for Identity {
    fn encode(&self, x: &Tensor, _train: bool) -> Result<Tensor> {
        flatten_obs(x)
    }
    fn decode(&self, z: &Tensor, _train: bool) -> Result<Tensor> {
        let mut shape = vec![z.dim(0)?];
        shape.extend(&self.obs);
        z.reshape(shape)
    }
    fn latent_dim(&self) -> usize {
        self.obs.iter().product()
    }
    fn encode_jvp(&self, x: &Tensor, v: &Tensor) -> Result<(Tensor, Tensor)> {
        Ok((flatten_obs(x)?, flatten_obs(v)?))
    }
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
    fn weight(&self) -> Result<Tensor> {
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

/// The MLP autoencoder of the reference.
pub struct MlpAutoencoder {
    obs: Vec<usize>,
    latent: usize,
    encoder: Vec<Layer>,
    head: Head,
    latent_norm: Option<BatchNorm>,
    decoder: Vec<Layer>,
    output: Linear,
    output_act: OutputActivation,
}

impl MlpAutoencoder {
    /// Builds `encoder.{0..layers, head, norm}` and `decoder.{0..layers, out}` in scope `s`.
    pub fn new(cfg: &AutoencoderConfig, obs: &[usize], s: &mut Scope) -> Result<Self> {
        let inp: usize = obs.iter().product();
        if cfg.layers == 0 || cfg.hidden == 0 || cfg.latent == 0 {
            candle_core::bail!(
                "autoencoder: layers, hidden and latent must be positive; found {}, {}, {}",
                cfg.layers,
                cfg.hidden,
                cfg.latent
            );
        }
        let spec = |input, batch_norm| MlpSpec {
            input,
            hidden: cfg.hidden,
            layers: cfg.layers,
            batch_norm,
            activation: cfg.activation,
        };
        let mut es = s.pp("encoder");
        let encoder = hidden_layers(&mut es, spec(inp, cfg.batch_norm))?;
        let head = Head::new(&mut es.pp("head"), cfg.orthogonal, cfg.hidden, cfg.latent)?;
        let latent_norm = if cfg.latent_norm {
            Some(BatchNorm::new(&mut es.pp("norm"), cfg.latent)?)
        } else {
            None
        };
        let mut ds = s.pp("decoder");
        let decoder = hidden_layers(&mut ds, spec(cfg.latent, false))?;
        let output = Linear::new(&mut ds.pp("out"), cfg.hidden, inp, true)?;
        Ok(Self {
            obs: obs.to_vec(),
            latent: cfg.latent,
            encoder,
            head,
            latent_norm,
            decoder,
            output,
            output_act: cfg.output,
        })
    }
}

impl Autoencoder for MlpAutoencoder {
    fn encode(&self, x: &Tensor, train: bool) -> Result<Tensor> {
        let h = forward_all(&self.encoder, &flatten_obs(x)?, train)?;
        let z = self.head.forward(&h)?;
        match &self.latent_norm {
            Some(bn) => bn.forward(&z, train),
            None => Ok(z),
        }
    }
    fn decode(&self, z: &Tensor, train: bool) -> Result<Tensor> {
        let y = self.output_act.apply(&self.output.forward(&forward_all(
            &self.decoder,
            z,
            train,
        )?)?)?;
        let mut shape = vec![z.dim(0)?];
        shape.extend(&self.obs);
        y.reshape(shape)
    }
    fn latent_dim(&self) -> usize {
        self.latent
    }
    fn encode_jvp(&self, x: &Tensor, v: &Tensor) -> Result<(Tensor, Tensor)> {
        let (h, dh) = forward_jvp_all(&self.encoder, &flatten_obs(x)?, &flatten_obs(v)?)?;
        let z = self.head.forward(&h)?;
        let dz = super::linear::linear(&dh, &self.head.weight()?, None)?;
        match &self.latent_norm {
            Some(bn) => Ok((bn.forward(&z, false)?, dz.broadcast_mul(&bn.eval_scale()?)?)),
            None => Ok((z, dz)),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::nn::params::Params;
    use crate::testing::{
        encoder_jvp_error, grad_check, grad_check_var, randn_like, randomize_norms,
    };
    use candle_core::{DType, Device};

    fn small(kind: Kind) -> (Params, Box<dyn Autoencoder>) {
        let cfg = AutoencoderConfig {
            kind,
            latent: 2,
            hidden: 6,
            layers: 2,
            activation: Activation::Tanh,
            ..Default::default()
        };
        let mut p = Params::new(DType::F64, &Device::Cpu);
        let mut rng = crate::rng::stream(1, "t");
        let ae = build(&cfg, &[3], &mut p.scope("ae", &mut rng)).unwrap();
        (p, ae)
    }

    #[test]
    fn mlp_encoder_and_decoder_gradients_match_finite_differences() {
        let (p, ae) = small(Kind::Mlp);
        let x = randn_like(&[7, 3], 1.0, 2).unwrap();
        let r = randn_like(&[7, 3], 1.0, 3).unwrap();
        // Through encoder (train-mode batch norm, orthogonal head, latent norm) and decoder.
        let err = grad_check(&x, 1e-5, |x| {
            ae.decode(&ae.encode(x, true)?, true)?.mul(&r)?.sum_all()
        })
        .unwrap();
        assert!(err < 1e-6, "input {err:e}");
        // Every parameter gets a gradient that matches.
        for (name, v) in p.vars() {
            let err = grad_check_var(v, 1e-5, || {
                ae.decode(&ae.encode(&x, true)?, true)?.mul(&r)?.sum_all()
            })
            .unwrap();
            assert!(err < 1e-6, "{name}: {err:e}");
        }
        let z = ae.encode(&x, false).unwrap();
        assert_eq!(z.dims(), &[7, 2]);
        assert!(p.buffers().contains_key("ae.encoder.norm.running_mean"));
    }

    #[test]
    fn encoder_jvp_matches_finite_differences_in_eval_mode() {
        for act in [Activation::Relu, Activation::Tanh, Activation::LeakyRelu] {
            let cfg = AutoencoderConfig {
                latent: 2,
                hidden: 7,
                layers: 3,
                activation: act,
                ..Default::default()
            };
            let mut p = Params::new(DType::F64, &Device::Cpu);
            let mut rng = crate::rng::stream(4, "t");
            let ae = build(&cfg, &[3], &mut p.scope("ae", &mut rng)).unwrap();
            randomize_norms(&p).unwrap();
            let x = randn_like(&[5, 3], 1.0, 8).unwrap();
            let v = randn_like(&[5, 3], 1.0, 9).unwrap();
            let err = encoder_jvp_error(ae.as_ref(), &x, &v).unwrap();
            assert!(err < 1e-7, "{act:?} jvp {err:e}");
        }
    }

    #[test]
    fn identity_is_the_identity() {
        let (p, ae) = small(Kind::Identity);
        let x = randn_like(&[4, 3], 1.0, 2).unwrap();
        let z = ae.encode(&x, true).unwrap();
        let y = ae.decode(&z, true).unwrap();
        assert_eq!(ae.latent_dim(), 3);
        assert_eq!(y.to_vec2::<f64>().unwrap(), x.to_vec2::<f64>().unwrap());
        assert!(p.vars().is_empty());
    }
}
