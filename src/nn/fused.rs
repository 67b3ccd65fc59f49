//! Fused layers with hand-written backward passes, as candle custom ops: `x Wᵀ + b` with an optional
//! ReLU, and train-mode batch norm with an optional ReLU. candle composes these from many element-wise
//! ops and strided reductions, each with its own pass and allocation; here each is one GEMM (forward)
//! or three (backward) plus one pass over the data. Both are checked against finite differences in f64.
//!
//! The kernels are the CPU path. A tensor on another device (a GPU), or any tensor while [`generic`]
//! holds on the calling thread, takes the generic path instead: the same computation composed of
//! candle's own ops (cuBLAS matmuls and reductions on a GPU), whose gradients come from candle's
//! autograd. The tests run every gradient check through both paths on the CPU.

use candle_core::backend::BackendStorage;
use candle_core::{
    CpuStorage, CustomOp2, CustomOp3, DType, Layout, Result, Shape, Tensor, WithDType,
};

thread_local! {
    static GENERIC: std::cell::Cell<bool> = const { std::cell::Cell::new(false) };
}

/// Keeps the generic path on for this thread until dropped (then the previous choice holds again).
pub struct GenericGuard(bool);

impl Drop for GenericGuard {
    fn drop(&mut self) {
        GENERIC.with(|g| g.set(self.0));
    }
}

/// Runs candle's own ops instead of the fused CPU kernels on this thread while the guard lives: the
/// path every tensor on a GPU takes, here on the CPU (to check it, or to compare the two).
pub fn generic() -> GenericGuard {
    GenericGuard(GENERIC.with(|g| g.replace(true)))
}

/// Whether the fused kernels serve `t`: it is on the CPU and [`generic`] does not hold.
pub fn fuses(t: &Tensor) -> bool {
    t.device().is_cpu() && !GENERIC.with(|g| g.get())
}

/// Element types of the fused kernels.
pub trait Float: WithDType + num_traits::Float + Send + Sync {}
impl Float for f32 {}
impl Float for f64 {}

/// The contiguous data of a CPU tensor.
pub(crate) fn data<'a, T: Float>(s: &'a CpuStorage, l: &Layout, what: &str) -> Result<&'a [T]> {
    match l.contiguous_offsets() {
        Some((a, b)) => Ok(&s.as_slice::<T>()?[a..b]),
        None => candle_core::bail!("{what}: expected a contiguous tensor"),
    }
}

/// The data of a tensor, read through a closure (copied only when it is not contiguous).
pub(crate) fn with_data<T: Float, R>(t: &Tensor, f: impl FnOnce(&[T]) -> Result<R>) -> Result<R> {
    let t = t.contiguous()?;
    let (s, l) = t.storage_and_layout();
    match &*s {
        candle_core::Storage::Cpu(c) => f(data(c, l, "fused op")?),
        _ => candle_core::bail!("fused ops run on the CPU"),
    }
}

/// Threads of the compute pool (read once: candle's lookup parses /proc on every call).
pub(crate) fn threads() -> usize {
    static THREADS: std::sync::OnceLock<usize> = std::sync::OnceLock::new();
    *THREADS.get_or_init(candle_core::utils::get_num_threads)
}

/// A matrix operand: (data, row stride, column stride).
pub(crate) type Operand<'a, T> = (&'a [T], usize, usize);

/// dst[m, n] (row-major) = a · b, or dst + a · b when `acc`; `parallel` lets the product use the rayon
/// pool when it is large enough to gain from it.
#[allow(clippy::too_many_arguments)]
pub(crate) fn gemm<T: Float>(
    dst: &mut [T],
    m: usize,
    n: usize,
    k: usize,
    a: Operand<T>,
    b: Operand<T>,
    acc: bool,
    parallel: bool,
) {
    assert!(dst.len() >= m * n);
    let par = if parallel && m * n * k > 64 * 64 * 64 && threads() > 1 {
        gemm::Parallelism::Rayon(threads())
    } else {
        gemm::Parallelism::None
    };
    // SAFETY: the slices cover every index the strides reach (checked by the callers' shapes).
    unsafe {
        gemm::gemm(
            m,
            n,
            k,
            dst.as_mut_ptr(),
            1,
            n as isize,
            acc,
            a.0.as_ptr(),
            a.2 as isize,
            a.1 as isize,
            b.0.as_ptr(),
            b.2 as isize,
            b.1 as isize,
            if acc { T::one() } else { T::zero() },
            T::one(),
            false,
            false,
            false,
            par,
        )
    }
}

/// A new row-major `[m, n]` = a · b for the first `m` of `rows` output rows: the returned vector has
/// length `m·n` and capacity `rows·n`, and no element is written twice (GEMM outputs are not zeroed first).
fn gemm_into_new<T: Float>(
    rows: usize,
    m: usize,
    n: usize,
    k: usize,
    a: Operand<T>,
    b: Operand<T>,
    parallel: bool,
) -> Vec<T> {
    let mut v: Vec<T> = Vec::with_capacity(rows.max(m) * n);
    if k == 0 {
        // An empty product: zeros (gemm need not write anything then).
        v.resize(m * n, T::zero());
        return v;
    }
    let dst = v.spare_capacity_mut();
    // SAFETY: a `MaybeUninit<T>` slice has the layout of a `[T]` one; gemm does not read the
    // destination when `acc` is false and writes all m·n elements, after which they are initialized.
    unsafe {
        let dst = std::slice::from_raw_parts_mut(dst.as_mut_ptr().cast::<T>(), m * n);
        gemm(dst, m, n, k, a, b, false, parallel);
        v.set_len(m * n);
    }
    v
}

/// Whether to apply a ReLU after the affine part.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Act {
    Identity,
    Relu,
}

impl Act {
    pub(crate) fn apply<T: Float>(self, v: T) -> T {
        match self {
            Act::Identity => v,
            Act::Relu => num_traits::Float::max(v, T::zero()),
        }
    }

    /// The activation as a candle op (the generic path).
    pub fn tensor(self, y: Tensor) -> Result<Tensor> {
        match self {
            Act::Identity => Ok(y),
            Act::Relu => y.relu(),
        }
    }
}

/// Calls `f(first_row, block)` on blocks of whole rows of the row-major `[rows, n]` buffer `y`, on the
/// pool when `y` is large. For element-wise work only: how rows are split never changes a result.
pub(crate) fn for_row_blocks<T: Float>(y: &mut [T], n: usize, f: impl Fn(usize, &mut [T]) + Sync) {
    const BLOCK: usize = 1 << 15;
    let rows = BLOCK.div_ceil(n.max(1));
    if y.len() <= 2 * BLOCK || threads() < 2 {
        return f(0, y);
    }
    use rayon::prelude::*;
    y.par_chunks_mut(rows * n)
        .enumerate()
        .for_each(|(i, block)| f(i * rows, block));
}

/// Gradient with respect to the pre-activation, given the output `y` and the output gradient `g`.
pub(crate) fn pre_grad<T: Float>(act: Act, y: &[T], g: &[T]) -> Vec<T> {
    match act {
        Act::Identity => g.to_vec(),
        Act::Relu => y
            .iter()
            .zip(g)
            .map(|(&y, &g)| if y > T::zero() { g } else { T::zero() })
            .collect(),
    }
}

/// Per-column values of a row-major `[rows, n]` matrix of `len` elements: `f(c0, c1)` gives those of
/// columns `c0..c1`. Large matrices are split into column ranges across the pool; each column is still
/// reduced in row order, so the split changes no result.
pub(crate) fn by_columns<T: Send>(
    n: usize,
    len: usize,
    f: impl Fn(usize, usize) -> Vec<T> + Sync,
) -> Vec<T> {
    let parts = if len > 1 << 16 { threads().min(n) } else { 1 };
    if parts <= 1 {
        return f(0, n);
    }
    use rayon::prelude::*;
    let ranges: Vec<Vec<T>> = (0..parts)
        .into_par_iter()
        .map(|i| f(i * n / parts, (i + 1) * n / parts))
        .collect();
    ranges.into_iter().flatten().collect()
}

/// Column sums of a row-major `[rows, n]` matrix.
pub(crate) fn column_sums<T: Float>(x: &[T], n: usize) -> Vec<T> {
    by_columns(n, x.len(), |c0, c1| {
        let mut s = vec![T::zero(); c1 - c0];
        for row in x.chunks_exact(n) {
            for (a, &v) in s.iter_mut().zip(&row[c0..c1]) {
                *a += v;
            }
        }
        s
    })
}

/// act(x Wᵀ + b) for x `[rows, in]`, W `[out, in]`, b `[out]` (optional). The last `repeat` rows of x
/// repeat its first `repeat` rows: their outputs are copied, not computed, and their output gradients
/// reach W and b through one GEMM together with those of the rows they repeat, while each row keeps its
/// own input gradient. The training step feeds the discriminator its transformed latents twice, once
/// with the generator's gradient and once detached; this saves a third of its forward and weight GEMMs.
struct LinearOp {
    act: Act,
    repeat: usize,
}

impl LinearOp {
    fn forward<T: Float>(
        &self,
        x: &[T],
        xl: &Layout,
        w: &[T],
        wl: &Layout,
        b: Option<&[T]>,
    ) -> Result<(CpuStorage, Shape)> {
        let (rows, inp) = xl.shape().dims2()?;
        let (out, winp) = wl.shape().dims2()?;
        if winp != inp || b.is_some_and(|b| b.len() != out) {
            candle_core::bail!(
                "linear: input [{rows}, {inp}], weight [{out}, {winp}], bias {:?}",
                b.map(|b| b.len())
            );
        }
        let computed = self.computed_rows(x, rows, inp)?;
        let mut y = gemm_into_new(rows, computed, out, inp, (x, inp, 1), (w, 1, inp), true);
        if b.is_some() || self.act != Act::Identity {
            for_row_blocks(&mut y, out, |_, block| {
                for row in block.chunks_exact_mut(out) {
                    match b {
                        Some(b) => row
                            .iter_mut()
                            .zip(b)
                            .for_each(|(v, &b)| *v = self.act.apply(*v + b)),
                        None => row.iter_mut().for_each(|v| *v = self.act.apply(*v)),
                    }
                }
            });
        }
        y.extend_from_within(..self.repeat * out);
        Ok((T::to_cpu_storage_owned(y), Shape::from((rows, out))))
    }

    /// Rows of `x` (`[rows, inp]`) whose outputs are computed, after checking that the last `repeat`
    /// rows equal the first.
    fn computed_rows<T: Float>(&self, x: &[T], rows: usize, inp: usize) -> Result<usize> {
        let r = self.repeat;
        if r == 0 {
            return Ok(rows);
        }
        // Copies compare equal even where they hold NaN: a non-finite input flows on to the loss,
        // where training stops naming the term, instead of failing here.
        #[allow(clippy::eq_op)]
        let same = |a: &T, b: &T| a == b || (a != a && b != b);
        if 2 * r > rows
            || !x[..r * inp]
                .iter()
                .zip(&x[(rows - r) * inp..rows * inp])
                .all(|(a, b)| same(a, b))
        {
            candle_core::bail!(
                "linear: the last {r} of {rows} input rows must repeat the first {r}"
            );
        }
        Ok(rows - r)
    }

    /// (dx, dW, db) for output `y` and its gradient `g`; dx is skipped (None) unless `need_dx`: the data
    /// entering the first layer needs none, and for a 10 000-pixel input that GEMM is the largest.
    fn backward<T: Float>(
        &self,
        x: &Tensor,
        w: &Tensor,
        y: &Tensor,
        g: &Tensor,
        need_dx: bool,
    ) -> Result<(Option<Tensor>, Tensor, Tensor)> {
        let (rows, inp) = x.dims2()?;
        let out = w.dim(0)?;
        let dev = x.device();
        // The gradient before the activation: `g` itself (not copied) when there is none.
        let (dx, dw, db) = match self.act {
            Act::Identity => with_data::<T, _>(g, |gp| self.grads(x, w, gp, need_dx))?,
            act => {
                let gp =
                    with_data::<T, _>(y, |y| with_data::<T, _>(g, |g| Ok(pre_grad(act, y, g))))?;
                self.grads(x, w, &gp, need_dx)?
            }
        };
        Ok((
            dx.map(|dx| Tensor::from_vec(dx, (rows, inp), dev))
                .transpose()?,
            Tensor::from_vec(dw, (out, inp), dev)?,
            Tensor::from_vec(db, out, dev)?,
        ))
    }

    /// (dx, dW, db) as flat vectors from the pre-activation gradient `gp`.
    #[allow(clippy::type_complexity)]
    fn grads<T: Float>(
        &self,
        x: &Tensor,
        w: &Tensor,
        gp: &[T],
        need_dx: bool,
    ) -> Result<(Option<Vec<T>>, Vec<T>, Vec<T>)> {
        let (rows, inp) = x.dims2()?;
        let out = w.dim(0)?;
        // Weight and bias see each repeated row's gradient added to that of the row it repeats.
        let computed = rows - self.repeat;
        let summed: Vec<T>;
        let gw = if self.repeat > 0 {
            let (head, tail) = gp.split_at(computed * out);
            summed = head
                .iter()
                .zip(tail.iter().chain(std::iter::repeat(&T::zero())))
                .map(|(&a, &t)| a + t)
                .collect();
            &summed[..]
        } else {
            gp
        };
        let (dx, dw) = with_data::<T, _>(w, |w| {
            with_data::<T, _>(x, |x| {
                let dx_job =
                    |par| gemm_into_new(rows, rows, inp, out, (gp, out, 1), (w, inp, 1), par);
                let dw_job =
                    |par| gemm_into_new(out, out, inp, computed, (gw, 1, out), (x, inp, 1), par);
                Ok(match need_dx {
                    true if threads() > 1 && rows * inp * out > 64 * 64 * 64 => {
                        let (dx, dw) = split_dx_dw(rows, computed, inp, out, gp, w, dw_job);
                        (Some(dx), dw)
                    }
                    true => (Some(dx_job(true)), dw_job(true)),
                    false => (None, dw_job(true)),
                })
            })
        })?;
        Ok((dx, dw, column_sums(gw, out)))
    }
}

/// dx = g'W (`[rows, inp]`, g' `[rows, out]`) beside `dw_job`, whose GEMM runs over `computed` rows: the
/// two are independent, and each runs single-threaded beside the other, which scales better than
/// splitting each GEMM. When dW has fewer rows (repeated rows), its thread also takes the first dx rows,
/// so that both threads do the same number of multiply-adds.
fn split_dx_dw<T: Float>(
    rows: usize,
    computed: usize,
    inp: usize,
    out: usize,
    gp: &[T],
    w: &[T],
    dw_job: impl FnOnce(bool) -> Vec<T> + Send,
) -> (Vec<T>, Vec<T>) {
    let head = (rows - computed) / 2;
    let mut dx: Vec<T> = Vec::with_capacity(rows * inp);
    let dst = dx.spare_capacity_mut();
    // SAFETY: as in `gemm_into_new`: the two GEMMs write all rows·inp elements, each its own rows, and
    // never read the destination (k = out ≥ 1 here, so the products are not empty).
    let dw = unsafe {
        let dst = std::slice::from_raw_parts_mut(dst.as_mut_ptr().cast::<T>(), rows * inp);
        let (first, rest) = dst.split_at_mut(head * inp);
        let dx_rows = |dst: &mut [T], from: usize, n: usize| {
            if n > 0 {
                gemm(
                    dst,
                    n,
                    inp,
                    out,
                    (&gp[from * out..], out, 1),
                    (w, inp, 1),
                    false,
                    false,
                );
            }
        };
        let (dw, ()) = rayon::join(
            || {
                dx_rows(first, 0, head);
                dw_job(false)
            },
            || dx_rows(rest, head, rows - head),
        );
        dx.set_len(rows * inp);
        dw
    };
    (dx, dw)
}

/// Evaluates `$body` with `$T` the element type (f32 or f64) of `$dtype`.
macro_rules! float_dispatch {
    ($dtype:expr, $T:ident => $body:expr) => {
        match $dtype {
            DType::F32 => {
                type $T = f32;
                $body
            }
            DType::F64 => {
                type $T = f64;
                $body
            }
            d => candle_core::bail!("fused ops support f32 and f64, found {d:?}"),
        }
    };
}
pub(crate) use float_dispatch;

impl CustomOp3 for LinearOp {
    fn name(&self) -> &'static str {
        "fused-linear"
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
            data::<T>(s1, l1, "linear input")?,
            l1,
            data::<T>(s2, l2, "linear weight")?,
            l2,
            Some(data::<T>(s3, l3, "linear bias")?),
        ))
    }
    fn bwd(
        &self,
        x: &Tensor,
        w: &Tensor,
        _b: &Tensor,
        y: &Tensor,
        g: &Tensor,
    ) -> Result<(Option<Tensor>, Option<Tensor>, Option<Tensor>)> {
        let (dx, dw, db) = linear_backward(x, w, y, g, self.act, self.repeat, x.track_op())?;
        Ok((dx, Some(dw), Some(db)))
    }
}

impl CustomOp2 for LinearOp {
    fn name(&self) -> &'static str {
        "fused-linear-no-bias"
    }
    fn cpu_fwd(
        &self,
        s1: &CpuStorage,
        l1: &Layout,
        s2: &CpuStorage,
        l2: &Layout,
    ) -> Result<(CpuStorage, Shape)> {
        float_dispatch!(s1.dtype(), T => self.forward(
            data::<T>(s1, l1, "linear input")?,
            l1,
            data::<T>(s2, l2, "linear weight")?,
            l2,
            None,
        ))
    }
    fn bwd(
        &self,
        x: &Tensor,
        w: &Tensor,
        y: &Tensor,
        g: &Tensor,
    ) -> Result<(Option<Tensor>, Option<Tensor>)> {
        let (dx, dw, _) = linear_backward(x, w, y, g, self.act, self.repeat, x.track_op())?;
        Ok((dx, Some(dw)))
    }
}

/// (dx, dW, db) of `y = act(x Wᵀ + b)` (with `repeat` as in [`linear_repeat`]) for the output gradient
/// `g`; dx only when `need_dx`.
pub(crate) fn linear_backward(
    x: &Tensor,
    w: &Tensor,
    y: &Tensor,
    g: &Tensor,
    act: Act,
    repeat: usize,
    need_dx: bool,
) -> Result<(Option<Tensor>, Tensor, Tensor)> {
    let op = LinearOp { act, repeat };
    float_dispatch!(x.dtype(), T => op.backward::<T>(x, w, y, g, need_dx))
}

/// act(x Wᵀ + b) for `x` `[rows, in]`, `w` `[out, in]`, `b` `[out]`.
pub fn linear(x: &Tensor, w: &Tensor, b: Option<&Tensor>, act: Act) -> Result<Tensor> {
    linear_repeat(x, w, b, act, 0)
}

/// [`linear`] for an `x` whose last `repeat` rows repeat its first `repeat` rows (an error otherwise):
/// those outputs are copied and their gradients reach `w` and `b` in the GEMM of the rows they repeat.
pub fn linear_repeat(
    x: &Tensor,
    w: &Tensor,
    b: Option<&Tensor>,
    act: Act,
    repeat: usize,
) -> Result<Tensor> {
    if !fuses(x) {
        // Repeated rows are computed again: the same values, and autograd sums their gradients.
        let y = x.matmul(&w.t()?)?;
        let y = match b {
            Some(b) => y.broadcast_add(b)?,
            None => y,
        };
        return act.tensor(y);
    }
    let x = x.contiguous()?;
    let w = w.contiguous()?;
    let op = LinearOp { act, repeat };
    match b {
        Some(b) => x.apply_op3(&w, &b.contiguous()?, op),
        None => x.apply_op2(&w, op),
    }
}

/// Column means and biased variances of `x` `[rows, n]` (f64), without a gradient.
pub fn column_stats(x: &Tensor) -> Result<(Vec<f64>, Vec<f64>)> {
    fn stats<T: Float>(x: &Tensor) -> Result<(Vec<f64>, Vec<f64>)> {
        let n = x.dim(1)?;
        with_data::<T, _>(x, |d| {
            let rows = (d.len() / n).max(1) as f64;
            let mean: Vec<f64> = column_sums(d, n)
                .iter()
                .map(|&s| WithDType::to_f64(s) / rows)
                .collect();
            let var = by_columns(n, d.len(), |c0, c1| {
                let mut var = vec![0.0; c1 - c0];
                for row in d.chunks_exact(n) {
                    for ((v, &x), m) in var.iter_mut().zip(&row[c0..c1]).zip(&mean[c0..c1]) {
                        let c = WithDType::to_f64(x) - m;
                        *v += c * c;
                    }
                }
                var.iter_mut().for_each(|v| *v /= rows);
                var
            });
            Ok((mean, var))
        })
    }
    float_dispatch!(x.dtype(), T => stats::<T>(x))
}

/// Batch norm with the statistics `mean`, `inv` = 1/√(var + eps), then act. With `batch` the statistics
/// are those of `x` itself (train mode) and gradients flow through them; otherwise they are constants.
struct BatchNormOp {
    mean: Vec<f64>,
    inv: Vec<f64>,
    act: Act,
    batch: bool,
}

impl BatchNormOp {
    fn forward<T: Float>(
        &self,
        x: &[T],
        xl: &Layout,
        w: &[T],
        b: &[T],
    ) -> Result<(CpuStorage, Shape)> {
        let n = self.mean.len();
        // y = act(x·s + t) with s = γ·inv, t = β − mean·s.
        let s: Vec<T> = (0..n)
            .map(|j| T::from_f64(WithDType::to_f64(w[j]) * self.inv[j]))
            .collect();
        let t: Vec<T> = (0..n)
            .map(|j| T::from_f64(WithDType::to_f64(b[j]) - self.mean[j] * WithDType::to_f64(s[j])))
            .collect();
        let mut y = x.to_vec();
        for_row_blocks(&mut y, n, |_, block| {
            for row in block.chunks_exact_mut(n) {
                for ((v, &s), &t) in row.iter_mut().zip(&s).zip(&t) {
                    *v = self.act.apply(*v * s + t);
                }
            }
        });
        Ok((T::to_cpu_storage_owned(y), xl.shape().clone()))
    }

    fn backward<T: Float>(
        &self,
        x: &Tensor,
        w: &Tensor,
        y: &Tensor,
        g: &Tensor,
    ) -> Result<(Tensor, Tensor, Tensor)> {
        let n = self.mean.len();
        let dev = x.device();
        let gp = with_data::<T, _>(y, |y| {
            with_data::<T, _>(g, |g| Ok(pre_grad(self.act, y, g)))
        })?;
        let rows = gp.len() / n;
        let mean: Vec<T> = self.mean.iter().map(|&v| T::from_f64(v)).collect();
        let inv: Vec<T> = self.inv.iter().map(|&v| T::from_f64(v)).collect();
        let xd = x.contiguous()?;
        let (dgamma, dbeta, dx) = with_data::<T, _>(&xd, |x| {
            // Σg and Σg·x̂ per column, in one pass, each column in row order.
            let (dbeta, dgamma): (Vec<T>, Vec<T>) = by_columns(n, gp.len(), |c0, c1| {
                let mut sums = vec![(T::zero(), T::zero()); c1 - c0];
                for (xr, gr) in x.chunks_exact(n).zip(gp.chunks_exact(n)) {
                    for ((b, d), j) in sums.iter_mut().zip(c0..c1) {
                        *b += gr[j];
                        *d += gr[j] * (xr[j] - mean[j]) * inv[j];
                    }
                }
                sums
            })
            .into_iter()
            .unzip();
            let wv = with_data::<T, _>(w, |w| Ok(w.to_vec()))?;
            let nf = T::from_f64(rows as f64);
            // Batch statistics: dx = γ·inv/N · (N·g − Σg − x̂·Σ(g·x̂)); fixed ones: dx = γ·inv·g.
            let scale: Vec<T> = (0..n).map(|j| wv[j] * inv[j] / nf).collect();
            let mut dx = vec![T::zero(); rows * n];
            for_row_blocks(&mut dx, n, |at, block| {
                let (x, gp) = (&x[at * n..], &gp[at * n..]);
                for ((dr, xr), gr) in block
                    .chunks_exact_mut(n)
                    .zip(x.chunks_exact(n))
                    .zip(gp.chunks_exact(n))
                {
                    for j in 0..n {
                        dr[j] = if self.batch {
                            let xh = (xr[j] - mean[j]) * inv[j];
                            scale[j] * (nf * gr[j] - dbeta[j] - xh * dgamma[j])
                        } else {
                            scale[j] * nf * gr[j]
                        };
                    }
                }
            });
            Ok((dgamma, dbeta, dx))
        })?;
        Ok((
            Tensor::from_vec(dx, x.shape(), dev)?,
            Tensor::from_vec(dgamma, n, dev)?,
            Tensor::from_vec(dbeta, n, dev)?,
        ))
    }
}

impl CustomOp3 for BatchNormOp {
    fn name(&self) -> &'static str {
        "fused-batch-norm"
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
            data::<T>(s1, l1, "batch-norm input")?,
            l1,
            data::<T>(s2, l2, "batch-norm weight")?,
            data::<T>(s3, l3, "batch-norm bias")?,
        ))
    }
    fn bwd(
        &self,
        x: &Tensor,
        w: &Tensor,
        _b: &Tensor,
        y: &Tensor,
        g: &Tensor,
    ) -> Result<(Option<Tensor>, Option<Tensor>, Option<Tensor>)> {
        let (dx, dw, db) = float_dispatch!(x.dtype(), T => self.backward::<T>(x, w, y, g))?;
        Ok((Some(dx), Some(dw), Some(db)))
    }
}

/// 1/√(var + eps) per feature.
pub(crate) fn inv_std(var: &[f64], eps: f64) -> Vec<f64> {
    var.iter().map(|v| 1.0 / (v + eps).sqrt()).collect()
}

/// (dx, dγ, dβ) of train-mode `y = act(batch-norm(x))` with the batch statistics `mean` and
/// `inv` = [`inv_std`] for the output gradient `g`.
pub(crate) fn batch_norm_backward(
    x: &Tensor,
    weight: &Tensor,
    y: &Tensor,
    g: &Tensor,
    mean: Vec<f64>,
    inv: Vec<f64>,
    act: Act,
) -> Result<(Tensor, Tensor, Tensor)> {
    let op = BatchNormOp {
        mean,
        inv,
        act,
        batch: true,
    };
    float_dispatch!(x.dtype(), T => op.backward::<T>(x, weight, y, g))
}

/// act(batch-norm(x)) for `x` `[rows, n]` with per-feature `mean` and biased `var`. With `batch` these
/// are `x`'s own statistics (train mode, from [`column_stats`]) and gradients flow through them as in
/// autograd; otherwise they are fixed (eval mode, the running statistics).
#[allow(clippy::too_many_arguments)]
pub fn batch_norm(
    x: &Tensor,
    weight: &Tensor,
    bias: &Tensor,
    mean: Vec<f64>,
    var: &[f64],
    eps: f64,
    act: Act,
    batch: bool,
) -> Result<Tensor> {
    let inv = inv_std(var, eps);
    x.contiguous()?.apply_op3(
        &weight.contiguous()?,
        &bias.contiguous()?,
        BatchNormOp {
            mean,
            inv,
            act,
            batch,
        },
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testing::{grad_check, randn_like};

    /// Inputs away from the ReLU kink so central differences are exact.
    fn away_from_zero(x: Tensor) -> Tensor {
        (x.sign().unwrap().affine(0.3, 0.0).unwrap() + &x).unwrap()
    }

    #[test]
    fn linear_relu_gradients_match_finite_differences() {
        crate::testing::on_both_paths(|| {
            let x = randn_like(&[5, 4], 1.0, 1).unwrap();
            let w = randn_like(&[3, 4], 1.0, 2).unwrap();
            let b = randn_like(&[3], 1.0, 3).unwrap();
            let r = randn_like(&[5, 3], 1.0, 4).unwrap();
            // Shift so no pre-activation sits near 0.
            let pre = linear(&x, &w, Some(&b), Act::Identity).unwrap();
            let b = (b - pre.mean(0).unwrap()).unwrap();
            let pre = linear(&x, &w, Some(&b), Act::Identity).unwrap();
            let min = pre
                .abs()
                .unwrap()
                .min_all()
                .unwrap()
                .to_scalar::<f64>()
                .unwrap();
            assert!(min > 1e-3, "{min}");
            for act in [Act::Identity, Act::Relu] {
                let f = |x: &Tensor, w: &Tensor, b: &Tensor| -> Result<Tensor> {
                    linear(x, w, Some(b), act)?.mul(&r)?.sum_all()
                };
                let e = grad_check(&x, 1e-6, |x| f(x, &w, &b)).unwrap();
                assert!(e < 1e-8, "{act:?} input {e:e}");
                let e = grad_check(&w, 1e-6, |w| f(&x, w, &b)).unwrap();
                assert!(e < 1e-8, "{act:?} weight {e:e}");
                let e = grad_check(&b, 1e-6, |b| f(&x, &w, b)).unwrap();
                assert!(e < 1e-8, "{act:?} bias {e:e}");
                let e =
                    grad_check(&w, 1e-6, |w| linear(&x, w, None, act)?.mul(&r)?.sum_all()).unwrap();
                assert!(e < 1e-8, "{act:?} no-bias weight {e:e}");
            }
            // Data without a graph gets no gradient on the fused path (its GEMM is skipped); the
            // weight's still flows.
            let wv = candle_core::Var::from_tensor(&w).unwrap();
            let grads = linear(&x, &wv, Some(&b), Act::Relu)
                .unwrap()
                .mul(&r)
                .unwrap()
                .sum_all()
                .unwrap()
                .backward()
                .unwrap();
            assert!(grads.get(&x).is_none() || !fuses(&x));
            assert!(grads.get(&wv).is_some());
            // Matches the composed definition.
            let want = x
                .matmul(&w.t().unwrap())
                .unwrap()
                .broadcast_add(&b)
                .unwrap()
                .relu()
                .unwrap();
            let got = linear(&x, &w, Some(&b), Act::Relu).unwrap();
            let d = crate::testing::max_abs_diff(&want, &got);
            assert!(d < 1e-14, "{d}");
        });
    }

    /// Repeated rows give the outputs and gradients of computing them; the weight and bias gradients
    /// also match finite differences, and rows that do not repeat are refused.
    #[test]
    fn repeated_rows_match_computed_ones() {
        let a = candle_core::Var::from_tensor(&randn_like(&[3, 4], 1.0, 7).unwrap()).unwrap();
        let c = randn_like(&[2, 4], 1.0, 8).unwrap();
        let w = candle_core::Var::from_tensor(&randn_like(&[5, 4], 1.0, 9).unwrap()).unwrap();
        let b = candle_core::Var::from_tensor(&randn_like(&[5], 1.0, 10).unwrap()).unwrap();
        let r = randn_like(&[8, 5], 1.0, 11).unwrap();
        let x = Tensor::cat(&[a.as_tensor(), &c, &a.as_tensor().detach()], 0).unwrap();
        for act in [Act::Identity, Act::Relu] {
            let run = |repeat| {
                let y = linear_repeat(&x, &w, Some(&b), act, repeat).unwrap();
                let g = y.mul(&r).unwrap().sum_all().unwrap().backward().unwrap();
                let grad = |v: &candle_core::Var| g.get(v).unwrap().clone();
                (y, grad(&a), grad(&w), grad(&b))
            };
            let (want, got) = (run(0), run(3));
            let d = crate::testing::max_abs_diff;
            for (name, e) in [
                ("output", d(&want.0, &got.0)),
                ("input", d(&want.1, &got.1)),
                ("weight", d(&want.2, &got.2)),
                ("bias", d(&want.3, &got.3)),
            ] {
                assert!(e < 1e-12, "{act:?} {name} {e:e}");
            }
            let f =
                |w: &Tensor, b: &Tensor| linear_repeat(&x, w, Some(b), act, 3)?.mul(&r)?.sum_all();
            let e = grad_check(&w, 1e-6, |w| f(w, &b)).unwrap();
            assert!(e < 1e-8, "{act:?} weight {e:e}");
            let e = grad_check(&b, 1e-6, |b| f(&w, b)).unwrap();
            assert!(e < 1e-8, "{act:?} bias {e:e}");
        }
        let err = linear_repeat(&x, &w, Some(&b), Act::Relu, 2).unwrap_err();
        assert!(err.to_string().contains("must repeat"), "{err}");
        assert!(linear_repeat(&x, &w, Some(&b), Act::Relu, 5).is_err());
        // Repeated NaN rows are still copies: the NaN reaches the output (and the loss).
        let nan = (a.as_tensor() * f64::NAN).unwrap();
        let xn = Tensor::cat(&[&nan, &c, &nan], 0).unwrap();
        let y = linear_repeat(&xn, &w, Some(&b), Act::Identity, 3).unwrap();
        let y: Vec<Vec<f64>> = y.to_vec2().unwrap();
        assert!(y[0][0].is_nan() && y[7][0].is_nan() && y[3][0].is_finite());
    }

    #[test]
    fn batch_norm_relu_gradients_match_finite_differences() {
        let x = away_from_zero(randn_like(&[6, 3], 1.0, 5).unwrap());
        let g = Tensor::new(&[1.5f64, -0.7, 0.9], &candle_core::Device::Cpu).unwrap();
        let b = Tensor::new(&[0.05f64, 0.1, -0.08], &candle_core::Device::Cpu).unwrap();
        let r = randn_like(&[6, 3], 1.0, 6).unwrap();
        // Train mode (the statistics of x, differentiated) and eval mode (fixed statistics).
        for batch in [true, false] {
            let f = |x: &Tensor, g: &Tensor, b: &Tensor| -> Result<Tensor> {
                let (m, v) = match batch {
                    true => column_stats(x)?,
                    false => (vec![0.2, -0.1, 0.3], vec![0.8, 1.7, 0.5]),
                };
                batch_norm(x, g, b, m, &v, 1e-5, Act::Relu, batch)?
                    .mul(&r)?
                    .sum_all()
            };
            let e = grad_check(&x, 1e-6, |x| f(x, &g, &b)).unwrap();
            assert!(e < 1e-6, "input {e:e} (batch {batch})");
            let e = grad_check(&g, 1e-6, |g| f(&x, g, &b)).unwrap();
            assert!(e < 1e-6, "weight {e:e} (batch {batch})");
            let e = grad_check(&b, 1e-6, |b| f(&x, &g, b)).unwrap();
            assert!(e < 1e-6, "bias {e:e} (batch {batch})");
        }
    }
}
