//! Colormaps for heatmaps and images.

use super::Color;

/// Colour used for NaN or missing values.
pub(super) const BAD: Color = [200, 200, 200];

/// Mapping from a normalised value to a colour.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum Colormap {
    /// Black to white.
    #[default]
    Gray,
    /// Perceptually uniform sequential map (dark purple → teal → yellow).
    Viridis,
    /// Blue–white–red; automatic ranges are symmetric about zero.
    Diverging,
}

const VIRIDIS: [Color; 9] = [
    [68, 1, 84],
    [72, 40, 120],
    [62, 73, 137],
    [49, 104, 142],
    [38, 130, 142],
    [31, 158, 137],
    [53, 183, 121],
    [110, 206, 88],
    [253, 231, 37],
];

const DIVERGING: [Color; 11] = [
    [5, 48, 97],
    [33, 102, 172],
    [67, 147, 195],
    [146, 197, 222],
    [209, 229, 240],
    [247, 247, 247],
    [253, 219, 199],
    [244, 165, 130],
    [214, 96, 77],
    [178, 24, 43],
    [103, 0, 31],
];

fn interpolate(stops: &[Color], t: f64) -> Color {
    let n = stops.len() - 1;
    let x = t * n as f64;
    let i = (x.floor() as usize).min(n - 1);
    let f = x - i as f64;
    let (a, b) = (stops[i], stops[i + 1]);
    let mut out = [0u8; 3];
    for k in 0..3 {
        let v = f64::from(a[k]) + (f64::from(b[k]) - f64::from(a[k])) * f;
        out[k] = v.round().clamp(0.0, 255.0) as u8;
    }
    out
}

impl Colormap {
    /// Colour for `t` in `[0, 1]` (clamped); NaN maps to light grey.
    pub fn map(self, t: f64) -> Color {
        if t.is_nan() {
            return BAD;
        }
        let t = t.clamp(0.0, 1.0);
        match self {
            Colormap::Gray => {
                let v = (t * 255.0).round() as u8;
                [v, v, v]
            }
            Colormap::Viridis => interpolate(&VIRIDIS, t),
            Colormap::Diverging => interpolate(&DIVERGING, t),
        }
    }

    /// Whether automatic ranges are made symmetric about zero.
    pub fn is_diverging(self) -> bool {
        self == Colormap::Diverging
    }

    /// Value range for `values`: `explicit` when valid, else the finite min/max (made
    /// symmetric about zero for diverging maps), widened when degenerate.
    pub(super) fn range(self, values: &[f64], explicit: Option<(f64, f64)>) -> (f64, f64) {
        if let Some((a, b)) = explicit {
            if a.is_finite() && b.is_finite() && a < b {
                return (a, b);
            }
        }
        let (mut lo, mut hi) = (f64::INFINITY, f64::NEG_INFINITY);
        for &v in values.iter().filter(|v| v.is_finite()) {
            lo = lo.min(v);
            hi = hi.max(v);
        }
        if lo > hi {
            return if self.is_diverging() {
                (-1.0, 1.0)
            } else {
                (0.0, 1.0)
            };
        }
        if self.is_diverging() {
            let m = lo.abs().max(hi.abs()).min(f64::MAX / 4.0);
            return if m > 0.0 { (-m, m) } else { (-1.0, 1.0) };
        }
        if hi - lo > 0.0 && (hi - lo).is_finite() {
            (lo, hi)
        } else if lo == hi {
            (lo - 0.5, hi + 0.5)
        } else {
            (lo / 2.0, hi / 2.0)
        }
    }
}

/// Normalises `v` into `[0, 1]` for the range `(lo, hi)` (NaN stays NaN).
pub(super) fn normalize(v: f64, (lo, hi): (f64, f64)) -> f64 {
    if v.is_nan() {
        return f64::NAN;
    }
    let span = hi - lo;
    let t = if span.is_finite() && span > 0.0 {
        (v - lo) / span
    } else {
        (v / 2.0 - lo / 2.0) / (hi / 2.0 - lo / 2.0)
    };
    if t.is_nan() {
        0.5
    } else {
        t.clamp(0.0, 1.0)
    }
}

/// Relative luminance in `[0, 1]`, used to pick readable text colours.
pub(super) fn luminance(c: Color) -> f64 {
    (0.2126 * f64::from(c[0]) + 0.7152 * f64::from(c[1]) + 0.0722 * f64::from(c[2])) / 255.0
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn endpoints_and_centre() {
        assert_eq!(Colormap::Gray.map(0.0), [0, 0, 0]);
        assert_eq!(Colormap::Gray.map(2.0), [255, 255, 255]);
        assert_eq!(Colormap::Viridis.map(0.0), VIRIDIS[0]);
        assert_eq!(Colormap::Viridis.map(1.0), VIRIDIS[8]);
        assert_eq!(Colormap::Diverging.map(0.5), [247, 247, 247]);
        let lo = Colormap::Diverging.map(0.0);
        let hi = Colormap::Diverging.map(1.0);
        assert!(lo[2] > lo[0] && hi[0] > hi[2]);
        assert_eq!(Colormap::Viridis.map(f64::NAN), BAD);
    }

    #[test]
    fn ranges() {
        let d = Colormap::Diverging;
        assert_eq!(d.range(&[-0.5, 2.0, f64::NAN], None), (-2.0, 2.0));
        assert_eq!(d.range(&[0.0, 0.0], None), (-1.0, 1.0));
        assert_eq!(Colormap::Gray.range(&[3.0, 3.0], None), (2.5, 3.5));
        assert_eq!(Colormap::Gray.range(&[], None), (0.0, 1.0));
        assert_eq!(
            Colormap::Gray.range(&[1.0, 5.0], Some((0.0, 10.0))),
            (0.0, 10.0)
        );
        let (lo, hi) = Colormap::Gray.range(&[-f64::MAX, f64::MAX], None);
        assert!(lo < hi);
        assert_eq!(normalize(f64::MAX, (-f64::MAX, f64::MAX)), 1.0);
        assert_eq!(normalize(5.0, (0.0, 10.0)), 0.5);
    }
}
