//! `laligan sindy-ae`: the SINDy autoencoder, trained from scratch or from a trained LaLiGAN model.

use anyhow::Result;
use clap::Args;
use laligan::experiment::Experiment;
use std::path::PathBuf;

#[derive(Args)]
pub struct SindyAe {
    /// Train from scratch: an experiment config (`[data]`, `[autoencoder]`, `[sindy] library`,
    /// `[sindy_ae]`).
    #[arg(long, conflicts_with = "model", required_unless_present = "model")]
    config: Option<PathBuf>,
    /// Start from a trained run folder (`laligan train --out`): its autoencoder, and its generators when
    /// `sindy_ae.constraint = "equivariant"`.
    #[arg(long)]
    model: Option<PathBuf>,
    /// Output folder: model.safetensors, equations/, history.csv, sindy-ae.json, config.toml.
    #[arg(long)]
    out: PathBuf,
    /// Override a config key, e.g. --set sindy_ae.epochs=10 (value parsed as TOML; repeatable).
    #[arg(long = "set", value_name = "KEY=VALUE")]
    set: Vec<String>,
    /// Replace a model that --out already holds.
    #[arg(long)]
    force: bool,
}

pub fn run(a: SindyAe) -> Result<()> {
    let config = match (&a.model, &a.config) {
        (Some(dir), _) => dir.join("config.toml"),
        (None, Some(c)) => c.clone(),
        (None, None) => anyhow::bail!("give --model RUN or --config FILE"),
    };
    let exp = Experiment::load(&config, &a.set)?;
    let text = laligan::pipeline::sindy_ae(&exp, a.model.as_deref(), &a.out, a.force)?;
    print!("{text}");
    Ok(())
}
