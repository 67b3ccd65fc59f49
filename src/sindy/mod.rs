//! Sparse identification of nonlinear dynamics (SINDy): fit ẋ = Ξ Θ(x) with a sparse coefficient
//! matrix Ξ `[d, p]` over a feature library Θ, optionally constrained to be equivariant under linear
//! symmetry generators, then print, evaluate, differentiate and integrate the fitted model.
//!
//! Data are plain row-major slices: states `x` `[n, d]` and derivatives `dx` `[n, d]`.
//!
//! # Library spec syntax
//!
//! | spec      | terms (d = 2, states `x0, x1`)                         |
//! |-----------|--------------------------------------------------------|
//! | `1`       | the constant `1`                                       |
//! | `x`       | linear terms `x0, x1`                                  |
//! | `poly(k)` | all monomials of degree 1..=k (k ≤ 10): `x0, x1, x0^2, x0*x1, x1^2, ...` |
//! | `sin(x)`  | `sin(x0), sin(x1)`                                     |
//! | `cos(x)`  | `cos(x0), cos(x1)`                                     |
//! | `exp(x)`  | `exp(x0), exp(x1)`                                     |
//! | `A + B`   | concatenation, repeated terms kept once                |
//! | `A * B`   | tensor product: every product of a term of A and a term of B |
//! | `( A )`   | grouping                                               |
//!
//! `*` binds tighter than `+`; whitespace is ignored. Examples: `"1 + poly(3)"`, `"1 + x + exp(x)"`,
//! `"1 + x + sin(x) + cos(x)"`, `"poly(2) * sin(x)"`, `"(1 + x) * (1 + cos(x))"`. Term names use
//! the state names (`x0, x1, ...` unless renamed, e.g. `sin(theta)`, `z0^2*z1`). A spec error
//! names the offending token and its column.
//!
//! # Pieces
//!
//! - [`library::Library`]: Θ, its chunked Gram matrix ΘᵀΘ, ΘᵀẊ and its Jacobian dΘ/dx.
//! - [`Regressor`]: [`stlsq::Stlsq`] (sequentially thresholded least squares, pysindy semantics) and
//!   [`adam_l1::AdamL1`] (minibatch Adam on MSE + λ‖Ξ‖₁ with periodic masking).
//! - [`constraint::SymmetryConstraint`]: equivariance L Ξ = Ξ M_L, exact (regression in the null
//!   space) or soft (penalty μ‖LΞ − ΞM_L‖²).
//! - [`model::SindyModel`]: the fitted model (serde), with equations, prediction, Jacobian, RK4
//!   simulation and R²/RMSE.

pub mod adam_l1;
mod config;
pub mod constraint;
pub mod library;
pub mod model;
pub mod stlsq;
pub mod tensor;

pub use adam_l1::{AdamL1, AdamL1Config};
pub use config::{Constraint, Fits, Fitted, RegressorKind, SindyConfig};
pub use constraint::{ConstraintMode, SymmetryConstraint};
pub use library::{Factor, Func, Gram, Library, Term};
pub use model::{fit, FitReport, SindyModel, SymmetrySummary};
pub use stlsq::{Stlsq, StlsqConfig};

use nalgebra::DMatrix;
use std::cell::OnceCell;

/// Errors of the SINDy module.
#[derive(Debug, thiserror::Error)]
pub enum SindyError {
    /// A library spec that cannot be parsed.
    #[error("library spec `{spec}`: {message}")]
    Spec { spec: String, message: String },
    /// A library feature that is NaN or infinite on the data.
    #[error("feature `{term}` is not finite ({value}) at sample {sample}")]
    NonFinite {
        term: String,
        sample: usize,
        value: f64,
    },
    /// Mismatched or empty shapes, or bad values in the data.
    #[error("{0}")]
    Shape(String),
    /// A setting out of its range.
    #[error("{0}")]
    Config(String),
    /// A generator under which the library is not closed.
    #[error(
        "the library is not closed under generator {index}: J_Θ(x)·(L x) = M_L Θ(x) has relative \
         residual {residual:.3e} (add the terms the generator maps into, or drop the generator)"
    )]
    NotClosed { index: usize, residual: f64 },
    /// An exact constraint whose solution space is {0}.
    #[error(
        "the symmetry constraint leaves no free coefficient (0 of {total}): no nonzero model in this \
         library is equivariant under the {generators} generator(s)"
    )]
    NoFreeCoefficient { generators: usize, total: usize },
    /// A linear solve that failed even after regularization.
    #[error("{0}")]
    Numerical(String),
    /// Model (de)serialization.
    #[error("model JSON: {0}")]
    Json(#[from] serde_json::Error),
}

impl From<SindyError> for crate::Error {
    fn from(e: SindyError) -> Self {
        crate::Error::Config(format!("sindy: {e}"))
    }
}

/// The module's result type.
pub type Result<T> = std::result::Result<T, SindyError>;

/// A regression problem: the library, the data and an optional symmetry constraint.
pub struct Problem<'a> {
    library: &'a Library,
    x: &'a [f64],
    dx: &'a [f64],
    n: usize,
    constraint: Option<&'a SymmetryConstraint>,
    gram: OnceCell<Gram>,
}

impl<'a> Problem<'a> {
    /// Checks shapes: `x` and `dx` are `[n, d]` row-major with `d` the library's state count, n ≥ 1.
    pub fn new(
        library: &'a Library,
        x: &'a [f64],
        dx: &'a [f64],
        constraint: Option<&'a SymmetryConstraint>,
    ) -> Result<Self> {
        let d = library.n_states();
        if x.is_empty() || !x.len().is_multiple_of(d) || dx.len() != x.len() {
            return Err(SindyError::Shape(format!(
                "x ({} values) and dx ({} values) must both be [n, {d}] with n ≥ 1",
                x.len(),
                dx.len()
            )));
        }
        if let Some(c) = constraint {
            if c.n_states() != d || c.n_terms() != library.n_terms() {
                return Err(SindyError::Shape(format!(
                    "the constraint was built for d = {}, p = {} but the library has d = {d}, p = {}",
                    c.n_states(),
                    c.n_terms(),
                    library.n_terms()
                )));
            }
        }
        Ok(Problem {
            library,
            x,
            dx,
            n: x.len() / d,
            constraint,
            gram: OnceCell::new(),
        })
    }

    /// The library.
    pub fn library(&self) -> &Library {
        self.library
    }

    /// States, row-major `[n, d]`.
    pub fn x(&self) -> &[f64] {
        self.x
    }

    /// Derivatives, row-major `[n, d]`.
    pub fn dx(&self) -> &[f64] {
        self.dx
    }

    /// Number of samples.
    pub fn n_samples(&self) -> usize {
        self.n
    }

    /// The symmetry constraint, if any.
    pub fn constraint(&self) -> Option<&SymmetryConstraint> {
        self.constraint
    }

    /// ΘᵀΘ and ΘᵀẊ, computed on first use.
    pub fn gram(&self) -> Result<&Gram> {
        if let Some(g) = self.gram.get() {
            return Ok(g);
        }
        let g = self.library.gram(self.x, self.dx)?;
        Ok(self.gram.get_or_init(|| g))
    }
}

/// A regressor's result.
#[derive(Clone, Debug)]
pub struct Fit {
    /// Ξ, `d × p` (row i: the equation of ẋ_i).
    pub coefficients: DMatrix<f64>,
    /// Iterations (STLSQ) or epochs (Adam) run.
    pub iterations: usize,
    /// STLSQ: the support settled before `max_iter`; Adam-L1: the last masking removed nothing.
    pub converged: bool,
    /// Remarks worth reporting (e.g. a jitter added to a singular Gram matrix).
    pub notes: Vec<String>,
}

/// A sparse regression method: finds Ξ with Θ Ξᵀ ≈ Ẋ.
pub trait Regressor {
    /// A short description with the settings, e.g. `stlsq(threshold=0.1, alpha=0)`.
    fn describe(&self) -> String;
    /// Fits Ξ `[d, p]` on the problem, honoring its constraint.
    fn fit(&mut self, problem: &Problem<'_>) -> Result<Fit>;
}

#[cfg(test)]
pub(crate) mod testutil {
    //! RK4 trajectories for the tests.

    /// RK4 trajectories of `f` from each initial condition: returns (x, dx) with exact derivatives,
    /// `steps` samples per trajectory.
    pub fn trajectories(
        f: impl Fn(&[f64], &mut [f64]),
        inits: &[Vec<f64>],
        dt: f64,
        steps: usize,
    ) -> (Vec<f64>, Vec<f64>) {
        let d = inits[0].len();
        let (mut xs, mut dxs) = (Vec::new(), Vec::new());
        let (mut k1, mut k2, mut k3, mut k4, mut tmp) = (
            vec![0.0; d],
            vec![0.0; d],
            vec![0.0; d],
            vec![0.0; d],
            vec![0.0; d],
        );
        for x0 in inits {
            let mut x = x0.clone();
            for _ in 0..steps {
                f(&x, &mut k1);
                xs.extend_from_slice(&x);
                dxs.extend_from_slice(&k1);
                for i in 0..d {
                    tmp[i] = x[i] + 0.5 * dt * k1[i];
                }
                f(&tmp, &mut k2);
                for i in 0..d {
                    tmp[i] = x[i] + 0.5 * dt * k2[i];
                }
                f(&tmp, &mut k3);
                for i in 0..d {
                    tmp[i] = x[i] + dt * k3[i];
                }
                f(&tmp, &mut k4);
                for i in 0..d {
                    x[i] += dt / 6.0 * (k1[i] + 2.0 * k2[i] + 2.0 * k3[i] + k4[i]);
                }
            }
        }
        (xs, dxs)
    }
}
