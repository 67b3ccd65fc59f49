//! Dataset recipes: a top-level `seed` and exactly one section naming the system, whose keys default to
//! the reference parameters (DESIGN.md §3). The built-in recipes are the files in `datasets/`.

use super::systems::reaction_diffusion::{LambdaOmega, DEFAULT_SUBSTEPS};
use crate::config::Checker;
use crate::error::Result;
use serde::{Deserialize, Serialize};
use std::f64::consts::PI;
use std::path::Path;

/// A dataset recipe.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct Recipe {
    /// Seed of every random draw of the dataset.
    pub seed: u64,
    #[serde(
        rename = "lotka-volterra",
        skip_serializing_if = "Option::is_none",
        default
    )]
    pub lotka_volterra: Option<LotkaVolterra>,
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub pendulum: Option<Pendulum>,
    #[serde(
        rename = "pendulum-movie",
        skip_serializing_if = "Option::is_none",
        default
    )]
    pub pendulum_movie: Option<PendulumMovie>,
    #[serde(
        rename = "reaction-diffusion",
        skip_serializing_if = "Option::is_none",
        default
    )]
    pub reaction_diffusion: Option<ReactionDiffusion>,
    #[serde(
        rename = "double-bump",
        skip_serializing_if = "Option::is_none",
        default
    )]
    pub double_bump: Option<DoubleBump>,
    #[serde(
        rename = "rotating-object",
        skip_serializing_if = "Option::is_none",
        default
    )]
    pub rotating_object: Option<RotatingObject>,
}

/// The system a recipe describes.
pub enum System<'a> {
    LotkaVolterra(&'a LotkaVolterra),
    Pendulum(&'a Pendulum),
    PendulumMovie(&'a PendulumMovie),
    ReactionDiffusion(&'a ReactionDiffusion),
    DoubleBump(&'a DoubleBump),
    RotatingObject(&'a RotatingObject),
}

/// Lotka–Volterra in log coordinates (RK4 in f64).
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields, default)]
pub struct LotkaVolterra {
    pub n_train: usize,
    pub n_val: usize,
    pub n_test: usize,
    /// Samples per trajectory (including t = 0).
    pub steps: usize,
    /// Time between samples.
    pub dt: f64,
    /// RK4 steps per sample interval.
    pub substeps: usize,
    /// Initial conditions are kept when H lies in [h_min, h_max].
    pub h_min: f64,
    pub h_max: f64,
}

impl Default for LotkaVolterra {
    fn default() -> Self {
        Self {
            n_train: 200,
            n_val: 20,
            n_test: 20,
            steps: 10_000,
            dt: 0.002,
            substeps: 1,
            h_min: 3.0,
            h_max: 4.5,
        }
    }
}

/// Pendulum θ̈ = −sin θ (RK4 in f64), state (θ, ω), θ not wrapped.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields, default)]
pub struct Pendulum {
    pub n_train: usize,
    pub n_val: usize,
    pub n_test: usize,
    pub steps: usize,
    pub dt: f64,
    pub substeps: usize,
    /// θ₀ ~ U(−theta_max, theta_max).
    pub theta_max: f64,
    /// ω₀ ~ U(−omega_max, omega_max).
    pub omega_max: f64,
    /// Kept when |ω₀²/2 − cos θ₀| ≤ energy_max.
    pub energy_max: f64,
}

impl Default for Pendulum {
    fn default() -> Self {
        Self {
            n_train: 200,
            n_val: 20,
            n_test: 20,
            steps: 500,
            dt: 0.02,
            substeps: 10,
            theta_max: PI,
            omega_max: 2.1,
            energy_max: 0.99,
        }
    }
}

/// Pendulum movie: a Gaussian blob at the bob, rendered on a square image.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields, default)]
pub struct PendulumMovie {
    /// Image side in pixels.
    pub size: usize,
    /// The image covers [−extent, extent]².
    pub extent: f64,
    /// Blob: exp(−distance² / width).
    pub width: f64,
    /// The underlying pendulum trajectories.
    pub dynamics: Pendulum,
}

impl Default for PendulumMovie {
    fn default() -> Self {
        Self {
            size: 51,
            extent: 1.5,
            width: 0.05,
            dynamics: Pendulum::default(),
        }
    }
}

/// λ–ω reaction–diffusion on a periodic square, pseudo-spectral, one spiral.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields, default)]
pub struct ReactionDiffusion {
    /// Grid points per side.
    pub n: usize,
    /// Box side L.
    pub length: f64,
    /// Diffusion d.
    pub d: f64,
    /// β.
    pub beta: f64,
    /// Time between frames.
    pub dt: f64,
    /// Final time.
    pub t_end: f64,
    /// Integrator steps per frame interval.
    pub substeps: usize,
    /// Leading frames dropped (the reference drops 2 and keeps 9 999).
    pub drop_first: usize,
    /// Observation mask exp(−mask · (x² + y²)) on u and on its derivative.
    pub mask: f64,
    /// Fraction of the frames (in time order) for training, and for validation; the rest is the test split.
    pub train_fraction: f64,
    pub val_fraction: f64,
}

impl Default for ReactionDiffusion {
    fn default() -> Self {
        let system = LambdaOmega::default();
        Self {
            n: system.n,
            length: system.length,
            d: system.d,
            beta: system.beta,
            dt: 0.05,
            t_end: 500.0,
            substeps: DEFAULT_SUBSTEPS,
            drop_first: 2,
            mask: 0.01,
            train_fraction: 0.8,
            val_fraction: 0.1,
        }
    }
}

/// Double bump: ½(rectangle + triangle), each cyclically shifted by an independent uniform integer.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields, default)]
pub struct DoubleBump {
    pub n_train: usize,
    pub n_val: usize,
    pub n_test: usize,
    /// Signal length.
    pub length: usize,
    /// Width of each bump.
    pub width: usize,
}

impl Default for DoubleBump {
    fn default() -> Self {
        Self {
            n_train: 10_000,
            n_val: 1_000,
            n_test: 1_000,
            length: 64,
            width: 16,
        }
    }
}

/// Rotating object: three orthographic views of a rigid object at uniformly random orientations.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields, default)]
pub struct RotatingObject {
    pub n_train: usize,
    pub n_val: usize,
    pub n_test: usize,
    /// Image side in pixels.
    pub size: usize,
    /// An OFF mesh file for the object; empty for the built-in asymmetric cubes.
    pub mesh: String,
}

impl Default for RotatingObject {
    fn default() -> Self {
        Self {
            n_train: 10_000,
            n_val: 100,
            n_test: 100,
            size: 48,
            mesh: String::new(),
        }
    }
}

/// Names and texts of the built-in recipes (the files in `datasets/`).
pub const BUILTIN: [(&str, &str); 6] = [
    (
        "lotka-volterra",
        include_str!("../../datasets/lotka-volterra.toml"),
    ),
    ("pendulum", include_str!("../../datasets/pendulum.toml")),
    (
        "pendulum-movie",
        include_str!("../../datasets/pendulum-movie.toml"),
    ),
    (
        "reaction-diffusion",
        include_str!("../../datasets/reaction-diffusion.toml"),
    ),
    (
        "double-bump",
        include_str!("../../datasets/double-bump.toml"),
    ),
    (
        "rotating-object",
        include_str!("../../datasets/rotating-object.toml"),
    ),
];

impl Recipe {
    /// Loads a recipe by built-in name or from a TOML file, with `--set` overrides, and validates it.
    pub fn resolve(name_or_path: &str, overrides: &[String]) -> Result<Self> {
        let recipe: Recipe = if let Some((name, text)) =
            BUILTIN.iter().find(|(n, _)| *n == name_or_path)
        {
            crate::config::parse(text, &format!("built-in recipe {name}"), overrides)?
        } else if name_or_path.ends_with(".toml") || Path::new(name_or_path).is_file() {
            crate::config::load(Path::new(name_or_path), overrides)?
        } else {
            let names: Vec<&str> = BUILTIN.iter().map(|(n, _)| *n).collect();
            let hint = crate::config::closest(name_or_path, names.iter().copied())
                .map(|c| format!(" (did you mean `{c}`?)"))
                .unwrap_or_default();
            return Err(config_err!(
                "unknown dataset `{name_or_path}`{hint}: expected a recipe file (.toml) or one of: {}",
                names.join(", ")
            ));
        };
        recipe.validate()?;
        Ok(recipe)
    }

    /// The one system section of the recipe.
    pub fn system(&self) -> Result<System<'_>> {
        let all = [
            self.lotka_volterra.as_ref().map(System::LotkaVolterra),
            self.pendulum.as_ref().map(System::Pendulum),
            self.pendulum_movie.as_ref().map(System::PendulumMovie),
            self.reaction_diffusion
                .as_ref()
                .map(System::ReactionDiffusion),
            self.double_bump.as_ref().map(System::DoubleBump),
            self.rotating_object.as_ref().map(System::RotatingObject),
        ];
        let n = all.iter().filter(|s| s.is_some()).count();
        if n != 1 {
            return Err(config_err!(
                "a recipe needs exactly one system section ([lotka-volterra], [pendulum], [pendulum-movie], \
                 [reaction-diffusion], [double-bump] or [rotating-object]); found {n}"
            ));
        }
        Ok(all.into_iter().flatten().next().expect("one system"))
    }

    /// The system's name as in the recipe section.
    pub fn name(&self) -> &'static str {
        match self.system() {
            Ok(System::LotkaVolterra(_)) => "lotka-volterra",
            Ok(System::Pendulum(_)) => "pendulum",
            Ok(System::PendulumMovie(_)) => "pendulum-movie",
            Ok(System::ReactionDiffusion(_)) => "reaction-diffusion",
            Ok(System::DoubleBump(_)) => "double-bump",
            Ok(System::RotatingObject(_)) => "rotating-object",
            Err(_) => "unknown",
        }
    }

    /// The recipe as TOML (every default filled in).
    pub fn to_toml(&self) -> Result<String> {
        crate::config::to_toml(self)
    }

    /// Checks sizes and steps are positive and fractions sensible; errors name the key.
    pub fn validate(&self) -> Result<()> {
        let mut c = Checker::default();
        match self.system()? {
            System::LotkaVolterra(s) => {
                c.section("lotka-volterra");
                c.at_least("n_train", s.n_train, 1);
                c.at_least("steps", s.steps, 2);
                c.positive("dt", s.dt);
                c.at_least("substeps", s.substeps, 1);
                // H = e^x0 − x0 + (4/3)e^x1 − (2/3)x1 has its minimum 5/3 + (2/3)ln 2 at (0, −ln 2).
                let h_floor = 5.0 / 3.0 + 2.0 / 3.0 * std::f64::consts::LN_2;
                if !(s.h_min < s.h_max && s.h_max > h_floor) {
                    c.fail("h_max", format!(
                        "h_min < h_max expected, with h_max above the minimum of H ({h_floor:.4}); found h_min = {}, h_max = {}",
                        s.h_min, s.h_max
                    ));
                }
            }
            System::Pendulum(s) => check_pendulum(&mut c, "pendulum", s),
            System::PendulumMovie(s) => {
                check_pendulum(&mut c, "pendulum-movie.dynamics", &s.dynamics);
                c.section("pendulum-movie");
                c.at_least("size", s.size, 2);
                c.positive("extent", s.extent);
                c.positive("width", s.width);
            }
            System::ReactionDiffusion(s) => {
                c.section("reaction-diffusion");
                c.at_least("n", s.n, 4);
                if s.n % 2 != 0 {
                    c.fail("n", format!("{}, expected an even number", s.n));
                }
                c.positive("length", s.length);
                c.positive("dt", s.dt);
                c.positive("t_end", s.t_end);
                c.at_least("substeps", s.substeps, 1);
                if !(s.d >= 0.0 && s.mask >= 0.0 && s.beta.is_finite()) {
                    c.fail("d", format!("d and mask must be ≥ 0 and beta finite; found d = {}, mask = {}, beta = {}", s.d, s.mask, s.beta));
                }
                let f = (s.train_fraction, s.val_fraction);
                if !(f.0 > 0.0 && f.1 >= 0.0 && f.0 + f.1 <= 1.0) {
                    c.fail("train_fraction", format!("train_fraction > 0, val_fraction ≥ 0 and their sum ≤ 1 expected; found {} and {}", f.0, f.1));
                }
                let frames = (s.t_end / s.dt).round() as usize + 1;
                if frames <= s.drop_first + 2 {
                    c.fail(
                        "t_end",
                        format!(
                            "t_end/dt gives {frames} frames, not more than drop_first = {} + 2",
                            s.drop_first
                        ),
                    );
                }
            }
            System::DoubleBump(s) => {
                c.section("double-bump");
                c.at_least("n_train", s.n_train, 1);
                c.at_least("length", s.length, 2);
                c.at_least("width", s.width, 1);
                if s.width > s.length {
                    c.fail(
                        "width",
                        format!("width ({}) must not exceed length ({})", s.width, s.length),
                    );
                }
            }
            System::RotatingObject(s) => {
                c.section("rotating-object");
                c.at_least("n_train", s.n_train, 1);
                c.at_least("size", s.size, 4);
            }
        }
        c.result("invalid recipe")
    }
}

fn check_pendulum(c: &mut Checker, prefix: &str, s: &Pendulum) {
    c.section(prefix);
    c.at_least("n_train", s.n_train, 1);
    c.at_least("steps", s.steps, 2);
    c.positive("dt", s.dt);
    c.at_least("substeps", s.substeps, 1);
    c.positive("theta_max", s.theta_max);
    c.positive("omega_max", s.omega_max);
    if s.energy_max.is_nan() || s.energy_max <= -1.0 {
        c.fail(
            "energy_max",
            format!(
                "energy_max must exceed −1 (the minimum energy), found {}",
                s.energy_max
            ),
        );
    } else if s.theta_max > 0.0 && s.omega_max > 0.0 {
        // initial conditions are drawn until enough pass the energy filter: some must exist
        let grid = |m: f64, i: usize| m * (i as f64 / 50.0 - 1.0);
        let any = (0..=100).any(|i| {
            (0..=100).any(|j| {
                let (th, om) = (grid(s.theta_max, i), grid(s.omega_max, j));
                (om * om / 2.0 - th.cos()).abs() <= s.energy_max
            })
        });
        if !any {
            c.fail("energy_max", format!(
                "no initial condition with |θ| ≤ theta_max = {} and |ω| ≤ omega_max = {} has |energy| ≤ energy_max = {} (small swings have energy near −1: raise energy_max to 1)",
                s.theta_max, s.omega_max, s.energy_max
            ));
        }
    }
}
