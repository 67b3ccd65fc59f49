//! Forecasts along the orbits of a learned rotation of a 2-D latent: `laligan-orbit` (a first-order
//! phase rate on each orbit) and `laligan-second-order` (a second-order equation for the angle along
//! one closed latent curve, for observations that show a position only).

use super::methods::{latent, mean_row, stride_for, train_trajectories, Context, Outcome};
use crate::error::Result;
use crate::ode::{self, Solution};
use crate::train::eval::encode_all;
use crate::train::LaLiGan;
use nalgebra::{DMatrix, DVector};

/// R and R⁻¹ with Q = RᵀR the invariant form of the first generator's 2×2 block (LᵀQ + QL = 0): in
/// w = R·z the group's orbits are circles; and the number of latent pairs it acts on: a 2-D latent, or
/// a latent of several pairs the first generator moves as copies of one 2×2 block. The reason the
/// orbit models cannot run otherwise.
fn rotation(
    ctx: &Context,
    model: &LaLiGan,
) -> std::result::Result<(DMatrix<f64>, DMatrix<f64>, usize), String> {
    let k = model.ae.latent_dim();
    let shape_err = || {
        format!(
            "the orbit models need a 2-D latent, or one 2×2 generator repeated along the latent (this \
             one has {k} dimensions)"
        )
    };
    let Some(g) = ctx.inp.generators.first() else {
        return Err(shape_err());
    };
    if !k.is_multiple_of(2) || g.len() != k {
        return Err(shape_err());
    }
    let block = [g[0][0], g[0][1], g[1][0], g[1][1]];
    if *g != crate::discover::latent::block_diagonal(&block, 2, k) {
        return Err(shape_err());
    }
    let (q, _) = crate::metrics::symmetry::invariant_form(&[&block], 2);
    let q = DMatrix::from_row_slice(2, 2, &q);
    let q = if q.trace() < 0.0 { -q } else { q };
    let Some(chol) = q.cholesky() else {
        return Err(
            "the generator's invariant form is not positive definite (not a rotation)".into(),
        );
    };
    let r = chol.l().transpose();
    let Some(r_inv) = r.clone().try_inverse() else {
        return Err("singular invariant form".into());
    };
    Ok((r, r_inv, k / 2))
}

/// The latent moves along the orbit of the learned rotation through its first state, at a phase rate
/// that depends on the orbit: with Q the generator's invariant form (LᵀQ + QL = 0, Q = RᵀR) and
/// w = R(z − z̄) about the mean training latent z̄, |w| stays and the angle of w advances at Ω(|w|).
/// Ω is fitted to the phase advance over whole training trajectories (the slope of the unwrapped angle
/// against time), as a quadratic in the mean |w| of each (a constant for one trajectory): the
/// frequency comes from many periods, not from pointwise ż. With `forecast.orbit_harmonics` > 0 the
/// orbits' shape and the phase speed along them are fitted too ([`OrbitShape`]). A latent of several
/// pairs that the group rotates alike has an orbit model per pair, fitted and evolved on its own.
/// Needs a rotation acting on a 2-D latent or on each pair of one.
pub(super) fn orbit_flow(
    ctx: &Context,
    model: &LaLiGan,
    notes: &mut Vec<String>,
) -> Result<Outcome> {
    let (r, r_inv, pairs) = match rotation(ctx, model) {
        Ok(frame) => frame,
        Err(why) => return Ok(Outcome::Skipped(why)),
    };
    let k = 2 * pairs;
    let train = ctx.inp.dataset.split("train")?;
    let (n, steps) = train_trajectories(ctx)?;
    let stride = stride_for(n, steps, ctx.cfg.fit_points);
    let times: Vec<usize> = (0..steps).step_by(stride).collect();
    if times.len() < 3 {
        return Ok(Outcome::Skipped(format!(
            "{steps} training steps per trajectory sampled every {stride}: too few for a phase rate"
        )));
    }
    let obs_len = ctx.obs_len;
    let mut x = Vec::with_capacity(n * times.len() * obs_len);
    for tr in 0..n {
        for &t in &times {
            let at = (tr * steps + t) * obs_len;
            x.extend_from_slice(&train.x[at..at + obs_len]);
        }
    }
    let z = encode_all(model, &x, obs_len)?;
    let dt = ctx.dt * stride as f64;
    let models = (0..pairs)
        .map(|p| {
            let zp: Vec<f64> = z
                .chunks(k)
                .flat_map(|row| [row[2 * p], row[2 * p + 1]])
                .collect();
            let label = if pairs > 1 {
                format!(" (pair {p})")
            } else {
                String::new()
            };
            PairOrbit::fit(ctx.cfg, &zp, &r, times.len(), dt, &label, notes)
        })
        .collect::<Result<Vec<_>>>()?;
    let horizon = ctx.horizon;
    let rolled = latent(ctx, model, |z0| {
        let paths: Vec<Vec<[f64; 2]>> = models
            .iter()
            .enumerate()
            .map(|(p, m)| m.roll(&r, &r_inv, [z0[2 * p], z0[2 * p + 1]], ctx.dt, horizon))
            .collect();
        // A pair's integration ends early where its state turned non-finite: so does the latent's.
        let len = paths.iter().map(Vec::len).min().unwrap_or(0);
        let mut states = Vec::with_capacity(len * k);
        states.extend_from_slice(z0);
        for t in 1..len {
            for path in &paths {
                states.extend(path[t]);
            }
        }
        Solution {
            states,
            diverged: None,
        }
    })?;
    Ok(Outcome::Ran(rolled))
}

/// One latent pair's orbit model: the phase rate Ω(ρ) over the range of mean radii it was fitted on,
/// the orbits' shape, the drift of the mean radius, and the pair's mean training latent.
struct PairOrbit {
    coef: DVector<f64>,
    range: (f64, f64),
    shape: OrbitShape,
    drift: [f64; 2],
    centre: [f64; 2],
}

impl PairOrbit {
    /// Fits the pair's model to its training latents `z` (`[trajectories × samples, 2]`, `per_traj`
    /// samples `dt` apart per trajectory); `label` names the pair in the notes.
    fn fit(
        cfg: &super::ForecastConfig,
        z: &[f64],
        r: &DMatrix<f64>,
        per_traj: usize,
        dt: f64,
        label: &str,
        notes: &mut Vec<String>,
    ) -> Result<Self> {
        let rows = z.len() / 2;
        let zbar = mean_row(z, 2);
        let centre = [zbar[0], zbar[1]];
        let polar = |p: &[f64]| polar(r, centre, p);
        // Per trajectory: (mean radius, phase rate).
        let mut fits = Vec::new();
        let mut coarse = 0usize;
        // Every sample as (trajectory, angle, radius, unwrapped angle).
        let mut samples: Vec<(usize, f64, f64, f64)> = Vec::with_capacity(rows);
        for (ti, traj) in z.chunks(per_traj * 2).enumerate() {
            let (mut theta, mut prev, mut rsum) = (Vec::with_capacity(per_traj), None, 0.0);
            let mut turn = 0.0;
            for p in traj.chunks(2) {
                let (rad, a) = polar(p);
                rsum += rad;
                if let Some(b) = prev {
                    let mut d: f64 = a - b;
                    d -= std::f64::consts::TAU * (d / std::f64::consts::TAU).round();
                    if d.abs() > std::f64::consts::FRAC_PI_2 {
                        coarse += 1;
                    }
                    turn += d;
                }
                prev = Some(a);
                theta.push(turn);
                samples.push((ti, a, rad, turn));
            }
            let m = theta.len() as f64;
            let tm = (m - 1.0) / 2.0;
            let thm = theta.iter().sum::<f64>() / m;
            let (mut num, mut den) = (0.0, 0.0);
            for (i, th) in theta.iter().enumerate() {
                num += (i as f64 - tm) * (th - thm);
                den += (i as f64 - tm).powi(2);
            }
            fits.push((rsum / m, num / den / dt));
        }
        // Ω(ρ) = a₀ + a₁ρ + a₂ρ², by least squares over the trajectories (degree < their number).
        let degree = (fits.len() - 1).min(2);
        let mut a = DMatrix::<f64>::zeros(fits.len(), degree + 1);
        let mut b = DVector::<f64>::zeros(fits.len());
        for (i, (rho, om)) in fits.iter().enumerate() {
            for j in 0..=degree {
                a[(i, j)] = rho.powi(j as i32);
            }
            b[i] = *om;
        }
        let coef = a
            .svd(true, true)
            .solve(&b, 1e-12)
            .map_err(|e| data_err!("laligan-orbit: phase-rate fit: {e}"))?;
        let (lo, hi) = fits
            .iter()
            .fold((f64::INFINITY, f64::NEG_INFINITY), |(lo, hi), f| {
                (lo.min(f.0), hi.max(f.0))
            });
        notes.push(format!(
            "laligan-orbit{label}: phase rate Ω(ρ) = {} over ρ in [{lo:.3}, {hi:.3}] from {} \
             training trajectories ({per_traj} samples each){}",
            (0..=degree)
                .map(|j| format!("{:+.4}·ρ^{j}", coef[j]))
                .collect::<Vec<_>>()
                .join(" "),
            fits.len(),
            if coarse > 0 {
                format!("; {coarse} phase steps over π/2: sampled too coarsely")
            } else {
                String::new()
            }
        ));
        let shape = OrbitShape::fit(cfg.orbit_harmonics, &samples, &fits, dt)?;
        let drift = if cfg.orbit_drift {
            let c = radial_drift(&samples, dt)?;
            notes.push(format!(
                "laligan-orbit{label}: mean-radius drift dρ̄/dt = {:+.4e} {:+.4e}·ρ̄",
                c[0], c[1]
            ));
            c
        } else {
            [0.0, 0.0]
        };
        Ok(Self {
            coef,
            range: (lo, hi),
            shape,
            drift,
            centre,
        })
    }

    /// Ω at mean radius `rho`, clamped to the fitted range.
    fn rate(&self, rho: f64) -> f64 {
        let rho = rho.clamp(self.range.0, self.range.1);
        self.coef
            .iter()
            .enumerate()
            .map(|(j, c)| c * rho.powi(j as i32))
            .sum()
    }

    /// The pair's latent from `z0` over `horizon` steps of `dt` (up to `horizon + 1` states, `z0`
    /// first; fewer where the integration stopped at a non-finite state):
    /// the angle θ̇ = Ω(ρ̄)·(1 + g(θ, ρ̄)) and the mean radius ρ̄̇ = c₀ + c₁ρ̄ (zero without drift), four
    /// RK4 steps per data step.
    fn roll(
        &self,
        r: &DMatrix<f64>,
        r_inv: &DMatrix<f64>,
        z0: [f64; 2],
        dt: f64,
        horizon: usize,
    ) -> Vec<[f64; 2]> {
        let (rho0, theta0) = polar(r, self.centre, &z0);
        let shape = &self.shape;
        let rho = shape.mean_radius(rho0, theta0);
        let flow = |y: &[f64], d: &mut [f64]| {
            d[0] = self.rate(y[1]) * shape.normalizer(y[1]) * shape.speed(y[0], y[1]);
            d[1] = self.drift[0] + self.drift[1] * y[1];
        };
        let path = ode::rk4(flow, &[theta0, rho], dt, horizon, 4).states;
        let mut states = Vec::with_capacity(horizon + 1);
        states.push(z0);
        for y in path.chunks(2).skip(1) {
            let (th, rho) = (y[0], y[1]);
            let rad = rho * shape.radius(th, rho);
            let z = r_inv * DVector::from_column_slice(&[rad * th.cos(), rad * th.sin()]);
            states.push([z[0] + self.centre[0], z[1] + self.centre[1]]);
        }
        states
    }
}

/// The radius and angle of w = R(p − centre).
fn polar(r: &DMatrix<f64>, centre: [f64; 2], p: &[f64]) -> (f64, f64) {
    let w = r * DVector::from_column_slice(&[p[0] - centre[0], p[1] - centre[1]]);
    (w.norm(), w[1].atan2(w[0]))
}

/// The drift of the mean radius, dρ̄/dt = c₀ + c₁ρ̄, by least squares on the change of the mean radius
/// between consecutive whole turns of each training trajectory; `samples` are (trajectory, angle,
/// radius, unwrapped angle) in time order, `dt` apart.
fn radial_drift(samples: &[(usize, f64, f64, f64)], dt: f64) -> Result<[f64; 2]> {
    // The whole turns as (trajectory, mean time, mean radius); the times count samples from the start
    // of `samples`, which only their differences within one trajectory use.
    let mut turns: Vec<(usize, f64, f64)> = Vec::new();
    let mut start = 0;
    while start < samples.len() {
        let (tr, _, _, a0) = samples[start];
        // The end of the turn, or of the trajectory when less than a turn is left.
        let end = samples[start..]
            .iter()
            .position(|s| s.0 != tr || (s.3 - a0).abs() >= std::f64::consts::TAU)
            .map_or(samples.len(), |p| start + p);
        if end < samples.len() && samples[end].0 == tr {
            let rho = samples[start..end].iter().map(|s| s.2).sum::<f64>() / (end - start) as f64;
            turns.push((tr, (start + end - 1) as f64 / 2.0 * dt, rho));
        }
        start = end;
    }
    let rows: Vec<(Vec<f64>, f64)> = turns
        .windows(2)
        .filter(|w| w[0].0 == w[1].0)
        .map(|w| {
            let rho = (w[0].2 + w[1].2) / 2.0;
            (vec![1.0, rho], (w[1].2 - w[0].2) / (w[1].1 - w[0].1))
        })
        .collect();
    if rows.len() < 2 {
        return Err(data_err!(
            "laligan-orbit: forecast.orbit_drift needs training trajectories of at least three whole \
             turns ({} pairs of consecutive turns found)",
            rows.len()
        ));
    }
    let (c, _) = least_squares(&rows, "laligan-orbit: radius drift")?;
    Ok([c[0], c[1]])
}

/// The shape of `laligan-orbit`'s orbits in w-coordinates, shared by all of them: the radius relative
/// to the orbit's mean, exp(f(θ, ρ̄)), and the phase speed relative to the mean rate, 1 + g(θ, ρ̄), each
/// a Fourier series in θ of `harmonics` terms whose coefficients are linear in the mean radius ρ̄.
struct OrbitShape {
    harmonics: usize,
    /// Coefficients of f and g: per harmonic j, (cos, sin, ρ̄ cos, ρ̄ sin).
    f: Vec<f64>,
    g: Vec<f64>,
}

impl OrbitShape {
    /// Fits f to log(ρ/ρ̄) of every sample and g to the phase speed between consecutive samples over
    /// its trajectory's rate; `samples` are (trajectory, angle, radius, unwrapped angle) in order,
    /// `fits` each trajectory's (ρ̄, rate), `dt` the time between samples.
    fn fit(
        harmonics: usize,
        samples: &[(usize, f64, f64, f64)],
        fits: &[(f64, f64)],
        dt: f64,
    ) -> Result<Self> {
        let none = Self {
            harmonics: 0,
            f: Vec::new(),
            g: Vec::new(),
        };
        if harmonics == 0 {
            return Ok(none);
        }
        let features = |th: f64, rho: f64| -> Vec<f64> {
            (1..=harmonics)
                .flat_map(|j| {
                    let (s, c) = (j as f64 * th).sin_cos();
                    [c, s, rho * c, rho * s]
                })
                .collect()
        };
        let solve = |rows: Vec<(Vec<f64>, f64)>| {
            least_squares(&rows, "laligan-orbit: orbit shape").map(|(c, _)| c)
        };
        let radius = samples
            .iter()
            .filter(|s| s.2 > 0.0)
            .map(|&(t, a, r, _)| (features(a, fits[t].0), (r / fits[t].0).ln()))
            .collect();
        let speed = samples
            .windows(2)
            .filter(|w| w[0].0 == w[1].0 && fits[w[0].0].1.abs() > 0.0)
            .map(|w| {
                let (t, mid) = (w[0].0, w[0].1 + (w[1].3 - w[0].3) / 2.0);
                let v = (w[1].3 - w[0].3) / dt / fits[t].1;
                (features(mid, fits[t].0), v - 1.0)
            })
            .collect();
        Ok(Self {
            harmonics,
            f: solve(radius)?,
            g: solve(speed)?,
        })
    }

    fn series(&self, c: &[f64], th: f64, rho: f64) -> f64 {
        (1..=self.harmonics)
            .map(|j| {
                let (s, co) = (j as f64 * th).sin_cos();
                let at = 4 * (j - 1);
                co * (c[at] + rho * c[at + 2]) + s * (c[at + 1] + rho * c[at + 3])
            })
            .sum()
    }

    /// ρ/ρ̄ at angle `th` on the orbit of mean radius `rho`.
    fn radius(&self, th: f64, rho: f64) -> f64 {
        self.series(&self.f, th, rho).exp()
    }

    /// The phase speed relative to the orbit's rate at `th` (kept above 0.1).
    fn speed(&self, th: f64, rho: f64) -> f64 {
        (1.0 + self.series(&self.g, th, rho)).max(0.1)
    }

    /// The factor that makes one turn at [`OrbitShape::speed`] take as long as at a uniform speed.
    fn normalizer(&self, rho: f64) -> f64 {
        if self.harmonics == 0 {
            return 1.0;
        }
        let n = 512;
        let mean_inv: f64 = (0..n)
            .map(|i| 1.0 / self.speed(std::f64::consts::TAU * i as f64 / n as f64, rho))
            .sum::<f64>()
            / n as f64;
        mean_inv
    }

    /// The mean radius of the orbit through radius `rho0` at angle `th0`.
    fn mean_radius(&self, rho0: f64, th0: f64) -> f64 {
        let mut rho = rho0;
        for _ in 0..20 {
            rho = rho0 / self.radius(th0, rho);
        }
        rho
    }
}

/// Least squares with a small ridge (1e-9 per row on the diagonal): the coefficients of `rows`
/// (features, target) and the fit's R²; `what` names the fit in an error.
fn least_squares(rows: &[(Vec<f64>, f64)], what: &str) -> Result<(Vec<f64>, f64)> {
    let m = rows.first().map_or(0, |r| r.0.len());
    let (mut gram, mut rhs) = (DMatrix::<f64>::zeros(m, m), DVector::<f64>::zeros(m));
    for (x, y) in rows {
        for a in 0..m {
            rhs[a] += x[a] * y;
            for b in 0..m {
                gram[(a, b)] += x[a] * x[b];
            }
        }
    }
    for a in 0..m {
        gram[(a, a)] += 1e-9 * rows.len() as f64;
    }
    let c: Vec<f64> = gram
        .lu()
        .solve(&rhs)
        .map(|v| v.iter().copied().collect())
        .ok_or_else(|| data_err!("{what}: singular least-squares fit"))?;
    let mean = rows.iter().map(|r| r.1).sum::<f64>() / rows.len().max(1) as f64;
    let (mut res, mut tot) = (0.0, 0.0);
    for (x, y) in rows {
        let p: f64 = x.iter().zip(&c).map(|(a, b)| a * b).sum();
        res += (y - p).powi(2);
        tot += (y - mean).powi(2);
    }
    Ok((c, 1.0 - res / tot.max(1e-300)))
}

/// Functions of the angle α along a closed latent curve: a Fourier series (1, cos jα, sin jα for
/// j ≤ `harmonics`) where training trajectories go round it; where none does (the curve is traced as
/// an arc that never closes, such as a pendulum's swings), Legendre polynomials of degree ≤ 2·harmonics
/// in the arc length measured from the middle of the largest gap between training angles, so the arc's
/// two ends are not tied together as a periodic series would tie them.
struct AngleBasis {
    harmonics: usize,
    /// The angle of the middle of the gap, for an arc.
    cut: Option<f64>,
}

impl AngleBasis {
    /// The basis for training angles `alpha` (unwrapped along each trajectory of `steps`).
    fn fit(alpha: &[f64], steps: usize, harmonics: usize) -> Self {
        let tau = std::f64::consts::TAU;
        let round = alpha.chunks(steps).any(|a| {
            let (lo, hi) = a
                .iter()
                .fold((f64::INFINITY, f64::NEG_INFINITY), |(l, h), &v| {
                    (l.min(v), h.max(v))
                });
            hi - lo >= tau
        });
        if round || alpha.is_empty() {
            return Self {
                harmonics,
                cut: None,
            };
        }
        let mut m: Vec<f64> = alpha.iter().map(|a| a.rem_euclid(tau)).collect();
        m.sort_by(f64::total_cmp);
        let (mut gap, mut cut) = (
            m[0] + tau - m[m.len() - 1],
            (m[m.len() - 1] + m[0] + tau) / 2.0,
        );
        for p in m.windows(2) {
            if p[1] - p[0] > gap {
                (gap, cut) = (p[1] - p[0], (p[0] + p[1]) / 2.0);
            }
        }
        Self {
            harmonics,
            cut: Some(cut),
        }
    }

    /// The coordinate the basis is evaluated at: α itself, or along an arc the angle from the cut in
    /// [0, 2π).
    fn coordinate(&self, alpha: f64) -> f64 {
        match self.cut {
            None => alpha,
            Some(c) => (alpha - c).rem_euclid(std::f64::consts::TAU),
        }
    }

    /// The basis at coordinate `s` (an arc's coordinate is held to [0, 2π]).
    fn at(&self, s: f64) -> Vec<f64> {
        let mut f = Vec::with_capacity(1 + 2 * self.harmonics);
        f.push(1.0);
        match self.cut {
            None => {
                for j in 1..=self.harmonics {
                    let (sn, cs) = (j as f64 * s).sin_cos();
                    f.extend([cs, sn]);
                }
            }
            Some(_) => {
                let u = (s / std::f64::consts::PI - 1.0).clamp(-1.0, 1.0);
                let (mut prev, mut cur) = (1.0, u);
                for n in 1..=2 * self.harmonics {
                    f.push(cur);
                    let next = ((2 * n + 1) as f64 * u * cur - n as f64 * prev) / (n + 1) as f64;
                    (prev, cur) = (cur, next);
                }
            }
        }
        f
    }

    /// The features of α̈ at coordinate `s` and rate `v`: the basis times 1, v and v².
    fn second_order(&self, s: f64, v: f64) -> Vec<f64> {
        let f = self.at(s);
        [1.0, v, v * v]
            .iter()
            .flat_map(|p| f.iter().map(move |b| p * b))
            .collect()
    }
}

/// Angles of `w` rows about `centre`, unwrapped along the sequence.
fn unwrapped_angles(w: &[[f64; 2]], centre: [f64; 2]) -> Vec<f64> {
    let mut out = Vec::with_capacity(w.len());
    let mut prev: Option<f64> = None;
    for p in w {
        let a = (p[1] - centre[1]).atan2(p[0] - centre[0]);
        let a = match prev {
            None => a,
            Some(b) => {
                let d = a - b;
                b + d - std::f64::consts::TAU * (d / std::f64::consts::TAU).round()
            }
        };
        out.push(a);
        prev = Some(a);
    }
    out
}

/// `laligan-second-order`: where one observation shows a position only (a movie frame), one frame's
/// latent lies on a single closed curve and holds no velocity, so the state is the angle α of
/// w = R·z about the curve's centre together with its rate α̇, and α̈ is a function of both: functions
/// of α ([`AngleBasis`], `forecast.orbit_harmonics`) times 1, α̇ and α̇², fitted by least squares to
/// the derivatives of the angle along whole training trajectories (local quadratics over
/// `forecast.start_frames` frames). The centre is that of the circle fitted to the training latents in
/// w, the radius along the curve a series in α as well. A forecast starts from the first
/// `forecast.start_frames` frames: a quadratic through their angles gives α and α̇ at the first.
pub(super) fn second_order(
    ctx: &Context,
    model: &LaLiGan,
    truth: &[Vec<f32>],
    notes: &mut Vec<String>,
) -> Result<Outcome> {
    let (r, r_inv) = match rotation(ctx, model) {
        Ok((r, r_inv, 1)) => (r, r_inv),
        Ok(_) => {
            return Ok(Outcome::Skipped(
                "laligan-second-order needs a 2-D latent".into(),
            ))
        }
        Err(why) => return Ok(Outcome::Skipped(why)),
    };
    let frames = ctx.cfg.start_frames;
    let half = (frames - 1) / 2;
    let obs_len = ctx.obs_len;
    if truth.iter().any(|t| t.len() < frames * obs_len) {
        return Ok(Outcome::Skipped(format!(
            "a trajectory to forecast has fewer than forecast.start_frames = {frames} frames"
        )));
    }
    let train = ctx.inp.dataset.split("train")?;
    let (n, steps) = train_trajectories(ctx)?;
    if steps < 2 * half + 3 {
        return Ok(Outcome::Skipped(format!(
            "{steps} training steps per trajectory: too few for second derivatives over {frames} frames"
        )));
    }
    // Whole training trajectories, as many as fit_points frames allow (at least one).
    let picked = crate::train::eval::evenly(n, (ctx.cfg.fit_points / steps).max(1));
    let to_w = |z: &[f64]| -> Vec<[f64; 2]> {
        z.chunks(2)
            .map(|p| {
                let w = &r * DVector::from_column_slice(p);
                [w[0], w[1]]
            })
            .collect()
    };
    let mut w = Vec::with_capacity(picked.len() * steps);
    for &tr in &picked {
        let x = &train.x[tr * steps * obs_len..(tr + 1) * steps * obs_len];
        w.extend(to_w(&encode_all(model, x, obs_len)?));
    }
    // The centre: the circle |w − c|² = ρ² fitted algebraically, |w|² = 2c·w + (ρ² − |c|²).
    let circle: Vec<(Vec<f64>, f64)> = w
        .iter()
        .map(|p| (vec![p[0], p[1], 1.0], p[0] * p[0] + p[1] * p[1]))
        .collect();
    let (c, _) = least_squares(&circle, "laligan-second-order: centre")?;
    let centre = [c[0] / 2.0, c[1] / 2.0];
    let alpha: Vec<f64> = w
        .chunks(steps)
        .flat_map(|traj| unwrapped_angles(traj, centre))
        .collect();
    let basis = AngleBasis::fit(&alpha, steps, ctx.cfg.orbit_harmonics);
    // Local quadratics over 2·half + 1 frames: α̇ = Σ i αᵢ / Σ i², α̈ = 2 Σ (i² − ī²) αᵢ / Σ (i² − ī²)².
    let offsets: Vec<f64> = (-(half as i64)..=half as i64).map(|i| i as f64).collect();
    let i2 = offsets.iter().map(|i| i * i).sum::<f64>() / offsets.len() as f64;
    let s1: f64 = offsets.iter().map(|i| i * i).sum();
    let s2: f64 = offsets.iter().map(|i| (i * i - i2).powi(2)).sum();
    let dt = ctx.dt;
    let (mut accel, mut radius) = (Vec::new(), Vec::new());
    let mut vmax = 0.0f64;
    for (traj, angles) in w.chunks(steps).zip(alpha.chunks(steps)) {
        for (p, &a) in traj.iter().zip(angles) {
            let rho = ((p[0] - centre[0]).powi(2) + (p[1] - centre[1]).powi(2)).sqrt();
            if rho > 0.0 {
                radius.push((basis.at(basis.coordinate(a)), rho.ln()));
            }
        }
        for t in half..steps - half {
            let win = &angles[t - half..=t + half];
            let v = offsets.iter().zip(win).map(|(i, a)| i * a).sum::<f64>() / s1 / dt;
            let acc = 2.0
                * offsets
                    .iter()
                    .zip(win)
                    .map(|(i, a)| (i * i - i2) * a)
                    .sum::<f64>()
                / s2
                / (dt * dt);
            vmax = vmax.max(v.abs());
            accel.push((basis.second_order(basis.coordinate(angles[t]), v), acc));
        }
    }
    let (xi, r2) = least_squares(&accel, "laligan-second-order: α̈")?;
    let (shape, _) = least_squares(&radius, "laligan-second-order: radius")?;
    notes.push(format!(
        "laligan-second-order: α̈ = f(α, α̇) with R² {r2:.4} over {} samples of {} training \
         trajectories ({}); starts from the first {frames} frames",
        accel.len(),
        picked.len(),
        match basis.cut {
            None => "the curve is traced round: Fourier series in α".to_string(),
            Some(c) => format!("an arc: polynomials in the angle from {c:.3}"),
        }
    ));

    // The first frames of every trajectory to forecast: α and α̇ at the first from a quadratic; the
    // state is (s, α̇) with s the basis coordinate.
    let first: Vec<f32> = truth
        .iter()
        .flat_map(|t| t[..frames * obs_len].iter().copied())
        .collect();
    let w0 = to_w(&encode_all(model, &first, obs_len)?);
    let at: Vec<f64> = (0..frames).map(|i| i as f64).collect();
    let bound = super::methods::ESCAPE * (1.0 + vmax);
    let dot = |a: Vec<f64>, b: &[f64]| -> f64 { a.iter().zip(b).map(|(x, y)| x * y).sum() };
    let sols: Vec<Solution> = w0
        .chunks(frames)
        .map(|win| {
            let alpha = unwrapped_angles(win, centre);
            let rows: Vec<(Vec<f64>, f64)> = at
                .iter()
                .zip(&alpha)
                .map(|(&i, &a)| (vec![1.0, i, i * i], a))
                .collect();
            let (q, _) = least_squares(&rows, "laligan-second-order: start")?;
            let f = |s: &[f64], d: &mut [f64]| {
                if s[1].abs() > bound {
                    d.fill(f64::NAN);
                } else {
                    d[0] = s[1];
                    d[1] = dot(basis.second_order(s[0], s[1]), &xi);
                }
            };
            Ok(ode::rk4(
                f,
                &[basis.coordinate(q[0]), q[1] / dt],
                dt,
                ctx.horizon,
                4,
            ))
        })
        .collect::<Result<_>>()?;
    // Each state to its latent point on the curve.
    let z: Vec<f64> = sols
        .iter()
        .flat_map(|sol| sol.states.chunks(2).map(|p| p[0]))
        .flat_map(|s| {
            let rho = dot(basis.at(s), &shape).exp();
            let a = s + basis.cut.unwrap_or(0.0);
            let v = &r_inv
                * DVector::from_column_slice(&[
                    centre[0] + rho * a.cos(),
                    centre[1] + rho * a.sin(),
                ]);
            [v[0], v[1]]
        })
        .collect();
    let x = crate::train::eval::decode_all(model, &z)?;
    Ok(Outcome::Ran(super::methods::rollouts(&sols, x, 2, obs_len)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_pair_orbit_recovers_its_rate_and_continues_the_ellipse() {
        // z = c + R⁻¹(ρ cos ωt, ρ sin ωt) with R the invariant frame of an elliptic rotation.
        let (omega, dt, rho, centre) = (0.9, 0.05, 0.7, [0.3, -0.2]);
        let r = DMatrix::from_row_slice(2, 2, &[1.0, 0.4, 0.0, 2.0]);
        let r_inv = r.clone().try_inverse().unwrap();
        let at = |t: f64| {
            let z = &r_inv
                * DVector::from_column_slice(&[rho * (omega * t).cos(), rho * (omega * t).sin()]);
            [z[0] + centre[0], z[1] + centre[1]]
        };
        // 50 whole turns, so that the sample mean is the centre.
        let steps = (50.0 * std::f64::consts::TAU / omega / dt).round() as usize;
        let z: Vec<f64> = (0..steps).flat_map(|i| at(i as f64 * dt)).collect();
        let mut notes = Vec::new();
        let cfg = super::super::ForecastConfig::default();
        let m = PairOrbit::fit(&cfg, &z, &r, steps, dt, " (pair 1)", &mut notes).unwrap();
        assert!((m.rate(rho) - omega).abs() < 1e-3, "{}", m.rate(rho));
        assert!(
            notes[0].starts_with("laligan-orbit (pair 1): phase rate"),
            "{notes:?}"
        );
        let path = m.roll(&r, &r_inv, at(0.0), dt, 400);
        assert_eq!(path.len(), 401);
        for (i, p) in path.iter().enumerate() {
            let want = at(i as f64 * dt);
            assert!(
                (p[0] - want[0]).hypot(p[1] - want[1]) < 1e-2,
                "step {i}: {p:?} vs {want:?}"
            );
        }
        // A non-finite rate ends the pair's path at its first state.
        let broken = PairOrbit {
            coef: DVector::from_element(1, f64::NAN),
            ..m
        };
        assert_eq!(broken.roll(&r, &r_inv, at(0.0), dt, 400).len(), 1);
    }

    #[test]
    fn the_radial_drift_of_a_spiral_relaxing_to_its_limit_cycle_is_recovered() {
        // ρ(t) = ρ* + (ρ₀ − ρ*)e^{−λt} at angle ωt: dρ/dt = λρ* − λρ. Two trajectories, so pairs of
        // turns never mix trajectories.
        let (rho_star, lambda, omega, dt) = (0.12, 0.02, 0.9, 0.05);
        let mut samples = Vec::new();
        for (tr, rho0) in [(0, 0.03), (1, 0.2)] {
            for i in 0..4000 {
                let t = i as f64 * dt;
                let rho = rho_star + (rho0 - rho_star) * (-lambda * t).exp();
                let a = omega * t;
                let wrapped = (a + std::f64::consts::PI).rem_euclid(std::f64::consts::TAU)
                    - std::f64::consts::PI;
                samples.push((tr, wrapped, rho, a));
            }
        }
        let c = radial_drift(&samples, dt).unwrap();
        assert!(
            (c[1] + lambda).abs() < 1e-3 * lambda * 10.0,
            "c₁ = {}",
            c[1]
        );
        assert!(
            (c[0] / -c[1] - rho_star).abs() < 1e-3,
            "ρ* = {}",
            c[0] / -c[1]
        );
        // A trajectory shorter than three turns gives nothing to fit.
        let short: Vec<_> = samples.iter().take(300).copied().collect();
        assert!(radial_drift(&short, dt).is_err());
    }
}
