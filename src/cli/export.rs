//! `laligan export`: a clean model folder from a run, ready to share or to ship.

use anyhow::Result;
use clap::Args;
use laligan::checkpoint::Storage;
use std::path::PathBuf;

#[derive(Args)]
pub struct Export {
    /// The run (a `laligan train --out` folder) or any model spec.
    #[arg(long, value_name = "MODEL")]
    model: String,
    /// The model folder to write: model.safetensors, config.toml, README.md (a model card), and
    /// equations/ and sindy-ae/ when the run has them.
    #[arg(long)]
    out: PathBuf,
    /// Storage dtype of the weights: f32, f16 or bf16 (computation stays f32).
    #[arg(long, default_value = "f32")]
    dtype: Storage,
    /// Keep the discriminator (only needed to continue training).
    #[arg(long)]
    with_discriminator: bool,
}

pub fn run(a: Export) -> Result<()> {
    laligan::models::export(&a.model, &a.out, a.dtype, a.with_discriminator)?;
    eprintln!("wrote {}", a.out.display());
    Ok(())
}
