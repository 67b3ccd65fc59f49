//! The pendulum θ̈ = −sin θ and its movie (a Gaussian blob at the bob).

use super::{ode, Generated};
use crate::data::dataset::{DatasetWriter, Layout};
use crate::data::recipe::{Pendulum, PendulumMovie};
use crate::error::Result;
use crate::rng;
use std::f64::consts::PI;

/// (θ̇, ω̇) = (ω, −sin θ).
pub fn rhs(x: &[f64; 2]) -> [f64; 2] {
    [x[1], -x[0].sin()]
}

/// Energy ω²/2 − cos θ.
pub fn energy(x: &[f64; 2]) -> f64 {
    x[1] * x[1] / 2.0 - x[0].cos()
}

/// θ₀ ~ U(−θmax, θmax), ω₀ ~ U(−ωmax, ωmax), kept when |energy| ≤ energy_max.
pub fn initial_conditions(r: &Pendulum, seed: u64, n: usize) -> Vec<[f64; 2]> {
    let mut s = rng::stream(seed, "pendulum/initial");
    let mut out = Vec::with_capacity(n);
    while out.len() < n {
        let x = [
            rng::uniform(&mut s, -r.theta_max, r.theta_max),
            rng::uniform(&mut s, -r.omega_max, r.omega_max),
        ];
        if energy(&x).abs() <= r.energy_max {
            out.push(x);
        }
    }
    out
}

fn counts(r: &Pendulum) -> usize {
    r.n_train + r.n_val + r.n_test
}

pub(super) fn layout(r: &Pendulum) -> Layout {
    super::trajectory_layout([r.n_train, r.n_val, r.n_test], r.steps, &[2])
}

pub(super) fn generate(
    r: &Pendulum,
    seed: u64,
    w: &mut DatasetWriter,
    g: &mut Generated,
) -> Result<()> {
    let ics = initial_conditions(r, seed, counts(r));
    super::write_ode_splits(w, g, &ics, &rhs, r.dt, r.steps, r.substeps)
}

pub(super) fn movie_layout(r: &PendulumMovie) -> Layout {
    Layout {
        obs: vec![r.size, r.size],
        ..layout(&r.dynamics)
    }
}

/// θ wrapped to (−π, π].
pub fn wrap(theta: f64) -> f64 {
    let w = (theta + PI).rem_euclid(2.0 * PI) - PI;
    if w <= -PI {
        w + 2.0 * PI
    } else {
        w
    }
}

/// Renders the frame of state (θ, ω) and its time derivative into `img` and `dimg` (size², row-major,
/// row 0 at y₂ = +extent).
pub fn render(r: &PendulumMovie, x: &[f64; 2], img: &mut [f32], dimg: &mut [f32]) {
    let th = wrap(x[0]);
    let (bx, by) = ((th - PI / 2.0).cos(), (th - PI / 2.0).sin());
    // d/dt of (bx, by) = ω·(−sin(θ−π/2), cos(θ−π/2)) = ω·(−by, bx).
    let (vx, vy) = (-by * x[1], bx * x[1]);
    let n = r.size;
    let step = 2.0 * r.extent / (n - 1) as f64;
    for row in 0..n {
        let y2 = r.extent - row as f64 * step;
        for col in 0..n {
            let y1 = -r.extent + col as f64 * step;
            let (ex, ey) = (y1 - bx, y2 - by);
            let v = (-(ex * ex + ey * ey) / r.width).exp();
            img[row * n + col] = v as f32;
            dimg[row * n + col] = (v * 2.0 / r.width * (ex * vx + ey * vy)) as f32;
        }
    }
}

pub(super) fn generate_movie(
    r: &PendulumMovie,
    seed: u64,
    w: &mut DatasetWriter,
    g: &mut Generated,
) -> Result<()> {
    let p = &r.dynamics;
    let ics = initial_conditions(p, seed, counts(p));
    let pix = r.size * r.size;
    let (mut img, mut dimg) = (vec![0f32; pix * p.steps], vec![0f32; pix * p.steps]);
    let bar = crate::progress::bar(ics.len() as u64, "rendering");
    for (i, x0) in ics.iter().enumerate() {
        let (split, traj) = super::split_of(w.layout(), i);
        let tr = ode::trajectory(&rhs, *x0, p.dt, p.steps, p.substeps);
        for (k, x) in tr.iter().enumerate() {
            render(
                r,
                x,
                &mut img[k * pix..(k + 1) * pix],
                &mut dimg[k * pix..(k + 1) * pix],
            );
        }
        let t: Vec<f32> = (0..p.steps).map(|k| (k as f64 * p.dt) as f32).collect();
        w.write(split, traj, 0, &img, &dimg, &t)?;
        g.observe(&img);
        bar.inc(1);
    }
    bar.finish_and_clear();
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn wrap_maps_into_half_open_interval() {
        for th in [-7.0, -PI, -1.0, 0.0, PI, 4.0, 13.0] {
            let w = wrap(th);
            assert!(w > -PI && w <= PI, "{th} -> {w}");
            assert!(
                ((th - w) / (2.0 * PI)).fract().abs() < 1e-12
                    || ((th - w) / (2.0 * PI)).fract().abs() > 1.0 - 1e-12
            );
        }
    }

    #[test]
    fn blob_sits_at_the_bob_and_derivative_matches_finite_difference() {
        let r = PendulumMovie::default();
        let n = r.size;
        let (mut a, mut da) = (vec![0f32; n * n], vec![0f32; n * n]);
        render(&r, &[0.0, 0.0], &mut a, &mut da);
        // θ = 0: the bob hangs down, at y = (0, −1): bottom middle region.
        let arg = a
            .iter()
            .enumerate()
            .max_by(|x, y| x.1.total_cmp(y.1))
            .unwrap()
            .0;
        let (row, col) = (arg / n, arg % n);
        assert_eq!(col, n / 2);
        assert_eq!(row, ((1.5 + 1.0) / 3.0 * (n - 1) as f64).round() as usize);
        // d/dt of the image along the flow vs central difference in time.
        let x = [0.7, 1.3];
        let h = 1e-4;
        let step = |s: f64| {
            let y = ode::rk4_step(&rhs, &x, s);
            let (mut img, mut d) = (vec![0f32; n * n], vec![0f32; n * n]);
            render(&r, &y, &mut img, &mut d);
            img
        };
        let (p, m) = (step(h), step(-h));
        render(&r, &x, &mut a, &mut da);
        let err = (0..n * n)
            .map(|i| ((p[i] - m[i]) as f64 / (2.0 * h) - da[i] as f64).abs())
            .fold(0.0, f64::max);
        let scale = da.iter().map(|v| v.abs() as f64).fold(0.0, f64::max);
        assert!(
            err < 1e-2 * scale,
            "derivative error {err} vs scale {scale}"
        );
    }
}
