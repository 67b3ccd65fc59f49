//! The experiment config (`models/<name>/config.toml`): one `seed`, the data it uses, and one section per
//! stage, each typed by the module that owns it. Every key has a default that runs.

use crate::data::DataConfig;
use crate::discover::sindy_ae::SindyAeConfig;
use crate::error::Result;
use crate::forecast::ForecastConfig;
use crate::lie::LieConfig;
use crate::nn::{AutoencoderConfig, DiscriminatorConfig};
use crate::sindy::SindyConfig;
use crate::train::{Setup, TrainConfig};
use serde::{Deserialize, Serialize};
use std::path::Path;

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
    pub sindy_ae: SindyAeConfig,
    #[serde(default)]
    pub forecast: ForecastConfig,
}

impl Experiment {
    /// Reads a config file with `--set` overrides; a relative `data.file` is taken from the file's
    /// folder.
    pub fn load(path: &Path, overrides: &[String]) -> Result<Self> {
        let mut exp: Self = crate::config::load(path, overrides)?;
        exp.data
            .anchor(path.parent().unwrap_or_else(|| Path::new(".")))?;
        Ok(exp)
    }

    /// Parses config text (named `origin` in errors) with `--set` overrides.
    pub fn parse(text: &str, origin: &str, overrides: &[String]) -> Result<Self> {
        crate::config::parse(text, origin, overrides)
    }

    /// The resolved config (every default filled in) as TOML.
    pub fn to_toml(&self) -> Result<String> {
        crate::config::to_toml(self)
    }

    /// What LaLiGAN training reads: the seed, the data and the model and training sections.
    pub fn setup(&self) -> Setup<'_> {
        Setup {
            seed: self.seed,
            data: &self.data,
            autoencoder: &self.autoencoder,
            lie: &self.lie,
            discriminator: &self.discriminator,
            train: &self.train,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Every shipped config loads, and its resolved form reads back to the same experiment.
    #[test]
    fn every_model_config_loads_and_round_trips() {
        let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("models");
        let mut n = 0;
        for entry in std::fs::read_dir(&dir).unwrap() {
            let path = entry.unwrap().path().join("config.toml");
            if !path.exists() {
                continue;
            }
            let exp = Experiment::load(&path, &[]).unwrap_or_else(|e| panic!("{e}"));
            let back = Experiment::parse(&exp.to_toml().unwrap(), "resolved", &[]).unwrap();
            assert_eq!(back, exp, "{}", path.display());
            n += 1;
        }
        assert!(n >= 10, "found {n} configs under {}", dir.display());
    }

    #[test]
    fn typed_keys_take_set_overrides_and_suggest_valid_values() {
        let text = "seed = 1\n[sindy]\nregressor = \"stlsq\"\n";
        let exp = Experiment::parse(text, "t", &["sindy.regressor=\"adam-l1\"".into()]).unwrap();
        assert_eq!(exp.sindy.regressor, crate::sindy::RegressorKind::AdamL1);
        let err = Experiment::parse(text, "t", &["forecast.integrator=\"rk5\"".into()])
            .unwrap_err()
            .to_string();
        assert!(
            err.contains("forecast.integrator") && err.contains("did you mean `rk4`"),
            "{err}"
        );
    }
}
