//! Convolutional pieces on `[n, channels, height, width]` tensors: a stride-1 2-D convolution with zero
//! padding, max pooling, nearest-neighbour upsampling and centre cropping. A 1-D signal is an image of
//! height 1 (kernel `1 × k`, padding only along the width): candle's own `conv1d` has wrong kernel
//! gradients and `max_pool2d` scales its gradient by 1/k², so pooling is reshape + max and upsampling
//! a broadcast. The convolution is our own op (im2col and one GEMM per sample, samples in parallel;
//! the backward pass recomputes the columns instead of storing them), several times faster on the CPU
//! than candle's, whose backward goes through a direct transposed convolution. All are checked against
//! the definition and finite differences.

use super::fused::{data, float_dispatch, fuses, gemm, pre_grad, threads, with_data, Act, Float};
use super::params::Scope;
use candle_core::backend::BackendStorage;
use candle_core::{CpuStorage, CustomOp1, CustomOp3, DType, Layout, Result, Shape, Tensor, Var};
use rayon::prelude::*;

/// A stride-1 convolution `[n, in, h, w] → [n, out, h', w']` with a `kh × kw` kernel, `ph` zero rows
/// above and below and `pw` zero columns left and right; PyTorch's default initialization
/// U(±1/√fan_in), fan_in = in·kh·kw, for weight and bias.
pub struct Conv2d {
    /// `[out, in, kh, kw]`.
    pub weight: Var,
    /// `[out]`.
    pub bias: Var,
    pad: (usize, usize),
}

impl Conv2d {
    /// A convolution `inp → out` channels with kernel `kernel` = (kh, kw) and padding `pad` = (ph, pw).
    pub fn new(
        s: &mut Scope,
        inp: usize,
        out: usize,
        kernel: (usize, usize),
        pad: (usize, usize),
    ) -> Result<Self> {
        let bound = 1.0 / ((inp * kernel.0 * kernel.1) as f64).sqrt();
        Ok(Self {
            weight: s.uniform("weight", &[out, inp, kernel.0, kernel.1], bound)?,
            bias: s.uniform("bias", &[out], bound)?,
            pad,
        })
    }

    /// Applies the convolution (and the bias) to `[n, in, h, w]`.
    pub fn forward(&self, x: &Tensor) -> Result<Tensor> {
        self.forward_act(x, Act::Identity)
    }

    /// act(convolution + bias) in one op.
    pub fn forward_act(&self, x: &Tensor, act: Act) -> Result<Tensor> {
        conv2d(
            x,
            self.weight.as_tensor(),
            self.bias.as_tensor(),
            self.pad,
            act,
        )
    }
}

/// act(stride-1 cross-correlation of `[n, in, h, w]` with `w` `[out, in, kh, kw]` after zero padding
/// `padding`, plus `b` `[out]` per output channel).
pub fn conv2d(
    x: &Tensor,
    w: &Tensor,
    b: &Tensor,
    padding: (usize, usize),
    act: Act,
) -> Result<Tensor> {
    if !fuses(x) {
        // candle's conv2d pads both sides alike: pad explicitly, then convolve unpadded.
        let x = x
            .pad_with_zeros(2, padding.0, padding.0)?
            .pad_with_zeros(3, padding.1, padding.1)?;
        let y = x.contiguous()?.conv2d(&w.contiguous()?, 0, 1, 1, 1)?;
        return act.tensor(y.broadcast_add(&b.reshape((1, (), 1, 1))?)?);
    }
    x.contiguous()?.apply_op3(
        &w.contiguous()?,
        &b.contiguous()?,
        ConvOp { pad: padding, act },
    )
}

/// Sizes of one convolution.
#[derive(Clone, Copy, Debug)]
struct Geometry {
    ci: usize,
    h: usize,
    w: usize,
    co: usize,
    kh: usize,
    kw: usize,
    ph: usize,
    pw: usize,
    oh: usize,
    ow: usize,
}

impl Geometry {
    fn new(x: &Shape, k: &Shape, (ph, pw): (usize, usize)) -> Result<(usize, Self)> {
        let (n, ci, h, w) = x.dims4()?;
        let (co, kci, kh, kw) = k.dims4()?;
        if kci != ci || h + 2 * ph < kh || w + 2 * pw < kw {
            candle_core::bail!(
                "conv2d: input [{n}, {ci}, {h}, {w}] padded by ({ph}, {pw}) does not fit kernel \
                 [{co}, {kci}, {kh}, {kw}]"
            );
        }
        let (oh, ow) = (h + 2 * ph - kh + 1, w + 2 * pw - kw + 1);
        Ok((
            n,
            Self {
                ci,
                h,
                w,
                co,
                kh,
                kw,
                ph,
                pw,
                oh,
                ow,
            },
        ))
    }
    /// Values of one input sample.
    fn input(&self) -> usize {
        self.ci * self.h * self.w
    }
    /// Rows of the column matrix: in·kh·kw.
    fn taps(&self) -> usize {
        self.ci * self.kh * self.kw
    }
    /// Output positions per channel.
    fn positions(&self) -> usize {
        self.oh * self.ow
    }
    /// For kernel column `b`, the output columns `j` whose input column `j + b − pw` lies inside.
    fn cols(&self, b: usize) -> (usize, usize) {
        let lo = self.pw.saturating_sub(b);
        let hi = (self.w + self.pw).saturating_sub(b).min(self.ow);
        (lo, hi.max(lo))
    }

    /// cols[(c·kh + a)·kw + b][i·ow + j] = x[c][i + a − ph][j + b − pw] (zero outside).
    fn im2col<T: Float>(&self, x: &[T], cols: &mut [T]) {
        let p = self.positions();
        for c in 0..self.ci {
            for a in 0..self.kh {
                for b in 0..self.kw {
                    let row = &mut cols[((c * self.kh + a) * self.kw + b) * p..][..p];
                    let (j0, j1) = self.cols(b);
                    for i in 0..self.oh {
                        let out = &mut row[i * self.ow..(i + 1) * self.ow];
                        let r = (i + a).wrapping_sub(self.ph);
                        if r >= self.h || j0 >= j1 {
                            out.fill(T::zero());
                            continue;
                        }
                        out[..j0].fill(T::zero());
                        out[j1..].fill(T::zero());
                        let src = &x[(c * self.h + r) * self.w..][..self.w];
                        out[j0..j1].copy_from_slice(&src[j0 + b - self.pw..j1 + b - self.pw]);
                    }
                }
            }
        }
    }

    /// The adjoint of [`Self::im2col`]: dx[c][i + a − ph][j + b − pw] += dcols[..][i·ow + j].
    fn col2im<T: Float>(&self, dcols: &[T], dx: &mut [T]) {
        let p = self.positions();
        dx.fill(T::zero());
        for c in 0..self.ci {
            for a in 0..self.kh {
                for b in 0..self.kw {
                    let row = &dcols[((c * self.kh + a) * self.kw + b) * p..][..p];
                    let (j0, j1) = self.cols(b);
                    for i in 0..self.oh {
                        let r = (i + a).wrapping_sub(self.ph);
                        if r >= self.h || j0 >= j1 {
                            continue;
                        }
                        let dst = &mut dx[(c * self.h + r) * self.w..][..self.w];
                        let src = &row[i * self.ow + j0..i * self.ow + j1];
                        for (d, &v) in dst[j0 + b - self.pw..j1 + b - self.pw].iter_mut().zip(src) {
                            *d += v;
                        }
                    }
                }
            }
        }
    }
}

/// The convolution as a candle op on (input, kernel, bias).
struct ConvOp {
    pad: (usize, usize),
    act: Act,
}

impl ConvOp {
    fn forward<T: Float>(
        &self,
        x: &[T],
        xl: &Layout,
        k: &[T],
        kl: &Layout,
        b: &[T],
    ) -> Result<(CpuStorage, Shape)> {
        let (n, g) = Geometry::new(xl.shape(), kl.shape(), self.pad)?;
        if b.len() != g.co {
            candle_core::bail!("conv2d: bias of {} for {} output channels", b.len(), g.co);
        }
        let (taps, p) = (g.taps(), g.positions());
        let mut y = vec![T::zero(); n * g.co * p];
        // One group of consecutive samples per thread, each with one column buffer.
        let group = n.div_ceil(threads()).max(1);
        y.par_chunks_mut(group * g.co * p)
            .zip(x.par_chunks(group * g.input()))
            .for_each(|(yg, xg)| {
                let mut cols = vec![T::zero(); taps * p];
                for (ys, xs) in yg.chunks_mut(g.co * p).zip(xg.chunks(g.input())) {
                    g.im2col(xs, &mut cols);
                    // y_s [co, P] = K [co, taps] · cols [taps, P]
                    gemm(ys, g.co, p, taps, (k, taps, 1), (&cols, p, 1), false, false);
                    for (row, &bo) in ys.chunks_exact_mut(p).zip(b) {
                        row.iter_mut().for_each(|v| *v = self.act.apply(*v + bo));
                    }
                }
            });
        Ok((
            T::to_cpu_storage_owned(y),
            Shape::from((n, g.co, g.oh, g.ow)),
        ))
    }

    /// (dx, dK, db) for the output `y` and its gradient `gy`; dx is None when `x` carries no graph.
    /// Samples run in parallel, each adding its share of dK to its thread's partial sum.
    fn backward<T: Float>(
        &self,
        x: &Tensor,
        k: &Tensor,
        y: &Tensor,
        gy: &Tensor,
    ) -> Result<(Option<Tensor>, Tensor, Tensor)> {
        let (n, g) = Geometry::new(x.shape(), k.shape(), self.pad)?;
        let (taps, p) = (g.taps(), g.positions());
        let gp = with_data::<T, _>(y, |y| {
            with_data::<T, _>(gy, |gy| Ok(pre_grad(self.act, y, gy)))
        })?;
        let mut db = vec![T::zero(); g.co];
        for (i, row) in gp.chunks_exact(p).enumerate() {
            db[i % g.co] += row.iter().fold(T::zero(), |a, &v| a + v);
        }
        let want_dx = x.track_op();
        let mut dx = vec![T::zero(); if want_dx { n * g.input() } else { 0 }];
        // One group of consecutive samples per thread: its own column buffers and dK partial sum.
        let group = n.div_ceil(threads()).max(1);
        let dk = with_data::<T, _>(x, |xv| {
            with_data::<T, _>(k, |kv| {
                let run = |first: usize, dxg: Option<&mut [T]>| {
                    let mut dk = vec![T::zero(); g.co * taps];
                    let mut cols = vec![T::zero(); taps * p];
                    let mut dcols = vec![T::zero(); if dxg.is_some() { taps * p } else { 0 }];
                    let mut dxg = dxg;
                    for s in first..(first + group).min(n) {
                        let gs = &gp[s * g.co * p..][..g.co * p];
                        g.im2col(&xv[s * g.input()..][..g.input()], &mut cols);
                        // dK [co, taps] += g_s [co, P] · cols_sᵀ [P, taps]
                        gemm(
                            &mut dk,
                            g.co,
                            taps,
                            p,
                            (gs, p, 1),
                            (&cols, 1, p),
                            true,
                            false,
                        );
                        if let Some(dxg) = dxg.as_deref_mut() {
                            // dcols [taps, P] = Kᵀ [taps, co] · g_s [co, P]
                            let (kt, gm) = ((kv, 1, taps), (gs, p, 1));
                            gemm(&mut dcols, taps, p, g.co, kt, gm, false, false);
                            let at = (s - first) * g.input();
                            g.col2im(&dcols, &mut dxg[at..at + g.input()]);
                        }
                    }
                    dk
                };
                let partials: Vec<Vec<T>> = if want_dx {
                    dx.par_chunks_mut(group * g.input())
                        .enumerate()
                        .map(|(i, d)| run(i * group, Some(d)))
                        .collect()
                } else {
                    (0..n.div_ceil(group))
                        .into_par_iter()
                        .map(|i| run(i * group, None))
                        .collect()
                };
                let mut dk = vec![T::zero(); g.co * taps];
                for part in partials {
                    dk.iter_mut().zip(&part).for_each(|(a, b)| *a += *b);
                }
                Ok(dk)
            })
        })?;
        let dev = x.device();
        let dx = if want_dx {
            Some(Tensor::from_vec(dx, x.shape(), dev)?)
        } else {
            None
        };
        Ok((
            dx,
            Tensor::from_vec(dk, k.shape(), dev)?,
            Tensor::from_vec(db, g.co, dev)?,
        ))
    }
}

impl CustomOp3 for ConvOp {
    fn name(&self) -> &'static str {
        "conv2d-im2col"
    }
    fn cpu_fwd(
        &self,
        s1: &CpuStorage,
        l1: &Layout,
        s2: &CpuStorage,
        l2: &Layout,
        s3: &CpuStorage,
        l3: &Layout,
    ) -> Result<(CpuStorage, Shape)> {
        float_dispatch!(s1.dtype(), T => self.forward(
            data::<T>(s1, l1, "conv input")?,
            l1,
            data::<T>(s2, l2, "conv kernel")?,
            l2,
            data::<T>(s3, l3, "conv bias")?,
        ))
    }
    fn bwd(
        &self,
        x: &Tensor,
        k: &Tensor,
        _b: &Tensor,
        y: &Tensor,
        gy: &Tensor,
    ) -> Result<(Option<Tensor>, Option<Tensor>, Option<Tensor>)> {
        let (dx, dk, db) = float_dispatch!(x.dtype(), T => self.backward::<T>(x, k, y, gy))?;
        Ok((dx, Some(dk), Some(db)))
    }
}

/// Max over non-overlapping `kh × kw` windows of `[n, c, h, w]`; trailing rows and columns that do
/// not fill a window are dropped (PyTorch's floor mode). The gradient goes to the first maximum of each
/// window.
pub fn max_pool(x: &Tensor, (kh, kw): (usize, usize)) -> Result<Tensor> {
    let (_, _, h, w) = x.dims4()?;
    if h < kh || w < kw || kh == 0 || kw == 0 {
        candle_core::bail!("max_pool: a {kh}×{kw} window does not fit in {h}×{w}");
    }
    if !fuses(x) {
        // The windows as their own dimensions, reduced by max (candle's max_pool2d has a wrong gradient).
        let (n, c, oh, ow) = (x.dim(0)?, x.dim(1)?, h / kh, w / kw);
        return x
            .narrow(2, 0, oh * kh)?
            .narrow(3, 0, ow * kw)?
            .contiguous()?
            .reshape((n, c, oh, kh, ow, kw))?
            .max(5)?
            .max(3);
    }
    x.contiguous()?.apply_op1(Window {
        k: (kh, kw),
        pool: true,
    })
}

/// Nearest-neighbour upsampling of `[n, c, h, w]` by (`sh`, `sw`): `[n, c, h·sh, w·sw]`.
pub fn upsample(x: &Tensor, (sh, sw): (usize, usize)) -> Result<Tensor> {
    if sh == 0 || sw == 0 {
        candle_core::bail!("upsample: factors must be positive; found {sh}×{sw}");
    }
    if !fuses(x) {
        let (n, c, h, w) = x.dims4()?;
        return x
            .reshape((n, c, h, 1, w, 1))?
            .broadcast_as((n, c, h, sh, w, sw))?
            .contiguous()?
            .reshape((n, c, h * sh, w * sw));
    }
    x.contiguous()?.apply_op1(Window {
        k: (sh, sw),
        pool: false,
    })
}

/// Max pooling (`pool`) or nearest-neighbour upsampling over `k` = (kh, kw) windows: one small image
/// `[oh, ow]` against one large `[oh·kh, ow·kw]` (the pooled input may have extra trailing rows and
/// columns).
struct Window {
    k: (usize, usize),
    pool: bool,
}

impl Window {
    /// The small and the large plane's (height, width) for an input of `shape`.
    fn sizes(&self, shape: &Shape) -> Result<[(usize, usize); 2]> {
        let (_, _, h, w) = shape.dims4()?;
        let (kh, kw) = self.k;
        Ok(if self.pool {
            [(h / kh, w / kw), (h, w)]
        } else {
            [(h, w), (h * kh, w * kw)]
        })
    }

    /// Index in the large plane of the window element (a, b) of small pixel (i, j).
    fn at(&self, large_w: usize, i: usize, j: usize, a: usize, b: usize) -> usize {
        (i * self.k.0 + a) * large_w + j * self.k.1 + b
    }

    fn forward<T: Float>(&self, x: &[T], l: &Layout) -> Result<(CpuStorage, Shape)> {
        let (n, c, _, _) = l.shape().dims4()?;
        let [(sh, sw), (lh, lw)] = self.sizes(l.shape())?;
        let (ih, iw) = if self.pool { (lh, lw) } else { (sh, sw) };
        let (oh, ow) = if self.pool { (sh, sw) } else { (lh, lw) };
        let mut y = vec![T::zero(); n * c * oh * ow];
        y.par_chunks_mut(oh * ow)
            .zip(x.par_chunks(ih * iw))
            .for_each(|(yp, xp)| {
                for i in 0..sh {
                    for j in 0..sw {
                        for a in 0..self.k.0 {
                            for b in 0..self.k.1 {
                                let big = self.at(lw, i, j, a, b);
                                if self.pool {
                                    let v = xp[big];
                                    let m = &mut yp[i * sw + j];
                                    if (a, b) == (0, 0) || v > *m {
                                        *m = v;
                                    }
                                } else {
                                    yp[big] = xp[i * sw + j];
                                }
                            }
                        }
                    }
                }
            });
        Ok((T::to_cpu_storage_owned(y), Shape::from((n, c, oh, ow))))
    }

    /// The input gradient: to the first maximum of each window (pool) or summed over each block
    /// (upsample).
    fn backward<T: Float>(&self, x: &Tensor, gy: &Tensor) -> Result<Tensor> {
        let [(sh, sw), (lh, lw)] = self.sizes(x.shape())?;
        let mut dx = vec![T::zero(); x.elem_count()];
        let (ih, iw) = if self.pool { (lh, lw) } else { (sh, sw) };
        let (oh, ow) = if self.pool { (sh, sw) } else { (lh, lw) };
        with_data::<T, _>(x, |xv| {
            with_data::<T, _>(gy, |gv| {
                dx.par_chunks_mut(ih * iw)
                    .zip(xv.par_chunks(ih * iw).zip(gv.par_chunks(oh * ow)))
                    .for_each(|(dp, (xp, gp))| {
                        for i in 0..sh {
                            for j in 0..sw {
                                if self.pool {
                                    let mut best = self.at(lw, i, j, 0, 0);
                                    for a in 0..self.k.0 {
                                        for b in 0..self.k.1 {
                                            let at = self.at(lw, i, j, a, b);
                                            if xp[at] > xp[best] {
                                                best = at;
                                            }
                                        }
                                    }
                                    dp[best] = gp[i * sw + j];
                                } else {
                                    let mut acc = T::zero();
                                    for a in 0..self.k.0 {
                                        for b in 0..self.k.1 {
                                            acc += gp[self.at(lw, i, j, a, b)];
                                        }
                                    }
                                    dp[i * sw + j] = acc;
                                }
                            }
                        }
                    });
                Ok(())
            })
        })?;
        Tensor::from_vec(dx, x.shape(), x.device())
    }
}

impl CustomOp1 for Window {
    fn name(&self) -> &'static str {
        if self.pool {
            "max-pool"
        } else {
            "upsample-nearest"
        }
    }
    fn cpu_fwd(&self, s: &CpuStorage, l: &Layout) -> Result<(CpuStorage, Shape)> {
        float_dispatch!(s.dtype(), T => self.forward(data::<T>(s, l, "pool input")?, l))
    }
    fn bwd(&self, x: &Tensor, _y: &Tensor, gy: &Tensor) -> Result<Option<Tensor>> {
        Ok(Some(
            float_dispatch!(x.dtype(), T => self.backward::<T>(x, gy))?,
        ))
    }
}

/// The centre `h × w` window of `[n, c, H, W]` (H ≥ h, W ≥ w; an odd excess drops one more at the
/// end).
pub fn crop(x: &Tensor, (h, w): (usize, usize)) -> Result<Tensor> {
    let (_, _, hh, ww) = x.dims4()?;
    if hh < h || ww < w {
        candle_core::bail!("crop: cannot take {h}×{w} out of {hh}×{ww}");
    }
    x.narrow(2, (hh - h) / 2, h)?.narrow(3, (ww - w) / 2, w)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::nn::params::Params;
    use crate::testing::{grad_check, grad_check_var, max_abs_diff, randn_like};
    use candle_core::{DType, Device};

    /// Direct loops: the definition the composed ops must match.
    fn conv_reference(x: &Tensor, w: &Tensor, b: &Tensor, (ph, pw): (usize, usize)) -> Tensor {
        let (n, ci, h, ww) = x.dims4().unwrap();
        let (co, _, kh, kw) = w.dims4().unwrap();
        let (oh, ow) = (h + 2 * ph - kh + 1, ww + 2 * pw - kw + 1);
        let xv = x.flatten_all().unwrap().to_vec1::<f64>().unwrap();
        let wv = w.flatten_all().unwrap().to_vec1::<f64>().unwrap();
        let bv = b.to_vec1::<f64>().unwrap();
        let mut y = vec![0.0; n * co * oh * ow];
        for s in 0..n {
            for o in 0..co {
                for i in 0..oh {
                    for j in 0..ow {
                        let mut acc = bv[o];
                        for c in 0..ci {
                            for a in 0..kh {
                                for bb in 0..kw {
                                    let (r, q) = (i + a, j + bb);
                                    if r < ph || q < pw || r - ph >= h || q - pw >= ww {
                                        continue;
                                    }
                                    acc += xv[((s * ci + c) * h + r - ph) * ww + q - pw]
                                        * wv[((o * ci + c) * kh + a) * kw + bb];
                                }
                            }
                        }
                        y[((s * co + o) * oh + i) * ow + j] = acc;
                    }
                }
            }
        }
        Tensor::from_vec(y, (n, co, oh, ow), &Device::Cpu).unwrap()
    }

    #[test]
    fn conv_matches_the_definition_and_finite_differences() {
        crate::testing::on_both_paths(|| {
            // 2-D (3×3, with and without padding) and 1-D as height-1 images (1×3, width padding only).
            for (shape, kernel, padding) in [
                ([2, 2, 5, 4], (3, 3), (1, 1)),
                ([2, 2, 5, 4], (3, 3), (0, 0)),
                ([3, 2, 1, 8], (1, 3), (0, 1)),
                ([3, 2, 1, 8], (1, 3), (0, 0)),
            ] {
                let mut p = Params::new(DType::F64, &Device::Cpu);
                let mut rng = crate::rng::stream(3, "t");
                let conv = Conv2d::new(&mut p.scope("c", &mut rng), 2, 3, kernel, padding).unwrap();
                let x = randn_like(&shape, 1.0, 1).unwrap();
                let y = conv.forward(&x).unwrap();
                let want =
                    conv_reference(&x, conv.weight.as_tensor(), conv.bias.as_tensor(), padding);
                assert_eq!(y.dims(), want.dims());
                assert!(max_abs_diff(&y, &want) < 1e-12, "{kernel:?} {padding:?}");
                let relu = conv.forward_act(&x, Act::Relu).unwrap();
                assert!(max_abs_diff(&relu, &want.relu().unwrap()) < 1e-12);
                let r = randn_like(y.dims(), 1.0, 2).unwrap();
                for act in [Act::Identity, Act::Relu] {
                    let f = |x: &Tensor| conv.forward_act(x, act)?.mul(&r)?.sum_all();
                    let e = grad_check(&x, 1e-6, f).unwrap();
                    assert!(e < 1e-8, "{kernel:?} {padding:?} {act:?} input {e:e}");
                    // The kernel and bias, with the input as plain data (its gradient is skipped).
                    for (name, v) in p.vars() {
                        let e = grad_check_var(v, 1e-6, || f(&x)).unwrap();
                        assert!(e < 1e-8, "{kernel:?} {padding:?} {act:?} {name} {e:e}");
                    }
                }
                let grads = conv
                    .forward(&x)
                    .unwrap()
                    .sum_all()
                    .unwrap()
                    .backward()
                    .unwrap();
                // The fused path skips the gradient of plain data.
                assert!(grads.get(&x).is_none() || !fuses(&x));
                assert!(grads.get(&conv.weight).is_some());
            }
        });
    }

    #[test]
    fn pooling_upsampling_and_crop_values_and_gradients() {
        crate::testing::on_both_paths(|| {
            // Distinct values, so each window has one maximum and differences never cross a tie.
            let x = Tensor::arange(0.0f64, 2.0 * 5.0 * 7.0, &Device::Cpu)
                .unwrap()
                .affine(0.37, 0.0)
                .unwrap()
                .sin()
                .unwrap()
                .reshape((1, 2, 5, 7))
                .unwrap();
            let p = max_pool(&x, (2, 2)).unwrap();
            assert_eq!(p.dims(), &[1, 2, 2, 3]);
            let xs = x.flatten_all().unwrap().to_vec1::<f64>().unwrap();
            let at = |c: usize, i: usize, j: usize| xs[(c * 5 + i) * 7 + j];
            let pv = p.flatten_all().unwrap().to_vec1::<f64>().unwrap();
            for c in 0..2 {
                for i in 0..2 {
                    for j in 0..3 {
                        let m = [(0, 0), (0, 1), (1, 0), (1, 1)]
                            .iter()
                            .map(|&(a, b)| at(c, 2 * i + a, 2 * j + b))
                            .fold(f64::NEG_INFINITY, f64::max);
                        assert_eq!(pv[(c * 2 + i) * 3 + j], m);
                    }
                }
            }
            let r = randn_like(&[1, 2, 2, 3], 1.0, 4).unwrap();
            let e = grad_check(&x, 1e-6, |x| max_pool(x, (2, 2))?.mul(&r)?.sum_all()).unwrap();
            assert!(e < 1e-8, "pool 2×2 {e:e}");
            let r1 = randn_like(&[1, 2, 5, 3], 1.0, 5).unwrap();
            let e = grad_check(&x, 1e-6, |x| max_pool(x, (1, 2))?.mul(&r1)?.sum_all()).unwrap();
            assert!(e < 1e-8, "pool 1×2 {e:e}");

            let u = upsample(&x, (2, 3)).unwrap();
            assert_eq!(u.dims(), &[1, 2, 10, 21]);
            let uv = u.flatten_all().unwrap().to_vec1::<f64>().unwrap();
            assert_eq!(uv[(10 + 7) * 21 + 20], at(1, 3, 6));
            let r2 = randn_like(&[1, 2, 10, 21], 1.0, 6).unwrap();
            let e = grad_check(&x, 1e-6, |x| upsample(x, (2, 3))?.mul(&r2)?.sum_all()).unwrap();
            assert!(e < 1e-8, "upsample {e:e}");

            let c = crop(&x, (2, 4)).unwrap();
            let cv = c.flatten_all().unwrap().to_vec1::<f64>().unwrap();
            assert_eq!(cv[0], at(0, 1, 1));
            let r3 = randn_like(&[1, 2, 2, 4], 1.0, 7).unwrap();
            let e = grad_check(&x, 1e-6, |x| crop(x, (2, 4))?.mul(&r3)?.sum_all()).unwrap();
            assert!(e < 1e-8, "crop {e:e}");
            assert!(crop(&x, (6, 4)).is_err());
            assert!(max_pool(&x, (6, 2)).is_err());
        });
    }
}
