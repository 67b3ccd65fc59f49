//! `laligan convert`: checkpoints of the PyTorch reference implementation as a model folder.

use super::Overrides;
use anyhow::Result;
use clap::Args;
use std::path::PathBuf;

#[derive(Args)]
pub struct Convert {
    /// The reference's saved files: its autoencoder's state dict, its generator's (Li.N, sigma.N) or its
    /// saved algebra (Lie_list.pt), its discriminator's when given; or one state dict whose keys carry
    /// the prefixes autoencoder., generator., discriminator. As .pt/.pth (PyTorch's zip format, read as
    /// data: nothing in it runs) or .safetensors.
    #[arg(required = true, value_name = "FILE")]
    files: Vec<PathBuf>,
    /// A laligan config describing the same architecture (hidden width, layers, latent, batch norm,
    /// orthogonal last layer, [lie] blocks), e.g. models/pendulum/config.toml.
    #[arg(long)]
    config: PathBuf,
    /// The model folder to write: model.safetensors, config.toml and a README.md card naming the
    /// sources and their sha256.
    #[arg(long)]
    out: PathBuf,
    #[command(flatten)]
    overrides: Overrides,
}

pub fn run(a: Convert) -> Result<()> {
    let c = laligan::convert::convert(&a.files, &a.config, &a.overrides)?;
    for n in &c.notes {
        tracing::info!("{n}");
    }
    c.write(&a.out, &laligan::host::command_line())?;
    eprintln!(
        "wrote {} ({} tensors from {} files)",
        a.out.display(),
        c.sources.iter().map(|s| s.tensors).sum::<usize>(),
        c.sources.len()
    );
    Ok(())
}
