//! Small self-contained raster plotting: line/scatter axes, heatmaps and image grids,
//! rendered with an embedded bitmap font and written as PNG.
//!
//! ```text
//! use std::path::Path;
//! use crate::plot::{Colormap, Figure};
//! let xs = [0.0, 1.0, 2.0];
//! let ys = [1.0, 0.1, 0.01];
//! let mut fig = Figure::new(1, 2).title("Training");
//! fig.axes(0, 0).title("loss").log_y(true).line(&xs, &ys, Some("recon"));
//! fig.image(0, 1, &[0.0f32, 1.0, 1.0, 0.0], 2, 2, "t = 0", Colormap::Gray);
//! fig.save(Path::new("out.png"))?;
//! ```

mod axes;
mod canvas;
mod colormap;
mod figure;
mod font;
mod raster;
mod ticks;

use std::fmt;
use std::path::PathBuf;

pub use axes::{Axes, LineStyle};
pub use colormap::Colormap;
pub use figure::{Figure, Panel};
pub use raster::{Heatmap, ImagePanel};
pub use ticks::format_number;

/// An sRGB colour.
pub type Color = [u8; 3];

/// Default series colours (matplotlib's `tab10`), assigned in order.
pub const PALETTE: [Color; 10] = [
    [31, 119, 180],
    [255, 127, 14],
    [44, 160, 44],
    [214, 39, 40],
    [148, 103, 189],
    [140, 86, 75],
    [227, 119, 194],
    [127, 127, 127],
    [188, 189, 34],
    [23, 190, 207],
];

const WHITE: Color = [255, 255, 255];
/// Text, ticks and tick labels.
const INK: Color = [34, 34, 34];
/// Axes frame.
const FRAME: Color = [70, 70, 70];
/// Grid lines.
const GRID: Color = [230, 230, 230];

/// Text sizes shared by all panels of a figure.
#[derive(Clone, Copy, Debug)]
struct Theme {
    /// Scale of tick labels, axis labels, legends and cell values.
    text: u32,
    /// Scale of panel titles and the figure title.
    title: u32,
}

impl Theme {
    fn new(text: u32) -> Self {
        let text = text.clamp(1, 4);
        Theme {
            text,
            title: text + 1,
        }
    }
}

/// Error returned by [`Figure::save`].
#[derive(Debug)]
pub enum PlotError {
    /// Creating, writing or renaming the file failed.
    Io {
        /// Destination path.
        path: PathBuf,
        /// Underlying error.
        source: std::io::Error,
    },
    /// PNG encoding failed.
    Encode {
        /// Destination path.
        path: PathBuf,
        /// Underlying error.
        source: image::ImageError,
    },
    /// The path has no file name component.
    InvalidPath {
        /// Offending path.
        path: PathBuf,
    },
}

impl fmt::Display for PlotError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            PlotError::Io { path, source } => {
                write!(f, "cannot write plot {}: {source}", path.display())
            }
            PlotError::Encode { path, source } => {
                write!(f, "cannot encode plot {} as PNG: {source}", path.display())
            }
            PlotError::InvalidPath { path } => {
                write!(f, "invalid plot path {}: no file name", path.display())
            }
        }
    }
}

impl std::error::Error for PlotError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            PlotError::Io { source, .. } => Some(source),
            PlotError::Encode { source, .. } => Some(source),
            PlotError::InvalidPath { .. } => None,
        }
    }
}

#[cfg(test)]
mod demo {
    use super::{Colormap, Figure};
    use std::path::PathBuf;

    /// Deterministic pseudo-random numbers in `[0, 1)`.
    fn lcg(state: &mut u64) -> f64 {
        *state = state
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        (*state >> 11) as f64 / (1u64 << 53) as f64
    }

    /// Pendulum orbit `θ'' = -sin θ` from rest at `theta0`, integrated with RK4.
    fn orbit(theta0: f64, steps: usize) -> (Vec<f64>, Vec<f64>) {
        let (mut q, mut p) = (theta0, 0.0);
        let dt = 0.02;
        let f = |q: f64, p: f64| (p, -q.sin());
        let (mut qs, mut ps) = (vec![q], vec![p]);
        for _ in 0..steps {
            let k1 = f(q, p);
            let k2 = f(q + dt / 2.0 * k1.0, p + dt / 2.0 * k1.1);
            let k3 = f(q + dt / 2.0 * k2.0, p + dt / 2.0 * k2.1);
            let k4 = f(q + dt * k3.0, p + dt * k3.1);
            q += dt / 6.0 * (k1.0 + 2.0 * k2.0 + 2.0 * k3.0 + k4.0);
            p += dt / 6.0 * (k1.1 + 2.0 * k2.1 + 2.0 * k3.1 + k4.1);
            qs.push(q);
            ps.push(p);
        }
        (qs, ps)
    }

    fn spiral(t: f64, n: usize) -> Vec<f32> {
        let mut v = Vec::with_capacity(n * n);
        for i in 0..n {
            for j in 0..n {
                let x = (j as f64 / n as f64 - 0.5) * 8.0;
                let y = (i as f64 / n as f64 - 0.5) * 8.0;
                let (r, a) = ((x * x + y * y).sqrt(), y.atan2(x));
                v.push(((a * 2.0 + r * 1.5 - t * 3.0).cos() * (-r * r / 20.0).exp()) as f32);
            }
        }
        v
    }

    /// Renders a demo of every panel kind (set `PLOT_DEMO_OUT` to keep the file).
    #[test]
    fn demo_figure() {
        let out = std::env::var_os("PLOT_DEMO_OUT").map_or_else(
            || std::env::temp_dir().join(format!("laligan-plot-demo-{}.png", std::process::id())),
            PathBuf::from,
        );
        let mut rng = 7u64;
        let epochs: Vec<f64> = (0..300).map(f64::from).collect();
        let recon: Vec<f64> = epochs
            .iter()
            .map(|&e| (2.0 * (-e / 40.0).exp() + 2e-3) * (1.0 + 0.2 * (lcg(&mut rng) - 0.5)))
            .collect();
        let gan: Vec<f64> = epochs
            .iter()
            .map(|&e| 0.69 + 0.3 * (-e / 80.0).exp() + 0.05 * (e / 7.0).sin())
            .collect();

        let mut fig = Figure::new(3, 4).title("Latent LieGAN demo: $\\theta$, $\\omega$, $L_1$");
        fig.axes(0, 0)
            .title("losses")
            .xlabel("epoch")
            .ylabel("loss")
            .log_y(true)
            .line(&epochs, &recon, Some("recon"))
            .line(&epochs, &gan, Some("gan"))
            .line(&[0.0, 299.0], &[1e-2, 1e-2], Some("target"))
            .dashed()
            .color([90, 90, 90]);

        let ax = fig.axes(0, 1);
        ax.title("phase portrait")
            .xlabel("$\\theta$")
            .ylabel("$\\omega$")
            .equal_aspect(true);
        for (k, th0) in [0.5, 1.0, 1.5, 2.0, 2.5].into_iter().enumerate() {
            let (q, p) = orbit(th0, 900);
            let label = format!("$\\theta_0$ = {th0}");
            ax.line(&q, &p, (k % 2 == 0).then_some(label.as_str()));
        }
        let (zx, zy): (Vec<f64>, Vec<f64>) = (0..150)
            .map(|_| {
                let a = lcg(&mut rng) * std::f64::consts::TAU;
                let r = 1.0 + lcg(&mut rng) * 0.8;
                (r * a.cos() * 1.6, r * a.sin())
            })
            .unzip();
        ax.scatter(&zx, &zy, Some("latents"))
            .color([0, 0, 0])
            .alpha(0.6);

        fig.heatmap(0, 2, &[[0.02, -0.98], [1.01, -0.015]], "$L_1$");
        let m4: Vec<Vec<f64>> = (0..4)
            .map(|i| (0..4).map(|j| ((i * 4 + j) as f64 - 7.5) / 3.0).collect())
            .collect();
        fig.heatmap(0, 3, &m4, "4x4 generator");

        for (k, t) in [0.0, 0.5, 1.0, 1.5].into_iter().enumerate() {
            let px = spiral(t, 100);
            fig.image(1, k, &px, 100, 100, &format!("t = {t}"), Colormap::Gray)
                .range(-1.0, 1.0);
        }

        let field = spiral(0.25, 30);
        let rows: Vec<&[f32]> = field.chunks(30).collect();
        fig.heatmap(2, 0, &rows, "field (viridis)")
            .colormap(Colormap::Viridis);
        let rgb: Vec<f32> = (0..64 * 64)
            .flat_map(|i| {
                let (y, x) = ((i / 64) as f32 / 63.0, (i % 64) as f32 / 63.0);
                [x, y, 1.0 - x * y]
            })
            .collect();
        fig.image_rgb(2, 1, &rgb, 64, 64, "RGB render");
        fig.image(
            2,
            2,
            &spiral(1.0, 100),
            100,
            100,
            "prediction",
            Colormap::Diverging,
        )
        .colorbar(true);
        let xs: Vec<f64> = (0..60)
            .map(|i| 10f64.powf(f64::from(i) / 10.0 - 3.0))
            .collect();
        let ys: Vec<f64> = xs.iter().map(|x| x.sqrt() * 1e4).collect();
        fig.axes(2, 3)
            .title("log-x scatter, huge y")
            .log_x(true)
            .scatter(&xs, &ys, Some("$10^4 x^{1/2}$"))
            .line(&[f64::NAN, 1e-3, 1e2], &[0.0, -5e4, 5e4], Some("nan gap"));

        fig.save(&out).unwrap();
        let img = image::open(&out).unwrap();
        assert_eq!((img.width(), img.height()), fig.size());
        if std::env::var_os("PLOT_DEMO_OUT").is_none() {
            let _ = std::fs::remove_file(&out);
        }
    }

    /// Renders degenerate inputs at text scale 2 next to the demo figure (`-edge` suffix).
    #[test]
    fn edge_case_figure() {
        let out = std::env::var_os("PLOT_DEMO_OUT").map_or_else(
            || std::env::temp_dir().join(format!("laligan-plot-demo-{}.png", std::process::id())),
            PathBuf::from,
        );
        let out = out.with_file_name(format!(
            "{}-edge.png",
            out.file_stem().and_then(|s| s.to_str()).unwrap_or("plot")
        ));
        let xs: Vec<f64> = (0..50).map(f64::from).collect();
        let mut fig = Figure::new(2, 3)
            .panel_size(560, 420)
            .text_scale(2)
            .title("Edge cases at text scale 2");
        fig.axes(0, 0).title("empty axes").xlabel("x").ylabel("y");
        fig.axes(0, 1)
            .title("constant series")
            .line(&xs, &[3.0; 50], Some("y = 3"))
            .line(&xs, &[f64::NAN; 50], Some("all NaN"));
        let ys: Vec<f64> = xs.iter().map(|x| (x / 5.0).sin() - 0.2).collect();
        fig.axes(0, 2)
            .title("log y with negatives skipped")
            .log_y(true)
            .line(&xs, &ys, Some("sin"))
            .style(super::LineStyle::Dotted);
        let tiny: Vec<f64> = xs.iter().map(|x| 1.0 + x * 1e-7).collect();
        fig.axes(1, 0)
            .title("tiny relative range")
            .xlabel("a rather long x-axis label that must not spill")
            .ylabel("value")
            .line(&xs, &tiny, Some("1 + 1e-7 x"));
        let huge: Vec<f64> = xs.iter().map(|x| (x - 25.0) * 1e250).collect();
        fig.axes(1, 1)
            .title("huge values, equal aspect")
            .equal_aspect(true)
            .scatter(&huge, &huge, Some("x = y"));
        fig.heatmap(
            1,
            2,
            &[[1.0, f64::NAN, 3.0], [4.0, 5.0, 6.0]],
            "sequential, NaN cell",
        )
        .colormap(Colormap::Viridis);
        fig.save(&out).unwrap();
    }
}
