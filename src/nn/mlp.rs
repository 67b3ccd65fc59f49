//! A stack of fully connected layers, each optionally followed by batch norm and an activation: the
//! body of the MLP encoder, decoder and discriminator.

use super::batch_norm::BatchNorm;
use super::layer::{Activation, Layer};
use super::linear::Linear;
use super::params::Scope;
use candle_core::{Result, Tensor};

/// Sizes of an MLP body.
#[derive(Clone, Copy, Debug)]
pub struct MlpSpec {
    pub input: usize,
    pub hidden: usize,
    /// Number of hidden layers (Linear(input→hidden) then `layers − 1` × Linear(hidden→hidden)).
    pub layers: usize,
    pub batch_norm: bool,
    pub activation: Activation,
}

/// Hidden layers `0 .. layers` in scope `s` (named `0`, `1`, …), each Linear + [BN] + activation.
pub fn hidden_layers(s: &mut Scope, spec: MlpSpec) -> Result<Vec<Layer>> {
    (0..spec.layers)
        .map(|i| {
            let inp = if i == 0 { spec.input } else { spec.hidden };
            let mut ls = s.pp(i);
            let linear = Linear::new(&mut ls, inp, spec.hidden, true)?;
            let norm = if spec.batch_norm {
                Some(BatchNorm::new(&mut ls.pp("norm"), spec.hidden)?)
            } else {
                None
            };
            Ok(Layer {
                linear,
                norm,
                activation: Some(spec.activation),
            })
        })
        .collect()
}

/// Eval-mode outputs and directional derivatives of `layers` in order.
pub fn forward_jvp_all(layers: &[Layer], x: &Tensor, t: &Tensor) -> Result<(Tensor, Tensor)> {
    let (mut y, mut dy) = (x.clone(), t.clone());
    for l in layers {
        (y, dy) = l.forward_jvp(&y, &dy)?;
    }
    Ok((y, dy))
}

/// Applies `layers` in order.
pub fn forward_all(layers: &[Layer], x: &Tensor, train: bool) -> Result<Tensor> {
    forward_all_repeat(layers, x, train, 0)
}

/// [`forward_all`] for an `x` whose last `repeat` rows repeat its first (see [`Layer::forward_repeat`]).
pub fn forward_all_repeat(
    layers: &[Layer],
    x: &Tensor,
    train: bool,
    repeat: usize,
) -> Result<Tensor> {
    if train {
        if let Some(y) = super::stack::forward(layers, x, repeat)? {
            return Ok(y);
        }
    }
    let mut y = x.clone();
    for l in layers {
        y = l.forward_repeat(&y, train, repeat)?;
    }
    Ok(y)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::nn::params::Params;
    use crate::testing::{grad_check, randn_like};
    use candle_core::{DType, Device};

    #[test]
    fn activations_have_exact_gradients() {
        crate::testing::on_both_paths(|| {
            // Points away from the kink at 0, where central differences are exact.
            let x = randn_like(&[3, 4], 2.0, 5).unwrap();
            let x = (x.sign().unwrap().affine(0.2, 0.0).unwrap() + &x).unwrap();
            let w = randn_like(&[3, 4], 1.0, 6).unwrap();
            for a in [Activation::Relu, Activation::LeakyRelu, Activation::Tanh] {
                let err = grad_check(&x, 1e-6, |x| a.apply(x)?.mul(&w)?.sum_all()).unwrap();
                assert!(err < 1e-8, "{a:?} {err:e}");
            }
            let v = Activation::LeakyRelu
                .apply(&Tensor::new(&[-2.0f64, 3.0], &Device::Cpu).unwrap())
                .unwrap()
                .to_vec1::<f64>()
                .unwrap();
            assert!((v[0] + 0.02).abs() < 1e-15 && (v[1] - 3.0).abs() < 1e-15);
        });
    }

    #[test]
    fn stack_gradient_matches_finite_differences_in_train_mode() {
        crate::testing::on_both_paths(|| {
            let mut p = Params::new(DType::F64, &Device::Cpu);
            let mut rng = crate::rng::stream(0, "t");
            let spec = MlpSpec {
                input: 3,
                hidden: 5,
                layers: 2,
                batch_norm: true,
                activation: Activation::Tanh,
            };
            let layers = hidden_layers(&mut p.scope("mlp", &mut rng), spec).unwrap();
            let x = randn_like(&[6, 3], 1.0, 1).unwrap();
            let w = randn_like(&[6, 5], 1.0, 2).unwrap();
            let err = grad_check(&x, 1e-5, |x| {
                forward_all(&layers, x, true)?.mul(&w)?.sum_all()
            })
            .unwrap();
            assert!(err < 1e-6, "input {err:e}");
            let names: Vec<_> = p.vars().keys().cloned().collect();
            assert!(
                names.contains(&"mlp.1.norm.weight".to_string()),
                "{names:?}"
            );
        });
    }
}
