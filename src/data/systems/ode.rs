//! Fixed-step RK4 sampling of small autonomous ODE systems in f64 (fixed-size states).

/// One RK4 step of ẏ = f(y) with step h (the shared stepper of [`crate::ode`], on arrays).
pub fn rk4_step<const N: usize>(
    f: &impl Fn(&[f64; N]) -> [f64; N],
    y: &[f64; N],
    h: f64,
) -> [f64; N] {
    let mut x = *y;
    let mut scratch = [[0.0; N]; 5];
    let mut rhs = |a: &[f64], out: &mut [f64]| {
        out.copy_from_slice(&f(a.try_into().expect("state of length N")))
    };
    crate::ode::rk4_step(&mut rhs, &mut x, h, scratch.as_flattened_mut());
    x
}

/// `steps` samples (y0 first) dt apart, each interval taken in `substeps` RK4 steps.
pub fn trajectory<const N: usize>(
    f: &impl Fn(&[f64; N]) -> [f64; N],
    y0: [f64; N],
    dt: f64,
    steps: usize,
    substeps: usize,
) -> Vec<[f64; N]> {
    let h = dt / substeps as f64;
    let mut out = Vec::with_capacity(steps);
    let mut y = y0;
    out.push(y);
    for _ in 1..steps {
        for _ in 0..substeps {
            y = rk4_step(f, &y, h);
        }
        out.push(y);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rk4_is_fourth_order_on_harmonic_oscillator() {
        let f = |y: &[f64; 2]| [y[1], -y[0]];
        let err = |n: usize| {
            let tr = trajectory(&f, [1.0, 0.0], 1.0, 2, n);
            (tr[1][0] - 1f64.cos()).abs()
        };
        let ratio = err(10) / err(20);
        assert!((ratio - 16.0).abs() < 1.0, "error ratio {ratio}");
    }
}
