//! The LaLiGAN model: autoencoder, latent representation and discriminator, each with its own parameter
//! store (one optimizer each), built from an experiment config.

use super::ReconLoss;
use super::Setup;
use crate::checkpoint::Checkpoint;
use crate::lie::Representation;
use crate::nn::autoencoder::{self, Autoencoder, OutputActivation};
use crate::nn::discriminator::{Discriminator, Input};
use crate::nn::Params;
use crate::rng;
use candle_core::{DType, Device, Tensor};
use std::collections::BTreeMap;

/// The weights file of a run or model folder.
pub const MODEL_FILE: &str = "model.safetensors";

/// Autoencoder φ/ψ, generator blocks and discriminator D.
pub struct LaLiGan {
    pub ae: Box<dyn Autoencoder>,
    pub rep: Representation,
    pub disc: Discriminator,
    pub ae_params: Params,
    pub lie_params: Params,
    pub disc_params: Params,
    /// Observations per window.
    pub window: usize,
    /// Shape of one observation.
    pub obs: Vec<usize>,
    pub disc_input: Input,
}

impl LaLiGan {
    /// A freshly initialized model for observations of shape `obs` (every draw from `setup.seed`).
    pub fn new(setup: &Setup, obs: &[usize], dtype: DType, dev: &Device) -> crate::Result<Self> {
        let window = setup.data.window;
        if window == 0 {
            return Err(config_err!("data.window must be positive"));
        }
        let mut ae_params = Params::new(dtype, dev);
        let mut r = rng::stream(setup.seed, "init/autoencoder");
        let ae = autoencoder::build(setup.autoencoder, obs, &mut ae_params.scope("ae", &mut r))
            .map_err(|e| config_err!("[autoencoder]: {e}"))?;
        let latent = ae.latent_dim();
        if setup.train.recon_loss == ReconLoss::Bce && ae.output() != OutputActivation::Sigmoid {
            return Err(config_err!(
                "train.recon_loss = \"bce\" compares a sigmoid output with pixel intensities; set \
                 [autoencoder] output = \"sigmoid\" or use recon_loss = \"mse\""
            ));
        }
        let mut lie_params = Params::new(dtype, dev);
        let mut r = rng::stream(setup.seed, "init/lie");
        let rep = Representation::new(
            &mut lie_params.scope("lie", &mut r),
            &setup.lie.blocks,
            setup.lie.inert,
        )
        .map_err(|e| config_err!("[lie]: {e}"))?;
        if rep.dim() != window * latent {
            return Err(config_err!(
                "[lie]: the blocks and inert dims cover {} dimensions, but a latent window has {} \
                 (data.window = {window} × latent {latent}); e.g. one block with copies = {window} and \
                 dim = {latent}",
                rep.dim(),
                window * latent
            ));
        }
        let obs_len: usize = obs.iter().product();
        let disc_in = match setup.discriminator.input {
            Input::Latent => window * latent,
            Input::LatentAndDecoded => window * (latent + obs_len),
        };
        let mut disc_params = Params::new(dtype, dev);
        let mut r = rng::stream(setup.seed, "init/discriminator");
        let disc = Discriminator::new(
            setup.discriminator,
            disc_in,
            &mut disc_params.scope("disc", &mut r),
        )
        .map_err(|e| config_err!("[discriminator]: {e}"))?;
        let model = Self {
            ae,
            rep,
            disc,
            ae_params,
            lie_params,
            disc_params,
            window,
            obs: obs.to_vec(),
            disc_input: setup.discriminator.input,
        };
        super::orbit_term::check(&model, setup.train.w_orbit)?;
        Ok(model)
    }

    /// The device the model's tensors live on.
    pub fn device(&self) -> &Device {
        self.ae_params.device()
    }

    /// Every variable and buffer of the model, by name (`ae.*`, `lie.*`, `disc.*`).
    pub fn state(&self) -> Vec<(String, Tensor)> {
        [&self.ae_params, &self.lie_params, &self.disc_params]
            .iter()
            .flat_map(|p| p.state())
            .collect()
    }

    /// Overwrites every variable and buffer from `lookup`.
    pub fn load(
        &self,
        mut lookup: impl FnMut(&str) -> Option<Tensor>,
    ) -> std::result::Result<(), String> {
        for p in [&self.ae_params, &self.lie_params, &self.disc_params] {
            p.load(&mut lookup)?;
        }
        Ok(())
    }

    /// The metadata of this model's file: its config (`config_text`) and observation shape (`obs`).
    pub fn file_metadata(&self, config_text: &str) -> BTreeMap<String, String> {
        BTreeMap::from([
            ("config".to_string(), config_text.to_string()),
            ("obs".to_string(), serde_json::json!(self.obs).to_string()),
        ])
    }

    /// The observation shape recorded in a model file's metadata, if any.
    pub fn recorded_obs(ck: &Checkpoint) -> crate::Result<Option<Vec<usize>>> {
        match ck.metadata().get("obs") {
            None => Ok(None),
            Some(v) => serde_json::from_str(v)
                .map(Some)
                .map_err(|_| ck.error(format!("metadata `obs` = {v:?} is not a shape"))),
        }
    }

    /// A model of `setup` for observations `obs` with the weights of `ck`. Every tensor's name and shape
    /// is checked against the model first, naming the first that differs; the discriminator's tensors
    /// may be absent as a whole (a model exported for inference), and are then left as initialized.
    pub fn from_checkpoint(ck: &Checkpoint, setup: &Setup, obs: &[usize]) -> crate::Result<Self> {
        let model = Self::new(setup, obs, DType::F32, &setup.device.resolve()?)?;
        let expected: BTreeMap<String, Vec<usize>> = model
            .state()
            .into_iter()
            .map(|(n, t)| (n, t.dims().to_vec()))
            .collect();
        for (name, shape, _) in ck.entries() {
            match expected.get(name) {
                None => {
                    return Err(ck.error(format!(
                        "unexpected tensor {name} {shape:?}: not part of the model its config describes"
                    )))
                }
                Some(want) if want.as_slice() != shape => {
                    return Err(ck.error(format!(
                        "{name}: expected {want:?}, found {shape:?} (the config and the weights disagree)"
                    )))
                }
                Some(_) => {}
            }
        }
        let has_disc = ck.entries().any(|(n, _, _)| n.starts_with("disc."));
        for (name, want) in &expected {
            if ck.tensor(name).is_none() && (has_disc || !name.starts_with("disc.")) {
                return Err(ck.error(format!("{name}: missing (expected {want:?})")));
            }
        }
        for (p, needed) in [
            (&model.ae_params, true),
            (&model.lie_params, true),
            (&model.disc_params, has_disc),
        ] {
            if needed {
                p.load(|n| ck.tensor(n)).map_err(|e| ck.error(e))?;
            }
        }
        Ok(model)
    }

    /// The discriminator's real and fake inputs for latent windows `zf` and transformed ones `gz`
    /// (`[b, window·k]`), given the reconstructions `xhat` (`[b·window, obs..]`, asked for only when
    /// needed): the latents alone, or with their decoded observations appended when the discriminator
    /// sees those.
    pub fn disc_inputs(
        &self,
        zf: &Tensor,
        gz: &Tensor,
        xhat: impl FnOnce() -> candle_core::Result<Tensor>,
        train: bool,
    ) -> candle_core::Result<(Tensor, Tensor)> {
        match self.disc_input {
            Input::Latent => Ok((zf.clone(), gz.clone())),
            Input::LatentAndDecoded => {
                let b = zf.dim(0)?;
                let k = self.ae.latent_dim();
                let xhat = xhat()?;
                let gx = self.ae.decode(&gz.reshape(((), k))?, train)?;
                Ok((
                    Tensor::cat(&[zf, &xhat.reshape((b, ()))?], 1)?,
                    Tensor::cat(&[gz, &gx.reshape((b, ()))?], 1)?,
                ))
            }
        }
    }

    /// Encodes windows `[batch, window, obs..]` element-wise to `[batch, window, latent]`.
    pub fn encode_windows(&self, x: &Tensor, train: bool) -> candle_core::Result<Tensor> {
        let (b, w) = (x.dim(0)?, x.dim(1)?);
        let mut flat = vec![b * w];
        flat.extend(&x.dims()[2..]);
        let z = self.ae.encode(&x.reshape(flat)?, train)?;
        z.reshape((b, w, self.ae.latent_dim()))
    }
}
