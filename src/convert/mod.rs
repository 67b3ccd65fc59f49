//! `laligan convert`: checkpoints of the PyTorch reference implementation turned into a model folder.
//!
//! The files are read as data ([`pth`]: PyTorch's zip format or safetensors; nothing in a pickle runs),
//! their tensors mapped onto the model an experiment config describes ([`reference`]), and the result
//! written as a model folder every `--model` command takes, with a card naming the sources and their
//! sha256.

pub mod pth;
pub mod reference;

use crate::checkpoint::Storage;
use crate::error::Result;
use crate::experiment::Experiment;
use crate::train::LaLiGan;
use candle_core::{DType, Device, Tensor};
use pth::Layout;
use reference::{Sources, AUTOENCODER, DISCRIMINATOR, GENERATOR, LIE_LIST};
use std::fmt::Write as _;
use std::path::{Path, PathBuf};

/// What a conversion did.
pub struct Converted {
    pub model: LaLiGan,
    pub exp: Experiment,
    /// The files read.
    pub sources: Vec<Source>,
    /// What was read and not kept, or changed in form, with why.
    pub notes: Vec<String>,
    /// Whether a discriminator was given (it is then kept, to continue training).
    pub has_discriminator: bool,
}

/// One file read: its path, sha256 and number of tensors.
pub struct Source {
    pub path: PathBuf,
    pub sha256: String,
    pub tensors: usize,
}

/// Whether `key` carries a combined state dict's module prefix.
fn prefixed(key: &str) -> bool {
    [AUTOENCODER, GENERATOR, DISCRIMINATOR]
        .iter()
        .any(|p| key.starts_with(p))
}

/// The reference module a plain state dict belongs to, from its keys' first component.
fn module_of(key: &str) -> Option<&'static str> {
    match key.split('.').next() {
        Some("encoder" | "decoder") => Some(AUTOENCODER),
        Some("Li" | "sigma") => Some(GENERATOR),
        Some("model") => Some(DISCRIMINATOR),
        _ => None,
    }
}

/// Reads `files` into one set of prefixed names: a combined state dict keeps its `autoencoder.`,
/// `generator.`, `discriminator.` prefixes, a plain one gets the prefix of the module its keys name,
/// and a list of tensors is the saved algebra.
pub fn read_sources(files: &[PathBuf]) -> Result<(Sources, Vec<Source>, Vec<String>)> {
    let mut sources = Sources::new();
    let mut listing = Vec::new();
    let mut notes = Vec::new();
    for path in files {
        let file = pth::read(path)?;
        let combined = file.tensors.iter().any(|(k, _)| prefixed(k));
        let mut plain: Option<&str> = None;
        for (key, t) in &file.tensors {
            let name = match file.layout {
                Layout::List => format!("{LIE_LIST}{key}"),
                Layout::Dict if combined => {
                    if !prefixed(key) {
                        return Err(data_err!(
                            "{}: {key}: a combined state dict's keys start with autoencoder., \
                             generator. or discriminator.",
                            path.display()
                        ));
                    }
                    key.clone()
                }
                Layout::Dict => {
                    let m = module_of(key).ok_or_else(|| {
                        data_err!(
                            "{}: {key} belongs to none of the reference's modules (autoencoder: \
                             encoder.*, decoder.*; generator: Li.N, sigma.N; discriminator: model.*)",
                            path.display()
                        )
                    })?;
                    match plain {
                        Some(p) if p != m => {
                            return Err(data_err!(
                                "{}: {key} belongs to the {} but earlier keys to the {}: pass each \
                                 module's state dict as its own file, or one combined dict with \
                                 prefixes",
                                path.display(),
                                m.trim_end_matches('.'),
                                p.trim_end_matches('.')
                            ))
                        }
                        _ => plain = Some(m),
                    }
                    format!("{m}{key}")
                }
            };
            if let Some((_, other)) = sources.get(&name) {
                return Err(data_err!(
                    "{}: {} is also in {}: pass each module once",
                    path.display(),
                    reference::shown(&name),
                    other.display()
                ));
            }
            sources.insert(name, (t.clone(), path.clone()));
        }
        for s in file.skipped {
            if !notes.contains(&s) {
                notes.push(s);
            }
        }
        listing.push(Source {
            path: path.clone(),
            sha256: crate::data::sha256_file(path)?,
            tensors: file.tensors.len(),
        });
    }
    Ok((sources, listing, notes))
}

/// Converts the reference's `files` into the model the config at `config` (with `overrides`) describes.
pub fn convert(files: &[PathBuf], config: &Path, overrides: &[String]) -> Result<Converted> {
    if files.is_empty() {
        return Err(config_err!("no checkpoint files given"));
    }
    let exp = Experiment::load(config, overrides)?;
    let (sources, listing, mut notes) = read_sources(files)?;
    let obs = exp.data.obs_shape()?;
    let obs_len: usize = obs.iter().product();
    let mapped = reference::map(&exp, obs_len, &sources)?;
    notes.extend(mapped.notes);
    let model = LaLiGan::new(&exp.setup(), &obs, DType::F32, &Device::Cpu)?;
    // Fixed bases (and their masks) and an absent discriminator keep what the model was built with.
    let built: std::collections::BTreeMap<String, Tensor> = model.state().into_iter().collect();
    if let Some(extra) = mapped.tensors.keys().find(|n| !built.contains_key(*n)) {
        return Err(config_err!(
            "the conversion made {extra}, which the model the config describes does not have"
        ));
    }
    model
        .load(|name| match mapped.tensors.get(name) {
            Some((v, shape)) => Tensor::from_vec(v.clone(), shape.as_slice(), &Device::Cpu).ok(),
            None if name.starts_with("lie.")
                || (!mapped.has_discriminator && name.starts_with("disc.")) =>
            {
                built.get(name).and_then(|t| t.copy().ok())
            }
            None => None,
        })
        .map_err(|e| config_err!("the converted weights do not fill the model: {e}"))?;
    if mapped.recompute_masks && exp.lie.threshold_every > 0 {
        model
            .rep
            .threshold(exp.lie.threshold, crate::lie::algebra::MaskRule::Recompute)?;
    }
    Ok(Converted {
        model,
        exp,
        sources: listing,
        notes,
        has_discriminator: mapped.has_discriminator,
    })
}

impl Converted {
    /// Writes the model folder `out`; `command` is the command line that made it, for the card.
    pub fn write(&self, out: &Path, command: &str) -> Result<()> {
        let mut card = crate::models::card_intro(out, &self.exp, &self.model.obs);
        let _ = writeln!(
            card,
            "Converted from checkpoints of the PyTorch reference implementation with\n\n```sh\n{command}\n```\n\n## Sources\n"
        );
        for Source {
            path,
            sha256: sha,
            tensors: n,
        } in &self.sources
        {
            let _ = writeln!(
                card,
                "- `{}`: {n} tensors, sha256 `{sha}`",
                path.file_name().map_or(path.display().to_string(), |f| f
                    .to_string_lossy()
                    .to_string())
            );
        }
        if !self.notes.is_empty() {
            let _ = writeln!(card, "\n## Conversion notes\n");
            for n in &self.notes {
                let _ = writeln!(card, "- {n}");
            }
        }
        card.push_str(&crate::models::card_use(out));
        crate::models::write_folder(
            out,
            &self.model,
            &self.exp.to_toml()?,
            Storage::F32,
            self.has_discriminator,
            &card,
            |_| Ok(()),
        )
    }
}
