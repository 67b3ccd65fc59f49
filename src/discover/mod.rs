//! Equation discovery as a stage: SINDy fitted on a dataset's trajectories (raw mode, here), on a
//! trained encoder's latents ([`latent`]) or jointly with an autoencoder ([`sindy_ae`]); each scores
//! its fits on the validation split and writes `equations.txt`, `equations.json` and
//! `discovery.safetensors`.

pub mod latent;
pub mod sindy_ae;

use crate::data::Dataset;
use crate::error::Result;
use crate::sindy::{Fitted, Library, SindyConfig, SindyModel};
use serde_json::{json, Value};
use std::path::Path;

/// States and derivatives of a split as f64 rows, first `n_traj` trajectories (0 = all), every
/// `stride`-th step.
pub fn rows(
    ds: &Dataset,
    split: &str,
    n_traj: usize,
    stride: usize,
) -> Result<(Vec<f64>, Vec<f64>, usize)> {
    let s = ds.split(split)?;
    if s.dx.is_empty() {
        return Err(data_err!(
            "{}: the {split} split has no derivative (static dataset)",
            ds.file().path().display()
        ));
    }
    let d = s.obs_len();
    let n = if n_traj == 0 {
        s.trajectories()
    } else {
        n_traj.min(s.trajectories())
    };
    let steps = s.steps();
    let mut x = Vec::new();
    let mut dx = Vec::new();
    for tr in 0..n {
        for k in (0..steps).step_by(stride.max(1)) {
            let at = (tr * steps + k) * d;
            x.extend(s.x[at..at + d].iter().map(|&v| v as f64));
            dx.extend(s.dx[at..at + d].iter().map(|&v| v as f64));
        }
    }
    Ok((x, dx, d))
}

/// [`rows`] of the whole validation split, or none when the dataset has no validation split.
pub fn val_rows(ds: &Dataset, stride: usize) -> Result<(Vec<f64>, Vec<f64>)> {
    if !ds.splits().contains(&"val") {
        return Ok((Vec::new(), Vec::new()));
    }
    let (x, dx, _) = rows(ds, "val", 0, stride)?;
    Ok((x, dx))
}

/// The JSON object of one fit (the `equations.json` contract).
pub fn fit_json(
    f: &Fitted,
    cfg: &SindyConfig,
    regressor: &str,
    generators: Option<&[Vec<Vec<f64>>]>,
) -> Value {
    json!({
        "state_names": f.model.state_names(),
        "terms": f.model.terms(),
        "coefficients": f.model.coefficients(),
        "equations": f.model.equations(),
        "library": cfg.library,
        "regressor": regressor,
        "settings": f.report.regressor,
        "threshold": cfg.threshold,
        "constraint": match generators { None => json!("none"), Some(g) => json!({"generators": g, "soft_weight": cfg.soft_weight}) },
        "free_coefficients": f.report.free_coefficients,
        "total_coefficients": f.report.total_coefficients,
        "nonzero": f.report.nonzero,
        "equivariance_violation": f.report.equivariance_violation,
        "iterations": f.report.iterations,
        "converged": f.report.converged,
        "notes": f.report.notes,
        "val_r2": f.val_r2,
        "val_rmse": f.val_rmse,
    })
}

/// Records the resolved experiment `config_text` in `out/config.toml`.
pub fn record_config(out: &Path, config_text: &str) -> Result<()> {
    crate::io::write_atomic(&out.join("config.toml"), config_text.as_bytes())
}

/// Creates `out` and runs [`discover`] on the given training and validation rows, logging what it
/// fits; `what` describes the data in the log.
pub fn run(
    cfg: &SindyConfig,
    seed: u64,
    lib: &Library,
    train: (&[f64], &[f64]),
    val: (&[f64], &[f64]),
    out: &Path,
    what: &str,
) -> Result<String> {
    crate::io::create_dir(out)?;
    let d = lib.n_states();
    tracing::info!(
        "{what}: fitting {} samples of {d} states with library `{}` ({} terms)",
        train.0.len() / d.max(1),
        cfg.library,
        lib.n_terms()
    );
    let t0 = std::time::Instant::now();
    let text = discover(cfg, lib, train, val, seed, out)?;
    tracing::info!(
        "fitted in {:.3}s; wrote equations.txt, equations.json, discovery.safetensors to {}",
        t0.elapsed().as_secs_f64(),
        out.display()
    );
    Ok(text)
}

/// The fits of a discovery folder (`equations.json`): the top-level one and, when present, the
/// unconstrained `plain` one, each with whether it is equivariant.
pub fn load(dir: &Path) -> Result<Vec<(SindyModel, bool)>> {
    let path = dir.join("equations.json");
    if !path.exists() {
        return Err(config_err!(
            "{}: no equations.json (make it with `laligan discover --model RUN --out {}`)",
            dir.display(),
            dir.display()
        ));
    }
    let doc: Value = serde_json::from_str(&crate::io::read_text(&path)?)
        .map_err(|e| data_err!("{}: {e}", path.display()))?;
    let one = |v: &Value| -> Result<(SindyModel, bool)> {
        let bad = |what: &str| data_err!("{}: {what}", path.display());
        let names: Vec<String> = serde_json::from_value(v["state_names"].clone())
            .map_err(|e| bad(&format!("state_names: {e}")))?;
        let coefficients: Vec<Vec<f64>> = serde_json::from_value(v["coefficients"].clone())
            .map_err(|e| bad(&format!("coefficients: {e}")))?;
        let spec = v["library"].as_str().ok_or_else(|| bad("no library"))?;
        let lib = Library::parse(spec, names.len())?.with_state_names(names)?;
        let model = SindyModel::new(lib, coefficients)?;
        Ok((model, v["constraint"] != "none"))
    };
    let mut fits = vec![one(&doc)?];
    if doc.get("plain").is_some() {
        fits.push(one(&doc["plain"])?);
    }
    Ok(fits)
}

/// Fits per the config (`constraint` none / equivariant / both) and writes the outputs into `out`.
/// Returns the text of `equations.txt`.
pub fn discover(
    cfg: &SindyConfig,
    lib: &Library,
    train: (&[f64], &[f64]),
    val: (&[f64], &[f64]),
    seed: u64,
    out: &Path,
) -> Result<String> {
    let gens = (!cfg.generators.is_empty()).then_some(cfg.generators.as_slice());
    let fits = cfg.constraint.fits(gens.is_some())?;
    let plain = fits
        .plain
        .then(|| cfg.fit(lib, train.0, train.1, None, Some(val), seed))
        .transpose()?;
    let equi = fits
        .equivariant
        .then(|| cfg.fit(lib, train.0, train.1, gens, Some(val), seed))
        .transpose()?;
    let equi = equi.as_ref().map(|e| (e, gens.unwrap_or_default()));
    write(cfg, cfg.regressor.name(), out, equi, plain.as_ref())
}

/// Writes `equations.txt`, `equations.json` and `discovery.safetensors` into `out` for an equivariant
/// fit (with its generators) and/or a plain one; with both, the equivariant one is the top level and
/// the plain one its `plain` object; `regressor` names the method that fitted them. Returns the text of
/// `equations.txt`.
pub fn write(
    cfg: &SindyConfig,
    regressor: &str,
    out: &Path,
    equi: Option<(&Fitted, &[Vec<Vec<f64>>])>,
    plain: Option<&Fitted>,
) -> Result<String> {
    let (top, top_gens) = match (equi, plain) {
        (Some((e, g)), _) => (e, Some(g)),
        (None, Some(p)) => (p, None),
        (None, None) => return Err(config_err!("no fit to write to {}", out.display())),
    };
    let mut doc = fit_json(top, cfg, regressor, top_gens);
    if let (Some(p), Some(_)) = (plain, equi) {
        doc["plain"] = fit_json(p, cfg, regressor, None);
    }
    let mut text = String::new();
    let block = |title: &str, f: &Fitted| {
        let mut s = format!(
            "{title} ({} of {} coefficients free, {} nonzero; validation R² {}, RMSE {})\n",
            f.report.free_coefficients,
            f.report.total_coefficients,
            f.report.nonzero,
            f.val_r2.map_or("n/a".into(), |v| format!("{v:.6}")),
            f.val_rmse.map_or("n/a".into(), |v| format!("{v:.3e}"))
        );
        for e in f.model.equations() {
            s.push_str(&format!("  {e}\n"));
        }
        s
    };
    if let Some((e, _)) = equi {
        text.push_str(&block("equivariant", e));
    }
    if let Some(p) = plain {
        text.push_str(&block("plain", p));
    }
    crate::io::write_atomic(&out.join("equations.txt"), text.as_bytes())?;
    let json = serde_json::to_string_pretty(&doc).map_err(|e| data_err!("equations.json: {e}"))?;
    crate::io::write_atomic(&out.join("equations.json"), json.as_bytes())?;
    // Ξ of each fit for forecasting.
    let mut specs = Vec::new();
    let mut tensors: Vec<(String, Vec<f32>)> = Vec::new();
    for (name, f) in [
        ("xi", Some(top)),
        ("xi_plain", plain.filter(|_| equi.is_some())),
    ] {
        if let Some(f) = f {
            let c = f.model.coefficients();
            specs.push(crate::data::file::TensorSpec::new(
                name,
                &[c.len(), c[0].len()],
            ));
            tensors.push((
                name.to_string(),
                c.iter().flatten().map(|&v| v as f32).collect(),
            ));
        }
    }
    let meta = std::collections::BTreeMap::from([
        ("format".to_string(), "laligan-discovery".to_string()),
        ("version".to_string(), "1".to_string()),
        ("equations".to_string(), json),
    ]);
    let mut w = crate::data::file::SafetensorsWriter::create(
        &out.join("discovery.safetensors"),
        true,
        &specs,
        &meta,
    )?;
    for (name, v) in &tensors {
        w.write(name, 0, v)?;
    }
    w.finish()?;
    Ok(text)
}
