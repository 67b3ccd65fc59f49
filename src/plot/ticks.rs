//! Axis limits, "nice" tick positions and compact number formatting.

/// Largest magnitude used for limits, so spans and padding stay finite.
pub(super) const HUGE: f64 = 1e300;

/// Ticks of one axis: positions (in the axis' transformed units) and their labels.
#[derive(Clone, Debug, Default, PartialEq)]
pub(super) struct Ticks {
    pub pos: Vec<f64>,
    pub labels: Vec<String>,
    /// Unlabelled minor positions (log axes).
    pub minor: Vec<f64>,
}

/// Widens a degenerate (empty, equal or relatively tiny) interval.
pub(super) fn pad_degenerate(lo: f64, hi: f64) -> (f64, f64) {
    if !(lo.is_finite() && hi.is_finite()) || lo > hi {
        return (0.0, 1.0);
    }
    let scale = lo.abs().max(hi.abs());
    if hi - lo > 1e-9 * scale && hi - lo > 1e-200 {
        return (lo, hi);
    }
    let mid = lo / 2.0 + hi / 2.0;
    let d = if mid.abs() < 1e-200 {
        1.0
    } else {
        mid.abs() * 0.1
    };
    (mid - d, mid + d)
}

/// Linear axis limits: explicit ones when valid, else the data range padded by 5%.
pub(super) fn linear_limits(data: Option<(f64, f64)>, explicit: Option<(f64, f64)>) -> (f64, f64) {
    if let Some((a, b)) = explicit {
        if a.is_finite() && b.is_finite() && a < b {
            return pad_degenerate(a.max(-HUGE), b.min(HUGE));
        }
    }
    let Some((lo, hi)) = data else {
        return (0.0, 1.0);
    };
    let (lo, hi) = pad_degenerate(lo, hi);
    let m = (hi - lo) * 0.05;
    ((lo - m).max(-HUGE * 1.1), (hi + m).min(HUGE * 1.1))
}

/// Log axis limits in decades (log10 units): explicit ones when valid, else the data
/// range padded by 5%, widened to whole decades when it would show fewer than two.
pub(super) fn log_limits(data: Option<(f64, f64)>, explicit: Option<(f64, f64)>) -> (f64, f64) {
    if let Some((a, b)) = explicit {
        if a > 0.0 && b.is_finite() && a < b {
            return pad_degenerate(a.log10(), b.log10());
        }
    }
    let Some((lo, hi)) = data else {
        return (0.0, 1.0);
    };
    if !(lo.is_finite() && hi.is_finite()) || lo > hi {
        return (0.0, 1.0);
    }
    let m = (hi - lo) * 0.05;
    let (plo, phi) = (lo - m, hi + m);
    if phi.floor() - plo.ceil() >= 1.0 {
        return (plo, phi);
    }
    let (a, b) = (lo.floor(), hi.ceil());
    if a == b {
        (a - 1.0, b + 1.0)
    } else {
        (a, b)
    }
}

/// Ticks at multiples of 1, 2 or 5 × 10^k inside `[lo, hi]`, 3 to 10 of them when the
/// interval allows; returns the positions and the step.
pub(super) fn nice_ticks(lo: f64, hi: f64) -> (Vec<f64>, f64) {
    let span = hi - lo;
    if !(span > 0.0 && span.is_finite()) {
        return if lo.is_finite() {
            (vec![lo], 1.0)
        } else {
            (Vec::new(), 1.0)
        };
    }
    let e = (span / 5.0).log10().floor() as i32;
    let mut best: Option<(f64, f64, f64, f64)> = None; // (score, step, k0, k1)
    for exp in e - 1..=e + 1 {
        for m in [1.0, 2.0, 5.0] {
            let step = m * 10f64.powi(exp);
            if !(step > 0.0 && step.is_finite()) {
                continue;
            }
            let k0 = (lo / step).ceil();
            let k1 = (hi / step).floor();
            let n = k1 - k0 + 1.0;
            if !(3.0..=10.0).contains(&n) {
                continue;
            }
            // Aim for about six ticks; ties go to the larger step.
            let score = (n - 6.0).abs();
            if best.is_none_or(|b| score < b.0 || (score == b.0 && step > b.1)) {
                best = Some((score, step, k0, k1));
            }
        }
    }
    match best {
        Some((_, step, k0, k1)) => {
            let n = (k1 - k0) as i64;
            let ticks = (0..=n)
                .map(|i| {
                    let k = k0 + i as f64;
                    if k == 0.0 {
                        0.0
                    } else {
                        k * step
                    }
                })
                .collect();
            (ticks, step)
        }
        None => {
            let step = span / 2.0;
            (vec![lo, lo + step, hi], step)
        }
    }
}

/// Ticks of a log axis: integer decades inside `[lo, hi]` (log10 units), every 1, 2, 3,
/// 5, 10, … decades so that at most 8 are labelled; minor ticks at 2..9 × 10^k when
/// every decade is labelled.
pub(super) fn log_ticks(lo: f64, hi: f64) -> (Vec<f64>, Vec<f64>) {
    if !(lo.is_finite() && hi.is_finite() && lo < hi) {
        return (Vec::new(), Vec::new());
    }
    let (k0, k1) = (lo.ceil(), hi.floor());
    let count = k1 - k0 + 1.0;
    let mut step = 1.0;
    for s in [1.0, 2.0, 3.0, 5.0, 10.0, 20.0, 25.0, 50.0, 100.0] {
        step = s;
        if count / s <= 8.0 {
            break;
        }
    }
    let first = (k0 / step).ceil() as i64;
    let last = (k1 / step).floor() as i64;
    let major: Vec<f64> = (first..=last).map(|k| k as f64 * step).collect();
    let mut minor = Vec::new();
    if step == 1.0 && hi - lo <= 12.0 {
        let mut d = lo.floor();
        while d <= hi {
            for m in 2..10 {
                let v = d + f64::from(m).log10();
                if v > lo && v < hi {
                    minor.push(v);
                }
            }
            d += 1.0;
        }
    }
    (major, minor)
}

/// Formats `mantissa e exp` from Rust's `{:e}` output as `1.5e-3` (no `+`, no padding).
fn tidy_exp(s: &str) -> String {
    let Some((mant, exp)) = s.split_once('e') else {
        return s.to_string();
    };
    let mant = if mant.contains('.') {
        mant.trim_end_matches('0').trim_end_matches('.')
    } else {
        mant
    };
    if exp == "0" {
        mant.to_string()
    } else {
        format!("{mant}e{exp}")
    }
}

fn trim_fixed(s: String) -> String {
    if s.contains('.') {
        s.trim_end_matches('0').trim_end_matches('.').to_string()
    } else {
        s
    }
}

/// Formats `v` with `sig` significant digits, compactly: `0.5`, `250`, `1e-3`, `1.2e5`.
pub(super) fn format_sig(v: f64, sig: usize) -> String {
    if v.is_nan() {
        return "nan".into();
    }
    if v.is_infinite() {
        return if v > 0.0 { "inf" } else { "-inf" }.into();
    }
    if v == 0.0 {
        return "0".into();
    }
    let sig = sig.clamp(1, 12);
    // Round first so that e.g. 9.9999e-3 is judged as 0.01.
    let v: f64 = format!("{v:.prec$e}", prec = sig - 1).parse().unwrap_or(v);
    let a = v.abs();
    let s = if (1e-2..1e5).contains(&a) {
        let e = a.log10().floor() as i64;
        let decimals = (sig as i64 - 1 - e).max(0) as usize;
        trim_fixed(format!("{v:.decimals$}"))
    } else {
        tidy_exp(&format!("{v:.prec$e}", prec = sig - 1))
    };
    if s == "-0" {
        "0".into()
    } else {
        s
    }
}

/// Formats a number compactly with up to three significant digits, e.g. `0.5`,
/// `1e-3`, `250`, `1.23e5`.
pub fn format_number(v: f64) -> String {
    format_sig(v, 3)
}

/// Labels for linear ticks spaced `step` apart, with just enough digits to tell them
/// apart: fixed notation for moderate magnitudes, scientific otherwise.
pub(super) fn format_ticks(ticks: &[f64], step: f64) -> Vec<String> {
    let maxabs = ticks.iter().fold(0.0f64, |m, t| m.max(t.abs()));
    if maxabs == 0.0 || step.is_nan() || step <= 0.0 {
        return ticks.iter().map(|&t| format_number(t)).collect();
    }
    let e_max = maxabs.log10().floor() as i64;
    let e_step = (step.log10() + 1e-9).floor() as i64;
    if !(-3..5).contains(&e_max) || e_step < -5 {
        let sig = (e_max - e_step + 1).clamp(1, 12) as usize;
        ticks
            .iter()
            .map(|&t| {
                if t == 0.0 {
                    "0".into()
                } else {
                    tidy_exp(&format!("{t:.prec$e}", prec = sig - 1))
                }
            })
            .collect()
    } else {
        let decimals = (-e_step).max(0) as usize;
        ticks
            .iter()
            .map(|&t| {
                if t == 0.0 {
                    "0".into()
                } else {
                    format!("{t:.decimals$}")
                }
            })
            .collect()
    }
}

/// Linear ticks with labels for `[lo, hi]`.
pub(super) fn linear_ticks(lo: f64, hi: f64) -> Ticks {
    let (pos, step) = nice_ticks(lo, hi);
    let labels = format_ticks(&pos, step);
    Ticks {
        pos,
        labels,
        minor: Vec::new(),
    }
}

/// Log ticks with labels for `[lo, hi]` given in decades.
pub(super) fn decade_ticks(lo: f64, hi: f64) -> Ticks {
    let (pos, minor) = log_ticks(lo, hi);
    let labels = pos.iter().map(|&k| format_number(10f64.powf(k))).collect();
    Ticks { pos, labels, minor }
}

/// Smallest stride `k` such that every `k`-th label (sizes `sizes` along the axis,
/// centred at `centers`) is at least `gap` pixels from the next.
pub(super) fn label_stride(centers: &[f64], sizes: &[i64], gap: f64) -> usize {
    let n = centers.len();
    (1..n.max(1))
        .find(|&k| {
            (0..n).step_by(k).zip((k..n).step_by(k)).all(|(i, j)| {
                (centers[j] - centers[i]).abs() >= (sizes[i] + sizes[j]) as f64 / 2.0 + gap
            })
        })
        .unwrap_or(n.max(1))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ranges() -> Vec<(f64, f64)> {
        let mut v = vec![
            (0.0, 1.0),
            (-1.0, 1.0),
            (0.0, 100.0),
            (-0.05, 1.05),
            (3.0, 7.0),
            (1e-6, 3e-6),
            (-2.5e7, 1e8),
            (0.999, 1.001),
            (-1e300, 1e300),
            (123.0, 124.0),
            (-17.3, -2.1),
        ];
        for i in 1..200 {
            let span = 10f64.powf(f64::from(i) * 0.137 - 8.0);
            let lo = f64::from((i * 7919) % 1000) / 100.0 - 5.0;
            v.push((lo * span, lo * span + span));
        }
        v
    }

    #[test]
    fn nice_ticks_cover_range_with_3_to_10_ticks() {
        for (lo, hi) in ranges() {
            let (t, step) = nice_ticks(lo, hi);
            assert!((3..=10).contains(&t.len()), "{lo} {hi}: {t:?}");
            assert!(t
                .iter()
                .all(|&x| x >= lo - step * 1e-9 && x <= hi + step * 1e-9));
            // The ticks span most of the range: gaps at both ends are under one step.
            assert!(t[0] - lo <= step * (1.0 + 1e-9), "{lo} {hi}: {t:?}");
            assert!(
                hi - t[t.len() - 1] <= step * (1.0 + 1e-9),
                "{lo} {hi}: {t:?}"
            );
            let m = step / 10f64.powf(step.log10().floor());
            assert!(
                [1.0, 2.0, 5.0].iter().any(|c| (m - c).abs() < 1e-9),
                "{step}"
            );
            for w in t.windows(2) {
                assert!(w[1] > w[0]);
            }
        }
    }

    #[test]
    fn unit_interval_ticks() {
        assert_eq!(
            nice_ticks(0.0, 1.0).0,
            vec![0.0, 0.2, 0.4, 0.6000000000000001, 0.8, 1.0]
        );
        let t = linear_ticks(-0.05, 1.05);
        assert_eq!(t.labels, ["0", "0.2", "0.4", "0.6", "0.8", "1.0"]);
    }

    #[test]
    fn log_ticks_are_powers_of_ten() {
        for (lo, hi) in [(-3.2, 1.5), (0.0, 1.0), (-40.0, 35.0), (-0.5, 0.5)] {
            let (t, minor) = log_ticks(lo, hi);
            assert!(!t.is_empty() || hi - lo < 1.0);
            for k in &t {
                assert_eq!(k.fract(), 0.0);
                assert!(*k >= lo && *k <= hi);
            }
            assert!(t.len() <= 9);
            assert!(minor.iter().all(|m| m.fract() != 0.0));
        }
        let t = decade_ticks(-3.0, 1.0);
        assert_eq!(t.labels, ["1e-3", "0.01", "0.1", "1", "10"]);
    }

    #[test]
    fn log_limits_show_two_decades() {
        let (lo, hi) = log_limits(Some((0.3f64.log10(), 0.8f64.log10())), None);
        assert_eq!((lo, hi), (-1.0, 0.0));
        let (lo, hi) = log_limits(Some((1.0, 1.0)), None);
        assert_eq!((lo, hi), (0.0, 2.0));
        let (lo, hi) = log_limits(None, Some((1e-4, 1.0)));
        assert_eq!((lo, hi), (-4.0, 0.0));
        assert_eq!(log_limits(None, Some((-1.0, 1.0))), (0.0, 1.0));
    }

    #[test]
    fn degenerate_limits_are_padded() {
        let (lo, hi) = linear_limits(Some((5.0, 5.0)), None);
        assert!(lo < 5.0 && hi > 5.0);
        let (lo, hi) = linear_limits(Some((0.0, 0.0)), None);
        assert!(lo < 0.0 && hi > 0.0);
        assert_eq!(linear_limits(None, None), (0.0, 1.0));
        let (lo, hi) = linear_limits(Some((-HUGE, HUGE)), None);
        assert!((hi - lo).is_finite());
        assert_eq!(
            linear_limits(Some((0.0, 1.0)), Some((2.0, 3.0))),
            (2.0, 3.0)
        );
        let (lo, hi) = linear_limits(Some((0.0, 1.0)), Some((f64::NAN, 3.0)));
        assert!(lo < 0.0 && hi > 1.0);
    }

    #[test]
    fn compact_number_formatting() {
        assert_eq!(format_number(0.5), "0.5");
        assert_eq!(format_number(1e-3), "1e-3");
        assert_eq!(format_number(250.0), "250");
        assert_eq!(format_number(-1.25), "-1.25");
        assert_eq!(format_number(0.0123), "0.0123");
        assert_eq!(format_number(123456.0), "1.23e5");
        assert_eq!(format_number(2.5e-7), "2.5e-7");
        assert_eq!(format_number(0.0), "0");
        assert_eq!(format_number(-0.0), "0");
        assert_eq!(format_number(1.0), "1");
        assert_eq!(format_number(9.9999e-3), "0.01");
        assert_eq!(format_number(f64::NAN), "nan");
        assert_eq!(format_sig(0.97345, 2), "0.97");
        assert_eq!(format_sig(-0.0001, 2), "-1e-4");
    }

    #[test]
    fn tick_label_formatting() {
        assert_eq!(format_ticks(&[0.0, 0.5, 1.0], 0.5), ["0", "0.5", "1.0"]);
        assert_eq!(
            format_ticks(&[0.0, 250.0, 500.0], 250.0),
            ["0", "250", "500"]
        );
        assert_eq!(format_ticks(&[0.0, 2e5, 4e5], 2e5), ["0", "2e5", "4e5"]);
        assert_eq!(format_ticks(&[1e-4, 2e-4], 1e-4), ["1e-4", "2e-4"]);
        assert_eq!(
            format_ticks(&[-0.002, 0.0, 0.002], 0.002),
            ["-0.002", "0", "0.002"]
        );
        assert_eq!(
            format_ticks(&[1.5e6, 2.0e6, 2.5e6], 5e5),
            ["1.5e6", "2e6", "2.5e6"]
        );
    }

    #[test]
    fn stride_thins_crowded_labels() {
        let centers = [0.0, 10.0, 20.0, 30.0, 40.0];
        assert_eq!(label_stride(&centers, &[5; 5], 3.0), 1);
        assert_eq!(label_stride(&centers, &[15; 5], 3.0), 2);
        assert_eq!(label_stride(&[], &[], 3.0), 1);
    }
}
