//! `laligan discover` as a user runs it: raw-mode recovery and clean refusals.

mod common;
use common::{laligan, refused};

#[test]
fn raw_pendulum_is_recovered_and_bad_settings_refused() {
    let d = tempfile::tempdir().unwrap();
    let p = d.path();
    std::fs::write(
        p.join("cfg.toml"),
        "seed = 1\n[data]\nrecipe = \"pendulum\"\nrecipe_set = [\"pendulum.n_train=10\", \"pendulum.n_val=3\", \"pendulum.n_test=1\"]\n\
         [sindy]\nlibrary = \"1 + x + sin(x) + cos(x)\"\nthreshold = 0.1\n",
    )
    .unwrap();
    let r = laligan(p, &["discover", "--config", "cfg.toml", "--out", "run"]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    let e: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(p.join("run/equations.json")).unwrap())
            .unwrap();
    let terms: Vec<String> = serde_json::from_value(e["terms"].clone()).unwrap();
    let c: Vec<Vec<f64>> = serde_json::from_value(e["coefficients"].clone()).unwrap();
    let nz = |row: &Vec<f64>| -> Vec<(String, f64)> {
        row.iter()
            .enumerate()
            .filter(|(_, v)| v.abs() > 1e-9)
            .map(|(j, v)| (terms[j].clone(), *v))
            .collect()
    };
    let (r0, r1) = (nz(&c[0]), nz(&c[1]));
    assert_eq!(r0.len(), 1);
    assert_eq!(r0[0].0, "x1");
    assert!((r0[0].1 - 1.0).abs() < 1e-4);
    assert_eq!(r1.len(), 1);
    assert_eq!(r1[0].0, "sin(x0)");
    assert!((r1[0].1 + 1.0).abs() < 1e-4);
    assert!(e["val_r2"].as_f64().unwrap() > 0.9999);
    for f in ["equations.txt", "discovery.safetensors", "config.toml"] {
        assert!(p.join("run").join(f).exists(), "{f}");
    }
    // A constraint without generators, an unknown regressor, a library the data cannot feed, a
    // generator of the wrong shape, and a data.skip that leaves no step (it applies in raw mode too).
    for (set, needles) in [
        ("sindy.constraint=equivariant", &["sindy.generators"][..]),
        ("sindy.regressor=lasso", &["sindy.regressor", "stlsq"]),
        ("sindy.library=\"1 + tan(x)\"", &["tan"]),
        (
            "sindy.generators=[[[0.0, 1.0, 0.0]]]",
            &["sindy.generators[0]", "1×3", "square"],
        ),
        (
            "data.skip=100000",
            &["data.skip = 100000", "at least one step"],
        ),
    ] {
        refused(
            &laligan(
                p,
                &[
                    "discover", "--config", "cfg.toml", "--out", "r2", "--set", set,
                ],
            ),
            needles,
        );
    }
}
