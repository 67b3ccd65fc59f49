//! `laligan bench`: performance measurements printed as JSON lines.

use anyhow::Result;
use clap::{Args, Subcommand};
use laligan::experiment::Experiment;
use std::path::PathBuf;

#[derive(Subcommand)]
pub enum BenchCommand {
    /// Time one full training step (forward, backward, three Adam updates) per batch size.
    TrainStep(TrainStep),
    /// Time integrating a 2-D latent model with every cubic term (RK4, one step per sample).
    Simulate(Simulate),
    /// Time the raw-mode `[sindy]` fit of a config on its training split (data loaded beforehand).
    Fit(Fit),
}

#[derive(Args)]
pub struct Fit {
    /// Experiment config with `[data]` and `[sindy]`, e.g. models/sindy-lotka-volterra/config.toml.
    #[arg(long)]
    config: PathBuf,
    /// A dataset file to fit instead of the config's recipe.
    #[arg(long)]
    data: Option<PathBuf>,
    /// Timed fits (after one warm-up fit).
    #[arg(long, default_value_t = 5)]
    runs: usize,
    #[command(flatten)]
    set: super::Overrides,
}

#[derive(Args)]
pub struct Simulate {
    /// RK4 steps per run.
    #[arg(long, default_value_t = 10_000)]
    steps: usize,
    /// Timed runs (after one warm-up run).
    #[arg(long, default_value_t = 50)]
    runs: usize,
}

#[derive(Args)]
pub struct TrainStep {
    /// Batch sizes, comma separated.
    #[arg(long, value_delimiter = ',', default_values_t = vec![64usize, 256, 8192])]
    batch: Vec<usize>,
    /// Timed steps per batch size (after one warm-up step).
    #[arg(long, default_value_t = 20)]
    steps: usize,
    /// Experiment config of the architecture (default: the pendulum architecture — MLP autoencoder
    /// 5×512 with batch norm and the orthogonal layer, window 2, one 2×2 generator, discriminator 5×512).
    #[arg(long)]
    config: Option<PathBuf>,
    /// Observation shape, e.g. 2 or 1,51,51 (default: 2).
    #[arg(long, value_delimiter = ',', default_values_t = vec![2usize])]
    obs: Vec<usize>,
    #[command(flatten)]
    set: super::Overrides,
    #[command(flatten)]
    device: super::DeviceArg,
}

pub fn run(cmd: BenchCommand) -> Result<()> {
    match cmd {
        BenchCommand::TrainStep(a) => {
            let set = a.device.with(&a.set);
            let exp = match &a.config {
                Some(p) => Experiment::load(p, &set)?,
                None => Experiment::parse("seed = 0", "default architecture", &set)?,
            };
            for &b in &a.batch {
                let r = laligan::threads::run(|| {
                    laligan::train::bench::train_step(&exp.setup(), &a.obs, b, a.steps)
                })?;
                println!("{}", serde_json::to_string(&r)?);
            }
            Ok(())
        }
        BenchCommand::Fit(a) => {
            let exp = Experiment::load(&a.config, &a.set)?;
            let ds = exp.data.open_or(a.data.as_deref())?;
            let (x, dx, d) =
                laligan::discover::rows(&ds, "train", exp.data.n_train, exp.sindy.stride)?;
            let lib = exp.sindy.library(d, "x")?;
            let fit =
                || laligan::threads::run(|| exp.sindy.fit(&lib, &x, &dx, None, None, exp.seed));
            let mut times = Vec::with_capacity(a.runs);
            let mut last = fit()?;
            for _ in 0..a.runs.max(1) {
                let t0 = std::time::Instant::now();
                last = fit()?;
                times.push(t0.elapsed().as_secs_f64());
            }
            times.sort_by(f64::total_cmp);
            println!(
                "{}",
                serde_json::json!({
                    "samples": x.len() / d,
                    "library": exp.sindy.library,
                    "terms": last.model.terms(),
                    "coefficients": last.model.coefficients(),
                    "median_s": times[times.len() / 2],
                    "min_s": times[0],
                })
            );
            Ok(())
        }
        BenchCommand::Simulate(a) => {
            // ż = ΞΘ(z) with Θ = 1 + poly(3) in 2-D (10 terms, all 20 coefficients nonzero): a slightly
            // damped rotation with small polynomial corrections, so the orbit stays bounded.
            let lib = laligan::sindy::Library::parse("1 + poly(3)", 2)?;
            let mut xi = vec![vec![0.0; lib.n_terms()]; 2];
            for (i, row) in xi.iter_mut().enumerate() {
                for (j, c) in row.iter_mut().enumerate() {
                    *c = 1e-3 * ((i * 10 + j) as f64 + 1.0);
                }
            }
            let names = lib.term_names();
            let at = |t: &str| names.iter().position(|n| n == t).expect("term");
            xi[0][at("x1")] = 1.0;
            xi[1][at("x0")] = -1.0;
            xi[0][at("x0")] = -0.01;
            xi[1][at("x1")] = -0.01;
            let model = laligan::sindy::SindyModel::new(lib, xi)?;
            let mut times = Vec::with_capacity(a.runs);
            let mut last = 0.0;
            for r in 0..=a.runs {
                let t0 = std::time::Instant::now();
                let x = model.simulate(&[0.5, 0.0], 0.02, a.steps)?;
                let ms = t0.elapsed().as_secs_f64() * 1e3;
                last = x[x.len() - 2];
                if r > 0 {
                    times.push(ms);
                }
            }
            times.sort_by(f64::total_cmp);
            println!(
                "{}",
                serde_json::json!({
                    "steps": a.steps,
                    "terms": 10,
                    "median_ms": times[times.len() / 2],
                    "min_ms": times[0],
                    "max_ms": times[times.len() - 1],
                    "final_z0": last,
                })
            );
            Ok(())
        }
    }
}
