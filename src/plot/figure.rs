//! Figures: a grid of panels drawn with plotters and saved as PNG.

use std::path::Path;

use image::{ImageEncoder, RgbImage};
use plotters::prelude::{BitMapBackend, IntoDrawingArea};
use plotters::style::text_anchor::HPos;

use super::{draw_text, face, fit, markup, rgb, DrawResult, Theme, INK, WHITE};
use super::{Axes, Colormap, Heatmap, ImagePanel};
use crate::error::Result;

/// Content of one figure cell.
#[derive(Clone, Debug)]
pub enum Panel {
    /// Line and scatter plots.
    Axes(Axes),
    /// Matrix heatmap.
    Heatmap(Heatmap),
    /// Image.
    Image(ImagePanel),
}

/// A `rows × cols` grid of equally sized panels with an optional title.
#[derive(Clone, Debug)]
pub struct Figure {
    rows: usize,
    cols: usize,
    panels: Vec<Panel>,
    title: String,
    panel_w: u32,
    panel_h: u32,
    text_scale: u32,
}

impl Figure {
    /// A grid of empty axes (at least 1×1), panels 420×320 px.
    pub fn new(rows: usize, cols: usize) -> Self {
        let (rows, cols) = (rows.max(1), cols.max(1));
        Figure {
            rows,
            cols,
            panels: (0..rows * cols).map(|_| Panel::Axes(Axes::new())).collect(),
            title: String::new(),
            panel_w: 420,
            panel_h: 320,
            text_scale: 1,
        }
    }

    /// Sets the figure title drawn above all panels.
    pub fn title(mut self, t: &str) -> Self {
        self.title = markup(t);
        self
    }

    /// Sets the size of each panel in pixels (clamped to 64..=4096).
    pub fn panel_size(mut self, w: u32, h: u32) -> Self {
        self.panel_w = w.clamp(64, 4096);
        self.panel_h = h.clamp(64, 4096);
        self
    }

    /// Sets the font scale of body text (1 or 2; titles use one more).
    pub fn text_scale(mut self, s: u32) -> Self {
        self.text_scale = s.clamp(1, 2);
        self
    }

    /// Grid shape `(rows, cols)`.
    pub fn shape(&self) -> (usize, usize) {
        (self.rows, self.cols)
    }

    /// Size in pixels of the rendered image.
    pub fn size(&self) -> (u32, u32) {
        let w = self
            .panel_w
            .saturating_mul(u32::try_from(self.cols).unwrap_or(u32::MAX));
        let h = self
            .panel_h
            .saturating_mul(u32::try_from(self.rows).unwrap_or(u32::MAX))
            .saturating_add(self.title_height());
        (w, h)
    }

    fn title_height(&self) -> u32 {
        if self.title.is_empty() {
            0
        } else {
            (Theme::new(self.text_scale).figure * 1.2).round() as u32 + 14
        }
    }

    /// Grows the grid so that `(r, c)` exists.
    fn ensure(&mut self, r: usize, c: usize) {
        if r < self.rows && c < self.cols {
            return;
        }
        let (rows, cols) = (self.rows.max(r + 1), self.cols.max(c + 1));
        let mut old: Vec<Option<Panel>> = std::mem::take(&mut self.panels)
            .into_iter()
            .map(Some)
            .collect();
        let mut panels = Vec::with_capacity(rows * cols);
        for i in 0..rows {
            for j in 0..cols {
                let p = if i < self.rows && j < self.cols {
                    old[i * self.cols + j].take()
                } else {
                    None
                };
                panels.push(p.unwrap_or_else(|| Panel::Axes(Axes::new())));
            }
        }
        self.panels = panels;
        self.rows = rows;
        self.cols = cols;
    }

    /// The panel at `(r, c)`, growing the grid when out of range.
    pub fn panel_mut(&mut self, r: usize, c: usize) -> &mut Panel {
        self.ensure(r, c);
        &mut self.panels[r * self.cols + c]
    }

    /// The axes at `(r, c)`; a panel of another kind is replaced by empty axes.
    pub fn axes(&mut self, r: usize, c: usize) -> &mut Axes {
        let p = self.panel_mut(r, c);
        if !matches!(p, Panel::Axes(_)) {
            *p = Panel::Axes(Axes::new());
        }
        match p {
            Panel::Axes(a) => a,
            _ => unreachable!("panel was just set to axes"),
        }
    }

    /// Puts a heatmap of `rows` (a matrix given row by row; ragged rows are padded
    /// with NaN) at `(r, c)`.
    pub fn heatmap<R, T>(&mut self, r: usize, c: usize, rows: &[R], title: &str) -> &mut Heatmap
    where
        R: AsRef<[T]>,
        T: Copy + Into<f64>,
    {
        let p = self.panel_mut(r, c);
        *p = Panel::Heatmap(Heatmap::new(rows, title));
        match p {
            Panel::Heatmap(h) => h,
            _ => unreachable!("panel was just set to a heatmap"),
        }
    }

    /// Puts an `h × w` grayscale image (row-major `pixels`, mapped through `cmap` over
    /// its min..max unless a range is set) at `(r, c)` with `caption` above it.
    /// Missing pixels are drawn as NaN (light grey).
    #[allow(clippy::too_many_arguments)]
    pub fn image<T: Copy + Into<f64>>(
        &mut self,
        r: usize,
        c: usize,
        pixels: &[T],
        h: usize,
        w: usize,
        caption: &str,
        cmap: Colormap,
    ) -> &mut ImagePanel {
        self.put_image(r, c, ImagePanel::gray(pixels, h, w, caption, cmap))
    }

    /// Puts an `h × w` RGB image with interleaved `[h][w][3]` `pixels` in `0..1` at `(r, c)`.
    pub fn image_rgb<T: Copy + Into<f64>>(
        &mut self,
        r: usize,
        c: usize,
        pixels: &[T],
        h: usize,
        w: usize,
        caption: &str,
    ) -> &mut ImagePanel {
        self.put_image(r, c, ImagePanel::rgb(pixels, h, w, caption, false))
    }

    /// Puts an `h × w` RGB image with channel-major `[3][h][w]` `pixels` in `0..1` at `(r, c)`.
    pub fn image_rgb_planar<T: Copy + Into<f64>>(
        &mut self,
        r: usize,
        c: usize,
        pixels: &[T],
        h: usize,
        w: usize,
        caption: &str,
    ) -> &mut ImagePanel {
        self.put_image(r, c, ImagePanel::rgb(pixels, h, w, caption, true))
    }

    fn put_image(&mut self, r: usize, c: usize, img: ImagePanel) -> &mut ImagePanel {
        let p = self.panel_mut(r, c);
        *p = Panel::Image(img);
        match p {
            Panel::Image(i) => i,
            _ => unreachable!("panel was just set to an image"),
        }
    }

    /// Renders the figure to an RGB image of [`Figure::size`].
    pub fn render(&self) -> RgbImage {
        let (w, h) = self.size();
        let mut buf = vec![255u8; w as usize * h as usize * 3];
        if let Err(e) = self.draw(&mut buf, (w, h)) {
            tracing::warn!("plot: {e}");
        }
        RgbImage::from_raw(w, h, buf).expect("the buffer has the figure's size")
    }

    fn draw(&self, buf: &mut [u8], (w, h): (u32, u32)) -> DrawResult {
        face(); // registers the font with plotters
        let root = BitMapBackend::with_buffer(buf, (w, h)).into_drawing_area();
        root.fill(&rgb(WHITE))?;
        let th = Theme::new(self.text_scale);
        let (top, grid) = root.split_vertically(self.title_height());
        if !self.title.is_empty() {
            let (t, s) = fit(&self.title, th.figure, w as i32 - 12);
            draw_text(&top, &t, s, INK, (w as i32 / 2, 12), HPos::Center)?;
        }
        for (p, area) in self
            .panels
            .iter()
            .zip(grid.split_evenly((self.rows, self.cols)))
        {
            let r = match p {
                Panel::Axes(a) => a.draw(&area, &th),
                Panel::Heatmap(hm) => hm.draw(&area, &th),
                Panel::Image(im) => im.draw(&area, &th),
            };
            if let Err(e) = r {
                tracing::warn!("plot panel: {e}");
            }
        }
        root.present()
    }

    /// Renders and writes a PNG to `path` atomically (see [`crate::io::write_atomic`]).
    pub fn save(&self, path: &Path) -> Result<()> {
        let img = self.render();
        let mut png = Vec::new();
        image::codecs::png::PngEncoder::new(&mut png)
            .write_image(
                img.as_raw(),
                img.width(),
                img.height(),
                image::ExtendedColorType::Rgb8,
            )
            .map_err(|e| data_err!("{}: cannot encode the plot as PNG: {e}", path.display()))?;
        crate::io::write_atomic(path, &png)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::fs;
    use std::path::PathBuf;

    fn scratch_dir(name: &str) -> PathBuf {
        let d = std::env::temp_dir().join(format!("plot-test-{}-{name}", std::process::id()));
        let _ = fs::remove_dir_all(&d);
        fs::create_dir_all(&d).unwrap();
        d
    }

    #[test]
    fn render_has_expected_size() {
        let fig = Figure::new(2, 3).panel_size(200, 150);
        let img = fig.render();
        assert_eq!((img.width(), img.height()), (600, 300));
        let fig = Figure::new(1, 1).title("T");
        let img = fig.render();
        assert_eq!((img.width(), img.height()), fig.size());
        assert!(img.height() > 320);
    }

    #[test]
    fn degenerate_data_does_not_panic() {
        let nan = [f64::NAN; 5];
        let empty: [f64; 0] = [];
        let xs = [0.0, 1.0, 2.0, 3.0, 4.0];
        let mut fig = Figure::new(3, 3).panel_size(160, 120);
        fig.axes(0, 0).line(&empty, &empty, Some("empty"));
        fig.axes(0, 1)
            .line(&xs, &nan, Some("nan"))
            .scatter(&nan, &xs, None);
        fig.axes(0, 2)
            .line(&xs, &[2.0; 5], Some("const"))
            .log_y(true);
        fig.axes(1, 0)
            .line(&xs, &[-1.0, 0.0, 1e-300, f64::INFINITY, 1e300], None)
            .log_y(true)
            .log_x(true);
        fig.axes(1, 1)
            .line(
                &[-f64::MAX, f64::MAX],
                &[f64::MIN_POSITIVE, 1e308],
                Some("huge"),
            )
            .equal_aspect(true)
            .dashed();
        fig.axes(1, 2)
            .scatter(&[1.0], &[1.0], Some("one point"))
            .xlim(f64::NAN, 1.0)
            .ylim(3.0, 3.0)
            .equal_aspect(true);
        fig.heatmap(2, 0, &[[f64::NAN]], "nan");
        fig.image(2, 1, &[f32::NAN; 4], 2, 2, "nan", Colormap::Viridis);
        fig.image(2, 2, &[0.0f32; 0], 0, 5, "empty", Colormap::Gray);
        let img = fig.render();
        assert_eq!((img.width(), img.height()), (480, 360));
        // A tiny panel still renders.
        let mut tiny = Figure::new(1, 1)
            .panel_size(1, 1)
            .title("a very long title indeed");
        tiny.axes(0, 0)
            .title("t")
            .xlabel("x")
            .ylabel("y")
            .line(&xs, &xs, Some("s"));
        assert_eq!(tiny.render().dimensions(), (64, 64 + tiny.title_height()));
    }

    #[test]
    fn out_of_range_panels_grow_the_grid() {
        let mut fig = Figure::new(1, 1);
        fig.axes(0, 0).title("kept");
        fig.heatmap(1, 2, &[[1.0]], "h");
        assert_eq!(fig.shape(), (2, 3));
        assert!(format!("{:?}", fig.panel_mut(0, 0)).contains("kept"));
        assert!(matches!(fig.panel_mut(1, 2), Panel::Heatmap(_)));
        // Requesting axes where a heatmap is replaces it.
        fig.axes(1, 2);
        assert!(matches!(fig.panel_mut(1, 2), Panel::Axes(_)));
    }

    #[test]
    fn save_writes_a_png_and_no_temp_file() {
        let dir = scratch_dir("save");
        let path = dir.join("fig.png");
        let mut fig = Figure::new(1, 1).panel_size(100, 80);
        fig.axes(0, 0).line(&[0.0, 1.0], &[0.0, 1.0], None);
        fig.save(&path).unwrap();
        fig.save(&path).unwrap();
        let names: Vec<_> = fs::read_dir(&dir)
            .unwrap()
            .map(|e| e.unwrap().file_name())
            .collect();
        assert_eq!(names, vec![std::ffi::OsString::from("fig.png")]);
        let back = image::open(&path).unwrap();
        assert_eq!((back.width(), back.height()), (100, 80));
        let err = Figure::new(1, 1)
            .save(&dir.join("no/such/dir/fig.png"))
            .unwrap_err();
        assert!(err.to_string().contains("no/such/dir"), "{err}");
        fs::remove_dir_all(&dir).unwrap();
    }

    /// The title is drawn with anti-aliased text: its strip holds many grey levels, not just
    /// the ink and background colours.
    #[test]
    fn text_is_anti_aliased() {
        let fig = Figure::new(1, 1)
            .panel_size(300, 64)
            .title("Anti-aliased title θ₁");
        let img = fig.render();
        let mut levels = std::collections::BTreeSet::new();
        for y in 0..fig.title_height() {
            for x in 0..img.width() {
                levels.insert(img.get_pixel(x, y).0);
            }
        }
        assert!(
            levels.contains(&[255, 255, 255]) && levels.contains(&INK),
            "{levels:?}"
        );
        let grey = levels.iter().filter(|c| **c != WHITE && **c != INK).count();
        assert!(
            grey >= 20,
            "only {} colours in the title: {levels:?}",
            levels.len()
        );
    }
}
