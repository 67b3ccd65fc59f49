//! Finite-difference gradient checks used by the tests of every differentiable piece.

use candle_core::{DType, Device, Result, Tensor, Var};

/// Runs `check` on the fused CPU kernels, then again on the generic path (candle's own ops, the path a
/// GPU takes; `nn::fused::generic`), so every gradient check covers both.
pub fn on_both_paths(check: impl Fn()) {
    check();
    eprintln!("(again on the generic path)");
    let _generic = crate::nn::fused::generic();
    check();
}

/// Compares the autograd gradient of the scalar `f(x)` with central differences (step `h`) at every
/// element of `x` (f64). Returns the largest |analytic − numeric| / max(1, |numeric|).
pub fn grad_check(x: &Tensor, h: f64, f: impl Fn(&Tensor) -> Result<Tensor>) -> Result<f64> {
    let var = Var::from_tensor(&x.to_dtype(DType::F64)?)?;
    let grads = f(var.as_tensor())?.backward()?;
    compare(&var, &grads, h, |t| f(t))
}

/// Like [`grad_check`] for a model's own variable `v` (f64): the autograd gradient of the scalar `f()`
/// with respect to `v` against central differences, perturbing `v` in place (restored afterwards).
pub fn grad_check_var(v: &Var, h: f64, f: impl Fn() -> Result<Tensor>) -> Result<f64> {
    let grads = f()?.backward()?;
    check_var(v, &grads, h, f)
}

/// Like [`grad_check_var`] with the gradient computed as the training step computes it, with a
/// [`crate::nn::GradSink`] active: train-mode layer stacks then run as one node (`nn::stack`).
pub fn grad_check_var_sunk(v: &Var, h: f64, f: impl Fn() -> Result<Tensor>) -> Result<f64> {
    let sink = crate::nn::GradSink::default();
    let mut grads = {
        let _active = sink.activate();
        f()?.backward()?
    };
    sink.drain_into(&mut grads)?;
    check_var(v, &grads, h, f)
}

/// Central differences of `f` at `v` (perturbed in place, then restored) against `grads`.
fn check_var(
    v: &Var,
    grads: &candle_core::backprop::GradStore,
    h: f64,
    f: impl Fn() -> Result<Tensor>,
) -> Result<f64> {
    let orig = v.as_tensor().copy()?;
    let worst = compare(v, grads, h, |t| {
        v.set(t)?;
        f()
    });
    v.set(&orig)?;
    worst
}

/// The largest relative difference between the gradient of `v` in `grads` and central differences of
/// `eval` (which computes the scalar at a given value of `v`).
fn compare(
    v: &Var,
    grads: &candle_core::backprop::GradStore,
    h: f64,
    eval: impl Fn(&Tensor) -> Result<Tensor>,
) -> Result<f64> {
    let analytic = match grads.get(v.as_tensor()) {
        Some(g) => g.flatten_all()?.to_vec1::<f64>()?,
        None => vec![0.0; v.elem_count()],
    };
    let shape = v.shape().clone();
    let base = v.as_tensor().flatten_all()?.to_vec1::<f64>()?;
    let at = |vals: &[f64]| -> Result<f64> {
        let t = Tensor::from_slice(vals, &shape, &Device::Cpu)?;
        eval(&t)?.to_dtype(DType::F64)?.to_scalar::<f64>()
    };
    let mut worst: f64 = 0.0;
    let mut vals = base.clone();
    for i in 0..base.len() {
        vals[i] = base[i] + h;
        let fp = at(&vals)?;
        vals[i] = base[i] - h;
        let fm = at(&vals)?;
        vals[i] = base[i];
        let num = (fp - fm) / (2.0 * h);
        worst = worst.max((analytic[i] - num).abs() / num.abs().max(1.0));
    }
    Ok(worst)
}

/// The largest |a − b| over all elements (f64).
pub fn max_abs_diff(a: &Tensor, b: &Tensor) -> f64 {
    (a.to_dtype(DType::F64).unwrap() - b.to_dtype(DType::F64).unwrap())
        .and_then(|d| d.abs())
        .and_then(|d| d.max_all())
        .and_then(|d| d.to_scalar::<f64>())
        .expect("same shapes")
}

/// A deterministic f64 tensor with entries in [−scale, scale) from `seed`.
pub fn randn_like(shape: &[usize], scale: f64, seed: u64) -> Result<Tensor> {
    let mut s = crate::rng::stream(seed, "testing");
    let n: usize = shape.iter().product();
    let v: Vec<f64> = (0..n)
        .map(|_| crate::rng::uniform(&mut s, -scale, scale))
        .collect();
    Tensor::from_vec(v, shape, &Device::Cpu)
}

/// Gives every batch-norm buffer and affine parameter of `p` (names containing "norm") non-trivial
/// values: running variances and weights near 1, means and biases near 0.
pub fn randomize_norms(p: &crate::nn::Params) -> Result<()> {
    for (name, v) in p.buffers().iter().chain(p.vars()) {
        if name.contains("norm") {
            let base = if name.ends_with("running_var") || name.ends_with("weight") {
                1.0
            } else {
                0.0
            };
            v.set(&randn_like(v.dims(), 0.5, name.len() as u64)?.affine(1.0, base)?)?;
        }
    }
    Ok(())
}

/// The largest difference between an autoencoder's eval-mode `encode_jvp` at `x` along `v` and central
/// differences of its eval-mode encoder (step 1e-6), after checking that the value equals `encode`.
pub fn encoder_jvp_error(ae: &dyn crate::nn::Autoencoder, x: &Tensor, v: &Tensor) -> Result<f64> {
    jvp_error(|x| ae.encode(x, false), ae.encode_jvp(x, v)?, x, v)
}

/// Like [`encoder_jvp_error`] for `decode_jvp` at latents `z` along `v`.
pub fn decoder_jvp_error(ae: &dyn crate::nn::Autoencoder, z: &Tensor, v: &Tensor) -> Result<f64> {
    jvp_error(|z| ae.decode(z, false), ae.decode_jvp(z, v)?, z, v)
}

/// The largest difference between `jvp` = (f(x), J_f(x)·v) and central differences of `f` along `v`
/// (step 1e-6), after checking that its value equals f(x).
fn jvp_error(
    f: impl Fn(&Tensor) -> Result<Tensor>,
    (y, dy): (Tensor, Tensor),
    x: &Tensor,
    v: &Tensor,
) -> Result<f64> {
    let same = max_abs_diff(&y, &f(x)?);
    assert!(
        same < 1e-14,
        "jvp value differs from the function by {same:e}"
    );
    let h = 1e-6;
    let yp = f(&(x + (v * h)?)?)?;
    let ym = f(&(x - (v * h)?)?)?;
    Ok(max_abs_diff(&((yp - ym)? / (2.0 * h))?, &dy))
}
