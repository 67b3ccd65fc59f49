//! `laligan run`: the whole job from one config (default: the built-in quickstart).

use anyhow::Result;
use clap::Args;
use laligan::experiment::Experiment;
use std::path::PathBuf;
use std::sync::atomic::AtomicBool;
use std::sync::Arc;

#[derive(Args)]
pub struct Run {
    /// Experiment config (default models/quickstart/config.toml, built in).
    #[arg(long)]
    config: Option<PathBuf>,
    /// Output folder (default runs/quickstart); its train/, equations/ and forecast/ are replaced.
    #[arg(long, default_value = "runs/quickstart")]
    out: PathBuf,
    #[command(flatten)]
    data: super::DataFile,
    #[command(flatten)]
    set: super::Overrides,
    #[command(flatten)]
    device: super::DeviceArg,
}

pub fn run(a: Run) -> Result<()> {
    let set = a.device.with(&a.set);
    let (mut exp, source): (Experiment, String) = match &a.config {
        Some(p) => (Experiment::load(p, &set)?, p.display().to_string()),
        None => (
            Experiment::parse(
                laligan::pipeline::QUICKSTART,
                "models/quickstart/config.toml",
                &set,
            )?,
            "models/quickstart/config.toml".into(),
        ),
    };
    a.data.apply(&mut exp)?;
    let stop = Arc::new(AtomicBool::new(false));
    let flag = stop.clone();
    ctrlc::set_handler(move || {
        if flag.swap(true, std::sync::atomic::Ordering::SeqCst) {
            std::process::exit(130);
        }
        eprintln!("\nstopping after saving a checkpoint (Ctrl-C again to quit at once)");
    })?;
    let t0 = std::time::Instant::now();
    let report = laligan::pipeline::run(&exp, &source, &a.out, &stop)?;
    println!("{}", laligan::pipeline::terminal_summary(&a.out)?);
    println!(
        "report: {} ({:.0} s)",
        report.display(),
        t0.elapsed().as_secs_f64()
    );
    Ok(())
}
