//! Argument parsing, logging set-up and dispatch to one file per subcommand.

mod bench;
mod codec;
mod convert;
mod data;
mod discover;
mod export;
mod forecast;
mod inspect;
mod run;
mod sindy_ae;
mod train;

use clap::{Args, Parser, Subcommand};
use std::path::PathBuf;
use std::process::ExitCode;

/// Latent LieGAN: discover symmetries in a learned latent space, find equations, forecast.
#[derive(Parser)]
#[command(name = "laligan", version, about, long_about = None, propagate_version = true)]
struct Cli {
    /// More log output (-v debug, -vv trace); RUST_LOG overrides.
    #[arg(short, long, action = clap::ArgAction::Count, global = true)]
    verbose: u8,
    /// Only warnings and errors, no progress bars.
    #[arg(short, long, global = true)]
    quiet: bool,
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Generate, import and inspect datasets.
    #[command(subcommand)]
    Data(data::DataCommand),
    /// Train LaLiGAN (autoencoder, Lie algebra generator, discriminator) from a config.
    Train(train::Train),
    /// Discover equations (SINDy) in a dataset, plain and symmetry-constrained.
    Discover(discover::Discover),
    /// Train a SINDy autoencoder (autoencoder and latent equations jointly), from scratch or from a model.
    SindyAe(sindy_ae::SindyAe),
    /// Forecast test trajectories with the learned model, the equations and the baselines.
    Forecast(forecast::Forecast),
    /// Show a trained model: config, tensors, metrics, generators and equations.
    Inspect(inspect::Inspect),
    /// Encode observations to latents with a trained model (a .npy array or a dataset split).
    Encode(codec::Codec),
    /// Decode latents to observations with a trained model.
    Decode(codec::Codec),
    /// Write a clean model folder (weights without optimizer state, config, card) from a run.
    Export(export::Export),
    /// A model folder from checkpoints of the PyTorch reference implementation.
    Convert(convert::Convert),
    /// The whole job: data → train → symmetry → equations → forecast → report.md (default: quickstart).
    Run(run::Run),
    /// Performance benchmarks (JSON lines).
    #[command(subcommand)]
    Bench(bench::BenchCommand),
}

/// `--set KEY=VALUE`, repeatable: overrides of config (or recipe) keys, values parsed as TOML.
#[derive(Args, Clone, Debug, Default)]
pub struct Overrides {
    /// Override a config key, e.g. --set train.epochs=10 (value parsed as TOML; repeatable).
    #[arg(long = "set", value_name = "KEY=VALUE")]
    pub set: Vec<String>,
}

impl std::ops::Deref for Overrides {
    type Target = [String];
    fn deref(&self) -> &[String] {
        &self.set
    }
}

/// `--device cpu|cuda`: where the command runs.
#[derive(Args, Clone, Copy, Debug, Default)]
pub struct DeviceArg {
    /// Where to run: cpu, or cuda (a build with the `cuda` feature, scripts/build-cuda.sh); default
    /// the config's `device`, and cpu for a model folder.
    #[arg(long, value_name = "cpu|cuda")]
    pub device: Option<laligan::device::DeviceKind>,
}

impl DeviceArg {
    /// `overrides` with this device's (`device = "..."`) last, when one is given.
    pub fn with(&self, overrides: &[String]) -> Vec<String> {
        let mut all = overrides.to_vec();
        all.extend(self.device.map(laligan::device::DeviceKind::as_override));
        all
    }

    /// The device given, or the CPU.
    pub fn or_cpu(&self) -> laligan::device::DeviceKind {
        self.device.unwrap_or_default()
    }
}

/// `--data FILE`: a dataset file (any, including `laligan data import` output) in place of the
/// config's data source.
#[derive(Args, Clone, Debug, Default)]
pub struct DataFile {
    /// A dataset file to use instead of the config's data (e.g. `laligan data import` output).
    #[arg(long, value_name = "FILE.safetensors")]
    pub data: Option<PathBuf>,
}

impl DataFile {
    /// Points `exp` at the file, when one is given.
    pub fn apply(&self, exp: &mut laligan::experiment::Experiment) -> laligan::Result<()> {
        match &self.data {
            Some(f) => exp.data.use_file(f),
            None => Ok(()),
        }
    }
}

/// `--out PATH` with `--force`: where a command writes, and whether it may replace what is there.
#[derive(Args, Clone, Debug)]
pub struct Output {
    /// Output file or folder (see the command's help).
    #[arg(long)]
    pub out: PathBuf,
    /// Replace what --out already holds.
    #[arg(long)]
    pub force: bool,
}

/// Parses the command line, runs the command and maps errors to a message and a non-zero exit code.
pub fn main() -> ExitCode {
    laligan::threads::configure();
    let cli = Cli::parse();
    laligan::progress::init_logging(cli.verbose, cli.quiet);
    laligan::progress::set_quiet(cli.quiet);
    let result = match cli.command {
        Command::Data(cmd) => data::run(cmd),
        Command::Train(a) => train::run(a),
        Command::Discover(a) => discover::run(a),
        Command::SindyAe(a) => sindy_ae::run(a),
        Command::Forecast(a) => forecast::run(a),
        Command::Run(a) => run::run(a),
        Command::Inspect(a) => inspect::run(a),
        Command::Encode(a) => codec::run(a, false),
        Command::Decode(a) => codec::run(a, true),
        Command::Export(a) => export::run(a),
        Command::Convert(a) => convert::run(a),
        Command::Bench(c) => bench::run(c),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e:#}");
            ExitCode::FAILURE
        }
    }
}
