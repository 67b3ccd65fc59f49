//! What `laligan forecast` writes: `forecast.json` (scores per method), `forecast.csv` (true and
//! predicted trajectories, long format) and PNGs (error curves, phase portraits, frame grids).

use super::Results;
use crate::error::Result;
use crate::plot::{Colormap, Figure, PALETTE};
use serde_json::{json, Value};
use std::fmt::Write as _;
use std::path::Path;

/// Observations of at most this many values get their components in `forecast.csv`.
const CSV_COMPONENTS: usize = 16;

/// The `forecast.json` document.
pub fn to_json(r: &Results, threshold: f64) -> Value {
    let mut methods = serde_json::Map::new();
    for (name, _, s) in &r.methods {
        methods.insert(
            name.clone(),
            json!({
                "curve": s.curve,
                "q10": s.q10,
                "median": s.median,
                "q90": s.q90,
                "horizon_mean": s.horizon_mean,
                "horizon_median": s.horizon_median,
                "valid_time": s.valid_time,
                "valid_steps": s.valid_steps,
                "invariant_drift": s.invariant_drift,
                "diverged": s.diverged.iter().map(|(i, t)| json!({"trajectory": i, "time": t})).collect::<Vec<_>>(),
            }),
        );
    }
    json!({
        "horizon": r.horizon,
        "dt": r.dt,
        "trajectories": r.truth.len(),
        "valid_threshold": threshold,
        "methods": methods,
        "skipped": r.skipped.iter().map(|(n, why)| (n.clone(), json!(why))).collect::<serde_json::Map<_, _>>(),
        "best": r.best().map(|b| b.0.clone()),
        "best_latent": r.best_latent().map(|b| b.0.clone()),
        "notes": r.notes,
    })
}

/// `forecast.csv`: one row per method, trajectory and step, with the relative error and, for small
/// observations, every true and predicted component (empty where the truth ends).
pub fn to_csv(r: &Results) -> String {
    let obs_len: usize = r.obs.iter().product();
    let comps = if obs_len <= CSV_COMPONENTS {
        obs_len
    } else {
        0
    };
    let mut s = String::from("method,trajectory,step,t,rel_error");
    for i in 0..comps {
        let _ = write!(s, ",true_{i}");
    }
    for i in 0..comps {
        let _ = write!(s, ",pred_{i}");
    }
    s.push('\n');
    for (name, rollouts, _) in &r.methods {
        for (tr, (ro, truth)) in rollouts.iter().zip(&r.truth).enumerate() {
            for (n, p) in ro.x.chunks(obs_len).enumerate() {
                let t = truth.get(n * obs_len..(n + 1) * obs_len);
                let err = t.map_or(String::new(), |t| {
                    format!("{:.6e}", super::metrics::relative_l2(p, t))
                });
                let _ = write!(s, "{name},{tr},{n},{},{err}", n as f64 * r.dt);
                for i in 0..comps {
                    let _ = write!(s, ",{}", t.map_or(String::new(), |t| t[i].to_string()));
                }
                for v in &p[..comps] {
                    let _ = write!(s, ",{v}");
                }
                s.push('\n');
            }
        }
    }
    s
}

/// Writes forecast.json, forecast.csv and the plots into `out`; returns the PNG file names written.
pub fn write(r: &Results, threshold: f64, out: &Path) -> Result<Vec<String>> {
    crate::io::create_dir(out)?;
    let doc = serde_json::to_string_pretty(&to_json(r, threshold))
        .map_err(|e| data_err!("forecast.json: {e}"))?;
    crate::io::write_atomic(&out.join("forecast.json"), doc.as_bytes())?;
    crate::io::write_atomic(&out.join("forecast.csv"), to_csv(r).as_bytes())?;
    let mut pngs = vec![errors_png(r, threshold, out)?];
    if r.obs.iter().product::<usize>() == 2 {
        pngs.push(phase_png(r, out)?);
    }
    if r.obs.len() == 2 || (r.obs.len() == 3 && r.obs[0] == 3) {
        pngs.push(frames_png(r, out)?);
    }
    Ok(pngs)
}

/// Mean relative error per method against time (log scale), `reconstruction` dashed.
fn errors_png(r: &Results, threshold: f64, out: &Path) -> Result<String> {
    let mut fig = Figure::new(1, 1).panel_size(820, 480);
    let ax = fig
        .axes(0, 0)
        .title("forecast error on the test trajectories (mean over trajectories)")
        .xlabel("time")
        .ylabel("relative L2 error")
        .log_y(true)
        .legend(true);
    for (i, (name, _, s)) in r.methods.iter().enumerate() {
        let ts: Vec<f64> = (1..s.curve.len()).map(|n| n as f64 * r.dt).collect();
        // errors beyond 1e3 (a blown-up forecast) are drawn at 1e3 to keep the others readable
        let ys: Vec<f64> = s.curve[1..].iter().map(|v| v.clamp(1e-8, 1e3)).collect();
        let line = ax
            .line(&ts, &ys, Some(name))
            .color(PALETTE[i % PALETTE.len()]);
        if name == "reconstruction" {
            line.dashed();
        }
    }
    if let Some(s) = r.methods.first().map(|m| &m.2) {
        let end = (s.curve.len().max(2) - 1) as f64 * r.dt;
        ax.line(
            &[r.dt, end],
            &[threshold, threshold],
            Some("valid threshold"),
        )
        .color([150, 150, 150])
        .dashed();
    }
    let name = "errors.png";
    fig.save(&out.join(name))?;
    Ok(name.into())
}

/// True (solid) vs predicted (dashed) phase portraits of a few test trajectories, one panel per method.
fn phase_png(r: &Results, out: &Path) -> Result<String> {
    let shown: Vec<_> = r
        .methods
        .iter()
        .filter(|m| m.0 != "reconstruction")
        .collect();
    // axes fit the true trajectories (with a margin), so a diverging forecast leaves the frame
    let (mut lo, mut hi) = ([f64::INFINITY; 2], [f64::NEG_INFINITY; 2]);
    for t in r.truth.iter().take(5) {
        for p in t.chunks(2) {
            for i in 0..2 {
                lo[i] = lo[i].min(p[i] as f64);
                hi[i] = hi[i].max(p[i] as f64);
            }
        }
    }
    for i in 0..2 {
        let m = 0.25 * (hi[i] - lo[i]).max(1e-6);
        (lo[i], hi[i]) = (lo[i] - m, hi[i] + m);
    }
    let cols = shown.len().clamp(1, 3);
    let mut fig = Figure::new(shown.len().div_ceil(cols).max(1), cols)
        .title("test trajectories: truth (solid) and forecast (dashed)")
        .panel_size(400, 380);
    for (i, (name, rollouts, _)) in shown.iter().enumerate() {
        let ax = fig
            .axes(i / cols, i % cols)
            .title(name)
            .xlabel("x0")
            .ylabel("x1")
            .xlim(lo[0], hi[0])
            .ylim(lo[1], hi[1]);
        for (t, (ro, truth)) in rollouts.iter().zip(&r.truth).enumerate().take(5) {
            let color = PALETTE[t % PALETTE.len()];
            let xy = |v: &[f32]| -> (Vec<f64>, Vec<f64>) {
                v.chunks(2).map(|p| (p[0] as f64, p[1] as f64)).unzip()
            };
            let (tx, ty) = xy(truth);
            ax.line(&tx, &ty, None).color(color);
            let (px, py) = xy(&ro.x);
            ax.line(&px, &py, None).color(color).dashed();
        }
    }
    let name = "phase.png";
    fig.save(&out.join(name))?;
    Ok(name.into())
}

/// First test trajectory: true and predicted frames at five times, one row per method.
fn frames_png(r: &Results, out: &Path) -> Result<String> {
    let obs_len: usize = r.obs.iter().product();
    let (h, w) = (r.obs[r.obs.len() - 2], r.obs[r.obs.len() - 1]);
    let rgb = r.obs.len() == 3;
    let truth = &r.truth[0];
    let steps = truth.len() / obs_len;
    let times: Vec<usize> = (0..5).map(|i| i * (steps - 1) / 4).collect();
    let mut fig = Figure::new(r.methods.len() + 1, times.len())
        .title("first test trajectory: truth (top row) and each method's forecast")
        .panel_size(200, 200);
    let frames = std::iter::once(("truth", truth))
        .chain(r.methods.iter().map(|m| (m.0.as_str(), &m.1[0].x)));
    for (row, (name, x)) in frames.enumerate() {
        for (col, &n) in times.iter().enumerate() {
            let caption = format!("{name} t={:.2}", n as f64 * r.dt);
            let Some(px) = x.get(n * obs_len..(n + 1) * obs_len) else {
                continue;
            };
            if rgb {
                fig.image_rgb_planar(row, col, px, h, w, &caption);
            } else {
                fig.image(row, col, px, h, w, &caption, Colormap::Viridis);
            }
        }
    }
    let name = "frames.png";
    fig.save(&out.join(name))?;
    Ok(name.into())
}
