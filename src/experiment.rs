//! The experiment config (`models/<name>/config.toml`): one `seed`, the data it uses, and one section per
//! stage, each typed by the module that owns it. Every key has a default that runs.

use crate::config::Checker;
use crate::data::DataConfig;
use crate::device::DeviceKind;
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
    /// Where training and inference run: "cpu" or "cuda" (`--device` overrides it). A model folder
    /// records it but runs on the CPU unless told otherwise, and a run resumes on either device.
    #[serde(default)]
    pub device: DeviceKind,
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
    /// Reads a config file with `--set` overrides and checks its values; a relative `data.file` is
    /// taken from the file's folder.
    pub fn load(path: &Path, overrides: &[String]) -> Result<Self> {
        let mut exp: Self = crate::config::load(path, overrides)?;
        exp.check(&path.display().to_string())?;
        exp.data
            .anchor(path.parent().unwrap_or_else(|| Path::new(".")))?;
        Ok(exp)
    }

    /// Parses config text (named `origin` in errors) with `--set` overrides and checks its values.
    pub fn parse(text: &str, origin: &str, overrides: &[String]) -> Result<Self> {
        let exp: Self = crate::config::parse(text, origin, overrides)?;
        exp.check(origin)?;
        Ok(exp)
    }

    /// Every value in its range (each section says what its keys allow); `origin` names the config in
    /// the error, which lists every failure with its key, value and range.
    pub fn check(&self, origin: &str) -> Result<()> {
        let mut c = Checker::default();
        c.check("data", &self.data);
        c.check("autoencoder", &self.autoencoder);
        c.check("lie", &self.lie);
        c.check("discriminator", &self.discriminator);
        c.check("train", &self.train);
        c.check("sindy", &self.sindy);
        c.check("sindy_ae", &self.sindy_ae);
        c.check("forecast", &self.forecast);
        c.result(origin)
    }

    /// The resolved config (every default filled in) as TOML.
    pub fn to_toml(&self) -> Result<String> {
        crate::config::to_toml(self)
    }

    /// What LaLiGAN training reads: the seed, the data and the model and training sections.
    pub fn setup(&self) -> Setup<'_> {
        Setup {
            seed: self.seed,
            device: self.device,
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

    /// One row per bad value: the override and the words the error must contain.
    #[test]
    fn values_out_of_range_are_refused_at_load_naming_key_value_and_range() {
        let cases = [
            (
                "train.batch_size=0",
                "train.batch_size: 0, expected at least 1",
            ),
            ("train.epochs=0", "train.epochs: 0, expected at least 1"),
            (
                "train.lr_ae=-1",
                "train.lr_ae: -1, expected a number in [0, 1]",
            ),
            ("train.lr_ae=nan", "train.lr_ae: NaN"),
            (
                "train.lr_lie=1e30",
                "train.lr_lie: 1000000000000000000000000000000",
            ),
            (
                "lie.sigma=nan",
                "lie.sigma: NaN, expected a finite number > 0",
            ),
            (
                "lie.threshold=2",
                "lie.threshold: 2, expected a number in [0, 1]",
            ),
            (
                "train.w_gan=-0.1",
                "train.w_gan: -0.1, expected a finite number ≥ 0",
            ),
            (
                "autoencoder.hidden=0",
                "autoencoder.hidden: 0, expected at least 1",
            ),
            (
                "sindy.library=\"poly(\"",
                "sindy.library: library spec `poly(`",
            ),
            (
                "forecast.rtol=0",
                "forecast.rtol: 0, expected a finite number > 0",
            ),
            ("data.stride=0", "data.stride: 0, expected at least 1"),
        ];
        for (set, want) in cases {
            let e = Experiment::parse("seed = 1", "cfg.toml", &[set.to_string()])
                .unwrap_err()
                .to_string();
            assert!(e.contains("cfg.toml") && e.contains(want), "{set}: {e}");
        }
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
