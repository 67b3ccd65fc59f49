//! The fixed principal-component projection (`pca`).

use super::codec::{flatten_obs, unflatten_obs, Autoencoder};
use super::monomials::Monomials;
use super::AutoencoderConfig;
use crate::data::pca::Pca;
use crate::nn::params::Scope;
use candle_core::{DType, Device, Result, Tensor, Var};
use nalgebra::DMatrix;

/// The most monomials the decoder's polynomial part may have (each is a full observation-sized row).
const MAX_MONOMIALS: usize = 4096;

/// The fixed principal-component projection (`pca`): buffers `mean` `[d]`, `components` `[latent, d]`
/// (orthonormal rows) and `scale`, set by [`Autoencoder::fit`] and stored in checkpoints. `scale` is
/// `[1]`, one scale for every component, or with `whiten` `[latent]`, each component's standard
/// deviation. With `decoder_degree` d > 1 the decoder adds a polynomial part, the buffer `poly`
/// `[monomials, d]`: ψ(z) = μ + Uᵀ(s·z) + q(z)·P, with q the monomials of degree 2 to d of z and P fitted
/// by least squares to what the projection leaves of the training observations (so its rows are
/// orthogonal to the components, and the encoder still recovers z exactly from ψ(z)). They enter the
/// graph detached: no gradient is ever computed for them.
pub struct PcaProjection {
    obs: Vec<usize>,
    latent: usize,
    mean: Var,
    components: Var,
    scale: Var,
    poly: Option<(Monomials, Var)>,
}

impl PcaProjection {
    /// Zero buffers, to be fitted or loaded.
    pub fn new(cfg: &AutoencoderConfig, obs: &[usize], s: &mut Scope) -> Result<Self> {
        let d: usize = obs.iter().product();
        if cfg.latent == 0 || cfg.latent > d {
            candle_core::bail!(
                "autoencoder: pca needs 1 ≤ latent ≤ {d} (the observation size), found latent {}",
                cfg.latent
            );
        }
        let (mean, components) = (
            s.buffer("mean", &[d], 0.0)?,
            s.buffer("components", &[cfg.latent, d], 0.0)?,
        );
        let scale = s.buffer("scale", &[if cfg.whiten { cfg.latent } else { 1 }], 1.0)?;
        let poly = if cfg.decoder_degree > 1 {
            let m = Monomials::count(cfg.latent, cfg.decoder_degree);
            if m > MAX_MONOMIALS {
                candle_core::bail!(
                    "autoencoder: decoder_degree {} on latent {} gives {m} monomials, at most \
                     {MAX_MONOMIALS} are allowed",
                    cfg.decoder_degree,
                    cfg.latent
                );
            }
            let poly = s.buffer("poly", &[m, d], 0.0)?;
            let monomials = Monomials::new(cfg.latent, cfg.decoder_degree, poly.device())?;
            Some((monomials, poly))
        } else {
            None
        };
        Ok(Self {
            obs: obs.to_vec(),
            latent: cfg.latent,
            mean,
            components,
            scale,
            poly,
        })
    }
}

impl PcaProjection {
    /// The linear part Uᵀ·/s of the encoder on flattened rows (centred observations or tangents).
    fn project(&self, x: &Tensor) -> Result<Tensor> {
        x.matmul(&self.components.as_tensor().detach().t()?)?
            .broadcast_div(&self.scale.as_tensor().detach())
    }

    /// The linear part s·U· of the decoder on latent rows (latents or their tangents), flattened.
    fn lift(&self, z: &Tensor) -> Result<Tensor> {
        z.broadcast_mul(&self.scale.as_tensor().detach())?
            .matmul(&self.components.as_tensor().detach())
    }
}

impl Autoencoder for PcaProjection {
    fn encode(&self, x: &Tensor, _train: bool) -> Result<Tensor> {
        self.project(&flatten_obs(x)?.broadcast_sub(&self.mean.as_tensor().detach())?)
    }
    fn decode_pre(&self, z: &Tensor, _train: bool) -> Result<Tensor> {
        let mut x = self
            .lift(z)?
            .broadcast_add(&self.mean.as_tensor().detach())?;
        if let Some((monomials, poly)) = &self.poly {
            x = (x + monomials.features(z)?.matmul(&poly.as_tensor().detach())?)?;
        }
        unflatten_obs(&x, &self.obs)
    }
    fn latent_dim(&self) -> usize {
        self.latent
    }
    fn encode_jvp(&self, x: &Tensor, v: &Tensor) -> Result<(Tensor, Tensor)> {
        Ok((self.encode(x, false)?, self.project(&flatten_obs(v)?)?))
    }
    fn decode_jvp(&self, z: &Tensor, v: &Tensor) -> Result<(Tensor, Tensor)> {
        let mut dx = self.lift(v)?;
        if let Some((monomials, poly)) = &self.poly {
            let (_, dq) = monomials.features_jvp(z, v)?;
            dx = (dx + dq.matmul(&poly.as_tensor().detach())?)?;
        }
        Ok((self.decode(z, false)?, unflatten_obs(&dx, &self.obs)?))
    }
    fn fit(&self, frames: &[&[f32]]) -> Result<Option<String>> {
        let d = self.mean.dim(0)?;
        if let Some(f) = frames.iter().find(|f| f.len() != d) {
            candle_core::bail!(
                "pca: observations of {} values, the projection expects {d}",
                f.len()
            );
        }
        let Some(pca) = Pca::fit(frames, self.latent) else {
            candle_core::bail!("pca: the training observations do not vary");
        };
        let k = pca.components.ncols();
        if k < self.latent || pca.variances[k - 1] <= 0.0 {
            candle_core::bail!(
                "pca: the {} training observations span fewer than latent = {} directions",
                frames.len(),
                self.latent
            );
        }
        // A scale per component (whitened) or one for all, as the buffer was built.
        let scale: Vec<f64> = if self.scale.elem_count() == k {
            pca.variances[..k].iter().map(|v| v.sqrt()).collect()
        } else {
            vec![(pca.variances[..k].iter().sum::<f64>() / k as f64).sqrt()]
        };
        let (dt, dev) = (self.mean.dtype(), self.mean.device());
        // Column-major d × k is row-major [k, d]: one component per row.
        let comp = pca.components.as_slice();
        self.mean
            .set(&Tensor::from_slice(pca.mean.as_slice(), d, dev)?.to_dtype(dt)?)?;
        self.components
            .set(&Tensor::from_slice(comp, (k, d), dev)?.to_dtype(dt)?)?;
        let scales = scale
            .iter()
            .map(|s| format!("{s:.4}"))
            .collect::<Vec<_>>()
            .join(", ");
        self.scale
            .set(&Tensor::from_slice(&scale, scale.len(), dev)?.to_dtype(dt)?)?;
        let mut line = format!(
            "pca: {k} components of {} training observations keep {:.2}% of the variance; latent \
             scale {scales}",
            frames.len(),
            100.0 * pca.kept(k)
        );
        if let Some((monomials, poly)) = &self.poly {
            let (p, kept) = fit_poly(monomials, &pca, &scale, frames, dev)?;
            poly.set(&Tensor::from_slice(p.as_slice(), (p.ncols(), d), dev)?.to_dtype(dt)?)?;
            line += &format!(
                "; the polynomial decoder ({} monomials) keeps {:.2}% of what the projection \
                 leaves",
                p.ncols(),
                100.0 * kept
            );
        }
        Ok(Some(line))
    }
}

/// Least squares for the decoder's polynomial part: P `[monomials, d]` minimising Σ‖r − q(z)·P‖² over
/// `frames`, with z their latents and r what the projection leaves of them, and the fraction of Σ‖r‖²
/// it explains. Returned column-major `d × monomials`, i.e. row-major `[monomials, d]`. The monomials
/// are evaluated on `device`, where their indices live.
fn fit_poly(
    monomials: &Monomials,
    pca: &Pca,
    scale: &[f64],
    frames: &[&[f32]],
    device: &Device,
) -> Result<(DMatrix<f64>, f64)> {
    let (n, d, k) = (frames.len(), pca.mean.len(), pca.components.ncols());
    let u = &pca.components;
    // Latents z = Uᵀ(x − μ)/s of every frame, as one f64 tensor for the monomials.
    let mut z = Vec::with_capacity(n * k);
    for f in frames {
        let c = pca.coefficients(f, k);
        z.extend((0..k).map(|j| c[j] / scale[if scale.len() == k { j } else { 0 }]));
    }
    let q = monomials.features(&Tensor::from_vec(z, (n, k), device)?)?;
    let m = q.dim(1)?;
    if n <= m {
        candle_core::bail!(
            "pca: the decoder's {m} monomials need more than {n} training observations"
        );
    }
    let q = DMatrix::from_row_slice(n, m, &q.to_dtype(DType::F64)?.flatten_all()?.to_vec1()?);
    // (X − μ)ᵀQ (d × monomials, a contiguous column per monomial), one frame at a time, then its
    // part orthogonal to the components: RᵀQ.
    let mut xtq = DMatrix::<f64>::zeros(d, m);
    let mut xc = vec![0.0; d];
    for (r, f) in frames.iter().enumerate() {
        for ((c, &v), mu) in xc.iter_mut().zip(*f).zip(pca.mean.iter()) {
            *c = v as f64 - mu;
        }
        for i in 0..m {
            let w = q[(r, i)];
            for (o, c) in xtq.column_mut(i).iter_mut().zip(&xc) {
                *o += w * c;
            }
        }
    }
    let rtq = &xtq - u * (u.transpose() * &xtq);
    let mut g = q.transpose() * &q;
    let ridge = 1e-10 * g.trace() / m as f64;
    for i in 0..m {
        g[(i, i)] += ridge;
    }
    let Some(chol) = g.cholesky() else {
        candle_core::bail!(
            "pca: the decoder's monomials of the training latents are linearly dependent"
        );
    };
    // Pᵀ = RᵀQ·G⁻¹ (G symmetric), d × monomials: column-major, i.e. row-major [monomials, d].
    let pt = chol.solve(&rtq.transpose()).transpose();
    // Σ‖r‖² = n Σ variances along the directions left out; the fit explains tr(Pᵀ Qᵀ R).
    let left = n as f64 * pca.variances[k..].iter().sum::<f64>();
    let explained = pt.component_mul(&rtq).sum();
    let kept = if left > 0.0 { explained / left } else { 1.0 };
    Ok((pt, kept))
}
