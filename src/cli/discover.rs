//! `laligan discover`: sparse equation discovery on a dataset (raw mode), plain and symmetry-constrained.

use anyhow::{Context, Result};
use clap::Args;
use laligan::config::experiment::Experiment;
use laligan::data::{cache, Dataset, Recipe};
use laligan::sindy::{discover, Library};
use std::path::PathBuf;

#[derive(Args)]
pub struct Discover {
    /// Experiment config with `[data]` (the recipe) and `[sindy]` settings.
    #[arg(long)]
    config: Option<PathBuf>,
    /// A dataset file to fit instead of the config's recipe (any dataset, including imported ones).
    #[arg(long)]
    data: Option<PathBuf>,
    /// Output folder (created; existing files in it are replaced).
    #[arg(long)]
    out: PathBuf,
    /// Override a config key, e.g. --set sindy.threshold=0.05 (value parsed as TOML; repeatable).
    #[arg(long = "set", value_name = "KEY=VALUE")]
    set: Vec<String>,
}

pub fn run(a: Discover) -> Result<()> {
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
    let (x, dx, d) = discover::rows(&ds, "train", exp.data.n_train, exp.data.stride)?;
    let (vx, vdx, _) = if ds.splits().contains(&"val") {
        discover::rows(&ds, "val", 0, 1)?
    } else {
        (vec![], vec![], d)
    };
    let mut lib = Library::parse(&exp.sindy.library, d)?;
    if !exp.sindy.state_names.is_empty() {
        lib = lib.with_state_names(exp.sindy.state_names.clone())?;
    }
    std::fs::create_dir_all(&a.out).with_context(|| format!("creating {}", a.out.display()))?;
    laligan::io::write_atomic(
        &a.out.join("config.toml"),
        laligan::config::to_toml(&exp)?.as_bytes(),
    )?;
    tracing::info!(
        "fitting {} samples of {d} states with library `{}` ({} terms)",
        x.len() / d,
        exp.sindy.library,
        lib.n_terms()
    );
    let t0 = std::time::Instant::now();
    let text = discover::discover(&exp.sindy, &lib, (&x, &dx), (&vx, &vdx), exp.seed, &a.out)?;
    print!("{text}");
    tracing::info!(
        "fitted in {:.3}s; wrote equations.txt, equations.json, discovery.safetensors to {}",
        t0.elapsed().as_secs_f64(),
        a.out.display()
    );
    Ok(())
}
