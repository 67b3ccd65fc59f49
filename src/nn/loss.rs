//! Losses with stable forms: binary cross-entropy on logits, mean squared error.

use candle_core::{Result, Tensor};

/// Mean over samples of BCE(σ(x), y) for logits `x` and a constant label `y` ∈ [0, 1], in the stable form
/// relu(x) − x·y + log(1 + exp(−|x|)) (candle's own overflows for |x| ≳ 17).
pub fn bce_with_logits(x: &Tensor, y: f64) -> Result<Tensor> {
    bce_form(x, &x.affine(y, 0.0)?)
}

/// Mean over elements of BCE(σ(x), y) for logits `x` and labels `y` ∈ [0, 1] of the same shape (pixel
/// intensities as targets of a sigmoid output), in the same stable form.
pub fn bce_with_logits_targets(x: &Tensor, y: &Tensor) -> Result<Tensor> {
    bce_form(x, &x.mul(y)?)
}

/// Mean of relu(x) − x·y + log(1 + exp(−|x|)), given `x` and `xy` = x·y.
fn bce_form(x: &Tensor, xy: &Tensor) -> Result<Tensor> {
    let soft = x.abs()?.neg()?.exp()?.affine(1.0, 1.0)?.log()?;
    (x.relu()? - xy + soft)?.mean_all()
}

/// Mean of (a − b)² over every element.
pub fn mse(a: &Tensor, b: &Tensor) -> Result<Tensor> {
    (a - b)?.sqr()?.mean_all()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testing::{grad_check, randn_like};
    use candle_core::Device;

    #[test]
    fn bce_is_stable_exact_and_has_the_right_gradient() {
        let x = Tensor::new(&[-100.0f64, -3.0, 0.0, 2.0, 100.0], &Device::Cpu).unwrap();
        for y in [0.0, 1.0, 0.3] {
            let got = bce_with_logits(&x, y).unwrap().to_scalar::<f64>().unwrap();
            // Direct formula with log-sigmoids computed stably per element.
            let ls = |v: f64| -> f64 { -(1.0 + (-v).exp()).ln() }; // log σ(v) for moderate v
            let want: f64 = [-100.0f64, -3.0, 0.0, 2.0, 100.0]
                .iter()
                .map(|&v| {
                    let (lp, lq) = if v.abs() > 30.0 {
                        if v > 0.0 {
                            (0.0, -v)
                        } else {
                            (v, 0.0)
                        }
                    } else {
                        (ls(v), ls(-v))
                    };
                    -(y * lp + (1.0 - y) * lq)
                })
                .sum::<f64>()
                / 5.0;
            assert!(
                got.is_finite() && (got - want).abs() < 1e-12,
                "{got} vs {want}"
            );
        }
        let x = randn_like(&[6], 4.0, 3).unwrap();
        for y in [0.0, 1.0] {
            let err = grad_check(&x, 1e-6, |x| bce_with_logits(x, y)).unwrap();
            assert!(err < 1e-9, "{err:e}");
            // Per-element labels: equal to the constant-label form, with the same gradient.
            let labels = Tensor::full(y, 6, &Device::Cpu).unwrap();
            let a = bce_with_logits_targets(&x, &labels).unwrap();
            let b = bce_with_logits(&x, y).unwrap();
            assert!(crate::testing::max_abs_diff(&a, &b) < 1e-15);
        }
        let labels = Tensor::new(&[0.0f64, 0.2, 0.5, 0.9, 1.0, 0.05], &Device::Cpu).unwrap();
        let err = grad_check(&x, 1e-6, |x| bce_with_logits_targets(x, &labels)).unwrap();
        assert!(err < 1e-9, "labels {err:e}");
        // The pixel loss is stationary where the sigmoid matches the labels: σ(x) = y.
        let at = |p: f64| (p / (1.0 - p)).ln();
        let logits = candle_core::Var::new(&[at(0.2), at(0.5), at(0.9)], &Device::Cpu).unwrap();
        let labels = Tensor::new(&[0.2f64, 0.5, 0.9], &Device::Cpu).unwrap();
        let loss = bce_with_logits_targets(&logits, &labels).unwrap();
        let grad = loss.backward().unwrap().get(&logits).unwrap().clone();
        let zero = grad
            .abs()
            .unwrap()
            .max_all()
            .unwrap()
            .to_scalar::<f64>()
            .unwrap();
        assert!(zero < 1e-15, "{zero:e}");
        let (a, b) = (
            randn_like(&[2, 3], 1.0, 4).unwrap(),
            randn_like(&[2, 3], 1.0, 5).unwrap(),
        );
        let err = grad_check(&a, 1e-6, |a| mse(a, &b)).unwrap();
        assert!(err < 1e-9, "mse {err:e}");
    }
}
