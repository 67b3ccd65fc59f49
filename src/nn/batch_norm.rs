//! Batch normalization over the last dimension, statistics pooled over every leading dimension (batch ×
//! window). Train mode normalizes with the batch statistics and updates the running ones (momentum 0.1,
//! unbiased variance, as PyTorch); eval mode uses the running ones.

use super::fused::{self, Act};
use super::params::Scope;
use candle_core::{DType, Result, Tensor, Var, D};

/// Batch norm with affine weight and bias.
pub struct BatchNorm {
    pub weight: Var,
    pub bias: Var,
    pub running_mean: Var,
    pub running_var: Var,
    pub momentum: f64,
    pub eps: f64,
}

impl BatchNorm {
    /// Batch norm of `n` features in scope `s`.
    pub fn new(s: &mut Scope, n: usize) -> Result<Self> {
        Ok(Self {
            weight: s.constant("weight", &[n], 1.0)?,
            bias: s.constant("bias", &[n], 0.0)?,
            running_mean: s.buffer("running_mean", &[n], 0.0)?,
            running_var: s.buffer("running_var", &[n], 1.0)?,
            momentum: 0.1,
            eps: 1e-5,
        })
    }

    /// The eval-mode per-feature scale weight/√(running_var + eps): the derivative of the eval-mode map.
    pub fn eval_scale(&self) -> Result<Tensor> {
        self.weight
            .as_tensor()
            .div(&(self.running_var.as_tensor() + self.eps)?.sqrt()?)
    }

    /// Normalizes `x` (`[.., n]`); in train mode also updates the running statistics.
    pub fn forward(&self, x: &Tensor, train: bool) -> Result<Tensor> {
        self.forward_act(x, train, Act::Identity)
    }

    /// The train-mode statistics of `x` `[rows, n]` (mean and biased variance per feature), after
    /// blending them into the running ones.
    pub(crate) fn batch_stats(&self, x: &Tensor) -> Result<(Vec<f64>, Vec<f64>)> {
        let (rows, n) = x.dims2()?;
        let (mean, var) = fused::column_stats(x)?;
        let m = self.momentum;
        let unbiased = rows as f64 / (rows as f64 - 1.0).max(1.0);
        let blend = |running: &Var, batch: Vec<f64>| -> Result<()> {
            let b = Tensor::from_vec(batch, n, x.device())?.to_dtype(x.dtype())?;
            running.set(&(running.as_tensor().affine(1.0 - m, 0.0)? + b.affine(m, 0.0)?)?)
        };
        blend(&self.running_mean, mean.clone())?;
        blend(
            &self.running_var,
            var.iter().map(|v| v * unbiased).collect(),
        )?;
        Ok((mean, var))
    }

    /// act(batch-norm(x)); train mode runs one fused op and updates the running statistics.
    pub fn forward_act(&self, x: &Tensor, train: bool, act: Act) -> Result<Tensor> {
        let n = x.dim(D::Minus1)?;
        let flat = x.reshape(((), n))?;
        let y = if !fused::fuses(&flat) {
            self.forward_generic(&flat, train, act)?
        } else if train {
            let (mean, var) = self.batch_stats(&flat)?;
            fused::batch_norm(
                &flat,
                self.weight.as_tensor(),
                self.bias.as_tensor(),
                mean,
                &var,
                self.eps,
                act,
                true,
            )?
        } else {
            let stat = |v: &Var| v.as_tensor().to_dtype(DType::F64)?.to_vec1::<f64>();
            fused::batch_norm(
                &flat,
                self.weight.as_tensor(),
                self.bias.as_tensor(),
                stat(&self.running_mean)?,
                &stat(&self.running_var)?,
                self.eps,
                act,
                false,
            )?
        };
        y.reshape(x.shape())
    }

    /// [`Self::forward_act`] of `x` `[rows, n]` composed of candle ops, the statistics kept on the
    /// tensor's device (the generic path: autograd differentiates through the batch statistics).
    fn forward_generic(&self, x: &Tensor, train: bool, act: Act) -> Result<Tensor> {
        let (mean, var) = if train {
            let rows = x.dim(0)?;
            let mean = x.mean_keepdim(0)?;
            let var = x.broadcast_sub(&mean)?.sqr()?.mean_keepdim(0)?;
            let m = self.momentum;
            let unbiased = rows as f64 / (rows as f64 - 1.0).max(1.0);
            let blend = |running: &Var, batch: &Tensor, scale: f64| -> Result<()> {
                let b = batch.detach().squeeze(0)?.affine(m * scale, 0.0)?;
                running.set(&(running.as_tensor().affine(1.0 - m, 0.0)? + b)?)
            };
            blend(&self.running_mean, &mean, 1.0)?;
            blend(&self.running_var, &var, unbiased)?;
            (mean, var)
        } else {
            let stat = |v: &Var| v.as_tensor().unsqueeze(0);
            (stat(&self.running_mean)?, stat(&self.running_var)?)
        };
        let y = x
            .broadcast_sub(&mean)?
            .broadcast_div(&(var + self.eps)?.sqrt()?)?
            .broadcast_mul(self.weight.as_tensor())?
            .broadcast_add(self.bias.as_tensor())?;
        act.tensor(y)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::nn::params::Params;
    use crate::testing::{grad_check, randn_like};
    use candle_core::{DType, Device};

    /// (x − mean)/√(var + eps)·weight + bias for `x` `[rows, n]`, statistics `[1, n]`, affine `[n]`.
    fn normalize(
        x: &Tensor,
        mean: &Tensor,
        var: &Tensor,
        weight: &Tensor,
        bias: &Tensor,
        eps: f64,
    ) -> Result<Tensor> {
        let inv = (var + eps)?.sqrt()?.recip()?;
        x.broadcast_sub(mean)?
            .broadcast_mul(&inv)?
            .broadcast_mul(weight)?
            .broadcast_add(bias)
    }

    fn layer() -> (Params, BatchNorm) {
        let mut p = Params::new(DType::F64, &Device::Cpu);
        let mut rng = crate::rng::stream(0, "t");
        let bn = BatchNorm::new(&mut p.scope("bn", &mut rng), 3).unwrap();
        bn.weight
            .set(&Tensor::new(&[1.5f64, -0.5, 2.0], &Device::Cpu).unwrap())
            .unwrap();
        bn.bias
            .set(&Tensor::new(&[0.1f64, 0.2, -0.3], &Device::Cpu).unwrap())
            .unwrap();
        (p, bn)
    }

    #[test]
    fn train_mode_gradient_matches_finite_differences() {
        crate::testing::on_both_paths(|| {
            let (_p, bn) = layer();
            let x = randn_like(&[4, 2, 3], 2.0, 1).unwrap();
            let w = randn_like(&[4, 2, 3], 1.0, 2).unwrap();
            // A non-linear read-out so the gradient through the batch statistics matters.
            let err =
                grad_check(&x, 1e-5, |x| bn.forward(x, true)?.sqr()?.mul(&w)?.sum_all()).unwrap();
            assert!(err < 1e-6, "input {err:e}");
            // Weight and bias gradients through the same normalization, batch statistics included.
            let flat = x.reshape((8, 3)).unwrap();
            let w2 = w.reshape((8, 3)).unwrap();
            let stats = |x: &Tensor| -> Result<(Tensor, Tensor)> {
                let m = x.mean_keepdim(0)?;
                let v = x.broadcast_sub(&m)?.sqr()?.mean_keepdim(0)?;
                Ok((m, v))
            };
            let (m, v) = stats(&flat).unwrap();
            let (g, b) = (bn.weight.as_tensor().clone(), bn.bias.as_tensor().clone());
            let err = grad_check(&g, 1e-6, |g| {
                normalize(&flat, &m, &v, g, &b, 1e-5)?
                    .sqr()?
                    .mul(&w2)?
                    .sum_all()
            })
            .unwrap();
            assert!(err < 1e-6, "weight {err:e}");
            let err = grad_check(&b, 1e-6, |b| {
                normalize(&flat, &m, &v, &g, b, 1e-5)?
                    .sqr()?
                    .mul(&w2)?
                    .sum_all()
            })
            .unwrap();
            assert!(err < 1e-6, "bias {err:e}");
        });
    }

    #[test]
    fn normalizes_and_tracks_running_statistics_like_pytorch() {
        crate::testing::on_both_paths(|| {
            let (_p, bn) = layer();
            let x = Tensor::new(&[[1.0f64, 2.0, 3.0], [3.0, 6.0, 3.0]], &Device::Cpu).unwrap();
            let y = bn.forward(&x, true).unwrap().to_vec2::<f64>().unwrap();
            // Column 0: mean 2, biased var 1 → normalized ∓1/√(1+1e-5), times 1.5 plus 0.1.
            let s = 1.0 / (1.0 + 1e-5f64).sqrt();
            assert!(
                (y[0][0] - (0.1 - 1.5 * s)).abs() < 1e-12
                    && (y[1][0] - (0.1 + 1.5 * s)).abs() < 1e-12
            );
            // Running: 0.9·0 + 0.1·mean and 0.9·1 + 0.1·unbiased var (2 for column 0, 8 for column 1, 0 for 2).
            let rm = bn.running_mean.as_tensor().to_vec1::<f64>().unwrap();
            let rv = bn.running_var.as_tensor().to_vec1::<f64>().unwrap();
            assert!((rm[0] - 0.2).abs() < 1e-12 && (rm[1] - 0.4).abs() < 1e-12);
            assert!(
                (rv[0] - 1.1).abs() < 1e-12
                    && (rv[1] - 1.7).abs() < 1e-12
                    && (rv[2] - 0.9).abs() < 1e-12
            );
            // Eval mode uses the running statistics.
            let e = bn.forward(&x, false).unwrap().to_vec2::<f64>().unwrap();
            assert!((e[0][0] - (0.1 + 1.5 * (1.0 - 0.2) / (1.1f64 + 1e-5).sqrt())).abs() < 1e-12);
        });
    }

    #[test]
    fn eval_mode_matches_the_composite_and_finite_differences() {
        crate::testing::on_both_paths(|| {
            let (_p, bn) = layer();
            bn.running_mean
                .set(&Tensor::new(&[0.3f64, -0.2, 0.1], &Device::Cpu).unwrap())
                .unwrap();
            bn.running_var
                .set(&Tensor::new(&[0.5f64, 2.0, 1.2], &Device::Cpu).unwrap())
                .unwrap();
            let x = randn_like(&[5, 3], 1.0, 3).unwrap();
            let (m, v) = (
                bn.running_mean.as_tensor().unsqueeze(0).unwrap(),
                bn.running_var.as_tensor().unsqueeze(0).unwrap(),
            );
            let (g, b) = (bn.weight.as_tensor().clone(), bn.bias.as_tensor().clone());
            let want = normalize(&x, &m, &v, &g, &b, 1e-5).unwrap();
            let got = bn.forward(&x, false).unwrap();
            let diff = (got - want).unwrap().abs().unwrap().max_all().unwrap();
            assert!(diff.to_scalar::<f64>().unwrap() < 1e-12);
            let w = randn_like(&[5, 3], 1.0, 4).unwrap();
            let err = grad_check(&x, 1e-6, |x| {
                bn.forward(x, false)?.sqr()?.mul(&w)?.sum_all()
            })
            .unwrap();
            assert!(err < 1e-6, "input {err:e}");
            for (name, var) in [("weight", &bn.weight), ("bias", &bn.bias)] {
                let err = crate::testing::grad_check_var(var, 1e-6, || {
                    bn.forward(&x, false)?.sqr()?.mul(&w)?.sum_all()
                })
                .unwrap();
                assert!(err < 1e-6, "{name} {err:e}");
            }
        });
    }
}
