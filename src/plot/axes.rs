//! Line and scatter plots with automatic ticks, log scales, legends and equal aspect.

use super::canvas::{clip_segment, Align, Canvas, Mask, Rect};
use super::font;
use super::ticks::{self, Ticks, HUGE};
use super::{Color, Theme, FRAME, GRID, INK, PALETTE, WHITE};

/// Stroke pattern of a line series.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum LineStyle {
    /// Continuous stroke.
    #[default]
    Solid,
    /// Long dashes.
    Dashed,
    /// Dots.
    Dotted,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Kind {
    Line,
    Scatter,
}

#[derive(Clone, Debug)]
struct Series {
    xs: Vec<f64>,
    ys: Vec<f64>,
    label: Option<String>,
    kind: Kind,
    color: Option<Color>,
    style: LineStyle,
    width: f64,
    marker: f64,
    alpha: f32,
}

/// A panel with x/y axes holding line and scatter series.
///
/// Builder methods return `&mut Self`; the styling methods ([`Axes::color`],
/// [`Axes::style`], [`Axes::width`], [`Axes::marker_size`], [`Axes::alpha`]) apply to the
/// most recently added series.
#[derive(Clone, Debug)]
pub struct Axes {
    title: String,
    xlabel: String,
    ylabel: String,
    log_x: bool,
    log_y: bool,
    equal: bool,
    xlim: Option<(f64, f64)>,
    ylim: Option<(f64, f64)>,
    grid: bool,
    legend: bool,
    series: Vec<Series>,
}

impl Default for Axes {
    fn default() -> Self {
        Self::new()
    }
}

fn to_f64<T: Copy + Into<f64>>(v: &[T]) -> Vec<f64> {
    v.iter().map(|&x| x.into()).collect()
}

/// Maps axis coordinate `t` in `lim` onto the pixel interval `[p0, p1]`.
pub(super) fn to_px(t: f64, lim: (f64, f64), p0: f64, p1: f64) -> f64 {
    let f = (t - lim.0) / (lim.1 - lim.0);
    (p0 + f * (p1 - p0)).clamp(-1e15, 1e15)
}

/// Inverse of [`to_px`].
#[cfg(test)]
fn from_px(p: f64, lim: (f64, f64), p0: f64, p1: f64) -> f64 {
    lim.0 + (p - p0) / (p1 - p0) * (lim.1 - lim.0)
}

/// Converts a data value to axis units (log10 on log axes); `None` when not drawable.
fn transform(v: f64, log: bool) -> Option<f64> {
    if !v.is_finite() {
        return None;
    }
    if log {
        (v > 0.0).then(|| v.log10())
    } else {
        Some(v.clamp(-HUGE, HUGE))
    }
}

fn axis_ticks(lim: (f64, f64), log: bool) -> Ticks {
    if log {
        ticks::decade_ticks(lim.0, lim.1)
    } else {
        ticks::linear_ticks(lim.0, lim.1)
    }
}

/// Expands one of the ranges so one data unit spans equal pixels on both axes.
fn equalize(x: (f64, f64), y: (f64, f64), plot: Rect) -> ((f64, f64), (f64, f64)) {
    let (w, h) = (plot.w.max(1) as f64, plot.h.max(1) as f64);
    let ux = (x.1 - x.0) / w;
    let uy = (y.1 - y.0) / h;
    if !(ux.is_finite() && uy.is_finite()) {
        return (x, y);
    }
    if ux > uy {
        let (c, half) = (y.0 / 2.0 + y.1 / 2.0, ux * h / 2.0);
        (x, (c - half, c + half))
    } else {
        let (c, half) = (x.0 / 2.0 + x.1 / 2.0, uy * w / 2.0);
        ((c - half, c + half), y)
    }
}

/// Reduces a dense polyline (in pixels) to at most four points per run of points
/// sharing a pixel column: first, lowest, highest, last, in their original order.
/// The drawn shape is unchanged to within a pixel.
fn decimate(pts: &[Option<(f64, f64)>]) -> Vec<Option<(f64, f64)>> {
    let mut out = Vec::new();
    // Indices of first, min-y, max-y and last point of the current column run.
    let mut run: Option<(f64, [usize; 4])> = None;
    let flush = |run: &mut Option<(f64, [usize; 4])>, out: &mut Vec<Option<(f64, f64)>>| {
        if let Some((_, mut idx)) = run.take() {
            idx.sort_unstable();
            let mut last = usize::MAX;
            for i in idx {
                if i != last {
                    out.push(pts[i]);
                    last = i;
                }
            }
        }
    };
    for (i, p) in pts.iter().enumerate() {
        let Some((x, y)) = *p else {
            flush(&mut run, &mut out);
            out.push(None);
            continue;
        };
        let col = x.floor();
        match &mut run {
            Some((c, idx)) if *c == col => {
                let y_of = |k: usize| pts[k].map_or(f64::NAN, |q| q.1);
                if y < y_of(idx[1]) {
                    idx[1] = i;
                }
                if y > y_of(idx[2]) {
                    idx[2] = i;
                }
                idx[3] = i;
            }
            _ => {
                flush(&mut run, &mut out);
                run = Some((col, [i; 4]));
            }
        }
    }
    flush(&mut run, &mut out);
    out
}

/// Resolved geometry of an axes panel.
struct Geometry {
    plot: Rect,
    xlim: (f64, f64),
    ylim: (f64, f64),
    xt: Ticks,
    yt: Ticks,
}

const TICK_LEN: i64 = 4;

/// Gap between tick marks and tick labels for text scale `t`.
fn tick_gap(t: i64) -> i64 {
    1 + 2 * t
}

impl Axes {
    /// Empty axes with grid and legend enabled.
    pub fn new() -> Self {
        Axes {
            title: String::new(),
            xlabel: String::new(),
            ylabel: String::new(),
            log_x: false,
            log_y: false,
            equal: false,
            xlim: None,
            ylim: None,
            grid: true,
            legend: true,
            series: Vec::new(),
        }
    }

    /// Sets the panel title.
    pub fn title(&mut self, t: &str) -> &mut Self {
        self.title = t.to_string();
        self
    }

    /// Sets the x-axis label.
    pub fn xlabel(&mut self, t: &str) -> &mut Self {
        self.xlabel = t.to_string();
        self
    }

    /// Sets the y-axis label.
    pub fn ylabel(&mut self, t: &str) -> &mut Self {
        self.ylabel = t.to_string();
        self
    }

    /// Logarithmic x axis; non-positive x values are skipped.
    pub fn log_x(&mut self, on: bool) -> &mut Self {
        self.log_x = on;
        self
    }

    /// Logarithmic y axis with ticks at powers of ten; non-positive y values are skipped.
    pub fn log_y(&mut self, on: bool) -> &mut Self {
        self.log_y = on;
        self
    }

    /// Equal data-to-pixel scale on both axes (linear axes only); widens one range.
    pub fn equal_aspect(&mut self, on: bool) -> &mut Self {
        self.equal = on;
        self
    }

    /// Fixes the x range (ignored unless finite with `lo < hi`, and `lo > 0` on log axes).
    pub fn xlim(&mut self, lo: f64, hi: f64) -> &mut Self {
        self.xlim = Some((lo, hi));
        self
    }

    /// Fixes the y range (ignored unless finite with `lo < hi`, and `lo > 0` on log axes).
    pub fn ylim(&mut self, lo: f64, hi: f64) -> &mut Self {
        self.ylim = Some((lo, hi));
        self
    }

    /// Shows or hides grid lines at the major ticks (default shown).
    pub fn grid(&mut self, on: bool) -> &mut Self {
        self.grid = on;
        self
    }

    /// Shows or hides the legend of labelled series (default shown).
    pub fn legend(&mut self, on: bool) -> &mut Self {
        self.legend = on;
        self
    }

    fn push<X, Y>(&mut self, xs: &[X], ys: &[Y], label: Option<&str>, kind: Kind) -> &mut Self
    where
        X: Copy + Into<f64>,
        Y: Copy + Into<f64>,
    {
        let n = xs.len().min(ys.len());
        self.series.push(Series {
            xs: to_f64(&xs[..n]),
            ys: to_f64(&ys[..n]),
            label: label.filter(|l| !l.is_empty()).map(str::to_string),
            kind,
            color: None,
            style: LineStyle::Solid,
            width: 1.6,
            marker: 2.5,
            alpha: 1.0,
        });
        self
    }

    /// Adds a polyline through `(xs[i], ys[i])`; non-finite points break the line.
    /// Extra elements of the longer slice are ignored. Labelled series appear in the legend.
    pub fn line<X, Y>(&mut self, xs: &[X], ys: &[Y], label: Option<&str>) -> &mut Self
    where
        X: Copy + Into<f64>,
        Y: Copy + Into<f64>,
    {
        self.push(xs, ys, label, Kind::Line)
    }

    /// Adds a polyline through `(i, ys[i])`.
    pub fn line_y<Y: Copy + Into<f64>>(&mut self, ys: &[Y], label: Option<&str>) -> &mut Self {
        let xs: Vec<f64> = (0..ys.len()).map(|i| i as f64).collect();
        self.push(&xs, ys, label, Kind::Line)
    }

    /// Adds filled circular markers at `(xs[i], ys[i])`; non-finite points are skipped.
    pub fn scatter<X, Y>(&mut self, xs: &[X], ys: &[Y], label: Option<&str>) -> &mut Self
    where
        X: Copy + Into<f64>,
        Y: Copy + Into<f64>,
    {
        self.push(xs, ys, label, Kind::Scatter)
    }

    /// Sets the colour of the last series (default: [`PALETTE`] by series index).
    pub fn color(&mut self, c: Color) -> &mut Self {
        if let Some(s) = self.series.last_mut() {
            s.color = Some(c);
        }
        self
    }

    /// Sets the stroke pattern of the last series.
    pub fn style(&mut self, style: LineStyle) -> &mut Self {
        if let Some(s) = self.series.last_mut() {
            s.style = style;
        }
        self
    }

    /// Shorthand for `style(LineStyle::Dashed)`.
    pub fn dashed(&mut self) -> &mut Self {
        self.style(LineStyle::Dashed)
    }

    /// Sets the line width in pixels of the last series (clamped to 0.5..=8, default 1.6).
    pub fn width(&mut self, w: f64) -> &mut Self {
        if let Some(s) = self.series.last_mut() {
            s.width = if w.is_finite() {
                w.clamp(0.5, 8.0)
            } else {
                1.6
            };
        }
        self
    }

    /// Sets the marker radius in pixels of the last series (clamped to 0.5..=10, default 2.5).
    pub fn marker_size(&mut self, r: f64) -> &mut Self {
        if let Some(s) = self.series.last_mut() {
            s.marker = if r.is_finite() {
                r.clamp(0.5, 10.0)
            } else {
                2.5
            };
        }
        self
    }

    /// Sets the opacity in `[0, 1]` of the last series (default 1).
    pub fn alpha(&mut self, a: f32) -> &mut Self {
        if let Some(s) = self.series.last_mut() {
            s.alpha = if a.is_finite() {
                a.clamp(0.0, 1.0)
            } else {
                1.0
            };
        }
        self
    }

    fn series_color(&self, i: usize) -> Color {
        self.series[i].color.unwrap_or(PALETTE[i % PALETTE.len()])
    }

    /// Series points in axis units; `None` marks a skipped point.
    fn transformed(&self) -> Vec<Vec<Option<(f64, f64)>>> {
        self.series
            .iter()
            .map(|s| {
                s.xs.iter()
                    .zip(&s.ys)
                    .map(|(&x, &y)| Some((transform(x, self.log_x)?, transform(y, self.log_y)?)))
                    .collect()
            })
            .collect()
    }

    fn limits(&self, pts: &[Vec<Option<(f64, f64)>>]) -> ((f64, f64), (f64, f64)) {
        let mut ext: Option<(f64, f64, f64, f64)> = None;
        for &(x, y) in pts.iter().flatten().flatten() {
            ext = Some(match ext {
                None => (x, x, y, y),
                Some((a, b, c, d)) => (a.min(x), b.max(x), c.min(y), d.max(y)),
            });
        }
        let dx = ext.map(|e| (e.0, e.1));
        let dy = ext.map(|e| (e.2, e.3));
        let xl = if self.log_x {
            ticks::log_limits(dx, self.xlim)
        } else {
            ticks::linear_limits(dx, self.xlim)
        };
        let yl = if self.log_y {
            ticks::log_limits(dy, self.ylim)
        } else {
            ticks::linear_limits(dy, self.ylim)
        };
        (xl, yl)
    }

    /// Plot rectangle left after reserving room for title, labels and tick labels.
    fn plot_rect(&self, area: Rect, th: &Theme, xt: &Ticks, yt: &Ticks) -> Rect {
        let t = i64::from(th.text);
        let ch = font::CAP * t;
        let top = if self.title.is_empty() {
            12
        } else {
            8 + font::CAP * i64::from(th.title) + 10
        };
        let ytick_w = yt
            .labels
            .iter()
            .map(|l| font::text_width(l, th.text))
            .max()
            .unwrap_or(0);
        let ylabel_w = if self.ylabel.is_empty() {
            0
        } else {
            font::CELL_H * t + 6
        };
        let left = 6 + ylabel_w + ytick_w + tick_gap(t) + TICK_LEN + 1;
        let xlabel_h = if self.xlabel.is_empty() {
            0
        } else {
            6 + font::CELL_H * t
        };
        let bottom = 1 + TICK_LEN + tick_gap(t) + ch + xlabel_h + 8;
        let last_w = xt.labels.last().map_or(0, |l| font::text_width(l, th.text));
        let right = (last_w / 2 + 10).max(16);
        Rect::new(
            area.x + left,
            area.y + top,
            area.w - left - right,
            area.h - top - bottom,
        )
    }

    fn geometry(&self, area: Rect, th: &Theme, pts: &[Vec<Option<(f64, f64)>>]) -> Geometry {
        let (bx, by) = self.limits(pts);
        let equal = self.equal && !self.log_x && !self.log_y;
        let mut plot = self.plot_rect(
            area,
            th,
            &axis_ticks(bx, self.log_x),
            &axis_ticks(by, self.log_y),
        );
        let (mut xl, mut yl) = (bx, by);
        for _ in 0..4 {
            if equal {
                (xl, yl) = equalize(bx, by, plot);
            }
            let xt = axis_ticks(xl, self.log_x);
            let yt = axis_ticks(yl, self.log_y);
            let next = self.plot_rect(area, th, &xt, &yt);
            if next == plot {
                return Geometry {
                    plot,
                    xlim: xl,
                    ylim: yl,
                    xt,
                    yt,
                };
            }
            plot = next;
        }
        if equal {
            (xl, yl) = equalize(bx, by, plot);
        }
        Geometry {
            plot,
            xlim: xl,
            ylim: yl,
            xt: axis_ticks(xl, self.log_x),
            yt: axis_ticks(yl, self.log_y),
        }
    }

    /// Draws the panel into `area`.
    pub(super) fn render(&self, cv: &mut Canvas, area: Rect, th: &Theme) {
        let pts = self.transformed();
        let g = self.geometry(area, th, &pts);
        let plot = g.plot;
        self.draw_title(cv, area, plot, th);
        if plot.w < 8 || plot.h < 8 {
            return;
        }
        let (x0, x1) = (plot.x as f64, plot.right() as f64);
        let (y0, y1) = (plot.bottom() as f64, plot.y as f64);
        let px = |t: f64| to_px(t, g.xlim, x0, x1);
        let py = |t: f64| to_px(t, g.ylim, y0, y1);
        let col = |v: f64, lo: i64, hi: i64| (v.floor() as i64).clamp(lo, hi);

        if self.grid {
            for &t in &g.xt.pos {
                let x = col(px(t), plot.x, plot.right());
                cv.vline(x, plot.y, plot.bottom() - 1, GRID);
            }
            for &t in &g.yt.pos {
                let y = col(py(t), plot.y - 1, plot.bottom());
                cv.hline(plot.x, plot.right() - 1, y, GRID);
            }
        }

        let pix: Vec<Vec<Option<(f64, f64)>>> = pts
            .iter()
            .map(|s| s.iter().map(|p| p.map(|(x, y)| (px(x), py(y)))).collect())
            .collect();
        for (i, (s, p)) in self.series.iter().zip(&pix).enumerate() {
            let mut m = Mask::new(plot);
            match s.kind {
                Kind::Line if p.len() > 4 * plot.w as usize => {
                    m.polyline(&decimate(p), s.width, dash(s.style, s.width));
                }
                Kind::Line => m.polyline(p, s.width, dash(s.style, s.width)),
                Kind::Scatter => {
                    for &q in p.iter().flatten() {
                        m.disc(q, s.marker);
                    }
                }
            }
            m.composite(cv, self.series_color(i), s.alpha);
        }

        cv.stroke_rect(
            Rect::new(plot.x - 1, plot.y - 1, plot.w + 2, plot.h + 2),
            FRAME,
        );
        self.draw_ticks(cv, &g, th, &px, &py);
        self.draw_labels(cv, area, &g, th);
        if self.legend {
            self.draw_legend(cv, plot, th, &pix);
        }
    }

    fn draw_title(&self, cv: &mut Canvas, area: Rect, plot: Rect, th: &Theme) {
        if self.title.is_empty() {
            return;
        }
        let (t, s) = font::fit(&self.title, th.title, area.w - 8);
        let w = font::text_width(&t, s);
        // Centre over the plot, shifted to stay inside the panel.
        let cx = (plot.x + plot.w / 2).clamp(area.x + 4 + w / 2, area.right() - 4 - w / 2);
        let y = area.y + 8 + (font::CAP * i64::from(th.title) - font::CAP * i64::from(s)) / 2;
        cv.text(cx, y, &t, s, INK, Align::Center);
    }

    fn draw_ticks(
        &self,
        cv: &mut Canvas,
        g: &Geometry,
        th: &Theme,
        px: &dyn Fn(f64) -> f64,
        py: &dyn Fn(f64) -> f64,
    ) {
        let plot = g.plot;
        let ch = font::CAP * i64::from(th.text);
        let col = |v: f64, lo: i64, hi: i64| (v.floor() as i64).clamp(lo, hi);

        for &t in &g.xt.minor {
            let x = col(px(t), plot.x, plot.right());
            cv.vline(x, plot.bottom() + 1, plot.bottom() + 2, FRAME);
        }
        for &t in &g.yt.minor {
            let y = col(py(t), plot.y - 1, plot.bottom());
            cv.hline(plot.x - 3, plot.x - 2, y, FRAME);
        }

        let xs: Vec<f64> = g.xt.pos.iter().map(|&t| px(t)).collect();
        let widths: Vec<i64> =
            g.xt.labels
                .iter()
                .map(|l| font::text_width(l, th.text))
                .collect();
        let stride = ticks::label_stride(&xs, &widths, 8.0);
        for (i, (&x, label)) in xs.iter().zip(&g.xt.labels).enumerate() {
            let x = col(x, plot.x, plot.right());
            cv.vline(x, plot.bottom() + 1, plot.bottom() + TICK_LEN, FRAME);
            if i % stride == 0 {
                let y = plot.bottom() + 1 + TICK_LEN + tick_gap(i64::from(th.text));
                cv.text(x, y, label, th.text, INK, Align::Center);
            }
        }

        let ys: Vec<f64> = g.yt.pos.iter().map(|&t| py(t)).collect();
        let heights = vec![ch; ys.len()];
        let stride = ticks::label_stride(&ys, &heights, 4.0);
        for (i, (&y, label)) in ys.iter().zip(&g.yt.labels).enumerate() {
            let y = col(y, plot.y - 1, plot.bottom());
            cv.hline(plot.x - 1 - TICK_LEN, plot.x - 2, y, FRAME);
            if i % stride == 0 {
                let x = plot.x - 1 - TICK_LEN - tick_gap(i64::from(th.text));
                cv.text(x, y - ch / 2, label, th.text, INK, Align::Right);
            }
        }
    }

    fn draw_labels(&self, cv: &mut Canvas, area: Rect, g: &Geometry, th: &Theme) {
        let plot = g.plot;
        let t = i64::from(th.text);
        if !self.xlabel.is_empty() {
            let (s, sc) = font::fit(&self.xlabel, th.text, area.w - 8);
            let w = font::text_width(&s, sc);
            let cx = (plot.x + plot.w / 2).clamp(area.x + 4 + w / 2, area.right() - 4 - w / 2);
            let y = plot.bottom() + 1 + TICK_LEN + tick_gap(t) + font::CAP * t + 6;
            cv.text(cx, y, &s, sc, INK, Align::Center);
        }
        if !self.ylabel.is_empty() {
            let (s, sc) = font::fit(&self.ylabel, th.text, area.h - 8);
            let w = font::text_width(&s, sc);
            let cy = (plot.y + plot.h / 2).clamp(area.y + 4 + w / 2, area.bottom() - 4 - w / 2);
            cv.text_vertical(area.x + 6, cy, &s, sc, INK);
        }
    }

    fn draw_legend(
        &self,
        cv: &mut Canvas,
        plot: Rect,
        th: &Theme,
        pix: &[Vec<Option<(f64, f64)>>],
    ) {
        let t = i64::from(th.text);
        let entries: Vec<usize> = (0..self.series.len())
            .filter(|&i| self.series[i].label.is_some())
            .collect();
        if entries.is_empty() {
            return;
        }
        let pad = 5;
        let sw = 18 + 6 * (t - 1);
        let row_h = font::CELL_H * t + 3;
        let max_label = (plot.w - 16 - 2 * pad - sw - 5).max(0);
        let rows_fit = ((plot.h - 12 - 2 * pad) / row_h).max(0) as usize;
        let labels: Vec<(usize, String, u32)> = entries
            .iter()
            .take(rows_fit)
            .map(|&i| {
                let l = self.series[i].label.as_deref().unwrap_or("");
                let (s, sc) = font::fit(l, th.text, max_label);
                (i, s, sc)
            })
            .collect();
        if labels.is_empty() {
            return;
        }
        let text_w = labels
            .iter()
            .map(|(_, s, sc)| font::text_width(s, *sc))
            .max()
            .unwrap_or(0);
        let bw = pad + sw + 5 + text_w + pad + 1;
        let bh = pad + labels.len() as i64 * row_h + pad - 3;
        let inset = 6;
        let candidates = [
            (plot.right() - inset - bw, plot.y + inset),
            (plot.x + inset, plot.y + inset),
            (plot.right() - inset - bw, plot.bottom() - inset - bh),
            (plot.x + inset, plot.bottom() - inset - bh),
        ];
        let score = |bx: i64, by: i64| -> usize {
            let lo = (bx as f64 - 2.0, by as f64 - 2.0);
            let hi = ((bx + bw) as f64 + 2.0, (by + bh) as f64 + 2.0);
            let mut n = 0;
            for (s, p) in self.series.iter().zip(pix) {
                let mut prev: Option<(f64, f64)> = None;
                for q in p {
                    if let Some(q) = *q {
                        let inside = q.0 >= lo.0 && q.0 <= hi.0 && q.1 >= lo.1 && q.1 <= hi.1;
                        let crosses = s.kind == Kind::Line
                            && prev.is_some_and(|a| clip_segment(a, q, lo, hi).is_some());
                        n += usize::from(inside || crosses);
                    }
                    prev = *q;
                }
            }
            n
        };
        let (bx, by) = candidates
            .iter()
            .enumerate()
            .min_by_key(|(i, &(x, y))| (score(x, y), *i))
            .map_or(candidates[0], |(_, &c)| c);
        let bx_rect = Rect::new(bx, by, bw, bh);
        cv.blend_rect(bx_rect, WHITE, 0.85);
        cv.stroke_rect(bx_rect, [170, 170, 170]);
        for (k, (i, label, sc)) in labels.iter().enumerate() {
            let s = &self.series[*i];
            let top = by + pad + k as i64 * row_h;
            let mid = top as f64 + (font::CAP * t) as f64 / 2.0;
            let x0 = (bx + pad) as f64;
            let mut m = Mask::new(bx_rect);
            match s.kind {
                Kind::Line => m.polyline(
                    &[Some((x0, mid)), Some((x0 + sw as f64, mid))],
                    s.width,
                    dash(s.style, s.width),
                ),
                Kind::Scatter => m.disc((x0 + sw as f64 / 2.0, mid), s.marker.max(2.5)),
            }
            m.composite(cv, self.series_color(*i), s.alpha.max(0.3));
            let ty = top + (font::CAP * t - font::CAP * i64::from(*sc)) / 2;
            cv.text(bx + pad + sw + 5, ty, label, *sc, INK, Align::Left);
        }
    }
}

/// Dash pattern `(on, off)` in pixels for a style and line width.
fn dash(style: LineStyle, width: f64) -> Option<(f64, f64)> {
    match style {
        LineStyle::Solid => None,
        LineStyle::Dashed => Some((5.0 + 2.0 * width, 2.0 + 2.0 * width)),
        LineStyle::Dotted => Some((1.0, 1.5 + 1.5 * width)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pixel_mapping_round_trips() {
        for lim in [(0.0, 1.0), (-3.5, 1e4), (-1e-9, 2e-9), (-1.1e300, 1.1e300)] {
            for p0 in [10.0, 400.0] {
                let p1 = 410.0 - p0;
                for f in [0.0, 0.25, 0.5, 1.0] {
                    let v = lim.0 + f * (lim.1 - lim.0);
                    let p = to_px(v, lim, p0, p1);
                    assert!((p - (p0 + f * (p1 - p0))).abs() < 1e-6);
                    let back = from_px(p, lim, p0, p1);
                    assert!((back - v).abs() <= 1e-9 * (lim.1 - lim.0), "{lim:?} {f}");
                }
            }
        }
        // Far outside the range the pixel coordinate is clamped but finite.
        assert!(to_px(1e300, (0.0, 1e-300), 0.0, 100.0).is_finite());
    }

    #[test]
    fn transform_skips_invalid() {
        assert_eq!(transform(f64::NAN, false), None);
        assert_eq!(transform(f64::INFINITY, false), None);
        assert_eq!(transform(0.0, true), None);
        assert_eq!(transform(-2.0, true), None);
        assert_eq!(transform(100.0, true), Some(2.0));
        assert_eq!(transform(-2.0, false), Some(-2.0));
    }

    #[test]
    fn equal_aspect_matches_units_per_pixel() {
        let plot = Rect::new(0, 0, 300, 200);
        let (x, y) = equalize((0.0, 1.0), (0.0, 1.0), plot);
        let ux = (x.1 - x.0) / 300.0;
        let uy = (y.1 - y.0) / 200.0;
        assert!((ux - uy).abs() < 1e-12);
        assert_eq!(y, (0.0, 1.0));
        assert!(x.0 < 0.0 && x.1 > 1.0);
    }

    #[test]
    fn decimation_keeps_extremes_and_breaks() {
        let pts: Vec<Option<(f64, f64)>> = (0..100)
            .map(|i| Some((10.0 + f64::from(i) * 0.001, f64::from((i + 3) % 7))))
            .chain([None, Some((11.5, 3.0)), Some((12.5, 4.0))])
            .collect();
        let d = decimate(&pts);
        assert_eq!(d.len(), 4 + 3);
        assert_eq!(d[0], pts[0]);
        assert_eq!(d[3], pts[99]);
        let ys: Vec<f64> = d[..4].iter().map(|p| p.unwrap().1).collect();
        assert!(ys.contains(&0.0) && ys.contains(&6.0));
        assert_eq!(&d[4..], &pts[100..]);
    }

    #[test]
    fn styling_applies_to_last_series() {
        let mut ax = Axes::new();
        ax.color([1, 2, 3]); // no series yet: ignored
        ax.line(&[0.0, 1.0], &[0.0, 1.0], Some("a"))
            .scatter(&[0.0f32], &[1.0f32, 2.0], None)
            .color([9, 9, 9])
            .width(f64::NAN);
        assert_eq!(ax.series_color(0), PALETTE[0]);
        assert_eq!(ax.series_color(1), [9, 9, 9]);
        assert_eq!(ax.series[1].xs.len(), 1);
        assert_eq!(ax.series[1].width, 1.6);
    }
}
