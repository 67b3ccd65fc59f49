//! `laligan train`: joint training of the autoencoder, the Lie algebra generator and the discriminator
//! from an experiment config.

use anyhow::Result;
use clap::Args;
use laligan::experiment::Experiment;
use laligan::train::run::{Outcome, Start};
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

#[derive(Args)]
pub struct Train {
    /// Experiment config, e.g. models/pendulum/config.toml.
    #[arg(long)]
    config: PathBuf,
    /// Run folder: config.toml, model.safetensors, training_state.safetensors, metrics.csv,
    /// summary.json, train.log and PNGs.
    #[arg(long)]
    out: PathBuf,
    /// Override a config key, e.g. --set train.epochs=10 (value parsed as TOML; repeatable).
    #[arg(long = "set", value_name = "KEY=VALUE")]
    set: Vec<String>,
    /// Continue the run in --out from its last checkpoint.
    #[arg(long, conflicts_with = "force")]
    resume: bool,
    /// Start over, replacing a run that --out already holds.
    #[arg(long)]
    force: bool,
}

pub fn run(a: Train) -> Result<()> {
    let exp = Experiment::load(&a.config, &a.set)?;
    let stop = Arc::new(AtomicBool::new(false));
    let flag = stop.clone();
    ctrlc::set_handler(move || {
        if flag.swap(true, Ordering::SeqCst) {
            std::process::exit(130);
        }
        eprintln!("\nstopping: saving a checkpoint (Ctrl-C again to quit without saving)");
    })?;
    let start = match (a.resume, a.force) {
        (true, _) => Start::Resume,
        (false, true) => Start::Replace,
        (false, false) => Start::New,
    };
    let outcome = laligan::threads::run(|| laligan::pipeline::train(&exp, &a.out, start, &stop))?;
    match outcome {
        Outcome::Finished(s) => {
            println!("{}", serde_json::to_string_pretty(&*s)?);
            Ok(())
        }
        Outcome::Interrupted { epoch, batch } => {
            eprintln!(
                "interrupted at epoch {} batch {batch}; continue with: laligan train --config {} --out {} --resume",
                epoch + 1,
                a.config.display(),
                a.out.display()
            );
            std::process::exit(130)
        }
    }
}
