//! `laligan data`: generate, import, inspect.

use anyhow::Result;
use clap::{Args, Subcommand};
use laligan::data::{import, inspect, systems, Dataset, Recipe};
use std::path::PathBuf;
use std::time::Instant;

#[derive(Subcommand)]
pub enum DataCommand {
    /// Generate a dataset from a recipe: a built-in name (lotka-volterra, pendulum, pendulum-movie,
    /// reaction-diffusion, double-bump, rotating-object) or a recipe TOML file.
    Generate(Generate),
    /// Convert your own data (FILE.npy, FILE.npz or a folder of PNG frames) into a dataset file.
    Import(Import),
    /// Print splits, shapes, value ranges and the recipe of a dataset file; optionally draw it.
    Inspect(Inspect),
}

#[derive(Args)]
pub struct Generate {
    /// Built-in recipe name or path to a recipe .toml file.
    recipe: String,
    /// The dataset file (.safetensors) to write.
    #[command(flatten)]
    output: super::Output,
    #[command(flatten)]
    set: super::Overrides,
}

#[derive(Args)]
pub struct Import {
    /// FILE.npy ([trajectories, steps, ...obs] or [steps, ...obs]), FILE.npz (arrays x, and optionally
    /// dx and t; or train_x, val_x, test_x with _dx, _t), or a folder of PNG frames (one trajectory).
    input: PathBuf,
    /// The dataset file (.safetensors) to write.
    #[command(flatten)]
    output: super::Output,
    /// Time step between samples (used when the input gives no times).
    #[arg(long, default_value_t = 1.0)]
    dt: f64,
}

#[derive(Args)]
pub struct Inspect {
    /// A dataset file.
    file: PathBuf,
    /// Also draw an overview PNG (phase portraits, frames or signals of the training split).
    #[arg(long, value_name = "OUT.png")]
    png: Option<PathBuf>,
}

pub fn run(cmd: DataCommand) -> Result<()> {
    match cmd {
        DataCommand::Generate(a) => {
            let recipe = Recipe::resolve(&a.recipe, &a.set)?;
            tracing::info!(
                "generating {} into {}",
                recipe.name(),
                a.output.out.display()
            );
            let t0 = Instant::now();
            let g = systems::generate(&recipe, &a.output.out, a.output.force)?;
            let secs = t0.elapsed().as_secs_f64();
            let l = &g.layout;
            tracing::info!(
                "wrote {} in {secs:.1}s: train {:?}, val {:?}, test {:?} (trajectories, steps), observation {:?}, values in [{:.4}, {:.4}]",
                a.output.out.display(),
                l.splits[0],
                l.splits[1],
                l.splits[2],
                l.obs,
                g.min,
                g.max
            );
        }
        DataCommand::Import(a) => {
            let r = import::import(&a.input, &a.output.out, a.dt, a.output.force)?;
            tracing::info!(
                "wrote {}: splits {:?}, observation {:?}, derivative {}",
                a.output.out.display(),
                r.layout.splits,
                r.layout.obs,
                r.derivative
            );
        }
        DataCommand::Inspect(a) => {
            let ds = Dataset::open(&a.file)?;
            print!("{}", inspect::summary(&ds)?);
            if let Some(png) = a.png {
                inspect::overview_png(&ds, &png)?;
                tracing::info!("wrote {}", png.display());
            }
        }
    }
    Ok(())
}
