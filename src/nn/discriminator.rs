//! The discriminator: an MLP on the flattened latent window (optionally with the decoded observations)
//! ending in one logit; D(z) > 0 means "real".

use super::fused::Act;
use super::layer::{Activation, Layer};
use super::linear::Linear;
use super::mlp::{forward_all_repeat, hidden_layers, MlpSpec};
use super::params::Scope;
use candle_core::{Result, Tensor};
use serde::{Deserialize, Serialize};

/// What the discriminator sees.
#[derive(Clone, Copy, Debug, Default, Serialize, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "kebab-case")]
pub enum Input {
    /// The flattened latent window.
    #[default]
    Latent,
    /// The latent window and its decoded observations.
    LatentAndDecoded,
}

/// `[discriminator]` settings.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields, default)]
pub struct DiscriminatorConfig {
    pub hidden: usize,
    pub layers: usize,
    pub activation: Activation,
    pub input: Input,
}

impl crate::config::Validate for DiscriminatorConfig {
    fn validate(&self, c: &mut crate::config::Checker) {
        c.at_least("hidden", self.hidden, 1);
        c.at_least("layers", self.layers, 1);
    }
}

impl Default for DiscriminatorConfig {
    fn default() -> Self {
        Self {
            hidden: 512,
            layers: 5,
            activation: Activation::Relu,
            input: Input::Latent,
        }
    }
}

/// Linear(in→hidden) + act, `layers − 1` × (Linear(hidden→hidden) + act), Linear(hidden→1).
pub struct Discriminator {
    layers: Vec<Layer>,
    out: Linear,
}

impl Discriminator {
    /// A discriminator on `input` features in scope `s`.
    pub fn new(cfg: &DiscriminatorConfig, input: usize, s: &mut Scope) -> Result<Self> {
        if cfg.layers == 0 || cfg.hidden == 0 {
            candle_core::bail!(
                "discriminator: layers and hidden must be positive; found {} and {}",
                cfg.layers,
                cfg.hidden
            );
        }
        let spec = MlpSpec {
            input,
            hidden: cfg.hidden,
            layers: cfg.layers,
            batch_norm: false,
            activation: cfg.activation,
        };
        let layers = hidden_layers(s, spec)?;
        let out = Linear::new(&mut s.pp("out"), cfg.hidden, 1, true)?;
        Ok(Self { layers, out })
    }

    /// Logits `[n]` for features `[n, input]`.
    pub fn forward(&self, x: &Tensor) -> Result<Tensor> {
        self.forward_repeat(x, 0)
    }

    /// Logits `[n]` for features `[n, input]` whose last `repeat` rows repeat the first `repeat` (an
    /// error otherwise): the same logits and gradients as [`Self::forward`], for less work.
    pub fn forward_repeat(&self, x: &Tensor, repeat: usize) -> Result<Tensor> {
        let h = forward_all_repeat(&self.layers, x, true, repeat)?;
        self.out
            .forward_repeat(&h, Act::Identity, repeat)?
            .squeeze(1)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::nn::params::Params;
    use crate::testing::{grad_check, grad_check_var, randn_like};
    use candle_core::{DType, Device};

    #[test]
    fn gradients_match_finite_differences() {
        crate::testing::on_both_paths(|| {
            let mut p = Params::new(DType::F64, &Device::Cpu);
            let mut rng = crate::rng::stream(2, "t");
            let cfg = DiscriminatorConfig {
                hidden: 5,
                layers: 2,
                activation: Activation::Tanh,
                ..Default::default()
            };
            let d = Discriminator::new(&cfg, 4, &mut p.scope("disc", &mut rng)).unwrap();
            let x = randn_like(&[3, 4], 1.0, 1).unwrap();
            let err = grad_check(&x, 1e-6, |x| d.forward(x)?.sqr()?.sum_all()).unwrap();
            assert!(err < 1e-8, "input {err:e}");
            for (name, v) in p.vars() {
                let err = grad_check_var(v, 1e-6, || d.forward(&x)?.sqr()?.sum_all()).unwrap();
                assert!(err < 1e-8, "{name} {err:e}");
            }
            assert_eq!(d.forward(&x).unwrap().dims(), &[3]);
        });
    }

    /// Repeated rows give the logits and gradients of computing every row (ReLU, the fused path).
    #[test]
    fn repeated_rows_match_computed_ones() {
        let mut p = Params::new(DType::F64, &Device::Cpu);
        let mut rng = crate::rng::stream(3, "t");
        let cfg = DiscriminatorConfig {
            hidden: 6,
            layers: 3,
            ..Default::default()
        };
        let d = Discriminator::new(&cfg, 4, &mut p.scope("disc", &mut rng)).unwrap();
        let a = candle_core::Var::from_tensor(&randn_like(&[5, 4], 1.0, 4).unwrap()).unwrap();
        let real = randn_like(&[5, 4], 1.0, 5).unwrap();
        let x = Tensor::cat(&[a.as_tensor(), &real, &a.as_tensor().detach()], 0).unwrap();
        let r = randn_like(&[15], 1.0, 6).unwrap();
        let run = |repeat| {
            let l = d.forward_repeat(&x, repeat).unwrap();
            let g = l.mul(&r).unwrap().sum_all().unwrap().backward().unwrap();
            let mut grads = vec![(String::from("input"), g.get(&a).unwrap().clone())];
            for (name, v) in p.vars() {
                grads.push((name.clone(), g.get(v).unwrap().clone()));
            }
            (l, grads)
        };
        let ((l0, g0), (l1, g1)) = (run(0), run(5));
        assert!(crate::testing::max_abs_diff(&l0, &l1) < 1e-12);
        for ((name, want), (_, got)) in g0.iter().zip(&g1) {
            let e = crate::testing::max_abs_diff(want, got);
            assert!(e < 1e-12, "{name} {e:e}");
        }
    }
}
