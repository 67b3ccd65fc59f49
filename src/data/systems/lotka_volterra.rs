//! Lotka–Volterra in log coordinates.

use super::Generated;
use crate::data::dataset::{DatasetWriter, Layout};
use crate::data::recipe::LotkaVolterra;
use crate::error::Result;
use crate::rng;

/// ẋ₀ = 2/3 − (4/3)e^{x₁}, ẋ₁ = e^{x₀} − 1.
pub fn rhs(x: &[f64; 2]) -> [f64; 2] {
    [2.0 / 3.0 - 4.0 / 3.0 * x[1].exp(), x[0].exp() - 1.0]
}

/// The first integral H = e^{x₀} − x₀ + (4/3)e^{x₁} − (2/3)x₁.
pub fn first_integral(x: &[f64; 2]) -> f64 {
    x[0].exp() - x[0] + 4.0 / 3.0 * x[1].exp() - 2.0 / 3.0 * x[1]
}

/// Initial conditions x = log(u), u ~ U(0,1)², kept when H ∈ [h_min, h_max].
pub fn initial_conditions(r: &LotkaVolterra, seed: u64, n: usize) -> Vec<[f64; 2]> {
    let mut s = rng::stream(seed, "lotka-volterra/initial");
    let mut out = Vec::with_capacity(n);
    while out.len() < n {
        let x = [
            rng::uniform(&mut s, 0.0, 1.0).ln(),
            rng::uniform(&mut s, 0.0, 1.0).ln(),
        ];
        let h = first_integral(&x);
        if (r.h_min..=r.h_max).contains(&h) {
            out.push(x);
        }
    }
    out
}

pub(super) fn layout(r: &LotkaVolterra) -> Layout {
    super::trajectory_layout([r.n_train, r.n_val, r.n_test], r.steps, &[2])
}

pub(super) fn generate(
    r: &LotkaVolterra,
    seed: u64,
    w: &mut DatasetWriter,
    g: &mut Generated,
) -> Result<()> {
    let ics = initial_conditions(r, seed, r.n_train + r.n_val + r.n_test);
    super::write_ode_splits(w, g, &ics, &rhs, r.dt, r.steps, r.substeps)
}
