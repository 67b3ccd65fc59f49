//! Losses with stable forms: binary cross-entropy on logits, mean squared error.

use candle_core::{Result, Tensor};

/// Mean over samples of BCE(σ(x), y) for logits `x` and a constant label `y` ∈ [0, 1], in the stable form
/// relu(x) − x·y + log(1 + exp(−|x|)) (candle's own overflows for |x| ≳ 17).
pub fn bce_with_logits(x: &Tensor, y: f64) -> Result<Tensor> {
    let soft = x.abs()?.neg()?.exp()?.affine(1.0, 1.0)?.log()?;
    (x.relu()? - x.affine(y, 0.0)? + soft)?.mean_all()
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
        }
        let (a, b) = (
            randn_like(&[2, 3], 1.0, 4).unwrap(),
            randn_like(&[2, 3], 1.0, 5).unwrap(),
        );
        let err = grad_check(&a, 1e-6, |a| mse(a, &b)).unwrap();
        assert!(err < 1e-9, "mse {err:e}");
    }
}
