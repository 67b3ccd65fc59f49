//! The experiment config (`models/<name>/config.toml`): one `seed`, the data it uses, and the settings of
//! each stage. Sections grow with the pipeline; every key has a default that runs.

use crate::lie::LieConfig;
use crate::nn::{AutoencoderConfig, DiscriminatorConfig};
use crate::train::TrainConfig;
use serde::{Deserialize, Serialize};

/// A complete experiment.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct Experiment {
    /// Seed of every random draw of the experiment.
    pub seed: u64,
    #[serde(default)]
    pub data: DataConfig,
    #[serde(default)]
    pub autoencoder: AutoencoderConfig,
    #[serde(default)]
    pub lie: LieConfig,
    #[serde(default)]
    pub discriminator: DiscriminatorConfig,
    #[serde(default)]
    pub train: TrainConfig,
    #[serde(default)]
    pub sindy: SindyConfig,
    #[serde(default)]
    pub sindy_ae: crate::sindy::autoencoder::SindyAeConfig,
    #[serde(default)]
    pub forecast: crate::forecast::ForecastConfig,
}

/// Which data an experiment uses.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields, default)]
pub struct DataConfig {
    /// Built-in recipe name or path to a recipe file; generated into the cache when missing.
    pub recipe: String,
    /// Overrides of recipe keys, as `--set` would give them (e.g. `["pendulum.n_train=50"]`).
    pub recipe_set: Vec<String>,
    /// Use the first N training trajectories (0 = all).
    pub n_train: usize,
    /// Every k-th window start / sample.
    pub stride: usize,
    /// Observations per training window.
    pub window: usize,
    /// Steps between consecutive window elements.
    pub gap: usize,
    /// Steps left unused at the end of each trajectory (the reference's window loops stop `gap` steps
    /// early: `tail = gap` reproduces its window counts).
    pub tail: usize,
}

impl Default for DataConfig {
    fn default() -> Self {
        Self {
            recipe: "pendulum".into(),
            recipe_set: Vec::new(),
            n_train: 0,
            stride: 1,
            window: 2,
            gap: 1,
            tail: 0,
        }
    }
}

/// Sparse regression settings (`[sindy]`).
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields, default)]
pub struct SindyConfig {
    /// `"stlsq"` or `"adam-l1"`.
    pub regressor: String,
    /// STLSQ: |ξ| below it is zeroed each pass; Adam-L1: |ξ| at or below it is masked.
    pub threshold: f64,
    /// Feature library, e.g. `"1 + x + exp(x)"`, `"1 + poly(3)"`, `"poly(2) * sin(x)"`.
    pub library: String,
    /// Known generators acting on the state (list of d×d matrices); latent mode uses the discovered ones
    /// unless this is set.
    pub generators: Vec<Vec<Vec<f64>>>,
    /// `"none"`, `"equivariant"`, `"both"`, or `""` = `"both"` when generators exist, else `"none"`.
    pub constraint: String,
    /// Penalty weight of a soft equivariance constraint; 0 = exact.
    pub soft_weight: f64,
    /// State names (default x0, x1, … in raw mode, z0, z1, … in latent mode).
    pub state_names: Vec<String>,
    /// Every k-th step of each trajectory is used for the fit and the validation scores.
    pub stride: usize,
    /// STLSQ ridge α.
    pub alpha: f64,
    /// STLSQ maximum passes.
    pub max_iter: usize,
    /// STLSQ: threshold on column-normalized coefficients.
    pub normalize_columns: bool,
    /// Adam-L1 epochs, batch size, learning rate, L1 weight λ, masking period.
    pub epochs: usize,
    pub batch_size: usize,
    pub lr: f64,
    pub lambda: f64,
    pub mask_every: usize,
}

impl Default for SindyConfig {
    fn default() -> Self {
        Self {
            regressor: "stlsq".into(),
            threshold: 0.1,
            library: "1 + poly(2)".into(),
            generators: Vec::new(),
            constraint: String::new(),
            soft_weight: 0.0,
            state_names: Vec::new(),
            stride: 1,
            alpha: 0.0,
            max_iter: 20,
            normalize_columns: false,
            epochs: 30,
            batch_size: 64,
            lr: 1e-3,
            lambda: 0.1,
            mask_every: 5,
        }
    }
}
