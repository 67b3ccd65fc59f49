//! Forecast scores: relative L2 error per step (mean and quantiles over trajectories), its horizon
//! average (mean and median over trajectories), the valid-prediction time and the drift of a known
//! first integral. A trajectory that diverged keeps counting: from the step it blew up, its error is
//! that of predicting zero (relative error 1), so every method is scored over all trajectories.

use super::Rollout;
use serde::Serialize;

/// Scores of one method on the test trajectories.
#[derive(Clone, Debug, Serialize)]
pub struct Scores {
    /// Mean over trajectories of ‖x̂ₜ − xₜ‖/‖xₜ‖, for every step where the truth exists (step 0 first).
    /// A trajectory that diverged (see `diverged`) counts 1 from then on.
    pub curve: Vec<f64>,
    /// 10 %, 50 % and 90 % quantiles over trajectories, per step.
    pub q10: Vec<f64>,
    pub median: Vec<f64>,
    pub q90: Vec<f64>,
    /// Mean of `curve` over steps 1.. (the horizon average).
    pub horizon_mean: f64,
    /// Median over trajectories of each one's error averaged over steps 1..: robust to a few
    /// trajectories that diverge.
    pub horizon_median: f64,
    /// First time the mean error exceeds the threshold (None: never within the horizon).
    pub valid_time: Option<f64>,
    /// The same in steps.
    pub valid_steps: Option<usize>,
    /// Mean over trajectories and steps of |H(x̂ₜ) − H(x₀)| for a system with a known first integral H.
    pub invariant_drift: Option<f64>,
    /// Trajectories whose integration blew up, with the time it happened.
    pub diverged: Vec<(usize, f64)>,
}

/// Relative L2 error of a prediction against the truth (absolute when the truth is zero).
pub fn relative_l2(pred: &[f32], truth: &[f32]) -> f64 {
    let (mut num, mut den) = (0.0f64, 0.0f64);
    for (p, t) in pred.iter().zip(truth) {
        num += (*p as f64 - *t as f64).powi(2);
        den += (*t as f64).powi(2);
    }
    if den > 0.0 {
        (num / den).sqrt()
    } else {
        num.sqrt()
    }
}

/// The q-quantile of `v` (linear interpolation; `v` is sorted in place).
fn quantile(v: &mut [f64], q: f64) -> f64 {
    v.sort_by(f64::total_cmp);
    let pos = q * (v.len() - 1) as f64;
    let (lo, hi) = (pos.floor() as usize, pos.ceil() as usize);
    v[lo] + (pos - lo as f64) * (v[hi] - v[lo])
}

/// Scores of `rollouts` against `truth` (per trajectory `[steps, obs_len]`, as many steps as exist),
/// with time step `dt`, valid-time `threshold` and an optional first integral `h` of the observation.
pub fn score(
    rollouts: &[Rollout],
    truth: &[&[f32]],
    obs_len: usize,
    dt: f64,
    threshold: f64,
    h: Option<fn(&[f64]) -> f64>,
) -> Scores {
    let steps = truth.iter().map(|t| t.len() / obs_len).max().unwrap_or(0);
    let (mut curve, mut q10, mut median, mut q90) = (vec![], vec![], vec![], vec![]);
    // Per trajectory: the sum of its errors over steps 1.. and their count.
    let mut per = vec![(0.0f64, 0usize); truth.len()];
    for n in 0..steps {
        let at = n * obs_len..(n + 1) * obs_len;
        let mut errs = Vec::with_capacity(truth.len());
        for (i, (r, t)) in rollouts.iter().zip(truth).enumerate() {
            if t.len() < at.end {
                continue;
            }
            let e = if r.x.len() >= at.end {
                relative_l2(&r.x[at.clone()], &t[at.clone()])
            } else {
                1.0
            };
            if n > 0 {
                per[i].0 += e;
                per[i].1 += 1;
            }
            errs.push(e);
        }
        if errs.is_empty() {
            break;
        }
        curve.push(errs.iter().sum::<f64>() / errs.len() as f64);
        q10.push(quantile(&mut errs, 0.1));
        median.push(quantile(&mut errs, 0.5));
        q90.push(quantile(&mut errs, 0.9));
    }
    let horizon_mean = if curve.len() > 1 {
        curve[1..].iter().sum::<f64>() / (curve.len() - 1) as f64
    } else {
        0.0
    };
    let mut means: Vec<f64> = per
        .iter()
        .filter(|(_, k)| *k > 0)
        .map(|(s, k)| s / *k as f64)
        .collect();
    let horizon_median = if means.is_empty() {
        0.0
    } else {
        quantile(&mut means, 0.5)
    };
    let valid_steps = curve.iter().position(|&e| e > threshold);
    let invariant_drift = h.map(|h| {
        let mut total = 0.0;
        let mut count = 0usize;
        for (r, t) in rollouts.iter().zip(truth) {
            let h0 = h(&t[..obs_len].iter().map(|&v| v as f64).collect::<Vec<_>>());
            for p in r.x.chunks(obs_len).skip(1) {
                total += (h(&p.iter().map(|&v| v as f64).collect::<Vec<_>>()) - h0).abs();
                count += 1;
            }
        }
        total / count.max(1) as f64
    });
    Scores {
        curve,
        q10,
        median,
        q90,
        horizon_mean,
        horizon_median,
        valid_time: valid_steps.map(|n| n as f64 * dt),
        valid_steps,
        invariant_drift,
        diverged: rollouts
            .iter()
            .enumerate()
            .filter_map(|(i, r)| r.diverged.map(|t| (i, t)))
            .collect(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn curve_quantiles_valid_time_and_drift() {
        // two 1-D trajectories of constant truth 1; predictions drift linearly at rates 0.1 and 0.3
        let truth = [vec![1.0f32; 5], vec![1.0f32; 5]];
        let refs: Vec<&[f32]> = truth.iter().map(Vec::as_slice).collect();
        let ro = |rate: f32| Rollout {
            x: (0..5).map(|n| 1.0 + rate * n as f32).collect(),
            diverged: None,
        };
        let s = score(&[ro(0.1), ro(0.3)], &refs, 1, 0.5, 0.35, Some(|x| x[0]));
        let want = [0.0, 0.2, 0.4, 0.6, 0.8];
        for (a, b) in s.curve.iter().zip(want) {
            assert!((a - b).abs() < 1e-6, "{:?}", s.curve);
        }
        assert!((s.median[2] - 0.4).abs() < 1e-6 && (s.q10[2] - 0.24).abs() < 1e-6);
        assert!((s.horizon_mean - 0.5).abs() < 1e-6);
        assert_eq!(s.valid_steps, Some(2));
        assert_eq!(s.valid_time, Some(1.0));
        // |H(x̂) − H(x0)| = rate·n averaged over n = 1..4 and both rates: 0.2 · 2.5 = 0.5
        assert!((s.invariant_drift.unwrap() - 0.5).abs() < 1e-6);
    }

    #[test]
    fn a_diverged_trajectory_counts_as_predicting_zero_after_it_blew_up() {
        let truth = [vec![2.0f32; 4], vec![2.0f32; 4], vec![2.0f32; 4]];
        let refs: Vec<&[f32]> = truth.iter().map(Vec::as_slice).collect();
        let ok = || Rollout {
            x: vec![2.0; 4],
            diverged: None,
        };
        let blown = Rollout {
            x: vec![2.0, 3.0],
            diverged: Some(0.2),
        };
        let s = score(&[ok(), blown, ok()], &refs, 1, 0.1, 0.2, None);
        assert_eq!(s.curve.len(), 4);
        // step 1: errors 0, 0.5, 0; steps 2 and 3: 0, 1 (predicting zero), 0
        let want = [0.0, 0.5 / 3.0, 1.0 / 3.0, 1.0 / 3.0];
        for (a, b) in s.curve.iter().zip(want) {
            assert!((a - b).abs() < 1e-9, "{:?}", s.curve);
        }
        assert!((s.horizon_mean - 2.5 / 9.0).abs() < 1e-9);
        // per trajectory: 0, 2.5/3, 0 → median 0
        assert_eq!(s.horizon_median, 0.0);
        assert_eq!(s.diverged, vec![(1, 0.2)]);
        assert_eq!(s.valid_steps, Some(2));
    }
}
