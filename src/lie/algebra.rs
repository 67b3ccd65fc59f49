//! The latent representation: blocks `(copies, channels, dim)` of Lie algebra generators acting
//! block-diagonally on the flattened latent window, learnable or fixed, plus inert dimensions.

use super::expm::{bmm, expm};
use crate::nn::params::Scope;
use crate::rng::{self, Stream};
use candle_core::{DType, Device, Result, Tensor, Var, D};
use serde::{Deserialize, Serialize};

/// Which generators a block has.
#[derive(Clone, Copy, Debug, Default, Serialize, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "kebab-case")]
pub enum Basis {
    /// `channels` learnable dim×dim matrices (standard normal at start).
    #[default]
    Learnable,
    /// so(2) = [[0, 1], [−1, 0]] (dim 2, 1 channel).
    So2,
    /// so(2) and the scaling 0.1·I (dim 2, 2 channels).
    So2Scaling,
    /// so(3) (dim 3, 3 channels).
    So3,
    /// so(3) acting on the first 3 of 4 dimensions (dim 4, 3 channels).
    So3In4,
    /// so(4) (dim 4, 6 channels).
    So4,
}

/// One block of the representation.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct Block {
    /// Consecutive dim-sized pieces of the latent window the same group element acts on.
    pub copies: usize,
    /// Number of generators.
    pub channels: usize,
    /// Size of each generator.
    pub dim: usize,
    #[serde(default)]
    pub basis: Basis,
}

/// The fixed generators of a basis (`[channels, dim, dim]`, row-major), or None for learnable ones.
pub fn fixed_basis(b: Basis) -> Option<(usize, usize, Vec<f64>)> {
    let e = |dim: usize, entries: &[(usize, usize, f64)]| {
        let mut m = vec![0.0; dim * dim];
        for &(i, j, v) in entries {
            m[i * dim + j] = v;
        }
        m
    };
    let rot = |dim: usize, i: usize, j: usize| e(dim, &[(i, j, 1.0), (j, i, -1.0)]);
    Some(match b {
        Basis::Learnable => return None,
        Basis::So2 => (1, 2, rot(2, 0, 1)),
        Basis::So2Scaling => (
            2,
            2,
            [rot(2, 0, 1), e(2, &[(0, 0, 0.1), (1, 1, 0.1)])].concat(),
        ),
        Basis::So3 => (3, 3, [rot(3, 1, 2), rot(3, 2, 0), rot(3, 0, 1)].concat()),
        Basis::So3In4 => (3, 4, [rot(4, 1, 2), rot(4, 2, 0), rot(4, 0, 1)].concat()),
        Basis::So4 => (
            6,
            4,
            [
                rot(4, 0, 1),
                rot(4, 0, 2),
                rot(4, 0, 3),
                rot(4, 1, 2),
                rot(4, 1, 3),
                rot(4, 2, 3),
            ]
            .concat(),
        ),
    })
}

/// `[lie]` settings: the latent representation, how group elements are drawn, and thresholding.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields, default)]
pub struct LieConfig {
    /// Blocks acting block-diagonally on the flattened latent window, in order.
    pub blocks: Vec<Block>,
    /// Trailing latent-window dimensions no generator acts on.
    pub inert: usize,
    pub sampling: Sampling,
    /// Scale σ of the coefficient distribution.
    pub sigma: f64,
    /// Act about the origin instead of about the batch-and-window mean latent.
    pub keep_center: bool,
    /// Sequential thresholding: entries with |L| ≤ threshold·max|L| (per channel) are masked ...
    pub threshold: f64,
    /// ... after every `threshold_every`-th epoch (0 = never).
    pub threshold_every: usize,
    /// How a thresholding treats entries masked by an earlier one.
    pub threshold_mask: MaskRule,
}

impl crate::config::Validate for LieConfig {
    fn validate(&self, c: &mut crate::config::Checker) {
        for (i, b) in self.blocks.iter().enumerate() {
            if b.copies == 0 || b.channels == 0 || b.dim == 0 {
                c.fail(
                    &format!("blocks[{i}]"),
                    format!(
                        "copies = {}, channels = {}, dim = {}: each expected ≥ 1",
                        b.copies, b.channels, b.dim
                    ),
                );
            }
        }
        c.positive("sigma", self.sigma);
        c.within("threshold", self.threshold, 0.0, 1.0);
    }
}

impl Default for LieConfig {
    fn default() -> Self {
        Self {
            blocks: vec![Block {
                copies: 2,
                channels: 1,
                dim: 2,
                basis: Basis::Learnable,
            }],
            inert: 0,
            sampling: Sampling::Normal,
            sigma: 1.0,
            keep_center: false,
            threshold: 0.3,
            threshold_every: 5,
            threshold_mask: MaskRule::Recompute,
        }
    }
}

/// The mask a sequential thresholding leaves.
#[derive(Clone, Copy, Debug, Default, Serialize, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "kebab-case")]
pub enum MaskRule {
    /// Recomputed from the raw generator each time, as the reference does: a masked entry keeps its last
    /// value (it gets no gradient) and comes back once it exceeds threshold·max|L| again, e.g. after the
    /// surviving entries shrank.
    #[default]
    Recompute,
    /// Cumulative: a masked entry never comes back.
    Cumulative,
}

/// How the coefficients w of g = exp(Σ wⱼLⱼ) are drawn, one independent draw per sample.
#[derive(Clone, Copy, Debug, Default, Serialize, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "kebab-case")]
pub enum Sampling {
    /// w ~ N(0, σ²).
    #[default]
    Normal,
    /// w ~ U(−σ, σ).
    Uniform,
    /// w uniform on the integers −round(σ) ..= round(σ).
    Integer,
}

/// Draws one coefficient.
pub fn draw(s: Sampling, sigma: f64, r: &mut Stream) -> f64 {
    match s {
        Sampling::Normal => sigma * rng::normal(r),
        Sampling::Uniform => rng::uniform(r, -sigma, sigma),
        Sampling::Integer => {
            let k = sigma.round().max(0.0) as i64;
            (rng::below(r, (2 * k + 1) as usize) as i64 - k) as f64
        }
    }
}

/// A block's generators: a learnable variable with a persistent threshold mask, or fixed matrices.
pub struct BlockGenerators {
    pub block: Block,
    /// `[channels, dim, dim]`.
    pub basis: Var,
    /// 1 where an entry is active, 0 where thresholding removed it (`[channels, dim, dim]`); a buffer.
    pub mask: Var,
    pub learnable: bool,
}

/// All blocks of the latent representation.
pub struct Representation {
    pub blocks: Vec<BlockGenerators>,
    pub inert: usize,
}

impl Representation {
    /// Builds the blocks in scope `s` (learnable ones as `block{i}.basis`, masks as buffers); fixed bases
    /// are registered as buffers so checkpoints hold them too.
    pub fn new(s: &mut Scope, blocks: &[Block], inert: usize) -> Result<Self> {
        let mut out = Vec::new();
        for (i, b) in blocks.iter().enumerate() {
            if b.copies == 0 || b.channels == 0 || b.dim == 0 {
                candle_core::bail!(
                    "latent block {i}: copies, channels and dim must be positive, found {b:?}"
                );
            }
            let shape = [b.channels, b.dim, b.dim];
            let mut bs = s.pp(format!("block{i}"));
            let (basis, learnable) = match fixed_basis(b.basis) {
                None => (bs.normal("basis", &shape, 1.0)?, true),
                Some((ch, dim, values)) => {
                    if (ch, dim) != (b.channels, b.dim) {
                        candle_core::bail!(
                            "latent block {i}: basis {:?} has {ch} channels of dim {dim}, the block says {} of dim {}",
                            b.basis,
                            b.channels,
                            b.dim
                        );
                    }
                    let v = bs.buffer("basis", &shape, 0.0)?;
                    v.set(&Tensor::from_vec(values, &shape[..], v.device())?.to_dtype(v.dtype())?)?;
                    (v, false)
                }
            };
            let mask = bs.buffer("mask", &shape, 1.0)?;
            out.push(BlockGenerators {
                block: b.clone(),
                basis,
                mask,
                learnable,
            });
        }
        Ok(Self { blocks: out, inert })
    }

    /// Size of the flattened latent window the representation acts on.
    pub fn dim(&self) -> usize {
        self.blocks
            .iter()
            .map(|b| b.block.copies * b.block.dim)
            .sum::<usize>()
            + self.inert
    }

    /// Masked generators of each block (`[channels, dim, dim]`).
    pub fn generators(&self) -> Result<Vec<Tensor>> {
        self.blocks
            .iter()
            .map(|b| b.basis.as_tensor().mul(b.mask.as_tensor()))
            .collect()
    }

    /// Draws coefficients for `batch` samples: one `[batch, channels]` tensor per block.
    pub fn sample(
        &self,
        batch: usize,
        s: Sampling,
        sigma: f64,
        r: &mut Stream,
        dtype: DType,
        dev: &Device,
    ) -> Result<Vec<Tensor>> {
        self.blocks
            .iter()
            .map(|b| {
                let v: Vec<f64> = (0..batch * b.block.channels)
                    .map(|_| draw(s, sigma, r))
                    .collect();
                Tensor::from_vec(v, (batch, b.block.channels), dev)?.to_dtype(dtype)
            })
            .collect()
    }

    /// Group elements g = exp(Σⱼ wⱼLⱼ) per block (`[batch, dim, dim]`) for coefficients `w`.
    pub fn group_elements(&self, w: &[Tensor]) -> Result<Vec<Tensor>> {
        self.generators()?
            .iter()
            .zip(w)
            .map(|(l, w)| {
                let (c, d) = (l.dim(0)?, l.dim(1)?);
                let a = w.matmul(&l.reshape((c, d * d))?)?; // [batch, d²]
                expm(&a.reshape(((), d, d))?)
            })
            .collect()
    }

    /// Applies the group elements to flattened latent windows `z` (`[batch, dim()]`).
    pub fn act(&self, z: &Tensor, g: &[Tensor]) -> Result<Tensor> {
        let batch = z.dim(0)?;
        let mut parts = Vec::with_capacity(self.blocks.len() + 1);
        let mut at = 0;
        for (b, g) in self.blocks.iter().zip(g) {
            let (c, d) = (b.block.copies, b.block.dim);
            let zb = z.narrow(D::Minus1, at, c * d)?.reshape((batch, c, d))?;
            // z' = z gᵀ for each copy: [batch, c, d] × [batch, d, d]ᵀ.
            parts.push(bmm(&zb, &g.transpose(1, 2)?)?.reshape((batch, c * d))?);
            at += c * d;
        }
        if self.inert > 0 {
            parts.push(z.narrow(D::Minus1, at, self.inert)?);
        }
        Tensor::cat(&parts, D::Minus1)
    }

    /// Sequential thresholding: masks entries with |L| ≤ tau·max|L| per channel of every learnable block,
    /// with L the raw generator (`Recompute`) or the masked one, keeping old masks (`Cumulative`).
    /// Returns the number of active entries afterwards.
    pub fn threshold(&self, tau: f64, rule: MaskRule) -> Result<usize> {
        let mut active = 0;
        for b in self.blocks.iter().filter(|b| b.learnable) {
            let raw = b.basis.as_tensor();
            let l = match rule {
                MaskRule::Recompute => raw.abs()?,
                MaskRule::Cumulative => raw.mul(b.mask.as_tensor())?.abs()?,
            };
            let (c, d) = (b.block.channels, b.block.dim);
            let max = l.reshape((c, d * d))?.max_keepdim(1)?.reshape((c, 1, 1))?;
            let keep = l
                .broadcast_gt(&max.affine(tau, 0.0)?)?
                .to_dtype(l.dtype())?;
            let mask = match rule {
                MaskRule::Recompute => keep,
                MaskRule::Cumulative => b.mask.as_tensor().mul(&keep)?,
            };
            active += mask.sum_all()?.to_dtype(DType::F64)?.to_scalar::<f64>()? as usize;
            b.mask.set(&mask)?;
        }
        Ok(active)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::nn::params::Params;
    use crate::testing::{grad_check, randn_like};

    fn rep(blocks: &[Block], inert: usize) -> (Params, Representation) {
        let mut p = Params::new(DType::F64, &Device::Cpu);
        let mut r = crate::rng::stream(3, "t");
        let rep = Representation::new(&mut p.scope("lie", &mut r), blocks, inert).unwrap();
        (p, rep)
    }

    fn block(copies: usize, channels: usize, dim: usize, basis: Basis) -> Block {
        Block {
            copies,
            channels,
            dim,
            basis,
        }
    }

    #[test]
    fn fixed_bases_satisfy_their_algebras() {
        // so(3) with the sign convention of so(2) = [[0, 1], [−1, 0]]: [L1, L2] = −L3; all skew-symmetric.
        let (c, d, v) = fixed_basis(Basis::So3).unwrap();
        let m = |k: usize| {
            Tensor::from_slice(&v[k * d * d..(k + 1) * d * d], (d, d), &Device::Cpu).unwrap()
        };
        let comm = (m(0).matmul(&m(1)).unwrap() - m(1).matmul(&m(0)).unwrap()).unwrap();
        let diff = crate::testing::max_abs_diff(&comm, &m(2).neg().unwrap());
        assert_eq!((c, diff), (3, 0.0));
        for b in [Basis::So2, Basis::So3, Basis::So3In4, Basis::So4] {
            let (c, d, v) = fixed_basis(b).unwrap();
            for k in 0..c {
                for i in 0..d {
                    for j in 0..d {
                        assert_eq!(v[k * d * d + i * d + j], -v[k * d * d + j * d + i], "{b:?}");
                    }
                }
            }
        }
    }

    #[test]
    fn so2_acts_as_the_same_rotation_on_both_copies_and_leaves_inert_dims() {
        let (_p, r) = rep(&[block(2, 1, 2, Basis::So2)], 1);
        assert_eq!(r.dim(), 5);
        let w = vec![Tensor::new(&[[0.5f64]], &Device::Cpu).unwrap()];
        let g = r.group_elements(&w).unwrap();
        let z = Tensor::new(&[[1.0f64, 0.0, 0.0, 2.0, 7.0]], &Device::Cpu).unwrap();
        let y = r.act(&z, &g).unwrap().to_vec2::<f64>().unwrap()[0].clone();
        // exp(0.5·[[0,1],[−1,0]]) = [[cos, sin], [−sin, cos]].
        let (c, s) = (0.5f64.cos(), 0.5f64.sin());
        let want = [c, -s, 2.0 * s, 2.0 * c, 7.0];
        for (a, b) in y.iter().zip(want) {
            assert!((a - b).abs() < 1e-12, "{y:?} vs {want:?}");
        }
    }

    #[test]
    fn thresholding_masks_exactly_the_small_entries_and_they_stay_zero() {
        let (_p, r) = rep(&[block(1, 2, 2, Basis::Learnable)], 0);
        let b = &r.blocks[0];
        let v = Tensor::new(
            &[[[1.0f64, -0.25], [0.31, -2.0]], [[0.05, 0.5], [-0.2, 0.0]]],
            &Device::Cpu,
        )
        .unwrap();
        b.basis.set(&v).unwrap();
        // Channel 0: max 2, τ·max = 0.6 → keeps 1 and −2. Channel 1: max 0.5, τ·max = 0.15 → keeps 0.5 and −0.2.
        let mask = || {
            b.mask
                .as_tensor()
                .flatten_all()
                .unwrap()
                .to_vec1::<f64>()
                .unwrap()
        };
        assert_eq!(r.threshold(0.3, MaskRule::Recompute).unwrap(), 4);
        let m = mask();
        assert_eq!(m, vec![1., 0., 0., 1., 0., 1., 1., 0.]);
        // Cumulative: masked entries stay off even if the raw values grow.
        b.basis.set(&(v.clone() * 10.0).unwrap()).unwrap();
        r.threshold(0.0, MaskRule::Cumulative).unwrap();
        assert_eq!(mask(), m);
        // Recompute: the max is over the raw entries, masked ones included, and a masked entry comes back
        // once it exceeds τ·max again. Channel 0 with its big entries shrunk: max 0.31, τ·max 0.093.
        let shrunk = [
            [[0.01f64, -0.25], [0.31, -0.02]],
            [[0.05, 0.5], [-0.2, 0.0]],
        ];
        b.basis
            .set(&Tensor::new(&shrunk, &Device::Cpu).unwrap())
            .unwrap();
        assert_eq!(r.threshold(0.3, MaskRule::Recompute).unwrap(), 4);
        assert_eq!(mask(), vec![0., 1., 1., 0., 0., 1., 1., 0.]);
        b.basis.set(&v).unwrap();
        r.threshold(0.3, MaskRule::Recompute).unwrap();
        assert_eq!(mask(), m);
        let loss = r.generators().unwrap()[0].sqr().unwrap().sum_all().unwrap();
        let grad = loss
            .backward()
            .unwrap()
            .get(b.basis.as_tensor())
            .unwrap()
            .flatten_all()
            .unwrap()
            .to_vec1::<f64>()
            .unwrap();
        for (g, k) in grad.iter().zip(&m) {
            if *k == 0.0 {
                assert_eq!(*g, 0.0);
            }
        }
    }

    #[test]
    fn action_gradient_matches_finite_differences() {
        let (_p, r) = rep(
            &[block(2, 1, 2, Basis::Learnable), block(1, 3, 3, Basis::So3)],
            1,
        );
        let _ = &r;
        let z = randn_like(&[4, 8], 1.0, 1).unwrap(); // 2·2 + 3 + 1 inert
        let wl = randn_like(&[4, 1], 1.0, 2).unwrap();
        let out_w = randn_like(&[4, 4], 1.0, 3).unwrap();
        // Gradient with respect to a learnable 2×2 generator, through expm and the action.
        let l0 = randn_like(&[1, 2, 2], 1.0, 4).unwrap();
        let zz = z.narrow(1, 0, 4).unwrap();
        let err = grad_check(&l0, 1e-6, |l| {
            let a = wl.matmul(&l.reshape((1, 4))?)?.reshape(((), 2, 2))?;
            let g = expm(&a)?;
            let y = bmm(&zz.reshape((4, 2, 2))?, &g.transpose(1, 2)?)?.reshape((4, 4))?;
            y.mul(&out_w)?.sum_all()
        })
        .unwrap();
        assert!(err < 1e-7, "generator {err:e}");
        // Gradient with respect to the latent through the full representation.
        let w = r
            .sample(
                4,
                Sampling::Normal,
                1.0,
                &mut crate::rng::stream(0, "w"),
                DType::F64,
                &Device::Cpu,
            )
            .unwrap();
        let g = r.group_elements(&w).unwrap();
        let out = randn_like(&[4, 8], 1.0, 5).unwrap();
        let err = grad_check(&z, 1e-6, |z| r.act(z, &g)?.mul(&out)?.sum_all()).unwrap();
        assert!(err < 1e-8, "latent {err:e}");
    }

    #[test]
    fn integer_sampling_stays_on_the_grid() {
        let mut s = crate::rng::stream(0, "i");
        let v: Vec<f64> = (0..1000)
            .map(|_| draw(Sampling::Integer, 2.0, &mut s))
            .collect();
        assert!(v.iter().all(|x| x.fract() == 0.0 && x.abs() <= 2.0));
        assert!(v.contains(&-2.0) && v.contains(&2.0) && v.contains(&0.0));
    }
}
