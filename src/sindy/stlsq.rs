//! Sequentially thresholded least squares (STLSQ) with pysindy's semantics, solved on the Gram
//! matrix: a ridge (α) fit on all terms, then repeatedly zero |ξ| < threshold and refit each target
//! on its remaining support until a pass drops nothing; finally an unregularized refit on the
//! support (pysindy's `unbias=True`). With `normalize_columns`, thresholding acts on coefficients
//! of unit-norm columns and the result is scaled back.
//!
//! Under an exact symmetry constraint the same iteration runs on the coordinates c of Ξ in the
//! constraint's null-space basis (each c_k is one entry of Ξ, see
//! [`super::constraint::SymmetryConstraint::basis`]), so every iterate is exactly equivariant;
//! under a soft constraint it runs on vec(Ξ) with the penalty added to the normal equations.

use super::constraint::ConstraintMode;
use super::{Fit, Problem, Regressor, Result, SindyError};
use nalgebra::{DMatrix, DVector};
use serde::{Deserialize, Serialize};

/// STLSQ settings.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct StlsqConfig {
    /// Coefficients with |ξ| below this are zeroed (default 0.1).
    pub threshold: f64,
    /// Ridge weight α in ‖ΘΞᵀ − Ẋ‖² + α‖Ξ‖² (default 0: plain least squares).
    pub alpha: f64,
    /// Maximum thresholding passes (default 20).
    pub max_iter: usize,
    /// Threshold coefficients of unit-norm library columns (default false).
    pub normalize_columns: bool,
    /// Final unregularized refit on the support (default true).
    pub unbias: bool,
}

impl Default for StlsqConfig {
    fn default() -> Self {
        StlsqConfig {
            threshold: 0.1,
            alpha: 0.0,
            max_iter: 20,
            normalize_columns: false,
            unbias: true,
        }
    }
}

/// The STLSQ regressor.
#[derive(Clone, Debug)]
pub struct Stlsq {
    config: StlsqConfig,
}

impl Stlsq {
    /// Checks the settings (threshold, α ≥ 0 and finite, max_iter ≥ 1).
    pub fn new(config: StlsqConfig) -> Result<Self> {
        if !(config.threshold >= 0.0 && config.threshold.is_finite()) {
            return Err(SindyError::Config(format!(
                "stlsq threshold must be ≥ 0, found {}",
                config.threshold
            )));
        }
        if !(config.alpha >= 0.0 && config.alpha.is_finite()) {
            return Err(SindyError::Config(format!(
                "stlsq alpha must be ≥ 0, found {}",
                config.alpha
            )));
        }
        if config.max_iter == 0 {
            return Err(SindyError::Config("stlsq max_iter must be ≥ 1".into()));
        }
        Ok(Stlsq { config })
    }

    /// The settings.
    pub fn config(&self) -> &StlsqConfig {
        &self.config
    }
}

impl Regressor for Stlsq {
    fn describe(&self) -> String {
        let c = &self.config;
        format!(
            "stlsq(threshold={}, alpha={}, max_iter={}, normalize_columns={}, unbias={})",
            c.threshold, c.alpha, c.max_iter, c.normalize_columns, c.unbias
        )
    }

    fn fit(&mut self, problem: &Problem<'_>) -> Result<Fit> {
        let gram = problem.gram()?;
        let lib = problem.library();
        let (d, p) = (lib.n_states(), lib.n_terms());
        let g = &gram.gtg;
        let mut notes = Vec::new();
        let (blocks, map): (Vec<Block>, Mapping) = match problem.constraint() {
            None => (
                (0..d)
                    .map(|i| Block::new(g.clone(), gram.gty.column(i).into_owned(), None))
                    .collect(),
                Mapping::Rows,
            ),
            Some(c) => match c.mode() {
                ConstraintMode::Exact => {
                    let b = c.basis();
                    let r = b.ncols();
                    let mut h = DMatrix::zeros(r, r);
                    let mut rhs = DVector::zeros(r);
                    for i in 0..d {
                        let bi = b.rows(i * p, p);
                        h += bi.transpose() * g * bi;
                        rhs += bi.transpose() * gram.gty.column(i);
                    }
                    (vec![Block::new(h, rhs, None)], Mapping::Basis(b.clone()))
                }
                ConstraintMode::Soft { weight } => {
                    let mut h = DMatrix::zeros(d * p, d * p);
                    let mut rhs = DVector::zeros(d * p);
                    for i in 0..d {
                        h.view_mut((i * p, i * p), (p, p)).copy_from(g);
                        rhs.rows_mut(i * p, p).copy_from(&gram.gty.column(i));
                    }
                    let diag = h.diagonal();
                    // objective: MSE over n·d entries + μ‖LΞ − ΞM‖², times n·d
                    h += c.penalty_normal() * (weight * (gram.n * d) as f64);
                    (vec![Block::new(h, rhs, Some(diag))], Mapping::Vec)
                }
            },
        };
        let (coefs, iterations, converged) = run(&blocks, &self.config, &mut notes)?;
        let coefficients = match map {
            Mapping::Rows => {
                let mut xi = DMatrix::zeros(d, p);
                for (i, w) in coefs.iter().enumerate() {
                    xi.row_mut(i).copy_from(&w.transpose());
                }
                xi
            }
            Mapping::Vec => DMatrix::from_row_slice(d, p, coefs[0].as_slice()),
            Mapping::Basis(b) => {
                let v = b * &coefs[0];
                DMatrix::from_row_slice(d, p, v.as_slice())
            }
        };
        Ok(Fit {
            coefficients,
            iterations,
            converged,
            notes,
        })
    }
}

/// How block solutions map to Ξ.
enum Mapping {
    /// One block per target row.
    Rows,
    /// One block holding vec(Ξ), row-major.
    Vec,
    /// One block holding coordinates c with vec(Ξ) = B c.
    Basis(DMatrix<f64>),
}

/// One least-squares problem in normal form: minimize wᵀHw − 2gᵀw.
struct Block {
    h: DMatrix<f64>,
    g: DVector<f64>,
    /// Squared column norms of the data part of H (used by `normalize_columns`).
    norms2: DVector<f64>,
}

impl Block {
    fn new(h: DMatrix<f64>, g: DVector<f64>, norms2: Option<DVector<f64>>) -> Self {
        let norms2 = norms2.unwrap_or_else(|| h.diagonal());
        Block { h, g, norms2 }
    }
}

/// The STLSQ iteration on all blocks jointly (stops when no block's support changes).
/// Returns the coefficients, the number of passes and whether the supports settled.
fn run(
    blocks: &[Block],
    cfg: &StlsqConfig,
    notes: &mut Vec<String>,
) -> Result<(Vec<DVector<f64>>, usize, bool)> {
    // scaled problems: w = S w̃, H̃ = S H S, g̃ = S g
    let scaled: Vec<(DMatrix<f64>, DVector<f64>, DVector<f64>)> = blocks
        .iter()
        .map(|b| {
            let s = b.norms2.map(|v| {
                if cfg.normalize_columns && v > 0.0 {
                    1.0 / v.sqrt()
                } else {
                    1.0
                }
            });
            let mut h = b.h.clone();
            for j in 0..h.ncols() {
                for i in 0..h.nrows() {
                    h[(i, j)] *= s[i] * s[j];
                }
            }
            let g = b.g.component_mul(&s);
            (h, g, s)
        })
        .collect();
    let mut ind: Vec<Vec<bool>> = blocks.iter().map(|b| vec![true; b.g.len()]).collect();
    let mut coefs: Vec<DVector<f64>> = blocks.iter().map(|b| DVector::zeros(b.g.len())).collect();
    let mut converged = false;
    let mut iterations = 0;
    for _ in 0..cfg.max_iter {
        iterations += 1;
        let mut changed = false;
        for (k, (h, g, _)) in scaled.iter().enumerate() {
            if !ind[k].iter().any(|&b| b) {
                coefs[k].fill(0.0);
                continue;
            }
            let mut w = solve_on_support(h, g, &ind[k], cfg.alpha, notes)?;
            for (j, keep) in ind[k].iter_mut().enumerate() {
                let big = w[j].abs() >= cfg.threshold;
                if *keep && !big {
                    changed = true;
                }
                *keep &= big;
                if !*keep {
                    w[j] = 0.0;
                }
            }
            coefs[k] = w;
        }
        if !changed {
            converged = true;
            break;
        }
    }
    if !converged {
        notes.push(format!(
            "stlsq: supports still changing after max_iter = {} passes",
            cfg.max_iter
        ));
    }
    for (k, (h, g, s)) in scaled.iter().enumerate() {
        let support: Vec<bool> = coefs[k].iter().map(|v| v.abs() > 1e-14).collect();
        if !support.iter().any(|&b| b) {
            push_note(
                notes,
                format!(
                    "stlsq: threshold {} eliminated every coefficient of {}",
                    cfg.threshold,
                    if blocks.len() > 1 {
                        format!("target {k}")
                    } else {
                        "the model".to_string()
                    }
                ),
            );
            coefs[k].fill(0.0);
        } else if cfg.unbias {
            coefs[k] = solve_on_support(h, g, &support, 0.0, notes)?;
        }
        coefs[k].component_mul_assign(s);
    }
    Ok((coefs, iterations, converged))
}

fn push_note(notes: &mut Vec<String>, note: String) {
    if !notes.contains(&note) {
        notes.push(note);
    }
}

/// Solves (H_SS + αI) w_S = g_S on the support S (zeros elsewhere) by Cholesky. A singular H_SS
/// (Cholesky fails, or a pivot keeps less than 1e-13 of its column's norm²) gets a diagonal jitter
/// of 1e-10·max diag, reported in `notes`.
fn solve_on_support(
    h: &DMatrix<f64>,
    g: &DVector<f64>,
    support: &[bool],
    alpha: f64,
    notes: &mut Vec<String>,
) -> Result<DVector<f64>> {
    let idx: Vec<usize> = (0..support.len()).filter(|&j| support[j]).collect();
    let m = idx.len();
    let mut hs = DMatrix::from_fn(m, m, |a, b| h[(idx[a], idx[b])]);
    let gs = DVector::from_fn(m, |a, _| g[idx[a]]);
    for a in 0..m {
        hs[(a, a)] += alpha;
    }
    let ws = match cholesky_checked(&hs) {
        Some(ch) => ch.solve(&gs),
        None => {
            let scale = hs.diagonal().amax().max(f64::MIN_POSITIVE);
            let jitter = 1e-10 * scale;
            push_note(
                notes,
                format!(
                    "singular Gram matrix on a support of {m} terms (linearly dependent library \
                     columns on these data): solved with a diagonal jitter of {jitter:.3e}"
                ),
            );
            for a in 0..m {
                hs[(a, a)] += jitter;
            }
            hs.clone()
                .cholesky()
                .ok_or_else(|| {
                    SindyError::Numerical(format!(
                        "the Gram matrix on a support of {m} terms is not positive semidefinite \
                         even with a jitter of {jitter:.3e} (non-finite data?)"
                    ))
                })?
                .solve(&gs)
        }
    };
    let mut w = DVector::zeros(support.len());
    for (a, &j) in idx.iter().enumerate() {
        w[j] = ws[a];
    }
    Ok(w)
}

/// Cholesky of a symmetric matrix, rejected when numerically singular.
fn cholesky_checked(h: &DMatrix<f64>) -> Option<nalgebra::Cholesky<f64, nalgebra::Dyn>> {
    let ch = h.clone().cholesky()?;
    let l = ch.l_dirty();
    for a in 0..h.nrows() {
        let piv = l[(a, a)] * l[(a, a)];
        if piv.is_nan() || piv <= 1e-13 * h[(a, a)] {
            return None;
        }
    }
    Some(ch)
}

#[cfg(test)]
mod tests {
    use super::super::Library;
    use super::*;

    /// Θ = [1, x, x²] at x = -1, 0, 1, 2 and y = [0, 1, 2, 4]:
    /// ΘᵀΘ = [[4,2,6],[2,6,8],[6,8,18]], Θᵀy = [7,10,18], full fit (0.85, 1.05, 0.25);
    /// dropping x² (0.25 < 0.3) and refitting a line: slope Sxy/Sxx = 6.5/5 = 1.3,
    /// intercept ȳ − 1.3 x̄ = 1.75 − 0.65 = 1.1.
    fn hand_problem() -> (Library, Vec<f64>, Vec<f64>) {
        let lib = Library::parse("1 + poly(2)", 1).unwrap();
        (lib, vec![-1.0, 0.0, 1.0, 2.0], vec![0.0, 1.0, 2.0, 4.0])
    }

    fn fit_hand(cfg: StlsqConfig) -> Fit {
        let (lib, x, y) = hand_problem();
        let pb = Problem::new(&lib, &x, &y, None).unwrap();
        Stlsq::new(cfg).unwrap().fit(&pb).unwrap()
    }

    fn assert_row(fit: &Fit, want: &[f64]) {
        for (j, w) in want.iter().enumerate() {
            let got = fit.coefficients[(0, j)];
            assert!((got - w).abs() < 1e-12, "coef {j}: {got} vs {w}");
        }
    }

    #[test]
    fn hand_computed_threshold_and_refit() {
        let fit = fit_hand(StlsqConfig {
            threshold: 0.3,
            ..Default::default()
        });
        assert_row(&fit, &[1.1, 1.3, 0.0]);
        assert_eq!(fit.iterations, 2);
        assert!(fit.converged && fit.notes.is_empty());
        // below every coefficient: the plain least-squares solution
        let fit = fit_hand(StlsqConfig {
            threshold: 0.2,
            ..Default::default()
        });
        assert_row(&fit, &[0.85, 1.05, 0.25]);
        assert_eq!(fit.iterations, 1);
    }

    #[test]
    fn ridge_then_unbiased_refit() {
        // ridge shrinks during thresholding; the final refit is unregularized
        let fit = fit_hand(StlsqConfig {
            threshold: 0.3,
            alpha: 0.01,
            ..Default::default()
        });
        assert_row(&fit, &[1.1, 1.3, 0.0]);
        let fit = fit_hand(StlsqConfig {
            threshold: 0.3,
            alpha: 0.01,
            unbias: false,
            ..Default::default()
        });
        // (H + 0.01 I) w = g on {1, x}: [[4.01, 2], [2, 6.01]] w = [7, 10]
        let det = 4.01 * 6.01 - 4.0;
        assert_row(
            &fit,
            &[(7.0 * 6.01 - 20.0) / det, (4.01 * 10.0 - 14.0) / det, 0.0],
        );
    }

    #[test]
    fn normalized_columns_threshold_scaled_coefficients() {
        // column norms 2, √6, √18: scaled full fit (1.7, 1.05√6 ≈ 2.572, 0.25√18 ≈ 1.0607)
        let fit = fit_hand(StlsqConfig {
            threshold: 1.1,
            normalize_columns: true,
            ..Default::default()
        });
        assert_row(&fit, &[1.1, 1.3, 0.0]);
        let fit = fit_hand(StlsqConfig {
            threshold: 1.0,
            normalize_columns: true,
            ..Default::default()
        });
        assert_row(&fit, &[0.85, 1.05, 0.25]);
        // unnormalized, 1.0 drops both 0.85 and 0.25: y ≈ w x → w = Σxy/Σx² = 10/6
        let fit = fit_hand(StlsqConfig {
            threshold: 1.0,
            ..Default::default()
        });
        assert_row(&fit, &[0.0, 10.0 / 6.0, 0.0]);
    }

    #[test]
    fn singular_gram_gets_reported_jitter() {
        // x0 and x1 equal on every sample: ΘᵀΘ singular
        let lib = Library::parse("x", 2).unwrap();
        let x: Vec<f64> = (0..20).flat_map(|i| [i as f64, i as f64]).collect();
        let dx: Vec<f64> = (0..20).flat_map(|i| [2.0 * i as f64, 0.0]).collect();
        let pb = Problem::new(&lib, &x, &dx, None).unwrap();
        let fit = Stlsq::new(StlsqConfig::default())
            .unwrap()
            .fit(&pb)
            .unwrap();
        assert!(
            fit.notes.iter().any(|n| n.contains("jitter")),
            "{:?}",
            fit.notes
        );
        let xi = &fit.coefficients;
        assert!((xi[(0, 0)] + xi[(0, 1)] - 2.0).abs() < 1e-6);
        assert!(fit.notes.iter().any(|n| n.contains("target 1")));
    }

    #[test]
    fn bad_settings_are_rejected() {
        for cfg in [
            StlsqConfig {
                threshold: -1.0,
                ..Default::default()
            },
            StlsqConfig {
                alpha: f64::NAN,
                ..Default::default()
            },
            StlsqConfig {
                max_iter: 0,
                ..Default::default()
            },
        ] {
            assert!(Stlsq::new(cfg).is_err());
        }
    }
}
