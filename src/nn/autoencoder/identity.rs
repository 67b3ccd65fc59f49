//! The identity autoencoder: the plain LieGAN in data space.

use super::codec::{flatten_obs, unflatten_obs, Autoencoder};
use candle_core::{Result, Tensor};

/// The identity autoencoder.
pub struct Identity {
    pub(crate) obs: Vec<usize>,
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
