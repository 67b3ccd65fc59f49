//! `laligan encode` and `laligan decode`: a trained model's encoder and decoder on numpy arrays (eval
//! mode), keeping the leading dimensions.

use anyhow::Result;
use clap::Args;
use laligan::models::{self, Input};
use std::path::PathBuf;

#[derive(Args)]
pub struct Codec {
    /// A model folder, a .safetensors file, or hf:owner/name[@revision].
    #[arg(long, value_name = "MODEL")]
    model: String,
    /// A .npy array `[..., observation...]` to encode (`[..., latent]` to decode), or a dataset file
    /// (.safetensors) whose --split is read.
    #[arg(long)]
    input: PathBuf,
    /// The split of a dataset file input.
    #[arg(long, default_value = "test")]
    split: String,
    /// The output .npy file.
    #[arg(long)]
    out: PathBuf,
    #[command(flatten)]
    device: super::DeviceArg,
}

/// Encodes (`decode = false`) or decodes the input and reports the shape written.
pub fn run(a: Codec, decode: bool) -> Result<()> {
    let input = Input::new(&a.input, &a.split);
    let shape = if decode {
        models::decode(&a.model, &input, &a.out, a.device.or_cpu())?
    } else {
        models::encode(&a.model, &input, &a.out, a.device.or_cpu())?
    };
    eprintln!("wrote {} {shape:?}", a.out.display());
    Ok(())
}
