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
use crate::data::pca::Pca;
use candle_core::{Result, Tensor, Var};
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
    /// z = Uᵀ(x − μ)/s: a fixed projection on the `latent` leading principal components of the training
    /// observations (s is one scale for all of them, so that the latent has unit mean variance). The
    /// linear LieGAN baseline where the raw observations are too large for it.
    Pca,
}

impl Kind {
    /// Whether [`Autoencoder::decode_jvp`] exists for this kind (what the SINDy autoencoder trains).
    pub fn has_decoder_jvp(self) -> bool {
        matches!(self, Kind::Mlp | Kind::Pca | Kind::Identity)
    }
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
    /// Latent dimension per observation (ignored by `identity`, whose latent is the observation; the number
    /// of principal components for `pca`).
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
        Kind::Pca => Box::new(PcaProjection::new(cfg, obs, s)?),
    })
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

/// The identity autoencoder.
pub struct Identity {
    obs: Vec<usize>,
}

impl Autoencoder for Identity {
    fn encode(&self, x: &Tensor, _train: bool) -> Result<Tensor> {
        flatten_obs(x)
    }
    fn decode_pre(&self, z: &Tensor, _train: bool) -> Result<Tensor> {
        unflatten_obs(z, &self.obs)
    }
    fn latent_dim(&self) -> usize {
        self.obs.iter().product()
    }
    fn encode_jvp(&self, x: &Tensor, v: &Tensor) -> Result<(Tensor, Tensor)> {
        Ok((flatten_obs(x)?, flatten_obs(v)?))
    }
    fn decode_jvp(&self, z: &Tensor, v: &Tensor) -> Result<(Tensor, Tensor)> {
        Ok((self.decode(z, false)?, self.decode(v, false)?))
    }
}

/// The fixed principal-component projection (`pca`): buffers `mean` `[d]`, `components` `[latent, d]`
/// (orthonormal rows) and `scale` `[1]`, set by [`Autoencoder::fit`] and stored in checkpoints. They
/// enter the graph detached: no gradient is ever computed for them.
pub struct PcaProjection {
    obs: Vec<usize>,
    latent: usize,
    mean: Var,
    components: Var,
    scale: Var,
}

impl PcaProjection {
    /// Zero buffers, to be fitted or loaded.
    pub fn new(cfg: &AutoencoderConfig, obs: &[usize], s: &mut Scope) -> Result<Self> {
        let d: usize = obs.iter().product();
        if cfg.latent == 0 || cfg.latent > d {
            candle_core::bail!(
                "autoencoder: pca needs 1 ≤ latent ≤ {d} (the observation size), found latent {}",
                cfg.latent
            );
        }
        Ok(Self {
            obs: obs.to_vec(),
            latent: cfg.latent,
            mean: s.buffer("mean", &[d], 0.0)?,
            components: s.buffer("components", &[cfg.latent, d], 0.0)?,
            scale: s.buffer("scale", &[1], 1.0)?,
        })
    }
}

impl PcaProjection {
    /// The linear part Uᵀ·/s of the encoder on flattened rows (centred observations or tangents).
    fn project(&self, x: &Tensor) -> Result<Tensor> {
        x.matmul(&self.components.as_tensor().detach().t()?)?
            .broadcast_div(&self.scale.as_tensor().detach())
    }

    /// The linear part s·U· of the decoder on latent rows (latents or their tangents), flattened.
    fn lift(&self, z: &Tensor) -> Result<Tensor> {
        z.broadcast_mul(&self.scale.as_tensor().detach())?
            .matmul(&self.components.as_tensor().detach())
    }
}

impl Autoencoder for PcaProjection {
    fn encode(&self, x: &Tensor, _train: bool) -> Result<Tensor> {
        self.project(&flatten_obs(x)?.broadcast_sub(&self.mean.as_tensor().detach())?)
    }
    fn decode_pre(&self, z: &Tensor, _train: bool) -> Result<Tensor> {
        let x = self
            .lift(z)?
            .broadcast_add(&self.mean.as_tensor().detach())?;
        unflatten_obs(&x, &self.obs)
    }
    fn latent_dim(&self) -> usize {
        self.latent
    }
    fn encode_jvp(&self, x: &Tensor, v: &Tensor) -> Result<(Tensor, Tensor)> {
        Ok((self.encode(x, false)?, self.project(&flatten_obs(v)?)?))
    }
    fn decode_jvp(&self, z: &Tensor, v: &Tensor) -> Result<(Tensor, Tensor)> {
        Ok((
            self.decode(z, false)?,
            unflatten_obs(&self.lift(v)?, &self.obs)?,
        ))
    }
    fn fit(&self, frames: &[&[f32]]) -> Result<Option<String>> {
        let d = self.mean.dim(0)?;
        if let Some(f) = frames.iter().find(|f| f.len() != d) {
            candle_core::bail!(
                "pca: observations of {} values, the projection expects {d}",
                f.len()
            );
        }
        let Some(pca) = Pca::fit(frames, self.latent) else {
            candle_core::bail!("pca: the training observations do not vary");
        };
        let k = pca.components.ncols();
        if k < self.latent || pca.variances[k - 1] <= 0.0 {
            candle_core::bail!(
                "pca: the {} training observations span fewer than latent = {} directions",
                frames.len(),
                self.latent
            );
        }
        let scale = (pca.variances[..k].iter().sum::<f64>() / k as f64).sqrt();
        let (dt, dev) = (self.mean.dtype(), self.mean.device());
        // Column-major d × k is row-major [k, d]: one component per row.
        let comp = pca.components.as_slice();
        self.mean
            .set(&Tensor::from_slice(pca.mean.as_slice(), d, dev)?.to_dtype(dt)?)?;
        self.components
            .set(&Tensor::from_slice(comp, (k, d), dev)?.to_dtype(dt)?)?;
        self.scale
            .set(&Tensor::from_vec(vec![scale], 1, dev)?.to_dtype(dt)?)?;
        Ok(Some(format!(
            "pca: {k} components of {} training observations keep {:.2}% of the variance; latent \
             scale {scale:.4}",
            frames.len(),
            100.0 * pca.kept(k)
        )))
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
    fn decode_pre(&self, z: &Tensor, train: bool) -> Result<Tensor> {
        let y = self
            .output
            .forward(&forward_all(&self.decoder, z, train)?)?;
        unflatten_obs(&y, &self.obs)
    }
    fn output(&self) -> OutputActivation {
        self.output_act
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
    fn decode_jvp(&self, z: &Tensor, v: &Tensor) -> Result<(Tensor, Tensor)> {
        let (h, dh) = forward_jvp_all(&self.decoder, z, v)?;
        let pre = self.output.forward(&h)?;
        let dpre = super::linear::linear(&dh, self.output.weight.as_tensor(), None)?;
        let y = self.output_act.apply(&pre)?;
        let dy = match self.output_act {
            OutputActivation::Identity => dpre,
            // σ' = σ(1 − σ)
            OutputActivation::Sigmoid => dpre.mul(&y.affine(-1.0, 1.0)?.mul(&y)?)?,
        };
        Ok((
            unflatten_obs(&y, &self.obs)?,
            unflatten_obs(&dy, &self.obs)?,
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::nn::params::Params;
    use crate::testing::{
        decoder_jvp_error, encoder_jvp_error, grad_check, grad_check_var, randn_like,
        randomize_norms,
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

    /// A 3 → 7 → 7 → 7 → 2 MLP autoencoder (f64) with non-trivial batch-norm statistics.
    fn mlp(
        activation: Activation,
        output: OutputActivation,
        seed: u64,
    ) -> (Params, Box<dyn Autoencoder>) {
        let cfg = AutoencoderConfig {
            latent: 2,
            hidden: 7,
            layers: 3,
            activation,
            output,
            ..Default::default()
        };
        let mut p = Params::new(DType::F64, &Device::Cpu);
        let mut rng = crate::rng::stream(seed, "t");
        let ae = build(&cfg, &[3], &mut p.scope("ae", &mut rng)).unwrap();
        randomize_norms(&p).unwrap();
        (p, ae)
    }

    #[test]
    fn encoder_jvp_matches_finite_differences_in_eval_mode() {
        for act in [Activation::Relu, Activation::Tanh, Activation::LeakyRelu] {
            let (_, ae) = mlp(act, OutputActivation::Identity, 4);
            let x = randn_like(&[5, 3], 1.0, 8).unwrap();
            let v = randn_like(&[5, 3], 1.0, 9).unwrap();
            let err = encoder_jvp_error(ae.as_ref(), &x, &v).unwrap();
            assert!(err < 1e-7, "{act:?} jvp {err:e}");
        }
    }

    #[test]
    fn decoder_jvp_matches_finite_differences_and_trains_every_parameter() {
        for (act, output) in [
            (Activation::Relu, OutputActivation::Identity),
            (Activation::Tanh, OutputActivation::Sigmoid),
            (Activation::LeakyRelu, OutputActivation::Sigmoid),
        ] {
            let (p, ae) = mlp(act, output, 5);
            assert!(Kind::Mlp.has_decoder_jvp() && Kind::Pca.has_decoder_jvp());
            let z = randn_like(&[5, 2], 1.0, 10).unwrap();
            let v = randn_like(&[5, 2], 1.0, 11).unwrap();
            let err = decoder_jvp_error(ae.as_ref(), &z, &v).unwrap();
            assert!(err < 1e-7, "{act:?}/{output:?} jvp {err:e}");
            if act != Activation::Tanh {
                continue;
            }
            // A loss on both Jacobian-vector products (the SINDy autoencoder's) differentiates
            // exactly with respect to every parameter and the inputs.
            let x = randn_like(&[5, 3], 1.0, 12).unwrap();
            let (rz, rx) = (
                randn_like(&[5, 2], 1.0, 13).unwrap(),
                randn_like(&[5, 3], 1.0, 14).unwrap(),
            );
            let loss = |x: &Tensor| -> candle_core::Result<Tensor> {
                let (z, dz) = ae.encode_jvp(x, &x.sin()?)?;
                let (y, dy) = ae.decode_jvp(&z, &dz.sqr()?)?;
                (dz.mul(&rz)?.sum_all()? + (y + dy)?.mul(&rx)?.sum_all()?)?.sqr()
            };
            let err = grad_check(&x, 1e-5, loss).unwrap();
            assert!(err < 1e-6, "input {err:e}");
            for (name, var) in p.vars() {
                let err = grad_check_var(var, 1e-5, || loss(&x)).unwrap();
                assert!(err < 1e-6, "{name}: {err:e}");
            }
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
        let err = decoder_jvp_error(ae.as_ref(), &z, &x.sin().unwrap()).unwrap();
        assert!(err < 1e-8, "decoder jvp {err:e}");
    }

    #[test]
    fn pca_projects_on_the_fitted_components_and_decodes_what_it_spans() {
        let cfg = AutoencoderConfig {
            kind: Kind::Pca,
            latent: 2,
            ..Default::default()
        };
        let mut p = Params::new(DType::F64, &Device::Cpu);
        let mut rng = crate::rng::stream(4, "t");
        let ae = build(&cfg, &[2, 3], &mut p.scope("ae", &mut rng)).unwrap();
        assert!(p.vars().is_empty() && p.buffers().contains_key("ae.components"));
        // Frames μ + a·u + b·v on a plane of R⁶: decoding the encoding gives them back.
        let (u, v) = (
            [1.0, 0.0, 2.0, 0.0, 0.0, 0.0],
            [0.0, 1.0, 0.0, 0.0, -1.0, 3.0],
        );
        let frames: Vec<Vec<f32>> = (0..40)
            .map(|i| {
                let t = i as f64 * 0.7;
                (0..6)
                    .map(|j| (0.5 + t.sin() * u[j] + 0.3 * (2.0 * t).cos() * v[j]) as f32)
                    .collect()
            })
            .collect();
        let refs: Vec<&[f32]> = frames.iter().map(|f| f.as_slice()).collect();
        let line = ae.fit(&refs).unwrap().unwrap();
        assert!(line.contains("100.00%"), "{line}");
        let flat: Vec<f64> = frames[..5].iter().flatten().map(|&v| v as f64).collect();
        let x = Tensor::from_vec(flat, (5, 2, 3), &Device::Cpu).unwrap();
        let z = ae.encode(&x, true).unwrap();
        assert_eq!(z.dims(), &[5, 2]);
        let y = ae.decode(&z, false).unwrap();
        let err = (y - &x).unwrap().abs().unwrap().max_all().unwrap();
        assert!(err.to_scalar::<f64>().unwrap() < 1e-5);
        // The latent of the whole sample has unit mean variance.
        let all: Vec<f64> = frames.iter().flatten().map(|&v| v as f64).collect();
        let z = ae
            .encode(
                &Tensor::from_vec(all, (40, 6), &Device::Cpu).unwrap(),
                false,
            )
            .unwrap();
        let var = z
            .sqr()
            .unwrap()
            .mean_all()
            .unwrap()
            .to_scalar::<f64>()
            .unwrap();
        assert!((var - 1.0).abs() < 1e-6, "{var}");
        // Gradients through the fixed maps, and the exact jvp.
        let x = randn_like(&[3, 2, 3], 1.0, 2).unwrap();
        let r = randn_like(&[3, 2, 3], 1.0, 3).unwrap();
        let err = grad_check(&x, 1e-5, |x| {
            ae.decode(&ae.encode(x, true)?, true)?.mul(&r)?.sum_all()
        })
        .unwrap();
        assert!(err < 1e-7, "input {err:e}");
        let err = encoder_jvp_error(ae.as_ref(), &x, &r).unwrap();
        assert!(err < 1e-7, "jvp {err:e}");
        let z = randn_like(&[3, 2], 1.0, 4).unwrap();
        let err = decoder_jvp_error(ae.as_ref(), &z, &z.cos().unwrap()).unwrap();
        assert!(err < 1e-7, "decoder jvp {err:e}");
        // A sample that spans fewer directions than the latent is refused.
        let e = ae.fit(&refs[..1]).unwrap_err().to_string();
        assert!(e.contains("do not vary"), "{e}");
    }
}
