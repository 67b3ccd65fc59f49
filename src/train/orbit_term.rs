//! The orbit-consistency term (`train.w_orbit`): how much the group's invariant yᵀQy of each latent
//! piece a block acts on changes along each training window. A latent trajectory that follows an orbit
//! of the learned group keeps its invariant; the term pulls the encoder towards such trajectories.
//!
//! Q is each block's invariant form ([`metrics::invariant_form`]) of the current generators, computed
//! on the host once per step and held fixed (detached): the term moves the latents onto the orbits of
//! the group, it does not move the group. y is the latent about the same centre the group acts about in
//! training (the batch-and-window mean, or the origin with `lie.keep_center`).

use super::model::LaLiGan;
use crate::lie::LieConfig;
use crate::metrics;
use candle_core::{Result, Tensor, D};

/// Where block `block` acts on one observation's latent: the `dim` values from `offset`, in every frame
/// of the window.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Piece {
    pub block: usize,
    pub offset: usize,
    pub dim: usize,
}

/// The pieces of the model's latent that one block acts on in every frame of its window, each once (the
/// flattened window is `[frame 0 latent, frame 1 latent, …]`, the blocks cover it in order, `copies`
/// chunks of `dim` each). A chunk across two frames is not a piece.
pub fn pieces(model: &LaLiGan) -> Vec<Piece> {
    let (k, win) = (model.ae.latent_dim(), model.window);
    // (block, dim) of the chunk starting at each offset of each frame.
    let mut at_frame: Vec<Vec<Option<(usize, usize)>>> = vec![vec![None; k]; win];
    let mut at = 0;
    for (i, b) in model.rep.blocks.iter().enumerate() {
        let d = b.block.dim;
        for c in 0..b.block.copies {
            let f = at + c * d;
            let (j, p) = (f / k, f % k);
            if j < win && p + d <= k {
                at_frame[j][p] = Some((i, d));
            }
        }
        at += b.block.copies * d;
    }
    (0..k)
        .filter_map(|p| {
            let first = at_frame.first()?[p]?;
            at_frame
                .iter()
                .all(|f| f[p] == Some(first))
                .then_some(Piece {
                    block: first.0,
                    offset: p,
                    dim: first.1,
                })
        })
        .collect()
}

/// The invariant form of each block's current generators (`[dim, dim]`, detached), in the model's
/// dtype and on its device.
pub fn forms(model: &LaLiGan) -> Result<Vec<Tensor>> {
    let dev = model.lie_params.device();
    let dtype = model.lie_params.dtype();
    super::eval::block_generators(model)?
        .iter()
        .map(|(d, gens)| {
            let refs: Vec<&[f64]> = gens.iter().map(Vec::as_slice).collect();
            let (q, _) = metrics::invariant_form(&refs, *d);
            Tensor::from_vec(q, (*d, *d), dev)?.to_dtype(dtype)
        })
        .collect()
}

/// The term for latent windows `z` (`[batch, window, latent]`): over the pieces, the mean of
/// mean_b var_j(I) / var_{b,j}(I), where I = yᵀQy of piece p in frame j of window b: the share of the
/// invariant's spread over the batch that lies along the windows. Zero when every window keeps its
/// invariants; at most 1; unchanged by a rescaling of the latent. Measured against the spread between
/// windows, not against the invariant's size, it cannot be lowered by moving every trajectory onto one
/// orbit (which a term relative to the size rewards, and which loses what tells the orbits apart).
pub fn term(lie: &LieConfig, z: &Tensor, forms: &[Tensor], pieces: &[Piece]) -> Result<Tensor> {
    if pieces.is_empty() {
        candle_core::bail!("train.w_orbit: no latent piece that a block acts on in every frame");
    }
    let y = if lie.keep_center {
        z.clone()
    } else {
        z.broadcast_sub(&z.mean_keepdim(1)?.mean_keepdim(0)?)?
    };
    let mut total = Tensor::zeros((), z.dtype(), z.device())?;
    for p in pieces {
        let yp = y.narrow(D::Minus1, p.offset, p.dim)?; // [b, win, d]
        let inv = yp
            .broadcast_matmul(&forms[p.block])?
            .mul(&yp)?
            .sum(D::Minus1)?; // [b, win]
        let within = inv
            .broadcast_sub(&inv.mean_keepdim(1)?)?
            .sqr()?
            .mean_all()?;
        // A floor relative to the invariant's size: one orbit for the whole batch scores 0, not 0/0.
        let all = (inv.broadcast_sub(&inv.mean_all()?)?.sqr()?.mean_all()?
            + (inv.sqr()?.mean_all()? * 1e-12)?)?;
        total = (total + within.div(&all.affine(1.0, 1e-30)?)?)?;
    }
    total / pieces.len() as f64
}

/// Refuses an orbit term that cannot see anything: a window of one frame, or no piece.
pub fn check(model: &LaLiGan, w_orbit: f64) -> crate::Result<()> {
    if w_orbit == 0.0 {
        return Ok(());
    }
    if model.window < 2 {
        return Err(config_err!(
            "train.w_orbit = {w_orbit} penalizes the change of the invariant along a window, but \
             data.window = {}; use a window of 2 or more frames, or w_orbit = 0",
            model.window
        ));
    }
    if pieces(model).is_empty() {
        return Err(config_err!(
            "train.w_orbit = {w_orbit}: no [lie] block acts on the same latent values in every frame \
             of the window (latent {}, window {}); give a block copies = window × (latent / dim)",
            model.ae.latent_dim(),
            model.window
        ));
    }
    Ok(())
}

/// The term of one step as numbers, for tests: latents `z` as `[batch][window][latent]` values.
#[cfg(test)]
fn of(model: &LaLiGan, lie: &LieConfig, z: Vec<f64>, shape: (usize, usize, usize)) -> f64 {
    let z = Tensor::from_vec(z, shape, &candle_core::Device::Cpu).unwrap();
    let forms = forms(model).unwrap();
    term(lie, &z, &forms, &pieces(model))
        .unwrap()
        .to_dtype(candle_core::DType::F64)
        .unwrap()
        .to_scalar()
        .unwrap()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::experiment::Experiment;
    use crate::testing::{grad_check_var, randn_like};
    use candle_core::{DType, Device};

    fn model(latent: usize, window: usize, blocks: &str, extra: &str) -> (Experiment, LaLiGan) {
        let exp: Experiment = Experiment::parse(
            &format!(
                r#"
                seed = 4
                [data]
                window = {window}
                [autoencoder]
                latent = {latent}
                hidden = 6
                layers = 2
                [lie]
                blocks = {blocks}
                {extra}
                [discriminator]
                hidden = 5
                layers = 2
                "#
            ),
            "test",
            &[],
        )
        .unwrap();
        let model = LaLiGan::new(&exp.setup(), &[3], DType::F64, &Device::Cpu).unwrap();
        (exp, model)
    }

    fn set_generator(model: &LaLiGan, l: &[f64]) {
        let b = &model.rep.blocks[0].basis;
        b.set(&Tensor::from_vec(l.to_vec(), b.shape(), &Device::Cpu).unwrap())
            .unwrap();
    }

    #[test]
    fn pieces_are_the_chunks_every_frame_shares() {
        // Latent 4, window 2, one 2-D block on all four chunks: two pieces.
        let (_, m) = model(4, 2, "[{ copies = 4, channels = 1, dim = 2 }]", "");
        let at: Vec<usize> = pieces(&m).iter().map(|p| p.offset).collect();
        assert_eq!(at, [0, 2]);
        // Latent 3: a 2-D block with 3 copies on the 3 + 3 window has chunks at offset 0 of frame 0,
        // across the frames, and at offset 1 of frame 1; no offset in both frames: no piece.
        let (_, m) = model(3, 2, "[{ copies = 3, channels = 1, dim = 2 }]", "");
        assert!(pieces(&m).is_empty());
        // Two blocks, one per frame, are different blocks at the same offset: no piece either.
        let (_, m) = model(
            2,
            2,
            "[{ copies = 1, channels = 1, dim = 2 }, { copies = 1, channels = 1, dim = 2 }]",
            "",
        );
        assert!(pieces(&m).is_empty());
    }

    #[test]
    fn windows_along_orbits_score_zero_and_the_spread_scores_its_ratio() {
        let (exp, m) = model(
            2,
            3,
            "[{ copies = 3, channels = 1, dim = 2 }]",
            "keep_center = true",
        );
        // A rotation whose invariant is the ellipse x² + 4y²: L = [[0, −2], [½, 0]].
        set_generator(&m, &[0.0, -2.0, 0.5, 0.0]);
        let on_orbit = |r: f64, a: f64| [r * a.cos(), 0.5 * r * a.sin()];
        let z: Vec<f64> = [(1.0, 0.1), (0.3, 2.0)]
            .iter()
            .flat_map(|&(r, a0)| (0..3).flat_map(move |j| on_orbit(r, a0 + 0.7 * j as f64)))
            .collect();
        let t = of(&m, &exp.lie, z, (2, 3, 2));
        assert!(t < 1e-12, "{t}");
        // One window whose radius² goes 1, 4, 1 (I = r²) and one on the orbit I = 9: within the
        // windows the variances are 2 and 0, over all six values 79.5 / 6; the term is 1 / 13.25,
        // unchanged by scaling the latent.
        for s in [1.0, 7.5] {
            let z: Vec<f64> = [1.0, 2.0, 1.0, 3.0, 3.0, 3.0]
                .iter()
                .enumerate()
                .flat_map(|(j, r)| on_orbit(s * r, j as f64))
                .collect();
            let t = of(&m, &exp.lie, z, (2, 3, 2));
            assert!((t - 1.0 / 13.25).abs() < 1e-12, "{t}");
        }
    }

    #[test]
    fn the_term_is_taken_about_the_batch_mean_without_keep_center() {
        let (exp, m) = model(2, 2, "[{ copies = 2, channels = 1, dim = 2 }]", "");
        set_generator(&m, &[0.0, 1.0, -1.0, 0.0]);
        // A circle about (5, −3), eight evenly spaced points (so their mean is the centre): the
        // invariant about the batch mean is constant along each window.
        let z: Vec<f64> = (0..4)
            .flat_map(|i| {
                (0..2).flat_map(move |j| {
                    let b = std::f64::consts::FRAC_PI_4 * (2 * i + j) as f64;
                    [5.0 + b.cos(), -3.0 + b.sin()]
                })
            })
            .collect();
        let about_mean = of(&m, &exp.lie, z.clone(), (4, 2, 2));
        let mut lie = exp.lie.clone();
        lie.keep_center = true;
        let about_origin = of(&m, &lie, z, (4, 2, 2));
        assert!(about_mean < 1e-12, "{about_mean}");
        assert!(about_origin > 1e-3, "{about_origin}");
    }

    /// Gradient through the encoder-side latents in f64, with the forms held fixed as in training.
    #[test]
    fn gradient_matches_finite_differences() {
        for (latent, blocks, extra) in [
            (2, "[{ copies = 2, channels = 1, dim = 2 }]", ""),
            (
                2,
                "[{ copies = 2, channels = 2, dim = 2 }]",
                "keep_center = true",
            ),
            (4, "[{ copies = 4, channels = 1, dim = 2 }]", ""),
        ] {
            let (exp, m) = model(latent, 2, blocks, extra);
            let forms = forms(&m).unwrap();
            let pieces = pieces(&m);
            let z = candle_core::Var::from_tensor(&randn_like(&[5, 2, latent], 1.0, 8).unwrap())
                .unwrap();
            let f = || term(&exp.lie, z.as_tensor(), &forms, &pieces);
            let e = grad_check_var(&z, 1e-6, f).unwrap();
            assert!(e < 1e-7, "{blocks} {extra}: {e:e}");
        }
    }

    #[test]
    fn a_term_that_sees_nothing_is_refused() {
        let build = |window: usize, blocks: &str, w: f64| {
            let exp: Experiment = Experiment::parse(
                &format!(
                    "seed = 1\n[data]\nwindow = {window}\n[autoencoder]\nlatent = 3\n\
                     [lie]\nblocks = {blocks}\n[train]\nw_orbit = {w}"
                ),
                "test",
                &[],
            )
            .unwrap();
            LaLiGan::new(&exp.setup(), &[3], DType::F64, &Device::Cpu).map(|_| ())
        };
        let one = "[{ copies = 1, channels = 1, dim = 3 }]";
        let err = build(1, one, 0.5).unwrap_err().to_string();
        assert!(
            err.contains("train.w_orbit") && err.contains("data.window = 1"),
            "{err}"
        );
        let across = "[{ copies = 3, channels = 1, dim = 2 }]";
        let err = build(2, across, 0.5).unwrap_err().to_string();
        assert!(
            err.contains("no [lie] block acts on the same latent values"),
            "{err}"
        );
        // Off, both build.
        assert!(build(1, one, 0.0).is_ok() && build(2, across, 0.0).is_ok());
    }
}
