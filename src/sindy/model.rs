//! The fitted model ẋ = ΞΘ(x): equations, prediction, Jacobian, RK4 simulation, metrics, JSON;
//! and the fit entry points.

use super::constraint::{ConstraintMode, SymmetryConstraint};
use super::library::Library;
use super::{Problem, Regressor, Result, SindyError};
use nalgebra::DMatrix;
use serde::{Deserialize, Serialize};

/// The symmetry constraint a model was fitted under.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct SymmetrySummary {
    /// Generators, each row-major `d·d`.
    pub generators: Vec<Vec<f64>>,
    /// Exact or soft (with its weight).
    pub mode: ConstraintMode,
    /// Coefficients without the constraint (d·p).
    pub total_coefficients: usize,
    /// Dimension of the equivariant subspace.
    pub equivariant_dimension: usize,
    /// Coefficients the regression could choose.
    pub free_coefficients: usize,
    /// max over generators of ‖LΞ − ΞM_L‖_F of the fitted Ξ.
    pub violation: f64,
}

/// What a fit did.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct FitReport {
    /// The regressor with its settings.
    pub regressor: String,
    /// Iterations (STLSQ passes) or epochs (Adam).
    pub iterations: usize,
    /// STLSQ: the support settled; Adam: the last masking removed nothing.
    pub converged: bool,
    /// Remarks (singular Gram matrix jitter, coefficients all thresholded, ...).
    pub notes: Vec<String>,
    /// d·p.
    pub total_coefficients: usize,
    /// Coefficients the regression could choose (r under an exact constraint, else d·p).
    pub free_coefficients: usize,
    /// Nonzero entries of Ξ.
    pub nonzero: usize,
    /// max ‖LΞ − ΞM_L‖_F when a constraint was given.
    pub equivariance_violation: Option<f64>,
}

/// A fitted SINDy model ẋ = ΞΘ(x).
#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(try_from = "ModelData", into = "ModelData")]
pub struct SindyModel {
    data: ModelData,
    /// Ξ row-major `d × p`.
    xi: Vec<f64>,
}

#[derive(Clone, Debug, Serialize, Deserialize)]
struct ModelData {
    state_names: Vec<String>,
    terms: Vec<String>,
    coefficients: Vec<Vec<f64>>,
    library_spec: String,
    regressor: String,
    symmetry: Option<SymmetrySummary>,
    library: Library,
}

impl From<SindyModel> for ModelData {
    fn from(m: SindyModel) -> Self {
        m.data
    }
}

impl TryFrom<ModelData> for SindyModel {
    type Error = SindyError;
    fn try_from(v: ModelData) -> Result<Self> {
        let lib = &v.library;
        let (d, p) = (lib.n_states(), lib.n_terms());
        if v.coefficients.len() != d || v.coefficients.iter().any(|r| r.len() != p) {
            return Err(SindyError::Shape(format!(
                "model coefficients must be [{d}][{p}] for library `{}`",
                lib.spec()
            )));
        }
        if v.coefficients.iter().flatten().any(|c| !c.is_finite()) {
            return Err(SindyError::Shape(
                "model coefficients must be finite".into(),
            ));
        }
        if v.state_names != lib.state_names() || v.terms != lib.term_names() {
            return Err(SindyError::Shape(
                "model state names or term names disagree with its library".into(),
            ));
        }
        let xi = v.coefficients.concat();
        Ok(SindyModel { data: v, xi })
    }
}

impl SindyModel {
    /// A model from a library and Ξ `[d][p]`.
    pub fn new(library: Library, coefficients: Vec<Vec<f64>>) -> Result<Self> {
        SindyModel::try_from(ModelData {
            state_names: library.state_names().to_vec(),
            terms: library.term_names(),
            coefficients,
            library_spec: library.spec().to_string(),
            regressor: String::new(),
            symmetry: None,
            library,
        })
    }

    /// State names.
    pub fn state_names(&self) -> &[String] {
        &self.data.state_names
    }

    /// Term names, in library order.
    pub fn terms(&self) -> &[String] {
        &self.data.terms
    }

    /// Ξ as `[d][p]`.
    pub fn coefficients(&self) -> &[Vec<f64>] {
        &self.data.coefficients
    }

    /// Ξ as a `d × p` matrix.
    pub fn coefficient_matrix(&self) -> DMatrix<f64> {
        DMatrix::from_row_slice(self.n_states(), self.n_terms(), &self.xi)
    }

    /// The library spec.
    pub fn library_spec(&self) -> &str {
        &self.data.library_spec
    }

    /// The library.
    pub fn library(&self) -> &Library {
        &self.data.library
    }

    /// The regressor that produced the model.
    pub fn regressor(&self) -> &str {
        &self.data.regressor
    }

    /// The symmetry constraint of the fit, if any.
    pub fn symmetry(&self) -> Option<&SymmetrySummary> {
        self.data.symmetry.as_ref()
    }

    /// d.
    pub fn n_states(&self) -> usize {
        self.data.state_names.len()
    }

    /// p.
    pub fn n_terms(&self) -> usize {
        self.data.terms.len()
    }

    /// Number of nonzero coefficients.
    pub fn nonzero(&self) -> usize {
        self.xi.iter().filter(|&&c| c != 0.0).count()
    }

    /// One line per state, e.g. `dx0/dt = 0.6667 - 1.333 exp(x1)` (4 significant digits, zero
    /// terms omitted, `0` when all are zero).
    pub fn equations(&self) -> Vec<String> {
        self.data
            .coefficients
            .iter()
            .zip(&self.data.state_names)
            .map(|(row, name)| {
                let mut rhs = String::new();
                for (c, term) in row.iter().zip(&self.data.terms) {
                    if *c == 0.0 {
                        continue;
                    }
                    let mag = format_sig(c.abs());
                    let sep = match (rhs.is_empty(), *c < 0.0) {
                        (true, false) => "",
                        (true, true) => "-",
                        (false, false) => " + ",
                        (false, true) => " - ",
                    };
                    rhs.push_str(sep);
                    if term == "1" {
                        rhs.push_str(&mag);
                    } else if mag == "1" {
                        rhs.push_str(term);
                    } else {
                        rhs.push_str(&format!("{mag} {term}"));
                    }
                }
                if rhs.is_empty() {
                    rhs.push('0');
                }
                format!("d{name}/dt = {rhs}")
            })
            .collect()
    }

    /// ẋ = ΞΘ(x) at one state, written to `out` (length d); no allocation, no checks.
    #[inline]
    pub fn rhs_into(&self, x: &[f64], out: &mut [f64]) {
        let p = self.n_terms();
        out.fill(0.0);
        for (j, t) in self.data.library.terms().iter().enumerate() {
            let th = t.value(x);
            for (i, o) in out.iter_mut().enumerate() {
                *o += self.xi[i * p + j] * th;
            }
        }
    }

    /// ẋ at row-major samples `x` `[n, d]`, row-major `[n, d]`. Fails on a non-finite feature.
    pub fn predict(&self, x: &[f64]) -> Result<Vec<f64>> {
        let theta = self.data.library.evaluate(x)?;
        // (Θ Ξᵀ)ᵀ = Ξ Θᵀ, column-major d × n = row-major [n, d]
        let y = self.coefficient_matrix() * theta.transpose();
        Ok(y.as_slice().to_vec())
    }

    /// The Jacobian ∂ẋ/∂x = Ξ·J_Θ(x) at one state, `d × d`.
    pub fn jacobian(&self, x: &[f64]) -> DMatrix<f64> {
        self.coefficient_matrix() * self.data.library.jacobian(x)
    }

    /// Integrates from `x0` with classical RK4: `steps + 1` states, row-major `[steps + 1, d]`.
    /// Fails when the state stops being finite.
    pub fn simulate(&self, x0: &[f64], dt: f64, steps: usize) -> Result<Vec<f64>> {
        let d = self.n_states();
        if x0.len() != d || !dt.is_finite() {
            return Err(SindyError::Shape(format!(
                "simulate needs x0 of length {d} and a finite dt"
            )));
        }
        let sol = crate::ode::rk4(
            |x: &[f64], o: &mut [f64]| self.rhs_into(x, o),
            x0,
            dt,
            steps,
            1,
        );
        match sol.diverged {
            Some(t) => Err(SindyError::Numerical(format!(
                "simulation left the finite range at step {} (t = {t})",
                sol.len(d)
            ))),
            None => Ok(sol.states),
        }
    }

    fn residuals(&self, x: &[f64], dx: &[f64]) -> Result<Vec<f64>> {
        if dx.len() != x.len() {
            return Err(SindyError::Shape(format!(
                "dx has {} values but x has {}",
                dx.len(),
                x.len()
            )));
        }
        let pred = self.predict(x)?;
        Ok(pred.iter().zip(dx).map(|(a, b)| a - b).collect())
    }

    /// R² of the derivative fit, averaged uniformly over the d components (sklearn's `r2_score`;
    /// a constant component scores 1 if predicted exactly, else 0).
    pub fn r2(&self, x: &[f64], dx: &[f64]) -> Result<f64> {
        let res = self.residuals(x, dx)?;
        let d = self.n_states();
        let n = dx.len() / d;
        if n == 0 {
            return Err(SindyError::Shape("r2 needs at least one sample".into()));
        }
        let mut total = 0.0;
        for i in 0..d {
            let mean = dx.iter().skip(i).step_by(d).sum::<f64>() / n as f64;
            let ss_tot: f64 = dx
                .iter()
                .skip(i)
                .step_by(d)
                .map(|v| (v - mean).powi(2))
                .sum();
            let ss_res: f64 = res.iter().skip(i).step_by(d).map(|v| v * v).sum();
            total += if ss_tot > 0.0 {
                1.0 - ss_res / ss_tot
            } else if ss_res == 0.0 {
                1.0
            } else {
                0.0
            };
        }
        Ok(total / d as f64)
    }

    /// Root mean squared error of the derivative fit over all n·d entries.
    pub fn rmse(&self, x: &[f64], dx: &[f64]) -> Result<f64> {
        let res = self.residuals(x, dx)?;
        if res.is_empty() {
            return Err(SindyError::Shape("rmse needs at least one sample".into()));
        }
        Ok((res.iter().map(|v| v * v).sum::<f64>() / res.len() as f64).sqrt())
    }

    /// JSON text of the model.
    pub fn to_json(&self) -> Result<String> {
        Ok(serde_json::to_string_pretty(self)?)
    }

    /// A model from [`SindyModel::to_json`] output (shapes checked).
    pub fn from_json(text: &str) -> Result<Self> {
        Ok(serde_json::from_str(text)?)
    }
}

/// `v > 0` with 4 significant digits: fixed notation for 1e-3 ≤ v < 1e4, else `1.235e-5`;
/// trailing zeros dropped.
fn format_sig(v: f64) -> String {
    fn strip(s: &str) -> &str {
        if s.contains('.') {
            s.trim_end_matches('0').trim_end_matches('.')
        } else {
            s
        }
    }
    let e = v.log10().floor() as i32;
    if (-3..4).contains(&e) {
        let s = format!("{:.*}", (3 - e) as usize, v);
        // rounding up may add a digit (9.9996 → 10.000); the strip keeps it short
        strip(&s).to_string()
    } else {
        let s = format!("{v:.3e}");
        match s.split_once('e') {
            Some((m, ex)) => format!("{}e{ex}", strip(m)),
            None => s,
        }
    }
}

/// Fits ΞΘ(x) ≈ ẋ on row-major `x`, `dx` (`[n, d]` each) with `regressor`, under an optional
/// symmetry constraint built for the same library.
pub fn fit(
    library: &Library,
    regressor: &mut dyn Regressor,
    x: &[f64],
    dx: &[f64],
    constraint: Option<&SymmetryConstraint>,
) -> Result<(SindyModel, FitReport)> {
    let problem = Problem::new(library, x, dx, constraint)?;
    let f = regressor.fit(&problem)?;
    let xi = f.coefficients;
    if xi.iter().any(|v| !v.is_finite()) {
        return Err(SindyError::Numerical(
            "the regression produced non-finite coefficients".into(),
        ));
    }
    let (d, p) = (library.n_states(), library.n_terms());
    let violation = constraint.map(|c| c.violation(&xi));
    let symmetry = constraint.map(|c| SymmetrySummary {
        generators: c
            .generators()
            .iter()
            .map(|l| l.transpose().as_slice().to_vec())
            .collect(),
        mode: c.mode(),
        total_coefficients: c.total_coefficients(),
        equivariant_dimension: c.equivariant_dimension(),
        free_coefficients: c.free_coefficients(),
        violation: violation.unwrap_or(0.0),
    });
    let coefficients: Vec<Vec<f64>> = (0..d)
        .map(|i| xi.row(i).iter().copied().collect())
        .collect();
    let mut model = SindyModel::new(library.clone(), coefficients)?;
    model.data.regressor = regressor.describe();
    model.data.symmetry = symmetry;
    let report = FitReport {
        regressor: regressor.describe(),
        iterations: f.iterations,
        converged: f.converged,
        notes: f.notes,
        total_coefficients: d * p,
        free_coefficients: constraint.map_or(d * p, |c| c.free_coefficients()),
        nonzero: model.nonzero(),
        equivariance_violation: violation,
    };
    Ok((model, report))
}

#[cfg(test)]
mod tests {
    use super::super::testutil::trajectories;
    use super::super::{Stlsq, StlsqConfig};
    use super::*;
    use crate::rng;

    fn stlsq(threshold: f64) -> Stlsq {
        Stlsq::new(StlsqConfig {
            threshold,
            ..Default::default()
        })
        .unwrap()
    }

    fn assert_coefficients(model: &SindyModel, want: &[&[f64]], tol: f64) {
        for (i, row) in want.iter().enumerate() {
            for (j, w) in row.iter().enumerate() {
                let got = model.coefficients()[i][j];
                assert!((got - w).abs() <= tol, "ξ[{i}][{j}] = {got}, want {w}");
                if *w == 0.0 {
                    assert_eq!(got, 0.0, "ξ[{i}][{j}] must be exactly zero");
                }
            }
        }
    }

    fn lotka_volterra(x: &[f64], out: &mut [f64]) {
        out[0] = 2.0 / 3.0 - 4.0 / 3.0 * x[1].exp();
        out[1] = x[0].exp() - 1.0;
    }

    #[test]
    fn lotka_volterra_in_log_coordinates() {
        let mut rng = rng::stream(1, "test");
        let inits: Vec<Vec<f64>> = (0..20)
            .map(|_| {
                vec![
                    rng::uniform(&mut rng, 0.2, 0.9).ln(),
                    rng::uniform(&mut rng, 0.2, 0.9).ln(),
                ]
            })
            .collect();
        let (x, dx) = trajectories(lotka_volterra, &inits, 0.002, 2000);
        let lib = Library::parse("1 + x + exp(x)", 2).unwrap();
        let (model, report) = fit(&lib, &mut stlsq(0.1), &x, &dx, None).unwrap();
        assert_eq!(model.terms(), ["1", "x0", "x1", "exp(x0)", "exp(x1)"]);
        assert_coefficients(
            &model,
            &[
                &[2.0 / 3.0, 0.0, 0.0, 0.0, -4.0 / 3.0],
                &[-1.0, 0.0, 0.0, 1.0, 0.0],
            ],
            1e-6,
        );
        assert_eq!(report.nonzero, 4);
        assert!(report.converged && report.notes.is_empty());
        assert_eq!(
            model.equations(),
            ["dx0/dt = 0.6667 - 1.333 exp(x1)", "dx1/dt = -1 + exp(x0)"]
        );
        assert!(model.r2(&x, &dx).unwrap() > 1.0 - 1e-12);
        assert!(model.rmse(&x, &dx).unwrap() < 1e-9);
        // the model reproduces a trajectory
        let sim = model.simulate(&inits[3], 0.002, 1999).unwrap();
        let start = 3 * 2000 * 2;
        let err = sim
            .iter()
            .zip(&x[start..start + 4000])
            .map(|(a, b)| (a - b).abs())
            .fold(0.0, f64::max);
        assert!(err < 1e-8, "{err}");
    }

    #[test]
    fn pendulum() {
        let mut rng = rng::stream(2, "test");
        let inits: Vec<Vec<f64>> = (0..20)
            .map(|_| {
                vec![
                    rng::uniform(&mut rng, -2.5, 2.5),
                    rng::uniform(&mut rng, -1.5, 1.5),
                ]
            })
            .collect();
        let (x, dx) = trajectories(
            |x, o| {
                o[0] = x[1];
                o[1] = -x[0].sin();
            },
            &inits,
            0.005,
            1000,
        );
        let lib = Library::parse("1 + x + sin(x) + cos(x)", 2)
            .unwrap()
            .with_state_names(vec!["theta".into(), "omega".into()])
            .unwrap();
        let (model, _) = fit(&lib, &mut stlsq(0.1), &x, &dx, None).unwrap();
        assert_eq!(
            model.equations(),
            ["dtheta/dt = omega", "domega/dt = -sin(theta)"]
        );
        assert_coefficients(
            &model,
            &[
                &[0.0, 0.0, 1.0, 0.0, 0.0, 0.0, 0.0],
                &[0.0, 0.0, 0.0, -1.0, 0.0, 0.0, 0.0],
            ],
            1e-8,
        );
    }

    const OMEGA: f64 = 1.3;

    fn hopf(x: &[f64], o: &mut [f64]) {
        let r2 = x[0] * x[0] + x[1] * x[1];
        o[0] = (1.0 - r2) * x[0] - OMEGA * x[1];
        o[1] = (1.0 - r2) * x[1] + OMEGA * x[0];
    }

    fn hopf_data(noise: f64) -> (Vec<f64>, Vec<f64>) {
        let mut rng = rng::stream(3, "test");
        let inits: Vec<Vec<f64>> = (0..20)
            .map(|_| {
                vec![
                    rng::uniform(&mut rng, -1.5, 1.5),
                    rng::uniform(&mut rng, -1.5, 1.5),
                ]
            })
            .collect();
        let (x, mut dx) = trajectories(hopf, &inits, 0.005, 400);
        for v in &mut dx {
            *v += noise * rng::normal(&mut rng);
        }
        (x, dx)
    }

    //        1    x0    x1    x0²  x0x1  x1²  x0³   x0²x1 x0x1² x1³
    const HOPF: [&[f64]; 2] = [
        &[0.0, 1.0, -OMEGA, 0.0, 0.0, 0.0, -1.0, 0.0, -1.0, 0.0],
        &[0.0, OMEGA, 1.0, 0.0, 0.0, 0.0, 0.0, -1.0, 0.0, -1.0],
    ];

    fn so2(lib: &Library, mode: ConstraintMode) -> SymmetryConstraint {
        SymmetryConstraint::from_rows(lib, &[vec![0.0, -1.0, 1.0, 0.0]], mode).unwrap()
    }

    #[test]
    fn so2_equivariant_system_plain_and_exact() {
        let (x, dx) = hopf_data(0.0);
        let lib = Library::parse("1 + poly(3)", 2).unwrap();
        let (plain, rp) = fit(&lib, &mut stlsq(0.1), &x, &dx, None).unwrap();
        assert_coefficients(&plain, &HOPF, 1e-8);
        assert_eq!(rp.free_coefficients, 20);

        let c = so2(&lib, ConstraintMode::Exact);
        let (eq, re) = fit(&lib, &mut stlsq(0.1), &x, &dx, Some(&c)).unwrap();
        assert_coefficients(&eq, &HOPF, 1e-8);
        assert_eq!((re.total_coefficients, re.free_coefficients), (20, 4));
        assert!(re.equivariance_violation.unwrap() < 1e-12);
        let sym = eq.symmetry().unwrap();
        assert_eq!(sym.generators, [vec![0.0, -1.0, 1.0, 0.0]]);
        assert_eq!(sym.equivariant_dimension, 4);
        assert_eq!(
            eq.equations(),
            [
                "dx0/dt = x0 - 1.3 x1 - x0^3 - x0*x1^2",
                "dx1/dt = 1.3 x0 + x1 - x0^2*x1 - x1^3"
            ]
        );
    }

    #[test]
    fn so2_noisy_exact_and_soft_constraints() {
        let (x, dx) = hopf_data(0.05);
        let lib = Library::parse("1 + poly(3)", 2).unwrap();
        let exact = so2(&lib, ConstraintMode::Exact);
        let (plain, report) = fit(&lib, &mut stlsq(0.05), &x, &dx, None).unwrap();
        assert!(report.equivariance_violation.is_none());
        let plain_violation = exact.violation(&plain.coefficient_matrix());
        assert!(plain_violation > 1e-4, "{plain_violation}");

        let (m, r) = fit(&lib, &mut stlsq(0.05), &x, &dx, Some(&exact)).unwrap();
        assert!(r.equivariance_violation.unwrap() < 1e-12);
        assert_coefficients(
            &m,
            &[
                &[0.0, 1.0, -OMEGA, 0.0, 0.0, 0.0, -1.0, 0.0, -1.0, 0.0],
                &[0.0, OMEGA, 1.0, 0.0, 0.0, 0.0, 0.0, -1.0, 0.0, -1.0],
            ],
            0.02,
        );

        let soft = so2(&lib, ConstraintMode::Soft { weight: 10.0 });
        let (_, r) = fit(&lib, &mut stlsq(0.05), &x, &dx, Some(&soft)).unwrap();
        let v = r.equivariance_violation.unwrap();
        assert!(v < 0.2 * plain_violation, "{v} vs {plain_violation}");
        println!(
            "noisy so(2) fit, ‖LΞ − ΞM_L‖: plain {plain_violation:.3e}, soft(μ=10) {v:.3e}, exact {:.3e}",
            exact.violation(&m.coefficient_matrix())
        );
        assert_eq!(r.free_coefficients, 20);
    }

    #[test]
    fn adam_under_exact_constraint_stays_equivariant() {
        let (x, dx) = hopf_data(0.0);
        let lib = Library::parse("1 + poly(3)", 2).unwrap();
        let c = so2(&lib, ConstraintMode::Exact);
        let mut rng = rng::stream(9, "test");
        let mut rng2 = rng::stream(10, "test");
        let cfg = super::super::AdamL1Config {
            epochs: 30,
            lr: 1e-2,
            threshold: 0.05,
            mask_every: 10,
            ..Default::default()
        };
        let mut reg =
            super::super::AdamL1::new(cfg, || rng::normal(&mut rng), |n| rng::below(&mut rng2, n))
                .unwrap();
        let (m, r) = fit(&lib, &mut reg, &x, &dx, Some(&c)).unwrap();
        assert!(r.equivariance_violation.unwrap() < 1e-12);
        assert!(m.r2(&x, &dx).unwrap() > 0.99);
    }

    #[test]
    fn model_jacobian_matches_finite_differences() {
        let lib = Library::parse("1 + poly(2) + sin(x) + exp(x)", 2).unwrap();
        let p = lib.n_terms();
        let mut rng = rng::stream(4, "test");
        let coefs: Vec<Vec<f64>> = (0..2)
            .map(|_| (0..p).map(|_| rng::normal(&mut rng)).collect())
            .collect();
        let model = SindyModel::new(lib, coefs).unwrap();
        let x = [0.3, -0.8];
        let jac = model.jacobian(&x);
        let h = 1e-6;
        let (mut fp, mut fm) = ([0.0; 2], [0.0; 2]);
        for s in 0..2 {
            let (mut xp, mut xm) = (x, x);
            xp[s] += h;
            xm[s] -= h;
            model.rhs_into(&xp, &mut fp);
            model.rhs_into(&xm, &mut fm);
            for i in 0..2 {
                let fd = (fp[i] - fm[i]) / (2.0 * h);
                assert!((fd - jac[(i, s)]).abs() < 1e-6);
            }
        }
        let pred = model.predict(&[0.3, -0.8, 1.0, 2.0]).unwrap();
        let mut one = [0.0; 2];
        model.rhs_into(&[1.0, 2.0], &mut one);
        assert!((pred[2] - one[0]).abs() < 1e-12 && (pred[3] - one[1]).abs() < 1e-12);
    }

    #[test]
    fn equation_formatting() {
        assert_eq!(format_sig(2.0 / 3.0), "0.6667");
        assert_eq!(format_sig(4.0 / 3.0), "1.333");
        assert_eq!(format_sig(1.0), "1");
        assert_eq!(format_sig(1234.56), "1235");
        assert_eq!(format_sig(12345.6), "1.235e4");
        assert_eq!(format_sig(0.00123456), "0.001235");
        assert_eq!(format_sig(1.5e-5), "1.5e-5");
        let lib = Library::parse("1 + x", 2).unwrap();
        let m = SindyModel::new(lib, vec![vec![0.0; 3], vec![-2.5, 0.0, -1.0]]).unwrap();
        assert_eq!(m.equations(), ["dx0/dt = 0", "dx1/dt = -2.5 - x1"]);
    }

    #[test]
    fn json_round_trip_and_validation() {
        let lib = Library::parse("1 + x + exp(x)", 2)
            .unwrap()
            .with_state_names(vec!["u".into(), "v".into()])
            .unwrap();
        let m = SindyModel::new(
            lib,
            vec![
                vec![0.5, 0.0, 0.0, 0.0, -1.0],
                vec![0.0, 1.0, 0.0, 0.0, 0.0],
            ],
        )
        .unwrap();
        let text = m.to_json().unwrap();
        let back = SindyModel::from_json(&text).unwrap();
        assert_eq!(back.equations(), m.equations());
        assert_eq!(back.equations()[0], "du/dt = 0.5 - exp(v)");
        let broken = text.replace("\"exp(v)\"", "\"exp(w)\"");
        assert!(SindyModel::from_json(&broken).is_err());
    }

    #[test]
    fn config_driven_fit() {
        let cfg: super::super::SindyConfig =
            toml::from_str("library = \"1 + x + exp(x)\"\nregressor = \"stlsq\"\nthreshold = 0.1")
                .unwrap();
        let inits = vec![vec![-0.5, -1.0], vec![-1.2, -0.3], vec![-0.2, -0.9]];
        let (x, dx) = trajectories(lotka_volterra, &inits, 0.01, 300);
        let lib = cfg.library(2, "x").unwrap();
        let f = cfg.fit(&lib, &x, &dx, None, Some((&x, &dx)), 0).unwrap();
        assert_eq!(f.model.nonzero(), 4);
        assert!(f.report.regressor.starts_with("stlsq(threshold=0.1"));
        assert!(f.val_r2.unwrap() > 0.999_999);
        let bad = toml::from_str::<super::super::SindyConfig>("regressor = \"lasso\"");
        assert!(bad.is_err());
        let sym = super::super::SindyConfig {
            library: "1 + exp(x)".into(),
            ..Default::default()
        };
        let lib = sym.library(2, "x").unwrap();
        let rot = vec![vec![vec![0.0, -1.0], vec![1.0, 0.0]]];
        let e = sym
            .fit(&lib, &x, &dx, Some(&rot), None, 0)
            .err()
            .unwrap()
            .to_string();
        assert!(e.contains("not closed under generator 0"), "{e}");
    }

    /// Prints the time of an STLSQ fit on 2 000 000 samples with `1 + x + exp(x)`.
    #[test]
    fn speed_probe_stlsq_two_million_samples() {
        let n = 2_000_000;
        let mut rng = rng::stream(5, "test");
        let x: Vec<f64> = (0..2 * n)
            .map(|_| rng::uniform(&mut rng, -1.6, -0.1))
            .collect();
        let mut dx = vec![0.0; 2 * n];
        for (s, o) in x.chunks_exact(2).zip(dx.chunks_exact_mut(2)) {
            lotka_volterra(s, o);
        }
        let lib = Library::parse("1 + x + exp(x)", 2).unwrap();
        let mut best = f64::INFINITY;
        let mut model = None;
        for _ in 0..3 {
            let t = std::time::Instant::now();
            let (m, _) = fit(&lib, &mut stlsq(0.1), &x, &dx, None).unwrap();
            best = best.min(t.elapsed().as_secs_f64());
            model = Some(m);
        }
        let model = model.unwrap();
        println!(
            "speed probe: STLSQ on {n} samples x `1 + x + exp(x)`: {:.3} s (best of 3)",
            best
        );
        assert_eq!(model.nonzero(), 4);
    }
}
