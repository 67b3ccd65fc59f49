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
    /// Start from a trained model (a folder such as a `laligan train --out` run folder, a .safetensors
    /// file, or hf:owner/name[@revision]): its autoencoder, and its generators when
    /// `sindy_ae.constraint = "equivariant"`.
    #[arg(long, value_name = "MODEL")]
    model: Option<String>,
    /// The folder: model.safetensors, equations/, history.csv, sindy-ae.json, config.toml
    /// (--force replaces a model it holds).
    #[command(flatten)]
    output: super::Output,
    #[command(flatten)]
    data: super::DataFile,
    #[command(flatten)]
    set: super::Overrides,
    #[command(flatten)]
    device: super::DeviceArg,
}

pub fn run(a: SindyAe) -> Result<()> {
    let set = a.device.with(&a.set);
    let mut exp = match (&a.model, &a.config) {
        (Some(spec), _) => laligan::models::open(spec, &set)?.1,
        (None, Some(c)) => Experiment::load(c, &set)?,
        (None, None) => anyhow::bail!("give --model MODEL or --config FILE"),
    };
    a.data.apply(&mut exp)?;
    let text =
        laligan::pipeline::sindy_ae(&exp, a.model.as_deref(), &a.output.out, a.output.force)?;
    print!("{text}");
    Ok(())
}
