//! Heatmap and image panels: colour-mapped grids of cells with optional colour bar.

use super::canvas::{Align, Canvas, Rect};
use super::colormap::{luminance, normalize, BAD};
use super::font;
use super::ticks;
use super::{Color, Colormap, Theme, FRAME, INK, WHITE};

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
            title: title.to_string(),
            cmap: Colormap::Diverging,
            range: None,
            values: None,
            colorbar: true,
        }
    }

    /// Sets the title.
    pub fn title(&mut self, t: &str) -> &mut Self {
        self.title = t.to_string();
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

    pub(super) fn render(&self, cv: &mut Canvas, area: Rect, th: &Theme) {
        let all: Vec<f64> = self.rows.iter().flatten().copied().collect();
        let range = self.cmap.range(&all, self.range);
        let (nr, nc) = (self.rows.len(), self.cols);
        let bar = self.colorbar.then_some((self.cmap, range));
        let Some(grid) = frame(cv, area, th, &self.title, (nr, nc), bar) else {
            return;
        };
        let colour = |r: usize, c: usize| self.cmap.map(normalize(self.value(r, c), range));
        fill_cells(cv, grid, nr, nc, &colour);
        let small = nr <= 8 && nc <= 8;
        let cell = (grid.w / nc.max(1) as i64).min(grid.h / nr.max(1) as i64);
        if small && cell >= 8 {
            separate_cells(cv, grid, nr, nc);
        }
        if self.values.unwrap_or(small) {
            for r in 0..nr {
                for c in 0..nc {
                    let v = self.value(r, c);
                    if v.is_finite() {
                        let cellr = cell_rect(grid, nr, nc, r, c);
                        cell_text(cv, cellr, v, colour(r, c), th);
                    }
                }
            }
        }
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
            caption: caption.to_string(),
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
            caption: caption.to_string(),
            cmap: Colormap::Gray,
            range: None,
            colorbar: false,
        }
    }

    /// Sets the caption drawn above the image.
    pub fn caption(&mut self, t: &str) -> &mut Self {
        self.caption = t.to_string();
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

    pub(super) fn render(&self, cv: &mut Canvas, area: Rect, th: &Theme) {
        let range = if self.rgb {
            self.range
                .filter(|(a, b)| a.is_finite() && b.is_finite() && a < b)
                .unwrap_or((0.0, 1.0))
        } else {
            self.cmap.range(&self.pixels, self.range)
        };
        let bar = (self.colorbar && !self.rgb).then_some((self.cmap, range));
        let Some(grid) = frame(cv, area, th, &self.caption, (self.h, self.w), bar) else {
            return;
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
            fill_cells(cv, grid, self.h, self.w, &colour);
        } else {
            let colour = |r: usize, c: usize| self.cmap.map(normalize(at(index(r, c, 0)), range));
            fill_cells(cv, grid, self.h, self.w, &colour);
        }
    }
}

const BAR_W: i64 = 12;
const BAR_GAP: i64 = 10;

/// Draws the title and the colour bar, and returns the rectangle for the cells
/// (square cells, centred), or `None` when nothing fits or the grid is empty.
fn frame(
    cv: &mut Canvas,
    area: Rect,
    th: &Theme,
    title: &str,
    (nr, nc): (usize, usize),
    bar: Option<(Colormap, (f64, f64))>,
) -> Option<Rect> {
    let title_h = if title.is_empty() {
        0
    } else {
        font::CAP * i64::from(th.title) + 8
    };
    let top = area.y + 8 + title_h;
    let bar_ticks = bar.map(|(_, (lo, hi))| ticks::linear_ticks(lo, hi));
    let reserve = bar_ticks.as_ref().map_or(0, |t| {
        let lw = t
            .labels
            .iter()
            .map(|l| font::text_width(l, th.text))
            .max()
            .unwrap_or(0);
        BAR_GAP + BAR_W + 8 + lw + 2
    });
    let avail = Rect::new(
        area.x + 8,
        top,
        area.w - 16 - reserve,
        area.bottom() - 10 - top,
    );
    let draw_title = |cv: &mut Canvas, cx: i64, bottom: i64| {
        if title.is_empty() {
            return;
        }
        let (t, s) = font::fit(title, th.title, area.w - 8);
        let half = font::text_width(&t, s) / 2;
        let cx = cx.clamp(area.x + 4 + half, area.right() - 4 - half);
        cv.text(
            cx,
            bottom - font::CAP * i64::from(s),
            &t,
            s,
            INK,
            Align::Center,
        );
    };
    if nr == 0 || nc == 0 || avail.w < 4 || avail.h < 4 {
        draw_title(cv, area.x + area.w / 2, top - 8);
        if nr == 0 || nc == 0 {
            let cy = avail.y + avail.h / 2;
            let (cx, s) = (area.x + area.w / 2, th.text);
            cv.text(cx, cy, "(empty)", s, INK, Align::Center);
        }
        return None;
    }
    let mut cell = (avail.w as f64 / nc as f64).min(avail.h as f64 / nr as f64);
    // Whole-pixel cells look crisper, unless rounding down wastes much of the space.
    if cell >= 2.0 && cell.floor() / cell >= 0.85 {
        cell = cell.floor();
    }
    let gw = ((nc as f64 * cell).round() as i64).clamp(1, avail.w);
    let gh = ((nr as f64 * cell).round() as i64).clamp(1, avail.h);
    let block = gw + reserve;
    let gx = area.x + (area.w - block) / 2;
    let gy = avail.y + (avail.h - gh) / 2;
    let grid = Rect::new(gx, gy, gw, gh);
    // The title sits just above the cells, centred on them.
    draw_title(cv, gx + gw / 2, gy - 8);
    cv.stroke_rect(Rect::new(gx - 1, gy - 1, gw + 2, gh + 2), FRAME);
    if let (Some((cmap, range)), Some(t)) = (bar, bar_ticks) {
        colorbar(cv, grid, cmap, range, &t, th);
    }
    Some(grid)
}

fn colorbar(
    cv: &mut Canvas,
    grid: Rect,
    cmap: Colormap,
    range: (f64, f64),
    t: &ticks::Ticks,
    th: &Theme,
) {
    let bar = Rect::new(grid.right() + BAR_GAP, grid.y, BAR_W, grid.h);
    for y in bar.y..bar.bottom() {
        let f = 1.0 - ((y - bar.y) as f64 + 0.5) / bar.h as f64;
        cv.hline(bar.x, bar.right() - 1, y, cmap.map(f));
    }
    cv.stroke_rect(Rect::new(bar.x - 1, bar.y - 1, bar.w + 2, bar.h + 2), FRAME);
    let ch = font::CAP * i64::from(th.text);
    let ys: Vec<f64> = t
        .pos
        .iter()
        .map(|&v| bar.bottom() as f64 - normalize(v, range) * bar.h as f64)
        .collect();
    let stride = ticks::label_stride(&ys, &vec![ch; ys.len()], 3.0);
    for (i, (&y, label)) in ys.iter().zip(&t.labels).enumerate() {
        let y = (y.floor() as i64).clamp(bar.y - 1, bar.bottom());
        cv.hline(bar.right() + 1, bar.right() + 3, y, FRAME);
        if i % stride == 0 {
            cv.text(
                bar.right() + 8,
                y - ch / 2,
                label,
                th.text,
                INK,
                Align::Left,
            );
        }
    }
}

/// Fills `grid` by nearest-neighbour sampling of an `nr × nc` cell grid.
fn fill_cells(
    cv: &mut Canvas,
    grid: Rect,
    nr: usize,
    nc: usize,
    colour: &dyn Fn(usize, usize) -> Color,
) {
    let cols: Vec<usize> = (0..grid.w)
        .map(|x| ((x as f64 + 0.5) * nc as f64 / grid.w as f64) as usize)
        .map(|c| c.min(nc - 1))
        .collect();
    let mut row_cache: Vec<Color> = Vec::new();
    let mut cached: Option<usize> = None;
    for y in 0..grid.h {
        let r = (((y as f64 + 0.5) * nr as f64 / grid.h as f64) as usize).min(nr - 1);
        if cached != Some(r) {
            row_cache = cols.iter().map(|&c| colour(r, c)).collect();
            cached = Some(r);
        }
        for (x, &c) in (0..).zip(&row_cache) {
            cv.put(grid.x + x, grid.y + y, c);
        }
    }
}

/// Pixel rectangle of cell `(r, c)`.
fn cell_rect(grid: Rect, nr: usize, nc: usize, r: usize, c: usize) -> Rect {
    let x0 = grid.x + (c as i64 * grid.w) / nc as i64;
    let x1 = grid.x + ((c as i64 + 1) * grid.w) / nc as i64;
    let y0 = grid.y + (r as i64 * grid.h) / nr as i64;
    let y1 = grid.y + ((r as i64 + 1) * grid.h) / nr as i64;
    Rect::new(x0, y0, x1 - x0, y1 - y0)
}

/// Thin white lines between cells.
fn separate_cells(cv: &mut Canvas, grid: Rect, nr: usize, nc: usize) {
    for c in 1..nc {
        let x = cell_rect(grid, nr, nc, 0, c).x;
        cv.vline(x, grid.y, grid.bottom() - 1, WHITE);
    }
    for r in 1..nr {
        let y = cell_rect(grid, nr, nc, r, 0).y;
        cv.hline(grid.x, grid.right() - 1, y, WHITE);
    }
}

/// Prints `v` centred in `cell` with the largest size and precision that fit.
fn cell_text(cv: &mut Canvas, cell: Rect, v: f64, bg: Color, th: &Theme) {
    let fg = if luminance(bg) < 0.5 { WHITE } else { INK };
    for scale in [th.title, th.text] {
        for sig in [3, 2, 1] {
            let s = ticks::format_sig(v, sig);
            let w = font::text_width(&s, scale);
            let h = font::CAP * i64::from(scale);
            if w <= cell.w - 4 && h <= cell.h - 4 {
                let cx = cell.x + cell.w / 2;
                let y = cell.y + (cell.h - h) / 2;
                cv.text(cx, y, &s, scale, fg, Align::Center);
                return;
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn theme() -> Theme {
        Theme::new(1)
    }

    #[test]
    fn heatmap_handles_ragged_empty_and_nan() {
        let area = Rect::new(0, 0, 200, 150);
        let cases: Vec<Vec<Vec<f64>>> = vec![
            vec![],
            vec![vec![]],
            vec![vec![1.0, 2.0], vec![3.0]],
            vec![vec![f64::NAN, f64::INFINITY], vec![-f64::MAX, 0.0]],
            vec![vec![0.0; 40]; 3],
        ];
        for m in cases {
            let mut cv = Canvas::new(200, 150, WHITE);
            Heatmap::new(&m, "t").render(&mut cv, area, &theme());
        }
    }

    #[test]
    fn heatmap_colours_follow_values() {
        let mut cv = Canvas::new(200, 200, WHITE);
        let mut h = Heatmap::new(&[[-1.0, 1.0]], "");
        h.show_values(false).colorbar(false);
        h.render(&mut cv, Rect::new(0, 0, 200, 200), &theme());
        // Left cell blue, right cell red, both at mid-height.
        let l = cv.get(50, 100).unwrap();
        let r = cv.get(150, 100).unwrap();
        assert!(l[2] > l[0], "{l:?}");
        assert!(r[0] > r[2], "{r:?}");
    }

    #[test]
    fn image_scales_with_nearest_neighbour() {
        let mut cv = Canvas::new(100, 100, WHITE);
        let img = ImagePanel::gray(&[0.0f32, 1.0, 1.0, 0.0], 2, 2, "", Colormap::Gray);
        img.render(&mut cv, Rect::new(0, 0, 100, 100), &theme());
        let grid = Rect::new(8, 8, 84, 82);
        // Cells are square: 41 px each, centred.
        let tl = cv.get(30, 30).unwrap();
        let tr = cv.get(70, 30).unwrap();
        assert_eq!(tl, [0, 0, 0]);
        assert_eq!(tr, [255, 255, 255]);
        assert!(grid.w > 0);
    }

    #[test]
    fn rgb_planar_and_interleaved_agree() {
        let inter = [1.0f32, 0.0, 0.0, 0.0, 0.0, 1.0];
        let planar = [1.0f32, 0.0, 0.0, 0.0, 0.0, 1.0];
        let a = ImagePanel::rgb(&inter, 1, 2, "", false);
        let b = ImagePanel::rgb(&planar, 1, 2, "", true);
        assert_eq!(a.pixels, vec![1.0, 0.0, 0.0, 0.0, 0.0, 1.0]);
        assert_eq!(b.pixels, vec![1.0, 0.0, 0.0, 0.0, 0.0, 1.0]);
        let short = ImagePanel::rgb(&[0.5f32], 10, 10, "", true);
        let mut cv = Canvas::new(60, 60, WHITE);
        short.render(&mut cv, Rect::new(0, 0, 60, 60), &theme());
    }

    #[test]
    fn image_with_huge_dims_and_few_pixels_does_not_allocate_or_panic() {
        let img = ImagePanel::gray(&[1.0f32; 4], usize::MAX, 3, "x", Colormap::Viridis);
        let mut cv = Canvas::new(60, 60, WHITE);
        img.render(&mut cv, Rect::new(0, 0, 60, 60), &theme());
        let img = ImagePanel::gray(&[1.0f32; 4], 1_000_000, 1_000_000, "x", Colormap::Gray);
        img.render(&mut cv, Rect::new(0, 0, 60, 60), &theme());
    }
}
