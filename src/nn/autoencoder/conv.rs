//! Convolutional autoencoders for signals and images (`[autoencoder] kind = "conv1d"` or `"cnn"`).
//!
//! Encoder: per entry of `channels`, a `kernel`-wide convolution (zero padding keeps the size), ReLU
//! and a max-pool by 2 (along the width for signals, both axes for images); then the flattened
//! features pass through `fc` Linear + ReLU layers, the orthogonal (or plain) head and the latent batch
//! norm. Decoder, mirrored: `fc` reversed, a Linear to the smallest feature map, and per stage a
//! nearest-neighbour upsampling by 2 and a convolution (ReLU between stages), cropped to the
//! observation's size and passed through the output activation (sigmoid for pixel data).
//! Observations are `[length]` or `[channels, length]` for `conv1d`, `[height, width]` or
//! `[channels, height, width]` for `cnn`.

use super::codec::{flatten_obs, Autoencoder, Head};
use super::{AutoencoderConfig, Kind, OutputActivation};
use crate::nn::batch_norm::BatchNorm;
use crate::nn::conv::{crop, max_pool, upsample, Conv2d};
use crate::nn::fused::Act;
use crate::nn::linear::Linear;
use crate::nn::params::Scope;
use candle_core::{Result, Tensor, Var};

/// A convolutional encoder/decoder pair.
pub struct ConvAutoencoder {
    obs: Vec<usize>,
    /// (channels, height, width) of one observation; height 1 for signals.
    image: (usize, usize, usize),
    /// Pooling and upsampling factors: (1, 2) for signals, (2, 2) for images.
    step: (usize, usize),
    latent: usize,
    enc_convs: Vec<Conv2d>,
    enc_fc: Vec<Linear>,
    head: Head,
    latent_norm: Option<BatchNorm>,
    dec_fc: Vec<Linear>,
    /// Linear to the smallest feature map `[channels.last, h0, w0]`.
    dec_map: Linear,
    map: (usize, usize, usize),
    dec_convs: Vec<Conv2d>,
    output: OutputActivation,
}

impl ConvAutoencoder {
    /// Builds `encoder.{conv.i, fc.i, head, norm}` and `decoder.{fc.i, map, conv.i}` in scope `s`.
    pub fn new(cfg: &AutoencoderConfig, obs: &[usize], s: &mut Scope) -> Result<Self> {
        let one_d = cfg.kind == Kind::Conv1d;
        let image = match (one_d, obs) {
            (true, &[l]) => (1, 1, l),
            (true, &[c, l]) => (c, 1, l),
            (false, &[h, w]) => (1, h, w),
            (false, &[c, h, w]) => (c, h, w),
            _ => candle_core::bail!(
                "autoencoder kind {:?} needs observations of shape {}; found {obs:?}",
                cfg.kind,
                if one_d {
                    "[length] or [channels, length]"
                } else {
                    "[height, width] or [channels, height, width]"
                }
            ),
        };
        if cfg.channels.is_empty() || cfg.channels.contains(&0) || cfg.kernel.is_multiple_of(2) {
            candle_core::bail!(
                "autoencoder: channels must be a non-empty list of positive sizes and kernel odd; \
                 found channels {:?}, kernel {}",
                cfg.channels,
                cfg.kernel
            );
        }
        if cfg.latent == 0 || cfg.fc.contains(&0) {
            candle_core::bail!(
                "autoencoder: latent and fc sizes must be positive; found latent {}, fc {:?}",
                cfg.latent,
                cfg.fc
            );
        }
        let step = if one_d { (1, 2) } else { (2, 2) };
        let stages = cfg.channels.len() as u32;
        let (c0, h, w) = image;
        // Feature map after the encoder's pools (floor) and the decoder's start (ceil, then cropped).
        let shrink = |n: usize, f: usize, ceil: bool| {
            let d = f.pow(stages);
            if ceil {
                n.div_ceil(d)
            } else {
                n / d
            }
        };
        let (fh, fw) = (shrink(h, step.0, false), shrink(w, step.1, false));
        if fh == 0 || fw == 0 {
            candle_core::bail!(
                "autoencoder: {stages} pooling stages do not fit observations of {h}×{w}"
            );
        }
        let k = cfg.kernel;
        let (kernel, pad) = if one_d {
            ((1, k), (0, k / 2))
        } else {
            ((k, k), (k / 2, k / 2))
        };
        let last = *cfg.channels.last().expect("non-empty");

        let mut es = s.pp("encoder");
        let mut enc_convs = Vec::new();
        let mut inp = c0;
        for (i, &c) in cfg.channels.iter().enumerate() {
            enc_convs.push(Conv2d::new(
                &mut es.pp(format!("conv.{i}")),
                inp,
                c,
                kernel,
                pad,
            )?);
            inp = c;
        }
        let mut enc_fc = Vec::new();
        let mut width = last * fh * fw;
        for (i, &f) in cfg.fc.iter().enumerate() {
            enc_fc.push(Linear::new(&mut es.pp(format!("fc.{i}")), width, f, true)?);
            width = f;
        }
        let head = Head::new(&mut es.pp("head"), cfg.orthogonal, width, cfg.latent)?;
        let latent_norm = if cfg.latent_norm {
            Some(BatchNorm::new(&mut es.pp("norm"), cfg.latent)?)
        } else {
            None
        };

        let mut ds = s.pp("decoder");
        let mut dec_fc = Vec::new();
        let mut width = cfg.latent;
        for (i, &f) in cfg.fc.iter().rev().enumerate() {
            dec_fc.push(Linear::new(&mut ds.pp(format!("fc.{i}")), width, f, true)?);
            width = f;
        }
        let map = (last, shrink(h, step.0, true), shrink(w, step.1, true));
        let dec_map = Linear::new(&mut ds.pp("map"), width, map.0 * map.1 * map.2, true)?;
        let mut dec_convs = Vec::new();
        let outs: Vec<usize> = cfg
            .channels
            .iter()
            .rev()
            .skip(1)
            .copied()
            .chain([c0])
            .collect();
        let mut inp = last;
        for (i, &c) in outs.iter().enumerate() {
            dec_convs.push(Conv2d::new(
                &mut ds.pp(format!("conv.{i}")),
                inp,
                c,
                kernel,
                pad,
            )?);
            inp = c;
        }
        Ok(Self {
            obs: obs.to_vec(),
            image,
            step,
            latent: cfg.latent,
            enc_convs,
            enc_fc,
            head,
            latent_norm,
            dec_fc,
            dec_map,
            map,
            dec_convs,
            output: cfg.output,
        })
    }

    /// The encoder in train or eval mode.
    fn encode_impl(&self, x: &Tensor, train: bool) -> Result<Tensor> {
        let n = x.dim(0)?;
        let (c, h, w) = self.image;
        let mut y = x.reshape((n, c, h, w))?;
        for conv in &self.enc_convs {
            y = max_pool(&conv.forward_act(&y, Act::Relu)?, self.step)?;
        }
        let mut y = flatten_obs(&y)?;
        for l in &self.enc_fc {
            y = l.forward_act(&y, Act::Relu)?;
        }
        let z = self.head.forward(&y)?;
        match &self.latent_norm {
            Some(bn) => bn.forward(&z, train),
            None => Ok(z),
        }
    }
}

impl Autoencoder for ConvAutoencoder {
    fn encode(&self, x: &Tensor, train: bool) -> Result<Tensor> {
        self.encode_impl(x, train)
    }

    fn decode_pre(&self, z: &Tensor, _train: bool) -> Result<Tensor> {
        let n = z.dim(0)?;
        let mut y = z.clone();
        for l in &self.dec_fc {
            y = l.forward_act(&y, Act::Relu)?;
        }
        let mut y = self
            .dec_map
            .forward(&y)?
            .reshape((n, self.map.0, self.map.1, self.map.2))?;
        let last = self.dec_convs.len() - 1;
        for (i, conv) in self.dec_convs.iter().enumerate() {
            let act = if i < last { Act::Relu } else { Act::Identity };
            y = conv.forward_act(&upsample(&y, self.step)?, act)?;
        }
        let y = crop(&y, (self.image.1, self.image.2))?;
        let mut shape = vec![n];
        shape.extend(&self.obs);
        y.reshape(shape)
    }

    fn output(&self) -> OutputActivation {
        self.output
    }

    fn latent_dim(&self) -> usize {
        self.latent
    }

    fn encode_jvp(&self, x: &Tensor, v: &Tensor) -> Result<(Tensor, Tensor)> {
        jvp_by_backprop(|x| self.encode_impl(x, false), x, v)
    }
}

/// φ(x) and J_φ(x)·v for a map `f` that treats the rows of `x` independently (an eval-mode
/// encoder), by one reverse pass per latent coordinate: row i of the gradient of Σₙ f(x)ₙⱼ is
/// ∂f(xₙ)ⱼ/∂xₙ, so its dot product with vₙ is the directional derivative. Exact, and only needs
/// the backward passes the layers already have.
pub fn jvp_by_backprop(
    f: impl Fn(&Tensor) -> Result<Tensor>,
    x: &Tensor,
    v: &Tensor,
) -> Result<(Tensor, Tensor)> {
    let n = x.dim(0)?;
    let xv = Var::from_tensor(&x.contiguous()?)?;
    let z = f(xv.as_tensor())?;
    let v = flatten_obs(v)?;
    let cols = (0..z.dim(1)?)
        .map(|j| {
            let grads = z.narrow(1, j, 1)?.sum_all()?.backward()?;
            match grads.get(xv.as_tensor()) {
                Some(g) => flatten_obs(g)?.mul(&v)?.sum_keepdim(1),
                None => Tensor::zeros((n, 1), x.dtype(), x.device()),
            }
        })
        .collect::<Result<Vec<_>>>()?;
    Ok((z.detach(), Tensor::cat(&cols, 1)?))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::nn::autoencoder::build;
    use crate::nn::params::Params;
    use crate::testing::{
        encoder_jvp_error, grad_check, grad_check_var, randn_like, randomize_norms,
    };
    use candle_core::{DType, Device};

    fn tiny(kind: Kind, obs: &[usize]) -> (Params, Box<dyn Autoencoder>) {
        let cfg = AutoencoderConfig {
            kind,
            latent: 2,
            channels: vec![2, 3],
            fc: vec![5],
            output: OutputActivation::Sigmoid,
            ..Default::default()
        };
        let mut p = Params::new(DType::F64, &Device::Cpu);
        let mut rng = crate::rng::stream(11, "t");
        let ae = build(&cfg, obs, &mut p.scope("ae", &mut rng)).unwrap();
        (p, ae)
    }

    /// Random inputs and weights: no pooling window holds a tie and no ReLU input sits within the
    /// 1e-6 step of zero, so central differences stay on one branch of every max and ReLU.
    #[test]
    fn conv_autoencoders_gradients_match_finite_differences() {
        crate::testing::on_both_paths(|| {
            for (kind, obs) in [
                (Kind::Conv1d, vec![12]),
                (Kind::Conv1d, vec![2, 9]),
                (Kind::Cnn, vec![6, 7]),
                (Kind::Cnn, vec![2, 5, 4]),
            ] {
                let (p, ae) = tiny(kind, &obs);
                let mut shape = vec![4];
                shape.extend(&obs);
                let x = randn_like(&shape, 1.0, 21).unwrap();
                let r = randn_like(&shape, 1.0, 22).unwrap();
                let loss = |x: &Tensor| -> Result<Tensor> {
                    ae.decode(&ae.encode(x, true)?, true)?.mul(&r)?.sum_all()
                };
                let y = ae.decode(&ae.encode(&x, true).unwrap(), true).unwrap();
                assert_eq!(y.dims(), &shape[..], "{kind:?} {obs:?}");
                let e = grad_check(&x, 1e-6, loss).unwrap();
                assert!(e < 1e-6, "{kind:?} {obs:?} input {e:e}");
                for (name, v) in p.vars() {
                    let e = grad_check_var(v, 1e-6, || loss(&x)).unwrap();
                    assert!(e < 1e-6, "{kind:?} {obs:?} {name}: {e:e}");
                }
                // Sigmoid output.
                let lo = y.min_all().unwrap().to_scalar::<f64>().unwrap();
                let hi = y.max_all().unwrap().to_scalar::<f64>().unwrap();
                assert!(lo > 0.0 && hi < 1.0);
            }
        });
    }

    #[test]
    fn conv_encoder_jvp_matches_finite_differences() {
        crate::testing::on_both_paths(|| {
            for (kind, obs) in [(Kind::Conv1d, vec![16]), (Kind::Cnn, vec![3, 8, 8])] {
                let (p, ae) = tiny(kind, &obs);
                randomize_norms(&p).unwrap();
                let mut shape = vec![3];
                shape.extend(&obs);
                let x = randn_like(&shape, 1.0, 31).unwrap();
                let v = randn_like(&shape, 1.0, 32).unwrap();
                let err = encoder_jvp_error(ae.as_ref(), &x, &v).unwrap();
                assert!(err < 1e-7, "{kind:?} jvp {err:e}");
                // No trainable decoder Jacobian, as the kind says.
                let z = randn_like(&[3, ae.latent_dim()], 1.0, 33).unwrap();
                assert!(!kind.has_decoder_jvp());
                let e = ae.decode_jvp(&z, &z).unwrap_err().to_string();
                assert!(e.contains("no trainable decoder Jacobian"), "{e}");
            }
        });
    }

    #[test]
    fn shapes_the_architecture_cannot_take_are_refused() {
        let cfg = AutoencoderConfig {
            kind: Kind::Cnn,
            ..Default::default()
        };
        let mut p = Params::new(DType::F64, &Device::Cpu);
        let mut rng = crate::rng::stream(1, "t");
        let err = build(&cfg, &[64], &mut p.scope("ae", &mut rng))
            .err()
            .unwrap();
        assert!(err.to_string().contains("[height, width]"), "{err}");
        let err = build(&cfg, &[4, 4], &mut p.scope("ae2", &mut rng))
            .err()
            .unwrap();
        assert!(err.to_string().contains("pooling stages"), "{err}");
    }
}
