//! The data commands as a user runs them: determinism, clean refusals of bad input, import, inspect.

mod common;
use common::{laligan, refused};
use std::path::Path;

fn files_in(dir: &Path) -> Vec<String> {
    let mut v: Vec<String> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    v.sort();
    v
}

#[test]
fn same_seed_same_bytes_different_seed_different_data() {
    let d = tempfile::tempdir().unwrap();
    let small = [
        "--set",
        "pendulum.n_train=5",
        "--set",
        "pendulum.n_val=2",
        "--set",
        "pendulum.n_test=2",
    ];
    for (out, seed) in [
        ("a.safetensors", "seed=42"),
        ("b.safetensors", "seed=42"),
        ("c.safetensors", "seed=7"),
    ] {
        let mut args = vec!["data", "generate", "pendulum", "--out", out, "--set", seed];
        args.extend(small);
        let r = laligan(d.path(), &args);
        assert_eq!(r.code, 0, "{}", r.stderr);
    }
    let read = |n: &str| std::fs::read(d.path().join(n)).unwrap();
    assert_eq!(read("a.safetensors"), read("b.safetensors"));
    assert_ne!(read("a.safetensors"), read("c.safetensors"));
    // The same holds for a static set.
    for out in ["x.safetensors", "y.safetensors"] {
        let r = laligan(
            d.path(),
            &[
                "data",
                "generate",
                "double-bump",
                "--out",
                out,
                "--set",
                "double-bump.n_train=50",
            ],
        );
        assert_eq!(r.code, 0, "{}", r.stderr);
    }
    assert_eq!(read("x.safetensors"), read("y.safetensors"));
}

#[test]
fn bad_generate_input_is_refused_cleanly() {
    let d = tempfile::tempdir().unwrap();
    let p = d.path();
    let gen = |extra: &[&str]| {
        let mut args = vec!["data", "generate"];
        args.extend(extra);
        laligan(p, &args)
    };
    refused(
        &gen(&["no-such-system", "--out", "x.safetensors"]),
        &["no-such-system", "lotka-volterra", "rotating-object"],
    );
    refused(
        &gen(&[
            "pendulum",
            "--out",
            "x.safetensors",
            "--set",
            "pendulum.n_trian=3",
        ]),
        &["pendulum.n_trian", "did you mean `pendulum.n_train`"],
    );
    // an energy filter no initial condition can pass is refused, not looped on forever
    refused(
        &gen(&[
            "pendulum",
            "--out",
            "x.safetensors",
            "--set",
            "pendulum.theta_max=0.05",
            "--set",
            "pendulum.omega_max=0.05",
        ]),
        &["energy_max = 0.99", "raise energy_max"],
    );
    refused(
        &gen(&[
            "pendulum",
            "--out",
            "x.safetensors",
            "--set",
            "pendulum.steps=\"many\"",
        ]),
        &["pendulum.steps", "string"],
    );
    refused(
        &gen(&[
            "pendulum",
            "--out",
            "x.safetensors",
            "--set",
            "pendulum.dt=0",
        ]),
        &["pendulum.dt", "> 0"],
    );
    refused(
        &gen(&[
            "pendulum",
            "--out",
            "x.safetensors",
            "--set",
            "pendulum.n_train=0",
        ]),
        &["pendulum.n_train"],
    );
    refused(
        &gen(&[
            "lotka-volterra",
            "--out",
            "x.safetensors",
            "--set",
            "lotka-volterra.steps=-5",
        ]),
        &["lotka-volterra.steps"],
    );
    refused(
        &gen(&["pendulum", "--out", "missing/x.safetensors"]),
        &["missing", "does not exist"],
    );
    std::fs::write(p.join("bad.toml"), "seed = 1\n[pendulum]\nn_trains = 3\n").unwrap();
    refused(
        &gen(&["bad.toml", "--out", "x.safetensors"]),
        &["bad.toml", "n_trains", "did you mean `n_train`"],
    );
    std::fs::write(
        p.join("two.toml"),
        "seed = 1\n[pendulum]\n[lotka-volterra]\n",
    )
    .unwrap();
    refused(
        &gen(&["two.toml", "--out", "x.safetensors"]),
        &["exactly one system"],
    );
    assert_eq!(
        files_in(p),
        vec!["bad.toml", "two.toml"],
        "no partial output"
    );
    // Existing output: refused without --force, replaced with it.
    std::fs::write(p.join("old.safetensors"), b"keep me").unwrap();
    refused(
        &gen(&[
            "pendulum",
            "--out",
            "old.safetensors",
            "--set",
            "pendulum.n_train=2",
        ]),
        &["already exists", "--force"],
    );
    assert_eq!(
        std::fs::read(p.join("old.safetensors")).unwrap(),
        b"keep me"
    );
    let r = gen(&[
        "pendulum",
        "--out",
        "old.safetensors",
        "--set",
        "pendulum.n_train=2",
        "--force",
    ]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert_ne!(
        std::fs::read(p.join("old.safetensors")).unwrap(),
        b"keep me"
    );
}

#[test]
fn import_npy_npz_and_pngs_and_refuse_bad_files() {
    use candle_core::{Device, Tensor};
    let d = tempfile::tempdir().unwrap();
    let p = d.path();
    // One trajectory of a harmonic oscillator, [steps, 2], dt 0.01: central differences recover ẋ.
    let dt = 0.01f64;
    let v: Vec<f32> = (0..400)
        .flat_map(|k| {
            let t = k as f64 * dt;
            [t.cos() as f32, (-t.sin()) as f32]
        })
        .collect();
    Tensor::from_vec(v, (400, 2), &Device::Cpu)
        .unwrap()
        .write_npy(p.join("osc.npy"))
        .unwrap();
    let r = laligan(
        p,
        &[
            "data",
            "import",
            "osc.npy",
            "--out",
            "osc.safetensors",
            "--dt",
            "0.01",
        ],
    );
    assert_eq!(r.code, 0, "{}", r.stderr);
    let ds = laligan::data::Dataset::open(&p.join("osc.safetensors")).unwrap();
    let tr = ds.split("train").unwrap();
    assert_eq!(tr.shape, &[1, 320, 2]);
    assert_eq!(ds.file().metadata()["dx"], "central-difference");
    for k in 1..319 {
        let t = k as f64 * dt;
        assert!((tr.dx[2 * k] as f64 + t.sin()).abs() < 1e-4, "dx at {k}");
        assert!((tr.dx[2 * k + 1] as f64 + t.cos()).abs() < 1e-4);
    }
    assert_eq!(ds.split("test").unwrap().shape, &[1, 40, 2]);
    // npz with several trajectories and a given derivative: split by trajectory, dx kept.
    let x = Tensor::ones((20, 5, 3), candle_core::DType::F32, &Device::Cpu).unwrap();
    let dx = (x.clone() * 2.0).unwrap();
    Tensor::write_npz(&[("x", &x), ("dx", &dx)], p.join("many.npz")).unwrap();
    let r = laligan(
        p,
        &["data", "import", "many.npz", "--out", "many.safetensors"],
    );
    assert_eq!(r.code, 0, "{}", r.stderr);
    let ds = laligan::data::Dataset::open(&p.join("many.safetensors")).unwrap();
    assert_eq!(ds.split("train").unwrap().shape, &[16, 5, 3]);
    assert!(ds.split("val").unwrap().dx.iter().all(|&v| v == 2.0));
    // PNG frames.
    std::fs::create_dir(p.join("frames")).unwrap();
    for k in 0..5u8 {
        image::GrayImage::from_pixel(4, 3, image::Luma([k * 50]))
            .save(p.join(format!("frames/f{k}.png")))
            .unwrap();
    }
    let r = laligan(
        p,
        &["data", "import", "frames", "--out", "frames.safetensors"],
    );
    assert_eq!(r.code, 0, "{}", r.stderr);
    let ds = laligan::data::Dataset::open(&p.join("frames.safetensors")).unwrap();
    let tr = ds.split("train").unwrap();
    assert_eq!(tr.shape, &[1, 4, 3, 4]);
    assert!((tr.x[12] - 50.0 / 255.0).abs() < 1e-6);
    // NaN, corrupt and unsupported inputs.
    Tensor::from_vec(
        vec![1f32, f32::NAN, 3.0, 4.0, 5.0, 6.0],
        (3, 2),
        &Device::Cpu,
    )
    .unwrap()
    .write_npy(p.join("nan.npy"))
    .unwrap();
    refused(
        &laligan(p, &["data", "import", "nan.npy", "--out", "n.safetensors"]),
        &["nan.npy", "non-finite", "index 1"],
    );
    std::fs::write(p.join("junk.npy"), b"this is not numpy").unwrap();
    refused(
        &laligan(p, &["data", "import", "junk.npy", "--out", "j.safetensors"]),
        &["junk.npy"],
    );
    refused(
        &laligan(p, &["data", "import", "osc.txt", "--out", "j.safetensors"]),
        &["osc.txt"],
    );
    refused(
        &laligan(
            p,
            &[
                "data",
                "import",
                "osc.npy",
                "--out",
                "j.safetensors",
                "--dt=-1",
            ],
        ),
        &["--dt"],
    );
    std::fs::write(p.join("junk.safetensors"), b"garbage").unwrap();
    refused(
        &laligan(p, &["data", "inspect", "junk.safetensors"]),
        &["junk.safetensors", "not a valid"],
    );
    refused(
        &laligan(p, &["data", "inspect", "absent.safetensors"]),
        &["absent.safetensors"],
    );
    for f in ["n.safetensors", "j.safetensors"] {
        assert!(!p.join(f).exists(), "partial file {f}");
    }
}

#[test]
fn inspect_prints_shapes_and_draws_png() {
    let d = tempfile::tempdir().unwrap();
    let p = d.path();
    let r = laligan(
        p,
        &[
            "data",
            "generate",
            "lotka-volterra",
            "--out",
            "lv.safetensors",
            "--set",
            "lotka-volterra.n_train=4",
            "--set",
            "lotka-volterra.steps=3000",
        ],
    );
    assert_eq!(r.code, 0, "{}", r.stderr);
    let r = laligan(p, &["data", "inspect", "lv.safetensors", "--png", "lv.png"]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert!(
        r.stdout.contains("train.x")
            && r.stdout.contains("[4, 3000, 2]")
            && r.stdout.contains("[lotka-volterra]"),
        "{}",
        r.stdout
    );
    let img = image::open(p.join("lv.png")).unwrap();
    assert!(img.width() > 200 && img.height() > 200);
}
