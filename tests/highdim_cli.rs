//! Every high-dimensional model config (`models/<name>/config.toml`) trains as a user runs it, cut to a
//! tiny variant (small data, small networks, 2 epochs): the run folder holds the model, the plots and a
//! summary whose numbers are finite.

mod common;
use common::laligan;
use serde_json::Value;
use std::path::Path;

/// Trains `models/<name>/config.toml` with `sets` (`key=value`) into `<tmp>/run`; returns the summary and
/// the training log.
fn train_tiny(name: &str, sets: &[&str], plots: &[&str]) -> (Value, String) {
    let d = tempfile::tempdir().unwrap();
    let p = d.path();
    let cfg = Path::new(env!("CARGO_MANIFEST_DIR")).join(format!("models/{name}/config.toml"));
    let mut args = vec!["train", "--config", cfg.to_str().unwrap(), "--out", "run"];
    for s in sets.iter().chain(&["train.epochs=2", "train.save_every=1"]) {
        args.extend(["--set", s]);
    }
    let r = laligan(p, &args);
    assert_eq!(r.code, 0, "{name}: {}", r.stderr);
    let run = p.join("run");
    for f in [
        "model.safetensors",
        "summary.json",
        "metrics.csv",
        "losses.png",
        "latent.png",
    ]
    .iter()
    .chain(plots)
    {
        assert!(run.join(f).is_file(), "{name}: no {f}");
    }
    let s: Value =
        serde_json::from_str(&std::fs::read_to_string(run.join("summary.json")).unwrap()).unwrap();
    let finite = |v: &Value| v.as_f64().is_some_and(f64::is_finite);
    assert!(
        finite(&s["recon_mse"]) && finite(&s["disc_acc"]),
        "{name}: {s}"
    );
    assert_eq!(s["epochs"], 2, "{name}");
    for g in s["generators"].as_array().unwrap() {
        for row in g.as_array().unwrap() {
            assert!(row.as_array().unwrap().iter().all(finite), "{name}: {g}");
        }
    }
    assert!(
        s["imag_ratio"].as_array().unwrap().iter().all(finite),
        "{name}"
    );
    (s, std::fs::read_to_string(run.join("train.log")).unwrap())
}

const RD: &str = r#"data.recipe_set=["reaction-diffusion.n=16", "reaction-diffusion.t_end=4.0"]"#;
const SMALL_MLP: [&str; 4] = [
    "autoencoder.hidden=16",
    "autoencoder.layers=2",
    "discriminator.hidden=16",
    "discriminator.layers=2",
];

fn with<'a>(a: &[&'a str], b: &[&'a str]) -> Vec<&'a str> {
    a.iter().chain(b).copied().collect()
}

#[test]
fn reaction_diffusion_configs_train_tiny() {
    for name in [
        "reaction-diffusion",
        "reaction-diffusion-mlp",
        "reaction-diffusion-3d",
        "liegan-reaction-diffusion",
    ] {
        let mut sets = with(
            &SMALL_MLP,
            &[
                RD,
                "train.batch_size=16",
                "train.eval_windows=20",
                "train.eval_points=20",
            ],
        );
        if name == "reaction-diffusion" {
            // The tiny series is shorter than the transient the config leaves out.
            sets.push("data.skip=0");
        }
        let (s, log) = train_tiny(name, &sets, &["orbits.png"]);
        // The generator's size: the latent, or the 2×2 block of the 4-D pca latent's pairs.
        let size = match name {
            "reaction-diffusion-3d" => 3,
            "liegan-reaction-diffusion" => 10,
            _ => 2,
        };
        assert_eq!(s["generators"][0].as_array().unwrap().len(), size);
        // The fixed projections were fitted on the training frames before the first epoch (the log's
        // first line is the command); the polynomial decoder on what the projection leaves of them.
        let fitted = match name {
            "liegan-reaction-diffusion" => Some("pca: 10 components of 63 training"),
            "reaction-diffusion" => Some("pca: 4 components of 63 training"),
            _ => None,
        };
        if let Some(fitted) = fitted {
            assert!(log.starts_with("command: laligan train"), "{log}");
            let line = log.lines().nth(1).unwrap_or_default();
            assert!(line.starts_with(fitted), "{log}");
            assert_eq!(
                line.contains("the polynomial decoder (30 monomials)"),
                name == "reaction-diffusion",
                "{line}"
            );
        }
        // One validation trajectory: its orbit score is a number.
        assert!(s["orbit_cv"][0].as_f64().is_some_and(f64::is_finite), "{s}");
    }
}

#[test]
fn pendulum_movie_config_trains_tiny() {
    let sets = [
        r#"data.recipe_set=["pendulum-movie.size=15", "pendulum-movie.dynamics.n_train=3", "pendulum-movie.dynamics.n_val=2", "pendulum-movie.dynamics.n_test=1", "pendulum-movie.dynamics.steps=20"]"#,
        "data.n_train=0",
        "data.stride=1",
        "autoencoder.channels=[3, 4]",
        "discriminator.hidden=16",
        "discriminator.layers=2",
        "train.batch_size=16",
        "train.eval_windows=20",
        "train.eval_points=10",
    ];
    let (s, _) = train_tiny("pendulum-movie", &sets, &["orbits.png"]);
    assert!(s["orbit_cv"][0].as_f64().is_some_and(f64::is_finite), "{s}");
}

#[test]
fn double_bump_config_trains_tiny_and_scores_the_shifts() {
    let sets = [
        r#"data.recipe_set=["double-bump.n_train=64", "double-bump.n_val=16", "double-bump.n_test=4"]"#,
        "autoencoder.channels=[4, 8]",
        "autoencoder.fc=[16]",
        "discriminator.hidden=16",
        "discriminator.layers=2",
        "train.batch_size=32",
    ];
    let (s, _) = train_tiny("double-bump", &sets, &["orbits.png"]);
    // Fixed so(2) ⊕ so(2): no learnable generator, no orbit score for static samples.
    assert!(s["generators"].as_array().unwrap().is_empty());
    assert!(s["orbit_cv"].as_array().unwrap().iter().all(Value::is_null));
    let shifts = s["bump_shift"].as_array().unwrap();
    assert_eq!(shifts.len(), 2);
    for b in shifts {
        assert!(b["distance"].as_f64().is_some_and(f64::is_finite), "{b}");
        let n = b["distinct_shifts"].as_f64().unwrap();
        assert!((1.0..=8.0).contains(&n), "{b}");
        let kept = b["other_in_place"].as_f64().unwrap();
        assert!((0.0..=1.0).contains(&kept), "{b}");
        assert!(
            b["fit_distance"].as_f64().is_some_and(f64::is_finite),
            "{b}"
        );
        assert!(["rectangle", "triangle"].contains(&b["bump"].as_str().unwrap()));
    }
}

#[test]
fn rotating_object_config_trains_tiny() {
    let sets = [
        r#"data.recipe_set=["rotating-object.n_train=32", "rotating-object.n_val=8", "rotating-object.n_test=4", "rotating-object.size=16"]"#,
        "autoencoder.channels=[4, 8]",
        "autoencoder.fc=[16]",
        "discriminator.hidden=16",
        "discriminator.layers=2",
        "train.batch_size=16",
    ];
    let (s, _) = train_tiny("rotating-object", &sets, &["orbits.png"]);
    assert!(s["generators"].as_array().unwrap().is_empty());
    assert!(s.get("bump_shift").is_none());
}
