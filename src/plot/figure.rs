//! Figures: a grid of panels rendered to an image and saved as PNG.

use std::fs;
use std::io::{BufWriter, Write};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};

use image::{ImageEncoder, RgbImage};

use super::canvas::{Align, Canvas, Rect};
use super::font;
use super::{Axes, Colormap, Heatmap, ImagePanel, PlotError, Theme, INK, WHITE};

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
        self.title = t.to_string();
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
            font::CAP as u32 * (self.text_scale + 1) + 12 + 6 * self.text_scale
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
        let mut cv = Canvas::new(w, h, WHITE);
        let th = Theme::new(self.text_scale);
        let title_h = i64::from(self.title_height());
        if !self.title.is_empty() {
            let (t, s) = font::fit(&self.title, th.title, i64::from(w) - 8);
            let y = 10 + (font::CAP * i64::from(th.title) - font::CAP * i64::from(s)) / 2;
            cv.text(i64::from(w) / 2, y, &t, s, INK, Align::Center);
        }
        let (pw, ph) = (i64::from(self.panel_w), i64::from(self.panel_h));
        for (i, p) in self.panels.iter().enumerate() {
            let (r, c) = ((i / self.cols) as i64, (i % self.cols) as i64);
            let area = Rect::new(c * pw, title_h + r * ph, pw, ph);
            match p {
                Panel::Axes(a) => a.render(&mut cv, area, &th),
                Panel::Heatmap(hm) => hm.render(&mut cv, area, &th),
                Panel::Image(im) => im.render(&mut cv, area, &th),
            }
        }
        cv.into_image()
    }

    /// Renders and writes a PNG to `path` atomically: the data goes to a temporary file in
    /// the same folder, which is then renamed over `path` (and removed on failure).
    pub fn save(&self, path: &Path) -> Result<(), PlotError> {
        let img = self.render();
        write_png_atomic(&img, path)
    }
}

static TMP_COUNTER: AtomicU64 = AtomicU64::new(0);

fn temp_path(path: &Path) -> Result<PathBuf, PlotError> {
    let name = path.file_name().ok_or_else(|| PlotError::InvalidPath {
        path: path.to_path_buf(),
    })?;
    let n = TMP_COUNTER.fetch_add(1, Ordering::Relaxed);
    let mut tmp_name = std::ffi::OsString::from(".");
    tmp_name.push(name);
    tmp_name.push(format!(".{}.{n}.tmp", std::process::id()));
    Ok(path.with_file_name(tmp_name))
}

/// Writes `img` as PNG to `path` through a temporary file and a rename.
pub(super) fn write_png_atomic(img: &RgbImage, path: &Path) -> Result<(), PlotError> {
    let tmp = temp_path(path)?;
    let io_err = |source| PlotError::Io {
        path: path.to_path_buf(),
        source,
    };
    let result = (|| {
        let file = fs::File::create(&tmp).map_err(io_err)?;
        let mut out = BufWriter::new(file);
        image::codecs::png::PngEncoder::new(&mut out)
            .write_image(
                img.as_raw(),
                img.width(),
                img.height(),
                image::ExtendedColorType::Rgb8,
            )
            .map_err(|source| PlotError::Encode {
                path: path.to_path_buf(),
                source,
            })?;
        out.flush().map_err(io_err)?;
        let file = out.into_inner().map_err(|e| io_err(e.into_error()))?;
        file.sync_all().map_err(io_err)?;
        drop(file);
        fs::rename(&tmp, path).map_err(io_err)
    })();
    if result.is_err() {
        let _ = fs::remove_file(&tmp);
    }
    result
}

#[cfg(test)]
mod tests {
    use super::*;

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
    fn atomic_save_leaves_no_temp_file() {
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
        fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn save_into_missing_directory_fails_cleanly() {
        let dir = scratch_dir("missing");
        let path = dir.join("no/such/dir/fig.png");
        let err = Figure::new(1, 1).save(&path).unwrap_err();
        assert!(matches!(err, PlotError::Io { .. }));
        assert!(err.to_string().contains("no/such/dir/fig.png"), "{err}");
        assert!(std::error::Error::source(&err).is_some());
        assert_eq!(fs::read_dir(&dir).unwrap().count(), 0);
        let err = Figure::new(1, 1).save(Path::new("/")).unwrap_err();
        assert!(matches!(err, PlotError::InvalidPath { .. }));
        fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn save_onto_a_directory_removes_the_temp_file() {
        let dir = scratch_dir("dir");
        fs::create_dir(dir.join("taken")).unwrap();
        let err = Figure::new(1, 1).save(&dir.join("taken")).unwrap_err();
        assert!(err.to_string().contains("taken"));
        let names: Vec<_> = fs::read_dir(&dir)
            .unwrap()
            .map(|e| e.unwrap().file_name())
            .collect();
        assert_eq!(names, vec![std::ffi::OsString::from("taken")]);
        fs::remove_dir_all(&dir).unwrap();
    }
}
