//! Monomials of degree 2 to `degree` in the latent coordinates: the features of the `pca` decoder's
//! polynomial part.

use candle_core::{Device, Result, Tensor};

/// The monomials z_{i₁}⋯z_{i_d} (i₁ ≤ … ≤ i_d, 2 ≤ d ≤ degree) of a latent of `latent` coordinates,
/// degree by degree and in lexicographic order within a degree. Degree d is built from degree d − 1:
/// each of its monomials times every coordinate from its last index on, so one product per step.
pub struct Monomials {
    /// Per degree from 2: which lower-degree monomial and which coordinate each monomial multiplies.
    steps: Vec<(Tensor, Tensor)>,
}

impl Monomials {
    /// How many monomials of degree 2 to `degree` a latent of `latent` coordinates has.
    pub fn count(latent: usize, degree: usize) -> usize {
        // C(latent + degree, degree) − 1 − latent, accumulated without overflow-prone factorials.
        let mut per_degree = latent; // monomials of degree d, starting from d = 1
        let mut total = 0usize;
        for d in 2..=degree {
            per_degree = per_degree.saturating_mul(latent + d - 1) / d;
            total = total.saturating_add(per_degree);
        }
        total
    }

    /// The monomials of degree 2 to `degree` of `latent` coordinates, indices on `device`.
    pub fn new(latent: usize, degree: usize, device: &Device) -> Result<Self> {
        // The last index of every monomial of the previous degree (degree 1: the coordinates).
        let mut last: Vec<usize> = (0..latent).collect();
        let mut steps = Vec::new();
        for _ in 2..=degree {
            let (mut left, mut right, mut next) = (Vec::new(), Vec::new(), Vec::new());
            for (m, &l) in last.iter().enumerate() {
                for j in l..latent {
                    left.push(m as u32);
                    right.push(j as u32);
                    next.push(j);
                }
            }
            steps.push((
                Tensor::from_vec(left, next.len(), device)?,
                Tensor::from_vec(right, next.len(), device)?,
            ));
            last = next;
        }
        Ok(Self { steps })
    }

    /// The monomials of latent rows `z` `[n, latent]`: `[n, count]`.
    pub fn features(&self, z: &Tensor) -> Result<Tensor> {
        let mut prev = z.clone();
        let mut out = Vec::with_capacity(self.steps.len());
        for (left, right) in &self.steps {
            prev = prev
                .index_select(left, 1)?
                .mul(&z.index_select(right, 1)?)?;
            out.push(prev.clone());
        }
        Tensor::cat(&out, 1)
    }

    /// The monomials of `z` and their directional derivative along `v` (both `[n, latent]`), by the
    /// product rule on the same steps; differentiable in `z` and `v`.
    pub fn features_jvp(&self, z: &Tensor, v: &Tensor) -> Result<(Tensor, Tensor)> {
        let (mut prev, mut dprev) = (z.clone(), v.clone());
        let (mut out, mut dout) = (Vec::new(), Vec::new());
        for (left, right) in &self.steps {
            let (a, da) = (prev.index_select(left, 1)?, dprev.index_select(left, 1)?);
            let (b, db) = (z.index_select(right, 1)?, v.index_select(right, 1)?);
            prev = a.mul(&b)?;
            dprev = (da.mul(&b)? + a.mul(&db)?)?;
            out.push(prev.clone());
            dout.push(dprev.clone());
        }
        Ok((Tensor::cat(&out, 1)?, Tensor::cat(&dout, 1)?))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testing::{grad_check, randn_like};

    #[test]
    fn monomials_are_every_product_once_with_exact_derivatives() {
        assert_eq!(Monomials::count(4, 3), 30);
        assert_eq!(Monomials::count(2, 1), 0);
        assert_eq!(Monomials::count(3, 2), 6);
        let m = Monomials::new(2, 3, &Device::Cpu).unwrap();
        let z = Tensor::new(&[[2.0f64, 3.0]], &Device::Cpu).unwrap();
        // z0², z0z1, z1², z0³, z0²z1, z0z1², z1³
        assert_eq!(
            m.features(&z).unwrap().to_vec2::<f64>().unwrap(),
            [[4.0, 6.0, 9.0, 8.0, 12.0, 18.0, 27.0]]
        );
        // The directional derivative matches central differences, and a loss on both the features
        // and the derivative differentiates exactly (the gradient through index_select and cat).
        let m = Monomials::new(3, 4, &Device::Cpu).unwrap();
        let z = randn_like(&[5, 3], 1.0, 1).unwrap();
        let v = randn_like(&[5, 3], 1.0, 2).unwrap();
        let (f, df) = m.features_jvp(&z, &v).unwrap();
        assert_eq!(f.dims(), &[5, Monomials::count(3, 4)]);
        let h = 1e-6;
        let fd = ((m.features(&(&z + (&v * h).unwrap()).unwrap()).unwrap()
            - m.features(&(&z - (&v * h).unwrap()).unwrap()).unwrap())
        .unwrap()
            / (2.0 * h))
            .unwrap();
        let err = (fd - &df).unwrap().abs().unwrap().max_all().unwrap();
        assert!(err.to_scalar::<f64>().unwrap() < 1e-7);
        let r = randn_like(&[5, Monomials::count(3, 4)], 1.0, 3).unwrap();
        let err = grad_check(&z, 1e-5, |z| {
            let (f, df) = m.features_jvp(z, &z.cos()?)?;
            (f + df)?.mul(&r)?.sum_all()
        })
        .unwrap();
        assert!(err < 1e-6, "{err:e}");
    }
}
