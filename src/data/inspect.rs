//! `laligan data inspect`: a text summary of a dataset file and an overview PNG.

use crate::data::dataset::Dataset;
use crate::error::Result;
use crate::plot::{Colormap, Figure};
use std::fmt::Write;
use std::path::Path;

/// Value statistics of one tensor.
#[derive(Clone, Debug)]
pub struct Stats {
    pub min: f32,
    pub max: f32,
    pub mean: f64,
    pub non_finite: usize,
}

/// Statistics of a slice.
pub fn stats(v: &[f32]) -> Stats {
    let mut s = Stats {
        min: f32::INFINITY,
        max: f32::NEG_INFINITY,
        mean: 0.0,
        non_finite: 0,
    };
    let mut sum = 0.0f64;
    for &x in v {
        if x.is_finite() {
            s.min = s.min.min(x);
            s.max = s.max.max(x);
            sum += x as f64;
        } else {
            s.non_finite += 1;
        }
    }
    s.mean = sum / (v.len() - s.non_finite).max(1) as f64;
    s
}

/// The text summary: metadata, every tensor's shape, dtype and value range, and the recipe.
pub fn summary(ds: &Dataset) -> Result<String> {
    let f = ds.file();
    let mut out = String::new();
    let m = f.metadata();
    let _ = writeln!(out, "{}", f.path().display());
    for k in ["format", "version", "split", "dx", "observation_shape"] {
        if let Some(v) = m.get(k) {
            let _ = writeln!(out, "  {k:<18} {v}");
        }
    }
    let _ = writeln!(
        out,
        "  {:<10} {:<22} {:<6} {:>12} {:>12} {:>12}",
        "tensor", "shape", "dtype", "min", "max", "mean"
    );
    for split in ds.splits() {
        for part in ["x", "dx", "t"] {
            let name = format!("{split}.{part}");
            if !f.has(&name) {
                continue;
            }
            let s = stats(f.data(&name)?);
            let _ = write!(
                out,
                "  {:<10} {:<22} {:<6} {:>12.5} {:>12.5} {:>12.5}",
                name,
                format!("{:?}", f.shape(&name)?),
                "f32",
                s.min,
                s.max,
                s.mean
            );
            if s.non_finite > 0 {
                let _ = write!(out, "  ({} non-finite!)", s.non_finite);
            }
            out.push('\n');
        }
    }
    let _ = writeln!(out, "recipe:");
    for line in ds.recipe().lines() {
        let _ = writeln!(out, "  {line}");
    }
    Ok(out)
}

/// Writes the overview PNG of the training split: phase portraits for 2-D states, frames for images
/// and fields, the three views for rotating-object samples, signals for 1-D observations.
pub fn overview_png(ds: &Dataset, out: &Path) -> Result<()> {
    crate::io::check_destination(out, true)?;
    let s = ds.split("train")?;
    let obs = &s.shape[2..];
    let (n, steps, len) = (s.trajectories(), s.steps(), s.obs_len());
    let frame = |traj: usize, step: usize| {
        &s.x[(traj * steps + step) * len..(traj * steps + step + 1) * len]
    };
    let title = format!("{} (train split)", ds.file().path().display());
    let fig = match obs {
        [2] => {
            let mut fig = Figure::new(1, 2).title(&title);
            let shown = n.min(20);
            let ax = fig
                .axes(0, 0)
                .title("phase portrait")
                .xlabel("x0")
                .ylabel("x1");
            for traj in 0..shown {
                let (xs, ys): (Vec<f32>, Vec<f32>) = (0..steps)
                    .map(|k| (frame(traj, k)[0], frame(traj, k)[1]))
                    .unzip();
                ax.line(&xs, &ys, None);
            }
            let ax = fig
                .axes(0, 1)
                .title("first trajectories")
                .xlabel("t")
                .ylabel("x0");
            for traj in 0..n.min(5) {
                let ts = if s.t.is_empty() {
                    (0..steps).map(|k| k as f32).collect()
                } else {
                    s.t[traj * steps..(traj + 1) * steps].to_vec()
                };
                let xs: Vec<f32> = (0..steps).map(|k| frame(traj, k)[0]).collect();
                ax.line(&ts, &xs, Some(&format!("trajectory {traj}")));
            }
            fig
        }
        [h, w] | [1, h, w] if *h > 1 => {
            // Eight frames: along time for one trajectory, else the first step of eight trajectories.
            let picks: Vec<(usize, usize)> = if n == 1 || steps >= 8 {
                (0..8).map(|i| (0, i * (steps - 1) / 7)).collect()
            } else {
                (0..8.min(n)).map(|i| (i, 0)).collect()
            };
            let (lo, hi) = picks
                .iter()
                .flat_map(|&(a, b)| frame(a, b).iter())
                .fold((f32::INFINITY, f32::NEG_INFINITY), |(l, h), &v| {
                    (l.min(v), h.max(v))
                });
            let mut fig = Figure::new(2, 4).title(&title).panel_size(300, 300);
            for (i, &(traj, step)) in picks.iter().enumerate() {
                let caption = match s.t.get(traj * steps + step) {
                    Some(t) => format!("traj {traj}, t = {t:.3}"),
                    None => format!("sample {traj}"),
                };
                let cmap = if lo < 0.0 {
                    Colormap::Diverging
                } else {
                    Colormap::Gray
                };
                fig.image(i / 4, i % 4, frame(traj, step), *h, *w, &caption, cmap)
                    .range(lo as f64, hi as f64);
            }
            fig
        }
        [c, h, w] => {
            let rows = n.min(4);
            let mut fig = Figure::new(rows, *c).title(&title).panel_size(240, 240);
            for traj in 0..rows {
                let x = frame(traj, 0);
                for ch in 0..*c {
                    let px = &x[ch * h * w..(ch + 1) * h * w];
                    fig.image(
                        traj,
                        ch,
                        px,
                        *h,
                        *w,
                        &format!("sample {traj}, channel {ch}"),
                        Colormap::Gray,
                    );
                }
            }
            fig
        }
        _ => {
            let mut fig = Figure::new(1, 1).title(&title).panel_size(700, 400);
            let ax = fig
                .axes(0, 0)
                .title("first samples")
                .xlabel("component")
                .ylabel("value");
            for traj in 0..n.min(4) {
                ax.line_y(frame(traj, 0), Some(&format!("sample {traj}")));
            }
            fig
        }
    };
    fig.save(out)
}
