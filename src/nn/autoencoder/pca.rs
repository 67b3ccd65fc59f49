//! The fixed principal-component projection (`pca`).

use super::codec::{flatten_obs, unflatten_obs, Autoencoder};
use super::AutoencoderConfig;
use crate::data::pca::Pca;
use crate::nn::params::Scope;
use candle_core::{Result, Tensor, Var};

/// The fixed principal-component projection (`pca`): buffers `mean` `[d]`, `components` `[latent, d]`
/// (orthonormal rows) and `scale`, set by [`Autoencoder::fit`] and stored in checkpoints. `scale` is
/// `[1]`, one scale for every component, or with `whiten` `[latent]`, each component's standard
/// deviation. They enter the graph detached: no gradient is ever computed for them.
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
            scale: s.buffer("scale", &[if cfg.whiten { cfg.latent } else { 1 }], 1.0)?,
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
        // A scale per component (whitened) or one for all, as the buffer was built.
        let scale: Vec<f64> = if self.scale.elem_count() == k {
            pca.variances[..k].iter().map(|v| v.sqrt()).collect()
        } else {
            vec![(pca.variances[..k].iter().sum::<f64>() / k as f64).sqrt()]
        };
        let (dt, dev) = (self.mean.dtype(), self.mean.device());
        // Column-major d × k is row-major [k, d]: one component per row.
        let comp = pca.components.as_slice();
        self.mean
            .set(&Tensor::from_slice(pca.mean.as_slice(), d, dev)?.to_dtype(dt)?)?;
        self.components
            .set(&Tensor::from_slice(comp, (k, d), dev)?.to_dtype(dt)?)?;
        let scales = scale
            .iter()
            .map(|s| format!("{s:.4}"))
            .collect::<Vec<_>>()
            .join(", ");
        self.scale
            .set(&Tensor::from_slice(&scale, scale.len(), dev)?.to_dtype(dt)?)?;
        Ok(Some(format!(
            "pca: {k} components of {} training observations keep {:.2}% of the variance; latent \
             scale {scales}",
            frames.len(),
            100.0 * pca.kept(k)
        )))
    }
}
