//! What a run leaves behind besides its checkpoints: `metrics.csv` (one row per epoch), `train.log`,
//! `summary.json`, and PNGs of the loss curves, the learned generators and the latent orbits.

use super::eval::{block_generators, Scores};
use super::model::LaLiGan;
use super::step::{Terms, N_TERMS};
use super::Setup;
use crate::error::{Error, Result};
use crate::metrics;
use crate::plot::{Colormap, Figure, PALETTE};
use serde::Serialize;
use std::io::Write;
use std::path::Path;

/// One epoch's row of `metrics.csv`.
#[derive(Clone, Debug, PartialEq)]
pub struct Row {
    pub epoch: usize,
    /// Mean training loss terms over the epoch's batches (recon, gan, reg, chreg, disc, orbit).
    pub terms: [f64; N_TERMS],
    pub val_recon_mse: f64,
    pub disc_acc: f64,
    /// Worst over channels / blocks: min imag_ratio, min skew_ratio, max orbit_cv.
    pub imag_ratio: f64,
    pub skew_ratio: f64,
    pub orbit_cv: f64,
    /// Seconds since the start of the run (training and evaluation).
    pub seconds: f64,
}

const HEADER: &str = "epoch,recon,gan,reg,chreg,disc,orbit,val_recon_mse,disc_acc,imag_ratio,\
                      skew_ratio,orbit_cv,seconds";

/// Columns of a row; runs written before the orbit term have one fewer (no `orbit`).
const COLUMNS: usize = 13;

fn worst(v: impl Iterator<Item = f64>, max: bool) -> f64 {
    v.fold(f64::NAN, |a, b| {
        if a.is_nan() {
            b
        } else if max {
            a.max(b)
        } else {
            a.min(b)
        }
    })
}

impl Row {
    /// The row of epoch `epoch` from the loss sums over `batches` batches and the evaluation.
    pub fn new(
        epoch: usize,
        sums: &[f64; N_TERMS],
        batches: usize,
        s: &Scores,
        seconds: f64,
    ) -> Self {
        let n = batches.max(1) as f64;
        Self {
            epoch,
            terms: sums.map(|v| v / n),
            val_recon_mse: s.recon_mse,
            disc_acc: s.disc_acc,
            imag_ratio: worst(s.imag_ratio.iter().copied(), false),
            skew_ratio: worst(s.skew_ratio.iter().copied(), false),
            orbit_cv: worst(s.orbit_cv.iter().flatten().copied(), true),
            seconds,
        }
    }

    /// A line for the log.
    pub fn describe(&self) -> String {
        let t = &self.terms;
        format!(
            "epoch {}: recon {:.4e} gan {:.4} reg {:.4} chreg {:.4} disc {:.4}{} | val recon {:.4e} \
             disc_acc {:.3}{} | {:.1}s",
            self.epoch,
            t[0],
            t[1],
            t[2],
            t[3],
            t[4],
            // The orbit term only where it is on.
            if t[5] != 0.0 {
                format!(" orbit {:.4e}", t[5])
            } else {
                String::new()
            },
            self.val_recon_mse,
            self.disc_acc,
            // Scores that do not apply (fixed generators, static samples) are left out.
            [
                ("imag_ratio", self.imag_ratio),
                ("skew_ratio", self.skew_ratio),
                ("orbit_cv", self.orbit_cv)
            ]
            .iter()
            .filter(|(_, v)| v.is_finite())
            .map(|(n, v)| format!(" {n} {v:.4}"))
            .collect::<String>(),
            self.seconds
        )
    }

    fn csv(&self) -> String {
        let mut v = vec![self.epoch.to_string()];
        v.extend(self.terms.iter().map(|x| format!("{x:e}")));
        v.extend(
            [
                self.val_recon_mse,
                self.disc_acc,
                self.imag_ratio,
                self.skew_ratio,
                self.orbit_cv,
                self.seconds,
            ]
            .iter()
            .map(|x| format!("{x:e}")),
        );
        v.join(",")
    }
}

/// Writes every row to `path` (atomically).
pub fn write_metrics(path: &Path, rows: &[Row]) -> Result<()> {
    let mut text = format!("{HEADER}\n");
    for r in rows {
        text.push_str(&r.csv());
        text.push('\n');
    }
    crate::io::write_atomic(path, text.as_bytes())
}

/// Reads the rows of the first `epochs` epochs back from `path` (resume).
pub fn read_metrics(path: &Path, epochs: usize) -> Result<Vec<Row>> {
    if epochs == 0 {
        return Ok(Vec::new());
    }
    let text = crate::io::read_text(path)?;
    let bad = |line: usize| data_err!("{}: line {line} is not a metrics row", path.display());
    let mut rows = Vec::new();
    for (i, line) in text.lines().enumerate().skip(1).take(epochs) {
        let mut v: Vec<f64> = line
            .split(',')
            .map(|x| x.parse::<f64>())
            .collect::<std::result::Result<_, _>>()
            .map_err(|_| bad(i + 1))?;
        if v.len() == COLUMNS - 1 {
            v.insert(6, 0.0); // no orbit term then
        }
        if v.len() != COLUMNS {
            return Err(bad(i + 1));
        }
        let v = &v[..];
        rows.push(Row {
            epoch: v[0] as usize,
            terms: v[1..7].try_into().expect("six terms"),
            val_recon_mse: v[7],
            disc_acc: v[8],
            imag_ratio: v[9],
            skew_ratio: v[10],
            orbit_cv: v[11],
            seconds: v[12],
        });
    }
    if rows.len() != epochs {
        return Err(data_err!(
            "{}: has {} epoch rows, the checkpoint is at epoch {epochs}",
            path.display(),
            rows.len()
        ));
    }
    Ok(rows)
}

/// `train.log`: every line also goes to the tracing log.
pub struct Log {
    file: std::sync::Mutex<std::fs::File>,
    path: std::path::PathBuf,
}

impl Log {
    /// Opens (appending when `append`) the log at `path`.
    pub fn open(path: &Path, append: bool) -> Result<Self> {
        let file = std::fs::OpenOptions::new()
            .create(true)
            .append(append)
            .write(true)
            .truncate(!append)
            .open(path)
            .map_err(|e| Error::io(path, e))?;
        Ok(Self {
            file: std::sync::Mutex::new(file),
            path: path.to_path_buf(),
        })
    }

    /// Writes one line.
    pub fn line(&self, msg: &str) -> Result<()> {
        tracing::info!("{msg}");
        let mut f = self.file.lock().expect("log lock");
        writeln!(f, "{msg}").map_err(|e| Error::io(&self.path, e))
    }
}

/// `summary.json`.
#[derive(Clone, Debug, Serialize)]
pub struct Summary {
    /// One d×d matrix per learnable channel (masked), in block order.
    pub generators: Vec<Vec<Vec<f64>>>,
    /// Per learnable channel: max |Im λ|/|λ| (1 = conjugate to a rotation).
    pub imag_ratio: Vec<f64>,
    /// Per learnable channel: ‖(L − Lᵀ)/2‖_F / ‖L‖_F.
    pub skew_ratio: Vec<f64>,
    /// Per block: mean over validation trajectories of std/|mean| of the invariant form (null when
    /// undefined for the block).
    pub orbit_cv: Vec<Option<f64>>,
    /// Validation reconstruction MSE (eval mode).
    pub recon_mse: f64,
    /// Discriminator accuracy on validation windows (real vs transformed).
    pub disc_acc: f64,
    pub epochs: usize,
    /// Wall-clock seconds of training and evaluation.
    pub seconds: f64,
    pub seconds_per_epoch: f64,
    /// Last epoch's mean training loss terms.
    pub final_losses: std::collections::BTreeMap<String, f64>,
    pub seed: u64,
    pub recipe: String,
    /// Cores and processor of the machine that trained it (and the device, when not the CPU).
    #[serde(default)]
    pub machine: String,
    /// Double bump only: per generator, how well its orbit acts as a cyclic shift of one bump.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub bump_shift: Option<Vec<super::orbits::BumpShift>>,
}

impl Summary {
    /// The summary of a finished run.
    pub fn new(setup: &Setup, rows: &[Row], s: &Scores) -> Self {
        let last = rows.last();
        let seconds = last.map_or(0.0, |r| r.seconds);
        Self {
            generators: s
                .generators
                .iter()
                .map(|(d, g)| g.chunks(*d).map(<[f64]>::to_vec).collect())
                .collect(),
            imag_ratio: s.imag_ratio.clone(),
            skew_ratio: s.skew_ratio.clone(),
            orbit_cv: s.orbit_cv.clone(),
            recon_mse: s.recon_mse,
            disc_acc: s.disc_acc,
            epochs: rows.len(),
            seconds,
            seconds_per_epoch: seconds / rows.len().max(1) as f64,
            final_losses: Terms::NAMES
                .iter()
                .zip(last.map_or([f64::NAN; N_TERMS], |r| r.terms))
                .map(|(n, v)| (n.to_string(), v))
                .collect(),
            seed: setup.seed,
            recipe: setup.data.describe(),
            machine: match setup.device {
                crate::device::DeviceKind::Cpu => crate::host::machine(),
                d => format!("{} with {d}", crate::host::machine()),
            },
            bump_shift: None,
        }
    }
}

/// Writes `summary.json` atomically.
pub fn write_summary(path: &Path, s: &Summary) -> Result<()> {
    let text = serde_json::to_string_pretty(s).map_err(|e| data_err!("summary: {e}"))?;
    crate::io::write_atomic(path, text.as_bytes())
}

/// losses.png, generators.png and latent.png.
pub fn plots(model: &LaLiGan, setup: &Setup, out: &Path, rows: &[Row], s: &Scores) -> Result<()> {
    // Loss curves and scores per epoch.
    let mut fig = Figure::new(1, 2).title("training").panel_size(520, 360);
    let epochs: Vec<f64> = rows.iter().map(|r| r.epoch as f64).collect();
    let ax = fig
        .axes(0, 0)
        .title("losses (mean per epoch)")
        .xlabel("epoch")
        .log_y(true)
        .legend(true);
    for (i, name) in Terms::NAMES.iter().enumerate() {
        let ys: Vec<f64> = rows.iter().map(|r| r.terms[i].abs()).collect();
        if ys.iter().any(|&v| v > 0.0) {
            ax.line(&epochs, &ys, Some(name));
        }
    }
    let vr: Vec<f64> = rows.iter().map(|r| r.val_recon_mse).collect();
    ax.line(&epochs, &vr, Some("val recon")).dashed();
    let ax = fig
        .axes(0, 1)
        .title("validation scores")
        .xlabel("epoch")
        .legend(true)
        .ylim(0.0, 1.05);
    let series = |f: fn(&Row) -> f64| -> Vec<f64> { rows.iter().map(f).collect() };
    ax.line(&epochs, &series(|r| r.imag_ratio), Some("imag_ratio"));
    ax.line(&epochs, &series(|r| r.skew_ratio), Some("skew_ratio"));
    ax.line(&epochs, &series(|r| r.orbit_cv.min(1.05)), Some("orbit_cv"));
    ax.line(&epochs, &series(|r| r.disc_acc), Some("disc_acc"));
    fig.save(&out.join("losses.png"))?;

    // Generators as heatmaps.
    let blocks = block_generators(model)?;
    let panels: Vec<(String, usize, Vec<f64>)> = blocks
        .iter()
        .enumerate()
        .flat_map(|(i, (d, gens))| {
            gens.iter()
                .enumerate()
                .map(move |(c, g)| (format!("block {i} channel {c}"), *d, g.clone()))
        })
        .collect();
    if !panels.is_empty() {
        let cols = panels.len().min(4);
        let mut fig = Figure::new(panels.len().div_ceil(cols), cols)
            .title("generators (masked)")
            .panel_size(300, 300);
        for (i, (title, d, g)) in panels.iter().enumerate() {
            let rows: Vec<Vec<f64>> = g.chunks(*d).map(<[f64]>::to_vec).collect();
            let m = g.iter().fold(0.0f64, |a, v| a.max(v.abs())).max(1e-12);
            fig.heatmap(i / cols, i % cols, &rows, title)
                .colormap(Colormap::Diverging)
                .range(-m, m)
                .show_values(*d <= 6);
        }
        fig.save(&out.join("generators.png"))?;
    }

    // Validation latents of each block's first copy with the group's orbits.
    let k = model.ae.latent_dim();
    let mut at = 0;
    let mut shown = Vec::new();
    for (i, ((d, gens), b)) in blocks.iter().zip(&model.rep.blocks).enumerate() {
        if at + d <= k && *d >= 2 {
            shown.push((i, at, *d, gens[0].clone()));
        }
        at += b.block.copies * d;
    }
    if !shown.is_empty() && !s.latents.is_empty() {
        let mut fig = Figure::new(1, shown.len())
            .title(
                "validation latent trajectories (solid) and orbits of the learned group (dashed)",
            )
            .panel_size(480, 440);
        for (col, (i, at, d, l)) in shown.iter().enumerate() {
            let trajs = super::eval::block_latents(s, k, *at, *d);
            let c = super::orbits::block_center(setup, &trajs, *d);
            let view = View::new(l, *d);
            let ax = fig
                .axes(0, col)
                .title(&view.title(*i, *at, &trajs, &c))
                .xlabel(&view.label(*at, 0))
                .ylabel(&view.label(*at, 1))
                .equal_aspect(true);
            if trajs.iter().all(|tr| tr.len() == *d) {
                // Static samples: the latents as a cloud, with the orbits of a few of them.
                let (xs, ys): (Vec<f64>, Vec<f64>) =
                    trajs.iter().take(2000).map(|p| view.project(p)).unzip();
                ax.scatter(&xs, &ys, None)
                    .color(PALETTE[0])
                    .marker_size(1.5);
            }
            for (t, tr) in trajs.iter().enumerate().take(10) {
                let color = PALETTE[t % PALETTE.len()];
                let (xs, ys): (Vec<f64>, Vec<f64>) = tr.chunks(*d).map(|p| view.project(p)).unzip();
                ax.line(&xs, &ys, None).color(color);
                let z0: Vec<f64> = tr[..*d].iter().zip(&c).map(|(z, c)| z - c).collect();
                let orbit = metrics::orbit(l, *d, &z0, 200);
                let (mut ox, mut oy): (Vec<f64>, Vec<f64>) = orbit
                    .chunks(*d)
                    .map(|p| {
                        let p: Vec<f64> = p.iter().zip(&c).map(|(p, c)| p + c).collect();
                        view.project(&p)
                    })
                    .unzip();
                ox.push(ox[0]);
                oy.push(oy[0]);
                ax.line(&ox, &oy, None).color(color).dashed();
            }
        }
        fig.save(&out.join("latent.png"))?;
    }
    Ok(())
}

/// How a latent block is drawn: its two coordinates, or, for a larger block whose generator rotates,
/// the plane it rotates (orthonormal coordinates u1, u2 of [`metrics::rotation_plane`]).
struct View {
    plane: Option<[Vec<f64>; 2]>,
}

impl View {
    fn new(l: &[f64], d: usize) -> Self {
        Self {
            plane: (d > 2).then(|| metrics::rotation_plane(l, d)).flatten(),
        }
    }

    fn project(&self, p: &[f64]) -> (f64, f64) {
        let dot = |u: &[f64]| p.iter().zip(u).map(|(a, b)| a * b).sum::<f64>();
        match &self.plane {
            None => (p[0], p[1]),
            Some([u1, u2]) => (dot(u1), dot(u2)),
        }
    }

    fn label(&self, at: usize, axis: usize) -> String {
        match self.plane {
            None => format!("z{}", at + axis),
            Some(_) => format!("u{}", axis + 1),
        }
    }

    /// The panel title; for a plane, with the share of the latents' variance about `c` in it.
    fn title(&self, block: usize, at: usize, trajs: &[Vec<f64>], c: &[f64]) -> String {
        if self.plane.is_none() {
            return format!("block {block}: z{at} vs z{}", at + 1);
        }
        let (mut inside, mut total) = (0.0, 0.0);
        for p in trajs.iter().flat_map(|t| t.chunks(c.len())) {
            let y: Vec<f64> = p.iter().zip(c).map(|(p, c)| p - c).collect();
            let (a, b) = self.project(&y);
            inside += a * a + b * b;
            total += y.iter().map(|v| v * v).sum::<f64>();
        }
        let share = if total > 0.0 {
            100.0 * inside / total
        } else {
            0.0
        };
        format!("block {block}: plane L rotates ({share:.0}% of the variance)")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A row written and read back is the same row; a row of a run written before the orbit term
    /// (no `orbit` column) reads with that term 0, so such a run still resumes.
    #[test]
    fn metrics_rows_round_trip_and_older_rows_read_without_the_orbit_term() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("metrics.csv");
        let row = Row {
            epoch: 1,
            terms: [0.5, 0.7, 0.03, 0.0, 0.69, 2.5e-6],
            val_recon_mse: 4e-3,
            disc_acc: 0.52,
            imag_ratio: 1.0,
            skew_ratio: 0.9999,
            orbit_cv: 0.21,
            seconds: 2.75,
        };
        write_metrics(&path, std::slice::from_ref(&row)).unwrap();
        assert_eq!(read_metrics(&path, 1).unwrap(), std::slice::from_ref(&row));

        let old = "epoch,recon,gan,reg,chreg,disc,val_recon_mse,disc_acc,imag_ratio,skew_ratio,\
                   orbit_cv,seconds\n1,5e-1,7e-1,3e-2,0e0,6.9e-1,4e-3,5.2e-1,1e0,9.999e-1,2.1e-1,2.75e0\n";
        std::fs::write(&path, old).unwrap();
        let want = Row {
            terms: [0.5, 0.7, 0.03, 0.0, 0.69, 0.0],
            ..row
        };
        assert_eq!(read_metrics(&path, 1).unwrap(), [want]);

        std::fs::write(&path, "header\n1,2,3\n").unwrap();
        let err = read_metrics(&path, 1).unwrap_err().to_string();
        assert!(err.contains("line 2 is not a metrics row"), "{err}");
    }
}
