//! Line and scatter panels: a plotters chart with our ticks, log scales, legend and equal aspect.

use std::ops::Range;

use plotters::coord::ranged1d::{DefaultFormatting, KeyPointHint, Ranged};
use plotters::prelude::*;
use plotters::style::text_anchor::HPos;
use plotters::style::Color as _;

use super::ticks::{self, Ticks, HUGE};
use super::{draw_text, draw_text_up, fit, markup, rgb, text_width, truncate};
use super::{Area, Color, DrawResult, Theme, CAP, FRAME, GRID, GRID_MINOR, INK, PALETTE, WHITE};

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

/// Expands one of the ranges so one data unit spans equal pixels on a `w × h` plot.
fn equalize(x: (f64, f64), y: (f64, f64), (w, h): (i32, i32)) -> ((f64, f64), (f64, f64)) {
    let (w, h) = (f64::from(w.max(1)), f64::from(h.max(1)));
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

type Pt = (f64, f64);

/// Clips the segment `a`–`b` to the box `lo..=hi` (Liang–Barsky).
fn clip(a: Pt, b: Pt, lo: Pt, hi: Pt) -> Option<(Pt, Pt)> {
    let (dx, dy) = (b.0 - a.0, b.1 - a.1);
    let (mut t0, mut t1) = (0.0f64, 1.0f64);
    for (p, q) in [
        (-dx, a.0 - lo.0),
        (dx, hi.0 - a.0),
        (-dy, a.1 - lo.1),
        (dy, hi.1 - a.1),
    ] {
        if p == 0.0 {
            if q < 0.0 {
                return None;
            }
        } else {
            let r = q / p;
            if p < 0.0 {
                t0 = t0.max(r);
            } else {
                t1 = t1.min(r);
            }
        }
    }
    if t0 > t1 {
        return None;
    }
    let at = |t: f64| {
        if t == 0.0 {
            a
        } else if t == 1.0 {
            b
        } else {
            (a.0 + t * dx, a.1 + t * dy)
        }
    };
    Some((at(t0), at(t1)))
}

/// The visible pieces of a polyline inside `lo..=hi`; missing points break it.
fn visible_runs(pts: &[Option<Pt>], lo: Pt, hi: Pt) -> Vec<Vec<Pt>> {
    let mut runs = Vec::new();
    let mut cur: Vec<Pt> = Vec::new();
    for w in pts.windows(2) {
        let seg = match (w[0], w[1]) {
            (Some(a), Some(b)) => clip(a, b, lo, hi).map(|s| (s, b)),
            _ => None,
        };
        match seg {
            Some(((p, q), b)) => {
                if cur.last() != Some(&p) {
                    if cur.len() > 1 {
                        runs.push(std::mem::take(&mut cur));
                    }
                    cur.clear();
                    cur.push(p);
                }
                cur.push(q);
                if q != b && cur.len() > 1 {
                    runs.push(std::mem::take(&mut cur));
                }
            }
            None => {
                if cur.len() > 1 {
                    runs.push(std::mem::take(&mut cur));
                }
                cur.clear();
            }
        }
    }
    if cur.len() > 1 {
        runs.push(cur);
    }
    runs
}

/// An axis in axis units (log10 on log axes) with our ticks: major ticks are labelled and
/// gridded, minor ones (log axes) get light grid lines.
struct AxisRange {
    lo: f64,
    hi: f64,
    major: Vec<f64>,
    minor: Vec<f64>,
}

impl AxisRange {
    fn new(lim: (f64, f64), t: &Ticks) -> Self {
        AxisRange {
            lo: lim.0,
            hi: lim.1,
            major: t.pos.clone(),
            minor: t.minor.clone(),
        }
    }
}

impl Ranged for AxisRange {
    type FormatOption = DefaultFormatting;
    type ValueType = f64;

    fn map(&self, v: &f64, limit: (i32, i32)) -> i32 {
        let t = (v - self.lo) / (self.hi - self.lo);
        let px = (f64::from(limit.1 - limit.0) * t + 1e-3).floor();
        limit.0 + px.clamp(-1e6, 1e6) as i32
    }

    fn key_points<H: KeyPointHint>(&self, hint: H) -> Vec<f64> {
        if hint.weight().allow_light_points() {
            self.minor.clone()
        } else {
            self.major.clone()
        }
    }

    fn range(&self) -> Range<f64> {
        self.lo..self.hi
    }
}

/// Left padding of a panel, before the y label.
const PAD: i32 = 6;
/// Tick mark length.
const TICK: i32 = 4;
/// Gap from the plot frame to the tick labels.
const LABEL_DIST: i32 = 2 * TICK;
/// Gap from the tick labels to the x label.
const XLABEL_GAP: i32 = 7;
/// Inner margin of the legend box.
const LEGEND_MARGIN: i32 = 5;
/// Gap between the legend box and the plot frame.
const LEGEND_INSET: i32 = 5;
/// Gap between a legend sample and its label.
const LEGEND_GAP: i32 = 6;

/// Where the plot rectangle sits in a panel, and the axes' ranges and ticks.
struct Layout {
    /// Width of the y tick-label area (including the y label).
    y_area: i32,
    top: i32,
    /// Height of the x tick-label area (including the x label).
    x_area: i32,
    right: i32,
    bottom: i32,
    xlim: (f64, f64),
    ylim: (f64, f64),
    xt: Ticks,
    yt: Ticks,
}

impl Layout {
    /// Plot rectangle size in a `w × h` panel.
    fn plot(&self, (w, h): (i32, i32)) -> (i32, i32) {
        (
            w - PAD - self.y_area - self.right,
            h - self.top - self.x_area - self.bottom,
        )
    }

    fn same_rect(&self, o: &Layout) -> bool {
        (self.y_area, self.top, self.x_area, self.right) == (o.y_area, o.top, o.x_area, o.right)
    }
}

/// Labels of `t`, every `k`-th kept (the rest blank) so that neighbours do not collide on an
/// axis `len` pixels long (`along_x`: labels side by side, else stacked one above the other).
fn thinned_labels(t: &Ticks, lim: (f64, f64), len: i32, size: f64, along_x: bool) -> Vec<String> {
    let centres: Vec<f64> = t
        .pos
        .iter()
        .map(|&v| (v - lim.0) / (lim.1 - lim.0) * f64::from(len))
        .collect();
    let sizes: Vec<i64> = t
        .labels
        .iter()
        .map(|l| {
            if along_x {
                i64::from(text_width(l, size))
            } else {
                (size * CAP).round() as i64
            }
        })
        .collect();
    let gap = if along_x { 10.0 } else { 6.0 };
    let stride = ticks::label_stride(&centres, &sizes, gap);
    t.labels
        .iter()
        .enumerate()
        .map(|(i, l)| {
            if i % stride == 0 {
                l.clone()
            } else {
                String::new()
            }
        })
        .collect()
}

/// `c` moved so that `c ± half` stays within `lo..=hi` where possible.
fn keep_inside(c: i32, half: i32, lo: i32, hi: i32) -> i32 {
    c.min(hi - half).max(lo + half)
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
        self.title = markup(t);
        self
    }

    /// Sets the x-axis label.
    pub fn xlabel(&mut self, t: &str) -> &mut Self {
        self.xlabel = markup(t);
        self
    }

    /// Sets the y-axis label.
    pub fn ylabel(&mut self, t: &str) -> &mut Self {
        self.ylabel = markup(t);
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
            label: label.filter(|l| !l.is_empty()).map(markup),
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
    fn transformed(&self) -> Vec<Vec<Option<Pt>>> {
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

    fn limits(&self, pts: &[Vec<Option<Pt>>]) -> ((f64, f64), (f64, f64)) {
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

    fn margins(&self, th: &Theme, xlim: (f64, f64), ylim: (f64, f64)) -> Layout {
        let t = th.text;
        let xt = axis_ticks(xlim, self.log_x);
        let yt = axis_ticks(ylim, self.log_y);
        let top = if self.title.is_empty() {
            12
        } else {
            8 + (th.title * 0.95).round() as i32 + 8
        };
        let label_h = (t * 0.85).round() as i32;
        let ytick_w = yt
            .labels
            .iter()
            .map(|l| text_width(l, t))
            .max()
            .unwrap_or(0);
        let ylabel_w = if self.ylabel.is_empty() {
            0
        } else {
            label_h + 8
        };
        let xlabel_h = if self.xlabel.is_empty() {
            0
        } else {
            XLABEL_GAP + label_h
        };
        let last_w = xt.labels.last().map_or(0, |l| text_width(l, t));
        Layout {
            y_area: ylabel_w + ytick_w + LABEL_DIST + 1,
            top,
            x_area: LABEL_DIST + (t * CAP).round() as i32 + xlabel_h + 3,
            right: (last_w / 2 + 6).max(14),
            bottom: 8,
            xlim,
            ylim,
            xt,
            yt,
        }
    }

    /// Limits, ticks and margins; with equal aspect, iterated until the plot size settles.
    fn layout(&self, size: (i32, i32), th: &Theme, pts: &[Vec<Option<Pt>>]) -> Layout {
        let (bx, by) = self.limits(pts);
        let mut lay = self.margins(th, bx, by);
        if !(self.equal && !self.log_x && !self.log_y) {
            return lay;
        }
        for _ in 0..4 {
            let (xl, yl) = equalize(bx, by, lay.plot(size));
            let next = self.margins(th, xl, yl);
            if next.same_rect(&lay) {
                return next;
            }
            lay = next;
        }
        let (xl, yl) = equalize(bx, by, lay.plot(size));
        Layout {
            xt: axis_ticks(xl, self.log_x),
            yt: axis_ticks(yl, self.log_y),
            xlim: xl,
            ylim: yl,
            ..lay
        }
    }

    /// Labelled series that fit in the legend of a `pw × ph` plot, with their labels
    /// shortened to fit its width.
    fn legend_entries(&self, (pw, ph): (i32, i32), t: f64) -> Vec<(usize, String)> {
        if !self.legend {
            return Vec::new();
        }
        let max_w = pw - 2 * LEGEND_INSET - 2 * LEGEND_MARGIN - legend_sample(t) - LEGEND_GAP;
        let rows = (ph - 2 * LEGEND_INSET - 2 * LEGEND_MARGIN) / legend_row(t);
        if max_w < 2 * t as i32 || rows < 1 {
            return Vec::new();
        }
        self.series
            .iter()
            .enumerate()
            .filter_map(|(i, s)| Some((i, truncate(s.label.as_deref()?, t, max_w))))
            .take(rows as usize)
            .collect()
    }

    /// Draws the panel into `area`.
    pub(super) fn draw(&self, area: &Area, th: &Theme) -> DrawResult {
        let (w, h) = area.dim_in_pixel();
        let size = (w as i32, h as i32);
        let t = th.text;
        let pts = self.transformed();
        let lay = self.layout(size, th, &pts);
        let (pw, ph) = lay.plot(size);
        let (plot_x, plot_y) = (PAD + lay.y_area, lay.top);
        if !self.title.is_empty() {
            let (s, sz) = fit(&self.title, th.title, size.0 - 8);
            let cx = keep_inside(plot_x + pw / 2, text_width(&s, sz) / 2, 4, size.0 - 4);
            draw_text(area, &s, sz, INK, (cx, 8), HPos::Center)?;
        }
        if pw < 8 || ph < 8 {
            return Ok(());
        }

        let mut chart = ChartBuilder::on(area)
            .margin_left(PAD)
            .margin_right(lay.right)
            .margin_top(lay.top)
            .margin_bottom(lay.bottom)
            .x_label_area_size(lay.x_area)
            .y_label_area_size(lay.y_area)
            .build_cartesian_2d(
                AxisRange::new(lay.xlim, &lay.xt),
                AxisRange::new(lay.ylim, &lay.yt),
            )?;
        // Grid, axis lines and tick marks come from plotters' mesh; the tick labels are drawn
        // below with the panel's text layout.
        let no_label = |_: &f64| String::new();
        let mut mesh = chart.configure_mesh();
        mesh.x_label_formatter(&no_label)
            .y_label_formatter(&no_label)
            .axis_style(rgb(FRAME))
            .bold_line_style(rgb(GRID))
            .light_line_style(rgb(GRID_MINOR))
            .set_all_tick_mark_size(TICK);
        if !self.grid {
            mesh.disable_mesh();
        }
        mesh.draw()?;

        // Series in plot pixels: the visible pieces of each line, or the visible markers.
        let plot_area = chart.plotting_area().strip_coord_spec();
        let origin = plot_area.get_base_pixel();
        let to_px = |p: Pt| {
            let (x, y) = chart.backend_coord(&p);
            (x - origin.0, y - origin.1)
        };
        let (lo, hi) = ((lay.xlim.0, lay.ylim.0), (lay.xlim.1, lay.ylim.1));
        let inside = |q: &&Pt| q.0 >= lo.0 && q.0 <= hi.0 && q.1 >= lo.1 && q.1 <= hi.1;
        let px: Vec<Vec<Px>> = self
            .series
            .iter()
            .zip(&pts)
            .map(|(s, p)| match s.kind {
                Kind::Line => visible_runs(p, lo, hi)
                    .into_iter()
                    .map(|r| thin(r.into_iter().map(to_px)))
                    .collect(),
                Kind::Scatter => vec![p
                    .iter()
                    .flatten()
                    .filter(inside)
                    .map(|&q| to_px(q))
                    .collect()],
            })
            .collect();
        for (i, (s, runs)) in self.series.iter().zip(&px).enumerate() {
            let color = rgb(self.series_color(i)).mix(f64::from(s.alpha));
            for run in runs {
                draw_series(&plot_area, s, run, color)?;
            }
        }

        // The frame around the plot, over plotters' left and bottom axis lines. (It is drawn
        // on the panel: plotters clamps coordinates to the area drawn on.)
        let frame = [(plot_x - 1, plot_y - 1), (plot_x + pw, plot_y + ph)];
        area.draw(&Rectangle::new(frame, rgb(FRAME)))?;

        let base = area.get_base_pixel();
        let to_panel = |v: Pt| {
            let (x, y) = chart.backend_coord(&v);
            (x - base.0, y - base.1)
        };
        let cap = (CAP * t).round() as i32;
        let xlabels = thinned_labels(&lay.xt, lay.xlim, pw, t, true);
        for (&v, l) in lay.xt.pos.iter().zip(&xlabels) {
            let x = to_panel((v, lay.ylim.0)).0;
            draw_text(area, l, t, INK, (x, plot_y + ph + LABEL_DIST), HPos::Center)?;
        }
        let ylabels = thinned_labels(&lay.yt, lay.ylim, ph, t, false);
        for (&v, l) in lay.yt.pos.iter().zip(&ylabels) {
            let at = (plot_x - LABEL_DIST, to_panel((lay.xlim.0, v)).1 - cap / 2);
            draw_text(area, l, t, INK, at, HPos::Right)?;
        }

        let entries = self.legend_entries((pw, ph), t);
        if !entries.is_empty() {
            self.draw_legend(&plot_area, (pw, ph), &px, &entries, t)?;
        }

        if !self.xlabel.is_empty() {
            let (s, sz) = fit(&self.xlabel, t, size.0 - 8);
            let cx = keep_inside(plot_x + pw / 2, text_width(&s, sz) / 2, 4, size.0 - 4);
            let y = plot_y + ph + LABEL_DIST + cap + XLABEL_GAP;
            draw_text(area, &s, sz, INK, (cx, y), HPos::Center)?;
        }
        if !self.ylabel.is_empty() {
            let (s, sz) = fit(&self.ylabel, t, size.1 - 8);
            let cy = keep_inside(plot_y + ph / 2, text_width(&s, sz) / 2, 4, size.1 - 4);
            draw_text_up(area, &s, sz, (PAD, cy))?;
        }
        Ok(())
    }

    /// Draws the legend box in the corner of the `pw × ph` plot where it hides the least of
    /// the series `px` (plot pixels; first choice upper right).
    fn draw_legend(
        &self,
        plot: &Area,
        (pw, ph): (i32, i32),
        px: &[Vec<Px>],
        entries: &[(usize, String)],
        t: f64,
    ) -> DrawResult {
        let text_w = entries
            .iter()
            .map(|e| text_width(&e.1, t))
            .max()
            .unwrap_or(0);
        let sample = legend_sample(t);
        let row = legend_row(t);
        let bw = 2 * LEGEND_MARGIN + sample + LEGEND_GAP + text_w;
        let bh = 2 * LEGEND_MARGIN + row * entries.len() as i32;
        let corners = [
            (pw - LEGEND_INSET - bw, LEGEND_INSET),
            (LEGEND_INSET, LEGEND_INSET),
            (pw - LEGEND_INSET - bw, ph - LEGEND_INSET - bh),
            (LEGEND_INSET, ph - LEGEND_INSET - bh),
        ];
        // Ink under a box: the length of line inside it plus a marker's width per point.
        let hidden = |(bx, by): (i32, i32)| -> i64 {
            let lo = (f64::from(bx - 2), f64::from(by - 2));
            let hi = (f64::from(bx + bw + 2), f64::from(by + bh + 2));
            let f = |p: (i32, i32)| (f64::from(p.0), f64::from(p.1));
            let mut ink = 0.0;
            for (s, runs) in self.series.iter().zip(px) {
                for run in runs {
                    match s.kind {
                        Kind::Line => {
                            for w in run.windows(2) {
                                if let Some((a, b)) = clip(f(w[0]), f(w[1]), lo, hi) {
                                    ink += (b.0 - a.0).hypot(b.1 - a.1) * s.width;
                                }
                            }
                        }
                        Kind::Scatter => {
                            let n = run.iter().filter(|&&p| clip(f(p), f(p), lo, hi).is_some());
                            ink += n.count() as f64 * (2.0 * s.marker + 1.0).powi(2);
                        }
                    }
                }
            }
            ink.round() as i64
        };
        let (bx, by) = corners
            .iter()
            .enumerate()
            .min_by_key(|(i, &c)| (hidden(c), *i))
            .map_or(corners[0], |(_, &c)| c);
        let frame = [(bx, by), (bx + bw, by + bh)];
        plot.draw(&Rectangle::new(frame, rgb(WHITE).mix(0.85).filled()))?;
        plot.draw(&Rectangle::new(frame, rgb([170, 170, 170])))?;
        let cap = (CAP * t).round() as i32;
        for (k, (i, label)) in entries.iter().enumerate() {
            let s = &self.series[*i];
            let color = rgb(self.series_color(*i)).mix(f64::from(s.alpha.max(0.3)));
            let (x, y) = (
                bx + LEGEND_MARGIN,
                by + LEGEND_MARGIN + row * k as i32 + row / 2,
            );
            let run = match s.kind {
                Kind::Line => vec![(x, y), (x + sample, y)],
                Kind::Scatter => vec![(x + sample / 2, y)],
            };
            let sample_series = Series {
                marker: s.marker.max(2.5),
                ..s.clone()
            };
            draw_series(plot, &sample_series, &run, color)?;
            let at = (x + sample + LEGEND_GAP, y - cap / 2);
            draw_text(plot, label, t, INK, at, HPos::Left)?;
        }
        Ok(())
    }
}

/// A polyline or a set of markers in pixels.
type Px = Vec<(i32, i32)>;

/// Draws one visible piece of series `s` (pixel coordinates in `area`) in `color`.
fn draw_series(area: &Area, s: &Series, run: &[(i32, i32)], color: RGBAColor) -> DrawResult {
    match (s.kind, s.style) {
        (Kind::Scatter, _) => {
            let r = s.marker.round().max(1.0) as i32;
            for &p in run {
                area.draw(&Circle::new(p, r, color.filled()))?;
            }
        }
        (Kind::Line, LineStyle::Solid) => stroke(area, run, s.width, color)?,
        (Kind::Line, LineStyle::Dashed) => {
            for piece in dashes(run, dash(s.style, s.width)) {
                stroke(area, &piece, s.width, color)?;
            }
        }
        (Kind::Line, LineStyle::Dotted) => {
            let r = (s.width / 2.0).round().max(1.0) as i32;
            for piece in dashes(run, dash(s.style, s.width)) {
                area.draw(&Circle::new(piece[0], r, color.filled()))?;
            }
        }
    }
    Ok(())
}

/// Strokes the polyline `run` about `width` pixels wide. Plotters smooths only 1-pixel lines
/// (wider ones are filled as jagged polygons), so a wide line is drawn as several smooth
/// 1-pixel strokes shifted by whole pixels.
fn stroke(area: &Area, run: &[(i32, i32)], width: f64, color: RGBAColor) -> DrawResult {
    for (dx, dy) in brush(width) {
        for w in run.windows(2) {
            // Left to right, top down: the bitmap backend drops horizontal lines drawn
            // right to left (and translucent vertical ones drawn upwards).
            let (a, b) = if w[0] <= w[1] {
                (w[0], w[1])
            } else {
                (w[1], w[0])
            };
            let seg = vec![(a.0 + dx, a.1 + dy), (b.0 + dx, b.1 + dy)];
            area.draw(&PathElement::new(seg, color))?;
        }
    }
    Ok(())
}

/// The points of a pixel polyline at least about 2 px apart (and its last point): dense
/// polylines become chords that plotters' anti-aliased lines draw smoothly, and faster.
fn thin(run: impl Iterator<Item = (i32, i32)>) -> Px {
    let mut out: Px = Vec::new();
    let mut last = None;
    for p in run {
        match out.last() {
            Some(&q) if (p.0 - q.0).pow(2) + (p.1 - q.1).pow(2) < 5 => last = Some(p),
            _ => {
                out.push(p);
                last = None;
            }
        }
    }
    if let Some(p) = last {
        out.push(p);
    }
    out
}

/// Pixel offsets of the 1-pixel strokes that make a line about `width` pixels wide.
fn brush(width: f64) -> Vec<(i32, i32)> {
    let k = width.round().max(1.0) as i32;
    match k {
        1 => vec![(0, 0)],
        2 => vec![(0, 0), (1, 0), (0, 1)],
        _ => {
            let (c, r) = (f64::from(k - 1) / 2.0, f64::from(k) / 2.0);
            (0..k)
                .flat_map(|i| (0..k).map(move |j| (i, j)))
                .filter(|&(i, j)| (f64::from(i) - c).hypot(f64::from(j) - c) <= r)
                .map(|(i, j)| (i - (k - 1) / 2, j - (k - 1) / 2))
                .collect()
        }
    }
}

/// The pieces of the polyline `run` drawn by a dash pattern of `on` pixels drawn and `off`
/// pixels skipped, measured along the line.
fn dashes(run: &[(i32, i32)], (on, off): (i32, i32)) -> Vec<Px> {
    let (on, off) = (f64::from(on.max(1)), f64::from(off.max(1)));
    let f = |p: (i32, i32)| (f64::from(p.0), f64::from(p.1));
    let px = |p: Pt| (p.0.round() as i32, p.1.round() as i32);
    let mut pieces = Vec::new();
    let mut cur: Px = run.first().map(|&p| vec![p]).unwrap_or_default();
    let (mut drawing, mut left) = (true, on);
    for w in run.windows(2) {
        let (mut a, b) = (f(w[0]), f(w[1]));
        let mut d = (b.0 - a.0).hypot(b.1 - a.1);
        while d >= left {
            let t = left / d;
            a = (a.0 + t * (b.0 - a.0), a.1 + t * (b.1 - a.1));
            d -= left;
            if drawing {
                cur.push(px(a));
                pieces.push(std::mem::take(&mut cur));
            } else {
                cur = vec![px(a)];
            }
            drawing = !drawing;
            left = if drawing { on } else { off };
        }
        left -= d;
        if drawing {
            cur.push(w[1]);
        }
    }
    if drawing && !cur.is_empty() {
        pieces.push(cur);
    }
    for p in &mut pieces {
        p.dedup();
    }
    pieces
}

/// Length of a legend's line or marker sample.
fn legend_sample(t: f64) -> i32 {
    (1.6 * t).round() as i32
}

/// Height of a legend row.
fn legend_row(t: f64) -> i32 {
    (1.35 * t).round() as i32
}

/// Dash pattern `(on, off)` in pixels for a style and line width.
fn dash(style: LineStyle, width: f64) -> (i32, i32) {
    match style {
        LineStyle::Solid | LineStyle::Dashed => (
            (5.0 + 2.0 * width).round() as i32,
            (3.0 + 2.0 * width).round() as i32,
        ),
        LineStyle::Dotted => (1, (2.0 + 1.5 * width).round() as i32),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

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
        let (x, y) = equalize((0.0, 1.0), (0.0, 1.0), (300, 200));
        let ux = (x.1 - x.0) / 300.0;
        let uy = (y.1 - y.0) / 200.0;
        assert!((ux - uy).abs() < 1e-12);
        assert_eq!(y, (0.0, 1.0));
        assert!(x.0 < 0.0 && x.1 > 1.0);
    }

    #[test]
    fn clipping_keeps_visible_pieces() {
        let (lo, hi) = ((0.0, 0.0), (1.0, 1.0));
        assert_eq!(
            clip((0.2, 0.2), (0.8, 0.8), lo, hi),
            Some(((0.2, 0.2), (0.8, 0.8)))
        );
        assert_eq!(
            clip((-1.0, 0.5), (2.0, 0.5), lo, hi),
            Some(((0.0, 0.5), (1.0, 0.5)))
        );
        assert_eq!(clip((2.0, 2.0), (3.0, 3.0), lo, hi), None);
        assert_eq!(
            clip((-1.0, 2.0), (2.0, -1.0), lo, hi).map(|s| s.0),
            Some((0.0, 1.0))
        );
        // In, out, back in, a gap, then two points: three runs.
        let pts = [
            Some((0.5, 0.5)),
            Some((0.5, 2.0)),
            Some((0.6, 0.5)),
            Some((0.7, 0.5)),
            None,
            Some((0.1, 0.1)),
            Some((0.2, 0.2)),
        ];
        let runs = visible_runs(&pts, lo, hi);
        assert_eq!(runs.len(), 3, "{runs:?}");
        assert_eq!(runs[0], vec![(0.5, 0.5), (0.5, 1.0)]);
        assert_eq!(runs[1].last(), Some(&(0.7, 0.5)));
        assert_eq!(runs[2], vec![(0.1, 0.1), (0.2, 0.2)]);
    }

    #[test]
    fn dashes_follow_the_line() {
        let run = [(0, 0), (20, 0), (20, 10)];
        let d = dashes(&run, (5, 3));
        assert_eq!(d[0], vec![(0, 0), (5, 0)]);
        assert_eq!(d[1], vec![(8, 0), (13, 0)]);
        // A dash turns the corner.
        assert_eq!(d[2], vec![(16, 0), (20, 0), (20, 1)]);
        let drawn: f64 = d
            .iter()
            .flat_map(|p| p.windows(2))
            .map(|w| f64::from((w[1].0 - w[0].0).abs() + (w[1].1 - w[0].1).abs()))
            .sum();
        assert!((drawn - 5.0 * 30.0 / 8.0).abs() <= 3.0, "{drawn}");
        assert!(dashes(&[], (5, 3)).is_empty());
        assert_eq!(dashes(&[(1, 1)], (5, 3)), vec![vec![(1, 1)]]);
    }

    #[test]
    fn thinning_keeps_ends_and_spacing() {
        let run: Vec<(i32, i32)> = (0..10).map(|i| (i, 0)).collect();
        assert_eq!(thin(run.into_iter()), vec![(0, 0), (3, 0), (6, 0), (9, 0)]);
        assert_eq!(thin([(0, 0), (1, 0)].into_iter()), vec![(0, 0), (1, 0)]);
        assert_eq!(thin([(4, 4), (4, 4)].into_iter()), vec![(4, 4), (4, 4)]);
        assert!(thin(std::iter::empty()).is_empty());
    }

    #[test]
    fn brush_widths() {
        assert_eq!(brush(1.0), vec![(0, 0)]);
        assert_eq!(brush(1.6).len(), 3);
        assert_eq!(brush(3.0).len(), 9);
        assert!(brush(f64::NAN).len() == 1);
    }

    #[test]
    fn styling_applies_to_last_series() {
        let mut ax = Axes::new();
        ax.color([1, 2, 3]); // no series yet: ignored
        ax.line(&[0.0, 1.0], &[0.0, 1.0], Some("$\\theta$"))
            .scatter(&[0.0f32], &[1.0f32, 2.0], None)
            .color([9, 9, 9])
            .width(f64::NAN);
        assert_eq!(ax.series_color(0), PALETTE[0]);
        assert_eq!(ax.series_color(1), [9, 9, 9]);
        assert_eq!(ax.series[1].xs.len(), 1);
        assert_eq!(ax.series[1].width, 1.6);
        assert_eq!(ax.series[0].label.as_deref(), Some("θ"));
    }
}
