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
    /// The folder: model.safetensors, equations/, history.csv, sindy-ae.json, config.toml
    /// (--force replaces a model it holds).
    #[command(flatten)]
    output: super::Output,
    #[command(flatten)]
    set: super::Overrides,
}

pub fn run(a: SindyAe) -> Result<()> {
    let config = match (&a.model, &a.config) {
        (Some(dir), _) => dir.join("config.toml"),
        (None, Some(c)) => c.clone(),
        (None, None) => anyhow::bail!("give --model RUN or --config FILE"),
    };
    let exp = Experiment::load(&config, &a.set)?;
    let text =
        laligan::pipeline::sindy_ae(&exp, a.model.as_deref(), &a.output.out, a.output.force)?;
    print!("{text}");
    Ok(())
}
