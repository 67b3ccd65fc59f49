//! `train.lr_decay_epochs`: the last epochs run at `lr_decay_factor` times the learning rates, the
//! epochs before them are those of a run without it, and a resume that would move the decayed epochs
//! is refused.

mod common;

use common::{laligan, ok, refused, TINY};
use std::collections::HashMap;
use std::path::Path;

/// The trained parameters of a run (batch-norm running statistics left out: they follow the data, not
/// the learning rate).
fn params(run: &Path) -> HashMap<String, Vec<f32>> {
    candle_core::safetensors::load(run.join("model.safetensors"), &candle_core::Device::Cpu)
        .unwrap()
        .into_iter()
        .filter(|(k, _)| !k.contains("running"))
        .map(|(k, t)| {
            let v = t.flatten_all().unwrap().to_dtype(candle_core::DType::F32);
            (k, v.unwrap().to_vec1().unwrap())
        })
        .collect()
}

fn largest_change(a: &HashMap<String, Vec<f32>>, b: &HashMap<String, Vec<f32>>) -> f32 {
    assert_eq!(a.len(), b.len());
    a.iter()
        .flat_map(|(k, x)| x.iter().zip(&b[k]).map(|(p, q)| (p - q).abs()))
        .fold(0.0, f32::max)
}

/// `laligan train` on the tiny config into `out` with the `--set` overrides `set` (and `extra` flags).
fn train_cli(dir: &Path, out: &str, set: &[&str], extra: &[&str]) -> common::Run {
    let mut args = vec!["-q", "train", "--config", "tiny.toml", "--out", out];
    args.extend(extra);
    for s in set {
        args.extend(["--set", s]);
    }
    laligan(dir, &args)
}

#[test]
fn the_last_epochs_run_at_the_decayed_rates() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("tiny.toml"), TINY).unwrap();
    let train = |out: &str, set: &[&str]| {
        ok(train_cli(dir.path(), out, set, &[]));
        params(&dir.path().join(out))
    };
    let one = train("one", &["train.epochs=1"]);
    let two = train("two", &[]);
    // The second epoch at 1e-9 of the rates moves no parameter; the first is the undecayed run's.
    let decay = ["train.lr_decay_epochs=1", "train.lr_decay_factor=1e-9"];
    let decayed = train("decayed", &decay);
    let (moved, still) = (largest_change(&one, &two), largest_change(&one, &decayed));
    assert!(
        moved > 1e-3,
        "a second epoch at full rate moved the weights by {moved}"
    );
    assert!(
        still < 1e-6,
        "the decayed epoch moved the weights by {still}"
    );
    let log = std::fs::read_to_string(dir.path().join("decayed/train.log")).unwrap();
    assert!(
        log.contains("epoch 2: learning rates × 0.000000001 for the last 1 epochs"),
        "{log}"
    );

    // "decayed" ran its second epoch decayed; with 3 epochs that epoch would run at full rate.
    let longer = [&decay[..], &["train.epochs=3"]].concat();
    refused(
        &train_cli(dir.path(), "decayed", &longer, &["--resume"]),
        &["--resume", "train.lr_decay_epochs = 1", "start a new run"],
    );
    for (set, message) in [
        (
            "train.lr_decay_factor=0",
            "train.lr_decay_factor: 0, expected a number in (0, 1]",
        ),
        (
            "train.lr_decay_epochs=3",
            "train.lr_decay_epochs: 3, expected at most train.epochs (2)",
        ),
    ] {
        refused(&train_cli(dir.path(), "bad", &[set], &[]), &[message]);
    }
    assert!(!dir.path().join("bad").exists());
}
