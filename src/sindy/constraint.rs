//! Equivariance of ẋ = ΞΘ(x) under linear generators L acting on the state.
//!
//! For a library closed under L there is M_L (`p × p`) with J_Θ(x)·(L x) = M_L Θ(x) for all x; it is
//! found by least squares on deterministic sample points. Then f = ΞΘ satisfies
//! J_f(x)·(L x) = L f(x) exactly when L Ξ = Ξ M_L, a linear constraint A vec(Ξ) = 0 on the
//! row-major vec(Ξ) (`d·p` unknowns), stacked over the generators.
//!
//! *Exact* mode regresses in the null space of A: vec(Ξ) = B c. The SVD basis is rotated into a
//! pivot basis (B restricted to r pivot coordinates is the identity, the pivots chosen greedily in
//! coefficient order), so each c_k *is* one entry of Ξ and thresholding |c_k| acts on actual
//! coefficients; any subset of basis columns stays in the null space, so thresholded fits remain
//! exactly equivariant. *Soft* mode adds μ Σ_L ‖LΞ − ΞM_L‖²_F to the mean squared error.

use super::library::Library;
use super::{Result, SindyError};
use nalgebra::{DMatrix, DVector};
use serde::{Deserialize, Serialize};

/// Relative residual above which the library is declared not closed under a generator.
const CLOSURE_TOL: f64 = 1e-8;

/// How the constraint enters the regression.
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
#[serde(tag = "mode", rename_all = "snake_case")]
pub enum ConstraintMode {
    /// Ξ restricted to the equivariant subspace.
    Exact,
    /// Penalty `weight`·Σ‖LΞ − ΞM_L‖²_F added to the mean squared error.
    Soft { weight: f64 },
}

/// Linear equivariance constraints of a library under a set of generators.
#[derive(Clone, Debug)]
pub struct SymmetryConstraint {
    d: usize,
    p: usize,
    mode: ConstraintMode,
    generators: Vec<DMatrix<f64>>,
    actions: Vec<DMatrix<f64>>,
    closure_residuals: Vec<f64>,
    operator: DMatrix<f64>,
    basis: DMatrix<f64>,
}

impl SymmetryConstraint {
    /// Builds the constraint for `generators` (each `d × d`). Fails if the library is not closed
    /// under one of them, or, in exact mode, if no nonzero Ξ satisfies the constraint.
    pub fn new(
        library: &Library,
        generators: &[DMatrix<f64>],
        mode: ConstraintMode,
    ) -> Result<Self> {
        let (d, p) = (library.n_states(), library.n_terms());
        if generators.is_empty() {
            return Err(SindyError::Config(
                "a symmetry constraint needs at least one generator".into(),
            ));
        }
        if let ConstraintMode::Soft { weight } = mode {
            if !(weight >= 0.0 && weight.is_finite()) {
                return Err(SindyError::Config(format!(
                    "the soft constraint weight must be ≥ 0, found {weight}"
                )));
            }
        }
        let mut actions = Vec::new();
        let mut closure_residuals = Vec::new();
        for (index, l) in generators.iter().enumerate() {
            if l.shape() != (d, d) || l.iter().any(|v| !v.is_finite()) {
                return Err(SindyError::Shape(format!(
                    "generator {index} is {}×{} (or not finite) but the state has d = {d}",
                    l.nrows(),
                    l.ncols()
                )));
            }
            let (m, residual) = action(library, l)?;
            if residual > CLOSURE_TOL {
                return Err(SindyError::NotClosed { index, residual });
            }
            actions.push(m);
            closure_residuals.push(residual);
        }
        let dp = d * p;
        let mut operator = DMatrix::zeros(generators.len() * dp, dp);
        for (g, (l, m)) in generators.iter().zip(&actions).enumerate() {
            for i in 0..d {
                for j in 0..p {
                    let row = g * dp + i * p + j;
                    for k in 0..d {
                        operator[(row, k * p + j)] += l[(i, k)];
                    }
                    for k in 0..p {
                        operator[(row, i * p + k)] -= m[(k, j)];
                    }
                }
            }
        }
        let basis = pivot_basis(&null_space(&operator));
        if basis.ncols() == 0 && mode == ConstraintMode::Exact {
            return Err(SindyError::NoFreeCoefficient {
                generators: generators.len(),
                total: dp,
            });
        }
        Ok(SymmetryConstraint {
            d,
            p,
            mode,
            generators: generators.to_vec(),
            actions,
            closure_residuals,
            operator,
            basis,
        })
    }

    /// Same as [`SymmetryConstraint::new`] with generators given as row-major `d·d` slices.
    pub fn from_rows(
        library: &Library,
        generators: &[Vec<f64>],
        mode: ConstraintMode,
    ) -> Result<Self> {
        let d = library.n_states();
        let gens = generators
            .iter()
            .enumerate()
            .map(|(i, g)| {
                if g.len() != d * d {
                    return Err(SindyError::Shape(format!(
                        "generator {i} has {} entries, expected d·d = {}",
                        g.len(),
                        d * d
                    )));
                }
                Ok(DMatrix::from_row_slice(d, d, g))
            })
            .collect::<Result<Vec<_>>>()?;
        Self::new(library, &gens, mode)
    }

    /// Number of states d.
    pub fn n_states(&self) -> usize {
        self.d
    }

    /// Number of library terms p.
    pub fn n_terms(&self) -> usize {
        self.p
    }

    /// Exact or soft.
    pub fn mode(&self) -> ConstraintMode {
        self.mode
    }

    /// The generators L.
    pub fn generators(&self) -> &[DMatrix<f64>] {
        &self.generators
    }

    /// The library actions M_L (`p × p`), one per generator.
    pub fn actions(&self) -> &[DMatrix<f64>] {
        &self.actions
    }

    /// Relative least-squares residuals of the M_L fits (≈ 1e-15 for a closed library).
    pub fn closure_residuals(&self) -> &[f64] {
        &self.closure_residuals
    }

    /// Coefficients of an unconstrained fit: d·p.
    pub fn total_coefficients(&self) -> usize {
        self.d * self.p
    }

    /// Dimension r of the space of equivariant Ξ.
    pub fn equivariant_dimension(&self) -> usize {
        self.basis.ncols()
    }

    /// Coefficients the regression is free to choose: r in exact mode, d·p in soft mode.
    pub fn free_coefficients(&self) -> usize {
        match self.mode {
            ConstraintMode::Exact => self.equivariant_dimension(),
            ConstraintMode::Soft { .. } => self.total_coefficients(),
        }
    }

    /// Pivot basis B (`d·p × r`) of the equivariant subspace: vec(Ξ) = B c (row-major vec), with
    /// every column holding a 1 at its own pivot coordinate and 0 at the other pivots.
    pub fn basis(&self) -> &DMatrix<f64> {
        &self.basis
    }

    /// The stacked constraint operator A (`g·d·p × d·p`), A vec(Ξ) = vec(LΞ − ΞM_L) per generator.
    pub fn operator(&self) -> &DMatrix<f64> {
        &self.operator
    }

    /// AᵀA, the normal matrix of the soft penalty Σ‖LΞ − ΞM_L‖²_F = vec(Ξ)ᵀ AᵀA vec(Ξ).
    pub fn penalty_normal(&self) -> DMatrix<f64> {
        self.operator.transpose() * &self.operator
    }

    /// max over generators of ‖LΞ − ΞM_L‖_F for Ξ `d × p`.
    pub fn violation(&self, xi: &DMatrix<f64>) -> f64 {
        self.generators
            .iter()
            .zip(&self.actions)
            .map(|(l, m)| (l * xi - xi * m).norm())
            .fold(0.0, f64::max)
    }
}

/// Deterministic points in [-1, 1]^d (splitmix64), for fitting M_L.
fn sample_points(d: usize, count: usize) -> Vec<f64> {
    let mut state = 0x5EED_0F5E_ED5Eu64;
    (0..d * count)
        .map(|_| {
            state = state.wrapping_add(0x9E37_79B9_7F4A_7C15);
            let mut z = state;
            z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
            z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
            z ^= z >> 31;
            2.0 * ((z >> 11) as f64 / (1u64 << 53) as f64) - 1.0
        })
        .collect()
}

/// M_L with J_Θ(x)·(L x) ≈ M_L Θ(x), by least squares on 2p + 10 sample points, and the relative
/// residual ‖Θ_S M_Lᵀ − Y_S‖_F / ‖Y_S‖_F (0 when Y_S = 0).
pub fn action(library: &Library, generator: &DMatrix<f64>) -> Result<(DMatrix<f64>, f64)> {
    let (d, p) = (library.n_states(), library.n_terms());
    let count = 2 * p + 10;
    let pts = sample_points(d, count);
    let theta = library.evaluate(&pts)?;
    let mut y = DMatrix::zeros(count, p);
    for s in 0..count {
        let x = DVector::from_column_slice(&pts[s * d..(s + 1) * d]);
        let v = library.jacobian(x.as_slice()) * (generator * &x);
        y.row_mut(s).copy_from(&v.transpose());
    }
    let svd = theta.clone().svd(true, true);
    let eps = 1e-12 * svd.singular_values.max();
    let mt = svd
        .solve(&y, eps)
        .map_err(|e| SindyError::Numerical(format!("library action: {e}")))?;
    let ynorm = y.norm();
    let residual = if ynorm > 0.0 {
        (&theta * &mt - &y).norm() / ynorm
    } else {
        0.0
    };
    Ok((mt.transpose(), residual))
}

/// Orthonormal basis (columns) of the null space of `a` (more rows than columns), by SVD.
fn null_space(a: &DMatrix<f64>) -> DMatrix<f64> {
    let n = a.ncols();
    let svd = a.clone().svd(false, true);
    let vt = svd.v_t.expect("v_t requested");
    let smax = svd.singular_values.max().max(1.0);
    let tol = 1e-8 * smax;
    let rows: Vec<usize> = (0..vt.nrows())
        .filter(|&k| svd.singular_values[k] <= tol)
        .collect();
    DMatrix::from_fn(n, rows.len(), |i, k| vt[(rows[k], i)])
}

/// Rotates a basis (columns of `b`) so that it is the identity on r pivot rows, picked greedily in
/// row order (a row is a pivot when it is far from the span of the pivots before it); entries that
/// are rounding noise (< 1e-13 of the largest) become exact zeros.
fn pivot_basis(b: &DMatrix<f64>) -> DMatrix<f64> {
    let (n, r) = b.shape();
    if r == 0 {
        return b.clone();
    }
    let scale = (0..n).map(|i| b.row(i).norm()).fold(0.0, f64::max);
    let mut q: Vec<DVector<f64>> = Vec::with_capacity(r);
    let mut pivots = Vec::with_capacity(r);
    for i in 0..n {
        if pivots.len() == r {
            break;
        }
        let mut v: DVector<f64> = b.row(i).transpose();
        for _ in 0..2 {
            for u in &q {
                let c = u.dot(&v);
                v.axpy(-c, u, 1.0);
            }
        }
        let norm = v.norm();
        if norm > 1e-6 * scale {
            q.push(v / norm);
            pivots.push(i);
        }
    }
    let bp = DMatrix::from_fn(r, r, |a, k| b[(pivots[a], k)]);
    // B' = B · (B_P)⁻¹, i.e. B'ᵀ = (B_Pᵀ)⁻¹ Bᵀ
    let lu = bp.transpose().lu();
    let mut out = lu
        .solve(&b.transpose())
        .expect("pivot rows are linearly independent")
        .transpose();
    let big = out.amax();
    out.apply(|v| {
        if v.abs() < 1e-13 * big {
            *v = 0.0
        }
    });
    for (a, &i) in pivots.iter().enumerate() {
        for k in 0..r {
            out[(i, k)] = if a == k { 1.0 } else { 0.0 };
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn so2() -> DMatrix<f64> {
        DMatrix::from_row_slice(2, 2, &[0.0, -1.0, 1.0, 0.0])
    }

    #[test]
    fn linear_library_action_is_the_generator() {
        let lib = Library::parse("x", 2).unwrap();
        let l = DMatrix::from_row_slice(2, 2, &[0.3, -1.0, 2.0, 0.5]);
        let (m, res) = action(&lib, &l).unwrap();
        assert!(res < 1e-13);
        // Θ = x, J = I: M Θ = L x
        assert!((m - l).amax() < 1e-12);
    }

    #[test]
    fn so2_cubic_equivariant_fields() {
        let lib = Library::parse("1 + poly(3)", 2).unwrap();
        let c = SymmetryConstraint::new(&lib, &[so2()], ConstraintMode::Exact).unwrap();
        assert_eq!(c.total_coefficients(), 20);
        // span{x, Jx, |x|²x, |x|²Jx}
        assert_eq!(c.equivariant_dimension(), 4);
        assert_eq!(c.free_coefficients(), 4);
        assert!(c.closure_residuals()[0] < 1e-12);
        let b = c.basis();
        for k in 0..4 {
            let xi = DMatrix::from_row_slice(2, 10, b.column(k).as_slice());
            assert!(c.violation(&xi) < 1e-12);
        }
        // the pivot basis is the monomial basis of those fields: x = (x0, x1) → ξ0[x0] = ξ1[x1] = 1
        let xi = DMatrix::from_row_slice(2, 10, b.column(0).as_slice());
        let mut want = DMatrix::zeros(2, 10);
        want[(0, 1)] = 1.0;
        want[(1, 2)] = 1.0;
        assert_eq!(xi, want);
        // soft mode keeps every coefficient free
        let s =
            SymmetryConstraint::new(&lib, &[so2()], ConstraintMode::Soft { weight: 1.0 }).unwrap();
        assert_eq!(s.free_coefficients(), 20);
    }

    #[test]
    fn so3_equivariant_fields_are_radial() {
        let lib = Library::parse("1 + poly(3)", 3).unwrap();
        let e = |i: usize, j: usize| {
            let mut m = DMatrix::zeros(3, 3);
            m[(i, j)] = -1.0;
            m[(j, i)] = 1.0;
            m
        };
        let gens = [e(1, 2), e(2, 0), e(0, 1)];
        let c = SymmetryConstraint::new(&lib, &gens, ConstraintMode::Exact).unwrap();
        assert_eq!(c.total_coefficients(), 60);
        // span{x, |x|²x}
        assert_eq!(c.equivariant_dimension(), 2);
        // a single so(3) generator (rotations about one axis) allows more
        // one generator (rotations in the x0-x1 plane): a(r², x2)·(x0, x1) + b(r², x2)·J(x0, x1)
        // with a, b ∈ span{1, x2, x2², r²} and an invariant third component in
        // span{1, x2, x2², x2³, r², r² x2}: 4 + 4 + 6
        let one = SymmetryConstraint::new(&lib, &gens[2..], ConstraintMode::Exact).unwrap();
        assert_eq!(one.equivariant_dimension(), 14);
        println!(
            "free coefficients, 1 + poly(3): so(3) in 3-D {} of 60, one so(3) generator {} of 60",
            c.equivariant_dimension(),
            one.equivariant_dimension()
        );
    }

    #[test]
    fn non_closed_library_is_reported() {
        let lib = Library::parse("1 + exp(x)", 2).unwrap();
        let e = SymmetryConstraint::from_rows(
            &lib,
            &[vec![0.0, 0.0, 0.0, 0.0], vec![0.0, -1.0, 1.0, 0.0]],
            ConstraintMode::Exact,
        )
        .unwrap_err();
        assert!(matches!(e, SindyError::NotClosed { index: 1, .. }), "{e}");
        let msg = e.to_string();
        assert!(
            msg.contains("generator 1") && msg.contains("not closed"),
            "{msg}"
        );
    }

    #[test]
    fn constraint_without_solutions_is_reported() {
        // only constant fields in `1`; rotations admit no nonzero constant vector field
        let lib = Library::parse("1", 2).unwrap();
        let e = SymmetryConstraint::new(&lib, &[so2()], ConstraintMode::Exact).unwrap_err();
        assert!(e.to_string().contains("no free coefficient"), "{e}");
        assert!(
            SymmetryConstraint::new(&lib, &[so2()], ConstraintMode::Soft { weight: 1.0 }).is_ok()
        );
    }
}
