//! Runs built from folders: `laligan forecast` (a trained model and/or a discovery on a dataset) and
//! `laligan run`, the whole job (data → train → symmetry → equations → forecast → `report.md`).

use crate::discover::{self, latent, sindy_ae};
use crate::error::Result;
use crate::experiment::Experiment;
use crate::forecast::{self, Inputs, Results};
use crate::train::folder::ModelFolder;
use crate::train::run::{self as train_run, Outcome, Start};
use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use std::sync::atomic::AtomicBool;
use std::time::Instant;

/// The built-in quickstart experiment (`models/quickstart/config.toml`).
pub const QUICKSTART: &str = include_str!("../models/quickstart/config.toml");

/// What `laligan forecast` works from.
pub struct ForecastRequest<'a> {
    /// Trained model: a folder, a `.safetensors` file or `hf:owner/name[@rev]` (its config supplies the
    /// data and the `[forecast]` settings).
    pub model: Option<&'a str>,
    /// Discovery folder; default the model's `equations/` when it has one.
    pub discovery: Option<&'a Path>,
    /// SINDy-autoencoder folder (`laligan sindy-ae --out`); default the model's `sindy-ae/` when it has
    /// one.
    pub sindy_ae: Option<&'a Path>,
    /// Dataset file; default the config's dataset.
    pub data: Option<&'a Path>,
    /// Config overrides (`forecast.horizon=…`).
    pub overrides: &'a [String],
    pub out: &'a Path,
}

/// A finished forecast: the results, the resolved experiment and the PNGs written.
pub struct Forecasted {
    pub results: Results,
    pub exp: Experiment,
    pub pngs: Vec<String>,
}

/// Loads the pieces named in `req`, forecasts with every available method, writes the outputs.
pub fn forecast(req: &ForecastRequest) -> Result<Forecasted> {
    crate::io::refuse_file(req.out)?;
    let opened = req
        .model
        .map(|m| crate::models::open(m, req.overrides))
        .transpose()?;
    let folder = opened.as_ref().map(|(f, _)| f);
    let discovery: Option<PathBuf> = match (req.discovery, folder) {
        (Some(d), _) => Some(d.to_path_buf()),
        (None, Some(f)) => f
            .part("equations")
            .filter(|d| d.join("equations.json").exists()),
        _ => None,
    };
    let exp = match (&opened, &discovery) {
        (Some((_, exp)), _) => exp.clone(),
        (None, Some(d)) if d.join("config.toml").exists() => {
            Experiment::load(&d.join("config.toml"), req.overrides)?
        }
        _ => Experiment::parse("seed = 0", "default config", req.overrides)?,
    };
    let ds = exp.data.open_or(req.data)?;
    let model = folder
        .map(|f| crate::models::load(f, &exp, &ds))
        .transpose()?;
    let fits = discovery.as_deref().map(discover::load).transpose()?;
    let (mut latent_fits, mut raw) = (Vec::new(), None);
    match (folder, fits) {
        (Some(_), Some(fits)) => {
            for (m, equivariant) in fits {
                let name = if equivariant {
                    "laligan-sindy"
                } else {
                    "laligan-sindy-plain"
                };
                latent_fits.push((name.to_string(), m));
            }
        }
        (None, Some(mut fits)) => raw = Some(fits.swap_remove(0).0),
        (Some(f), None) => {
            let m = &f.spec;
            tracing::warn!(
                "no equations for {m}: the latent SINDy methods are skipped (make them with `laligan discover --model {m} --out DIR`, then pass --discovery DIR)"
            )
        }
        (None, None) => {}
    }
    let generators = match &model {
        Some(m) => latent::generators(m)?,
        None => Vec::new(),
    };
    let sae_dir = match (req.sindy_ae, folder) {
        (Some(d), _) => Some(d.to_path_buf()),
        (None, Some(f)) => f
            .part("sindy-ae")
            .filter(|d| d.join(crate::train::model::MODEL_FILE).exists()),
        _ => None,
    };
    let sae_model = sae_dir
        .as_deref()
        .map(|d| -> Result<_> {
            let on_device = [exp.device.as_override()];
            let (sae_folder, sae_exp) = crate::models::open(&d.display().to_string(), &on_device)?;
            let m = crate::models::load(&sae_folder, &sae_exp, &ds)?;
            let mut fits = discover::load(&d.join("equations"))?;
            Ok((m, fits.swap_remove(0).0))
        })
        .transpose()?;
    let inputs = Inputs {
        dataset: &ds,
        n_train: exp.data.n_train,
        model: model.as_ref(),
        latent: latent_fits,
        sindy_ae: sae_model.as_ref().map(|(m, eq)| (m, eq)),
        raw,
        generators,
        seed: exp.seed,
    };
    let results = crate::threads::run(|| forecast::forecast(&inputs, &exp.forecast))?;
    let pngs = forecast::output::write(&results, exp.forecast.valid_threshold, req.out)?;
    discover::record_config(req.out, &exp.to_toml()?)?;
    Ok(Forecasted { results, exp, pngs })
}

/// `laligan train`: trains `exp` into `out` (or continues the run there). A dataset file is pinned by
/// its sha256 in the run's config; a resume refuses a file that changed since.
pub fn train(exp: &Experiment, out: &Path, start: Start, stop: &AtomicBool) -> Result<Outcome> {
    train_from(exp, out, start, None, stop)
}

/// [`train`] of a new run that starts from the weights of the model `init` (a folder, `.safetensors`
/// file or `hf:` spec, e.g. a converted reference checkpoint) when given: fine-tuning.
pub fn train_from(
    exp: &Experiment,
    out: &Path,
    start: Start,
    init: Option<&str>,
    stop: &AtomicBool,
) -> Result<Outcome> {
    let init = init
        .map(|spec| -> Result<train_run::Init> {
            let folder = crate::train::folder::ModelFolder::resolve(spec)?;
            Ok(train_run::Init {
                checkpoint: folder.checkpoint()?,
                spec: folder.spec,
            })
        })
        .transpose()?;
    crate::io::refuse_file(out)?;
    let mut exp = exp.clone();
    if start == Start::Resume {
        let saved = out.join("config.toml");
        if saved.exists() {
            let was = Experiment::load(&saved, &[])?.data;
            if was.file == exp.data.file && exp.data.sha256.is_empty() {
                exp.data.sha256 = was.sha256;
            }
        }
    }
    exp.data.pin()?;
    train_run::train(
        &exp.setup(),
        &exp.to_toml()?,
        out,
        start,
        init.as_ref(),
        stop,
    )
}

/// `laligan discover --model`: latent discovery for the model `spec` (its config with `overrides`)
/// into `out`, which records the config with the generators used. Returns the text of
/// `equations.txt`.
pub fn discover_model(spec: &str, out: &Path, overrides: &[String]) -> Result<String> {
    crate::io::refuse_file(out)?;
    let (folder, mut exp) = crate::models::open(spec, overrides)?;
    let ds = exp.data.open()?;
    let model = crate::models::load(&folder, &exp, &ds)?;
    let mut sindy = exp.sindy.clone();
    let text = latent::discover(&exp.setup(), &mut sindy, &model, &ds, out, &folder.spec)?;
    exp.sindy = sindy;
    discover::record_config(out, &exp.to_toml()?)?;
    Ok(text)
}

/// `laligan sindy-ae`: a SINDy autoencoder for `exp` into `out`, from the model `from` (a spec) or
/// from scratch. Returns the text of `equations.txt`.
pub fn sindy_ae(exp: &Experiment, from: Option<&str>, out: &Path, replace: bool) -> Result<String> {
    crate::io::refuse_file(out)?;
    let from = from.map(ModelFolder::resolve).transpose()?;
    let ds = exp.data.open()?;
    let model = from
        .as_ref()
        .map(|f| crate::models::load(f, exp, &ds))
        .transpose()?;
    let start = sindy_ae::Start {
        setup: &exp.setup(),
        from: from.as_ref().zip(model),
        config_text: &exp.to_toml()?,
    };
    sindy_ae::run(start, &ds, &exp.sindy, &exp.sindy_ae, out, replace)
}

/// A number for a table: fixed point when moderate, scientific otherwise.
fn num(v: f64) -> String {
    if v != 0.0 && !(1e-3..1e4).contains(&v.abs()) {
        format!("{v:.3e}")
    } else {
        format!("{v:.4}")
    }
}

/// The forecast scores as a Markdown table.
pub fn score_table(r: &Results) -> String {
    let mut s = String::from(
        "| method | horizon-mean relative error | median over trajectories | valid time | invariant drift | diverged |\n|---|---|---|---|---|---|\n",
    );
    for (name, _, sc) in &r.methods {
        let _ = writeln!(
            s,
            "| `{name}` | {} | {} | {} | {} | {} |",
            num(sc.horizon_mean),
            num(sc.horizon_median),
            sc.valid_time.map_or("> horizon".into(), |t| format!(
                "{t:.2} ({} steps)",
                sc.valid_steps.unwrap_or(0)
            )),
            sc.invariant_drift.map_or("–".into(), num),
            sc.diverged.len()
        );
    }
    s
}

/// Seconds of each stage of `laligan run`.
#[derive(Default)]
struct Timing {
    stages: Vec<(&'static str, f64)>,
}

/// The whole job for `exp` (from `source`, shown in the report) into `out`; returns the report's path.
pub fn run(exp: &Experiment, source: &str, out: &Path, stop: &AtomicBool) -> Result<PathBuf> {
    let mut timing = Timing::default();
    let t0 = Instant::now();
    crate::io::create_dir(out)?;
    tracing::info!("1/5 data: {}", exp.data.describe());
    exp.data.open()?;
    timing.stages.push(("data", t0.elapsed().as_secs_f64()));

    let t = Instant::now();
    let train_dir = out.join("train");
    tracing::info!("2/5 training LaLiGAN into {}", train_dir.display());
    let summary = match crate::threads::run(|| train(exp, &train_dir, Start::Replace, stop))? {
        Outcome::Finished(s) => s,
        Outcome::Interrupted { epoch, batch } => {
            return Err(config_err!(
                "interrupted during training (epoch {}, batch {batch}); the checkpoint is in {}",
                epoch + 1,
                train_dir.display()
            ))
        }
    };
    timing.stages.push(("train", t.elapsed().as_secs_f64()));

    let t = Instant::now();
    let eq_dir = out.join("equations");
    tracing::info!("3/5 discovering latent equations into {}", eq_dir.display());
    // The trained model is reopened on the run's device.
    let on_device = [exp.device.as_override()];
    let equations = discover_model(&train_dir.display().to_string(), &eq_dir, &on_device)?;
    timing.stages.push(("discover", t.elapsed().as_secs_f64()));

    let t = Instant::now();
    let sae_dir = out.join("sindy-ae");
    let kind = exp.autoencoder.kind;
    let sindy_ae = if exp.sindy_ae.epochs > 0 && kind.has_decoder_jvp() {
        tracing::info!(
            "4/5 training the SINDy-autoencoder baseline (from scratch) into {}",
            sae_dir.display()
        );
        let text = sindy_ae(exp, None, &sae_dir, true)?;
        timing.stages.push(("sindy-ae", t.elapsed().as_secs_f64()));
        Some(text)
    } else {
        tracing::info!(
            "4/5 no SINDy-autoencoder baseline ({})",
            if kind.has_decoder_jvp() {
                "sindy_ae.epochs = 0".to_string()
            } else {
                format!("the {kind:?} autoencoder has no trainable decoder Jacobian")
            }
        );
        None
    };

    let t = Instant::now();
    let fc_dir = out.join("forecast");
    let train_spec = train_dir.display().to_string();
    tracing::info!("5/5 forecasting into {}", fc_dir.display());
    let fc = forecast(&ForecastRequest {
        model: Some(&train_spec),
        discovery: Some(&eq_dir),
        sindy_ae: sindy_ae.as_ref().map(|_| sae_dir.as_path()),
        data: None,
        overrides: &on_device,
        out: &fc_dir,
    })?;
    timing.stages.push(("forecast", t.elapsed().as_secs_f64()));
    timing.stages.push(("total", t0.elapsed().as_secs_f64()));

    let report = report(
        &train_dir,
        exp,
        source,
        &summary,
        (&equations, sindy_ae.as_deref()),
        &fc,
        &timing,
    );
    let path = out.join("report.md");
    crate::io::write_atomic(&path, report.as_bytes())?;
    Ok(path)
}

/// The text of `report.md`.
fn report(
    train_dir: &Path,
    exp: &Experiment,
    source: &str,
    s: &crate::train::report::Summary,
    (equations, sindy_ae): (&str, Option<&str>),
    fc: &Forecasted,
    timing: &Timing,
) -> String {
    let r = &fc.results;
    let mut md = format!(
        "# LaLiGAN report\n\nExperiment `{source}` (seed {}), data `{}`.\n\n",
        exp.seed,
        exp.data.describe()
    );
    match (
        r.best(),
        r.best_latent(),
        r.methods.iter().find(|m| m.0 == "persistence"),
    ) {
        (Some(best), latent, persistence) => {
            let _ = write!(
                md,
                "**Best forecast: `{}`** (horizon-mean relative error {:.4} over {} steps).",
                best.0, best.2.horizon_mean, r.horizon
            );
            if let (Some(l), Some(p)) = (latent, persistence) {
                let beats = l.2.horizon_mean < p.2.horizon_mean;
                let _ = write!(
                    md,
                    " The best latent method, `{}`, {} persistence ({:.4} vs {:.4}).",
                    l.0,
                    if beats { "beats" } else { "does not beat" },
                    l.2.horizon_mean,
                    p.2.horizon_mean
                );
            }
            md.push_str("\n\n");
        }
        _ => md.push_str("No forecasting method ran.\n\n"),
    }
    let fmt_list = |v: &[f64]| {
        v.iter()
            .map(|x| format!("{x:.4}"))
            .collect::<Vec<_>>()
            .join(", ")
    };
    let _ = write!(
        md,
        "## Symmetry (training: {} epochs, {:.0} s)\n\n| imag_ratio | skew_ratio | orbit_cv | val recon MSE | disc acc |\n|---|---|---|---|---|\n| {} | {} | {} | {:.3e} | {:.3} |\n\n",
        s.epochs,
        s.seconds,
        fmt_list(&s.imag_ratio),
        fmt_list(&s.skew_ratio),
        s.orbit_cv
            .iter()
            .map(|v| v.map_or("–".into(), |x| format!("{x:.4}")))
            .collect::<Vec<_>>()
            .join(", "),
        s.recon_mse,
        s.disc_acc
    );
    let _ = writeln!(
        md,
        "imag_ratio = 1 means the learned generator is conjugate to a rotation. Learned generators: `{:?}`\n",
        s.generators
    );
    for (png, caption) in [
        ("losses.png", "training losses and scores"),
        ("generators.png", "learned generators"),
        ("latent.png", "validation latents and the group's orbits"),
    ] {
        if train_dir.join(png).exists() {
            let _ = writeln!(md, "![{caption}](train/{png})\n");
        }
    }
    let _ = write!(
        md,
        "## Latent equations (`{}`, threshold {})\n\n```text\n{equations}```\n\n",
        exp.sindy.library, exp.sindy.threshold
    );
    if let Some(text) = sindy_ae {
        let c = &exp.sindy_ae;
        let _ = write!(
            md,
            "## SINDy-autoencoder baseline (from scratch, no symmetry; {} epochs, threshold {})\n\nThe autoencoder and Ξ trained jointly on reconstruction, ż and ẋ consistency (weights {}, {}, {}) and L1 {}; in `sindy-ae/`.\n\n```text\n{text}```\n\n",
            c.epochs, c.threshold, c.w_recon, c.w_dz, c.w_dx, c.l1
        );
    }
    let _ = write!(
        md,
        "## Forecast ({} test trajectories, {} steps of dt = {})\n\nRelative L2 error ‖x̂ − x‖/‖x‖ per step, averaged over trajectories and then over the horizon; valid time = first time the mean error exceeds {}. `reconstruction` is ψ(φ(x)) of the true states: the floor of every latent method, not a forecast.\n\n{}\n",
        r.truth.len(),
        r.horizon,
        r.dt,
        exp.forecast.valid_threshold,
        score_table(r)
    );
    for png in &fc.pngs {
        let _ = writeln!(md, "![{png}](forecast/{png})\n");
    }
    if !r.skipped.is_empty() {
        md.push_str("Not run:\n\n");
        for (n, why) in &r.skipped {
            let _ = writeln!(md, "- `{n}`: {why}");
        }
        md.push('\n');
    }
    if !r.notes.is_empty() {
        md.push_str("Fits:\n\n");
        for n in &r.notes {
            let _ = writeln!(md, "- {n}");
        }
        md.push('\n');
    }
    md.push_str("## Timing\n\n| stage | seconds |\n|---|---|\n");
    for (stage, secs) in &timing.stages {
        let _ = writeln!(md, "| {stage} | {secs:.1} |");
    }
    md
}

/// A few lines for the terminal from a finished run folder: the symmetry and the forecast verdict.
pub fn terminal_summary(out: &Path) -> Result<String> {
    let read = |p: PathBuf| -> Result<serde_json::Value> {
        serde_json::from_str(&crate::io::read_text(&p)?)
            .map_err(|e| data_err!("{}: {e}", p.display()))
    };
    let s = read(out.join("train").join("summary.json"))?;
    let f = read(out.join("forecast").join("forecast.json"))?;
    let mut t = format!(
        "symmetry: imag_ratio {} orbit_cv {} (generators {})\n",
        s["imag_ratio"], s["orbit_cv"], s["generators"]
    );
    if let Some(m) = f["methods"].as_object() {
        for (name, v) in m {
            let _ = writeln!(
                t,
                "forecast {name:<20} horizon-mean {:>10}  valid time {}",
                num(v["horizon_mean"].as_f64().unwrap_or(f64::NAN)),
                v["valid_time"]
                    .as_f64()
                    .map_or("beyond the horizon".into(), num)
            );
        }
    }
    let _ = write!(
        t,
        "best forecast: {}; best latent: {}",
        f["best"], f["best_latent"]
    );
    Ok(t)
}
