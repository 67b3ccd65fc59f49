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
            Some(m) => super::orbit::orbit_flow(ctx, m, notes),
        },
        "laligan-second-order" => match model {
            None => no_model(),
            Some(_) if ctx.inp.generators.is_empty() => Ok(Outcome::Skipped(
                "the model has no generator acting on one step's latent".into(),
            )),
            Some(m) => super::orbit::second_order(ctx, m, truth, notes),
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

/// The magnitude past which a state of a rollout that starts at `x0` has escaped ([`ESCAPE`]).
fn escape_bound(x0: impl IntoIterator<Item = f64>) -> f64 {
    ESCAPE * (1.0 + x0.into_iter().fold(0.0f64, |m, v| m.max(v.abs())))
}

/// Whether a state is non-finite or past `bound`.
fn escaped(x: impl IntoIterator<Item = f64>, bound: f64) -> bool {
    x.into_iter().any(|v| !v.is_finite() || v.abs() > bound)
}

/// `sol` (states of `d` values, `dt` apart) cut before its first state that escaped, which marks it
/// diverged there: every method's rollout ends by the same rule, whether it integrates, iterates a
/// map or follows an orbit.
fn stop_escaped(mut sol: Solution, d: usize, dt: f64) -> Solution {
    let bound = escape_bound(sol.states.iter().take(d).copied());
    let first = sol
        .states
        .chunks(d)
        .position(|x| escaped(x.iter().copied(), bound));
    if let Some(step) = first {
        sol.states.truncate(step * d);
        sol.diverged = Some(step as f64 * dt);
    }
    sol
}

/// Integrates ẋ = ΞΘ(x) of `eq` from `x0` over the horizon with the configured integrator, stopping
/// (diverged) where the state escapes ([`ESCAPE`]).
fn integrate(ctx: &Context, eq: &SindyModel, x0: &[f64]) -> Solution {
    let bound = escape_bound(x0.iter().copied());
    let f = |x: &[f64], o: &mut [f64]| {
        if escaped(x.iter().copied(), bound) {
            o.fill(f64::NAN);
        } else {
            eq.rhs_into(x, o)
        }
    };
    let cfg = ctx.cfg;
    let sol = if cfg.integrator == Integrator::Dopri5 {
        let times: Vec<f64> = (0..=ctx.horizon).map(|n| n as f64 * ctx.dt).collect();
        let tol = Tolerance {
            rtol: cfg.rtol,
            atol: cfg.atol,
            ..Default::default()
        };
        ode::dopri5(f, x0, &times, tol)
    } else {
        ode::rk4(f, x0, ctx.dt, ctx.horizon, cfg.substeps)
    };
    // The integrator keeps the first state past the bound and stops a step later, where the right-hand
    // side turned non-finite; the rollout ends at that state, as every other method's does.
    stop_escaped(sol, x0.len(), ctx.dt)
}

/// Splits decoded states back into per-trajectory rollouts.
pub(super) fn rollouts(sols: &[Solution], x: Vec<f32>, d: usize, obs_len: usize) -> Vec<Rollout> {
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

/// Encode the first observations, evolve each latent with `evolve`, decode every state up to the
/// first that escaped ([`stop_escaped`]).
pub(super) fn latent(
    ctx: &Context,
    model: &LaLiGan,
    evolve: impl Fn(&[f64]) -> Solution + Sync,
) -> Result<Vec<Rollout>> {
    let k = model.ae.latent_dim();
    let z0 = encode_all(model, ctx.x0, ctx.obs_len)?;
    let sols: Vec<Solution> = z0
        .chunks(k)
        .map(|z| stop_escaped(evolve(z), k, ctx.dt))
        .collect();
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
pub(super) fn stride_for(n_traj: usize, steps: usize, max: usize) -> usize {
    (n_traj * steps).div_ceil(max.max(1)).max(1)
}

/// Training trajectories the baselines fit on.
pub(super) fn train_trajectories(ctx: &Context) -> Result<(usize, usize)> {
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
pub(super) fn mean_row(z: &[f64], k: usize) -> Vec<f64> {
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
            let bound = escape_bound(x0.iter().map(|&v| v as f64));
            for step in 1..=ctx.horizon {
                c = &a * c;
                let xs = mu + u * &c;
                if escaped(xs.iter().copied(), bound) {
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

#[cfg(test)]
mod tests {
    use super::*;

    /// A rollout is cut before its first state past ESCAPE × (1 + |x₀|∞) or non-finite, and counts as
    /// diverged there; one that stays bounded is left whole.
    #[test]
    fn a_rollout_stops_at_its_first_escaped_state() {
        let sol = |states: Vec<f64>| Solution {
            states,
            diverged: None,
        };
        // 2-D states (eᵗ, -1), 0.1 apart: the bound is 100·(1 + 1) = 200 < e⁶ ≈ 403, > e⁵ ≈ 148.
        let growing = sol((0..10).flat_map(|t| [(t as f64).exp(), -1.0]).collect());
        let cut = stop_escaped(growing, 2, 0.1);
        assert_eq!(cut.states.len(), 12);
        assert!(
            (cut.diverged.unwrap() - 0.6).abs() < 1e-12,
            "{:?}",
            cut.diverged
        );
        let nan = sol(vec![1.0, 0.0, 2.0, f64::NAN, 3.0, 0.0]);
        let cut = stop_escaped(nan, 2, 0.5);
        assert_eq!((cut.states.len(), cut.diverged), (2, Some(0.5)));
        let calm = sol((0..10).flat_map(|t| [(t as f64).sin(), 1.0]).collect());
        let kept = stop_escaped(calm, 2, 0.1);
        assert_eq!((kept.states.len(), kept.diverged), (20, None));
    }
}
