//! Evaluation on the validation split (eval mode, no gradient): reconstruction error, discriminator
//! accuracy, and the symmetry scores of the learned generators and latent trajectories.

use super::model::LaLiGan;
use crate::config::experiment::Experiment;
use crate::data::{Split, WindowIndex};
use crate::lie::LieConfig;
use crate::metrics;
use crate::rng;
use candle_core::{DType, Device, Result, Tensor};

/// Rows per forward pass during evaluation.
const CHUNK: usize = 4096;

/// Scores of one evaluation.
#[derive(Clone, Debug, Default)]
pub struct Scores {
    /// Mean squared reconstruction error over the evaluated validation windows.
    pub recon_mse: f64,
    /// Fraction of real latent windows called real and transformed ones called fake.
    pub disc_acc: f64,
    /// Per learnable channel: max |Im λ|/|λ| and ‖skew part‖/‖L‖.
    pub imag_ratio: Vec<f64>,
    pub skew_ratio: Vec<f64>,
    /// Per block: mean over validation trajectories of std/|mean| of the invariant quadratic form
    /// (None when the block's first copy does not lie in one time step's latent).
    pub orbit_cv: Vec<Option<f64>>,
    /// Masked generators of each learnable channel (row-major d×d) and their size.
    pub generators: Vec<(usize, Vec<f64>)>,
    /// Latent trajectories of the validation split (eval mode, `[points, latent]` each).
    pub latents: Vec<Vec<f64>>,
}

/// Generators (row-major, f64) of each block, all channels: `(dim, [channel][d·d])`.
pub fn block_generators(model: &LaLiGan) -> Result<Vec<(usize, Vec<Vec<f64>>)>> {
    model
        .rep
        .generators()?
        .iter()
        .zip(&model.rep.blocks)
        .map(|(l, b)| {
            let d = b.block.dim;
            let flat: Vec<f64> = l.to_dtype(DType::F64)?.flatten_all()?.to_vec1()?;
            Ok((d, flat.chunks(d * d).map(<[f64]>::to_vec).collect()))
        })
        .collect()
}

/// Encodes `rows` observations of `obs_len` values each in eval mode, in chunks; returns `[rows, k]`.
pub fn encode_all(model: &LaLiGan, data: &[f32], obs_len: usize) -> Result<Vec<f64>> {
    map_chunks(model, data, obs_len, &model.obs, |x| {
        model.ae.encode(x, false)
    })
}

/// Decodes latents `[rows, k]` in eval mode, in chunks; returns `[rows, obs_len]`.
pub fn decode_all(model: &LaLiGan, z: &[f64]) -> Result<Vec<f32>> {
    let k = model.ae.latent_dim();
    let x = map_chunks(model, z, k, &[k], |z| model.ae.decode(z, false))?;
    Ok(x.into_iter().map(|v| v as f32).collect())
}

/// Applies `f` to rows of `len` values shaped `[rows, shape..]`, [`CHUNK`] rows at a time, in the
/// model's dtype; returns the outputs flattened, in f64.
fn map_chunks<T: candle_core::WithDType>(
    model: &LaLiGan,
    data: &[T],
    len: usize,
    shape: &[usize],
    f: impl Fn(&Tensor) -> Result<Tensor>,
) -> Result<Vec<f64>> {
    let mut out = Vec::new();
    for chunk in data.chunks(CHUNK * len) {
        let mut dims = vec![chunk.len() / len];
        dims.extend(shape);
        let x = Tensor::from_slice(chunk, dims, &Device::Cpu)?.to_dtype(model.ae_params.dtype())?;
        out.extend(
            f(&x)?
                .to_dtype(DType::F64)?
                .flatten_all()?
                .to_vec1::<f64>()?,
        );
    }
    Ok(out)
}

/// Each validation trajectory's latents restricted to one block's `d` coordinates at offset `at`.
pub fn block_latents(scores: &Scores, k: usize, at: usize, d: usize) -> Vec<Vec<f64>> {
    scores
        .latents
        .iter()
        .map(|tr| tr.chunks(k).flat_map(|p| p[at..at + d].to_vec()).collect())
        .collect()
}

/// Evenly spaced picks of at most `max` out of `n` (all when `max` is 0).
pub fn evenly(n: usize, max: usize) -> Vec<usize> {
    if max == 0 || n <= max {
        return (0..n).collect();
    }
    (0..max).map(|i| i * n / max).collect()
}

/// Evaluates `model` on the validation split `val`.
pub fn evaluate(model: &LaLiGan, exp: &Experiment, val: &Split) -> Result<Scores> {
    let dev = Device::Cpu;
    let dtype = model.ae_params.dtype();
    let obs_len = val.obs_len();
    let (n_traj, steps) = (val.trajectories(), val.steps());
    let win = exp.data.window;
    let mut scores = Scores::default();

    // Windows: reconstruction and discriminator accuracy.
    let index = WindowIndex::new(n_traj, steps, win, exp.data.gap, 1, exp.data.tail)
        .map_err(|e| candle_core::Error::Msg(format!("validation windows: {e}")))?;
    let ids = evenly(index.len(), exp.train.eval_windows);
    let mut r = rng::stream(exp.seed, "eval/lie");
    let (mut sq, mut count, mut correct, mut judged) = (0.0, 0usize, 0usize, 0usize);
    let mut buf = Vec::new();
    for chunk in ids.chunks(CHUNK) {
        index.gather(val.x, obs_len, chunk, &mut buf);
        let b = chunk.len();
        let mut shape = vec![b, win];
        shape.extend(&model.obs);
        let x = Tensor::from_slice(&buf, shape, &dev)?.to_dtype(dtype)?;
        let z = model.encode_windows(&x, false)?;
        let k = z.dim(2)?;
        let xhat = model.ae.decode(&z.reshape((b * win, k))?, false)?;
        let diff = (xhat.flatten_all()? - x.flatten_all()?)?;
        sq += diff
            .sqr()?
            .sum_all()?
            .to_dtype(DType::F64)?
            .to_scalar::<f64>()?;
        count += diff.elem_count();
        let w = model
            .rep
            .sample(b, exp.lie.sampling, exp.lie.sigma, &mut r, dtype, &dev)?;
        let gz = transform(model, &exp.lie, &z, &w)?;
        let zf = z.reshape((b, win * k))?;
        let (real, fake) = model.disc_inputs(&zf, &gz, &xhat, false)?;
        let lr: Vec<f64> = model.disc.forward(&real)?.to_dtype(DType::F64)?.to_vec1()?;
        let lf: Vec<f64> = model.disc.forward(&fake)?.to_dtype(DType::F64)?.to_vec1()?;
        correct +=
            lr.iter().filter(|&&l| l > 0.0).count() + lf.iter().filter(|&&l| l < 0.0).count();
        judged += 2 * b;
    }
    scores.recon_mse = sq / count.max(1) as f64;
    scores.disc_acc = correct as f64 / judged.max(1) as f64;

    // Generators.
    let blocks = block_generators(model)?;
    for ((d, gens), b) in blocks.iter().zip(&model.rep.blocks) {
        if b.learnable {
            for g in gens {
                scores.imag_ratio.push(metrics::imag_ratio(g, *d));
                scores.skew_ratio.push(metrics::skew_ratio(g, *d));
                scores.generators.push((*d, g.clone()));
            }
        }
    }

    // Latent trajectories and the orbit score per block.
    let k = model.ae.latent_dim();
    let picks = evenly(steps, exp.train.eval_points);
    let mut frames = Vec::with_capacity(n_traj * picks.len() * obs_len);
    for t in 0..n_traj {
        for &s in &picks {
            let at = (t * steps + s) * obs_len;
            frames.extend_from_slice(&val.x[at..at + obs_len]);
        }
    }
    let z = encode_all(model, &frames, obs_len)?;
    scores.latents = z.chunks(picks.len() * k).map(<[f64]>::to_vec).collect();
    let mut at = 0;
    for ((d, gens), b) in blocks.iter().zip(&model.rep.blocks) {
        let d = *d;
        // A score of motion along orbits: undefined for static samples (one step each).
        let cv = if at + d <= k && steps > 1 {
            let trajs = block_latents(&scores, k, at, d);
            let refs: Vec<&[f64]> = gens.iter().map(Vec::as_slice).collect();
            let (q, _) = metrics::invariant_form(&refs, d);
            let c = metrics::mean_point(&trajs, d);
            Some(metrics::orbit_cv(&trajs, d, &c, &q))
        } else {
            None
        };
        scores.orbit_cv.push(cv);
        at += b.block.copies * d;
    }
    Ok(scores)
}

/// g·z for latent windows `z` (`[b, window, k]`) about their batch-and-window mean (unless
/// `keep_center`); returns `[b, window·k]`.
pub fn transform(model: &LaLiGan, lie: &LieConfig, z: &Tensor, w: &[Tensor]) -> Result<Tensor> {
    let (b, win, k) = z.dims3()?;
    let g = model.rep.group_elements(w)?;
    if lie.keep_center {
        return model.rep.act(&z.reshape((b, win * k))?, &g);
    }
    let center = z.mean_keepdim(1)?.mean_keepdim(0)?; // [1, 1, k], not detached
    let zc = z.broadcast_sub(&center)?.reshape((b, win * k))?;
    model
        .rep
        .act(&zc, &g)?
        .reshape((b, win, k))?
        .broadcast_add(&center)?
        .reshape((b, win * k))
}
