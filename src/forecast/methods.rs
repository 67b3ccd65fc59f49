//! The forecasting methods: each turns the first observation of every test trajectory into a
//! [`Rollout`] over the horizon, or says why it cannot run.

use super::{ForecastConfig, Inputs, Integrator, Rollout};
use crate::data::pca::Pca;
use crate::discover;
use crate::error::Result;
use crate::ode::{self, Solution, Tolerance};
use crate::sindy::{SindyConfig, SindyModel};
use crate::train::eval::{decode_all, encode_all};
use crate::train::LaLiGan;
use nalgebra::{DMatrix, DVector};

/// What every method needs to know about the forecast.
pub struct Context<'a> {
    pub inp: &'a Inputs<'a>,
    pub cfg: &'a ForecastConfig,
    /// First observation of each trajectory, `[n, obs_len]`.
    pub x0: &'a [f32],
    pub obs_len: usize,
    pub dt: f64,
    pub horizon: usize,
}

/// A method's result.
pub enum Outcome {
    Ran(Vec<Rollout>),
    Skipped(String),
}

/// Runs method `name`; fit notes go to `notes`.
pub fn run(
    name: &str,
    ctx: &Context,
    truth: &[Vec<f32>],
    notes: &mut Vec<String>,
) -> Result<Outcome> {
    let model = ctx.inp.model;
    let no_model = || Ok(Outcome::Skipped("no trained model (--model)".into()));
    match name {
        "persistence" => Ok(Outcome::Ran(
            ctx.x0
                .chunks(ctx.obs_len)
                .map(|x0| Rollout {
                    x: x0.repeat(ctx.horizon + 1),
                    diverged: None,
                })
                .collect(),
        )),
        "reconstruction" => match model {
            None => no_model(),
            Some(m) => reconstruction(m, truth, ctx.obs_len).map(Outcome::Ran),
        },
        "laligan-sindy" | "laligan-sindy-plain" => {
            let Some(m) = model else { return no_model() };
            match ctx.inp.latent.iter().find(|(n, _)| n == name) {
                None if ctx.inp.latent.is_empty() => Ok(Outcome::Skipped(
                    "no latent equations (make them with `laligan discover --model DIR --out DIR/equations`, or pass --discovery)".into(),
                )),
                None => Ok(Outcome::Skipped(format!(
                    "the discovery has no {} fit",
                    if name.ends_with("plain") { "unconstrained" } else { "equivariant" }
                ))),
                Some((_, eq)) => latent_equations(ctx, m, eq, "the model's latent"),
            }
        }
        "sindy-ae" => match &ctx.inp.sindy_ae {
            None => Ok(Outcome::Skipped(
                "no SINDy autoencoder (make one with `laligan sindy-ae --model DIR --out DIR/sindy-ae`, or pass --sindy-ae)".into(),
            )),
            Some((m, eq)) => latent_equations(ctx, m, eq, "the SINDy autoencoder's latent"),
        },
        "raw-sindy" => raw_sindy(ctx, notes),
        "group-flow" => match model {
            None => no_model(),
            Some(_) if ctx.inp.generators.is_empty() => Ok(Outcome::Skipped(
                "the model has no generator acting on one step's latent".into(),
            )),
            Some(m) => group_flow(ctx, m, notes),
        },
        "laligan-orbit" => match model {
            None => no_model(),
            Some(_) if ctx.inp.generators.is_empty() => Ok(Outcome::Skipped(
                "the model has no generator acting on one step's latent".into(),
            )),
            Some(m) => orbit_flow(ctx, m, notes),
        },
        "dmd" => dmd(ctx, notes),
        other => Err(config_err!("unknown forecasting method {other:?}")),
    }
}

fn check_dims(eq: &SindyModel, d: usize, what: &str) -> Result<()> {
    if eq.n_states() != d {
        return Err(config_err!(
            "the discovered equations have {} states ({}), but {what} has {d} dimensions",
            eq.n_states(),
            eq.state_names().join(", ")
        ));
    }
    Ok(())
}

/// A state whose largest entry exceeds this many times (1 + the largest entry of the initial state)
/// has escaped: the trajectory counts as diverged there, like one that became non-finite.
pub const ESCAPE: f64 = 100.0;

/// Integrates ẋ = ΞΘ(x) of `eq` from `x0` over the horizon with the configured integrator, stopping
/// (diverged) where the state escapes ([`ESCAPE`]).
fn integrate(ctx: &Context, eq: &SindyModel, x0: &[f64]) -> Solution {
    let bound = ESCAPE * (1.0 + x0.iter().fold(0.0f64, |m, v| m.max(v.abs())));
    let f = |x: &[f64], o: &mut [f64]| {
        if x.iter().any(|v| v.abs() > bound) {
            o.fill(f64::NAN);
        } else {
            eq.rhs_into(x, o)
        }
    };
    let cfg = ctx.cfg;
    if cfg.integrator == Integrator::Dopri5 {
        let times: Vec<f64> = (0..=ctx.horizon).map(|n| n as f64 * ctx.dt).collect();
        let tol = Tolerance {
            rtol: cfg.rtol,
            atol: cfg.atol,
            ..Default::default()
        };
        ode::dopri5(f, x0, &times, tol)
    } else {
        ode::rk4(f, x0, ctx.dt, ctx.horizon, cfg.substeps)
    }
}

/// Splits decoded states back into per-trajectory rollouts.
fn rollouts(sols: &[Solution], x: Vec<f32>, d: usize, obs_len: usize) -> Vec<Rollout> {
    split(&x, sols.iter().map(|s| (s.len(d) * obs_len, s.diverged)))
}

/// Consecutive pieces of `x`, each (length, divergence time) of `parts` one rollout.
fn split(x: &[f32], parts: impl Iterator<Item = (usize, Option<f64>)>) -> Vec<Rollout> {
    let mut at = 0;
    parts
        .map(|(n, diverged)| {
            let r = Rollout {
                x: x[at..at + n].to_vec(),
                diverged,
            };
            at += n;
            r
        })
        .collect()
}

/// Encode the first observations, evolve each latent with `evolve`, decode every state.
fn latent(
    ctx: &Context,
    model: &LaLiGan,
    evolve: impl Fn(&[f64]) -> Solution + Sync,
) -> Result<Vec<Rollout>> {
    let k = model.ae.latent_dim();
    let z0 = encode_all(model, ctx.x0, ctx.obs_len)?;
    let sols: Vec<Solution> = z0.chunks(k).map(evolve).collect();
    let flat: Vec<f64> = sols.iter().flat_map(|s| s.states.iter().copied()).collect();
    let x = decode_all(model, &flat)?;
    Ok(rollouts(&sols, x, k, ctx.obs_len))
}

/// Encode, integrate the latent equations `eq`, decode; `what` names the latent in a dimension error.
fn latent_equations(ctx: &Context, m: &LaLiGan, eq: &SindyModel, what: &str) -> Result<Outcome> {
    check_dims(eq, m.ae.latent_dim(), what)?;
    latent(ctx, m, |z0| integrate(ctx, eq, z0)).map(Outcome::Ran)
}

/// ψ(φ(xₜ)) of the true observations.
fn reconstruction(model: &LaLiGan, truth: &[Vec<f32>], obs_len: usize) -> Result<Vec<Rollout>> {
    let flat: Vec<f32> = truth.concat();
    let x = decode_all(model, &encode_all(model, &flat, obs_len)?)?;
    Ok(split(&x, truth.iter().map(|t| (t.len(), None))))
}

/// Stride that leaves at most `max` samples out of `n_traj` trajectories of `steps`.
fn stride_for(n_traj: usize, steps: usize, max: usize) -> usize {
    (n_traj * steps).div_ceil(max.max(1)).max(1)
}

/// Training trajectories the baselines fit on.
fn train_trajectories(ctx: &Context) -> Result<(usize, usize)> {
    let s = ctx.inp.dataset.split("train")?;
    let n = match ctx.inp.n_train {
        0 => s.trajectories(),
        n => n.min(s.trajectories()),
    };
    Ok((n, s.steps()))
}

/// SINDy on the observations: the raw discovery when given, else a fit of `raw_library`.
fn raw_sindy(ctx: &Context, notes: &mut Vec<String>) -> Result<Outcome> {
    let ds = ctx.inp.dataset;
    let fitted;
    let eq = match &ctx.inp.raw {
        Some(eq) => eq,
        None => {
            if !ds.has_dynamics() {
                return Ok(Outcome::Skipped("the dataset has no derivatives".into()));
            }
            if ctx.obs_len > ctx.cfg.raw_max_dim {
                return Ok(Outcome::Skipped(format!(
                    "observations have {} values (more than forecast.raw_max_dim = {})",
                    ctx.obs_len, ctx.cfg.raw_max_dim
                )));
            }
            let (n, steps) = train_trajectories(ctx)?;
            let stride = stride_for(n, steps, ctx.cfg.fit_points);
            let (x, dx, d) = discover::rows(ds, "train", n, stride)?;
            let cfg = SindyConfig {
                library: ctx.cfg.raw_library.clone(),
                threshold: ctx.cfg.raw_threshold,
                ..Default::default()
            };
            let lib = cfg.library(d, "x")?;
            fitted = cfg.fit(&lib, &x, &dx, None, None, ctx.inp.seed)?.model;
            &fitted
        }
    };
    check_dims(eq, ctx.obs_len, "the observation")?;
    notes.push(format!(
        "raw-sindy: {} ({} nonzero of {} terms)",
        eq.equations().join("; "),
        eq.nonzero(),
        eq.n_states() * eq.n_terms()
    ));
    let sols: Vec<Solution> = ctx
        .x0
        .chunks(ctx.obs_len)
        .map(|x0| {
            let x0: Vec<f64> = x0.iter().map(|&v| v as f64).collect();
            integrate(ctx, eq, &x0)
        })
        .collect();
    let x: Vec<f32> = sols
        .iter()
        .flat_map(|s| s.states.iter().map(|&v| v as f32))
        .collect();
    Ok(Outcome::Ran(rollouts(&sols, x, ctx.obs_len, ctx.obs_len)))
}

/// The mean of the rows of `z` (row-major `[n, k]`).
fn mean_row(z: &[f64], k: usize) -> Vec<f64> {
    let rows = (z.len() / k).max(1);
    let mut mean = vec![0.0; k];
    for p in z.chunks(k) {
        for (c, v) in mean.iter_mut().zip(p) {
            *c += v / rows as f64;
        }
    }
    mean
}

/// ż = Σⱼ cⱼ Lⱼ (z − z̄): the learned generators about the mean training latent z̄, with rates cⱼ fitted
/// by least squares to the encoder's ż = J_φ(x)ẋ on the training split; evolved exactly by exp(dt·M).
fn group_flow(ctx: &Context, model: &LaLiGan, notes: &mut Vec<String>) -> Result<Outcome> {
    let ds = ctx.inp.dataset;
    if !ds.has_dynamics() {
        return Ok(Outcome::Skipped("the dataset has no derivatives".into()));
    }
    let (n, steps) = train_trajectories(ctx)?;
    let stride = stride_for(n, steps, ctx.cfg.fit_points);
    let (z, dz, k) = crate::discover::latent::rows(model, ds, "train", n, stride)?;
    let rows = z.len() / k;
    let zbar = mean_row(&z, k);
    let gens: Vec<DMatrix<f64>> = ctx
        .inp
        .generators
        .iter()
        .map(|g| DMatrix::from_fn(k, k, |i, j| g[i][j]))
        .collect();
    let m = gens.len();
    let (mut gram, mut rhs) = (DMatrix::<f64>::zeros(m, m), DVector::<f64>::zeros(m));
    for (p, dp) in z.chunks(k).zip(dz.chunks(k)) {
        let zc = DVector::from_iterator(k, p.iter().zip(&zbar).map(|(a, b)| a - b));
        let v: Vec<DVector<f64>> = gens.iter().map(|l| l * &zc).collect();
        let target = DVector::from_column_slice(dp);
        for a in 0..m {
            rhs[a] += v[a].dot(&target);
            for b in 0..m {
                gram[(a, b)] += v[a].dot(&v[b]);
            }
        }
    }
    let Some(c) = gram.clone().lu().solve(&rhs) else {
        return Ok(Outcome::Skipped(
            "the generators do not move the training latents (singular rate fit)".into(),
        ));
    };
    let mut mat = DMatrix::<f64>::zeros(k, k);
    for (cj, l) in c.iter().zip(&gens) {
        mat += l * *cj;
    }
    let step = (&mat * ctx.dt).exp();
    notes.push(format!(
        "group-flow: rates {:?} about the centre {:?} ({} training samples)",
        c.as_slice(),
        zbar,
        rows
    ));
    let horizon = ctx.horizon;
    let rolled = latent(ctx, model, |z0| {
        let mut states = Vec::with_capacity((horizon + 1) * k);
        let mut dev = DVector::from_iterator(k, z0.iter().zip(&zbar).map(|(a, b)| a - b));
        states.extend_from_slice(z0);
        for _ in 0..horizon {
            dev = &step * dev;
            states.extend(dev.iter().zip(&zbar).map(|(a, b)| a + b));
        }
        Solution {
            states,
            diverged: None,
        }
    })?;
    Ok(Outcome::Ran(rolled))
}

/// The latent moves along the orbit of the learned rotation through its first state, at a phase rate
/// that depends on the orbit: with Q the generator's invariant form (LᵀQ + QL = 0, Q = RᵀR) and
/// w = R(z − z̄) about the mean training latent z̄, |w| stays and the angle of w advances at Ω(|w|).
/// Ω is fitted to the phase advance over whole training trajectories (the slope of the unwrapped angle
/// against time), as a quadratic in the mean |w| of each (a constant for one trajectory): the
/// frequency comes from many periods, not from pointwise ż. With `forecast.orbit_harmonics` > 0 the
/// orbits' shape and the phase speed along them are fitted too ([`OrbitShape`]). Needs a 2-D latent
/// and a rotation.
fn orbit_flow(ctx: &Context, model: &LaLiGan, notes: &mut Vec<String>) -> Result<Outcome> {
    let k = model.ae.latent_dim();
    if k != 2 {
        return Ok(Outcome::Skipped(format!(
            "the orbit model needs a 2-D latent (this one has {k})"
        )));
    }
    let l: Vec<f64> = ctx.inp.generators[0].iter().flatten().copied().collect();
    let (q, _) = crate::metrics::symmetry::invariant_form(&[&l], k);
    let q = DMatrix::from_row_slice(k, k, &q);
    let q = if q.trace() < 0.0 { -q } else { q };
    let Some(chol) = q.clone().cholesky() else {
        return Ok(Outcome::Skipped(
            "the generator's invariant form is not positive definite (not a rotation)".into(),
        ));
    };
    let r = chol.l().transpose();
    let Some(r_inv) = r.clone().try_inverse() else {
        return Ok(Outcome::Skipped("singular invariant form".into()));
    };
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
    let rows = z.len() / k;
    let zbar = mean_row(&z, k);
    let polar = |p: &[f64]| {
        let w = &r * DVector::from_column_slice(&[p[0] - zbar[0], p[1] - zbar[1]]);
        (w.norm(), w[1].atan2(w[0]))
    };
    // Per trajectory: (mean radius, phase rate).
    let dt = ctx.dt * stride as f64;
    let mut fits = Vec::with_capacity(n);
    let mut coarse = 0usize;
    // Every sample as (trajectory, angle, radius, unwrapped angle).
    let mut samples: Vec<(usize, f64, f64, f64)> = Vec::with_capacity(rows);
    for (ti, traj) in z.chunks(times.len() * k).enumerate() {
        let (mut theta, mut prev, mut rsum) = (Vec::with_capacity(times.len()), None, 0.0);
        let mut turn = 0.0;
        for p in traj.chunks(k) {
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
    let rate = |rho: f64| {
        let rho = rho.clamp(lo, hi);
        (0..=degree)
            .map(|j| coef[j] * rho.powi(j as i32))
            .sum::<f64>()
    };
    notes.push(format!(
        "laligan-orbit: phase rate Ω(ρ) = {} over ρ in [{lo:.3}, {hi:.3}] from {} training \
         trajectories ({} samples each){}",
        (0..=degree)
            .map(|j| format!("{:+.4}·ρ^{j}", coef[j]))
            .collect::<Vec<_>>()
            .join(" "),
        fits.len(),
        times.len(),
        if coarse > 0 {
            format!("; {coarse} phase steps over π/2: sampled too coarsely")
        } else {
            String::new()
        }
    ));
    let shape = OrbitShape::fit(ctx.cfg.orbit_harmonics, &samples, &fits, dt)?;
    let horizon = ctx.horizon;
    let rolled = latent(ctx, model, |z0| {
        let (rho0, theta0) = polar(z0);
        let rho = shape.mean_radius(rho0, theta0);
        let om = rate(rho) * shape.normalizer(rho);
        // The angle θ̇ = Ω·(1 + g(θ)), four RK4 steps per data step.
        let speed = |th: &[f64], d: &mut [f64]| d[0] = om * shape.speed(th[0], rho);
        let angles = ode::rk4(speed, &[theta0], ctx.dt, horizon, 4).states;
        let mut states = Vec::with_capacity((horizon + 1) * k);
        states.extend_from_slice(z0);
        for &th in &angles[1..] {
            let rad = rho * shape.radius(th, rho);
            let z = &r_inv * DVector::from_column_slice(&[rad * th.cos(), rad * th.sin()]);
            states.extend([z[0] + zbar[0], z[1] + zbar[1]]);
        }
        Solution {
            states,
            diverged: None,
        }
    })?;
    Ok(Outcome::Ran(rolled))
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
        let solve = |rows: Vec<(Vec<f64>, f64)>| -> Result<Vec<f64>> {
            let m = 4 * harmonics;
            let (mut gram, mut rhs) = (DMatrix::<f64>::zeros(m, m), DVector::<f64>::zeros(m));
            for (x, y) in &rows {
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
            gram.lu()
                .solve(&rhs)
                .map(|v| v.iter().copied().collect())
                .ok_or_else(|| data_err!("laligan-orbit: singular orbit-shape fit"))
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

/// Exact DMD on the leading PCA coefficients of the training observations: a = Uᵀ(x − μ),
/// aₜ₊₁ = A aₜ fitted by least squares over consecutive training pairs, x̂ = μ + U a.
fn dmd(ctx: &Context, notes: &mut Vec<String>) -> Result<Outcome> {
    let (n, steps) = train_trajectories(ctx)?;
    let split = ctx.inp.dataset.split("train")?;
    let d = ctx.obs_len;
    if steps < 2 {
        return Ok(Outcome::Skipped(
            "training trajectories have a single step".into(),
        ));
    }
    let frame = |i: usize| -> &[f32] { &split.x[i * d..(i + 1) * d] };
    // PCA on evenly spaced training frames (fewer when the observations are large).
    let cap = if d <= 512 {
        ctx.cfg.fit_points
    } else {
        ctx.cfg.fit_points.min(2000)
    };
    let frames: Vec<&[f32]> = crate::train::eval::evenly(n * steps, cap)
        .into_iter()
        .map(frame)
        .collect();
    let max_modes = if ctx.cfg.dmd_modes > 0 {
        ctx.cfg.dmd_modes
    } else {
        20
    };
    let Some(pca) = Pca::fit(&frames, max_modes) else {
        return Ok(Outcome::Skipped(
            "the training observations do not vary".into(),
        ));
    };
    let k = if ctx.cfg.dmd_modes > 0 {
        pca.components.ncols()
    } else {
        pca.modes_for(0.999, 20)
    };
    let kept = pca.kept(k);
    let (mu, u) = (&pca.mean, pca.components.columns(0, k));
    let coef = |x: &[f32]| pca.coefficients(x, k);
    // consecutive pairs within trajectories
    let pairs = crate::train::eval::evenly(n * (steps - 1), ctx.cfg.fit_points);
    let (mut xx, mut yx) = (DMatrix::<f64>::zeros(k, k), DMatrix::<f64>::zeros(k, k));
    for &p in &pairs {
        let (tr, s) = (p / (steps - 1), p % (steps - 1));
        let i = tr * steps + s;
        let (a, b) = (coef(frame(i)), coef(frame(i + 1)));
        xx += &a * a.transpose();
        yx += &b * a.transpose();
    }
    let ridge = 1e-12 * xx.trace().max(1e-300);
    let xx = xx + DMatrix::<f64>::identity(k, k) * ridge;
    let Some(inv) = xx.try_inverse() else {
        return Ok(Outcome::Skipped("singular DMD fit".into()));
    };
    let a = yx * inv;
    let radius = crate::metrics::complex_eigenvalues(&a)
        .unwrap_or_default()
        .iter()
        .map(|l| l.norm())
        .fold(f64::NAN, f64::max);
    notes.push(format!(
        "dmd: {k} PCA modes keep {:.4}% of the variance; spectral radius of the step map {radius:.5}",
        100.0 * kept
    ));
    let rolled = ctx
        .x0
        .chunks(d)
        .map(|x0| {
            let mut c = coef(x0);
            let mut x = Vec::with_capacity((ctx.horizon + 1) * d);
            x.extend_from_slice(x0);
            let mut diverged = None;
            for step in 1..=ctx.horizon {
                c = &a * c;
                let xs = mu + u * &c;
                if xs.iter().any(|v| !v.is_finite()) {
                    diverged = Some(step as f64 * ctx.dt);
                    break;
                }
                x.extend(xs.iter().map(|&v| v as f32));
            }
            Rollout { x, diverged }
        })
        .collect();
    Ok(Outcome::Ran(rolled))
}
