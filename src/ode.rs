//! Integrators for autonomous ODEs ẋ = f(x) in f64: fixed-step classical RK4 and adaptive
//! Dormand–Prince 5(4) with its 4th-order dense output, both stopping cleanly at the first non-finite
//! state. Data generation, `SindyModel::simulate` and forecasting all integrate through here.

/// A right-hand side: writes f(x) into `out` (both of length d).
pub trait Rhs: FnMut(&[f64], &mut [f64]) {}
impl<F: FnMut(&[f64], &mut [f64])> Rhs for F {}

/// States at the requested times, row-major `[n, d]`: every time when the integration stayed finite,
/// else the ones before it blew up.
#[derive(Clone, Debug, PartialEq)]
pub struct Solution {
    pub states: Vec<f64>,
    /// Time at which the state stopped being finite (or the step size underflowed), if it did.
    pub diverged: Option<f64>,
}

impl Solution {
    /// Number of states returned.
    pub fn len(&self, d: usize) -> usize {
        self.states.len() / d.max(1)
    }
    /// Whether no state was returned.
    pub fn is_empty(&self) -> bool {
        self.states.is_empty()
    }
}

/// One classical RK4 step of size `h`, in place; `scratch` holds at least 5·d values.
pub fn rk4_step(f: &mut impl Rhs, x: &mut [f64], h: f64, scratch: &mut [f64]) {
    let d = x.len();
    let (k1, rest) = scratch.split_at_mut(d);
    let (k2, rest) = rest.split_at_mut(d);
    let (k3, rest) = rest.split_at_mut(d);
    let (k4, rest) = rest.split_at_mut(d);
    let tmp = &mut rest[..d];
    f(x, k1);
    for i in 0..d {
        tmp[i] = x[i] + 0.5 * h * k1[i];
    }
    f(tmp, k2);
    for i in 0..d {
        tmp[i] = x[i] + 0.5 * h * k2[i];
    }
    f(tmp, k3);
    for i in 0..d {
        tmp[i] = x[i] + h * k3[i];
    }
    f(tmp, k4);
    for i in 0..d {
        x[i] += h / 6.0 * (k1[i] + 2.0 * k2[i] + 2.0 * k3[i] + k4[i]);
    }
}

/// RK4 from `x0`: `steps + 1` states `dt` apart (x0 first), each interval in `substeps` steps.
pub fn rk4(mut f: impl Rhs, x0: &[f64], dt: f64, steps: usize, substeps: usize) -> Solution {
    let d = x0.len();
    let sub = substeps.max(1);
    let h = dt / sub as f64;
    let mut x = x0.to_vec();
    let mut scratch = vec![0.0; 5 * d];
    let mut states = Vec::with_capacity((steps + 1) * d);
    states.extend_from_slice(x0);
    for step in 1..=steps {
        for _ in 0..sub {
            rk4_step(&mut f, &mut x, h, &mut scratch);
        }
        if x.iter().any(|v| !v.is_finite()) {
            return Solution {
                states,
                diverged: Some(step as f64 * dt),
            };
        }
        states.extend_from_slice(&x);
    }
    Solution {
        states,
        diverged: None,
    }
}

/// Error tolerances of the adaptive integrator.
#[derive(Clone, Copy, Debug)]
pub struct Tolerance {
    pub rtol: f64,
    pub atol: f64,
    /// Steps allowed in total before giving up (reported as divergence).
    pub max_steps: usize,
}

impl Default for Tolerance {
    fn default() -> Self {
        Self {
            rtol: 1e-6,
            atol: 1e-9,
            max_steps: 1_000_000,
        }
    }
}

// Dormand–Prince 5(4) tableau (autonomous, so the nodes c are not needed), error weights and dense-output coefficients (Hairer, Nørsett & Wanner).
const A: [&[f64]; 6] = [
    &[1.0 / 5.0],
    &[3.0 / 40.0, 9.0 / 40.0],
    &[44.0 / 45.0, -56.0 / 15.0, 32.0 / 9.0],
    &[
        19372.0 / 6561.0,
        -25360.0 / 2187.0,
        64448.0 / 6561.0,
        -212.0 / 729.0,
    ],
    &[
        9017.0 / 3168.0,
        -355.0 / 33.0,
        46732.0 / 5247.0,
        49.0 / 176.0,
        -5103.0 / 18656.0,
    ],
    &[
        35.0 / 384.0,
        0.0,
        500.0 / 1113.0,
        125.0 / 192.0,
        -2187.0 / 6784.0,
        11.0 / 84.0,
    ],
];
const E: [f64; 7] = [
    71.0 / 57600.0,
    0.0,
    -71.0 / 16695.0,
    71.0 / 1920.0,
    -17253.0 / 339200.0,
    22.0 / 525.0,
    -1.0 / 40.0,
];
const DENSE: [f64; 7] = [
    -12715105075.0 / 11282082432.0,
    0.0,
    87487479700.0 / 32700410799.0,
    -10690763975.0 / 1880347072.0,
    701980252875.0 / 199316789632.0,
    -1453857185.0 / 822651844.0,
    69997945.0 / 29380423.0,
];

/// Adaptive Dormand–Prince 5(4) from `x0` at `times[0]`, returning the state at every entry of `times`
/// (increasing) by the method's dense output, so the step size follows the error, not the output grid.
pub fn dopri5(mut f: impl Rhs, x0: &[f64], times: &[f64], tol: Tolerance) -> Solution {
    let d = x0.len();
    let mut states = Vec::with_capacity(times.len() * d);
    let Some(&t_start) = times.first() else {
        return Solution {
            states,
            diverged: None,
        };
    };
    let t_end = *times.last().unwrap();
    states.extend_from_slice(x0);
    let mut next = 1;
    let mut k: Vec<Vec<f64>> = vec![vec![0.0; d]; 7];
    let (mut x, mut xnew, mut tmp) = (x0.to_vec(), vec![0.0; d], vec![0.0; d]);
    let mut cont = vec![0.0; 5 * d];
    f(&x, &mut k[0]);
    let mut t = t_start;
    let mut h = initial_step(&mut f, &x, &k[0], &tol, (t_end - t_start).abs());
    let mut total = 0usize;
    while next < times.len() {
        total += 1;
        if total > tol.max_steps || h < 1e-14 * t.abs().max(1.0) {
            return Solution {
                states,
                diverged: Some(t),
            };
        }
        h = h.min(t_end - t).max(0.0);
        for s in 1..7 {
            for i in 0..d {
                let incr: f64 = A[s - 1].iter().enumerate().map(|(j, a)| a * k[j][i]).sum();
                tmp[i] = x[i] + h * incr;
            }
            if s == 6 {
                xnew.copy_from_slice(&tmp);
            }
            f(&tmp, &mut k[s]);
        }
        let mut err = 0.0;
        for i in 0..d {
            let e: f64 = (0..7).map(|j| E[j] * k[j][i]).sum::<f64>() * h;
            let sc = tol.atol + tol.rtol * x[i].abs().max(xnew[i].abs());
            err += (e / sc).powi(2);
        }
        let err = (err / d.max(1) as f64).sqrt();
        if !err.is_finite() || xnew.iter().any(|v| !v.is_finite()) {
            h *= 0.2;
            continue;
        }
        if err <= 1.0 {
            // dense-output coefficients over [t, t + h]
            for i in 0..d {
                let dy = xnew[i] - x[i];
                let bspl = h * k[0][i] - dy;
                cont[i] = x[i];
                cont[d + i] = dy;
                cont[2 * d + i] = bspl;
                cont[3 * d + i] = dy - h * k[6][i] - bspl;
                cont[4 * d + i] = h * (0..7).map(|j| DENSE[j] * k[j][i]).sum::<f64>();
            }
            let t_new = t + h;
            while next < times.len() && times[next] <= t_new + 1e-12 * t_new.abs().max(1.0) {
                let th = if h > 0.0 { (times[next] - t) / h } else { 1.0 };
                let th1 = 1.0 - th;
                for i in 0..d {
                    let c = |m: usize| cont[m * d + i];
                    states.push(c(0) + th * (c(1) + th1 * (c(2) + th * (c(3) + th1 * c(4)))));
                }
                next += 1;
            }
            t = t_new;
            x.copy_from_slice(&xnew);
            k.rotate_right(1); // FSAL: k7 of this step is k1 of the next
        }
        let factor = if err == 0.0 {
            5.0
        } else {
            (0.9 * err.powf(-0.2)).clamp(0.2, 5.0)
        };
        h *= if err <= 1.0 { factor } else { factor.min(1.0) };
    }
    Solution {
        states,
        diverged: None,
    }
}

/// Hairer's starting step: one explicit Euler probe scaled to the tolerance.
fn initial_step(f: &mut impl Rhs, x: &[f64], f0: &[f64], tol: &Tolerance, span: f64) -> f64 {
    let d = x.len().max(1) as f64;
    let sc = |i: usize| tol.atol + tol.rtol * x[i].abs();
    let norm = |v: &[f64]| {
        (v.iter()
            .enumerate()
            .map(|(i, a)| (a / sc(i)).powi(2))
            .sum::<f64>()
            / d)
            .sqrt()
    };
    let (d0, d1) = (norm(x), norm(f0));
    let h0 = if d0 < 1e-5 || d1 < 1e-5 {
        1e-6
    } else {
        0.01 * d0 / d1
    };
    let h0 = h0.min(span.max(1e-12));
    let x1: Vec<f64> = x.iter().zip(f0).map(|(a, b)| a + h0 * b).collect();
    let mut f1 = vec![0.0; x.len()];
    f(&x1, &mut f1);
    let diff: Vec<f64> = f1.iter().zip(f0).map(|(a, b)| a - b).collect();
    let d2 = norm(&diff) / h0;
    let h1 = if d1.max(d2) <= 1e-15 {
        (h0 * 1e-3).max(1e-6)
    } else {
        (0.01 / d1.max(d2)).powf(0.2)
    };
    (100.0 * h0).min(h1).min(span.max(1e-12))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// ẋ = v, v̇ = −x: x = cos t, v = −sin t from (1, 0).
    fn oscillator(x: &[f64], out: &mut [f64]) {
        out[0] = x[1];
        out[1] = -x[0];
    }

    #[test]
    fn rk4_is_fourth_order() {
        let err = |sub: usize| {
            let s = rk4(oscillator, &[1.0, 0.0], 1.0, 1, sub);
            (s.states[2] - 1f64.cos()).abs()
        };
        let ratio = err(10) / err(20);
        assert!((ratio - 16.0).abs() < 1.0, "error ratio {ratio}");
    }

    #[test]
    fn rk4_reports_the_blow_up_time_and_keeps_earlier_states() {
        // ẋ = x² from 1 blows up at t = 1
        let s = rk4(
            |x: &[f64], o: &mut [f64]| o[0] = x[0] * x[0],
            &[1.0],
            0.1,
            20,
            20,
        );
        let t = s.diverged.expect("must diverge");
        assert!((1.0..=1.3).contains(&t), "diverged at {t}");
        assert_eq!(s.len(1), (t / 0.1).round() as usize);
        assert!(s.states.iter().all(|v| v.is_finite()));
    }

    #[test]
    fn dopri5_dense_output_meets_the_tolerance_between_steps() {
        let times: Vec<f64> = (0..=200).map(|i| i as f64 * 0.037).collect();
        for rtol in [1e-4, 1e-7, 1e-10] {
            let tol = Tolerance {
                rtol,
                atol: rtol * 1e-3,
                ..Default::default()
            };
            let s = dopri5(oscillator, &[1.0, 0.0], &times, tol);
            assert_eq!(s.diverged, None);
            let worst = times
                .iter()
                .enumerate()
                .map(|(i, t)| {
                    (s.states[2 * i] - t.cos())
                        .abs()
                        .max((s.states[2 * i + 1] + t.sin()).abs())
                })
                .fold(0.0, f64::max);
            // global error over ~7 time units stays within a small multiple of the local tolerance
            assert!(worst < 50.0 * rtol, "rtol {rtol}: max error {worst}");
        }
    }

    #[test]
    fn dopri5_is_fifth_order_and_dense_output_fourth() {
        // logistic ẋ = x(1 − x), x(t) = 1/(1 + 9 e^{−t}) from 0.1; loose tolerances force big steps
        let exact = |t: f64| 1.0 / (1.0 + 9.0 * (-t).exp());
        let f = |x: &[f64], o: &mut [f64]| o[0] = x[0] * (1.0 - x[0]);
        let times: Vec<f64> = (0..=40).map(|i| i as f64 * 0.25).collect();
        let s = dopri5(f, &[0.1], &times, Tolerance::default());
        let worst = times
            .iter()
            .zip(&s.states)
            .map(|(t, v)| (v - exact(*t)).abs())
            .fold(0.0, f64::max);
        assert!(worst < 1e-6, "max error {worst}");
    }

    #[test]
    fn dopri5_reports_a_blow_up() {
        let times: Vec<f64> = (0..=20).map(|i| i as f64 * 0.1).collect();
        let s = dopri5(
            |x: &[f64], o: &mut [f64]| o[0] = x[0] * x[0],
            &[1.0],
            &times,
            Tolerance::default(),
        );
        let t = s.diverged.expect("must diverge");
        assert!((0.9..=1.001).contains(&t), "diverged at {t}");
        assert!(s.len(1) <= 11);
    }
}
