//! The joint LaLiGAN training: the model (autoencoder, Lie algebra generator, discriminator), the loss
//! of one step, the epoch loop with evaluation and checkpoints, and the run's report.

pub mod bench;
pub mod eval;
pub mod folder;
pub mod model;
pub mod orbit_term;
pub mod orbits;
pub mod report;
pub mod run;
pub mod step;

pub use model::LaLiGan;
pub use step::{Terms, Trainer};

use crate::data::DataConfig;
use crate::device::DeviceKind;
use crate::lie::LieConfig;
use crate::nn::{AutoencoderConfig, DiscriminatorConfig};
use serde::{Deserialize, Serialize};

/// What LaLiGAN training reads of an experiment: the seed, the data and the model and training
/// sections (the stages after training have sections of their own).
#[derive(Clone, Copy, Debug)]
pub struct Setup<'a> {
    /// Seed of every random draw.
    pub seed: u64,
    /// Where the model is built and trained.
    pub device: DeviceKind,
    pub data: &'a DataConfig,
    pub autoencoder: &'a AutoencoderConfig,
    pub lie: &'a LieConfig,
    pub discriminator: &'a DiscriminatorConfig,
    pub train: &'a TrainConfig,
}

/// Regulariser R that keeps the group away from the identity.
#[derive(Clone, Copy, Debug, Default, Serialize, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "kebab-case")]
pub enum Regularizer {
    /// |mean cosine(g·z, z)| over samples and window elements.
    #[default]
    Cosine,
    /// −Σ min(‖L‖_F, channels·dim) over learnable channels.
    Lnorm,
    None,
}

/// The reconstruction loss of training.
#[derive(Clone, Copy, Debug, Default, Serialize, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "kebab-case")]
pub enum ReconLoss {
    /// Mean squared error.
    #[default]
    Mse,
    /// Binary cross-entropy on the logits of a sigmoid output.
    Bce,
}

/// `[train]` settings.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields, default)]
pub struct TrainConfig {
    pub epochs: usize,
    pub batch_size: usize,
    /// Adam learning rates of the autoencoder, the generator and the discriminator.
    pub lr_ae: f64,
    pub lr_lie: f64,
    pub lr_disc: f64,
    /// Loss weights: reconstruction, generator's GAN term, regulariser R, channel term C.
    pub w_recon: f64,
    /// The reconstruction term: `mse` (the reference) or `bce`, binary cross-entropy of a sigmoid
    /// decoder's output against pixel intensities in [0, 1] (on its logits, so a saturated output still
    /// gets a gradient). The validation score stays the MSE either way.
    pub recon_loss: ReconLoss,
    pub w_gan: f64,
    pub w_reg: f64,
    pub regularizer: Regularizer,
    pub w_chreg: f64,
    /// Orbit consistency (0 = off, the reference): the weight of the share of the spread of the group's
    /// invariant yᵀQy over a batch that lies along the training windows ([`orbit_term`]), so that
    /// latent trajectories follow the orbits of the learned group.
    pub w_orbit: f64,
    /// Checkpoint every k epochs (and always at the end; 0 = only at the end).
    pub save_every: usize,
    /// Validation windows used for the per-epoch reconstruction error and discriminator accuracy
    /// (evenly spaced; 0 = all).
    pub eval_windows: usize,
    /// Points per validation trajectory for the orbit score and the latent plot (evenly spaced; 0 = all).
    pub eval_points: usize,
    /// Batch-norm refresh (0 = off, as the reference): at the end of each epoch, before evaluation,
    /// this many shuffled training batches go through the autoencoder in train mode with no update, so
    /// that the running statistics, which only eval mode uses, describe the current weights instead of
    /// lagging behind them (with momentum 0.1, 50 batches leave 0.9⁵⁰ ≈ 0.5 % of the old ones). Training
    /// itself is unchanged.
    pub bn_refresh: usize,
    /// A learning-rate step at the end (0 = off, as the reference): over the last `lr_decay_epochs`
    /// epochs the three learning rates are multiplied by `lr_decay_factor`, so that the weights settle
    /// instead of stopping wherever the last constant-rate step left them.
    pub lr_decay_epochs: usize,
    pub lr_decay_factor: f64,
}

impl TrainConfig {
    /// The factor on every learning rate in epoch `epoch` (counted from 0).
    pub fn lr_scale(&self, epoch: usize) -> f64 {
        if epoch + self.lr_decay_epochs >= self.epochs {
            self.lr_decay_factor
        } else {
            1.0
        }
    }
}

impl crate::config::Validate for TrainConfig {
    fn validate(&self, c: &mut crate::config::Checker) {
        c.at_least("epochs", self.epochs, 1);
        c.at_least("batch_size", self.batch_size, 1);
        for (key, lr) in [
            ("lr_ae", self.lr_ae),
            ("lr_lie", self.lr_lie),
            ("lr_disc", self.lr_disc),
        ] {
            c.within(key, lr, 0.0, 1.0);
        }
        for (key, w) in [
            ("w_recon", self.w_recon),
            ("w_gan", self.w_gan),
            ("w_reg", self.w_reg),
            ("w_chreg", self.w_chreg),
            ("w_orbit", self.w_orbit),
        ] {
            c.non_negative(key, w);
        }
        let f = self.lr_decay_factor;
        if !(f > 0.0 && f <= 1.0) {
            c.fail(
                "lr_decay_factor",
                format!("{f}, expected a number in (0, 1]"),
            );
        }
        if self.lr_decay_epochs > self.epochs {
            c.fail(
                "lr_decay_epochs",
                format!(
                    "{}, expected at most train.epochs ({})",
                    self.lr_decay_epochs, self.epochs
                ),
            );
        }
    }
}

impl Default for TrainConfig {
    fn default() -> Self {
        Self {
            epochs: 70,
            batch_size: 256,
            lr_ae: 1e-3,
            lr_lie: 1e-3,
            lr_disc: 1e-3,
            w_recon: 1.0,
            recon_loss: ReconLoss::Mse,
            w_gan: 0.01,
            w_reg: 0.02,
            regularizer: Regularizer::Cosine,
            w_chreg: 0.0,
            w_orbit: 0.0,
            save_every: 10,
            eval_windows: 8192,
            eval_points: 500,
            bn_refresh: 0,
            lr_decay_epochs: 0,
            lr_decay_factor: 0.1,
        }
    }
}
