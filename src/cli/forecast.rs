//! `laligan forecast`: long-horizon forecasts of test trajectories with every available method.

use anyhow::Result;
use clap::Args;
use laligan::pipeline::{self, ForecastRequest};
use std::path::PathBuf;

#[derive(Args)]
pub struct Forecast {
    /// The trained model: a folder (a `laligan train --out` run folder), a .safetensors file, or
    /// hf:owner/name[@revision] from the local hub cache; its config supplies the data and `[forecast]`.
    #[arg(long, value_name = "MODEL")]
    model: Option<String>,
    /// Discovery folder (`laligan discover --out`); default `<model>/equations` when it exists.
    #[arg(long)]
    discovery: Option<PathBuf>,
    /// SINDy-autoencoder folder (`laligan sindy-ae --out`); default `<model>/sindy-ae` when it exists.
    #[arg(long)]
    sindy_ae: Option<PathBuf>,
    /// Dataset file; default the dataset of the model's config.
    #[arg(long)]
    data: Option<PathBuf>,
    /// Split to forecast (default `forecast.split`, i.e. test).
    #[arg(long)]
    split: Option<String>,
    /// Steps to forecast (default `forecast.horizon`; 0 = the whole trajectory).
    #[arg(long)]
    horizon: Option<usize>,
    /// Output folder: forecast.json, forecast.csv, PNGs.
    #[arg(long)]
    out: PathBuf,
    #[command(flatten)]
    set: super::Overrides,
    #[command(flatten)]
    device: super::DeviceArg,
}

pub fn run(a: Forecast) -> Result<()> {
    if a.model.is_none() && a.discovery.is_none() && a.data.is_none() {
        anyhow::bail!("give --model RUN (a trained run), --discovery DIR (raw-mode equations) or --data FILE (baselines only)");
    }
    let mut set = a.device.with(&a.set);
    if let Some(s) = &a.split {
        set.push(format!("forecast.split={s:?}"));
    }
    if let Some(h) = a.horizon {
        set.push(format!("forecast.horizon={h}"));
    }
    let fc = pipeline::forecast(&ForecastRequest {
        model: a.model.as_deref(),
        discovery: a.discovery.as_deref(),
        sindy_ae: a.sindy_ae.as_deref(),
        data: a.data.as_deref(),
        overrides: &set,
        out: &a.out,
    })?;
    print!("{}", pipeline::score_table(&fc.results));
    eprintln!(
        "wrote forecast.json, forecast.csv, {} to {}",
        fc.pngs.join(", "),
        a.out.display()
    );
    Ok(())
}
