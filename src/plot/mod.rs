//! Figures of line/scatter axes, heatmaps and image grids, drawn with `plotters` into an RGB
//! buffer and written as PNG. Text uses the embedded DejaVu Sans (anti-aliased, no system fonts).
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
mod colormap;
mod figure;
mod raster;
mod ticks;

use std::sync::OnceLock;

use ab_glyph::{Font, FontRef, ScaleFont};
use plotters::coord::Shift;
use plotters::drawing::{DrawingArea, DrawingAreaErrorKind};
use plotters::prelude::{BitMapBackend, Color as _, DrawingBackend, RGBColor};
use plotters::style::text_anchor::{HPos, Pos, VPos};
use plotters::style::{FontStyle, FontTransform, IntoFont, TextStyle};

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
const GRID: Color = [228, 228, 228];
/// Minor grid lines of log axes.
const GRID_MINOR: Color = [243, 243, 243];

/// A panel's drawing area (pixel coordinates relative to the panel).
type Area<'a> = DrawingArea<BitMapBackend<'a>, Shift>;
/// Error of drawing into the figure's buffer.
type DrawError = DrawingAreaErrorKind<<BitMapBackend<'static> as DrawingBackend>::ErrorType>;
/// Result of drawing into the figure's buffer.
type DrawResult = Result<(), DrawError>;

fn rgb(c: Color) -> RGBColor {
    RGBColor(c[0], c[1], c[2])
}

/// Text sizes in pixels shared by all panels of a figure.
#[derive(Clone, Copy, Debug)]
struct Theme {
    /// Tick labels, axis labels, legends and cell values.
    text: f64,
    /// Panel titles.
    title: f64,
    /// The figure title.
    figure: f64,
}

impl Theme {
    fn new(scale: u32) -> Self {
        let text = if scale >= 2 { 20.0 } else { 14.0 };
        Theme {
            text,
            title: text + 2.0,
            figure: text + 4.0,
        }
    }
}

/// DejaVu Sans, the only font figures use (licence: assets/fonts/LICENSE-DejaVu.txt).
static FONT: &[u8] = include_bytes!("../../assets/fonts/DejaVuSans.ttf");
const FAMILY: &str = "sans-serif";

/// The embedded font, registered with plotters on first use.
fn face() -> &'static FontRef<'static> {
    static FACE: OnceLock<FontRef<'static>> = OnceLock::new();
    FACE.get_or_init(|| {
        if plotters::style::register_font(FAMILY, FontStyle::Normal, FONT).is_err() {
            tracing::error!("plotters cannot parse the embedded font; plot text is not drawn");
        }
        FontRef::try_from_slice(FONT).expect("the embedded font is a valid TrueType file")
    })
}

/// Height of DejaVu Sans capitals as a fraction of the plotters font size (which is the
/// font's ascent plus descent).
const CAP: f64 = 0.626;
/// How far capitals rise above the anchor of top-anchored text, as a fraction of the size:
/// the ab_glyph backend puts the baseline half a size below the anchor.
const CAP_RISE: f64 = CAP - 0.5;

fn text_style(size: f64, color: Color) -> TextStyle<'static> {
    TextStyle {
        font: (FAMILY, size).into_font(),
        color: rgb(color).to_backend_color(),
        pos: Pos::new(HPos::Left, VPos::Top),
    }
}

/// Lays out one line: each visible character with the offset of its bitmap's left edge from
/// the start of the line (kerned advances plus the glyph's left bearing), and the line width.
///
/// Text is drawn character by character at these offsets because plotters' ab_glyph
/// backend drops each glyph's left bearing when it draws a whole string, which spaces
/// letters unevenly.
fn layout(text: &str, size: f64) -> (Vec<(char, i32)>, i32) {
    let font = face().as_scaled(size as f32);
    let (mut pen, mut prev) = (0f32, None);
    let mut glyphs = Vec::with_capacity(text.len());
    for c in text.chars() {
        let id = font.glyph_id(c);
        if let Some(p) = prev {
            pen += font.kern(p, id);
        }
        if let Some(g) = font.outline_glyph(font.scaled_glyph(c)) {
            glyphs.push((c, pen.round() as i32 + g.px_bounds().min.x as i32));
        }
        pen += font.h_advance(id);
        prev = Some(id);
    }
    (glyphs, pen.round() as i32)
}

/// Width in pixels of `text` at `size`.
fn text_width(text: &str, size: f64) -> i32 {
    layout(text, size).1
}

/// Fits `text` into `max_w` pixels: at `size` if it fits, else smaller (down to 60% but not
/// below 10 px), else truncated with an ellipsis. Returns the text to draw and its size.
fn fit(text: &str, size: f64, max_w: i32) -> (String, f64) {
    let w = text_width(text, size);
    if w <= max_w {
        return (text.to_string(), size);
    }
    let min = (size * 0.6).max(10.0).min(size).floor();
    let shrunk = (size * f64::from(max_w.max(0)) / f64::from(w)).floor();
    if shrunk >= min {
        return (text.to_string(), shrunk);
    }
    (truncate(text, min, max_w), min)
}

/// `text` shortened with an ellipsis to fit `max_w` pixels at `size` (empty if nothing fits).
fn truncate(text: &str, size: f64, max_w: i32) -> String {
    if text_width(text, size) <= max_w {
        return text.to_string();
    }
    let chars: Vec<char> = text.chars().collect();
    (0..chars.len())
        .rev()
        .map(|n| chars[..n].iter().chain(['…'].iter()).collect::<String>())
        .find(|t| text_width(t, size) <= max_w)
        .unwrap_or_default()
}

/// Draws one line of text with the top of its capitals at `y`, aligned at `x` by `h`.
fn draw_text(
    area: &Area,
    text: &str,
    size: f64,
    color: Color,
    (x, y): (i32, i32),
    h: HPos,
) -> DrawResult {
    let (glyphs, width) = layout(text, size);
    let x0 = match h {
        HPos::Left => x,
        HPos::Center => x - width / 2,
        HPos::Right => x - width,
    };
    let y = y + (CAP_RISE * size).round() as i32;
    let style = text_style(size, color);
    let mut buf = [0u8; 4];
    for (c, dx) in glyphs {
        area.draw_text(c.encode_utf8(&mut buf), &style, (x0 + dx, y))?;
    }
    Ok(())
}

/// Draws text reading upwards, centred on `cy`, with the top of its capitals at column `x`.
fn draw_text_up(area: &Area, text: &str, size: f64, (x, cy): (i32, i32)) -> DrawResult {
    let (glyphs, width) = layout(text, size);
    let style = text_style(size, INK).transform(FontTransform::Rotate270);
    let (x, bottom) = (x + (CAP_RISE * size).round() as i32, cy + width / 2);
    let mut buf = [0u8; 4];
    for (c, dx) in glyphs {
        area.draw_text(c.encode_utf8(&mut buf), &style, (x, bottom - dx))?;
    }
    Ok(())
}

/// Translates the `$…$` math spans of a label to Unicode text: `\theta` and other named
/// Greek letters and symbols become their characters, and `_x`, `_{…}`, `^x`, `^{…}` become
/// sub- or superscript characters where Unicode has them all (else `_x`, `^(…)` stay as
/// text). Text outside math spans, and a `$` without a partner, are kept as they are.
pub(crate) fn markup(text: &str) -> String {
    let chars: Vec<char> = text.chars().collect();
    let mut out = String::with_capacity(text.len());
    let (mut i, mut math) = (0, false);
    while i < chars.len() {
        let c = chars[i];
        if c == '$' && (math || chars[i + 1..].contains(&'$')) {
            math = !math;
            i += 1;
            continue;
        }
        if !math {
            out.push(c);
            i += 1;
            continue;
        }
        match c {
            '_' | '^' => {
                i += 1;
                let group = match chars.get(i) {
                    Some('{') => {
                        let start = i + 1;
                        let end = chars[start..]
                            .iter()
                            .position(|&ch| ch == '}')
                            .map_or(chars.len(), |p| start + p);
                        i = (end + 1).min(chars.len());
                        commands(&chars[start..end])
                    }
                    Some('\\') => {
                        let (s, next) = command(&chars, i);
                        i = next;
                        s
                    }
                    Some(&ch) if ch != '$' => {
                        i += 1;
                        ch.to_string()
                    }
                    _ => String::new(),
                };
                if group.is_empty() {
                    out.push(c);
                } else {
                    out.push_str(&script(&group, c == '^'));
                }
            }
            '\\' => {
                let (s, next) = command(&chars, i);
                out.push_str(&s);
                i = next;
            }
            _ => {
                out.push(c);
                i += 1;
            }
        }
    }
    out
}

/// Expands the `\name` commands in `chars`.
fn commands(chars: &[char]) -> String {
    let mut out = String::new();
    let mut i = 0;
    while i < chars.len() {
        if chars[i] == '\\' {
            let (s, next) = command(chars, i);
            out.push_str(&s);
            i = next;
        } else {
            out.push(chars[i]);
            i += 1;
        }
    }
    out
}

/// Parses the `\name` command at `chars[i] == '\\'`; returns its text and the index after it.
/// Unknown names are kept literally; `\` before a non-letter escapes it.
fn command(chars: &[char], i: usize) -> (String, usize) {
    let start = i + 1;
    let len = chars[start..]
        .iter()
        .take_while(|c| c.is_ascii_alphabetic())
        .count();
    if len == 0 {
        return match chars.get(start) {
            Some(&c) => (c.to_string(), start + 1),
            None => ("\\".to_string(), start),
        };
    }
    let name: String = chars[start..start + len].iter().collect();
    let text = match named_symbol(&name) {
        Some(c) => c.to_string(),
        None => chars[i..start + len].iter().collect(),
    };
    (text, start + len)
}

fn named_symbol(name: &str) -> Option<char> {
    let c = match name {
        "alpha" => 'α',
        "beta" => 'β',
        "gamma" => 'γ',
        "delta" => 'δ',
        "epsilon" | "varepsilon" => 'ε',
        "zeta" => 'ζ',
        "eta" => 'η',
        "theta" => 'θ',
        "kappa" => 'κ',
        "lambda" => 'λ',
        "mu" => 'μ',
        "nu" => 'ν',
        "xi" => 'ξ',
        "pi" => 'π',
        "rho" => 'ρ',
        "sigma" => 'σ',
        "tau" => 'τ',
        "phi" | "varphi" => 'φ',
        "chi" => 'χ',
        "psi" => 'ψ',
        "omega" => 'ω',
        "Gamma" => 'Γ',
        "Delta" => 'Δ',
        "Theta" => 'Θ',
        "Lambda" => 'Λ',
        "Pi" => 'Π',
        "Sigma" => 'Σ',
        "Phi" => 'Φ',
        "Psi" => 'Ψ',
        "Omega" => 'Ω',
        "nabla" => '∇',
        "partial" => '∂',
        "pm" => '±',
        "times" => '×',
        "cdot" => '·',
        "approx" => '≈',
        "to" | "rightarrow" => '→',
        "infty" => '∞',
        "leq" | "le" => '≤',
        "geq" | "ge" => '≥',
        "circ" => '°',
        _ => return None,
    };
    Some(c)
}

/// `group` as sub- or superscript characters, or marked with `_` / `^` when Unicode lacks one.
fn script(group: &str, sup: bool) -> String {
    let mapped: Option<String> = group
        .chars()
        .map(|c| if sup { superscript(c) } else { subscript(c) })
        .collect();
    match mapped {
        Some(s) => s,
        None => {
            let mark = if sup { '^' } else { '_' };
            if group.chars().count() > 1 {
                format!("{mark}({group})")
            } else {
                format!("{mark}{group}")
            }
        }
    }
}

fn subscript(c: char) -> Option<char> {
    Some(match c {
        '0'..='9' => char::from_u32(0x2080 + (c as u32 - '0' as u32))?,
        '+' => '₊',
        '-' => '₋',
        '=' => '₌',
        '(' => '₍',
        ')' => '₎',
        'a' => 'ₐ',
        'e' => 'ₑ',
        'h' => 'ₕ',
        'i' => 'ᵢ',
        'j' => 'ⱼ',
        'k' => 'ₖ',
        'l' => 'ₗ',
        'm' => 'ₘ',
        'n' => 'ₙ',
        'o' => 'ₒ',
        'p' => 'ₚ',
        'r' => 'ᵣ',
        's' => 'ₛ',
        't' => 'ₜ',
        'u' => 'ᵤ',
        'v' => 'ᵥ',
        'x' => 'ₓ',
        _ => return None,
    })
}

fn superscript(c: char) -> Option<char> {
    Some(match c {
        '1' => '¹',
        '2' => '²',
        '3' => '³',
        '0' | '4'..='9' => char::from_u32(0x2070 + (c as u32 - '0' as u32))?,
        '+' => '⁺',
        '-' => '⁻',
        '=' => '⁼',
        '(' => '⁽',
        ')' => '⁾',
        'i' => 'ⁱ',
        'n' => 'ⁿ',
        _ => return None,
    })
}

#[cfg(test)]
mod text_tests {
    use super::*;

    #[test]
    fn math_spans_become_unicode() {
        assert_eq!(markup("$\\theta_1$"), "θ₁");
        assert_eq!(markup("$\\omega$ vs $L_{12}$"), "ω vs L₁₂");
        assert_eq!(markup("$x^{2}$ and $e^{-t}$"), "x² and e^(-t)");
        assert_eq!(markup("$10^4 x^{1/2}$"), "10⁴ x^(1/2)");
        assert_eq!(markup("$\\theta_{\\alpha}$"), "θ_α");
    }

    #[test]
    fn text_outside_math_is_literal() {
        assert_eq!(markup("cost $5 a_b"), "cost $5 a_b");
        assert_eq!(markup("$\\foo$ \\theta"), "\\foo \\theta");
        assert_eq!(markup("$a\\_b$"), "a_b");
        assert_eq!(markup("$x_$"), "x_");
    }

    #[test]
    fn fit_shrinks_then_truncates() {
        assert_eq!(fit("abc", 13.0, 1000), ("abc".to_string(), 13.0));
        let w = text_width("abcdef", 13.0);
        let (t, s) = fit("abcdef", 13.0, w - 2);
        assert_eq!(t, "abcdef");
        assert!(s < 13.0 && text_width(&t, s) <= w - 2);
        let (t, s) = fit("a long title here", 13.0, 40);
        assert!(t.ends_with('…') && text_width(&t, s) <= 40, "{t}");
        assert_eq!(fit("abc", 13.0, 0).0, "");
        assert!(text_width("m", 13.0) > text_width("i", 13.0));
    }
}
#[cfg(test)]
mod demo {
    use super::{Colormap, Figure};
    use std::path::PathBuf;

    /// Deterministic draws in `[0, 1)`.
    fn draw(rng: &mut crate::rng::Stream) -> f64 {
        crate::rng::uniform(rng, 0.0, 1.0)
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
        let mut rng = crate::rng::stream(7, "plot-demo");
        let epochs: Vec<f64> = (0..300).map(f64::from).collect();
        let recon: Vec<f64> = epochs
            .iter()
            .map(|&e| (2.0 * (-e / 40.0).exp() + 2e-3) * (1.0 + 0.2 * (draw(&mut rng) - 0.5)))
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
                let a = draw(&mut rng) * std::f64::consts::TAU;
                let r = 1.0 + draw(&mut rng) * 0.8;
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
