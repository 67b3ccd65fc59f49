//! Heatmap and image panels: colour-mapped grids of cells with an optional colour bar.

use plotters::prelude::*;
use plotters::style::text_anchor::HPos;

use super::colormap::{luminance, normalize, BAD};
use super::ticks;
use super::{draw_text, fit, markup, rgb, text_width, Area, DrawError, DrawResult, Theme, CAP};
use super::{Color, Colormap, FRAME, INK, WHITE};

/// A matrix drawn as coloured cells, by default with a blue–white–red map symmetric
/// about zero, a colour bar, and the values printed in cells for matrices up to 8×8.
#[derive(Clone, Debug)]
pub struct Heatmap {
    rows: Vec<Vec<f64>>,
    cols: usize,
    title: String,
    cmap: Colormap,
    range: Option<(f64, f64)>,
    values: Option<bool>,
    colorbar: bool,
}

/// An image (grayscale mapped through a colormap, or RGB) scaled to the panel with
/// nearest-neighbour sampling and square pixels, with a caption above it.
#[derive(Clone, Debug)]
pub struct ImagePanel {
    pixels: Vec<f64>,
    h: usize,
    w: usize,
    rgb: bool,
    caption: String,
    cmap: Colormap,
    range: Option<(f64, f64)>,
    colorbar: bool,
}

impl Heatmap {
    pub(super) fn new<R, T>(rows: &[R], title: &str) -> Self
    where
        R: AsRef<[T]>,
        T: Copy + Into<f64>,
    {
        let rows: Vec<Vec<f64>> = rows
            .iter()
            .map(|r| r.as_ref().iter().map(|&v| v.into()).collect())
            .collect();
        let cols = rows.iter().map(Vec::len).max().unwrap_or(0);
        Heatmap {
            rows,
            cols,
            title: markup(title),
            cmap: Colormap::Diverging,
            range: None,
            values: None,
            colorbar: true,
        }
    }

    /// Sets the title.
    pub fn title(&mut self, t: &str) -> &mut Self {
        self.title = markup(t);
        self
    }

    /// Sets the colormap (default [`Colormap::Diverging`]; [`Colormap::Viridis`] for
    /// sequential data).
    pub fn colormap(&mut self, c: Colormap) -> &mut Self {
        self.cmap = c;
        self
    }

    /// Fixes the value range mapped onto the colormap (ignored unless finite, `lo < hi`).
    pub fn range(&mut self, lo: f64, hi: f64) -> &mut Self {
        self.range = Some((lo, hi));
        self
    }

    /// Forces printing cell values on or off (default: on for matrices up to 8×8).
    pub fn show_values(&mut self, on: bool) -> &mut Self {
        self.values = Some(on);
        self
    }

    /// Shows or hides the colour bar (default shown).
    pub fn colorbar(&mut self, on: bool) -> &mut Self {
        self.colorbar = on;
        self
    }

    fn value(&self, r: usize, c: usize) -> f64 {
        self.rows
            .get(r)
            .and_then(|row| row.get(c))
            .copied()
            .unwrap_or(f64::NAN)
    }

    pub(super) fn draw(&self, area: &Area, th: &Theme) -> DrawResult {
        let all: Vec<f64> = self.rows.iter().flatten().copied().collect();
        let range = self.cmap.range(&all, self.range);
        let (nr, nc) = (self.rows.len(), self.cols);
        let bar = self.colorbar.then_some((self.cmap, range));
        let Some(grid) = frame(area, th, &self.title, (nr, nc), bar)? else {
            return Ok(());
        };
        let colour = |r: usize, c: usize| self.cmap.map(normalize(self.value(r, c), range));
        fill_cells(area, grid, nr, nc, &colour)?;
        let small = nr <= 8 && nc <= 8;
        let cell = (grid.w / nc.max(1) as i32).min(grid.h / nr.max(1) as i32);
        if small && cell >= 8 {
            separate_cells(area, grid, nr, nc)?;
        }
        if self.values.unwrap_or(small) {
            for r in 0..nr {
                for c in 0..nc {
                    let v = self.value(r, c);
                    if v.is_finite() {
                        cell_text(area, cell_rect(grid, nr, nc, r, c), v, colour(r, c), th)?;
                    }
                }
            }
        }
        Ok(())
    }
}

impl ImagePanel {
    pub(super) fn gray<T: Copy + Into<f64>>(
        pixels: &[T],
        h: usize,
        w: usize,
        caption: &str,
        cmap: Colormap,
    ) -> Self {
        let n = h.checked_mul(w).unwrap_or(0).min(pixels.len());
        ImagePanel {
            pixels: pixels[..n].iter().map(|&v| v.into()).collect(),
            h,
            w,
            rgb: false,
            caption: markup(caption),
            cmap,
            range: None,
            colorbar: false,
        }
    }

    /// `planar`: channel-major `[3][h][w]` layout instead of interleaved `[h][w][3]`.
    pub(super) fn rgb<T: Copy + Into<f64>>(
        pixels: &[T],
        h: usize,
        w: usize,
        caption: &str,
        planar: bool,
    ) -> Self {
        let hw = h.checked_mul(w).unwrap_or(0);
        let n = hw.checked_mul(3).unwrap_or(0).min(pixels.len());
        let px: Vec<f64> = if planar {
            let get = |i: usize| pixels.get(i).map_or(f64::NAN, |&v| v.into());
            (0..n)
                .map(|i| {
                    let (p, ch) = (i / 3, i % 3);
                    get(ch * hw + p)
                })
                .collect()
        } else {
            pixels[..n].iter().map(|&v| v.into()).collect()
        };
        ImagePanel {
            pixels: px,
            h,
            w,
            rgb: true,
            caption: markup(caption),
            cmap: Colormap::Gray,
            range: None,
            colorbar: false,
        }
    }

    /// Sets the caption drawn above the image.
    pub fn caption(&mut self, t: &str) -> &mut Self {
        self.caption = markup(t);
        self
    }

    /// Sets the colormap of a grayscale image.
    pub fn colormap(&mut self, c: Colormap) -> &mut Self {
        self.cmap = c;
        self
    }

    /// Fixes the value range mapped to black..white (or the colormap ends); use the same
    /// range on several frames to compare them. RGB images default to `0..1`.
    pub fn range(&mut self, lo: f64, hi: f64) -> &mut Self {
        self.range = Some((lo, hi));
        self
    }

    /// Shows or hides a colour bar for grayscale images (default hidden).
    pub fn colorbar(&mut self, on: bool) -> &mut Self {
        self.colorbar = on;
        self
    }

    pub(super) fn draw(&self, area: &Area, th: &Theme) -> DrawResult {
        let range = if self.rgb {
            self.range
                .filter(|(a, b)| a.is_finite() && b.is_finite() && a < b)
                .unwrap_or((0.0, 1.0))
        } else {
            self.cmap.range(&self.pixels, self.range)
        };
        let bar = (self.colorbar && !self.rgb).then_some((self.cmap, range));
        let Some(grid) = frame(area, th, &self.caption, (self.h, self.w), bar)? else {
            return Ok(());
        };
        let at = |i: Option<usize>| {
            i.and_then(|i| self.pixels.get(i))
                .copied()
                .unwrap_or(f64::NAN)
        };
        let index = |r: usize, c: usize, k: usize| {
            r.checked_mul(self.w)?
                .checked_add(c)?
                .checked_mul(if self.rgb { 3 } else { 1 })?
                .checked_add(k)
        };
        if self.rgb {
            let colour = |r: usize, c: usize| -> Color {
                let ch = [0, 1, 2].map(|k| at(index(r, c, k)));
                if ch.iter().any(|v| v.is_nan()) {
                    return BAD;
                }
                ch.map(|v| (normalize(v, range) * 255.0).round() as u8)
            };
            fill_cells(area, grid, self.h, self.w, &colour)
        } else {
            let colour = |r: usize, c: usize| self.cmap.map(normalize(at(index(r, c, 0)), range));
            fill_cells(area, grid, self.h, self.w, &colour)
        }
    }
}

/// A pixel rectangle in a panel.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
struct Rect {
    x: i32,
    y: i32,
    w: i32,
    h: i32,
}

impl Rect {
    fn right(&self) -> i32 {
        self.x + self.w
    }

    fn bottom(&self) -> i32 {
        self.y + self.h
    }
}

const BAR_W: i32 = 12;
const BAR_GAP: i32 = 10;

/// Draws the title and the colour bar, and returns the rectangle for the cells
/// (square cells, centred), or `None` when nothing fits or the grid is empty.
fn frame(
    area: &Area,
    th: &Theme,
    title: &str,
    (nr, nc): (usize, usize),
    bar: Option<(Colormap, (f64, f64))>,
) -> Result<Option<Rect>, DrawError> {
    let (w, h) = area.dim_in_pixel();
    let (w, h) = (w as i32, h as i32);
    let title_h = if title.is_empty() {
        0
    } else {
        (th.title * 0.95).round() as i32 + 8
    };
    let top = 8 + title_h;
    let bar_ticks = bar.map(|(_, (lo, hi))| ticks::linear_ticks(lo, hi));
    let reserve = bar_ticks.as_ref().map_or(0, |t| {
        let lw = t.labels.iter().map(|l| text_width(l, th.text)).max();
        BAR_GAP + BAR_W + 6 + lw.unwrap_or(0) + 2
    });
    let avail = Rect {
        x: 8,
        y: top,
        w: w - 16 - reserve,
        h: h - 10 - top,
    };
    let draw_title = |cx: i32, baseline: i32| -> DrawResult {
        let (t, s) = fit(title, th.title, w - 8);
        let cx = cx
            .min(w - 4 - text_width(&t, s) / 2)
            .max(4 + text_width(&t, s) / 2);
        let y = baseline - (CAP * s).round() as i32;
        draw_text(area, &t, s, INK, (cx, y), HPos::Center)
    };
    if nr == 0 || nc == 0 || avail.w < 4 || avail.h < 4 {
        draw_title(w / 2, top - 8)?;
        if nr == 0 || nc == 0 {
            let y = avail.y + avail.h / 2;
            draw_text(area, "(empty)", th.text, INK, (w / 2, y), HPos::Center)?;
        }
        return Ok(None);
    }
    let mut cell = (f64::from(avail.w) / nc as f64).min(f64::from(avail.h) / nr as f64);
    // Whole-pixel cells look crisper, unless rounding down wastes much of the space.
    if cell >= 2.0 && cell.floor() / cell >= 0.85 {
        cell = cell.floor();
    }
    let gw = ((nc as f64 * cell).round() as i32).clamp(1, avail.w);
    let gh = ((nr as f64 * cell).round() as i32).clamp(1, avail.h);
    let grid = Rect {
        x: (w - gw - reserve) / 2,
        y: avail.y + (avail.h - gh) / 2,
        w: gw,
        h: gh,
    };
    // The title sits just above the cells, centred on them.
    draw_title(grid.x + gw / 2, grid.y - 8)?;
    area.draw(&Rectangle::new(
        [(grid.x - 1, grid.y - 1), (grid.right(), grid.bottom())],
        rgb(FRAME),
    ))?;
    if let (Some((cmap, range)), Some(t)) = (bar, bar_ticks) {
        colorbar(area, grid, cmap, range, &t, th)?;
    }
    Ok(Some(grid))
}

/// Draws `pixels` (`w × h` RGB) with its top-left corner at `(x, y)`.
fn blit(area: &Area, (x, y): (i32, i32), (w, h): (i32, i32), pixels: Vec<u8>) -> DrawResult {
    let size = (w.max(0) as u32, h.max(0) as u32);
    match BitMapElement::with_owned_buffer((x, y), size, pixels) {
        Some(bitmap) => area.draw(&bitmap),
        None => Ok(()),
    }
}

fn colorbar(
    area: &Area,
    grid: Rect,
    cmap: Colormap,
    range: (f64, f64),
    t: &ticks::Ticks,
    th: &Theme,
) -> DrawResult {
    let bar = Rect {
        x: grid.right() + BAR_GAP,
        y: grid.y,
        w: BAR_W,
        h: grid.h,
    };
    let mut px = Vec::with_capacity((bar.w * bar.h * 3) as usize);
    for y in 0..bar.h {
        let c = cmap.map(1.0 - (f64::from(y) + 0.5) / f64::from(bar.h));
        for _ in 0..bar.w {
            px.extend_from_slice(&c);
        }
    }
    blit(area, (bar.x, bar.y), (bar.w, bar.h), px)?;
    area.draw(&Rectangle::new(
        [(bar.x - 1, bar.y - 1), (bar.right(), bar.bottom())],
        rgb(FRAME),
    ))?;
    let cap = (CAP * th.text).round() as i32;
    let ys: Vec<f64> = t
        .pos
        .iter()
        .map(|&v| f64::from(bar.bottom()) - normalize(v, range) * f64::from(bar.h))
        .collect();
    let stride = ticks::label_stride(&ys, &vec![i64::from(cap); ys.len()], 3.0);
    for (i, (&y, label)) in ys.iter().zip(&t.labels).enumerate() {
        let y = (y.floor() as i32).clamp(bar.y - 1, bar.bottom());
        let tick = vec![(bar.right() + 1, y), (bar.right() + 3, y)];
        area.draw(&PathElement::new(tick, rgb(FRAME)))?;
        if i % stride == 0 {
            let at = (bar.right() + 6, y - cap / 2);
            draw_text(area, label, th.text, INK, at, HPos::Left)?;
        }
    }
    Ok(())
}

/// Fills `grid` by nearest-neighbour sampling of an `nr × nc` cell grid.
fn fill_cells(
    area: &Area,
    grid: Rect,
    nr: usize,
    nc: usize,
    colour: &dyn Fn(usize, usize) -> Color,
) -> DrawResult {
    let (gw, gh) = (grid.w as usize, grid.h as usize);
    let cols: Vec<usize> = (0..gw)
        .map(|x| ((x as f64 + 0.5) * nc as f64 / gw as f64) as usize)
        .map(|c| c.min(nc - 1))
        .collect();
    let mut px = Vec::with_capacity(gw * gh * 3);
    let mut row: Vec<u8> = Vec::new();
    let mut cached: Option<usize> = None;
    for y in 0..gh {
        let r = (((y as f64 + 0.5) * nr as f64 / gh as f64) as usize).min(nr - 1);
        if cached != Some(r) {
            row = cols.iter().flat_map(|&c| colour(r, c)).collect();
            cached = Some(r);
        }
        px.extend_from_slice(&row);
    }
    blit(area, (grid.x, grid.y), (grid.w, grid.h), px)
}

/// Pixel rectangle of cell `(r, c)`.
fn cell_rect(grid: Rect, nr: usize, nc: usize, r: usize, c: usize) -> Rect {
    let at = |i: usize, n: usize, len: i32| (i as i64 * i64::from(len) / n as i64) as i32;
    let (x0, x1) = (at(c, nc, grid.w), at(c + 1, nc, grid.w));
    let (y0, y1) = (at(r, nr, grid.h), at(r + 1, nr, grid.h));
    Rect {
        x: grid.x + x0,
        y: grid.y + y0,
        w: x1 - x0,
        h: y1 - y0,
    }
}

/// Thin white lines between cells.
fn separate_cells(area: &Area, grid: Rect, nr: usize, nc: usize) -> DrawResult {
    let white = rgb(WHITE);
    for c in 1..nc {
        let x = cell_rect(grid, nr, nc, 0, c).x;
        area.draw(&PathElement::new(
            vec![(x, grid.y), (x, grid.bottom() - 1)],
            white,
        ))?;
    }
    for r in 1..nr {
        let y = cell_rect(grid, nr, nc, r, 0).y;
        area.draw(&PathElement::new(
            vec![(grid.x, y), (grid.right() - 1, y)],
            white,
        ))?;
    }
    Ok(())
}

/// Prints `v` centred in `cell` with the largest size and precision that fit.
fn cell_text(area: &Area, cell: Rect, v: f64, bg: Color, th: &Theme) -> DrawResult {
    let fg = if luminance(bg) < 0.5 { WHITE } else { INK };
    for size in [th.title, th.text, (th.text * 0.8).floor()] {
        let h = (CAP * size).round() as i32;
        for sig in [3, 2, 1] {
            let s = ticks::format_sig(v, sig);
            if text_width(&s, size) <= cell.w - 4 && h <= cell.h - 4 {
                let at = (cell.x + cell.w / 2, cell.y + (cell.h - h) / 2);
                return draw_text(area, &s, size, fg, at, HPos::Center);
            }
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::plot::Figure;

    #[test]
    fn heatmap_handles_ragged_empty_and_nan() {
        let cases: Vec<Vec<Vec<f64>>> = vec![
            vec![],
            vec![vec![]],
            vec![vec![1.0, 2.0], vec![3.0]],
            vec![vec![f64::NAN, f64::INFINITY], vec![-f64::MAX, 0.0]],
            vec![vec![0.0; 40]; 3],
        ];
        for m in cases {
            let mut fig = Figure::new(1, 1).panel_size(200, 150);
            fig.heatmap(0, 0, &m, "t").show_values(true);
            fig.render();
        }
    }

    #[test]
    fn heatmap_colours_follow_values() {
        let mut fig = Figure::new(1, 1).panel_size(200, 200);
        fig.heatmap(0, 0, &[[-1.0, 1.0]], "")
            .show_values(false)
            .colorbar(false);
        let img = fig.render();
        // Left cell blue, right cell red, both at mid-height.
        let l = img.get_pixel(50, 100).0;
        let r = img.get_pixel(150, 100).0;
        assert!(l[2] > l[0], "{l:?}");
        assert!(r[0] > r[2], "{r:?}");
    }

    #[test]
    fn image_scales_with_nearest_neighbour() {
        let mut fig = Figure::new(1, 1).panel_size(100, 100);
        fig.image(0, 0, &[0.0f32, 1.0, 1.0, 0.0], 2, 2, "", Colormap::Gray);
        let img = fig.render();
        // Cells are square, 41 px each, centred.
        assert_eq!(img.get_pixel(30, 30).0, [0, 0, 0]);
        assert_eq!(img.get_pixel(70, 30).0, [255, 255, 255]);
        assert_eq!(img.get_pixel(70, 70).0, [0, 0, 0]);
    }

    #[test]
    fn rgb_planar_and_interleaved_agree() {
        let inter = [1.0f32, 0.0, 0.0, 0.0, 0.0, 1.0];
        let planar = [1.0f32, 0.0, 0.0, 0.0, 0.0, 1.0];
        let a = ImagePanel::rgb(&inter, 1, 2, "", false);
        let b = ImagePanel::rgb(&planar, 1, 2, "", true);
        assert_eq!(a.pixels, vec![1.0, 0.0, 0.0, 0.0, 0.0, 1.0]);
        assert_eq!(b.pixels, vec![1.0, 0.0, 0.0, 0.0, 0.0, 1.0]);
        let mut fig = Figure::new(1, 1).panel_size(64, 64);
        fig.image_rgb_planar(0, 0, &[0.5f32], 10, 10, "");
        fig.render();
    }

    #[test]
    fn image_with_huge_dims_and_few_pixels_does_not_allocate_or_panic() {
        let mut fig = Figure::new(1, 2).panel_size(64, 64);
        fig.image(0, 0, &[1.0f32; 4], usize::MAX, 3, "x", Colormap::Viridis);
        fig.image(
            0,
            1,
            &[1.0f32; 4],
            1_000_000,
            1_000_000,
            "x",
            Colormap::Gray,
        );
        fig.render();
    }
}
