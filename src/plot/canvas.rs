//! Pixel canvas with clipped rectangles, antialiased coverage masks for lines and
//! markers, and bitmap text.

use image::{Rgb, RgbImage};

use super::font;
use super::Color;

/// Integer pixel rectangle `[x, x + w) × [y, y + h)`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) struct Rect {
    pub x: i64,
    pub y: i64,
    pub w: i64,
    pub h: i64,
}

impl Rect {
    pub fn new(x: i64, y: i64, w: i64, h: i64) -> Self {
        Rect {
            x,
            y,
            w: w.max(0),
            h: h.max(0),
        }
    }

    pub fn right(&self) -> i64 {
        self.x + self.w
    }

    pub fn bottom(&self) -> i64 {
        self.y + self.h
    }

    pub fn intersect(&self, o: &Rect) -> Rect {
        let x0 = self.x.max(o.x);
        let y0 = self.y.max(o.y);
        let x1 = self.right().min(o.right());
        let y1 = self.bottom().min(o.bottom());
        Rect::new(x0, y0, x1 - x0, y1 - y0)
    }

    pub fn is_empty(&self) -> bool {
        self.w <= 0 || self.h <= 0
    }
}

/// Horizontal text anchor.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum Align {
    Left,
    Center,
    Right,
}

/// RGB drawing surface.
pub(super) struct Canvas {
    img: RgbImage,
}

impl Canvas {
    pub fn new(w: u32, h: u32, bg: Color) -> Self {
        Canvas {
            img: RgbImage::from_pixel(w, h, Rgb(bg)),
        }
    }

    pub fn bounds(&self) -> Rect {
        Rect::new(
            0,
            0,
            i64::from(self.img.width()),
            i64::from(self.img.height()),
        )
    }

    pub fn into_image(self) -> RgbImage {
        self.img
    }

    fn index(&self, x: i64, y: i64) -> Option<(u32, u32)> {
        let (x, y) = (u32::try_from(x).ok()?, u32::try_from(y).ok()?);
        (x < self.img.width() && y < self.img.height()).then_some((x, y))
    }

    #[cfg(test)]
    pub fn get(&self, x: i64, y: i64) -> Option<Color> {
        self.index(x, y).map(|(x, y)| self.img.get_pixel(x, y).0)
    }

    pub fn put(&mut self, x: i64, y: i64, c: Color) {
        if let Some((x, y)) = self.index(x, y) {
            self.img.put_pixel(x, y, Rgb(c));
        }
    }

    /// Blends `c` over the pixel with opacity `a` in `[0, 1]`.
    pub fn blend(&mut self, x: i64, y: i64, c: Color, a: f32) {
        if a.is_nan() || a <= 0.0 {
            return;
        }
        if let Some((x, y)) = self.index(x, y) {
            let a = a.min(1.0);
            let p = self.img.get_pixel_mut(x, y);
            for (dst, src) in p.0.iter_mut().zip(c) {
                let v = f32::from(*dst) * (1.0 - a) + f32::from(src) * a;
                *dst = v.round().clamp(0.0, 255.0) as u8;
            }
        }
    }

    pub fn fill_rect(&mut self, r: Rect, c: Color) {
        let r = r.intersect(&self.bounds());
        for y in r.y..r.bottom() {
            for x in r.x..r.right() {
                self.put(x, y, c);
            }
        }
    }

    pub fn blend_rect(&mut self, r: Rect, c: Color, a: f32) {
        let r = r.intersect(&self.bounds());
        for y in r.y..r.bottom() {
            for x in r.x..r.right() {
                self.blend(x, y, c, a);
            }
        }
    }

    /// One-pixel outline drawn on the rectangle's border pixels.
    pub fn stroke_rect(&mut self, r: Rect, c: Color) {
        if r.is_empty() {
            return;
        }
        self.hline(r.x, r.right() - 1, r.y, c);
        self.hline(r.x, r.right() - 1, r.bottom() - 1, c);
        self.vline(r.x, r.y, r.bottom() - 1, c);
        self.vline(r.right() - 1, r.y, r.bottom() - 1, c);
    }

    /// Horizontal line from `x0` to `x1` inclusive.
    pub fn hline(&mut self, x0: i64, x1: i64, y: i64, c: Color) {
        let b = self.bounds();
        for x in x0.min(x1).max(0)..=x0.max(x1).min(b.w - 1) {
            self.put(x, y, c);
        }
    }

    /// Vertical line from `y0` to `y1` inclusive.
    pub fn vline(&mut self, x: i64, y0: i64, y1: i64, c: Color) {
        let b = self.bounds();
        for y in y0.min(y1).max(0)..=y0.max(y1).min(b.h - 1) {
            self.put(x, y, c);
        }
    }

    /// Draws `text` with its cap line's top at `y`, anchored horizontally at `x`.
    pub fn text(&mut self, x: i64, y: i64, text: &str, scale: u32, c: Color, align: Align) {
        let l = font::layout(text, scale);
        let x0 = match align {
            Align::Left => x,
            Align::Center => x - l.width / 2,
            Align::Right => x - l.width,
        };
        for p in &l.glyphs {
            let s = i64::from(p.scale);
            font::for_each_pixel(p, |gx, gy| {
                let px = x0 + p.x + gx * s;
                let py = y + p.y + gy * s;
                self.fill_rect(Rect::new(px, py, s, s), c);
            });
        }
    }

    /// Draws `text` rotated 90° counter-clockwise (reading bottom to top), centred
    /// vertically on `cy`, with the top of its cap line at column `x`.
    pub fn text_vertical(&mut self, x: i64, cy: i64, text: &str, scale: u32, c: Color) {
        let l = font::layout(text, scale);
        let y0 = cy + l.width / 2;
        for p in &l.glyphs {
            let s = i64::from(p.scale);
            font::for_each_pixel(p, |gx, gy| {
                let along = p.x + gx * s;
                let across = p.y + gy * s;
                self.fill_rect(Rect::new(x + across, y0 - along - s + 1, s, s), c);
            });
        }
    }
}

/// Clips the segment `a–b` to the box `[x0, x1] × [y0, y1]` (Liang–Barsky).
pub(super) fn clip_segment(
    a: (f64, f64),
    b: (f64, f64),
    lo: (f64, f64),
    hi: (f64, f64),
) -> Option<((f64, f64), (f64, f64))> {
    let (dx, dy) = (b.0 - a.0, b.1 - a.1);
    let mut t0 = 0.0f64;
    let mut t1 = 1.0f64;
    let checks = [
        (-dx, a.0 - lo.0),
        (dx, hi.0 - a.0),
        (-dy, a.1 - lo.1),
        (dy, hi.1 - a.1),
    ];
    for (p, q) in checks {
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
            if t0 > t1 {
                return None;
            }
        }
    }
    Some((
        (a.0 + t0 * dx, a.1 + t0 * dy),
        (a.0 + t1 * dx, a.1 + t1 * dy),
    ))
}

/// Distance from `p` to the segment `a–b`.
fn seg_dist(p: (f64, f64), a: (f64, f64), b: (f64, f64)) -> f64 {
    let (dx, dy) = (b.0 - a.0, b.1 - a.1);
    let len2 = dx * dx + dy * dy;
    let t = if len2 > 0.0 {
        (((p.0 - a.0) * dx + (p.1 - a.1) * dy) / len2).clamp(0.0, 1.0)
    } else {
        0.0
    };
    let (qx, qy) = (a.0 + t * dx - p.0, a.1 + t * dy - p.1);
    (qx * qx + qy * qy).sqrt()
}

/// Antialiased coverage accumulated over a clip rectangle (maximum, not sum, so
/// overlapping pieces of one series do not darken), then composited in one colour.
/// Coordinates are continuous pixels: pixel `(i, j)` covers `[i, i+1) × [j, j+1)`.
pub(super) struct Mask {
    rect: Rect,
    cov: Vec<f32>,
}

impl Mask {
    pub fn new(rect: Rect) -> Self {
        let n = usize::try_from(rect.w * rect.h).unwrap_or(0);
        Mask {
            rect,
            cov: vec![0.0; n],
        }
    }

    fn add(&mut self, x: i64, y: i64, a: f64) {
        let r = &self.rect;
        if a <= 0.0 || x < r.x || y < r.y || x >= r.right() || y >= r.bottom() {
            return;
        }
        let i = ((y - r.y) * r.w + (x - r.x)) as usize;
        if let Some(v) = self.cov.get_mut(i) {
            *v = v.max(a.min(1.0) as f32);
        }
    }

    /// Adds a straight stroke of the given `width` with round caps.
    pub fn segment(&mut self, a: (f64, f64), b: (f64, f64), width: f64) {
        if ![a.0, a.1, b.0, b.1, width].iter().all(|v| v.is_finite()) || self.rect.is_empty() {
            return;
        }
        let hw = width.max(0.5) / 2.0;
        let pad = hw + 2.0;
        let r = self.rect;
        let lo = (r.x as f64 - pad, r.y as f64 - pad);
        let hi = (r.right() as f64 + pad, r.bottom() as f64 + pad);
        let Some((a, b)) = clip_segment(a, b, lo, hi) else {
            return;
        };
        let cover = |d: f64| (hw + 0.5 - d).clamp(0.0, 1.0);
        let (dx, dy) = (b.0 - a.0, b.1 - a.1);
        if dx.abs() >= dy.abs() {
            let (a, b) = if a.0 <= b.0 { (a, b) } else { (b, a) };
            let slope = if b.0 > a.0 {
                (b.1 - a.1) / (b.0 - a.0)
            } else {
                0.0
            };
            let ext = (hw + 1.0) * (1.0 + slope * slope).sqrt();
            let xs = ((a.0 - hw - 1.0).floor() as i64).max(r.x);
            let xe = ((b.0 + hw + 1.0).ceil() as i64).min(r.right() - 1);
            for px in xs..=xe {
                let cx = px as f64 + 0.5;
                let yc = a.1 + (cx.clamp(a.0, b.0) - a.0) * slope;
                let ys = ((yc - ext).floor() as i64).max(r.y);
                let ye = ((yc + ext).ceil() as i64).min(r.bottom() - 1);
                for py in ys..=ye {
                    let d = seg_dist((cx, py as f64 + 0.5), a, b);
                    self.add(px, py, cover(d));
                }
            }
        } else {
            let (a, b) = if a.1 <= b.1 { (a, b) } else { (b, a) };
            let slope = (b.0 - a.0) / (b.1 - a.1);
            let ext = (hw + 1.0) * (1.0 + slope * slope).sqrt();
            let ys = ((a.1 - hw - 1.0).floor() as i64).max(r.y);
            let ye = ((b.1 + hw + 1.0).ceil() as i64).min(r.bottom() - 1);
            for py in ys..=ye {
                let cy = py as f64 + 0.5;
                let xc = a.0 + (cy.clamp(a.1, b.1) - a.1) * slope;
                let xs = ((xc - ext).floor() as i64).max(r.x);
                let xe = ((xc + ext).ceil() as i64).min(r.right() - 1);
                for px in xs..=xe {
                    let d = seg_dist((px as f64 + 0.5, cy), a, b);
                    self.add(px, py, cover(d));
                }
            }
        }
    }

    /// Adds a polyline; `None` entries break it. With `dash = Some((on, off))` the
    /// stroke is dashed with that many pixels drawn and skipped.
    pub fn polyline(&mut self, pts: &[Option<(f64, f64)>], width: f64, dash: Option<(f64, f64)>) {
        let r = self.rect;
        let pad = width + 4.0;
        let lo = (r.x as f64 - pad, r.y as f64 - pad);
        let hi = (r.right() as f64 + pad, r.bottom() as f64 + pad);
        let dash = dash.map(|(on, off)| (on.max(1.0), off.max(1.0)));
        // Dash state: whether drawing, and distance left in the current dash or gap.
        let mut on = true;
        let mut left = dash.map_or(f64::INFINITY, |d| d.0);
        let mut prev: Option<(f64, f64)> = None;
        let mut lone: Option<(f64, f64)> = None;
        for p in pts {
            let Some(p) = *p else {
                if let Some(q) = lone.take() {
                    self.disc(q, width / 2.0);
                }
                prev = None;
                continue;
            };
            match prev {
                None => lone = Some(p),
                Some(q) => {
                    lone = None;
                    if let Some((a, b)) = clip_segment(q, p, lo, hi) {
                        match dash {
                            None => self.segment(a, b, width),
                            Some(pattern) => {
                                self.dashed(a, b, width, pattern, &mut on, &mut left);
                            }
                        }
                    }
                }
            }
            prev = Some(p);
        }
        if let Some(q) = lone {
            self.disc(q, width / 2.0);
        }
    }

    fn dashed(
        &mut self,
        a: (f64, f64),
        b: (f64, f64),
        width: f64,
        pattern: (f64, f64),
        on: &mut bool,
        left: &mut f64,
    ) {
        let len = ((b.0 - a.0).powi(2) + (b.1 - a.1).powi(2)).sqrt();
        if len.is_nan() || len <= 0.0 {
            return;
        }
        let at = |t: f64| (a.0 + (b.0 - a.0) * t / len, a.1 + (b.1 - a.1) * t / len);
        let mut t = 0.0;
        while len - t > *left {
            let t1 = t + *left;
            if *on {
                self.segment(at(t), at(t1), width);
            }
            t = t1;
            *on = !*on;
            *left = if *on { pattern.0 } else { pattern.1 };
        }
        if *on {
            self.segment(at(t), b, width);
        }
        *left -= len - t;
    }

    /// Adds a filled disc.
    pub fn disc(&mut self, c: (f64, f64), radius: f64) {
        if !(c.0.is_finite() && c.1.is_finite() && radius > 0.0) {
            return;
        }
        let r = self.rect;
        let x0 = ((c.0 - radius - 1.0).floor().max(r.x as f64)) as i64;
        let x1 = ((c.0 + radius + 1.0).ceil().min(r.right() as f64 - 1.0)) as i64;
        let y0 = ((c.1 - radius - 1.0).floor().max(r.y as f64)) as i64;
        let y1 = ((c.1 + radius + 1.0).ceil().min(r.bottom() as f64 - 1.0)) as i64;
        for py in y0..=y1 {
            for px in x0..=x1 {
                let d = ((px as f64 + 0.5 - c.0).powi(2) + (py as f64 + 0.5 - c.1).powi(2)).sqrt();
                self.add(px, py, (radius + 0.5 - d).clamp(0.0, 1.0));
            }
        }
    }

    /// Blends the accumulated coverage onto `canvas` in colour `c` with opacity `alpha`.
    pub fn composite(&self, canvas: &mut Canvas, c: Color, alpha: f32) {
        let r = self.rect;
        if r.w <= 0 {
            return;
        }
        for (i, &a) in self.cov.iter().enumerate() {
            if a > 0.0 {
                let i = i as i64;
                canvas.blend(r.x + i % r.w, r.y + i / r.w, c, a * alpha);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const BLACK: Color = [0, 0, 0];

    fn dark(c: &Canvas, x: i64, y: i64) -> bool {
        c.get(x, y).is_some_and(|p| p.iter().all(|&v| v < 128))
    }

    #[test]
    fn text_puts_ink_inside_its_box_only() {
        let mut c = Canvas::new(40, 20, [255; 3]);
        c.text(10, 5, "L", 1, BLACK, Align::Left);
        // 'L' is a vertical bar in column 0 and a bottom bar in row 6.
        for y in 5..12 {
            assert!(dark(&c, 10, y), "row {y}");
        }
        for x in 10..15 {
            assert!(dark(&c, x, 11), "col {x}");
        }
        assert!(!dark(&c, 12, 7));
        let ink: Vec<(i64, i64)> = (0..20)
            .flat_map(|y| (0..40).map(move |x| (x, y)))
            .filter(|&(x, y)| dark(&c, x, y))
            .collect();
        assert_eq!(ink.len(), 7 + 4);
        assert!(ink
            .iter()
            .all(|&(x, y)| (10..15).contains(&x) && (5..12).contains(&y)));
    }

    #[test]
    fn scaled_and_aligned_text() {
        let mut c = Canvas::new(60, 30, [255; 3]);
        let w = font::text_width("T", 2);
        c.text(50, 2, "T", 2, BLACK, Align::Right);
        assert!(dark(&c, 50 - w, 2));
        assert!(dark(&c, 49, 3));
        assert!(!dark(&c, 50, 2));
        // Stem of the T is two pixels wide, in the middle.
        assert!(dark(&c, 50 - w / 2, 15));
    }

    #[test]
    fn vertical_text_reads_bottom_to_top() {
        let mut c = Canvas::new(30, 40, [255; 3]);
        c.text_vertical(5, 20, "L", 1, BLACK);
        // The L's stem becomes a horizontal bar at the top-of-cap column.
        let row: Vec<i64> = (0..30).filter(|&x| dark(&c, x, 22)).collect();
        assert_eq!(row.len(), 7, "{row:?}");
        assert_eq!(row[0], 5);
    }

    #[test]
    fn segment_is_clipped_and_antialiased() {
        let mut c = Canvas::new(20, 20, [255; 3]);
        let mut m = Mask::new(Rect::new(5, 5, 10, 10));
        m.segment((-1e9, 10.5), (1e9, 10.5), 1.0);
        m.composite(&mut c, BLACK, 1.0);
        assert!(dark(&c, 7, 10));
        assert!(!dark(&c, 2, 10));
        assert!(!dark(&c, 16, 10));
        assert!(!dark(&c, 7, 12));
    }

    #[test]
    fn dashed_polyline_has_gaps() {
        let mut c = Canvas::new(100, 10, [255; 3]);
        let mut m = Mask::new(c.bounds());
        m.polyline(
            &[Some((0.0, 5.5)), Some((100.0, 5.5))],
            1.0,
            Some((6.0, 4.0)),
        );
        m.composite(&mut c, BLACK, 1.0);
        let ink = (0..100).filter(|&x| dark(&c, x, 5)).count();
        assert!(ink > 40 && ink < 80, "{ink}");
    }

    #[test]
    fn clip_rejects_outside_segments() {
        assert!(clip_segment((-5.0, -5.0), (-1.0, 20.0), (0.0, 0.0), (10.0, 10.0)).is_none());
        let (a, b) = clip_segment((-5.0, 5.0), (15.0, 5.0), (0.0, 0.0), (10.0, 10.0)).unwrap();
        assert_eq!((a.0, b.0), (0.0, 10.0));
    }
}
