//! Finite-difference gradient checks used by the tests of every differentiable piece.

use candle_core::{DType, Device, Result, Tensor, Var};

/// Compares the autograd gradient of the scalar `f(x)` with central differences (step `h`) at every
/// element of `x` (f64). Returns the largest |analytic − numeric| / max(1, |numeric|).
pub fn grad_check(x: &Tensor, h: f64, f: impl Fn(&Tensor) -> Result<Tensor>) -> Result<f64> {
    let x = x.to_dtype(DType::F64)?;
    let var = Var::from_tensor(&x)?;
    let y = f(var.as_tensor())?;
    let grads = y.backward()?;
    let analytic = match grads.get(var.as_tensor()) {
        Some(g) => g.flatten_all()?.to_vec1::<f64>()?,
        None => vec![0.0; x.elem_count()],
    };
    let base = x.flatten_all()?.to_vec1::<f64>()?;
    let eval = |v: &[f64]| -> Result<f64> {
        let t = Tensor::from_slice(v, x.shape(), &Device::Cpu)?;
        f(&t)?.to_dtype(DType::F64)?.to_scalar::<f64>()
    };
    let mut worst: f64 = 0.0;
    let mut v = base.clone();
    for i in 0..base.len() {
        v[i] = base[i] + h;
        let fp = eval(&v)?;
        v[i] = base[i] - h;
        let fm = eval(&v)?;
        v[i] = base[i];
        let num = (fp - fm) / (2.0 * h);
        worst = worst.max((analytic[i] - num).abs() / num.abs().max(1.0));
    }
    Ok(worst)
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
