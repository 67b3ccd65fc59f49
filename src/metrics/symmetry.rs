//! Symmetry metrics for discovered Lie-algebra generators.
//!
//! All matrices are row-major `&[f64]` slices of length `d * d`; point sets are
//! row-major `&[f64]` slices of length `n * d` (one point per row). Only
//! `nalgebra` and `std` are used, so the interface is independent of any tensor
//! library.
//!
//! * [`imag_ratio`] / [`skew_ratio`]: how rotation-like a generator is
//!   (basis-invariant vs. basis-dependent).
//! * [`invariant_form`]: the quadratic form `zᵀQz` conserved by the generators.
//! * [`orbit_cv`] / [`mean_point`]: how well trajectories stay on level sets of
//!   that form.
//! * [`orbit`]: sample the orbit `exp(tL) z0`, e.g. for plots.

use nalgebra::DMatrix;
use std::f64::consts::PI;

/// Relative threshold below which eigenvalues are treated as zero.
const EIG_REL_TOL: f64 = 1e-12;

fn to_matrix(a: &[f64], d: usize, what: &str) -> DMatrix<f64> {
    assert_eq!(
        a.len(),
        d * d,
        "{what}: expected a {d}x{d} row-major matrix"
    );
    DMatrix::from_row_slice(d, d, a)
}

fn frob(a: &[f64]) -> f64 {
    a.iter().map(|x| x * x).sum::<f64>().sqrt()
}

/// Eigenvalues as `(re, im)` pairs, or `None` if `l` has non-finite entries.
fn eigenvalues(l: &[f64], d: usize) -> Option<Vec<(f64, f64)>> {
    let eigs = complex_eigenvalues(&to_matrix(l, d, "eigenvalues"))?;
    Some(eigs.iter().map(|c| (c.re, c.im)).collect())
}

/// Eigenvalues of a square matrix; `None` if it has non-finite entries (or, never seen, if no
/// attempt below converges).
///
/// nalgebra's own `complex_eigenvalues` runs its Francis QR iteration without a bound, and on some
/// matrices (met on a 10×10 generator in training) the shifts cycle and it never returns. Here each
/// attempt is bounded; when one does not converge, the next starts from an orthogonally similar
/// matrix (same eigenvalues, different Hessenberg form) with a slightly looser deflation tolerance.
pub fn complex_eigenvalues(m: &DMatrix<f64>) -> Option<Vec<nalgebra::Complex<f64>>> {
    let d = m.nrows();
    assert_eq!(
        d,
        m.ncols(),
        "complex_eigenvalues: expected a square matrix"
    );
    if !m.iter().all(|x| x.is_finite()) {
        return None; // the Schur iteration is meaningless on NaN/inf
    }
    if d == 0 {
        return Some(Vec::new());
    }
    let max_iter = 100 * d.max(3);
    let mut a = m.clone();
    for (attempt, eps) in [f64::EPSILON, 4.0 * f64::EPSILON, 1e-14, 1e-13, 1e-12, 1e-11]
        .into_iter()
        .enumerate()
    {
        if let Some(schur) = nalgebra::Schur::try_new(a.clone(), eps, max_iter) {
            return Some(schur.complex_eigenvalues().iter().copied().collect());
        }
        // A Householder reflection H = I − 2vvᵀ (v fixed and dense, so every attempt differs):
        // H a H has the eigenvalues of a.
        let v = DMatrix::from_fn(d, 1, |i, _| ((i + 1) as f64 * (attempt + 2) as f64).sin());
        let v = &v / v.norm();
        let h = DMatrix::<f64>::identity(d, d) - &v * v.transpose() * 2.0;
        a = &h * a * &h;
    }
    None
}

/// Max over the non-negligible eigenvalues λ of `l` (d×d) of `|Im λ| / |λ|`.
///
/// Basis-invariant: 1 means every relevant eigenvalue is purely imaginary
/// (`l` is conjugate to a rotation generator, up to zero modes), 0 means all
/// eigenvalues are real. Eigenvalues with `|λ| <= 1e-12 · max|λ|` are ignored;
/// returns 0 for the zero matrix and NaN if `l` has non-finite entries.
pub fn imag_ratio(l: &[f64], d: usize) -> f64 {
    let Some(eigs) = eigenvalues(l, d) else {
        return f64::NAN;
    };
    let max_abs = eigs.iter().map(|&(r, i)| r.hypot(i)).fold(0.0, f64::max);
    if max_abs == 0.0 {
        return 0.0;
    }
    eigs.iter()
        .map(|&(r, i)| (r.hypot(i), i.abs()))
        .filter(|&(a, _)| a > EIG_REL_TOL * max_abs)
        .map(|(a, i)| i / a)
        .fold(0.0, f64::max)
}

/// `‖(L − Lᵀ)/2‖_F / ‖L‖_F` for `l` (d×d); 0 for the zero matrix.
///
/// Basis-dependent: 1 for a skew-symmetric `l`, 0 for a symmetric one.
pub fn skew_ratio(l: &[f64], d: usize) -> f64 {
    assert_eq!(l.len(), d * d, "skew_ratio: expected a {d}x{d} matrix");
    let norm = frob(l);
    if norm == 0.0 {
        return 0.0;
    }
    let mut skew2 = 0.0;
    for i in 0..d {
        for j in 0..d {
            let s = 0.5 * (l[i * d + j] - l[j * d + i]);
            skew2 += s * s;
        }
    }
    skew2.sqrt() / norm
}

/// Best invariant quadratic form of a set of generators.
///
/// Returns `(Q, residual)`: `Q` is the symmetric d×d matrix (row-major,
/// `‖Q‖_F = 1`) minimising `Σ_L ‖LᵀQ + QL‖_F²`, i.e. the right singular vector
/// of the smallest singular value of the linear map `Q ↦ (LᵀQ + QL)_L`, with `Q`
/// parametrised isometrically (diagonal entries, off-diagonal pairs scaled by
/// `1/√2`). When several singular values lie within `1e-2·σ_max` of the
/// smallest, every form in their span is invariant to that accuracy (a rotation
/// with a zero mode, two independent rotations) and the least-squares choice is
/// an arbitrary, often indefinite, mix; then `Q` is the most positive definite
/// form of that span (largest smallest eigenvalue), if one is positive definite.
/// `residual` is `‖(LᵀQ + QL)_L‖ / σ_max` (`σ_min / σ_max` for the least-squares
/// form; 0 = exactly invariant); it is always returned, so
/// approximately-rotational generators still get a form.
///
/// Sign convention: the trace of `Q` is made positive when `|tr Q| > 1e-8`
/// (so positive-definite forms come out positive definite); otherwise the
/// entry of largest absolute value (first in row-major order) is made positive.
/// If every generator is zero (or `gens` is empty) returns `(I/√d, 0)`.
pub fn invariant_form(gens: &[&[f64]], d: usize) -> (Vec<f64>, f64) {
    for g in gens {
        assert_eq!(g.len(), d * d, "invariant_form: expected {d}x{d} matrices");
    }
    if d == 0 {
        return (Vec::new(), 0.0);
    }
    let identity = || {
        let s = 1.0 / (d as f64).sqrt();
        (0..d * d)
            .map(|k| if k / d == k % d { s } else { 0.0 })
            .collect::<Vec<_>>()
    };
    if gens.iter().all(|g| g.iter().all(|&x| x == 0.0)) {
        return (identity(), 0.0);
    }

    // Parameters: upper-triangular (i, j), i <= j.
    let params: Vec<(usize, usize)> = (0..d).flat_map(|i| (i..d).map(move |j| (i, j))).collect();
    let np = params.len();
    let rows = (gens.len() * d * d).max(np); // pad with zero rows if needed
    let mut a = DMatrix::<f64>::zeros(rows, np);
    let inv_sqrt2 = std::f64::consts::FRAC_1_SQRT_2;
    for (g_idx, l) in gens.iter().enumerate() {
        let off = g_idx * d * d;
        for (col, &(i, j)) in params.iter().enumerate() {
            // Basis matrix E = e_i e_jᵀ (+ e_j e_iᵀ) with weight w.
            let terms: &[(usize, usize)] = if i == j { &[(i, j)] } else { &[(i, j), (j, i)] };
            let w = if i == j { 1.0 } else { inv_sqrt2 };
            for &(p, q) in terms {
                // (Lᵀ e_p e_qᵀ)_{r,q} = L[p][r];  (e_p e_qᵀ L)_{p,c} = L[q][c].
                for r in 0..d {
                    a[(off + r * d + q, col)] += w * l[p * d + r];
                    a[(off + p * d + r, col)] += w * l[q * d + r];
                }
            }
        }
    }

    let svd = a.clone().svd(false, true);
    let v_t = svd.v_t.expect("V requested");
    let sv = &svd.singular_values;
    let s_min = sv.iter().copied().fold(f64::INFINITY, f64::min);
    let s_max = sv.iter().copied().fold(0.0, f64::max);
    if !s_max.is_finite() || !s_min.is_finite() {
        return (vec![f64::NAN; d * d], f64::NAN);
    }
    // Candidates: every form invariant to within NEAR_NULL·σ_max, as orthonormal parameter vectors.
    let near: Vec<Vec<f64>> = (0..sv.len())
        .filter(|&k| sv[k] <= s_min + NEAR_NULL * s_max)
        .map(|k| v_t.row(k).iter().copied().collect())
        .collect();
    let sym = |x: &[f64]| {
        let mut q = DMatrix::<f64>::zeros(d, d);
        for (&x, &(i, j)) in x.iter().zip(&params) {
            let x = if i == j { x } else { x * inv_sqrt2 };
            q[(i, j)] = x;
            q[(j, i)] = x;
        }
        q
    };
    // Several candidates: the most definite mix of them, if one is definite; otherwise the
    // least-squares form (the smallest singular vector).
    let definite = if near.len() > 1 {
        let basis: Vec<DMatrix<f64>> = near.iter().map(|x| sym(x)).collect();
        most_definite(&basis)
    } else {
        None
    };
    let x: Vec<f64> = match definite {
        Some(coef) => (0..np)
            .map(|c| near.iter().zip(&coef).map(|(v, a)| a * v[c]).sum())
            .collect(),
        None => v_t.row(sv.imin()).iter().copied().collect(),
    };
    let residual = if s_max > 0.0 {
        (&a * nalgebra::DVector::from_column_slice(&x)).norm() / s_max / frob(&x)
    } else {
        0.0
    };
    let q_m = sym(&x);
    let mut q: Vec<f64> = (0..d * d).map(|k| q_m[(k / d, k % d)]).collect();
    let norm = frob(&q);
    q.iter_mut().for_each(|x| *x /= norm);

    let trace: f64 = (0..d).map(|i| q[i * d + i]).sum();
    let flip = if trace.abs() > 1e-8 {
        trace < 0.0
    } else {
        let max_abs = q.iter().fold(0.0_f64, |m, x| m.max(x.abs()));
        let first = q.iter().find(|x| x.abs() >= max_abs * (1.0 - 1e-9));
        first.is_some_and(|&x| x < 0.0)
    };
    if flip {
        q.iter_mut().for_each(|x| *x = -*x);
    }
    (q, residual)
}

/// Relative residual below which a form counts as invariant in [`invariant_form`] when the
/// generators leave more than one form (nearly) invariant.
const NEAR_NULL: f64 = 1e-2;

fn dot(a: &[f64], b: &[f64]) -> f64 {
    a.iter().zip(b).map(|(x, y)| x * y).sum()
}

/// Coefficients `a` (‖a‖ = 1) of the combination `Σ aₖ Qₖ` of Frobenius-orthonormal symmetric
/// matrices with the largest smallest eigenvalue, when that eigenvalue is positive; `None` when
/// no combination is positive definite. The smallest eigenvalue is concave, so projected
/// subgradient ascent over the unit ball finds the maximum; it starts from the projection of the
/// identity.
fn most_definite(basis: &[DMatrix<f64>]) -> Option<Vec<f64>> {
    let lam_min = |a: &[f64]| {
        let q = basis.iter().zip(a).fold(
            DMatrix::zeros(basis[0].nrows(), basis[0].ncols()),
            |m, (b, &x)| m + b * x,
        );
        let e = q.symmetric_eigen();
        let k = e.eigenvalues.imin();
        (e.eigenvalues[k], e.eigenvectors.column(k).into_owned())
    };
    let norm = |a: &[f64]| dot(a, a).sqrt();
    let mut a: Vec<f64> = basis.iter().map(|b| b.trace()).collect();
    if norm(&a) == 0.0 {
        a[0] = 1.0;
    }
    let n0 = norm(&a);
    a.iter_mut().for_each(|x| *x /= n0);
    let mut best = (f64::NEG_INFINITY, a.clone());
    for t in 0..2000 {
        let (lam, v) = lam_min(&a);
        let scaled = lam / norm(&a);
        if scaled > best.0 {
            best = (scaled, a.clone());
        }
        // ∂λ_min/∂aₖ = vᵀQₖv for the eigenvector v of the smallest eigenvalue.
        let step = 0.5 / ((t + 1) as f64).sqrt();
        for (x, b) in a.iter_mut().zip(basis) {
            *x += step * (v.transpose() * b * &v)[(0, 0)];
        }
        let n = norm(&a);
        if n > 1.0 {
            a.iter_mut().for_each(|x| *x /= n);
        }
    }
    let (lam, mut a) = best;
    let n = norm(&a);
    a.iter_mut().for_each(|x| *x /= n);
    (lam > 0.0).then_some(a)
}

/// Mean over trajectories of `std(I) / |mean(I)|` with `I(z) = (z−c)ᵀQ(z−c)`.
///
/// Each trajectory is a row-major `n_i × d` point list; `center` has length `d`
/// and `q` is d×d. The std is the population std. Trajectories with fewer than
/// 2 points are skipped; a trajectory with `mean(I) == 0` contributes
/// `f64::INFINITY`. Returns NaN if no trajectory has at least 2 points.
/// 0 means every trajectory lies on a level set of the form.
pub fn orbit_cv(trajs: &[Vec<f64>], d: usize, center: &[f64], q: &[f64]) -> f64 {
    assert_eq!(center.len(), d, "orbit_cv: center must have length {d}");
    assert_eq!(q.len(), d * d, "orbit_cv: q must be {d}x{d}");
    let mut total = 0.0;
    let mut count = 0usize;
    let mut y = vec![0.0; d];
    for t in trajs {
        assert!(d > 0 && t.len() % d == 0, "orbit_cv: ragged trajectory");
        let n = t.len() / d;
        if n < 2 {
            continue;
        }
        let vals: Vec<f64> = t
            .chunks_exact(d)
            .map(|z| {
                for k in 0..d {
                    y[k] = z[k] - center[k];
                }
                (0..d)
                    .map(|i| y[i] * (0..d).map(|j| q[i * d + j] * y[j]).sum::<f64>())
                    .sum()
            })
            .collect();
        let mean = vals.iter().sum::<f64>() / n as f64;
        let var = vals.iter().map(|v| (v - mean).powi(2)).sum::<f64>() / n as f64;
        total += if mean == 0.0 {
            f64::INFINITY
        } else {
            var.sqrt() / mean.abs()
        };
        count += 1;
    }
    if count == 0 {
        f64::NAN
    } else {
        total / count as f64
    }
}

/// Mean of all points of all trajectories (length `d`; zeros if there are no points).
pub fn mean_point(trajs: &[Vec<f64>], d: usize) -> Vec<f64> {
    let mut sum = vec![0.0; d];
    let mut n = 0usize;
    for t in trajs {
        assert!(d > 0 && t.len() % d == 0, "mean_point: ragged trajectory");
        for z in t.chunks_exact(d) {
            sum.iter_mut().zip(z).for_each(|(s, x)| *s += x);
            n += 1;
        }
    }
    if n > 0 {
        sum.iter_mut().for_each(|s| *s /= n as f64);
    }
    sum
}

/// An orthonormal basis `[u₁, u₂]` of the real plane that `l` (d×d) rotates fastest: the span of
/// the real and imaginary parts of an eigenvector for its eigenvalue of largest `|Im λ|`. The plane
/// is invariant under `l`. `None` when every eigenvalue is real (or `l` is not finite).
pub fn rotation_plane(l: &[f64], d: usize) -> Option<[Vec<f64>; 2]> {
    let eigs = eigenvalues(l, d)?;
    let max_abs = eigs.iter().map(|&(r, i)| r.hypot(i)).fold(0.0, f64::max);
    let &(re, im) = eigs.iter().max_by(|a, b| a.1.abs().total_cmp(&b.1.abs()))?;
    if im.abs() <= EIG_REL_TOL * max_abs {
        return None;
    }
    // The eigenvector is the null vector of L − λI: the last right singular vector.
    let lambda = nalgebra::Complex::new(re, im);
    let m = to_matrix(l, d, "rotation_plane").map(|x| nalgebra::Complex::new(x, 0.0))
        - DMatrix::identity(d, d) * lambda;
    let svd = m.svd(false, true);
    let v_t = svd.v_t?;
    let k = svd.singular_values.imin();
    // Rows of Vᴴ are conjugated singular vectors.
    let v: Vec<nalgebra::Complex<f64>> = v_t.row(k).iter().map(|c| c.conj()).collect();
    let mut u1: Vec<f64> = v.iter().map(|c| c.re).collect();
    let mut u2: Vec<f64> = v.iter().map(|c| c.im).collect();
    let n1 = frob(&u1);
    u1.iter_mut().for_each(|x| *x /= n1);
    let along = dot(&u1, &u2);
    u2.iter_mut().zip(&u1).for_each(|(b, a)| *b -= along * a);
    let n2 = frob(&u2);
    u2.iter_mut().for_each(|x| *x /= n2);
    Some([u1, u2])
}

/// `n` points `exp(t L) z0` (row-major `n × d`) sampling the orbit of `z0`.
///
/// If `l` has non-negligible imaginary eigenvalues, `t = k·T/n` for
/// `k = 0..n` with `T = 2π / max|Im λ|` (one period of the fastest rotation,
/// so the point after the last equals the first for a pure rotation);
/// otherwise `t` is evenly spaced over `[−1, 1]` inclusive (`t = 0` if `n == 1`).
pub fn orbit(l: &[f64], d: usize, z0: &[f64], n: usize) -> Vec<f64> {
    let m = to_matrix(l, d, "orbit");
    assert_eq!(z0.len(), d, "orbit: z0 must have length {d}");
    let eigs = eigenvalues(l, d).unwrap_or_default();
    let max_abs = eigs.iter().map(|&(r, i)| r.hypot(i)).fold(0.0, f64::max);
    let omega = eigs
        .iter()
        .filter(|&&(r, i)| r.hypot(i) > EIG_REL_TOL * max_abs)
        .map(|&(_, i)| i.abs())
        .fold(0.0, f64::max);
    let times: Vec<f64> = if omega > EIG_REL_TOL * max_abs && omega > 0.0 {
        let period = 2.0 * PI / omega;
        (0..n).map(|k| k as f64 * period / n as f64).collect()
    } else if n == 1 {
        vec![0.0]
    } else {
        (0..n)
            .map(|k| -1.0 + 2.0 * k as f64 / (n - 1) as f64)
            .collect()
    };
    let z = nalgebra::DVector::from_column_slice(z0);
    let mut out = Vec::with_capacity(n * d);
    for t in times {
        out.extend(((&m * t).exp() * &z).iter());
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    const SO2: [f64; 4] = [0.0, 1.0, -1.0, 0.0];

    fn mat(a: &[f64], d: usize) -> DMatrix<f64> {
        DMatrix::from_row_slice(d, d, a)
    }

    /// A 10×10 generator met in training (the LieGAN reaction–diffusion baseline, epoch 36) on which
    /// nalgebra's unbounded Schur iteration never returns. The eigenvalues must come back and be
    /// eigenvalues: `A − λI` singular for each, and their sum and sum of squares the traces of `A`
    /// and `A²`.
    #[test]
    fn complex_eigenvalues_where_plain_schur_cycles() {
        #[rustfmt::skip]
        let a = mat(&[
            -0.0, 16.770076751708984, 0.0, 4.013144016265869, 0.0, 0.0, -0.0, 0.0, -0.0, -1.7044873237609863,
            -15.55696964263916, -6.372364044189453, 1.9079524278640747, 0.0, 0.0, -2.310809850692749, -0.0, 2.125194787979126, -0.0, -1.9177460670471191,
            -0.0, 0.0, 0.0, 4.800782680511475, -0.0, -0.0, -0.0, -0.0, -0.0, 0.0,
            -0.0, -0.0, -5.9523396492004395, 6.725245952606201, 0.0, 0.0, -0.0, -0.0, -0.0, 0.0,
            -0.0, -0.0, -0.0, -0.0, -0.0, 0.0, 0.0, -0.0, -0.0, 0.0,
            -0.0, -0.0, -0.0, 4.003427982330322, -0.0, -0.0, -2.7363243103027344, 0.0, 0.0, 0.0,
            -0.0, 0.0, 0.0, 0.0, 0.0, 0.0, -0.0, 1.937863826751709, -0.0, -0.0,
            -0.0, -0.0, -0.0, 0.0, -0.0, -0.0, 0.0, 0.0, 0.0, -0.0,
            0.0, 0.0, 0.0, 0.0, 3.145357131958008, -0.0, 0.0, 0.0, -0.0, -0.0,
            -0.0, -0.0, -0.0, 0.0, -0.0, -0.0, 0.0, 0.0, 1.670254111289978, 0.0,
        ], 10);
        // The plain iteration does not converge even in 10 times the iterations an attempt here gets.
        assert!(nalgebra::Schur::try_new(a.clone(), f64::EPSILON, 10_000).is_none());
        let eigs = complex_eigenvalues(&a).expect("eigenvalues");
        assert_eq!(eigs.len(), 10);
        let scale = a.norm();
        let ac = a.map(|x| nalgebra::Complex::new(x, 0.0));
        for &l in &eigs {
            let shifted = &ac - DMatrix::<nalgebra::Complex<f64>>::identity(10, 10) * l;
            let smin = shifted.singular_values().min();
            assert!(smin < 1e-9 * scale, "λ = {l}: σ_min(A − λI) = {smin}");
        }
        let sum: nalgebra::Complex<f64> = eigs.iter().sum();
        let sum2: nalgebra::Complex<f64> = eigs.iter().map(|l| l * l).sum();
        assert!((sum.re - a.trace()).abs() < 1e-9 * scale && sum.im.abs() < 1e-9 * scale);
        let tr2 = (&a * &a).trace();
        assert!(
            (sum2.re - tr2).abs() < 1e-9 * scale * scale && sum2.im.abs() < 1e-9 * scale * scale
        );
        // The rotation in the (z0, z1) block is found: a conjugate pair with |Im λ| ≈ 15.
        assert!(eigs.iter().any(|l| l.im > 14.0));
        assert!(imag_ratio(&row_major(&a), 10).is_finite());
    }

    fn row_major(m: &DMatrix<f64>) -> Vec<f64> {
        let d = m.nrows();
        (0..d * d).map(|k| m[(k / d, k % d)]).collect()
    }

    fn p2() -> DMatrix<f64> {
        DMatrix::from_row_slice(2, 2, &[2.0, 0.7, -0.3, 0.5])
    }

    /// P · so(2) · P⁻¹ for a fixed invertible P.
    fn conj_rot() -> Vec<f64> {
        let p = p2();
        let l = &p * mat(&SO2, 2) * p.clone().try_inverse().unwrap();
        row_major(&l)
    }

    fn so3() -> [Vec<f64>; 3] {
        [
            vec![0.0, 0.0, 0.0, 0.0, 0.0, -1.0, 0.0, 1.0, 0.0],
            vec![0.0, 0.0, 1.0, 0.0, 0.0, 0.0, -1.0, 0.0, 0.0],
            vec![0.0, -1.0, 0.0, 1.0, 0.0, 0.0, 0.0, 0.0, 0.0],
        ]
    }

    /// ‖LᵀQ + QL‖_F.
    fn invariance_err(l: &[f64], q: &[f64], d: usize) -> f64 {
        let (l, q) = (mat(l, d), mat(q, d));
        (l.transpose() * &q + &q * &l).norm()
    }

    fn assert_close(a: &[f64], b: &[f64], tol: f64) {
        assert_eq!(a.len(), b.len());
        for (x, y) in a.iter().zip(b) {
            assert!((x - y).abs() < tol, "{a:?} vs {b:?}");
        }
    }

    /// Deterministic pseudo-random numbers in [-1, 1).
    #[test]
    fn imag_ratio_values() {
        assert!((imag_ratio(&SO2, 2) - 1.0).abs() < 1e-12);
        assert!((imag_ratio(&conj_rot(), 2) - 1.0).abs() < 1e-10);
        assert_eq!(imag_ratio(&[1.0, 0.0, 0.0, -2.0], 2), 0.0);
        let spiral = imag_ratio(&[-0.1, 1.0, -1.0, -0.1], 2);
        assert!((spiral - 1.0 / 1.01f64.sqrt()).abs() < 1e-10, "{spiral}");
        assert!((imag_ratio(&so3()[0], 3) - 1.0).abs() < 1e-12);
        assert_eq!(imag_ratio(&[0.0; 9], 3), 0.0);
    }

    #[test]
    fn skew_ratio_values() {
        assert!((skew_ratio(&[0.0, 2.0, -2.0, 0.0], 2) - 1.0).abs() < 1e-15);
        assert_eq!(skew_ratio(&[1.0, 3.0, 3.0, -1.0], 2), 0.0);
        // Skew part [[0,1],[-1,0]] has norm √2, ‖L‖ = √6 → 1/√3.
        let r = skew_ratio(&[1.0, 2.0, 0.0, 1.0], 2);
        assert!((r - 1.0 / 3f64.sqrt()).abs() < 1e-15, "{r}");
        assert_eq!(skew_ratio(&[0.0; 4], 2), 0.0);
    }

    #[test]
    fn invariant_form_so2() {
        let (q, res) = invariant_form(&[&SO2], 2);
        let s = std::f64::consts::FRAC_1_SQRT_2;
        assert_close(&q, &[s, 0.0, 0.0, s], 1e-12);
        assert!(res < 1e-12, "{res}");
    }

    #[test]
    fn invariant_form_stretched_rotation() {
        let (a, b) = (3.0, 0.5);
        let l = [0.0, a, -b, 0.0];
        let (q, res) = invariant_form(&[&l], 2);
        let n = (a * a + b * b).sqrt();
        assert_close(&q, &[b / n, 0.0, 0.0, a / n], 1e-12);
        assert!(res < 1e-12 && invariance_err(&l, &q, 2) < 1e-12);
    }

    #[test]
    fn invariant_form_conjugated_rotation() {
        let l = conj_rot();
        let (q, res) = invariant_form(&[&l], 2);
        assert!(invariance_err(&l, &q, 2) < 1e-10);
        assert!(res < 1e-12, "{res}");
        assert!((frob(&q) - 1.0).abs() < 1e-12);
        // Positive definite: Sylvester's criterion.
        assert!(q[0] > 0.0 && q[0] * q[3] - q[1] * q[2] > 0.0);
        // Expected direction: P⁻ᵀP⁻¹.
        let pinv = p2().try_inverse().unwrap();
        let expect = row_major(&(pinv.transpose() * &pinv));
        let n = frob(&expect);
        let expect: Vec<f64> = expect.iter().map(|x| x / n).collect();
        assert_close(&q, &expect, 1e-10);
    }

    #[test]
    fn invariant_form_so3() {
        let g = so3();
        let gens: Vec<&[f64]> = g.iter().map(|v| v.as_slice()).collect();
        let (q, res) = invariant_form(&gens, 3);
        let s = 1.0 / 3f64.sqrt();
        assert_close(&q, &[s, 0.0, 0.0, 0.0, s, 0.0, 0.0, 0.0, s], 1e-12);
        assert!(res < 1e-12, "{res}");
    }

    #[test]
    fn invariant_form_non_rotation() {
        let (q, res) = invariant_form(&[&[1.0, 0.0, 0.0, 2.0]], 2);
        assert!(res > 1e-3, "{res}");
        assert!((q[1] - q[2]).abs() < 1e-15);
        assert!((frob(&q) - 1.0).abs() < 1e-12);
        // Indefinite-form case (trace ≈ 0): Lorentz boost preserves diag(1, -1).
        let (q, res) = invariant_form(&[&[0.0, 1.0, 1.0, 0.0]], 2);
        let s = std::f64::consts::FRAC_1_SQRT_2;
        assert!(res < 1e-12);
        assert_close(&q, &[s, 0.0, 0.0, -s], 1e-12);
    }

    /// Smallest eigenvalue of a symmetric row-major d×d matrix.
    fn lam_min(q: &[f64], d: usize) -> f64 {
        mat(q, d).symmetric_eigen().eigenvalues.min()
    }

    #[test]
    fn invariant_form_with_zero_mode_is_definite() {
        // A rotation with an inert axis conserves r² and the axis coordinate²; the least-squares
        // form is any mix of the two, the most definite one is the identity.
        let l = [0.0, 1.0, 0.0, -1.0, 0.0, 0.0, 0.0, 0.0, 0.0];
        let (q, res) = invariant_form(&[&l], 3);
        let s = 1.0 / 3f64.sqrt();
        assert_close(&q, &[s, 0.0, 0.0, 0.0, s, 0.0, 0.0, 0.0, s], 1e-12);
        assert!(res < 1e-12, "{res}");
        // Two independent rotations of R⁴ (two channels): I/2.
        let mut l1 = [0.0; 16];
        let mut l2 = [0.0; 16];
        (l1[1], l1[4], l2[11], l2[14]) = (1.0, -1.0, 1.0, -1.0);
        let (q, res) = invariant_form(&[&l1, &l2], 4);
        let i4: Vec<f64> = (0..16)
            .map(|k| if k % 5 == 0 { 0.5 } else { 0.0 })
            .collect();
        assert_close(&q, &i4, 1e-12);
        assert!(res < 1e-12, "{res}");
    }

    #[test]
    fn invariant_form_with_zero_mode_in_another_basis() {
        // L = P (so(2) ⊕ 0) P⁻¹ conserves exactly the forms P⁻ᵀ (a·I₂ ⊕ b) P⁻¹.
        let p = DMatrix::from_row_slice(3, 3, &[1.5, 0.4, -0.3, 0.2, 0.8, 0.5, -0.6, 0.1, 1.1]);
        let pinv = p.clone().try_inverse().unwrap();
        let j = DMatrix::from_row_slice(3, 3, &[0.0, 2.0, 0.0, -2.0, 0.0, 0.0, 0.0, 0.0, 0.0]);
        let l = row_major(&(&p * j * &pinv));
        let (q, res) = invariant_form(&[&l], 3);
        assert!(res < 1e-10 && invariance_err(&l, &q, 3) < 1e-10, "{res}");
        assert!((frob(&q) - 1.0).abs() < 1e-12);
        // Best smallest eigenvalue over the family at unit norm, by a fine grid over (a, b).
        let best = (0..100_000)
            .map(|k| {
                let t = std::f64::consts::PI * k as f64 / 100_000.0;
                let core = DMatrix::from_diagonal(&nalgebra::DVector::from_vec(vec![
                    t.cos(),
                    t.cos(),
                    t.sin(),
                ]));
                let f = row_major(&(pinv.transpose() * core * &pinv));
                lam_min(&f, 3) / frob(&f)
            })
            .fold(f64::NEG_INFINITY, f64::max);
        let got = lam_min(&q, 3);
        assert!(
            got > 0.0 && (got - best).abs() < 1e-4 * best,
            "{got} vs {best}"
        );
    }

    #[test]
    fn rotation_plane_is_invariant() {
        // so(3)'s generator about the z axis rotates the xy plane.
        let [u1, u2] = rotation_plane(&so3()[2], 3).unwrap();
        assert!(u1[2].abs() < 1e-12 && u2[2].abs() < 1e-12);
        assert!((frob(&u1) - 1.0).abs() < 1e-12 && (frob(&u2) - 1.0).abs() < 1e-12);
        assert!(rotation_plane(&[1.0, 0.0, 0.0, -2.0], 2).is_none());
        // P (spiral ⊕ decay) P⁻¹: L maps the plane into itself, and the basis is orthonormal.
        let p = DMatrix::from_row_slice(3, 3, &[1.5, 0.4, -0.3, 0.2, 0.8, 0.5, -0.6, 0.1, 1.1]);
        let core =
            DMatrix::from_row_slice(3, 3, &[0.03, 3.0, 0.0, -3.0, 0.03, 0.0, 0.0, 0.0, -0.2]);
        let l = &p * core * p.clone().try_inverse().unwrap();
        let [u1, u2] = rotation_plane(&row_major(&l), 3).unwrap();
        let (a, b) = (
            nalgebra::DVector::from_vec(u1),
            nalgebra::DVector::from_vec(u2),
        );
        assert!(a.dot(&b).abs() < 1e-12);
        for u in [&a, &b] {
            let lu = &l * u;
            let out = &lu - &a * a.dot(&lu) - &b * b.dot(&lu);
            assert!(out.norm() < 1e-10 * lu.norm(), "{}", out.norm());
        }
    }

    #[test]
    fn orbit_so2_closes() {
        let n = 64;
        let pts = orbit(&SO2, 2, &[1.0, 0.0], n);
        assert_eq!(pts.len(), 2 * n);
        for z in pts.chunks_exact(2) {
            assert!((z[0].hypot(z[1]) - 1.0).abs() < 1e-12);
        }
        // One step beyond the last point returns to the first.
        let step = (mat(&SO2, 2) * (2.0 * PI / n as f64)).exp();
        let last = nalgebra::DVector::from_column_slice(&pts[2 * (n - 1)..]);
        let next = step * last;
        assert_close(next.as_slice(), &pts[..2], 1e-12);
        // Second point is rotated by 2π/n.
        let th = 2.0 * PI / n as f64;
        assert_close(&pts[2..4], &[th.cos(), -th.sin()], 1e-12);
    }

    #[test]
    fn orbit_real_spectrum_uses_unit_interval() {
        let pts = orbit(&[1.0, 0.0, 0.0, -2.0], 2, &[1.0, 1.0], 3);
        let e = std::f64::consts::E;
        assert_close(&pts, &[1.0 / e, e * e, 1.0, 1.0, e, 1.0 / (e * e)], 1e-12);
    }

    #[test]
    fn orbit_cv_values() {
        let l = conj_rot();
        let (q, _) = invariant_form(&[&l], 2);
        let c = [0.0, 0.0];
        let trajs: Vec<Vec<f64>> = [[1.0, 0.0], [0.3, -2.0], [-0.5, 0.5]]
            .iter()
            .map(|z0| orbit(&l, 2, z0, 50))
            .collect();
        let cv = orbit_cv(&trajs, 2, &c, &q);
        assert!(cv < 1e-10, "{cv}");

        let mut r = crate::rng::stream(42, "test");
        let noisy: Vec<Vec<f64>> = trajs
            .iter()
            .map(|t| {
                t.iter()
                    .map(|x| x + 0.02 * crate::rng::uniform(&mut r, -1.0, 1.0))
                    .collect()
            })
            .collect();
        let cv_noisy = orbit_cv(&noisy, 2, &c, &q);
        assert!(cv_noisy > 1e-3 && cv_noisy < 0.5, "{cv_noisy}");

        let line: Vec<f64> = (0..50)
            .flat_map(|k| {
                let x = -2.0 + 4.0 * k as f64 / 49.0;
                [x, 0.8 * x + 0.1]
            })
            .collect();
        let cv_line = orbit_cv(&[line], 2, &c, &q);
        assert!(
            cv_line > 0.5 && cv_line > 10.0 * cv_noisy,
            "{cv_line} {cv_noisy}"
        );

        // Too-short trajectories are skipped; none left → NaN; zero mean → ∞.
        assert!(orbit_cv(&[vec![1.0, 0.0]], 2, &c, &q).is_nan());
        assert_eq!(orbit_cv(&[vec![0.0; 4]], 2, &c, &q), f64::INFINITY);
    }

    #[test]
    fn mean_point_values() {
        let trajs = vec![vec![0.0, 0.0, 2.0, 2.0], vec![4.0, -2.0]];
        assert_close(&mean_point(&trajs, 2), &[2.0, 0.0], 1e-15);
        assert_eq!(mean_point(&[], 3), vec![0.0; 3]);
    }
}
