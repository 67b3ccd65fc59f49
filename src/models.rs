//! Trained models as a whole: a model spec (folder, `.safetensors` file or `hf:owner/name[@rev]`) opened
//! with its experiment and weights, and the commands on it: `inspect`, `encode`, `decode`, `export`.

use crate::checkpoint::{self, Checkpoint, Storage, MODEL_FORMAT};
use crate::data::Dataset;
use crate::device::DeviceKind;
use crate::error::{Error, Result};
use crate::experiment::Experiment;
use crate::metrics::symmetry::{imag_ratio, skew_ratio};
use crate::train::eval::{block_generators, decode_all, encode_all};
use crate::train::folder::ModelFolder;
use crate::train::model::MODEL_FILE;
use crate::train::LaLiGan;
use candle_core::Tensor;
use std::fmt::Write as _;
use std::path::{Path, PathBuf};

/// The model `spec` names with its experiment (its config, with `overrides`; a relative data file is
/// taken from the model's folder). The model runs on the CPU unless the overrides name a `device`: its
/// config records where it was trained, not where it must run.
pub fn open(spec: &str, overrides: &[String]) -> Result<(ModelFolder, Experiment)> {
    let folder = ModelFolder::resolve(spec)?;
    let (text, origin) = folder.config_text()?;
    let mut exp = Experiment::parse(&text, &origin, &[])?;
    exp.device = DeviceKind::Cpu;
    if !overrides.is_empty() {
        exp = Experiment::parse(&exp.to_toml()?, &origin, overrides)?;
    }
    if let Some(dir) = &folder.dir {
        exp.data.anchor(dir)?;
    }
    Ok((folder, exp))
}

/// The weights of `folder` in a model of `exp`, for observations shaped as in `ds`; an observation
/// shape recorded in the file must agree.
pub fn load(folder: &ModelFolder, exp: &Experiment, ds: &Dataset) -> Result<LaLiGan> {
    let obs = ds.split("train")?.shape[2..].to_vec();
    let ck = folder.checkpoint()?;
    if let Some(rec) = LaLiGan::recorded_obs(&ck)? {
        if rec != obs {
            return Err(data_err!(
                "{}: observations of shape {obs:?}, but the model {} takes {rec:?}",
                ds.file().path().display(),
                folder.spec
            ));
        }
    }
    LaLiGan::from_checkpoint(&ck, &exp.setup(), &obs)
}

/// A model ready for inference: the folder, its experiment, its checkpoint and the loaded model.
pub struct Opened {
    pub folder: ModelFolder,
    pub exp: Experiment,
    pub checkpoint: Checkpoint,
    pub model: LaLiGan,
}

/// Opens and loads `spec` for inference on `device`; the observation shape comes from the file, or else
/// from the model's dataset.
pub fn open_loaded(spec: &str, device: DeviceKind) -> Result<Opened> {
    let (folder, exp) = open(spec, &[device.as_override()])?;
    let ck = folder.checkpoint()?;
    let obs = match LaLiGan::recorded_obs(&ck)? {
        Some(obs) => obs,
        None => exp.data.obs_shape()?,
    };
    let model = LaLiGan::from_checkpoint(&ck, &exp.setup(), &obs)?;
    Ok(Opened {
        folder,
        exp,
        checkpoint: ck,
        model,
    })
}

/// The text of `laligan inspect`: config summary, tensor table, the metrics the model reached, its
/// generators with their scores, and its equations when it has them.
pub fn inspect(spec: &str) -> Result<String> {
    let m = open_loaded(spec, DeviceKind::Cpu)?;
    let (exp, ck) = (&m.exp, &m.checkpoint);
    let mut s = String::new();
    let _ = writeln!(
        s,
        "model {} ({})",
        m.folder.spec,
        m.folder.weights.display()
    );
    let ae = &exp.autoencoder;
    let _ = writeln!(
        s,
        "autoencoder {}: observations {:?} -> latent {}; {}",
        format!("{:?}", ae.kind).to_lowercase(),
        m.model.obs,
        ae.latent,
        ae.architecture()
    );
    // How it was trained: the config recorded in the weights (a folder's config.toml may be the
    // reference config a model was trained from with overrides).
    let trained = ck
        .meta("config")
        .ok()
        .and_then(|t| Experiment::parse(t, "the weights' config", &[]).ok());
    let t = trained.as_ref().unwrap_or(exp);
    let _ = writeln!(
        s,
        "trained on {} (stride {}), seed {}; {} epochs of batch {}",
        t.data.describe(),
        t.data.stride,
        t.seed,
        t.train.epochs,
        t.train.batch_size
    );
    let _ = writeln!(
        s,
        "\n{:<44} {:<16} {:>6} {:>10}",
        "tensor", "shape", "dtype", "bytes"
    );
    let mut total = 0;
    for (name, shape, dtype) in ck.entries() {
        let width = if dtype == "F32" { 4 } else { 2 };
        let bytes = width * shape.iter().product::<usize>();
        total += bytes;
        let _ = writeln!(
            s,
            "{name:<44} {:<16} {dtype:>6} {bytes:>10}",
            format!("{shape:?}")
        );
    }
    let _ = writeln!(s, "{:<44} {:<16} {:>6} {total:>10}", "total", "", "");
    if let Some(summary) = m.folder.part("summary.json") {
        let v: serde_json::Value = serde_json::from_str(&crate::io::read_text(&summary)?)
            .map_err(|e| data_err!("{}: {e}", summary.display()))?;
        let _ = writeln!(s, "\nmetrics ({}):", summary.display());
        for key in [
            "recon_mse",
            "disc_acc",
            "imag_ratio",
            "skew_ratio",
            "orbit_cv",
            "epochs",
            "seconds",
        ] {
            if let Some(x) = v.get(key) {
                let _ = writeln!(s, "  {key}: {x}");
            }
        }
    }
    let _ = writeln!(s, "\ngenerators:");
    for (b, (d, gens)) in block_generators(&m.model)?.iter().enumerate() {
        for (c, g) in gens.iter().enumerate() {
            let rows: Vec<String> = g
                .chunks(*d)
                .map(|r| {
                    format!(
                        "[{}]",
                        r.iter()
                            .map(|v| format!("{v:.4}"))
                            .collect::<Vec<_>>()
                            .join(", ")
                    )
                })
                .collect();
            let _ = writeln!(
                s,
                "  block {b} channel {c}: [{}]  imag_ratio {:.4}  skew_ratio {:.4}",
                rows.join(", "),
                imag_ratio(g, *d),
                skew_ratio(g, *d)
            );
        }
    }
    if let Some(eq) = m.folder.part("equations").map(|d| d.join("equations.txt")) {
        if eq.exists() {
            let _ = write!(
                s,
                "\nequations ({}):\n{}",
                eq.display(),
                crate::io::read_text(&eq)?
            );
        }
    }
    Ok(s)
}

/// What `encode` and `decode` read: a `.npy` array, or one split of a dataset file.
pub enum Input {
    Npy(PathBuf),
    Dataset { path: PathBuf, split: String },
}

impl Input {
    /// A `.npy` path, or a dataset file (`.safetensors`) with the split to read.
    pub fn new(path: &Path, split: &str) -> Self {
        if path.extension().is_some_and(|e| e == "safetensors") {
            Input::Dataset {
                path: path.to_path_buf(),
                split: split.to_string(),
            }
        } else {
            Input::Npy(path.to_path_buf())
        }
    }

    /// The values as f32 with their shape.
    fn read(&self) -> Result<(Vec<f32>, Vec<usize>, String)> {
        match self {
            Input::Npy(p) => {
                let a = crate::data::npy::read(p)?;
                let (v, shape) = (a.values, a.shape);
                if let Some(i) = v.iter().position(|x| !x.is_finite()) {
                    return Err(data_err!(
                        "{}: non-finite value ({}) at flat index {i}",
                        p.display(),
                        v[i]
                    ));
                }
                Ok((v, shape, p.display().to_string()))
            }
            Input::Dataset { path, split } => {
                let ds = Dataset::open(path)?;
                let s = ds.split(split)?;
                Ok((
                    s.x.to_vec(),
                    s.shape.to_vec(),
                    format!("{} ({split} split)", path.display()),
                ))
            }
        }
    }
}

/// Splits `shape` into its leading dimensions and a trailing `tail`, or says what was expected.
fn leading(shape: &[usize], tail: &[usize], what: &str, origin: &str) -> Result<Vec<usize>> {
    if shape.len() < tail.len() || shape[shape.len() - tail.len()..] != *tail {
        return Err(data_err!(
            "{origin}: shape {shape:?}, but the model's {what} have shape {tail:?}: expected [..., {}]",
            tail.iter().map(usize::to_string).collect::<Vec<_>>().join(", ")
        ));
    }
    Ok(shape[..shape.len() - tail.len()].to_vec())
}

/// Writes `values` of `shape` as a float32 `.npy` file, under a temporary name renamed into place.
fn write_npy(out: &Path, values: &[f32], shape: &[usize]) -> Result<()> {
    crate::io::write_atomic(out, &crate::data::npy::to_bytes(values, shape))
}

/// Latents z = φ(x) (eval mode) of observations `x` of shape `[..., obs...]`; returns them with their
/// shape `[..., latent]`. `origin` names the input in a shape error.
pub fn encode_values(
    m: &Opened,
    x: &[f32],
    shape: &[usize],
    origin: &str,
) -> Result<(Vec<f32>, Vec<usize>)> {
    let mut lead = leading(shape, &m.model.obs, "observations", origin)?;
    let obs_len: usize = m.model.obs.iter().product();
    let z = crate::threads::run(|| encode_all(&m.model, x, obs_len))?;
    lead.push(m.model.ae.latent_dim());
    Ok((z.into_iter().map(|v| v as f32).collect(), lead))
}

/// Observations ψ(z) (eval mode) of latents `z` of shape `[..., latent]`; returns them with their shape
/// `[..., obs...]`. `origin` names the input in a shape error.
pub fn decode_values(
    m: &Opened,
    z: &[f32],
    shape: &[usize],
    origin: &str,
) -> Result<(Vec<f32>, Vec<usize>)> {
    let k = m.model.ae.latent_dim();
    let mut lead = leading(shape, &[k], "latents", origin)?;
    let z: Vec<f64> = z.iter().map(|&v| f64::from(v)).collect();
    let x = crate::threads::run(|| decode_all(&m.model, &z))?;
    lead.extend(&m.model.obs);
    Ok((x, lead))
}

/// `laligan encode`: [`encode_values`] of a file, written as a `.npy`; returns the output shape.
pub fn encode(spec: &str, input: &Input, out: &Path, device: DeviceKind) -> Result<Vec<usize>> {
    let m = open_loaded(spec, device)?;
    let (x, shape, origin) = input.read()?;
    let (z, shape) = encode_values(&m, &x, &shape, &origin)?;
    write_npy(out, &z, &shape)?;
    Ok(shape)
}

/// `laligan decode`: [`decode_values`] of a file, written as a `.npy`; returns the output shape.
pub fn decode(spec: &str, input: &Input, out: &Path, device: DeviceKind) -> Result<Vec<usize>> {
    let m = open_loaded(spec, device)?;
    let (z, shape, origin) = input.read()?;
    let (x, shape) = decode_values(&m, &z, &shape, &origin)?;
    write_npy(out, &x, &shape)?;
    Ok(shape)
}

/// The model's scores: the numbers and lists of numbers of its `summary.json` when it has one
/// (`imag_ratio`, `skew_ratio`, `orbit_cv` per generator, `recon_mse`, `disc_acc`, ...), with
/// `imag_ratio` and `skew_ratio` of each generator computed from the weights when that lacks them.
pub fn scores(m: &Opened) -> Result<serde_json::Value> {
    use serde_json::Value;
    let mut out = serde_json::Map::new();
    if let Some(p) = m.folder.part("summary.json") {
        let v: Value = serde_json::from_str(&crate::io::read_text(&p)?)
            .map_err(|e| data_err!("{}: {e}", p.display()))?;
        if let Some(obj) = v.as_object() {
            let numeric = |v: &Value| match v {
                Value::Number(_) => true,
                Value::Array(a) => a.iter().all(Value::is_number),
                _ => false,
            };
            out.extend(
                obj.iter()
                    .filter(|(_, v)| numeric(v))
                    .map(|(k, v)| (k.clone(), v.clone())),
            );
        }
    }
    let (mut imag, mut skew) = (Vec::new(), Vec::new());
    for (d, gens) in block_generators(&m.model)? {
        for g in gens {
            imag.push(imag_ratio(&g, d));
            skew.push(skew_ratio(&g, d));
        }
    }
    out.entry("imag_ratio").or_insert_with(|| imag.into());
    out.entry("skew_ratio").or_insert_with(|| skew.into());
    Ok(Value::Object(out))
}

/// Decoded forecasts from observations `x0` (`[..., obs...]`): encode, integrate the model's latent
/// equations (`equations/`, the first fit) with RK4 for `steps` steps of `dt` (default: the time step
/// of the model's data), decode. Returns `[..., steps + 1, obs...]`.
pub fn forecast_values(
    m: &Opened,
    x0: &[f32],
    shape: &[usize],
    steps: usize,
    dt: Option<f64>,
) -> Result<(Vec<f32>, Vec<usize>)> {
    let dir = m.folder.part("equations").ok_or_else(|| {
        config_err!(
            "{}: no equations/ (make them with `laligan discover --model {} --out DIR/equations`)",
            m.folder.spec,
            m.folder.spec
        )
    })?;
    let (eq, _) = crate::discover::load(&dir)?.swap_remove(0);
    let dt = match dt {
        Some(dt) if dt.is_finite() && dt > 0.0 => dt,
        Some(dt) => return Err(config_err!("dt = {dt}: expected a positive time step")),
        None => {
            let ds = m.exp.data.open()?;
            ds.split("train")?
                .time_step()
                .ok_or_else(|| data_err!("the model's data has no time step; pass dt"))?
        }
    };
    let (z, zshape) = encode_values(m, x0, shape, "x0")?;
    let k = m.model.ae.latent_dim();
    if eq.n_states() != k {
        return Err(config_err!(
            "{}: the equations have {} states, the latent {k}",
            dir.display(),
            eq.n_states()
        ));
    }
    let mut traj = Vec::with_capacity(z.len() / k * (steps + 1) * k);
    for z0 in z.chunks(k) {
        let z0: Vec<f64> = z0.iter().map(|&v| f64::from(v)).collect();
        let path = eq
            .simulate(&z0, dt, steps)
            .map_err(|e| data_err!("{}: {e}", dir.display()))?;
        traj.extend(path.into_iter().map(|v| v as f32));
    }
    let mut tshape = zshape[..zshape.len() - 1].to_vec();
    tshape.extend([steps + 1, k]);
    decode_values(m, &traj, &tshape, "the forecast")
}

/// `laligan export`: a clean model folder in `out`: `model.safetensors` (stored as `storage`, with its
/// config and observation shape; the discriminator only `with_discriminator`; no optimizer state),
/// `config.toml`, `equations/` and `sindy-ae/` when the model has them, and a `README.md` card.
pub fn export(spec: &str, out: &Path, storage: Storage, with_discriminator: bool) -> Result<()> {
    let m = open_loaded(spec, DeviceKind::Cpu)?;
    let card = model_card(&m, out, storage)?;
    write_folder(
        out,
        &m.model,
        &m.exp.to_toml()?,
        storage,
        with_discriminator,
        &card,
        |path| {
            for part in ["equations", "sindy-ae"] {
                if let Some(src) = m.folder.part(part) {
                    copy_dir(&src, &path.join(part))?;
                }
            }
            if let Some(src) = m.folder.part("summary.json") {
                std::fs::copy(&src, path.join("summary.json")).map_err(|e| Error::io(&src, e))?;
            }
            Ok(())
        },
    )
}

/// Writes the model folder `out` (which must not hold a model yet): `model.safetensors` with `model`'s
/// weights stored as `storage` (the discriminator only `with_discriminator`), `config.toml`, the card
/// `README.md`, and what `extra` adds. Everything is written beside `out` and moved in whole, so a
/// failure leaves no partial folder.
pub fn write_folder(
    out: &Path,
    model: &LaLiGan,
    config_text: &str,
    storage: Storage,
    with_discriminator: bool,
    card: &str,
    extra: impl FnOnce(&Path) -> Result<()>,
) -> Result<()> {
    if out.join(MODEL_FILE).exists() {
        return Err(config_err!(
            "{} already holds a model; choose another --out",
            out.display()
        ));
    }
    let dir = crate::io::OutDir::staged(out)?;
    let path = dir.path();
    let tensors: Vec<(String, Tensor)> = model
        .state()
        .into_iter()
        .filter(|(n, _)| with_discriminator || !n.starts_with("disc."))
        .collect();
    let mut meta = model.file_metadata(config_text);
    meta.insert("dtype".into(), storage.name().into());
    checkpoint::save_as(
        &path.join(MODEL_FILE),
        MODEL_FORMAT,
        &tensors,
        &meta,
        storage,
    )?;
    crate::io::write_atomic(&path.join("config.toml"), config_text.as_bytes())?;
    extra(path)?;
    crate::io::write_atomic(&path.join("README.md"), card.as_bytes())?;
    dir.commit()
}

/// The start of a model card: YAML front matter a hub accepts, the folder's name as title, and what the
/// model is.
pub fn card_intro(out: &Path, exp: &Experiment, obs: &[usize]) -> String {
    let name = out
        .file_name()
        .map_or("model".into(), |n| n.to_string_lossy().to_string());
    format!(
        "---\nlibrary_name: laligan\nlicense: mit\ntags:\n- laligan\n- lie-group\n- symmetry-discovery\n\
         - equation-discovery\n- safetensors\n---\n\n# {name}\n\nA Latent LieGAN model: a {} autoencoder \
         from observations of shape {obs:?} to a {}-dimensional latent space, where a linear Lie group \
         acts.\n\n",
        format!("{:?}", exp.autoencoder.kind).to_lowercase(),
        exp.autoencoder.latent
    )
}

/// The end of a model card: how to use the folder `out`.
pub fn card_use(out: &Path) -> String {
    format!(
        "\n## Use\n\n```sh\nlaligan inspect {0}\nlaligan encode --model {0} --input X.npy --out Z.npy\n\
         laligan forecast --model {0} --out forecast\n```\n",
        out.display()
    )
}

/// Copies the files of `src` (recursively) into `dst`.
fn copy_dir(src: &Path, dst: &Path) -> Result<()> {
    crate::io::create_dir(dst)?;
    for entry in std::fs::read_dir(src).map_err(|e| Error::io(src, e))? {
        let entry = entry.map_err(|e| Error::io(src, e))?;
        let (from, to) = (entry.path(), dst.join(entry.file_name()));
        if from.is_dir() {
            copy_dir(&from, &to)?;
        } else {
            std::fs::copy(&from, &to).map_err(|e| Error::io(&from, e))?;
        }
    }
    Ok(())
}

/// The `README.md` card of an exported model: YAML front matter a hub accepts, the data, the training
/// command, time and machine, the metrics and the storage dtype.
fn model_card(m: &Opened, out: &Path, storage: Storage) -> Result<String> {
    let exp = &m.exp;
    let summary: Option<serde_json::Value> = m
        .folder
        .part("summary.json")
        .map(|p| {
            serde_json::from_str(&crate::io::read_text(&p)?)
                .map_err(|e| data_err!("{}: {e}", p.display()))
        })
        .transpose()?;
    let get = |k: &str| summary.as_ref().and_then(|s| s.get(k)).cloned();
    let mut s = card_intro(out, exp, &m.model.obs);
    let _ = writeln!(s, "- data: {}", exp.data.describe());
    // The first command recorded in the training log (later ones resumed it).
    let cmd = m
        .folder
        .part("train.log")
        .and_then(|p| std::fs::read_to_string(p).ok())
        .and_then(|t| {
            t.lines()
                .find_map(|l| l.strip_prefix("command: ").map(String::from))
        })
        .unwrap_or_else(|| "not recorded".into());
    let _ = writeln!(s, "- training command: `{cmd}`");
    if let Some(secs) = get("seconds") {
        let _ = writeln!(
            s,
            "- training time: {:.0} s on {}",
            secs.as_f64().unwrap_or(f64::NAN),
            get("machine")
                .and_then(|v| v.as_str().map(String::from))
                .unwrap_or_else(|| "an unrecorded machine".into())
        );
    }
    let _ = writeln!(s, "- weights stored as {}", storage.name());
    let _ = writeln!(s, "\n## Metrics\n");
    for key in [
        "recon_mse",
        "imag_ratio",
        "skew_ratio",
        "orbit_cv",
        "disc_acc",
        "epochs",
    ] {
        if let Some(v) = get(key) {
            let _ = writeln!(s, "- `{key}`: {v}");
        }
    }
    s.push_str(&card_use(out));
    Ok(s)
}
