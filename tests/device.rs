//! The device setting: CUDA without the feature is refused by name, and the generic path (candle's own
//! ops, the path a GPU takes) trains to the fused CPU path's numbers on the CPU.

mod common;

use common::{laligan, refused, TINY};
use laligan::experiment::Experiment;
use laligan::train::run::{Outcome, Start};
use std::sync::atomic::AtomicBool;

/// Each command that takes `--device` refuses cuda in a build without the `cuda` feature, naming the
/// build command, before it writes anything.
#[test]
fn cuda_without_the_feature_is_a_clear_error() {
    if cfg!(feature = "cuda") {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("tiny.toml"), TINY).unwrap();
    let need = [
        "device = \"cuda\"",
        "scripts/build-cuda.sh",
        "--features cuda",
    ];
    for args in [
        &[
            "train",
            "--config",
            "tiny.toml",
            "--out",
            "run",
            "--device",
            "cuda",
        ][..],
        &[
            "run",
            "--config",
            "tiny.toml",
            "--out",
            "all",
            "--device",
            "cuda",
        ],
        &["bench", "train-step", "--batch", "8", "--device", "cuda"],
        &[
            "train",
            "--config",
            "tiny.toml",
            "--out",
            "run",
            "--set",
            "device=\"cuda\"",
        ],
    ] {
        refused(&laligan(dir.path(), args), &need);
    }
    assert!(!dir.path().join("run").exists() && !dir.path().join("all/train").exists());
    refused(
        &laligan(
            dir.path(),
            &[
                "train",
                "--config",
                "tiny.toml",
                "--out",
                "r",
                "--device",
                "gpu",
            ],
        ),
        &["unknown device \"gpu\"", "\"cpu\" or \"cuda\""],
    );
}

/// Two epochs of the tiny experiment on the fused kernels and on the generic path, same seed: the same
/// sample stream, so losses, scores and generators agree to float tolerance (2e-4 relative; 2.3e-5 seen).
#[test]
fn the_generic_path_trains_to_the_fused_paths_numbers() {
    let dir = tempfile::tempdir().unwrap();
    let set: Vec<String> = vec![];
    let mut exp = Experiment::parse(TINY, "tiny", &set).unwrap();
    let recipe = laligan::data::Recipe::resolve(&exp.data.recipe, &exp.data.recipe_set).unwrap();
    let data = dir.path().join("tiny.safetensors");
    laligan::data::systems::generate(&recipe, &data, false).unwrap();
    exp.data.use_file(&data).unwrap();
    let train = |name: &str| {
        let out = dir.path().join(name);
        let stop = AtomicBool::new(false);
        match laligan::pipeline::train(&exp, &out, Start::New, &stop).unwrap() {
            Outcome::Finished(s) => s,
            Outcome::Interrupted { .. } => panic!("interrupted"),
        }
    };
    let fused = train("fused");
    let generic = {
        let _generic = laligan::nn::fused::generic();
        train("generic")
    };
    let rel = |a: f64, b: f64| (a - b).abs() / a.abs().max(b.abs()).max(1e-3);
    let mut worst = 0.0f64;
    for (k, a) in &fused.final_losses {
        let b = generic.final_losses[k];
        worst = worst.max(rel(*a, b));
        assert!(rel(*a, b) < 2e-4, "loss {k}: fused {a} generic {b}");
    }
    let scores = [
        ("recon_mse", fused.recon_mse, generic.recon_mse),
        ("disc_acc", fused.disc_acc, generic.disc_acc),
        ("imag_ratio", fused.imag_ratio[0], generic.imag_ratio[0]),
        ("skew_ratio", fused.skew_ratio[0], generic.skew_ratio[0]),
    ];
    for (name, a, b) in scores {
        worst = worst.max(rel(a, b));
        assert!(rel(a, b) < 2e-4, "{name}: fused {a} generic {b}");
    }
    let flat = |s: &laligan::train::report::Summary| -> Vec<f64> {
        s.generators.iter().flatten().flatten().copied().collect()
    };
    for (a, b) in flat(&fused).iter().zip(flat(&generic)) {
        worst = worst.max((a - b).abs());
        assert!(
            (a - b).abs() < 2e-4,
            "generator entry: fused {a} generic {b}"
        );
    }
    eprintln!("largest difference between the paths: {worst:e}");
}
