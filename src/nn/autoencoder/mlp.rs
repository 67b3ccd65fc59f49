//! The MLP autoencoder of the reference: hidden layers with batch norm, an orthogonal last encoder
//! layer and a latent batch norm; the decoder mirrors it without batch norm.

use super::codec::{flatten_obs, unflatten_obs, Autoencoder, Head};
use super::{AutoencoderConfig, OutputActivation};
use crate::nn::batch_norm::BatchNorm;
use crate::nn::layer::Layer;
use crate::nn::linear::Linear;
use crate::nn::mlp::{forward_all, forward_jvp_all, hidden_layers, MlpSpec};
use crate::nn::params::Scope;
use candle_core::{Result, Tensor};

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
        let dz = crate::nn::linear::linear(&dh, &self.head.weight()?, None)?;
        match &self.latent_norm {
            Some(bn) => Ok((bn.forward(&z, false)?, dz.broadcast_mul(&bn.eval_scale()?)?)),
            None => Ok((z, dz)),
        }
    }
    fn decode_jvp(&self, z: &Tensor, v: &Tensor) -> Result<(Tensor, Tensor)> {
        let (h, dh) = forward_jvp_all(&self.decoder, z, v)?;
        let pre = self.output.forward(&h)?;
        let dpre = crate::nn::linear::linear(&dh, self.output.weight.as_tensor(), None)?;
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
