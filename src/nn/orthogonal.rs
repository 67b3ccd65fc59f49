//! A bias-free linear map `inp → out` (out ≤ inp) whose weight has exactly orthonormal rows, parametrized
//! as a product of `out` Householder reflections: W = (H₁⋯H_out E)ᵀ with E the first `out` columns of
//! the identity and H_i = I − 2 v_i v_iᵀ / ‖v_i‖². Orthonormality holds to rounding for any parameters.

use super::linear::linear;
use super::params::Scope;
use candle_core::{Result, Tensor, Var, D};

/// The orthogonal layer.
pub struct Orthogonal {
    /// Householder vectors `[out, inp]`.
    pub vectors: Var,
    pub out: usize,
}

impl Orthogonal {
    /// An orthogonal map `inp → out` in scope `s`.
    pub fn new(s: &mut Scope, inp: usize, out: usize) -> Result<Self> {
        if out > inp {
            candle_core::bail!("orthogonal layer needs out ({out}) ≤ inp ({inp})");
        }
        Ok(Self {
            vectors: s.normal("householder", &[out, inp], 1.0)?,
            out,
        })
    }

    /// The weight `[out, inp]` with orthonormal rows.
    pub fn weight(&self) -> Result<Tensor> {
        householder_frame(self.vectors.as_tensor())
    }

    /// x Wᵀ for `x` of shape `[.., inp]`.
    pub fn forward(&self, x: &Tensor) -> Result<Tensor> {
        linear(x, &self.weight()?, None)
    }
}

/// (H₁⋯H_k E)ᵀ for Householder vectors `v` `[k, n]`: a `[k, n]` matrix with orthonormal rows.
pub fn householder_frame(v: &Tensor) -> Result<Tensor> {
    let (k, n) = v.dims2()?;
    // X starts as E (n × k) and the reflections are applied right to left: X ← X − 2 v (vᵀX)/‖v‖².
    let mut x = Tensor::eye(n, v.dtype(), v.device())?.narrow(1, 0, k)?;
    for i in (0..k).rev() {
        let vi = v.narrow(0, i, 1)?; // [1, n]
        let norm2 = vi.sqr()?.sum_all()?;
        let vtx = vi.matmul(&x)?; // [1, k]
        let update = vi
            .t()?
            .matmul(&vtx)?
            .broadcast_div(&norm2)?
            .affine(2.0, 0.0)?;
        x = (x - update)?;
    }
    x.t()?
        .contiguous()
        .and_then(|w| w.squeeze(D::Minus1).or(Ok(w)))
}

/// Applies I − τ v vᵀ to the columns `cols` of the row-major `[v.len(), k]` matrix `m`.
pub fn reflect_columns(m: &mut [f64], k: usize, v: &[f64], tau: f64, cols: std::ops::Range<usize>) {
    for c in cols {
        let dot: f64 = v.iter().enumerate().map(|(r, vr)| vr * m[r * k + c]).sum();
        for (r, vr) in v.iter().enumerate() {
            m[r * k + c] -= tau * vr * dot;
        }
    }
}

/// Householder vectors `[k, n]` (row-major) whose [`householder_frame`] is `w` (`[k, n]`, k < n, rows
/// orthonormal up to rounding): the Householder QR of wᵀ with every reflection chosen so that R = E.
/// Reflection j maps the current column j onto e_j with v_j = x − e_j (computed without cancellation)
/// and v_j ⟂ e_0..e_{j−1}, so earlier columns stay put; a column already at e_j gets v_j = e_{n−1}.
pub fn householder_vectors(w: &[f64], k: usize, n: usize) -> Vec<f64> {
    assert!(
        k < n && w.len() == k * n,
        "householder_vectors: [k, n] with k < n"
    );
    // m = wᵀ, n × k, row-major.
    let mut m: Vec<f64> = (0..n * k).map(|i| w[(i % k) * n + i / k]).collect();
    let mut vs = vec![0.0; k * n];
    for j in 0..k {
        let mut v: Vec<f64> = (0..n)
            .map(|r| if r > j { m[r * k + j] } else { 0.0 })
            .collect();
        let tail: f64 = v.iter().map(|a| a * a).sum();
        let xj = m[j * k + j];
        let norm = (tail + xj * xj).sqrt();
        // x_j − ‖x‖, stably: −tail / (x_j + ‖x‖) when x_j > 0.
        v[j] = if xj > 0.0 {
            -tail / (xj + norm)
        } else {
            xj - norm
        };
        let v2: f64 = v.iter().map(|a| a * a).sum();
        if v2 <= 1e-30 * norm.max(1.0) {
            v = vec![0.0; n];
            v[n - 1] = 1.0;
        }
        let v2: f64 = v.iter().map(|a| a * a).sum();
        reflect_columns(&mut m, k, &v, 2.0 / v2, j..k);
        vs[j * n..(j + 1) * n].copy_from_slice(&v);
    }
    vs
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::nn::params::Params;
    use crate::testing::{grad_check, randn_like};
    use candle_core::{DType, Device};

    fn gram_error(w: &Tensor) -> f64 {
        let k = w.dim(0).unwrap();
        let g = w.matmul(&w.t().unwrap()).unwrap();
        let eye = Tensor::eye(k, w.dtype(), w.device()).unwrap();
        (g - eye)
            .unwrap()
            .abs()
            .unwrap()
            .max_all()
            .unwrap()
            .to_dtype(DType::F64)
            .unwrap()
            .to_scalar::<f64>()
            .unwrap()
    }

    #[test]
    fn rows_are_orthonormal_for_any_vectors() {
        for seed in 0..5 {
            let v = randn_like(&[3, 10], 2.0, seed).unwrap();
            let w = householder_frame(&v).unwrap();
            assert_eq!(w.dims(), &[3, 10]);
            assert!(gram_error(&w) < 1e-13);
        }
    }

    #[test]
    fn gradient_matches_finite_differences() {
        let v = randn_like(&[2, 6], 1.0, 7).unwrap();
        let x = randn_like(&[5, 6], 1.0, 8).unwrap();
        let r = randn_like(&[5, 2], 1.0, 9).unwrap();
        let err = grad_check(&v, 1e-6, |v| {
            linear(&x, &householder_frame(v)?, None)?.mul(&r)?.sum_all()
        })
        .unwrap();
        assert!(err < 1e-8, "vectors {err:e}");
        let w = householder_frame(&v).unwrap();
        let err = grad_check(&x, 1e-6, |x| linear(x, &w, None)?.mul(&r)?.sum_all()).unwrap();
        assert!(err < 1e-8, "input {err:e}");
    }

    #[test]
    fn stays_orthogonal_after_training_steps() {
        let mut p = Params::new(DType::F32, &Device::Cpu);
        let mut rng = crate::rng::stream(1, "t");
        let layer = Orthogonal::new(&mut p.scope("o", &mut rng), 64, 2).unwrap();
        let x = randn_like(&[32, 64], 1.0, 2)
            .unwrap()
            .to_dtype(DType::F32)
            .unwrap();
        let target = randn_like(&[32, 2], 3.0, 3)
            .unwrap()
            .to_dtype(DType::F32)
            .unwrap();
        for _ in 0..100 {
            let loss = (layer.forward(&x).unwrap() - &target)
                .unwrap()
                .sqr()
                .unwrap()
                .mean_all()
                .unwrap();
            let g = loss.backward().unwrap();
            let gv = g.get(layer.vectors.as_tensor()).unwrap();
            layer
                .vectors
                .set(&(layer.vectors.as_tensor() - (gv * 0.1).unwrap()).unwrap())
                .unwrap();
        }
        assert!(gram_error(&layer.weight().unwrap()) < 1e-5);
    }
}
