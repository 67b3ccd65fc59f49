//! `laligan discover`: sparse equation discovery on a dataset (raw mode), plain and symmetry-constrained.

use anyhow::Result;
use clap::Args;
use laligan::config::experiment::Experiment;
use laligan::data::{cache, Dataset, Recipe};
use laligan::sindy::{discover, latent, Library};
use std::path::PathBuf;

#[derive(Args)]
pub struct Discover {
    /// Experiment config with `[data]` (the recipe) and `[sindy]` settings.
    #[arg(long)]
    config: Option<PathBuf>,
    /// A dataset file to fit instead of the config's recipe (any dataset, including imported ones).
    #[arg(long)]
    data: Option<PathBuf>,
    /// A trained run folder (`laligan train --out`): fit the latent dynamics ż = J_φ(x)·ẋ of its
    /// encoder, constrained by the generators it learned.
    #[arg(long, conflicts_with_all = ["config", "data"])]
    model: Option<PathBuf>,
    /// Output folder (created; existing files in it are replaced).
    #[arg(long)]
    out: PathBuf,
    /// Override a config key, e.g. --set sindy.threshold=0.05 (value parsed as TOML; repeatable).
    #[arg(long = "set", value_name = "KEY=VALUE")]
    set: Vec<String>,
}

pub fn run(a: Discover) -> Result<()> {
    if let Some(dir) = &a.model {
        print!("{}", latent::discover_dir(dir, &a.out, &a.set)?);
        return Ok(());
    }
    let exp: Experiment = match &a.config {
        Some(p) => laligan::config::load(p, &a.set)?,
        None if a.data.is_some() => laligan::config::parse("seed = 0", "default config", &a.set)?,
        None => anyhow::bail!(
            "give --config FILE (with a [data] recipe and [sindy] settings) or --data FILE"
        ),
    };
    let path = match &a.data {
        Some(p) => p.clone(),
        None => cache::ensure(&Recipe::resolve(&exp.data.recipe, &exp.data.recipe_set)?)?,
    };
    let ds = Dataset::open(&path)?;
    let stride = exp.sindy.stride.max(1);
    let (x, dx, d) = discover::rows(&ds, "train", exp.data.n_train, stride)?;
    let (vx, vdx) = discover::val_rows(&ds, stride)?;
    let mut lib = Library::parse(&exp.sindy.library, d)?;
    if !exp.sindy.state_names.is_empty() {
        lib = lib.with_state_names(exp.sindy.state_names.clone())?;
    }
    let text = discover::run(&exp, &lib, (&x, &dx), (&vx, &vdx), &a.out, "raw mode")?;
    print!("{text}");
    Ok(())
}
