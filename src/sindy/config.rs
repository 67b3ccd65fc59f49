//! The `[sindy]` settings and what they build: the library with its state names, the regressor and the
//! equivariance constraint, and one fit scored on validation rows.

use super::{
    fit, AdamL1, AdamL1Config, ConstraintMode, FitReport, Library, Regressor, Result, SindyError,
    SindyModel, Stlsq, StlsqConfig, SymmetryConstraint,
};
use serde::{Deserialize, Serialize};

/// The sparse regressor (`sindy.regressor`).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub enum RegressorKind {
    /// Sequentially thresholded least squares.
    #[default]
    #[serde(rename = "stlsq")]
    Stlsq,
    /// Minibatch Adam on MSE + λ‖Ξ‖₁ with periodic masking.
    #[serde(rename = "adam-l1")]
    AdamL1,
}

impl RegressorKind {
    /// The name a config writes.
    pub fn name(self) -> &'static str {
        match self {
            RegressorKind::Stlsq => "stlsq",
            RegressorKind::AdamL1 => "adam-l1",
        }
    }
}

/// Which fits a discovery makes (`sindy.constraint`).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub enum Constraint {
    /// `""`: both when generators are known, else none.
    #[default]
    #[serde(rename = "", alias = "auto")]
    Auto,
    /// Only the unconstrained fit.
    #[serde(rename = "none")]
    None,
    /// Only the fit equivariant under the generators.
    #[serde(rename = "equivariant")]
    Equivariant,
    /// Both: the equivariant fit on top, the unconstrained one beside it.
    #[serde(rename = "both")]
    Both,
}

/// The fits a discovery makes once the generators are known.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Fits {
    /// The unconstrained fit.
    pub plain: bool,
    /// The equivariant fit.
    pub equivariant: bool,
}

impl Constraint {
    /// Resolves `Auto` against whether generators are known; a constrained choice without
    /// generators is an error.
    pub fn fits(self, have_generators: bool) -> Result<Fits> {
        let (plain, equivariant) = match (self, have_generators) {
            (Constraint::Auto | Constraint::Both, true) => (true, true),
            (Constraint::Auto, false) | (Constraint::None, _) => (true, false),
            (Constraint::Equivariant, true) => (false, true),
            (Constraint::Equivariant | Constraint::Both, false) => {
                return Err(SindyError::Config(format!(
                    "sindy.constraint = {:?} needs sindy.generators (a list of d×d matrices)",
                    self.name()
                )))
            }
        };
        Ok(Fits { plain, equivariant })
    }

    /// The name a config writes.
    pub fn name(self) -> &'static str {
        match self {
            Constraint::Auto => "",
            Constraint::None => "none",
            Constraint::Equivariant => "equivariant",
            Constraint::Both => "both",
        }
    }
}

/// Sparse regression settings (`[sindy]`).
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields, default)]
pub struct SindyConfig {
    /// `"stlsq"` or `"adam-l1"`.
    pub regressor: RegressorKind,
    /// STLSQ: |ξ| below it is zeroed each pass; Adam-L1: |ξ| at or below it is masked.
    pub threshold: f64,
    /// Feature library, e.g. `"1 + x + exp(x)"`, `"1 + poly(3)"`, `"poly(2) * sin(x)"`.
    pub library: String,
    /// Known generators acting on the state (list of d×d matrices); latent mode uses the discovered ones
    /// unless this is set.
    pub generators: Vec<Vec<Vec<f64>>>,
    /// `"none"`, `"equivariant"`, `"both"`, or `""` = `"both"` when generators exist, else `"none"`.
    pub constraint: Constraint,
    /// Penalty weight of a soft equivariance constraint; 0 = exact.
    pub soft_weight: f64,
    /// State names (default `{prefix}0`, `{prefix}1`, …: x in raw mode, z in latent mode).
    pub state_names: Vec<String>,
    /// Every k-th step of each trajectory is used for the fit and the validation scores.
    pub stride: usize,
    /// STLSQ ridge α.
    pub alpha: f64,
    /// STLSQ maximum passes.
    pub max_iter: usize,
    /// STLSQ: threshold on column-normalized coefficients.
    pub normalize_columns: bool,
    /// Adam-L1 epochs, batch size, learning rate, L1 weight λ, masking period.
    pub epochs: usize,
    pub batch_size: usize,
    pub lr: f64,
    pub lambda: f64,
    pub mask_every: usize,
}

impl Default for SindyConfig {
    fn default() -> Self {
        Self {
            regressor: RegressorKind::Stlsq,
            threshold: 0.1,
            library: "1 + poly(2)".into(),
            generators: Vec::new(),
            constraint: Constraint::Auto,
            soft_weight: 0.0,
            state_names: Vec::new(),
            stride: 1,
            alpha: 0.0,
            max_iter: 20,
            normalize_columns: false,
            epochs: 30,
            batch_size: 64,
            lr: 1e-3,
            lambda: 0.1,
            mask_every: 5,
        }
    }
}

impl crate::config::Validate for SindyConfig {
    fn validate(&self, c: &mut crate::config::Checker) {
        c.non_negative("threshold", self.threshold);
        if let Err(e) = Library::parse(&self.library, 1) {
            c.fail("library", e);
        }
        for (i, g) in self.generators.iter().enumerate() {
            let d = g.len();
            if d == 0
                || g.iter()
                    .any(|r| r.len() != d || r.iter().any(|v| !v.is_finite()))
            {
                let cols = g.first().map_or(0, Vec::len);
                c.fail(
                    &format!("generators[{i}]"),
                    format!("a {d}×{cols} matrix, expected a square matrix of finite numbers (d×d for d states)"),
                );
            }
        }
        c.non_negative("soft_weight", self.soft_weight);
        c.at_least("stride", self.stride, 1);
        c.non_negative("alpha", self.alpha);
        c.at_least("max_iter", self.max_iter, 1);
        c.at_least("epochs", self.epochs, 1);
        c.at_least("batch_size", self.batch_size, 1);
        c.within("lr", self.lr, 0.0, 1.0);
        c.non_negative("lambda", self.lambda);
        c.at_least("mask_every", self.mask_every, 1);
    }
}

/// One fit with its report and validation scores.
pub struct Fitted {
    pub model: SindyModel,
    pub report: FitReport,
    pub val_r2: Option<f64>,
    pub val_rmse: Option<f64>,
}

impl SindyConfig {
    /// The library over `d` states, named by `state_names` or else `{prefix}0`, `{prefix}1`, ….
    pub fn library(&self, d: usize, prefix: &str) -> Result<Library> {
        let names = if self.state_names.is_empty() {
            (0..d).map(|i| format!("{prefix}{i}")).collect()
        } else {
            self.state_names.clone()
        };
        Library::parse(&self.library, d)?.with_state_names(names)
    }

    /// The configured regressor; Adam-L1 draws its start and batch order from streams of `seed`.
    pub fn build_regressor(&self, seed: u64) -> Result<Box<dyn Regressor>> {
        Ok(match self.regressor {
            RegressorKind::Stlsq => Box::new(Stlsq::new(StlsqConfig {
                threshold: self.threshold,
                alpha: self.alpha,
                max_iter: self.max_iter,
                normalize_columns: self.normalize_columns,
                unbias: true,
            })?),
            RegressorKind::AdamL1 => {
                let mut normal_rng = crate::rng::stream(seed, "sindy/init");
                let mut order_rng = crate::rng::stream(seed, "sindy/order");
                Box::new(AdamL1::new(
                    AdamL1Config {
                        epochs: self.epochs,
                        batch_size: self.batch_size,
                        lr: self.lr,
                        lambda: self.lambda,
                        threshold: self.threshold,
                        mask_every: self.mask_every,
                        ..Default::default()
                    },
                    move || crate::rng::normal(&mut normal_rng),
                    move |n| crate::rng::below(&mut order_rng, n),
                )?)
            }
        })
    }

    /// The equivariance constraint of `generators` (each d×d) on `lib`: exact, or a penalty when
    /// `soft_weight` > 0.
    pub fn build_constraint(
        &self,
        lib: &Library,
        generators: &[Vec<Vec<f64>>],
    ) -> Result<SymmetryConstraint> {
        let d = lib.n_states();
        let mut rows = Vec::with_capacity(generators.len());
        for (i, m) in generators.iter().enumerate() {
            if m.len() != d || m.iter().any(|r| r.len() != d) {
                return Err(SindyError::Config(format!(
                    "sindy.generators[{i}] must be a {d}×{d} matrix (the state has {d} dimensions)"
                )));
            }
            rows.push(m.concat());
        }
        let mode = if self.soft_weight > 0.0 {
            ConstraintMode::Soft {
                weight: self.soft_weight,
            }
        } else {
            ConstraintMode::Exact
        };
        SymmetryConstraint::from_rows(lib, &rows, mode)
    }

    /// Fits the configured regression on `(x, dx)` (row-major `[n, d]`), equivariant under
    /// `generators` when given, and scores it on `val` when it has rows.
    pub fn fit(
        &self,
        lib: &Library,
        x: &[f64],
        dx: &[f64],
        generators: Option<&[Vec<Vec<f64>>]>,
        val: Option<(&[f64], &[f64])>,
        seed: u64,
    ) -> Result<Fitted> {
        let constraint = generators
            .map(|g| self.build_constraint(lib, g))
            .transpose()?;
        let mut regressor = self.build_regressor(seed)?;
        let (model, report) = fit(lib, regressor.as_mut(), x, dx, constraint.as_ref())?;
        let (val_r2, val_rmse) = match val {
            Some((vx, vdx)) if !vx.is_empty() => {
                (Some(model.r2(vx, vdx)?), Some(model.rmse(vx, vdx)?))
            }
            _ => (None, None),
        };
        Ok(Fitted {
            model,
            report,
            val_r2,
            val_rmse,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_parse_into_typed_choices_and_bad_values_name_the_valid_ones() {
        let cfg: SindyConfig =
            toml::from_str("regressor = \"adam-l1\"\nconstraint = \"equivariant\"").unwrap();
        assert_eq!(cfg.regressor, RegressorKind::AdamL1);
        assert_eq!(cfg.constraint, Constraint::Equivariant);
        let auto: SindyConfig = toml::from_str("constraint = \"\"").unwrap();
        assert_eq!(auto.constraint, Constraint::Auto);
        let err = toml::from_str::<SindyConfig>("regressor = \"stlsqq\"")
            .unwrap_err()
            .to_string();
        assert!(err.contains("stlsq") && err.contains("adam-l1"), "{err}");
        // The resolved config writes the same strings users write.
        let text = toml::to_string(&SindyConfig::default()).unwrap();
        assert!(text.contains("regressor = \"stlsq\"") && text.contains("constraint = \"\""));
    }

    #[test]
    fn constraint_resolves_against_known_generators() {
        let both = Fits {
            plain: true,
            equivariant: true,
        };
        assert_eq!(Constraint::Auto.fits(true).unwrap(), both);
        assert!(!Constraint::Auto.fits(false).unwrap().equivariant);
        assert!(!Constraint::Equivariant.fits(true).unwrap().plain);
        assert!(Constraint::Both.fits(false).is_err());
    }

    #[test]
    fn library_names_states_by_prefix_unless_named() {
        let mut cfg = SindyConfig {
            library: "x".into(),
            ..Default::default()
        };
        assert_eq!(cfg.library(2, "z").unwrap().term_names(), ["z0", "z1"]);
        cfg.state_names = vec!["theta".into(), "omega".into()];
        assert_eq!(
            cfg.library(2, "z").unwrap().term_names(),
            ["theta", "omega"]
        );
    }
}
