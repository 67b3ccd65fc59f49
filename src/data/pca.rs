//! Principal components of a sample of observations: the fixed linear map of the `pca` autoencoder and
//! the reduced coordinates of DMD.

use nalgebra::{DMatrix, DVector, SymmetricEigen};

/// Mean, leading principal directions and the variance along every direction of a sample of frames.
pub struct Pca {
    /// Mean frame (length d).
    pub mean: DVector<f64>,
    /// Leading principal directions as orthonormal columns (`d × kept`), largest variance first.
    pub components: DMatrix<f64>,
    /// Variance along every principal direction of the sample, largest first (not only the kept ones).
    pub variances: Vec<f64>,
}

impl Pca {
    /// The PCA of `frames` (equal lengths d), keeping at most `max_modes` directions. Uses the snapshot
    /// method (eigenvectors of the n × n Gram matrix mapped back) when there are fewer frames than d.
    /// None when there are no frames or they do not vary.
    pub fn fit(frames: &[&[f32]], max_modes: usize) -> Option<Pca> {
        let n = frames.len();
        let d = frames.first()?.len();
        let mut mean = DVector::<f64>::zeros(d);
        for f in frames {
            for (m, &v) in mean.iter_mut().zip(*f) {
                *m += v as f64;
            }
        }
        mean /= n as f64;
        let xc = DMatrix::from_fn(n, d, |r, c| frames[r][c] as f64 - mean[c]);
        let (vals, vecs, snapshot) = if d <= n {
            let e = SymmetricEigen::new(xc.transpose() * &xc);
            (e.eigenvalues, e.eigenvectors, false)
        } else {
            let e = SymmetricEigen::new(&xc * xc.transpose());
            (e.eigenvalues, e.eigenvectors, true)
        };
        let mut order: Vec<usize> = (0..vals.len()).collect();
        order.sort_by(|&a, &b| vals[b].total_cmp(&vals[a]));
        let variances: Vec<f64> = order.iter().map(|&i| vals[i].max(0.0) / n as f64).collect();
        if variances.first().is_none_or(|&v| v <= 0.0) {
            return None;
        }
        let k = max_modes.min(order.len());
        let mut components = DMatrix::<f64>::zeros(d, k);
        for (j, &i) in order.iter().take(k).enumerate() {
            let col = if snapshot {
                xc.transpose() * vecs.column(i)
            } else {
                vecs.column(i).into_owned()
            };
            let norm = col.norm().max(1e-300);
            components.set_column(j, &(col / norm));
        }
        Some(Pca {
            mean,
            components,
            variances,
        })
    }

    /// Fraction of the total variance along the first `k` directions.
    pub fn kept(&self, k: usize) -> f64 {
        let total: f64 = self.variances.iter().sum();
        self.variances.iter().take(k).sum::<f64>() / total
    }

    /// The fewest leading directions that keep `fraction` of the variance, at most `cap` (and at most
    /// the number kept by [`Pca::fit`]).
    pub fn modes_for(&self, fraction: f64, cap: usize) -> usize {
        let cap = cap.min(self.components.ncols());
        (1..=cap).find(|&k| self.kept(k) >= fraction).unwrap_or(cap)
    }

    /// Coefficients Uₖᵀ(x − μ) of `x` on the first `k` directions.
    pub fn coefficients(&self, x: &[f32], k: usize) -> DVector<f64> {
        let xc = DVector::from_iterator(
            x.len(),
            x.iter().zip(self.mean.iter()).map(|(&v, m)| v as f64 - m),
        );
        self.components.columns(0, k).transpose() * xc
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Frames a·e₀ + b·e₁ + μ with var(a) ≫ var(b) in 5 dimensions: both methods find e₀ then e₁.
    fn check(n: usize) {
        let mut frames = Vec::new();
        for i in 0..n {
            let t = i as f64 / n as f64 * std::f64::consts::TAU;
            let (a, b) = (3.0 * t.cos(), 0.5 * t.sin());
            frames.push(vec![
                (1.0 + a) as f32,
                (2.0 + b) as f32,
                3.0,
                (0.01 * (2.0 * t).cos()) as f32,
                -1.0,
            ]);
        }
        let refs: Vec<&[f32]> = frames.iter().map(|f| f.as_slice()).collect();
        let p = Pca::fit(&refs, 2).unwrap();
        assert_eq!(p.components.shape(), (5, 2));
        assert!((p.mean[0] - 1.0).abs() < 1e-6 && (p.mean[4] + 1.0).abs() < 1e-6);
        assert!((p.variances[0] - 4.5).abs() < 1e-3, "{:?}", p.variances);
        assert!((p.variances[1] - 0.125).abs() < 1e-4, "{:?}", p.variances);
        assert!((p.components[(0, 0)].abs() - 1.0).abs() < 1e-9);
        assert!((p.components[(1, 1)].abs() - 1.0).abs() < 1e-9);
        assert_eq!(p.modes_for(0.99, 5), 2);
        assert_eq!(p.modes_for(0.9, 5), 1);
        let c = p.coefficients(&frames[0], 2);
        assert!((c[0].abs() - 3.0).abs() < 1e-5 && c[1].abs() < 1e-5, "{c}");
    }

    #[test]
    fn covariance_and_snapshot_methods_find_the_leading_directions() {
        check(64); // d ≤ n: covariance
        check(4); // d > n: snapshot (4 points of the ellipse still span e₀ and e₁)
    }

    #[test]
    fn constant_frames_have_no_components() {
        let f = [1.0f32, 2.0];
        assert!(Pca::fit(&[&f, &f], 1).is_none());
    }
}
