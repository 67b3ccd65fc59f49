//! Long-horizon forecasting (DESIGN.md §3 "Forecasting"): from the first observation of each test
//! trajectory, every available method predicts the whole horizon; all are scored on the same truth.
//!
//! Methods, each only when its ingredients exist: `laligan-sindy` / `laligan-sindy-plain` (encode,
//! integrate the latent equations, decode), `sindy-ae` (the same with a SINDy autoencoder),
//! `laligan-orbit` / `laligan-second-order` (along the orbits of a learned rotation, first or second
//! order in the angle), `raw-sindy` (SINDy on the observations), `group-flow` (ż = L(z − z̄) scaled by
//! fitted rates), `dmd` (a linear map on the leading PCA coefficients), `persistence` (x(t) = x(0)),
//! and `reconstruction` (ψ(φ(xₜ)) of the true states: the floor of every latent method, not a
//! forecast).

pub mod methods;
pub mod metrics;
mod orbit;
pub mod output;

use crate::data::Dataset;
use crate::error::Result;
use crate::sindy::SindyModel;
use crate::train::LaLiGan;
use serde::{Deserialize, Serialize};

pub use metrics::Scores;

/// Forecast settings (`[forecast]`).
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields, default)]
pub struct ForecastConfig {
    /// Split whose trajectories are forecast.
    pub split: String,
    /// Steps to forecast (0 = the split's whole length after the first observation).
    pub horizon: usize,
    /// First N trajectories of the split (0 = all).
    pub trajectories: usize,
    /// Valid-prediction time: first time the mean relative error exceeds this.
    pub valid_threshold: f64,
    /// `"rk4"` (fixed step dt/substeps) or `"dopri5"` (adaptive, dense output at the data times).
    pub integrator: Integrator,
    pub substeps: usize,
    /// Tolerances of `dopri5`.
    pub rtol: f64,
    pub atol: f64,
    /// PCA modes of `dmd` (0 = the fewest keeping 99.9 % of the variance, at most 20).
    pub dmd_modes: usize,
    /// Library and threshold of `raw-sindy` when no raw discovery is given.
    pub raw_library: String,
    pub raw_threshold: f64,
    /// `raw-sindy` only for observations of at most this many values.
    pub raw_max_dim: usize,
    /// Training samples used by the fits of `raw-sindy`, `group-flow` and `dmd` (evenly spaced).
    pub fit_points: usize,
    /// Fourier harmonics of the orbit shape and of the phase speed along it in `laligan-orbit`
    /// (0 = the invariant's ellipses at a uniform phase speed).
    pub orbit_harmonics: usize,
    /// `laligan-orbit` lets the orbit's mean radius drift, ρ̄̇ = c₀ + c₁ρ̄ fitted to the change of the
    /// per-turn mean radius along the training trajectories (false = it stays on its first orbit).
    pub orbit_drift: bool,
    /// Frames a forecast of `laligan-second-order` starts from (its angle and rate at the first come
    /// from a quadratic through them); its fit takes derivatives over as many.
    pub start_frames: usize,
    /// Methods to run (empty = every available one).
    pub methods: Vec<String>,
}

impl crate::config::Validate for ForecastConfig {
    fn validate(&self, c: &mut crate::config::Checker) {
        c.positive("valid_threshold", self.valid_threshold);
        c.at_least("substeps", self.substeps, 1);
        c.positive("rtol", self.rtol);
        c.positive("atol", self.atol);
        c.non_negative("raw_threshold", self.raw_threshold);
        c.at_least("fit_points", self.fit_points, 1);
        c.at_least("start_frames", self.start_frames, 3);
        if self.orbit_harmonics > 16 {
            c.fail(
                "orbit_harmonics",
                format!("{}, expected at most 16", self.orbit_harmonics),
            );
        }
        if let Err(e) = crate::sindy::Library::parse(&self.raw_library, 1) {
            c.fail("raw_library", e);
        }
        for m in &self.methods {
            if !METHODS.contains(&m.as_str()) {
                c.fail(
                    "methods",
                    format!(
                        "unknown method {m:?}; expected some of {}",
                        METHODS.join(", ")
                    ),
                );
            }
        }
    }
}

impl Default for ForecastConfig {
    fn default() -> Self {
        Self {
            split: "test".into(),
            horizon: 0,
            trajectories: 0,
            valid_threshold: 0.2,
            integrator: Integrator::Rk4,
            substeps: 1,
            rtol: 1e-6,
            atol: 1e-9,
            dmd_modes: 0,
            raw_library: "1 + poly(3)".into(),
            raw_threshold: 0.05,
            raw_max_dim: 10,
            fit_points: 20_000,
            orbit_harmonics: 3,
            orbit_drift: false,
            start_frames: 5,
            methods: Vec::new(),
        }
    }
}

/// How latent and raw equations are integrated over the horizon (`forecast.integrator`).
#[derive(Clone, Copy, Debug, Default, Serialize, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "kebab-case")]
pub enum Integrator {
    /// Classic Runge–Kutta, `substeps` steps per data step.
    #[default]
    Rk4,
    /// Adaptive Dormand–Prince 5(4) with dense output at the data times.
    Dopri5,
}

/// Every method, in report order.
pub const METHODS: [&str; 10] = [
    "laligan-sindy",
    "laligan-sindy-plain",
    "laligan-orbit",
    "laligan-second-order",
    "sindy-ae",
    "raw-sindy",
    "group-flow",
    "dmd",
    "persistence",
    "reconstruction",
];

/// One trajectory's prediction: observations `[steps, obs_len]` (x̂₀ first) up to the horizon, or up to
/// the step before the integration blew up (`diverged` = that time).
#[derive(Clone, Debug, Default)]
pub struct Rollout {
    pub x: Vec<f32>,
    pub diverged: Option<f64>,
}

/// What the forecast starts from: the data, and whichever trained pieces exist.
pub struct Inputs<'a> {
    pub dataset: &'a Dataset,
    /// Training trajectories used by the baselines' fits (0 = all).
    pub n_train: usize,
    pub model: Option<&'a LaLiGan>,
    /// Latent equations: (method name, model).
    pub latent: Vec<(String, SindyModel)>,
    /// A SINDy autoencoder (`laligan sindy-ae`) with its latent equations.
    pub sindy_ae: Option<(&'a LaLiGan, &'a SindyModel)>,
    /// Equations on the observations from a raw-mode discovery (replace the built-in `raw-sindy` fit).
    pub raw: Option<SindyModel>,
    /// Generators acting on one step's latent (for `group-flow`).
    pub generators: Vec<Vec<Vec<f64>>>,
    pub seed: u64,
}

/// Forecasts of every method with their scores, and the methods that could not run.
pub struct Results {
    pub horizon: usize,
    pub dt: f64,
    pub obs: Vec<usize>,
    /// True observations per trajectory, `[≤ horizon + 1, obs_len]`.
    pub truth: Vec<Vec<f32>>,
    pub methods: Vec<(String, Vec<Rollout>, Scores)>,
    pub skipped: Vec<(String, String)>,
    /// Notes on the fits (rates of the group flow, DMD modes, raw equations).
    pub notes: Vec<String>,
}

/// The first integral of a recipe's raw state, when one is known.
pub fn first_integral(recipe: &str, obs_len: usize) -> Option<fn(&[f64]) -> f64> {
    if obs_len != 2 {
        return None;
    }
    let r: crate::data::Recipe = crate::config::parse(recipe, "dataset recipe", &[]).ok()?;
    match r.name() {
        "pendulum" => Some(|x| crate::data::systems::pendulum::energy(&[x[0], x[1]])),
        "lotka-volterra" => {
            Some(|x| crate::data::systems::lotka_volterra::first_integral(&[x[0], x[1]]))
        }
        _ => None,
    }
}

/// The split to forecast: `wanted`, or the validation split when the default `test` is missing (as in
/// imported data without one); otherwise an error naming the splits there are.
fn split_name<'a>(ds: &Dataset, wanted: &'a str) -> Result<&'a str> {
    let have = ds.splits();
    if have.contains(&wanted) {
        return Ok(wanted);
    }
    if wanted == "test" && have.contains(&"val") {
        tracing::warn!(
            "{} has no test split: forecasting the val split (choose with --split)",
            ds.file().path().display()
        );
        return Ok("val");
    }
    Err(data_err!(
        "{}: no {wanted} split (it has {}); choose one with --split or forecast.split",
        ds.file().path().display(),
        have.join(", ")
    ))
}

/// Runs every available (and requested) method on the first trajectories of `cfg.split`.
pub fn forecast(inp: &Inputs, cfg: &ForecastConfig) -> Result<Results> {
    for m in &cfg.methods {
        if !METHODS.contains(&m.as_str()) {
            return Err(config_err!(
                "forecast.methods: unknown method {m:?}; expected some of {}",
                METHODS.join(", ")
            ));
        }
    }
    let ds = inp.dataset;
    let name = split_name(ds, &cfg.split)?;
    let split = ds.split(name)?;
    if split.t.is_empty() {
        return Err(data_err!(
            "{}: the {name} split has no times (a static dataset cannot be forecast)",
            ds.file().path().display(),
        ));
    }
    let steps = split.steps();
    if steps < 2 {
        return Err(data_err!(
            "{}: the {name} split has {steps} step(s) per trajectory; forecasting needs at least 2",
            ds.file().path().display(),
        ));
    }
    let dt = split
        .time_step()
        .expect("a split of at least 2 steps has a time step");
    let horizon = if cfg.horizon == 0 {
        steps - 1
    } else {
        cfg.horizon
    };
    let n_traj = match cfg.trajectories {
        0 => split.trajectories(),
        n => n.min(split.trajectories()),
    };
    let obs_len = split.obs_len();
    // Every method's rollouts are kept for scoring and plots, in f32, next to the truth.
    let need = crate::memory::bytes(&[n_traj, horizon + 1, obs_len], 4, METHODS.len() + 1);
    crate::memory::check(need, || {
        format!(
            "forecast.horizon = {horizon} ({n_traj} trajectories of {obs_len} values, {} methods)",
            METHODS.len()
        )
    })
    .map_err(|e| config_err!("{e}; lower --horizon or forecast.trajectories"))?;
    if horizon >= steps {
        tracing::warn!(
            "horizon {horizon} runs past the {name} split's {steps} steps: predictions go on, errors are scored only where the truth exists",
        );
    }
    let keep = (horizon + 1).min(steps);
    let truth: Vec<Vec<f32>> = (0..n_traj)
        .map(|tr| split.x[tr * steps * obs_len..(tr * steps + keep) * obs_len].to_vec())
        .collect();
    let x0: Vec<f32> = truth.iter().flat_map(|t| t[..obs_len].to_vec()).collect();
    let invariant = first_integral(ds.recipe(), obs_len);
    let mut res = Results {
        horizon,
        dt,
        obs: split.shape[2..].to_vec(),
        truth,
        methods: Vec::new(),
        skipped: Vec::new(),
        notes: Vec::new(),
    };
    let ctx = methods::Context {
        inp,
        cfg,
        x0: &x0,
        obs_len,
        dt,
        horizon,
    };
    for name in METHODS {
        if !cfg.methods.is_empty() && !cfg.methods.iter().any(|m| m == name) {
            continue;
        }
        match methods::run(name, &ctx, &res.truth, &mut res.notes)? {
            methods::Outcome::Ran(rollouts) => {
                let refs: Vec<&[f32]> = res.truth.iter().map(Vec::as_slice).collect();
                let s = metrics::score(
                    &rollouts,
                    &refs,
                    obs_len,
                    dt,
                    cfg.valid_threshold,
                    invariant,
                );
                tracing::info!(
                    "{name}: horizon-mean relative error {:.4}, valid time {}",
                    s.horizon_mean,
                    s.valid_time
                        .map_or("beyond the horizon".into(), |t| format!("{t:.3}"))
                );
                res.methods.push((name.to_string(), rollouts, s));
            }
            methods::Outcome::Skipped(why) => {
                tracing::info!("{name}: skipped ({why})");
                res.skipped.push((name.to_string(), why));
            }
        }
    }
    Ok(res)
}

impl Results {
    /// The latent forecasting method with the lowest horizon-mean error, if any ran.
    pub fn best_latent(&self) -> Option<&(String, Vec<Rollout>, Scores)> {
        self.methods
            .iter()
            .filter(|(n, ..)| n.starts_with("laligan") || n == "group-flow")
            .min_by(|a, b| a.2.horizon_mean.total_cmp(&b.2.horizon_mean))
    }

    /// The forecasting method (not `reconstruction`) with the lowest horizon-mean error.
    pub fn best(&self) -> Option<&(String, Vec<Rollout>, Scores)> {
        self.methods
            .iter()
            .filter(|(n, ..)| n != "reconstruction")
            .min_by(|a, b| a.2.horizon_mean.total_cmp(&b.2.horizon_mean))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::data::Recipe;
    use crate::experiment::Experiment;

    /// A small pendulum dataset (`extra` recipe overrides) in a temporary folder.
    fn pendulum(dir: &std::path::Path, extra: &[&str]) -> Dataset {
        let set: Vec<String> = [
            "pendulum.n_train=4",
            "pendulum.n_val=1",
            "pendulum.n_test=3",
            "pendulum.steps=300",
        ]
        .iter()
        .chain(extra)
        .map(|s| s.to_string())
        .collect();
        let recipe = Recipe::resolve("pendulum", &set).unwrap();
        let path = dir.join("p.safetensors");
        crate::data::systems::generate(&recipe, &path, false).unwrap();
        Dataset::open(&path).unwrap()
    }

    /// A model whose latent is the observation (θ, ω), with the so(2) generator.
    fn identity_so2() -> LaLiGan {
        let exp: Experiment = crate::config::parse(
            "seed = 1\n[autoencoder]\nkind = \"identity\"\nlatent = 2\n[lie]\nblocks = [{ copies = 2, channels = 1, dim = 2, basis = \"so2\" }]",
            "test",
            &[],
        )
        .unwrap();
        LaLiGan::new(
            &exp.setup(),
            &[2],
            candle_core::DType::F64,
            &candle_core::Device::Cpu,
        )
        .unwrap()
    }

    /// Forecast inputs with `model` and its generators, no equations.
    fn with_model<'a>(ds: &'a Dataset, model: &'a LaLiGan) -> Inputs<'a> {
        Inputs {
            dataset: ds,
            n_train: 0,
            model: Some(model),
            latent: vec![],
            sindy_ae: None,
            raw: None,
            generators: crate::discover::latent::generators(model).unwrap(),
            seed: 0,
        }
    }

    fn scores<'a>(r: &'a Results, name: &str) -> &'a Scores {
        &r.methods.iter().find(|m| m.0 == name).unwrap().2
    }

    #[test]
    fn raw_sindy_recovers_the_pendulum_and_dmd_and_persistence_run() {
        let dir = tempfile::tempdir().unwrap();
        let ds = pendulum(dir.path(), &[]);
        let inputs = Inputs {
            dataset: &ds,
            n_train: 0,
            model: None,
            latent: vec![],
            sindy_ae: None,
            raw: None,
            generators: vec![],
            seed: 0,
        };
        for integrator in [Integrator::Rk4, Integrator::Dopri5] {
            let cfg = ForecastConfig {
                raw_library: "1 + x + sin(x)".into(),
                integrator,
                ..Default::default()
            };
            let r = forecast(&inputs, &cfg).unwrap();
            assert_eq!(r.horizon, 299);
            assert_eq!(r.truth.len(), 3);
            let raw = scores(&r, "raw-sindy");
            // the exact equations, integrated over 6 time units: the error is the data's f32 rounding
            assert!(
                raw.horizon_mean < 1e-3,
                "{integrator:?}: {}",
                raw.horizon_mean
            );
            assert!(raw.invariant_drift.unwrap() < 1e-4);
            assert_eq!(raw.valid_time, None);
            let per = scores(&r, "persistence");
            assert!(per.horizon_mean > 0.3 && per.valid_steps.unwrap() < 50);
            assert_eq!(per.invariant_drift, Some(0.0));
            assert!(scores(&r, "dmd").horizon_mean < per.horizon_mean);
            // methods needing a model say so
            for m in ["laligan-sindy", "group-flow", "reconstruction"] {
                assert!(r.skipped.iter().any(|(n, _)| n == m), "{m}");
            }
        }
        // a horizon past the data: predictions go on, scores only where the truth exists
        let cfg = ForecastConfig {
            horizon: 400,
            methods: vec!["persistence".into()],
            ..Default::default()
        };
        let r = forecast(&inputs, &cfg).unwrap();
        assert_eq!(r.methods[0].1[0].x.len(), 401 * 2);
        assert_eq!(r.methods[0].2.curve.len(), 300);
    }

    #[test]
    fn group_flow_and_latent_equations_follow_a_small_oscillation() {
        // small amplitude: (θ, ω) rotates with period ≈ 2π, ẋ = L x for so(2) L = [[0, 1], [−1, 0]];
        // 315 steps of 0.02 cover one period, so the mean training latent (the centre) is ≈ 0
        // (over part of a period it is not, and the group flow then turns about the wrong point)
        let dir = tempfile::tempdir().unwrap();
        let ds = pendulum(
            dir.path(),
            &[
                "pendulum.theta_max=0.05",
                "pendulum.omega_max=0.05",
                "pendulum.energy_max=1.0",
                "pendulum.steps=315",
            ],
        );
        let model = identity_so2();
        let lib = crate::sindy::Library::parse("x", 2).unwrap();
        let eq = SindyModel::new(lib, vec![vec![0.0, 1.0], vec![-1.0, 0.0]]).unwrap();
        let inputs = Inputs {
            latent: vec![("laligan-sindy".into(), eq)],
            ..with_model(&ds, &model)
        };
        let cfg = ForecastConfig {
            methods: vec![
                "laligan-sindy".into(),
                "group-flow".into(),
                "laligan-orbit".into(),
                "reconstruction".into(),
                "persistence".into(),
            ],
            ..Default::default()
        };
        let r = forecast(&inputs, &cfg).unwrap();
        assert!(scores(&r, "reconstruction").horizon_mean < 1e-6);
        for m in ["laligan-sindy", "group-flow", "laligan-orbit"] {
            let e = scores(&r, m).horizon_mean;
            assert!(e < 1e-2, "{m}: {e}");
        }
        assert!(scores(&r, "persistence").horizon_mean > 0.5);
        // the fitted rate is the oscillation's: 1 (up to the pendulum's small-amplitude correction)
        let note = r
            .notes
            .iter()
            .find(|n| n.starts_with("group-flow"))
            .unwrap();
        let rate: f64 = note.split(['[', ']']).nth(1).unwrap().parse().unwrap();
        assert!((rate - 1.0).abs() < 2e-3, "rate {rate}");

        // the orbit model's phase rate is the oscillation's too: −1 (θ̇ = ω, ω̇ = −θ turns clockwise)
        let note = r
            .notes
            .iter()
            .find(|n| n.starts_with("laligan-orbit"))
            .unwrap();
        // Ω(ρ) = Σ aⱼ ρʲ, evaluated in the middle of the amplitudes fitted
        let coef: Vec<f64> = note
            .split("= ")
            .nth(1)
            .unwrap()
            .split(" over")
            .next()
            .unwrap()
            .split_whitespace()
            .map(|t| t.split('·').next().unwrap().parse().unwrap())
            .collect();
        let range: Vec<f64> = note
            .split(['[', ']'])
            .nth(1)
            .unwrap()
            .split(", ")
            .map(|v| v.parse().unwrap())
            .collect();
        let mid = (range[0] + range[1]) / 2.0;
        let rate: f64 = coef.iter().zip(0..).map(|(a, j)| a * mid.powi(j)).sum();
        assert!((rate + 1.0).abs() < 2e-3, "{rate}: {note}");

        // equations of another dimension are refused with both sizes named
        let lib3 = crate::sindy::Library::parse("x", 3).unwrap();
        let eq3 = SindyModel::new(lib3, vec![vec![0.0; 3]; 3]).unwrap();
        let bad = Inputs {
            latent: vec![("laligan-sindy".into(), eq3)],
            sindy_ae: None,
            generators: vec![],
            ..inputs
        };
        let err = forecast(&bad, &cfg).err().unwrap().to_string();
        assert!(
            err.contains("3 states") && err.contains("2 dimensions"),
            "{err}"
        );
    }

    /// The pendulum seen through its position only, (sin θ, −cos θ): one observation holds no
    /// velocity, so the first-order orbit model cannot forecast it; the second-order model recovers
    /// θ̈ = −sin θ in the angle along the circle and follows every swing.
    #[test]
    fn the_second_order_model_forecasts_a_position_only_view() {
        // Swings only (the positions trace an arc) and swings with rotations (they go round).
        for (energy, kind, most) in [("0.99", "an arc", 1e-2), ("3.0", "traced round", 2e-2)] {
            let dir = tempfile::tempdir().unwrap();
            let ds = pendulum(
                dir.path(),
                &[
                    "pendulum.n_train=20",
                    &format!("pendulum.energy_max={energy}"),
                    "pendulum.omega_max=3.0",
                    "pendulum.steps=500",
                ],
            );
            let path = dir.path().join("positions.safetensors");
            positions(&ds, &path);
            let ds = Dataset::open(&path).unwrap();
            let model = identity_so2();
            let cfg = ForecastConfig {
                methods: vec!["laligan-orbit".into(), "laligan-second-order".into()],
                ..Default::default()
            };
            let r = forecast(&with_model(&ds, &model), &cfg).unwrap();
            let second = scores(&r, "laligan-second-order").horizon_mean;
            let orbit = scores(&r, "laligan-orbit").horizon_mean;
            let note = r
                .notes
                .iter()
                .find(|n| n.starts_with("laligan-second-order"))
                .unwrap();
            // Measured: 0.0019 on the arc and 0.0077 going round, against the orbit model's 1.07
            // and 1.28.
            assert!(note.contains(kind), "{note}");
            assert!(second < most, "energy {energy}: second-order {second}");
            assert!(orbit > 0.3, "energy {energy}: orbit {orbit}");
        }
    }

    /// Writes the positions (sin θ, −cos θ) of the pendulum dataset `ds` as a dataset at `path`.
    fn positions(ds: &Dataset, path: &std::path::Path) {
        use crate::data::dataset::{DatasetWriter, Layout};
        let names = ["train", "val", "test"];
        let splits = names.map(|n| {
            let s = ds.split(n).unwrap();
            (s.trajectories(), s.steps())
        });
        let layout = Layout {
            splits,
            obs: vec![2],
            dynamics: true,
        };
        let mut w = DatasetWriter::create(path, false, layout, "positions", &[]).unwrap();
        for (i, n) in names.iter().enumerate() {
            let s = ds.split(n).unwrap();
            let (mut x, mut dx) = (Vec::new(), Vec::new());
            for (p, d) in s.x.chunks(2).zip(s.dx.chunks(2)) {
                let (sin, cos) = p[0].sin_cos();
                x.extend([sin, -cos]);
                dx.extend([cos * d[0], sin * d[0]]);
            }
            let (n_traj, per) = splits[i];
            for tr in 0..n_traj {
                let at = tr * per;
                let (x, dx) = (&x[2 * at..2 * (at + per)], &dx[2 * at..2 * (at + per)]);
                w.write(i, tr, 0, x, dx, &s.t[at..at + per]).unwrap();
            }
        }
        w.finish().unwrap();
    }

    /// At large amplitudes the pendulum's frequency falls with the energy: the orbit model, whose phase
    /// rate depends on the orbit, keeps each trajectory in phase where one constant rate cannot.
    #[test]
    fn the_orbit_model_keeps_the_phase_of_orbits_of_different_frequency() {
        let dir = tempfile::tempdir().unwrap();
        let ds = pendulum(
            dir.path(),
            &[
                "pendulum.n_train=40",
                "pendulum.energy_max=0.5",
                "pendulum.steps=600",
            ],
        );
        let model = identity_so2();
        let inputs = with_model(&ds, &model);
        let cfg = ForecastConfig {
            methods: vec!["group-flow".into(), "laligan-orbit".into()],
            orbit_harmonics: 0,
            ..Default::default()
        };
        let r = forecast(&inputs, &cfg).unwrap();
        // With the orbits' shape and the phase speed along them fitted, the decoded states follow the
        // pendulum's orbits too, not only their phase.
        let shaped = forecast(
            &inputs,
            &ForecastConfig {
                orbit_harmonics: 3,
                ..cfg.clone()
            },
        )
        .unwrap();
        let shaped = scores(&shaped, "laligan-orbit");
        let (orbit, flow) = (
            scores(&r, "laligan-orbit").horizon_mean,
            scores(&r, "group-flow").horizon_mean,
        );
        let last = |m| *scores(&r, m).curve.last().unwrap();
        let (orbit_end, flow_end) = (last("laligan-orbit"), last("group-flow"));
        // Measured: horizon means 0.146 against 0.255, errors after 12 time units 0.109 against 0.335
        // (on the circles of so(2), which are not the pendulum's orbits in (θ, ω), the orbit model
        // loses early on; the phase is what it keeps).
        assert!(orbit < flow, "orbit {orbit}, group-flow {flow}");
        assert!(
            orbit_end < 0.5 * flow_end,
            "orbit {orbit_end}, group-flow {flow_end}"
        );
        // Measured: 0.072 with three harmonics, against 0.146 on the invariant's circles.
        assert!(
            shaped.horizon_mean < 0.6 * orbit,
            "shaped {}, circles {orbit}",
            shaped.horizon_mean
        );
    }
}
