//! Autoencoders between observations and the latent space, chosen by the `[autoencoder]` config: an MLP
//! (batch norm, orthogonal last encoder layer, latent batch norm), convolutional ones for signals and
//! images (`conv1d`, `cnn`; see [`conv`]) and the identity (plain LieGAN in data space). Every implementation maps a batch of single observations `[n, obs..]` to `[n, latent]` and
//! back; windows are encoded element-wise by flattening them into the batch, so every window element
//! shares the weights and batch statistics pool batch × window.

mod codec;
mod config;
pub mod conv;
mod identity;
mod mlp;
mod monomials;
mod pca;

pub use codec::Autoencoder;
pub use config::{AutoencoderConfig, Kind, OutputActivation};
pub use conv::ConvAutoencoder;
pub use identity::Identity;
pub use mlp::MlpAutoencoder;
pub use pca::PcaProjection;

use crate::nn::params::Scope;
use candle_core::Result;

/// Builds the autoencoder of `cfg` for observations of shape `obs` in scope `s`.
pub fn build(
    cfg: &AutoencoderConfig,
    obs: &[usize],
    s: &mut Scope,
) -> Result<Box<dyn Autoencoder>> {
    Ok(match cfg.kind {
        Kind::Mlp => Box::new(MlpAutoencoder::new(cfg, obs, s)?),
        Kind::Conv1d | Kind::Cnn => Box::new(ConvAutoencoder::new(cfg, obs, s)?),
        Kind::Identity => Box::new(Identity { obs: obs.to_vec() }),
        Kind::Pca => Box::new(PcaProjection::new(cfg, obs, s)?),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::nn::layer::Activation;
    use crate::nn::params::Params;
    use crate::testing::{
        decoder_jvp_error, encoder_jvp_error, grad_check, grad_check_var, max_abs_diff, randn_like,
        randomize_norms,
    };
    use candle_core::Tensor;
    use candle_core::{DType, Device};

    fn small(kind: Kind) -> (Params, Box<dyn Autoencoder>) {
        let cfg = AutoencoderConfig {
            kind,
            latent: 2,
            hidden: 6,
            layers: 2,
            activation: Activation::Tanh,
            ..Default::default()
        };
        let mut p = Params::new(DType::F64, &Device::Cpu);
        let mut rng = crate::rng::stream(1, "t");
        let ae = build(&cfg, &[3], &mut p.scope("ae", &mut rng)).unwrap();
        (p, ae)
    }

    #[test]
    fn mlp_encoder_and_decoder_gradients_match_finite_differences() {
        crate::testing::on_both_paths(|| {
            let (p, ae) = small(Kind::Mlp);
            let x = randn_like(&[7, 3], 1.0, 2).unwrap();
            let r = randn_like(&[7, 3], 1.0, 3).unwrap();
            // Through encoder (train-mode batch norm, orthogonal head, latent norm) and decoder.
            let err = grad_check(&x, 1e-5, |x| {
                ae.decode(&ae.encode(x, true)?, true)?.mul(&r)?.sum_all()
            })
            .unwrap();
            assert!(err < 1e-6, "input {err:e}");
            // Every parameter gets a gradient that matches.
            for (name, v) in p.vars() {
                let err = grad_check_var(v, 1e-5, || {
                    ae.decode(&ae.encode(&x, true)?, true)?.mul(&r)?.sum_all()
                })
                .unwrap();
                assert!(err < 1e-6, "{name}: {err:e}");
            }
            let z = ae.encode(&x, false).unwrap();
            assert_eq!(z.dims(), &[7, 2]);
            assert!(p.buffers().contains_key("ae.encoder.norm.running_mean"));
        });
    }

    /// A 3 → 7 → 7 → 7 → 2 MLP autoencoder (f64) with non-trivial batch-norm statistics.
    fn mlp(
        activation: Activation,
        output: OutputActivation,
        seed: u64,
    ) -> (Params, Box<dyn Autoencoder>) {
        let cfg = AutoencoderConfig {
            latent: 2,
            hidden: 7,
            layers: 3,
            activation,
            output,
            ..Default::default()
        };
        let mut p = Params::new(DType::F64, &Device::Cpu);
        let mut rng = crate::rng::stream(seed, "t");
        let ae = build(&cfg, &[3], &mut p.scope("ae", &mut rng)).unwrap();
        randomize_norms(&p).unwrap();
        (p, ae)
    }

    #[test]
    fn encoder_jvp_matches_finite_differences_in_eval_mode() {
        crate::testing::on_both_paths(|| {
            for act in [Activation::Relu, Activation::Tanh, Activation::LeakyRelu] {
                let (_, ae) = mlp(act, OutputActivation::Identity, 4);
                let x = randn_like(&[5, 3], 1.0, 8).unwrap();
                let v = randn_like(&[5, 3], 1.0, 9).unwrap();
                let err = encoder_jvp_error(ae.as_ref(), &x, &v).unwrap();
                assert!(err < 1e-7, "{act:?} jvp {err:e}");
            }
        });
    }

    #[test]
    fn decoder_jvp_matches_finite_differences_and_trains_every_parameter() {
        crate::testing::on_both_paths(|| {
            for (act, output) in [
                (Activation::Relu, OutputActivation::Identity),
                (Activation::Tanh, OutputActivation::Sigmoid),
                (Activation::LeakyRelu, OutputActivation::Sigmoid),
            ] {
                let (p, ae) = mlp(act, output, 5);
                assert!(Kind::Mlp.has_decoder_jvp() && Kind::Pca.has_decoder_jvp());
                let z = randn_like(&[5, 2], 1.0, 10).unwrap();
                let v = randn_like(&[5, 2], 1.0, 11).unwrap();
                let err = decoder_jvp_error(ae.as_ref(), &z, &v).unwrap();
                assert!(err < 1e-7, "{act:?}/{output:?} jvp {err:e}");
                if act != Activation::Tanh {
                    continue;
                }
                // A loss on both Jacobian-vector products (the SINDy autoencoder's) differentiates
                // exactly with respect to every parameter and the inputs.
                let x = randn_like(&[5, 3], 1.0, 12).unwrap();
                let (rz, rx) = (
                    randn_like(&[5, 2], 1.0, 13).unwrap(),
                    randn_like(&[5, 3], 1.0, 14).unwrap(),
                );
                let loss = |x: &Tensor| -> candle_core::Result<Tensor> {
                    let (z, dz) = ae.encode_jvp(x, &x.sin()?)?;
                    let (y, dy) = ae.decode_jvp(&z, &dz.sqr()?)?;
                    (dz.mul(&rz)?.sum_all()? + (y + dy)?.mul(&rx)?.sum_all()?)?.sqr()
                };
                let err = grad_check(&x, 1e-5, loss).unwrap();
                assert!(err < 1e-6, "input {err:e}");
                for (name, var) in p.vars() {
                    let err = grad_check_var(var, 1e-5, || loss(&x)).unwrap();
                    assert!(err < 1e-6, "{name}: {err:e}");
                }
            }
        });
    }

    /// Gradients through a fitted (not trained) autoencoder (observations `obs`, latent `latent`) match
    /// finite differences, and its encoder and decoder Jacobian-vector products are exact.
    fn assert_fixed_map_derivatives(ae: &dyn Autoencoder, obs: &[usize], latent: usize) {
        let shape = [&[3], obs].concat();
        let x = randn_like(&shape, 1.0, 2).unwrap();
        let r = randn_like(&shape, 1.0, 3).unwrap();
        let err = grad_check(&x, 1e-5, |x| {
            ae.decode(&ae.encode(x, true)?, true)?.mul(&r)?.sum_all()
        })
        .unwrap();
        assert!(err < 1e-7, "input {err:e}");
        let err = encoder_jvp_error(ae, &x, &r).unwrap();
        assert!(err < 1e-7, "encoder jvp {err:e}");
        let z = randn_like(&[3, latent], 1.0, 4).unwrap();
        let err = decoder_jvp_error(ae, &z, &z.cos().unwrap()).unwrap();
        assert!(err < 1e-7, "decoder jvp {err:e}");
    }

    /// The error that validating each of `cfgs` as `[autoencoder]` gives.
    fn refusal(cfgs: &[AutoencoderConfig]) -> String {
        let mut c = crate::config::Checker::default();
        for cfg in cfgs {
            c.check("autoencoder", cfg);
        }
        c.result("config").unwrap_err().to_string()
    }

    #[test]
    fn a_whitened_pca_gives_each_component_unit_variance_and_decodes_what_it_spans() {
        let cfg = AutoencoderConfig {
            kind: Kind::Pca,
            latent: 2,
            whiten: true,
            ..Default::default()
        };
        let mut p = Params::new(DType::F64, &Device::Cpu);
        let mut rng = crate::rng::stream(3, "t");
        let ae = build(&cfg, &[4], &mut p.scope("ae", &mut rng)).unwrap();
        assert_eq!(p.buffers()["ae.scale"].dims(), &[2]);
        // Frames 1 + 3 sin t·u + 0.5 cos t·v in R⁴: two components of very different variance.
        let (u, v) = ([0.6, 0.8, 0.0, 0.0], [0.0, 0.0, 0.8, -0.6]);
        let frames: Vec<Vec<f32>> = (0..60)
            .map(|i| {
                let t = i as f64 * 0.37;
                (0..4)
                    .map(|j| (1.0 + 3.0 * t.sin() * u[j] + 0.5 * t.cos() * v[j]) as f32)
                    .collect()
            })
            .collect();
        let refs: Vec<&[f32]> = frames.iter().map(|f| f.as_slice()).collect();
        let line = ae.fit(&refs).unwrap().unwrap();
        assert!(line.contains("100.00%") && line.contains(", "), "{line}");
        let all: Vec<f64> = frames.iter().flatten().map(|&v| v as f64).collect();
        let x = Tensor::from_vec(all, (60, 4), &Device::Cpu).unwrap();
        let z = ae.encode(&x, false).unwrap();
        for v in z.sqr().unwrap().mean(0).unwrap().to_vec1::<f64>().unwrap() {
            assert!((v - 1.0).abs() < 1e-6, "{v}");
        }
        assert!(max_abs_diff(&ae.decode(&z, false).unwrap(), &x) < 1e-5);
        assert_fixed_map_derivatives(ae.as_ref(), &[4], 2);
        // Only a projection can be whitened.
        let e = refusal(&[AutoencoderConfig {
            whiten: true,
            ..Default::default()
        }]);
        assert!(e.contains("autoencoder.whiten"), "{e}");
    }

    #[test]
    fn a_cubic_pca_decoder_recovers_frames_on_a_cubic_surface() {
        // Frames μ + a·u + b·v + 0.2(a³ − 3ab²)·w in R⁴ on rings of radius 0.5, 1 and 1.5: the cubic
        // direction is uncorrelated with a and b, so the projection finds the (u, v) plane and leaves
        // the cubic part to the decoder.
        let (u, v, w) = (
            [0.6, 0.8, 0.0, 0.0],
            [0.0, 0.0, 0.8, -0.6],
            [0.8, -0.6, 0.0, 0.0],
        );
        let frames: Vec<Vec<f32>> = (0..120)
            .map(|i| {
                let (r, t) = (
                    0.5 * (1 + i % 3) as f64,
                    (i / 3) as f64 * std::f64::consts::TAU / 40.0,
                );
                let (a, b) = (r * t.cos(), r * t.sin());
                let c = a.powi(3) - 3.0 * a * b * b;
                (0..4)
                    .map(|j| (0.3 + a * u[j] + b * v[j] + 0.2 * c * w[j]) as f32)
                    .collect()
            })
            .collect();
        let refs: Vec<&[f32]> = frames.iter().map(|f| f.as_slice()).collect();
        let all: Vec<f64> = frames.iter().flatten().map(|&v| v as f64).collect();
        let x = Tensor::from_vec(all, (120, 4), &Device::Cpu).unwrap();
        for (degree, whiten) in [(1, false), (3, false), (3, true)] {
            let cfg = AutoencoderConfig {
                kind: Kind::Pca,
                latent: 2,
                whiten,
                decoder_degree: degree,
                ..Default::default()
            };
            let mut p = Params::new(DType::F64, &Device::Cpu);
            let mut rng = crate::rng::stream(5, "t");
            let ae = build(&cfg, &[4], &mut p.scope("ae", &mut rng)).unwrap();
            let line = ae.fit(&refs).unwrap().unwrap();
            let err = max_abs_diff(
                &ae.decode(&ae.encode(&x, false).unwrap(), false).unwrap(),
                &x,
            );
            if degree == 1 {
                // The projection alone misses the cubic part.
                assert!(!p.buffers().contains_key("ae.poly"));
                assert!(err > 0.1, "{err}");
                continue;
            }
            assert_eq!(p.buffers()["ae.poly"].dims(), &[7, 4]);
            assert!(
                line.contains("the polynomial decoder (7 monomials) keeps 100.00%"),
                "{line}"
            );
            assert!(err < 1e-5, "degree {degree}, whiten {whiten}: {err}");
            // The decoder's cubic part lies off the components: encoding a decoded latent gives it back.
            let z = randn_like(&[6, 2], 1.0, 7).unwrap();
            let back = ae.encode(&ae.decode(&z, false).unwrap(), false).unwrap();
            assert!(max_abs_diff(&back, &z) < 1e-6);
            assert_fixed_map_derivatives(ae.as_ref(), &[4], 2);
        }
        // Only a projection has a polynomial decoder, of degree at least 1; too few frames are refused.
        let e = refusal(&[3, 0].map(|degree| AutoencoderConfig {
            decoder_degree: degree,
            ..Default::default()
        }));
        assert!(e.contains("autoencoder.decoder_degree"), "{e}");
        assert!(
            e.contains("needs kind = \"pca\"") && e.contains("expected at least 1"),
            "{e}"
        );
        let cfg = AutoencoderConfig {
            kind: Kind::Pca,
            latent: 2,
            decoder_degree: 3,
            ..Default::default()
        };
        let mut p = Params::new(DType::F64, &Device::Cpu);
        let mut rng = crate::rng::stream(5, "t");
        let ae = build(&cfg, &[4], &mut p.scope("ae", &mut rng)).unwrap();
        let e = ae.fit(&refs[..6]).unwrap_err().to_string();
        assert!(e.contains("7 monomials need more than 6"), "{e}");
    }

    #[test]
    fn identity_is_the_identity() {
        let (p, ae) = small(Kind::Identity);
        let x = randn_like(&[4, 3], 1.0, 2).unwrap();
        let z = ae.encode(&x, true).unwrap();
        let y = ae.decode(&z, true).unwrap();
        assert_eq!(ae.latent_dim(), 3);
        assert_eq!(y.to_vec2::<f64>().unwrap(), x.to_vec2::<f64>().unwrap());
        assert!(p.vars().is_empty());
        let err = decoder_jvp_error(ae.as_ref(), &z, &x.sin().unwrap()).unwrap();
        assert!(err < 1e-8, "decoder jvp {err:e}");
    }

    #[test]
    fn pca_projects_on_the_fitted_components_and_decodes_what_it_spans() {
        let cfg = AutoencoderConfig {
            kind: Kind::Pca,
            latent: 2,
            ..Default::default()
        };
        let mut p = Params::new(DType::F64, &Device::Cpu);
        let mut rng = crate::rng::stream(4, "t");
        let ae = build(&cfg, &[2, 3], &mut p.scope("ae", &mut rng)).unwrap();
        assert!(p.vars().is_empty() && p.buffers().contains_key("ae.components"));
        // Frames μ + a·u + b·v on a plane of R⁶: decoding the encoding gives them back.
        let (u, v) = (
            [1.0, 0.0, 2.0, 0.0, 0.0, 0.0],
            [0.0, 1.0, 0.0, 0.0, -1.0, 3.0],
        );
        let frames: Vec<Vec<f32>> = (0..40)
            .map(|i| {
                let t = i as f64 * 0.7;
                (0..6)
                    .map(|j| (0.5 + t.sin() * u[j] + 0.3 * (2.0 * t).cos() * v[j]) as f32)
                    .collect()
            })
            .collect();
        let refs: Vec<&[f32]> = frames.iter().map(|f| f.as_slice()).collect();
        let line = ae.fit(&refs).unwrap().unwrap();
        assert!(line.contains("100.00%"), "{line}");
        let flat: Vec<f64> = frames[..5].iter().flatten().map(|&v| v as f64).collect();
        let x = Tensor::from_vec(flat, (5, 2, 3), &Device::Cpu).unwrap();
        let z = ae.encode(&x, true).unwrap();
        assert_eq!(z.dims(), &[5, 2]);
        let y = ae.decode(&z, false).unwrap();
        assert!(max_abs_diff(&y, &x) < 1e-5);
        // The latent of the whole sample has unit mean variance.
        let all: Vec<f64> = frames.iter().flatten().map(|&v| v as f64).collect();
        let z = ae
            .encode(
                &Tensor::from_vec(all, (40, 6), &Device::Cpu).unwrap(),
                false,
            )
            .unwrap();
        let var = z
            .sqr()
            .unwrap()
            .mean_all()
            .unwrap()
            .to_scalar::<f64>()
            .unwrap();
        assert!((var - 1.0).abs() < 1e-6, "{var}");
        assert_fixed_map_derivatives(ae.as_ref(), &[2, 3], 2);
        // A sample that spans fewer directions than the latent is refused.
        let e = ae.fit(&refs[..1]).unwrap_err().to_string();
        assert!(e.contains("do not vary"), "{e}");
    }
}
