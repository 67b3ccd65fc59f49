//! `laligan inspect`: what a trained model is, what it reached, and what it found.

use anyhow::Result;
use clap::Args;

#[derive(Args)]
pub struct Inspect {
    /// A model folder (e.g. models/pendulum or a `laligan train --out` run folder), a .safetensors
    /// file, or hf:owner/name[@revision] from the local hub cache.
    model: String,
}

pub fn run(a: Inspect) -> Result<()> {
    print!("{}", laligan::models::inspect(&a.model)?);
    Ok(())
}
