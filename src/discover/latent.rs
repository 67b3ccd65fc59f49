//! Latent mode of `laligan discover`: the states are the trained encoder's latents z = φ(x) and the
//! targets their exact time derivatives ż = J_φ(x)·ẋ (forward mode through the encoder, eval mode); the
//! symmetry constraint uses the generators the model learned.

use crate::data::Dataset;
use crate::error::Result;
use crate::sindy::SindyConfig;
use crate::train::{LaLiGan, Setup};
use candle_core::{DType, Tensor};
use std::path::Path;

/// Observations per forward pass.
pub(crate) const CHUNK: usize = 4096;

/// Latent states and derivatives of a split, first `n_traj` trajectories (0 = all), every `stride`-th
/// step, as row-major f64 `[n, k]`; returns (z, ż, k).
pub fn rows(
    model: &LaLiGan,
    ds: &Dataset,
    split: &str,
    n_traj: usize,
    stride: usize,
) -> Result<(Vec<f64>, Vec<f64>, usize)> {
    let (x, dx, _) = super::rows(ds, split, n_traj, stride)?;
    let (z, dz) = encode_rows(model, &x, &dx)?;
    Ok((z, dz, model.ae.latent_dim()))
}

/// Eval-mode latents z = φ(x) and their derivatives ż = J_φ(x)·ẋ of observation rows `x`, `dx`
/// (row-major f64 `[n, obs_len]`), [`CHUNK`] rows per pass; returns row-major f64 `[n, k]` each.
pub fn encode_rows(model: &LaLiGan, x: &[f64], dx: &[f64]) -> Result<(Vec<f64>, Vec<f64>)> {
    let d: usize = model.obs.iter().product();
    let k = model.ae.latent_dim();
    let (mut z, mut dz) = (
        Vec::with_capacity(x.len() / d * k),
        Vec::with_capacity(x.len() / d * k),
    );
    let dtype = model.ae_params.dtype();
    for (xc, vc) in x.chunks(CHUNK * d).zip(dx.chunks(CHUNK * d)) {
        let mut shape = vec![xc.len() / d];
        shape.extend(&model.obs);
        let t =
            |v: &[f64]| Tensor::from_slice(v, shape.as_slice(), model.device())?.to_dtype(dtype);
        let (zc, dzc) = model.ae.encode_jvp(&t(xc)?, &t(vc)?)?;
        z.extend(zc.to_dtype(DType::F64)?.flatten_all()?.to_vec1::<f64>()?);
        dz.extend(dzc.to_dtype(DType::F64)?.flatten_all()?.to_vec1::<f64>()?);
    }
    Ok((z, dz))
}

/// The model's generators acting on one time step's latent: every channel of the first block when its
/// first copies cover the per-step latent, as a whole (dim = latent) or as `latent / dim` copies of a
/// smaller generator along the diagonal (the same group element acting on several pieces of one
/// step's latent); else none.
pub fn generators(model: &LaLiGan) -> Result<Vec<Vec<Vec<f64>>>> {
    let k = model.ae.latent_dim();
    let blocks = crate::train::eval::block_generators(model)?;
    let (Some((d, gens)), Some(b)) = (blocks.first(), model.rep.blocks.first()) else {
        return Ok(Vec::new());
    };
    let d = *d;
    if d == 0 || !k.is_multiple_of(d) || b.block.copies * d < k {
        return Ok(Vec::new());
    }
    Ok(gens.iter().map(|g| block_diagonal(g, d, k)).collect())
}

/// The `k × k` matrix with the `d × d` matrix `g` (row-major) repeated along its diagonal.
pub fn block_diagonal(g: &[f64], d: usize, k: usize) -> Vec<Vec<f64>> {
    (0..k)
        .map(|i| {
            (0..k)
                .map(|j| {
                    if i / d == j / d {
                        g[(i % d) * d + j % d]
                    } else {
                        0.0
                    }
                })
                .collect()
        })
        .collect()
}

/// Latent discovery for `model` (named `name` in the log) trained with `setup` on `ds`: fits the
/// latent dynamics per `sindy`, constrained by the learned generators unless `sindy.generators` is set
/// (they are filled in then, for the record), and writes the outputs into `out`. Returns the text of
/// `equations.txt`.
pub fn discover(
    setup: &Setup,
    sindy: &mut SindyConfig,
    model: &LaLiGan,
    ds: &Dataset,
    out: &Path,
    name: &str,
) -> Result<String> {
    let stride = sindy.stride.max(1);
    let (z, dz, k) = crate::threads::run(|| rows(model, ds, "train", setup.data.n_train, stride))?;
    let (vz, vdz, _) = if ds.splits().contains(&"val") {
        crate::threads::run(|| rows(model, ds, "val", 0, stride))?
    } else {
        (vec![], vec![], k)
    };
    if sindy.generators.is_empty() {
        sindy.generators = generators(model)?;
    }
    let lib = sindy.library(k, "z")?;
    let what = format!(
        "latent mode ({name}, {} generator(s))",
        sindy.generators.len()
    );
    super::run(sindy, setup.seed, &lib, (&z, &dz), (&vz, &vdz), out, &what)
}

#[cfg(test)]
mod tests {
    use super::block_diagonal;

    #[test]
    fn a_smaller_generator_repeats_along_the_diagonal_of_the_step_latent() {
        let g = [0.0, 2.0, -3.0, 0.5];
        let m = block_diagonal(&g, 2, 4);
        assert_eq!(
            m,
            vec![
                vec![0.0, 2.0, 0.0, 0.0],
                vec![-3.0, 0.5, 0.0, 0.0],
                vec![0.0, 0.0, 0.0, 2.0],
                vec![0.0, 0.0, -3.0, 0.5],
            ]
        );
        assert_eq!(
            block_diagonal(&g, 2, 2),
            vec![vec![0.0, 2.0], vec![-3.0, 0.5]]
        );
    }
}
