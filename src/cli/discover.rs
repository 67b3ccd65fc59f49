//! `laligan discover`: sparse equation discovery on a dataset (raw mode), plain and symmetry-constrained.

use anyhow::{Context, Result};
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
        return latent(dir, &a.out, &a.set);
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
    let (vx, vdx, _) = if ds.splits().contains(&"val") {
        discover::rows(&ds, "val", 0, stride)?
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

/// Latent mode: states z = φ(x) and targets ż = J_φ(x)·ẋ of a trained model.
fn latent(dir: &std::path::Path, out: &std::path::Path, set: &[String]) -> Result<()> {
    let mut exp: Experiment = laligan::config::load(&dir.join("config.toml"), set)?;
    let ds = laligan::train::run::dataset(&exp)?;
    let obs = ds.split("train")?.shape[2..].to_vec();
    let model = laligan::train::LaLiGan::load_dir(dir, &exp, &obs)?;
    let stride = exp.sindy.stride.max(1);
    let (z, dz, k) =
        laligan::threads::run(|| latent::rows(&model, &ds, "train", exp.data.n_train, stride))?;
    let (vz, vdz, _) = if ds.splits().contains(&"val") {
        laligan::threads::run(|| latent::rows(&model, &ds, "val", 0, stride))?
    } else {
        (vec![], vec![], k)
    };
    if exp.sindy.generators.is_empty() {
        exp.sindy.generators = latent::generators(&model)?;
    }
    let names = if exp.sindy.state_names.is_empty() {
        (0..k).map(|i| format!("z{i}")).collect()
    } else {
        exp.sindy.state_names.clone()
    };
    let lib = Library::parse(&exp.sindy.library, k)?.with_state_names(names)?;
    std::fs::create_dir_all(out).with_context(|| format!("creating {}", out.display()))?;
    laligan::io::write_atomic(
        &out.join("config.toml"),
        laligan::config::to_toml(&exp)?.as_bytes(),
    )?;
    tracing::info!(
        "latent mode: {} samples of {k} latent states from {}, library `{}` ({} terms), {} generator(s)",
        z.len() / k,
        dir.display(),
        exp.sindy.library,
        lib.n_terms(),
        exp.sindy.generators.len()
    );
    let text = discover::discover(&exp.sindy, &lib, (&z, &dz), (&vz, &vdz), exp.seed, out)?;
    print!("{text}");
    Ok(())
}
