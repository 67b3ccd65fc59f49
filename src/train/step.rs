//! One training step: the LaLiGAN loss (DESIGN.md §3) with one backward pass and three Adam updates.

use super::model::LaLiGan;
use super::orbit_term;
use super::{ReconLoss, Regularizer, TrainConfig};
use crate::lie::LieConfig;
use crate::nn::loss::{bce_with_logits, bce_with_logits_targets, mse};
use crate::nn::{Adam, GradSink, Params};
use candle_core::{DType, Result, Tensor, D};

/// Loss terms of one step (unweighted), as tensors or numbers.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Terms<T = f64> {
    /// MSE(ψ(φ(x)), x), or the BCE of `recon_loss = "bce"`.
    pub recon: T,
    /// BCE(D(g·z), real): the generator's adversarial term.
    pub gan: T,
    /// Regulariser R.
    pub reg: T,
    /// Channel term C.
    pub chreg: T,
    /// ½[BCE(D(z), real) + BCE(D(g·z), fake)].
    pub disc: T,
    /// Orbit consistency O (0 when `w_orbit` is 0).
    pub orbit: T,
}

/// How many loss terms there are.
pub const N_TERMS: usize = 6;

impl Terms<f64> {
    /// Names of the terms, in CSV order.
    pub const NAMES: [&'static str; N_TERMS] = ["recon", "gan", "reg", "chreg", "disc", "orbit"];

    /// The terms in CSV order.
    pub fn values(&self) -> [f64; N_TERMS] {
        [
            self.recon, self.gan, self.reg, self.chreg, self.disc, self.orbit,
        ]
    }

    /// The first non-finite term, if any.
    pub fn non_finite(&self) -> Option<&'static str> {
        Self::NAMES
            .iter()
            .zip(self.values())
            .find(|(_, v)| !v.is_finite())
            .map(|(n, _)| *n)
    }
}

/// Mean over rows of cosine(a, b) for `[n, k]` rows.
fn mean_cosine(a: &Tensor, b: &Tensor) -> Result<Tensor> {
    let dot = (a * b)?.sum(D::Minus1)?;
    let norms = (a.sqr()?.sum(D::Minus1)? * b.sqr()?.sum(D::Minus1)?)?;
    dot.div(&norms.affine(1.0, 1e-16)?.sqrt()?)?.mean_all()
}

/// The regulariser R for latents `z` and transformed latents `gz` (`[batch, window, latent]`).
pub fn regularizer(model: &LaLiGan, kind: Regularizer, z: &Tensor, gz: &Tensor) -> Result<Tensor> {
    match kind {
        Regularizer::Cosine => {
            let k = z.dim(D::Minus1)?;
            mean_cosine(&gz.reshape(((), k))?, &z.reshape(((), k))?)?.abs()
        }
        Regularizer::Lnorm => {
            let mut total = Tensor::zeros((), z.dtype(), z.device())?;
            for (b, l) in model.rep.blocks.iter().zip(model.rep.generators()?) {
                if !b.learnable {
                    continue;
                }
                let (c, d) = (b.block.channels, b.block.dim);
                let norms = l.reshape((c, d * d))?.sqr()?.sum(1)?.sqrt()?;
                let capped = norms.minimum((c * d) as f64)?;
                total = (total - capped.sum_all()?)?;
            }
            Ok(total)
        }
        Regularizer::None => Tensor::zeros((), z.dtype(), z.device()),
    }
}

/// The channel term C: Σ over learnable blocks of Σ_{i<j} |cosine(Lᵢ, Lⱼ)|.
pub fn channel_term(model: &LaLiGan) -> Result<Tensor> {
    let dev = model.lie_params.device();
    let dtype = model.lie_params.dtype();
    let mut total = Tensor::zeros((), dtype, dev)?;
    for (b, l) in model.rep.blocks.iter().zip(model.rep.generators()?) {
        let c = b.block.channels;
        if !b.learnable || c < 2 {
            continue;
        }
        let flat = l.reshape((c, ()))?;
        let norms = flat.sqr()?.sum_keepdim(1)?.affine(1.0, 1e-16)?.sqrt()?;
        let n = flat.broadcast_div(&norms)?;
        let gram = n.matmul(&n.t()?)?.abs()?;
        let upper: Vec<f64> = (0..c * c)
            .map(|k| if k % c > k / c { 1.0 } else { 0.0 })
            .collect();
        let upper = Tensor::from_vec(upper, (c, c), dev)?.to_dtype(dtype)?;
        total = (total + gram.mul(&upper)?.sum_all()?)?;
    }
    Ok(total)
}

/// The loss of one batch of windows `x` (`[batch, window, obs..]`) with group coefficients `w` (one
/// `[batch, channels]` tensor per block), in train mode. `forms` holds each block's invariant form,
/// fixed for the step ([`orbit_term::forms`]), when `w_orbit` is on. Returns the total and its terms.
pub fn loss(
    model: &LaLiGan,
    train: &TrainConfig,
    lie: &LieConfig,
    x: &Tensor,
    w: &[Tensor],
    forms: Option<&[Tensor]>,
) -> Result<(Tensor, Terms<Tensor>)> {
    let (b, win) = (x.dim(0)?, x.dim(1)?);
    let z = model.encode_windows(x, true)?; // [b, win, k]
    let k = z.dim(2)?;
    let pre = model.ae.decode_pre(&z.reshape((b * win, k))?, true)?;
    let xhat = model.ae.output().apply(&pre)?;
    let target = x.reshape(xhat.shape())?;
    let recon = match train.recon_loss {
        ReconLoss::Mse => mse(&xhat, &target)?,
        ReconLoss::Bce => bce_with_logits_targets(&pre, &target)?,
    };

    let gz = super::eval::transform(model, lie, &z, w)?;
    let zf = z.reshape((b, win * k))?;
    let (real, fake) = model.disc_inputs(&zf, &gz, || Ok(xhat.clone()), true)?;
    // One discriminator pass over [g·z (with gradient), z, g·z (both detached)]; the detached g·z rows
    // repeat the first ones, so only their gradient is computed apart.
    let logits = model.disc.forward_repeat(
        &Tensor::cat(&[&fake, &real.detach(), &fake.detach()], 0)?,
        b,
    )?;
    let gan = bce_with_logits(&logits.narrow(0, 0, b)?, 1.0)?;
    let d_real = bce_with_logits(&logits.narrow(0, b, b)?, 1.0)?;
    let d_fake = bce_with_logits(&logits.narrow(0, 2 * b, b)?, 0.0)?;
    let disc = ((d_real + d_fake)? * 0.5)?;
    let reg = regularizer(model, train.regularizer, &z, &gz.reshape((b, win, k))?)?;
    let chreg = channel_term(model)?;
    let mut total = ((&recon * train.w_recon)?
        + (&gan * train.w_gan)?
        + (&reg * train.w_reg)?
        + (&chreg * train.w_chreg)?
        + &disc)?;
    let orbit = match forms {
        Some(forms) if train.w_orbit > 0.0 => {
            let o = orbit_term::term(lie, &z, forms, &orbit_term::pieces(model))?;
            total = (total + (&o * train.w_orbit)?)?;
            o
        }
        _ => Tensor::zeros((), z.dtype(), z.device())?,
    };
    Ok((
        total,
        Terms {
            recon,
            gan,
            reg,
            chreg,
            disc,
            orbit,
        },
    ))
}

/// Time spent in the parts of one step (seconds).
#[derive(Clone, Copy, Debug, Default)]
pub struct StepTimes {
    pub forward: f64,
    pub backward: f64,
    pub optimizer: f64,
}

/// The model with its three optimizers.
pub struct Trainer {
    pub model: LaLiGan,
    pub opt_ae: Adam,
    pub opt_lie: Adam,
    pub opt_disc: Adam,
}

fn vars(p: &Params) -> Vec<(String, candle_core::Var)> {
    p.vars()
        .iter()
        .map(|(k, v)| (k.clone(), v.clone()))
        .collect()
}

impl Trainer {
    /// Optimizers for `model` with the learning rates of `cfg`.
    pub fn new(model: LaLiGan, cfg: &TrainConfig) -> Result<Self> {
        Ok(Self {
            opt_ae: Adam::new(vars(&model.ae_params), cfg.lr_ae)?,
            opt_lie: Adam::new(vars(&model.lie_params), cfg.lr_lie)?,
            opt_disc: Adam::new(vars(&model.disc_params), cfg.lr_disc)?,
            model,
        })
    }

    /// Sets the three learning rates to `scale` times those of `cfg`.
    pub fn scale_lr(&mut self, cfg: &TrainConfig, scale: f64) {
        self.opt_ae.lr = cfg.lr_ae * scale;
        self.opt_lie.lr = cfg.lr_lie * scale;
        self.opt_disc.lr = cfg.lr_disc * scale;
    }

    /// One step on windows `x` with coefficients `w`: loss, one backward pass, three updates. Returns the
    /// terms and the time of each part. Nothing is updated when a term is not finite.
    pub fn step(
        &mut self,
        train: &TrainConfig,
        lie: &LieConfig,
        x: &Tensor,
        w: &[Tensor],
    ) -> Result<(Terms, StepTimes)> {
        let t0 = std::time::Instant::now();
        // The hidden-layer stacks file their parameter gradients in the sink (see `nn::stack`).
        let sink = GradSink::default();
        let forms = if train.w_orbit > 0.0 {
            Some(orbit_term::forms(&self.model)?)
        } else {
            None
        };
        let (total, t) = {
            let _active = sink.activate();
            loss(&self.model, train, lie, x, w, forms.as_deref())?
        };
        let scalar = |t: &Tensor| t.to_dtype(DType::F64)?.to_scalar::<f64>();
        let terms = Terms {
            recon: scalar(&t.recon)?,
            gan: scalar(&t.gan)?,
            reg: scalar(&t.reg)?,
            chreg: scalar(&t.chreg)?,
            disc: scalar(&t.disc)?,
            orbit: scalar(&t.orbit)?,
        };
        let t1 = std::time::Instant::now();
        if terms.non_finite().is_some() {
            return Ok((terms, StepTimes::default()));
        }
        let mut grads = total.backward()?;
        sink.drain_into(&mut grads)?;
        let t2 = std::time::Instant::now();
        self.opt_ae.step(&grads)?;
        self.opt_lie.step(&grads)?;
        self.opt_disc.step(&grads)?;
        let t3 = std::time::Instant::now();
        Ok((
            terms,
            StepTimes {
                forward: (t1 - t0).as_secs_f64(),
                backward: (t2 - t1).as_secs_f64(),
                optimizer: (t3 - t2).as_secs_f64(),
            },
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::experiment::Experiment;
    use crate::rng;
    use candle_core::Device;

    /// A LieGAN (identity autoencoder) on a rotation-invariant ring distribution learns a generator
    /// conjugate to a rotation.
    #[test]
    fn liegan_finds_the_rotation_of_a_ring() {
        let exp: Experiment = Experiment::parse(
            r#"
            seed = 3
            [data]
            window = 1
            [autoencoder]
            kind = "identity"
            [lie]
            blocks = [{ copies = 1, channels = 1, dim = 2 }]
            threshold_every = 0
            [discriminator]
            hidden = 64
            layers = 3
            [train]
            w_gan = 0.01
            w_reg = 0.02
            lr_lie = 0.01
            "#,
            "test",
            &[],
        )
        .unwrap();
        let dev = Device::Cpu;
        let model = LaLiGan::new(&exp.setup(), &[2], DType::F32, &dev).unwrap();
        let mut t = Trainer::new(model, &exp.train).unwrap();
        let mut r = rng::stream(0, "ring");
        let b = 256;
        for _ in 0..1500 {
            let pts: Vec<f32> = (0..b)
                .flat_map(|_| {
                    let rad = rng::uniform(&mut r, 1.0, 1.5);
                    let a = rng::uniform(&mut r, 0.0, std::f64::consts::TAU);
                    [
                        (rad * a.cos() + 3.0) as f32,
                        (0.5 * rad * a.sin() - 1.0) as f32,
                    ]
                })
                .collect();
            let x = Tensor::from_vec(pts, (b, 1, 2), &dev).unwrap();
            let w = t
                .model
                .rep
                .sample(b, exp.lie.sampling, exp.lie.sigma, &mut r, DType::F32, &dev)
                .unwrap();
            t.step(&exp.train, &exp.lie, &x, &w).unwrap();
        }
        let l: Vec<f64> = t.model.rep.generators().unwrap()[0]
            .to_dtype(DType::F64)
            .unwrap()
            .flatten_all()
            .unwrap()
            .to_vec1()
            .unwrap();
        let ir = crate::metrics::imag_ratio(&l, 2);
        assert!(ir > 0.98, "imag_ratio {ir} for {l:?}");
    }
}

#[cfg(test)]
mod loss_tests {
    use super::*;
    use crate::experiment::Experiment;
    use crate::lie::MaskRule;
    use crate::testing::{grad_check_var, grad_check_var_sunk, randn_like};
    use candle_core::Device;

    fn tiny(extra: &str) -> (Experiment, LaLiGan) {
        tiny_with(extra, &[])
    }

    /// [`tiny`] with `--set` overrides.
    fn tiny_with(extra: &str, sets: &[String]) -> (Experiment, LaLiGan) {
        let exp: Experiment = Experiment::parse(
            &format!(
                r#"
                seed = 5
                [autoencoder]
                hidden = 6
                layers = 2
                [discriminator]
                hidden = 5
                layers = 2
                [train]
                w_gan = 0.3
                w_reg = 0.7
                w_chreg = 0.2
                {extra}
                "#
            ),
            "test",
            sets,
        )
        .unwrap();
        let model = LaLiGan::new(&exp.setup(), &[3], DType::F64, &Device::Cpu).unwrap();
        (exp, model)
    }

    /// The whole training loss against central differences in f64, for every parameter: the
    /// autoencoder and generator see every term but the discriminator's (their inputs to it are
    /// detached there); the discriminator sees its own term and the generator's GAN term.
    #[test]
    fn whole_loss_gradient_matches_finite_differences() {
        crate::testing::on_both_paths(|| {
            // Two learnable channels so the channel term is active; both regularizers; both centerings;
            // both reconstruction losses (BCE on a sigmoid output); the orbit term on and off (its
            // invariant forms fixed for the step, as in training).
            let blocks = "blocks = [{ copies = 2, channels = 2, dim = 2 }]";
            for (reg, center, recon, w_orbit) in [
                ("cosine", false, "mse", 0.4),
                ("lnorm", true, "mse", 0.4),
                ("cosine", false, "bce", 0.0),
            ] {
                let lie = format!("[lie]\n{blocks}\nkeep_center = {center}");
                let sets = if recon == "bce" {
                    vec!["autoencoder.output=\"sigmoid\"".to_string()]
                } else {
                    vec![]
                };
                let extra = format!(
                    "regularizer = \"{reg}\"\nrecon_loss = \"{recon}\"\nw_orbit = {w_orbit}\n{lie}"
                );
                let (exp, model) = tiny_with(&extra, &sets);
                let x = randn_like(&[4, 2, 3], 1.0, 1).unwrap();
                let w = vec![randn_like(&[4, 2], 1.0, 2).unwrap()];
                let forms = orbit_term::forms(&model).unwrap();
                let loss = || loss(&model, &exp.train, &exp.lie, &x, &w, Some(&forms));
                let (_, t) = loss().unwrap();
                let orbit = t.orbit.to_scalar::<f64>().unwrap();
                assert_eq!(
                    orbit > 0.0,
                    w_orbit > 0.0,
                    "orbit term {orbit} at w_orbit {w_orbit}"
                );
                let generator_side = || -> candle_core::Result<Tensor> {
                    let (total, t) = loss()?;
                    total - t.disc
                };
                let disc_side = || -> candle_core::Result<Tensor> {
                    let (_, t) = loss()?;
                    (t.gan * exp.train.w_gan)? + t.disc
                };
                // Layer by layer, and as the training step runs it (the hidden stacks as one node each).
                for sunk in [false, true] {
                    let check =
                        |v: &candle_core::Var, f: &dyn Fn() -> candle_core::Result<Tensor>| {
                            match sunk {
                                false => grad_check_var(v, 1e-5, f),
                                true => grad_check_var_sunk(v, 1e-5, f),
                            }
                            .unwrap()
                        };
                    for (name, v) in model.ae_params.vars().iter().chain(model.lie_params.vars()) {
                        let e = check(v, &generator_side);
                        assert!(e < 1e-5, "{lie:?} {name} (sunk {sunk}): {e:e}");
                    }
                    for (name, v) in model.disc_params.vars() {
                        let e = check(v, &disc_side);
                        assert!(e < 1e-5, "{lie:?} {name} (sunk {sunk}): {e:e}");
                    }
                }
            }
        });
    }

    #[test]
    fn bce_reconstruction_needs_a_sigmoid_output() {
        let exp: Experiment =
            crate::config::parse("seed = 1\n[train]\nrecon_loss = \"bce\"", "test", &[]).unwrap();
        let err = LaLiGan::new(&exp.setup(), &[3], DType::F64, &Device::Cpu)
            .err()
            .expect("refused");
        assert!(err.to_string().contains("output = \"sigmoid\""), "{err}");
    }

    #[test]
    fn regularizers_and_channel_term_match_finite_differences() {
        crate::testing::on_both_paths(|| {
            let (exp, model) = tiny(
                "regularizer = \"lnorm\"\n[lie]\nblocks = [{ copies = 2, channels = 3, dim = 2 }]",
            );
            let z = randn_like(&[4, 2, 2], 1.0, 3).unwrap();
            let lnorm = || regularizer(&model, exp.train.regularizer, &z, &z);
            let chreg = || channel_term(&model);
            for (name, v) in model.lie_params.vars() {
                let e = grad_check_var(v, 1e-6, lnorm).unwrap();
                assert!(e < 1e-7, "lnorm {name}: {e:e}");
                let e = grad_check_var(v, 1e-6, chreg).unwrap();
                assert!(e < 1e-7, "chreg {name}: {e:e}");
            }
            // C of three channels: Σ_{i<j} |cos| computed by hand.
            let l: Vec<f64> = model.rep.generators().unwrap()[0]
                .flatten_all()
                .unwrap()
                .to_vec1()
                .unwrap();
            let ch: Vec<&[f64]> = l.chunks(4).collect();
            let cos = |a: &[f64], b: &[f64]| {
                let dot: f64 = a.iter().zip(b).map(|(x, y)| x * y).sum();
                let n = |v: &[f64]| v.iter().map(|x| x * x).sum::<f64>().sqrt();
                dot / (n(a) * n(b))
            };
            let want = cos(ch[0], ch[1]).abs() + cos(ch[0], ch[2]).abs() + cos(ch[1], ch[2]).abs();
            let got = chreg().unwrap().to_scalar::<f64>().unwrap();
            assert!((got - want).abs() < 1e-10, "{got} vs {want}");
            // Lnorm: −Σ min(‖L_c‖, channels·dim) = −Σ ‖L_c‖ here (norms of standard normal 2×2 are < 6).
            let want: f64 = -ch
                .iter()
                .map(|c| c.iter().map(|x| x * x).sum::<f64>().sqrt())
                .sum::<f64>();
            let got = lnorm().unwrap().to_scalar::<f64>().unwrap();
            assert!((got - want).abs() < 1e-10, "{got} vs {want}");
        });
    }

    #[test]
    fn thresholding_masks_exactly_the_small_entries_and_they_stay_zero() {
        let (exp, model) = tiny("");
        let lie = &model.rep.blocks[0];
        lie.basis
            .set(&Tensor::new(&[[[1.0f64, -0.25], [0.35, -2.0]]], &Device::Cpu).unwrap())
            .unwrap();
        // τ = 0.15: |L| ≤ 0.3 goes; 0.35 stays.
        let active = model.rep.threshold(0.15, MaskRule::Cumulative).unwrap();
        assert_eq!(active, 3);
        let mut t = Trainer::new(model, &exp.train).unwrap();
        let x = randn_like(&[4, 2, 3], 1.0, 1).unwrap();
        for i in 0..5 {
            let w = vec![randn_like(&[4, 1], 1.0, 10 + i).unwrap()];
            t.step(&exp.train, &exp.lie, &x, &w).unwrap();
        }
        let l: Vec<f64> = t.model.rep.generators().unwrap()[0]
            .flatten_all()
            .unwrap()
            .to_vec1()
            .unwrap();
        assert_eq!(l[1], 0.0);
        assert!(
            l.iter().enumerate().all(|(i, v)| i == 1 || *v != 0.0),
            "{l:?}"
        );
        // The masked entry got no gradient: its raw value is untouched.
        let raw: Vec<f64> = t.model.rep.blocks[0]
            .basis
            .as_tensor()
            .flatten_all()
            .unwrap()
            .to_vec1()
            .unwrap();
        assert_eq!(raw[1], -0.25);
        let mask = |t: &Trainer| -> Vec<f64> {
            t.model.rep.blocks[0]
                .mask
                .as_tensor()
                .flatten_all()
                .unwrap()
                .to_vec1()
                .unwrap()
        };
        // Cumulative: a later threshold never brings an entry back.
        t.model.rep.threshold(0.0, MaskRule::Cumulative).unwrap();
        assert_eq!(mask(&t), vec![1.0, 0.0, 1.0, 1.0]);
        // Recompute (the reference's rule): judged on the raw value again, it comes back.
        t.model.rep.threshold(0.0, MaskRule::Recompute).unwrap();
        assert_eq!(mask(&t), vec![1.0; 4]);
    }
}
