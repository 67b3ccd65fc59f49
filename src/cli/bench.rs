//! `laligan bench`: performance measurements printed as JSON lines.

use anyhow::Result;
use clap::{Args, Subcommand};
use laligan::config::experiment::Experiment;
use std::path::PathBuf;

#[derive(Subcommand)]
pub enum BenchCommand {
    /// Time one full training step (forward, backward, three Adam updates) per batch size.
    TrainStep(TrainStep),
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
    /// Override a config key (repeatable).
    #[arg(long = "set", value_name = "KEY=VALUE")]
    set: Vec<String>,
}

pub fn run(cmd: BenchCommand) -> Result<()> {
    match cmd {
        BenchCommand::TrainStep(a) => {
            let exp: Experiment = match &a.config {
                Some(p) => laligan::config::load(p, &a.set)?,
                None => laligan::config::parse("seed = 0", "default architecture", &a.set)?,
            };
            for &b in &a.batch {
                let r = laligan::threads::run(|| {
                    laligan::train::bench::train_step(&exp, &a.obs, b, a.steps)
                })?;
                println!("{}", serde_json::to_string(&r)?);
            }
            Ok(())
        }
    }
}
