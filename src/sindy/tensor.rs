//! The feature library on candle tensors: Θ(z) as a differentiable graph, for training a SINDy model
//! jointly with the autoencoder that produces z.

use super::library::{Func, Library};
use candle_core::{Result, Tensor};
use std::collections::HashMap;

impl Library {
    /// Θ(z) `[n, p]` for states `z` `[n, d]`, built from candle's element-wise ops so that gradients
    /// flow into `z`. Each `func(z_state)` is computed once and shared by the terms that use it.
    pub fn features(&self, z: &Tensor) -> Result<Tensor> {
        let (n, d) = z.dims2()?;
        if d != self.n_states() {
            candle_core::bail!(
                "library `{}` has {} states, the tensor has {d} columns",
                self.spec(),
                self.n_states()
            );
        }
        let mut base: HashMap<(Func, usize), Tensor> = HashMap::new();
        let mut columns = Vec::with_capacity(self.n_terms());
        for term in self.terms() {
            let mut col: Option<Tensor> = None;
            for f in term.factors() {
                let b = match base.get(&(f.func, f.state)) {
                    Some(b) => b.clone(),
                    None => {
                        let v = z.narrow(1, f.state, 1)?;
                        let b = match f.func {
                            Func::Id => v,
                            Func::Sin => v.sin()?,
                            Func::Cos => v.cos()?,
                            Func::Exp => v.exp()?,
                        };
                        base.insert((f.func, f.state), b.clone());
                        b
                    }
                };
                let mut pw = b.clone();
                for _ in 1..f.power {
                    pw = pw.mul(&b)?;
                }
                col = Some(match col {
                    None => pw,
                    Some(c) => c.mul(&pw)?,
                });
            }
            columns.push(match col {
                Some(c) => c,
                None => Tensor::ones((n, 1), z.dtype(), z.device())?,
            });
        }
        Tensor::cat(&columns, 1)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testing::{grad_check, randn_like};

    #[test]
    fn tensor_features_match_the_library_and_differentiate_exactly() {
        let lib = Library::parse("1 + poly(3) + sin(x) * cos(x) + exp(x)", 2).unwrap();
        let z = randn_like(&[6, 2], 1.0, 3).unwrap();
        let theta = lib.features(&z).unwrap();
        assert_eq!(theta.dims(), &[6, lib.n_terms()]);
        let flat: Vec<f64> = z.flatten_all().unwrap().to_vec1().unwrap();
        let expected = lib.evaluate(&flat).unwrap(); // column-major n × p
        let got: Vec<Vec<f64>> = theta.to_vec2().unwrap();
        for (i, row) in got.iter().enumerate() {
            for (j, v) in row.iter().enumerate() {
                assert!((v - expected[(i, j)]).abs() < 1e-14, "{i},{j}");
            }
        }
        let r = randn_like(&[6, lib.n_terms()], 1.0, 4).unwrap();
        let err = grad_check(&z, 1e-6, |z| lib.features(z)?.mul(&r)?.sum_all()).unwrap();
        assert!(err < 1e-7, "{err:e}");
        let e = lib
            .features(&randn_like(&[2, 3], 1.0, 5).unwrap())
            .unwrap_err();
        assert!(e.to_string().contains("3 columns"), "{e}");
    }
}
