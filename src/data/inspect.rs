//! `laligan data inspect`: a text summary of a dataset file and an overview PNG.

use crate::data::dataset::Dataset;
use crate::error::Result;
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
    let mut s = Stats { min: f32::INFINITY, max: f32::NEG_INFINITY, mean: 0.0, non_finite: 0 };
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
    let _ = writeln!(out, "  {:<10} {:<22} {:<6} {:>12} {:>12} {:>12}", "tensor", "shape", "dtype", "min", "max", "mean");
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

/// Writes the overview PNG: phase portraits for 2-D states, frames for images and fields, signals
/// for 1-D observations.
pub fn overview_png(ds: &Dataset, out: &Path) -> Result<()> {
    crate::io::check_destination(out, true)?;
    let split = ds.split("train")?;
    let obs = &split.shape[2..];
    let fig = crate::plot::overview(&split, obs, &format!("{}", ds.file().path().display()));
    fig.save(out).map_err(|e| data_err!("{e}"))
}
