//! Evaluation on the validation split (eval mode, no gradient): reconstruction error, discriminator
//! accuracy, and the symmetry scores of the learned generators and latent trajectories.

use super::model::LaLiGan;
use super::Setup;
use crate::data::{Split, WindowIndex};
use crate::lie::LieConfig;
use crate::metrics;
use crate::rng;
use candle_core::{DType, Result, Tensor};

/// Rows per forward pass during evaluation: small enough that the allocator reuses the memory of the
/// activations rather than mapping fresh pages for each chunk (512 rows evaluate the pendulum in 0.53 s
/// where 4096 took 0.76 s).
const CHUNK: usize = 512;

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
        let x =
            Tensor::from_slice(chunk, dims, model.device())?.to_dtype(model.ae_params.dtype())?;
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

/// Latents (`[frames, k]`) and squared reconstruction errors (summed over each frame) of the frames
/// `frames` (flat step indices into `data`, `obs_len` values each), in eval mode.
fn encode_frames(
    model: &LaLiGan,
    data: &[f32],
    obs_len: usize,
    frames: &[usize],
) -> Result<(Vec<f64>, Vec<f64>)> {
    let (mut z, mut err, mut buf) = (Vec::new(), Vec::new(), Vec::new());
    let f64s = |t: Tensor| t.to_dtype(DType::F64)?.flatten_all()?.to_vec1::<f64>();
    for chunk in frames.chunks(CHUNK) {
        buf.clear();
        for &f in chunk {
            buf.extend_from_slice(&data[f * obs_len..(f + 1) * obs_len]);
        }
        let mut dims = vec![chunk.len()];
        dims.extend(&model.obs);
        let x =
            Tensor::from_slice(&buf, dims, model.device())?.to_dtype(model.ae_params.dtype())?;
        let zc = model.ae.encode(&x, false)?;
        let diff = (model.ae.decode(&zc, false)?.flatten_from(1)? - x.flatten_from(1)?)?;
        err.extend(f64s(diff.sqr()?.sum(1)?)?);
        z.extend(f64s(zc)?);
    }
    Ok((z, err))
}

/// Evenly spaced picks of at most `max` out of `n` (all when `max` is 0).
pub fn evenly(n: usize, max: usize) -> Vec<usize> {
    if max == 0 || n <= max {
        return (0..n).collect();
    }
    (0..max).map(|i| i * n / max).collect()
}

/// Evaluates `model` on the validation split `val`.
pub fn evaluate(model: &LaLiGan, setup: &Setup, val: &Split) -> Result<Scores> {
    let dev = model.device().clone();
    let dtype = model.ae_params.dtype();
    let obs_len = val.obs_len();
    let (n_traj, steps) = (val.trajectories(), val.steps());
    let win = setup.data.window;
    let mut scores = Scores::default();

    // Eval mode encodes and decodes each frame on its own, so each validation frame that a window or a
    // latent path uses is encoded, decoded and scored once, and the windows and paths share the results.
    let index = WindowIndex::new(n_traj, steps, win, setup.data.gap, 1, setup.data.tail)
        .map_err(|e| candle_core::Error::Msg(format!("validation windows: {e}")))?;
    let ids = evenly(index.len(), setup.train.eval_windows);
    let picks = evenly(steps, setup.train.eval_points);
    let mut row = vec![usize::MAX; n_traj * steps];
    let path_frames = (0..n_traj).flat_map(|t| picks.iter().map(move |&s| t * steps + s));
    let index = &index;
    for f in ids
        .iter()
        .flat_map(|&i| (0..win).map(move |e| index.element(i, e)))
        .chain(path_frames)
    {
        row[f] = 0;
    }
    let mut frames = Vec::new();
    for (f, r) in row.iter_mut().enumerate() {
        if *r == 0 {
            *r = frames.len();
            frames.push(f);
        }
    }
    let (z, err) = encode_frames(model, val.x, obs_len, &frames)?;
    let k = model.ae.latent_dim();

    // Windows: reconstruction and discriminator accuracy.
    let mut r = rng::stream(setup.seed, "eval/lie");
    let (mut sq, mut correct, mut judged) = (0.0, 0usize, 0usize);
    for chunk in ids.chunks(CHUNK) {
        let b = chunk.len();
        let mut zw = Vec::with_capacity(b * win * k);
        for &i in chunk {
            for e in 0..win {
                let at = row[index.element(i, e)];
                zw.extend_from_slice(&z[at * k..(at + 1) * k]);
                sq += err[at];
            }
        }
        let zt = Tensor::from_vec(zw, (b, win, k), &dev)?.to_dtype(dtype)?;
        let w = model
            .rep
            .sample(b, setup.lie.sampling, setup.lie.sigma, &mut r, dtype, &dev)?;
        let gz = transform(model, setup.lie, &zt, &w)?;
        let zf = zt.reshape((b, win * k))?;
        let (real, fake) = model.disc_inputs(
            &zf,
            &gz,
            || model.ae.decode(&zt.reshape((b * win, k))?, false),
            false,
        )?;
        let lr: Vec<f64> = model.disc.forward(&real)?.to_dtype(DType::F64)?.to_vec1()?;
        let lf: Vec<f64> = model.disc.forward(&fake)?.to_dtype(DType::F64)?.to_vec1()?;
        correct +=
            lr.iter().filter(|&&l| l > 0.0).count() + lf.iter().filter(|&&l| l < 0.0).count();
        judged += 2 * b;
    }
    scores.recon_mse = sq / (ids.len() * win * obs_len).max(1) as f64;
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
    scores.latents = (0..n_traj)
        .map(|t| {
            let rows = picks.iter().map(|&s| row[t * steps + s]);
            rows.flat_map(|at| z[at * k..(at + 1) * k].iter().copied())
                .collect()
        })
        .collect();
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::experiment::Experiment;
    use candle_core::Device;

    /// Scoring each validation frame once gives the reconstruction error of the evaluated windows and
    /// the latent paths that encoding the windows and the picked frames gives.
    #[test]
    fn frames_scored_once_match_windows_scored_whole() {
        let exp: Experiment = Experiment::parse(
            r#"
            seed = 2
            [data]
            window = 3
            gap = 2
            [autoencoder]
            hidden = 6
            layers = 2
            [lie]
            blocks = [{ copies = 3, channels = 1, dim = 2 }]
            [discriminator]
            hidden = 5
            layers = 2
            [train]
            eval_windows = 5
            eval_points = 4
            "#,
            "test",
            &[],
        )
        .unwrap();
        let model = LaLiGan::new(&exp.setup(), &[3], DType::F64, &Device::Cpu).unwrap();
        let (n_traj, steps) = (3, 9);
        let x: Vec<f32> = (0..n_traj * steps * 3)
            .map(|i| ((i * 37 % 23) as f32 / 7.0).sin())
            .collect();
        let shape = [n_traj, steps, 3];
        let val = Split {
            shape: &shape,
            x: &x,
            dx: &[],
            t: &[],
        };
        let scores = evaluate(&model, &exp.setup(), &val).unwrap();

        let index = WindowIndex::new(n_traj, steps, 3, 2, 1, exp.data.tail).unwrap();
        let ids = evenly(index.len(), 5);
        assert_eq!(ids.len(), 5);
        let mut buf = Vec::new();
        index.gather(&x, 3, &ids, &mut buf);
        let xw = Tensor::from_slice(&buf, (5, 3, 3), &Device::Cpu)
            .unwrap()
            .to_dtype(DType::F64)
            .unwrap();
        let z = model.encode_windows(&xw, false).unwrap();
        let xhat = model
            .ae
            .decode(&z.reshape((15, 2)).unwrap(), false)
            .unwrap();
        let want: f64 = (xhat - xw.reshape((15, 3)).unwrap())
            .unwrap()
            .sqr()
            .unwrap()
            .mean_all()
            .unwrap()
            .to_scalar()
            .unwrap();
        assert!(
            (scores.recon_mse - want).abs() < 1e-12 * want,
            "{} vs {want}",
            scores.recon_mse
        );

        let picks = evenly(steps, 4);
        for (t, path) in scores.latents.iter().enumerate() {
            let frames: Vec<f32> = picks
                .iter()
                .flat_map(|&s| x[(t * steps + s) * 3..(t * steps + s + 1) * 3].to_vec())
                .collect();
            let want = encode_all(&model, &frames, 3).unwrap();
            assert_eq!(path.len(), want.len());
            for (a, b) in path.iter().zip(&want) {
                assert!((a - b).abs() < 1e-12, "{a} vs {b}");
            }
        }
        assert!((0.0..=1.0).contains(&scores.disc_acc));
    }
}
