//! λ–ω reaction–diffusion system on a periodic square box.
//!
//! With `w = u + i v` the system
//! `u_t = (1−A²)u + βA²v + d∇²u`, `v_t = −βA²u + (1−A²)v + d∇²v`, `A² = u² + v²`,
//! is the single complex equation `w_t = (1 − (1+iβ)|w|²) w + d∇²w`.
//! It is solved pseudo-spectrally (one complex 2-D FFT per transform, no
//! dealiasing) with the exponential time-differencing fourth-order
//! Runge–Kutta scheme ETDRK4, whose φ-function coefficients are evaluated by
//! the Kassam–Trefethen contour integral. The linear part `1 − d k²` is treated
//! exactly, the cubic term `−(1+iβ)|w|² w` explicitly.

use rustfft::num_complex::Complex64;
use rustfft::{Fft, FftPlanner};
use std::f64::consts::PI;
use std::fmt;
use std::sync::Arc;

/// Default number of ETDRK4 steps per output interval (`dt = dt_out / substeps`).
///
/// With `dt_out = 0.05` (so `dt·|1 − d k²|` ≤ 1.2 on the default grid) one
/// step per interval agrees with a run at half the step to about 2e-6
/// relative at `t = 10` and 5e-5 at `t = 500`, so no sub-stepping is needed.
pub const DEFAULT_SUBSTEPS: usize = 1;

/// Number of points on the contour used for the ETDRK4 coefficients.
const CONTOUR_POINTS: usize = 64;

/// Parameters of the λ–ω system and its grid.
#[derive(Clone, Debug)]
pub struct LambdaOmega {
    /// Grid points per side (N).
    pub n: usize,
    /// Side of the periodic box `[−L/2, L/2)²` (L).
    pub length: f64,
    /// Diffusion coefficient of both components (d).
    pub d: f64,
    /// Amplitude–frequency coupling (β).
    pub beta: f64,
}

impl Default for LambdaOmega {
    fn default() -> Self {
        Self {
            n: 100,
            length: 20.0,
            d: 0.1,
            beta: 1.0,
        }
    }
}

impl LambdaOmega {
    /// Grid coordinates x_j = −L/2 + j·L/N (the same for y).
    pub fn coords(&self) -> Vec<f64> {
        let h = self.length / self.n as f64;
        (0..self.n)
            .map(|j| -0.5 * self.length + j as f64 * h)
            .collect()
    }

    /// The single-spiral initial condition (u₀, v₀), y-by-x row-major.
    ///
    /// `u₀ = tanh(r) cos(θ − r)`, `v₀ = tanh(r) sin(θ − r)` with
    /// `r = √(x² + y²)`, `θ = atan2(y, x)`.
    pub fn spiral(&self) -> (Vec<f64>, Vec<f64>) {
        let xs = self.coords();
        let nn = self.n * self.n;
        let mut u = Vec::with_capacity(nn);
        let mut v = Vec::with_capacity(nn);
        for &y in &xs {
            for &x in &xs {
                let r = x.hypot(y);
                let phase = y.atan2(x) - r;
                let amp = r.tanh();
                u.push(amp * phase.cos());
                v.push(amp * phase.sin());
            }
        }
        (u, v)
    }

    /// Right-hand side (u_t, v_t) at a state, with the spectral Laplacian.
    ///
    /// # Panics
    /// If the parameters are invalid or `u`, `v` do not have `n²` values.
    pub fn rhs(&self, u: &[f64], v: &[f64]) -> (Vec<f64>, Vec<f64>) {
        if let Err(e) = self.validate() {
            panic!("{e}");
        }
        if let Err(e) = check_len("u", u.len(), self.n).and(check_len("v", v.len(), self.n)) {
            panic!("{e}");
        }
        let nn = self.n * self.n;
        let mut fft = Fft2::new(self.n);
        let k2 = wavenumbers_squared(self.n, self.length);
        let mut w: Vec<Complex64> = u
            .iter()
            .zip(v)
            .map(|(&a, &b)| Complex64::new(a, b))
            .collect();
        let mut spec = w.clone();
        fft.forward(&mut spec);
        let scale = 1.0 / nn as f64;
        for (s, &k) in spec.iter_mut().zip(&k2) {
            *s *= -k * scale;
        }
        fft.inverse(&mut spec);
        for (wi, &lap) in w.iter_mut().zip(&spec) {
            *wi = reaction(*wi, self.beta) + self.d * lap;
        }
        (
            w.iter().map(|z| z.re).collect(),
            w.iter().map(|z| z.im).collect(),
        )
    }

    fn validate(&self) -> Result<(), RdError> {
        if self.n < 4 || !self.n.is_multiple_of(2) {
            return Err(bad(format!(
                "n must be even and at least 4, got {}",
                self.n
            )));
        }
        if !(self.length.is_finite() && self.length > 0.0) {
            return Err(bad(format!(
                "length must be finite and positive, got {}",
                self.length
            )));
        }
        if !(self.d.is_finite() && self.d >= 0.0) {
            return Err(bad(format!(
                "d must be finite and non-negative, got {}",
                self.d
            )));
        }
        if !self.beta.is_finite() {
            return Err(bad(format!("beta must be finite, got {}", self.beta)));
        }
        Ok(())
    }
}

/// One output frame: index k (0-based), time t = k·dt_out, fields and their time derivatives (all N·N, y-by-x).
pub struct Frame<'a> {
    /// Frame index k.
    pub index: usize,
    /// Time t = k·dt_out.
    pub time: f64,
    /// u at time t.
    pub u: &'a [f64],
    /// v at time t.
    pub v: &'a [f64],
    /// u_t at time t (right-hand side at the state).
    pub ut: &'a [f64],
    /// v_t at time t (right-hand side at the state).
    pub vt: &'a [f64],
}

/// Errors of the solver.
#[derive(Debug)]
pub enum RdError {
    /// The state is NaN or infinite at the output frame with this time.
    NonFinite {
        /// Time of the first output frame with a non-finite value.
        time: f64,
    },
    /// A parameter is out of range; the message names it and its value.
    BadParameter(String),
}

impl fmt::Display for RdError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            RdError::NonFinite { time } => write!(f, "state became non-finite at t = {time}"),
            RdError::BadParameter(msg) => write!(f, "bad parameter: {msg}"),
        }
    }
}

impl std::error::Error for RdError {}

fn bad(msg: String) -> RdError {
    RdError::BadParameter(msg)
}

fn check_len(name: &str, len: usize, n: usize) -> Result<(), RdError> {
    if len == n * n {
        Ok(())
    } else {
        Err(bad(format!(
            "{name} must have n*n = {} values, got {len}",
            n * n
        )))
    }
}

/// Integrates from (u0, v0), calling `on_frame` for frame 0 (the initial state) and after every output interval,
/// `n_intervals + 1` frames in all, dt = dt_out / substeps internally. Stops at the first error returned by the callback.
/// Returns an error (the callback's E, built with `From<RdError>`) if the state becomes non-finite.
///
/// Parameters are checked first (`n` even and ≥ 4, `length` > 0, `d` ≥ 0,
/// `beta` finite, `dt_out` > 0, `substeps` ≥ 1, `u0`/`v0` of length n²);
/// a violation yields [`RdError::BadParameter`]. Frame 0 carries `u0`, `v0`
/// unchanged; finiteness is checked at every frame, before the callback, and
/// [`RdError::NonFinite`] reports the time of the first bad frame.
pub fn integrate<E: From<RdError>>(
    p: &LambdaOmega,
    u0: &[f64],
    v0: &[f64],
    dt_out: f64,
    n_intervals: usize,
    substeps: usize,
    mut on_frame: impl FnMut(Frame<'_>) -> Result<(), E>,
) -> Result<(), E> {
    p.validate()?;
    if !(dt_out.is_finite() && dt_out > 0.0) {
        return Err(bad(format!("dt_out must be finite and positive, got {dt_out}")).into());
    }
    if substeps == 0 {
        return Err(bad(format!("substeps must be at least 1, got {substeps}")).into());
    }
    check_len("u0", u0.len(), p.n)?;
    check_len("v0", v0.len(), p.n)?;

    let mut solver = Etdrk4::new(p, dt_out / substeps as f64);
    solver.set_state(u0, v0);
    for index in 0..=n_intervals {
        if index > 0 {
            for _ in 0..substeps {
                solver.step();
            }
        }
        let time = index as f64 * dt_out;
        if !solver.evaluate() {
            return Err(RdError::NonFinite { time }.into());
        }
        if index == 0 {
            solver.u.copy_from_slice(u0);
            solver.v.copy_from_slice(v0);
        }
        on_frame(Frame {
            index,
            time,
            u: &solver.u,
            v: &solver.v,
            ut: &solver.ut,
            vt: &solver.vt,
        })?;
    }
    Ok(())
}

/// Local reaction term `(1 − (1+iβ)|w|²) w`.
#[inline]
fn reaction(w: Complex64, beta: f64) -> Complex64 {
    let a2 = w.norm_sqr();
    w * Complex64::new(1.0 - a2, -beta * a2)
}

/// |k|² for every mode, in the transposed spectral layout `[kx][ky]`.
fn wavenumbers_squared(n: usize, length: f64) -> Vec<f64> {
    let dk = 2.0 * PI / length;
    let k: Vec<f64> = (0..n)
        .map(|j| {
            let m = if j <= n / 2 {
                j as f64
            } else {
                j as f64 - n as f64
            };
            m * dk
        })
        .collect();
    let mut out = Vec::with_capacity(n * n);
    for &kx in &k {
        for &ky in &k {
            out.push(kx * kx + ky * ky);
        }
    }
    out
}

/// Unnormalised complex 2-D FFT on an n×n grid.
///
/// Physical data are `[y][x]`; spectral data are kept transposed, `[kx][ky]`,
/// which saves one transpose per direction.
struct Fft2 {
    n: usize,
    fwd: Arc<dyn Fft<f64>>,
    inv: Arc<dyn Fft<f64>>,
    tmp: Vec<Complex64>,
    scratch: Vec<Complex64>,
}

impl Fft2 {
    fn new(n: usize) -> Self {
        let mut planner = FftPlanner::new();
        let fwd = planner.plan_fft_forward(n);
        let inv = planner.plan_fft_inverse(n);
        let len = [
            fwd.get_inplace_scratch_len(),
            fwd.get_outofplace_scratch_len(),
            inv.get_inplace_scratch_len(),
            inv.get_outofplace_scratch_len(),
        ]
        .into_iter()
        .max()
        .unwrap_or(0);
        Self {
            n,
            fwd,
            inv,
            tmp: vec![Complex64::default(); n * n],
            scratch: vec![Complex64::default(); len],
        }
    }

    /// `[y][x]` → `[kx][ky]`, in place.
    fn forward(&mut self, buf: &mut [Complex64]) {
        self.fwd.process_with_scratch(buf, &mut self.scratch);
        transpose(buf, &mut self.tmp, self.n);
        self.fwd
            .process_outofplace_with_scratch(&mut self.tmp, buf, &mut self.scratch);
    }

    /// `[kx][ky]` → `[y][x]`, in place, without the 1/n² factor.
    fn inverse(&mut self, buf: &mut [Complex64]) {
        self.inv.process_with_scratch(buf, &mut self.scratch);
        transpose(buf, &mut self.tmp, self.n);
        self.inv
            .process_outofplace_with_scratch(&mut self.tmp, buf, &mut self.scratch);
    }
}

/// Blocked transpose of an n×n matrix `src` into `dst`.
fn transpose(src: &[Complex64], dst: &mut [Complex64], n: usize) {
    const B: usize = 16;
    for i0 in (0..n).step_by(B) {
        for j0 in (0..n).step_by(B) {
            for i in i0..(i0 + B).min(n) {
                for j in j0..(j0 + B).min(n) {
                    dst[j * n + i] = src[i * n + j];
                }
            }
        }
    }
}

/// ETDRK4 stepper for `ŵ_t = (1 − d k²) ŵ + F[−(1+iβ)|w|² w]`.
struct Etdrk4 {
    fft: Fft2,
    beta: f64,
    d: f64,
    /// 1/n², the inverse-FFT normalisation.
    scale: f64,
    k2: Vec<f64>,
    e: Vec<f64>,
    e2: Vec<f64>,
    q: Vec<f64>,
    f1: Vec<f64>,
    f2: Vec<f64>,
    f3: Vec<f64>,
    /// Spectral state ŵ.
    w: Vec<Complex64>,
    a: Vec<Complex64>,
    b: Vec<Complex64>,
    nw: Vec<Complex64>,
    na: Vec<Complex64>,
    nb: Vec<Complex64>,
    nc: Vec<Complex64>,
    u: Vec<f64>,
    v: Vec<f64>,
    ut: Vec<f64>,
    vt: Vec<f64>,
}

impl Etdrk4 {
    fn new(p: &LambdaOmega, h: f64) -> Self {
        let n = p.n;
        let nn = n * n;
        let k2 = wavenumbers_squared(n, p.length);
        let mut e = Vec::with_capacity(nn);
        let mut e2 = Vec::with_capacity(nn);
        let mut q = Vec::with_capacity(nn);
        let mut f1 = Vec::with_capacity(nn);
        let mut f2 = Vec::with_capacity(nn);
        let mut f3 = Vec::with_capacity(nn);
        let roots: Vec<Complex64> = (0..CONTOUR_POINTS)
            .map(|j| Complex64::from_polar(1.0, PI * (j as f64 + 0.5) / CONTOUR_POINTS as f64))
            .collect();
        for &kk in &k2 {
            let hl = h * (1.0 - p.d * kk);
            e.push(hl.exp());
            e2.push((0.5 * hl).exp());
            let (mut sq, mut s1, mut s2, mut s3) = (0.0, 0.0, 0.0, 0.0);
            for &r in &roots {
                let z = r + hl;
                let ez = z.exp();
                let z3 = z * z * z;
                sq += (((0.5 * z).exp() - 1.0) / z).re;
                s1 += ((-4.0 - z + ez * (4.0 - 3.0 * z + z * z)) / z3).re;
                s2 += ((2.0 + z + ez * (z - 2.0)) / z3).re;
                s3 += ((-4.0 - 3.0 * z - z * z + ez * (4.0 - z)) / z3).re;
            }
            let m = h / CONTOUR_POINTS as f64;
            q.push(m * sq);
            f1.push(m * s1);
            f2.push(m * s2);
            f3.push(m * s3);
        }
        let zero = Complex64::default();
        Self {
            fft: Fft2::new(n),
            beta: p.beta,
            d: p.d,
            scale: 1.0 / nn as f64,
            k2,
            e,
            e2,
            q,
            f1,
            f2,
            f3,
            w: vec![zero; nn],
            a: vec![zero; nn],
            b: vec![zero; nn],
            nw: vec![zero; nn],
            na: vec![zero; nn],
            nb: vec![zero; nn],
            nc: vec![zero; nn],
            u: vec![0.0; nn],
            v: vec![0.0; nn],
            ut: vec![0.0; nn],
            vt: vec![0.0; nn],
        }
    }

    fn set_state(&mut self, u: &[f64], v: &[f64]) {
        for ((w, &a), &b) in self.w.iter_mut().zip(u).zip(v) {
            *w = Complex64::new(a, b);
        }
        self.fft.forward(&mut self.w);
    }

    /// Spectral cubic term of the spectral field `src`, written to `dst`.
    fn nonlinear(fft: &mut Fft2, beta: f64, scale: f64, src: &[Complex64], dst: &mut [Complex64]) {
        dst.copy_from_slice(src);
        fft.inverse(dst);
        let c = Complex64::new(-1.0, -beta);
        for z in dst.iter_mut() {
            let w = *z * scale;
            *z = c * (w.norm_sqr() * w);
        }
        fft.forward(dst);
    }

    /// One ETDRK4 step (Cox–Matthews, as written by Kassam & Trefethen).
    fn step(&mut self) {
        let Self {
            fft,
            beta,
            scale,
            e,
            e2,
            q,
            f1,
            f2,
            f3,
            w,
            a,
            b,
            nw,
            na,
            nb,
            nc,
            ..
        } = self;
        let (beta, scale) = (*beta, *scale);
        Self::nonlinear(fft, beta, scale, w, nw);
        for (((ai, &wi), &ni), (&ei, &qi)) in
            a.iter_mut().zip(&*w).zip(&*nw).zip(e2.iter().zip(&*q))
        {
            *ai = ei * wi + qi * ni;
        }
        Self::nonlinear(fft, beta, scale, a, na);
        for (((bi, &wi), &ni), (&ei, &qi)) in
            b.iter_mut().zip(&*w).zip(&*na).zip(e2.iter().zip(&*q))
        {
            *bi = ei * wi + qi * ni;
        }
        Self::nonlinear(fft, beta, scale, b, nb);
        // c = E2·a + Q·(2 N_b − N_w), stored in `a`.
        for (((ai, &nbi), &nwi), (&ei, &qi)) in
            a.iter_mut().zip(&*nb).zip(&*nw).zip(e2.iter().zip(&*q))
        {
            *ai = ei * *ai + qi * (2.0 * nbi - nwi);
        }
        Self::nonlinear(fft, beta, scale, a, nc);
        let coef = e.iter().zip(&*f1).zip(f2.iter().zip(&*f3));
        let terms = nw.iter().zip(&*na).zip(nb.iter().zip(&*nc));
        for ((wi, ((&ei, &g1), (&g2, &g3))), ((&nwi, &nai), (&nbi, &nci))) in
            w.iter_mut().zip(coef).zip(terms)
        {
            *wi = ei * *wi + g1 * nwi + 2.0 * g2 * (nai + nbi) + g3 * nci;
        }
    }

    /// Fills `u, v, ut, vt` from the spectral state; false if any value is non-finite.
    fn evaluate(&mut self) -> bool {
        let scale = self.scale;
        // Physical field in `a`, Laplacian in `b`.
        self.a.copy_from_slice(&self.w);
        self.fft.inverse(&mut self.a);
        for ((l, &s), &kk) in self.b.iter_mut().zip(&self.w).zip(&self.k2) {
            *l = s * (-kk * scale);
        }
        self.fft.inverse(&mut self.b);
        let mut finite = true;
        let fields = self.u.iter_mut().zip(&mut self.v);
        let rates = self.ut.iter_mut().zip(&mut self.vt);
        for (((u, v), (ut, vt)), (&wi, &lap)) in fields.zip(rates).zip(self.a.iter().zip(&self.b)) {
            let w = wi * scale;
            let wt = reaction(w, self.beta) + self.d * lap;
            *u = w.re;
            *v = w.im;
            *ut = wt.re;
            *vt = wt.im;
            finite &=
                w.re.is_finite() && w.im.is_finite() && wt.re.is_finite() && wt.im.is_finite();
        }
        finite
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Frame `k` of a run from the spiral, as (u, v).
    fn run_frames(
        p: &LambdaOmega,
        dt_out: f64,
        substeps: usize,
        keep: &[usize],
    ) -> Vec<(Vec<f64>, Vec<f64>)> {
        let (u0, v0) = p.spiral();
        let last = *keep.iter().max().unwrap();
        let mut out = Vec::new();
        integrate::<RdError>(p, &u0, &v0, dt_out, last, substeps, |f| {
            if keep.contains(&f.index) {
                out.push((f.u.to_vec(), f.v.to_vec()));
            }
            Ok(())
        })
        .unwrap();
        out
    }

    fn rel_l2(a: &(Vec<f64>, Vec<f64>), b: &(Vec<f64>, Vec<f64>)) -> f64 {
        let mut num = 0.0;
        let mut den = 0.0;
        for i in 0..a.0.len() {
            num += (a.0[i] - b.0[i]).powi(2) + (a.1[i] - b.1[i]).powi(2);
            den += b.0[i].powi(2) + b.1[i].powi(2);
        }
        (num / den).sqrt()
    }

    #[test]
    fn halving_dt_changes_t10_state_by_less_than_1e4() {
        let p = LambdaOmega::default();
        let n_int = 200; // t = 10 with dt_out = 0.05
        let coarse = run_frames(&p, 0.05, DEFAULT_SUBSTEPS, &[n_int]);
        let fine = run_frames(&p, 0.05, 2 * DEFAULT_SUBSTEPS, &[n_int]);
        let rel = rel_l2(&coarse[0], &fine[0]);
        eprintln!("relative change at t = 10 when halving dt: {rel:e}");
        // Measured about 1.9e-6 with one step per interval (fourth order:
        // each halving of dt reduces the change by about 16).
        assert!(rel < 1e-4, "relative change {rel:e}");
        assert!(rel > 0.0);
    }

    #[test]
    fn coords_and_spiral() {
        let p = LambdaOmega::default();
        let xs = p.coords();
        assert_eq!(xs.len(), 100);
        assert!((xs[0] + 10.0).abs() < 1e-12);
        assert!(xs[50].abs() < 1e-12);
        assert!((xs[99] - 9.8).abs() < 1e-12);
        let (u, v) = p.spiral();
        // Centre is a phase singularity; at (x, y) = (xs[60], 0) = (2, 0), θ = 0.
        assert_eq!(u[50 * 100 + 50], 0.0);
        assert_eq!(v[50 * 100 + 50], 0.0);
        let k = 50 * 100 + 60;
        assert!((u[k] - 2f64.tanh() * (-2f64).cos()).abs() < 1e-12);
        assert!((v[k] - 2f64.tanh() * (-2f64).sin()).abs() < 1e-12);
        // Row-major y-by-x: (x, y) = (0, 2) has θ = π/2.
        let k = 60 * 100 + 50;
        assert!((u[k] - 2f64.tanh() * (PI / 2.0 - 2.0).cos()).abs() < 1e-12);
    }

    #[test]
    fn spectral_laplacian_matches_analytic() {
        let p = LambdaOmega {
            n: 64,
            d: 0.7,
            ..Default::default()
        };
        let xs = p.coords();
        let kk = 2.0 * PI / p.length;
        let n = p.n;
        let mut u = vec![0.0; n * n];
        let mut v = vec![0.0; n * n];
        let mut lu = vec![0.0; n * n];
        let mut lv = vec![0.0; n * n];
        for (iy, &y) in xs.iter().enumerate() {
            for (ix, &x) in xs.iter().enumerate() {
                let k = iy * n + ix;
                u[k] = (kk * x).sin() * (2.0 * kk * y).cos();
                v[k] = 0.5 * (3.0 * kk * x).cos() * (kk * y).sin() + 0.2;
                lu[k] = -5.0 * kk * kk * u[k];
                lv[k] = -10.0 * kk * kk * (v[k] - 0.2);
            }
        }
        let (ut, vt) = p.rhs(&u, &v);
        let mut max_err: f64 = 0.0;
        for k in 0..n * n {
            let a2 = u[k] * u[k] + v[k] * v[k];
            let ru = (1.0 - a2) * u[k] + p.beta * a2 * v[k];
            let rv = -p.beta * a2 * u[k] + (1.0 - a2) * v[k];
            // What is left after removing the reaction is d·∇².
            max_err = max_err.max(((ut[k] - ru) / p.d - lu[k]).abs());
            max_err = max_err.max(((vt[k] - rv) / p.d - lv[k]).abs());
        }
        assert!(max_err < 1e-9, "Laplacian error {max_err:e}");
    }

    #[test]
    fn rhs_at_uniform_state_is_the_ode() {
        let p = LambdaOmega {
            n: 16,
            beta: 1.3,
            ..Default::default()
        };
        let (u0, v0) = (0.3, -0.7);
        let (ut, vt) = p.rhs(&[u0; 256], &[v0; 256]);
        let a2: f64 = u0 * u0 + v0 * v0;
        let eu = (1.0 - a2) * u0 + p.beta * a2 * v0;
        let ev = -p.beta * a2 * u0 + (1.0 - a2) * v0;
        for k in 0..256 {
            assert!((ut[k] - eu).abs() < 1e-13, "{} vs {eu}", ut[k]);
            assert!((vt[k] - ev).abs() < 1e-13, "{} vs {ev}", vt[k]);
        }
    }

    #[test]
    fn frames_carry_state_and_derivative() {
        let p = LambdaOmega {
            n: 32,
            ..Default::default()
        };
        let (u0, v0) = p.spiral();
        let dt_out = 0.01;
        let mut frames = Vec::new();
        integrate::<RdError>(&p, &u0, &v0, dt_out, 30, 1, |f| {
            assert!((f.time - f.index as f64 * dt_out).abs() < 1e-12);
            frames.push((f.u.to_vec(), f.v.to_vec(), f.ut.to_vec(), f.vt.to_vec()));
            Ok(())
        })
        .unwrap();
        assert_eq!(frames.len(), 31);
        assert_eq!(frames[0].0, u0);
        assert_eq!(frames[0].1, v0);
        // Derivatives equal `rhs` at the frame's state.
        for f in [&frames[0], &frames[30]] {
            let (ut, vt) = p.rhs(&f.0, &f.1);
            for k in 0..ut.len() {
                assert!((ut[k] - f.2[k]).abs() < 1e-10);
                assert!((vt[k] - f.3[k]).abs() < 1e-10);
            }
        }
        // And they are the time derivative of the trajectory: a central
        // difference (error O(dt²)) reproduces them.
        let (a, b, c) = (&frames[19], &frames[20], &frames[21]);
        let mut num = 0.0;
        let mut den = 0.0;
        for k in 0..a.0.len() {
            let du = (c.0[k] - a.0[k]) / (2.0 * dt_out);
            let dv = (c.1[k] - a.1[k]) / (2.0 * dt_out);
            num += (du - b.2[k]).powi(2) + (dv - b.3[k]).powi(2);
            den += b.2[k].powi(2) + b.3[k].powi(2);
        }
        let rel = (num / den).sqrt();
        assert!(rel < 1e-3, "central difference vs ut: {rel:e}");
    }

    /// Bilinear interpolation of `f` at (x, y) on the periodic grid.
    fn sample(p: &LambdaOmega, f: &[f64], x: f64, y: f64) -> f64 {
        let n = p.n;
        let h = p.length / n as f64;
        let gx = (x + 0.5 * p.length) / h;
        let gy = (y + 0.5 * p.length) / h;
        let (ix, iy) = (gx.floor(), gy.floor());
        let (fx, fy) = (gx - ix, gy - iy);
        let wrap = |i: f64| (i as i64).rem_euclid(n as i64) as usize;
        let (i0, i1, j0, j1) = (wrap(ix), wrap(ix + 1.0), wrap(iy), wrap(iy + 1.0));
        (1.0 - fy) * ((1.0 - fx) * f[j0 * n + i0] + fx * f[j0 * n + i1])
            + fy * ((1.0 - fx) * f[j1 * n + i0] + fx * f[j1 * n + i1])
    }

    /// Fields (u, v) rotated by `phi` about the centre: g(x) = f(R₋φ x).
    fn rotate(p: &LambdaOmega, f: &(Vec<f64>, Vec<f64>), phi: f64) -> (Vec<f64>, Vec<f64>) {
        let xs = p.coords();
        let (s, c) = phi.sin_cos();
        let mut u = Vec::with_capacity(p.n * p.n);
        let mut v = Vec::with_capacity(p.n * p.n);
        for &y in &xs {
            for &x in &xs {
                let (xr, yr) = (c * x + s * y, -s * x + c * y);
                u.push(sample(p, &f.0, xr, yr));
                v.push(sample(p, &f.1, xr, yr));
            }
        }
        (u, v)
    }

    /// Relative L2 distance of `a` rotated by `phi` from `b`, inside the disc of radius `rad`.
    fn disc_mismatch(
        p: &LambdaOmega,
        rad: f64,
        a: &(Vec<f64>, Vec<f64>),
        b: &(Vec<f64>, Vec<f64>),
        phi: f64,
    ) -> f64 {
        let xs = p.coords();
        let (s, c) = phi.sin_cos();
        let mut num = 0.0;
        let mut den = 0.0;
        for (iy, &y) in xs.iter().enumerate() {
            for (ix, &x) in xs.iter().enumerate() {
                if x * x + y * y > rad * rad {
                    continue;
                }
                let (xr, yr) = (c * x + s * y, -s * x + c * y);
                let k = iy * p.n + ix;
                num += (sample(p, &a.0, xr, yr) - b.0[k]).powi(2)
                    + (sample(p, &a.1, xr, yr) - b.1[k]).powi(2);
                den += b.0[k].powi(2) + b.1[k].powi(2);
            }
        }
        (num / den).sqrt()
    }

    /// Angle in (−π, π] minimising `disc_mismatch`: a 0.25° scan refined by golden-section search.
    fn best_angle(
        p: &LambdaOmega,
        rad: f64,
        a: &(Vec<f64>, Vec<f64>),
        b: &(Vec<f64>, Vec<f64>),
    ) -> (f64, f64) {
        let m = 1440;
        let step = 2.0 * PI / m as f64;
        let mut best = (0.0, f64::INFINITY);
        for j in 1..=m {
            let phi = -PI + j as f64 * step;
            let e = disc_mismatch(p, rad, a, b, phi);
            if e < best.1 {
                best = (phi, e);
            }
        }
        let (mut lo, mut hi) = (best.0 - step, best.0 + step);
        let g = 0.5 * (5f64.sqrt() - 1.0);
        while hi - lo > 1e-7 {
            let x1 = hi - g * (hi - lo);
            let x2 = lo + g * (hi - lo);
            if disc_mismatch(p, rad, a, b, x1) < disc_mismatch(p, rad, a, b, x2) {
                hi = x2;
            } else {
                lo = x1;
            }
        }
        let phi = 0.5 * (lo + hi);
        (phi, disc_mismatch(p, rad, a, b, phi))
    }

    #[test]
    fn spiral_rotates_rigidly_after_transient() {
        // Full default grid, frames at t = 100 and t = 101.
        let p = LambdaOmega::default();
        let frames = run_frames(&p, 0.05, DEFAULT_SUBSTEPS, &[2000, 2020]);
        let (early, late) = (&frames[0], &frames[1]);
        // Disc of radius 0.3·L = 6 (about one wavelength of the spiral). The
        // square periodic box is not rotation invariant, and its influence
        // grows slowly inwards from the box edges: in a disc of 0.35·L the
        // best mismatch is ~3e-2 at t = 100 and ~7e-2 at t = 500, the same at
        // N = 64, 100 and 128, whereas within 0.3·L it stays below the
        // tolerance below up to t = 500 (5e-3 at t = 100, 8e-3 at t = 500).
        let rad = 0.3 * p.length;
        let (phi, mismatch) = best_angle(&p, rad, early, late);
        // Tolerance: the error of bilinear rotation at this resolution,
        // measured as the mismatch of a frame rotated by φ and back by −φ.
        // That round trip interpolates twice, so it bounds the error of the
        // single interpolation in the comparison (measured: ~1e-2 round trip;
        // the best-φ mismatch is ~5e-3, and both fall like h² with N).
        let there = rotate(&p, early, phi);
        let tol = disc_mismatch(&p, rad, &there, early, -phi);
        let unrotated = disc_mismatch(&p, rad, early, late, 0.0);
        eprintln!("φ = {phi}, mismatch {mismatch:e}, tolerance {tol:e}, unrotated {unrotated:e}");
        assert!(tol > 1e-3 && tol < 2e-2, "interpolation error {tol:e}");
        assert!(
            mismatch < tol,
            "rotated mismatch {mismatch:e} vs tolerance {tol:e} (φ = {phi})"
        );
        // The wave does rotate: φ ≈ 0.91 rad per unit time, and without the
        // rotation the frames differ at O(1).
        assert!(phi.abs() > 0.5, "rotation angle {phi}");
        assert!(unrotated > 20.0 * tol, "unrotated mismatch {unrotated:e}");
    }

    fn bad_message(r: Result<(), RdError>) -> String {
        match r {
            Err(RdError::BadParameter(m)) => m,
            other => panic!("expected BadParameter, got {other:?}"),
        }
    }

    #[test]
    fn bad_parameters_are_refused_by_name() {
        let good = LambdaOmega::default();
        let (u0, v0) = good.spiral();
        let run = |p: &LambdaOmega, u: &[f64], v: &[f64], dt: f64, s: usize| {
            integrate::<RdError>(p, u, v, dt, 2, s, |_| Ok(()))
        };
        let cases: Vec<(LambdaOmega, &str)> = vec![
            (
                LambdaOmega {
                    n: 2,
                    ..good.clone()
                },
                "n must",
            ),
            (
                LambdaOmega {
                    n: 101,
                    ..good.clone()
                },
                "got 101",
            ),
            (
                LambdaOmega {
                    length: 0.0,
                    ..good.clone()
                },
                "length",
            ),
            (
                LambdaOmega {
                    length: f64::NAN,
                    ..good.clone()
                },
                "length",
            ),
            (
                LambdaOmega {
                    d: -0.1,
                    ..good.clone()
                },
                "d must",
            ),
            (
                LambdaOmega {
                    beta: f64::INFINITY,
                    ..good.clone()
                },
                "beta",
            ),
        ];
        for (p, name) in &cases {
            let m = bad_message(run(p, &u0, &v0, 0.05, 1));
            assert!(m.contains(name), "{m}");
        }
        assert!(bad_message(run(
            &LambdaOmega {
                n: 2,
                ..good.clone()
            },
            &u0,
            &v0,
            0.05,
            1
        ))
        .contains("got 2"));
        assert!(bad_message(run(
            &LambdaOmega {
                d: -0.1,
                ..good.clone()
            },
            &u0,
            &v0,
            0.05,
            1
        ))
        .contains("-0.1"));
        let m = bad_message(run(&good, &u0, &v0, 0.0, 1));
        assert!(m.contains("dt_out") && m.contains("got 0"), "{m}");
        let m = bad_message(run(&good, &u0, &v0, -1.5, 1));
        assert!(m.contains("dt_out") && m.contains("-1.5"), "{m}");
        let m = bad_message(run(&good, &u0, &v0, 0.05, 0));
        assert!(m.contains("substeps") && m.contains("got 0"), "{m}");
        let m = bad_message(run(&good, &u0[1..], &v0, 0.05, 1));
        assert!(m.contains("u0") && m.contains("9999"), "{m}");
        let m = bad_message(run(&good, &u0, &v0[..10], 0.05, 1));
        assert!(m.contains("v0") && m.contains("got 10"), "{m}");
        let shown = RdError::BadParameter(m).to_string();
        assert!(shown.contains("v0"), "{shown}");
    }

    #[test]
    fn non_finite_state_is_reported() {
        let p = LambdaOmega {
            n: 16,
            ..Default::default()
        };
        let (mut u0, v0) = p.spiral();
        u0[17] = f64::NAN;
        let mut calls = 0;
        let r = integrate::<RdError>(&p, &u0, &v0, 0.05, 5, 1, |_| {
            calls += 1;
            Ok(())
        });
        assert!(
            matches!(r, Err(RdError::NonFinite { time }) if time == 0.0),
            "{r:?}"
        );
        assert_eq!(calls, 0);
        // A huge state with a huge step overflows the explicit cubic term.
        let big = vec![1e3; 256];
        let r = integrate::<RdError>(&p, &big, &big, 1.0, 50, 1, |_| Ok(()));
        match r {
            Err(RdError::NonFinite { time }) => assert!(time > 0.0 && time <= 50.0),
            other => panic!("expected NonFinite, got {other:?}"),
        }
    }

    #[derive(Debug)]
    enum CallerError {
        Solver(RdError),
        Stop(usize),
    }

    impl From<RdError> for CallerError {
        fn from(e: RdError) -> Self {
            CallerError::Solver(e)
        }
    }

    #[test]
    fn callback_error_stops_integration() {
        let p = LambdaOmega {
            n: 16,
            ..Default::default()
        };
        let (u0, v0) = p.spiral();
        let mut seen = Vec::new();
        let r = integrate(&p, &u0, &v0, 0.05, 100, 2, |f| {
            seen.push(f.index);
            if f.index == 3 {
                Err(CallerError::Stop(f.index))
            } else {
                Ok(())
            }
        });
        assert!(matches!(r, Err(CallerError::Stop(3))), "{r:?}");
        assert_eq!(seen, vec![0, 1, 2, 3]);
        let r = integrate(&p, &u0, &v0, -1.0, 1, 1, |_| Ok::<(), CallerError>(()));
        assert!(
            matches!(r, Err(CallerError::Solver(RdError::BadParameter(_)))),
            "{r:?}"
        );
    }
}
