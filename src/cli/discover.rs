//! `laligan discover`: sparse equation discovery on a dataset (raw mode), plain and symmetry-constrained.

use anyhow::Result;
use clap::Args;
use laligan::discover;
use laligan::experiment::Experiment;
use std::path::PathBuf;

#[derive(Args)]
pub struct Discover {
    /// Experiment config with `[data]` (the recipe) and `[sindy]` settings.
    #[arg(long)]
    config: Option<PathBuf>,
    /// A dataset file to fit instead of the config's recipe (any dataset, including imported ones).
    #[arg(long)]
    data: Option<PathBuf>,
    /// A trained model (a folder such as a `laligan train --out` run folder, a .safetensors file, or
    /// hf:owner/name[@revision]): fit the latent dynamics ż = J_φ(x)·ẋ of its encoder, constrained by
    /// the generators it learned.
    #[arg(long, value_name = "MODEL", conflicts_with_all = ["config", "data"])]
    model: Option<String>,
    /// Output folder (created; existing files in it are replaced).
    #[arg(long)]
    out: PathBuf,
    #[command(flatten)]
    set: super::Overrides,
}

pub fn run(a: Discover) -> Result<()> {
    if let Some(dir) = &a.model {
        print!(
            "{}",
            laligan::pipeline::discover_model(dir, &a.out, &a.set)?
        );
        return Ok(());
    }
    let exp = match &a.config {
        Some(p) => Experiment::load(p, &a.set)?,
        None if a.data.is_some() => Experiment::parse("seed = 0", "default config", &a.set)?,
        None => anyhow::bail!(
            "give --config FILE (with a [data] recipe and [sindy] settings) or --data FILE"
        ),
    };
    let ds = exp.data.open_or(a.data.as_deref())?;
    let stride = exp.sindy.stride.max(1);
    let (x, dx, d) = discover::rows(&ds, "train", exp.data.n_train, stride)?;
    let (vx, vdx) = discover::val_rows(&ds, stride)?;
    let lib = exp.sindy.library(d, "x")?;
    let text = discover::run(
        &exp.sindy,
        exp.seed,
        &lib,
        (&x, &dx),
        (&vx, &vdx),
        &a.out,
        "raw mode",
    )?;
    discover::record_config(&a.out, &exp.to_toml()?)?;
    print!("{text}");
    Ok(())
}
