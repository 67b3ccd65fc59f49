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
    /// The run folder: config.toml, model.safetensors, training_state.safetensors, metrics.csv,
    /// summary.json, train.log and PNGs (--force starts over; a run it holds is replaced only once the
    /// new one finishes or stops with a checkpoint, and stays as it was if the new one fails).
    #[command(flatten)]
    output: super::Output,
    #[command(flatten)]
    data: super::DataFile,
    #[command(flatten)]
    set: super::Overrides,
    #[command(flatten)]
    device: super::DeviceArg,
    /// Continue the run in --out from its last checkpoint.
    #[arg(long, conflicts_with = "force")]
    resume: bool,
    /// Start from the weights of a model (a folder, a .safetensors file or hf:owner/name[@rev], e.g. a
    /// `laligan convert` output) instead of a random initialization: fine-tuning. Its architecture must
    /// be the config's.
    #[arg(long, value_name = "MODEL", conflicts_with = "resume")]
    init: Option<String>,
}

pub fn run(a: Train) -> Result<()> {
    let mut exp = Experiment::load(&a.config, &a.device.with(&a.set))?;
    a.data.apply(&mut exp)?;
    let stop = Arc::new(AtomicBool::new(false));
    let flag = stop.clone();
    ctrlc::set_handler(move || {
        if flag.swap(true, Ordering::SeqCst) {
            std::process::exit(130);
        }
        eprintln!("\nstopping: saving a checkpoint (Ctrl-C again to quit without saving)");
    })?;
    let start = match (a.resume, a.output.force) {
        (true, _) => Start::Resume,
        (false, true) => Start::Replace,
        (false, false) => Start::New,
    };
    let outcome = laligan::threads::run(|| {
        laligan::pipeline::train_from(&exp, &a.output.out, start, a.init.as_deref(), &stop)
    })?;
    match outcome {
        Outcome::Finished(s) => {
            println!("{}", serde_json::to_string_pretty(&*s)?);
            Ok(())
        }
        Outcome::Interrupted { epoch, batch } => {
            let mut cmd = format!(
                "laligan train --config {} --out {}",
                a.config.display(),
                a.output.out.display()
            );
            if let Some(d) = &a.data.data {
                cmd.push_str(&format!(" --data {}", d.display()));
            }
            for s in a.set.iter() {
                cmd.push_str(&format!(" --set '{s}'"));
            }
            eprintln!(
                "interrupted at epoch {} batch {batch}; continue with: {cmd} --resume",
                epoch + 1
            );
            std::process::exit(130)
        }
    }
}
