//! Physics of the generated systems, checked in f64 over the full reference horizons.

use laligan::data::recipe::{LotkaVolterra, Pendulum, Recipe};
use laligan::data::systems::{lotka_volterra as lv, ode, pendulum};

#[test]
fn lotka_volterra_first_integral_drift_below_1e_6() {
    let r = LotkaVolterra::default();
    let ics = lv::initial_conditions(&r, 43, 240);
    let mut worst: f64 = 0.0;
    for &y0 in &ics {
        let h0 = lv::first_integral(&y0);
        assert!((r.h_min..=r.h_max).contains(&h0));
        for y in ode::trajectory(&lv::rhs, y0, r.dt, r.steps, r.substeps) {
            worst = worst.max((lv::first_integral(&y) - h0).abs() / h0.abs());
        }
    }
    assert!(worst < 1e-6, "relative H drift {worst:e}");
}

#[test]
fn pendulum_energy_drift_below_1e_6_and_filter_holds() {
    let r = Pendulum::default();
    let ics = pendulum::initial_conditions(&r, 42, 240);
    let mut worst: f64 = 0.0;
    for &y0 in &ics {
        let e0 = pendulum::energy(&y0);
        assert!(e0.abs() <= r.energy_max, "kept trajectory with energy {e0}");
        assert!(y0[0].abs() <= r.theta_max && y0[1].abs() <= r.omega_max);
        for y in ode::trajectory(&pendulum::rhs, y0, r.dt, r.steps, r.substeps) {
            worst = worst.max((pendulum::energy(&y) - e0).abs() / e0.abs().max(1.0));
        }
    }
    assert!(worst < 1e-6, "relative energy drift {worst:e}");
}

#[test]
fn generated_files_carry_true_derivatives_and_recipe() {
    let d = tempfile::tempdir().unwrap();
    let path = d.path().join("p.safetensors");
    let recipe = Recipe::resolve(
        "pendulum",
        &[
            "pendulum.n_train=3".into(),
            "pendulum.n_val=1".into(),
            "pendulum.n_test=1".into(),
        ],
    )
    .unwrap();
    laligan::data::systems::generate(&recipe, &path, false).unwrap();
    let ds = laligan::data::Dataset::open(&path).unwrap();
    let s = ds.split("train").unwrap();
    assert_eq!(s.shape, &[3, 500, 2]);
    for k in 0..s.x.len() / 2 {
        let (th, om) = (s.x[2 * k] as f64, s.x[2 * k + 1] as f64);
        assert!((s.dx[2 * k] as f64 - om).abs() < 1e-6);
        assert!((s.dx[2 * k + 1] as f64 + th.sin()).abs() < 1e-6);
    }
    assert!((s.t[499] - 9.98).abs() < 1e-5);
    let back: Recipe = laligan::config::parse(ds.recipe(), "stored recipe", &[]).unwrap();
    assert_eq!(back, recipe);
}

#[test]
fn every_builtin_recipe_parses_with_reference_defaults() {
    for (name, _) in laligan::data::recipe::BUILTIN {
        let r = Recipe::resolve(name, &[]).unwrap();
        assert_eq!(r.name(), name);
        laligan::data::systems::layout(&r).unwrap();
    }
    let rd = Recipe::resolve("reaction-diffusion", &[]).unwrap();
    let rd = rd.reaction_diffusion.unwrap();
    assert_eq!(
        laligan::data::systems::rd_split_sizes(&rd),
        [7_999, 1_000, 1_000]
    );
}
