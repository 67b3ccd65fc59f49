//! `laligan convert` on the fixture that scripts/make_reference_fixture.py made with PyTorch and the
//! reference's module layout: the converted model reproduces the reference's latents (1e-5) and
//! reconstructions (1e-4) from every accepted file layout, and bad input is refused by name.

mod common;

use common::{laligan, refused};
use laligan::checkpoint::{Checkpoint, MODEL_FORMAT};
use std::path::{Path, PathBuf};

fn fixture(name: &str) -> String {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures/reference")
        .join(name)
        .display()
        .to_string()
}

/// Runs `laligan convert FILES --config <fixture config> --out DIR/name EXTRA..` in `dir`.
fn convert(dir: &Path, name: &str, files: &[&str], extra: &[&str]) -> common::Run {
    let config = fixture("config.toml");
    let mut args = vec!["convert".to_string()];
    // A file is taken from `dir` when it is there, else from the fixture.
    args.extend(files.iter().map(|f| match dir.join(f) {
        p if p.exists() => p.display().to_string(),
        _ => fixture(f),
    }));
    args.extend(["--config".into(), config, "--out".into(), name.into()]);
    args.extend(extra.iter().map(|s| s.to_string()));
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    laligan(dir, &args)
}

fn npy(path: &Path) -> Vec<f32> {
    laligan::data::npy::read(path).unwrap().values
}

fn max_abs(a: &[f32], b: &[f32]) -> f32 {
    assert_eq!(a.len(), b.len());
    a.iter()
        .zip(b)
        .map(|(x, y)| (x - y).abs())
        .fold(0.0, f32::max)
}

/// Encodes and decodes the fixture's inputs with the model in `dir/name`; returns the largest
/// differences from the reference's latents and reconstructions.
fn differences(dir: &Path, name: &str) -> (f32, f32) {
    let inputs = fixture("inputs.npy");
    let r = laligan(
        dir,
        &[
            "encode", "--model", name, "--input", &inputs, "--out", "z.npy",
        ],
    );
    assert_eq!(r.code, 0, "{}", r.stderr);
    let r = laligan(
        dir,
        &[
            "decode", "--model", name, "--input", "z.npy", "--out", "x.npy",
        ],
    );
    assert_eq!(r.code, 0, "{}", r.stderr);
    let z = npy(&dir.join("z.npy"));
    let x = npy(&dir.join("x.npy"));
    let zr = npy(Path::new(&fixture("latents.npy")));
    let xr = npy(Path::new(&fixture("recon.npy")));
    (max_abs(&z, &zr), max_abs(&x, &xr))
}

fn values(ck: &Checkpoint, name: &str) -> Vec<f32> {
    ck.tensor(name)
        .unwrap_or_else(|| panic!("{name} missing"))
        .flatten_all()
        .unwrap()
        .to_vec1()
        .unwrap()
}

fn weights(dir: &Path, name: &str) -> Checkpoint {
    Checkpoint::open(&dir.join(name).join("model.safetensors"), MODEL_FORMAT).unwrap()
}

#[test]
fn the_reference_files_convert_to_a_model_that_reproduces_its_latents_and_reconstructions() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path();
    let files = [
        "autoencoder.pt",
        "generator.pt",
        "discriminator.pt",
        "Lie_list.pt",
    ];
    let r = convert(dir, "separate", &files, &[]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    let (dz, dx) = differences(dir, "separate");
    eprintln!("separate files: latents max |Δ| {dz:e}, reconstructions {dx:e}");
    assert!(dz <= 1e-5, "latents differ by {dz}");
    assert!(dx <= 1e-4, "reconstructions differ by {dx}");

    // The masked algebra the reference saved is the model's generator; the discriminator comes along.
    let ck = weights(dir, "separate");
    let basis = values(&ck, "lie.block0.basis");
    let mask = values(&ck, "lie.block0.mask");
    assert_eq!(mask, vec![0.0, 1.0, 1.0, 0.0]);
    let masked: Vec<f32> = basis.iter().zip(&mask).map(|(b, m)| b * m).collect();
    assert!((masked[1] - 1.0796).abs() < 1e-3 && (masked[2] + 0.8417).abs() < 1e-3);
    assert!(ck.tensor("disc.out.weight").is_some());
    let card = std::fs::read_to_string(dir.join("separate/README.md")).unwrap();
    for f in files {
        let sha = laligan::data::sha256_file(&PathBuf::from(fixture(f))).unwrap();
        assert!(
            card.contains(&format!("`{f}`")) && card.contains(&sha),
            "{card}"
        );
    }
    assert!(card.contains("laligan convert"), "{card}");

    // One combined state dict, as .pt and as .safetensors (the masks then recomputed from
    // lie.threshold, as the reference's last thresholding did), gives the same weights.
    for (name, file) in [
        ("combined-pt", "combined.pt"),
        ("combined-st", "combined.safetensors"),
    ] {
        let r = convert(dir, name, &[file], &[]);
        assert_eq!(r.code, 0, "{file}: {}", r.stderr);
        let other = weights(dir, name);
        for (t, _, _) in ck.entries() {
            assert_eq!(values(&ck, t), values(&other, t), "{file}: {t}");
        }
    }

    // The autoencoder with the saved algebra alone: an inference model without a discriminator.
    let r = convert(dir, "list", &["autoencoder.pt", "Lie_list.pt"], &[]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    let list = weights(dir, "list");
    assert!(list.tensor("disc.out.weight").is_none());
    assert_eq!(values(&list, "lie.block0.basis"), masked);
    assert_eq!(differences(dir, "list"), (dz, dx));

    // The converted folder is a model every command takes.
    let r = laligan(dir, &["inspect", "separate"]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert!(
        r.stdout.contains("ae.encoder.head.householder"),
        "{}",
        r.stdout
    );

    // Training continues from it (`train --init`): at a vanishing learning rate one epoch leaves the
    // converted weights, the orthogonal layer's Householder vectors included, where they were.
    let config = fixture("config.toml");
    let mut args = vec![
        "train", "--config", &config, "--init", "separate", "--out", "tuned",
    ];
    for s in [
        "train.epochs=1",
        "train.lr_ae=1e-12",
        "train.lr_lie=1e-12",
        "train.lr_disc=1e-12",
    ] {
        args.extend(["--set", s]);
    }
    let r = laligan(dir, &args);
    assert_eq!(r.code, 0, "{}", r.stderr);
    let tuned = weights(dir, "tuned");
    for t in [
        "ae.encoder.head.householder",
        "ae.decoder.0.weight",
        "lie.block0.basis",
        "disc.out.weight",
    ] {
        let d = max_abs(&values(&ck, t), &values(&tuned, t));
        assert!(d < 1e-6, "{t} moved by {d}");
    }
    let log = std::fs::read_to_string(dir.join("tuned/train.log")).unwrap();
    assert!(log.contains("initialized from the model separate"), "{log}");
    // A config of another architecture is refused by tensor.
    args.extend(["--set", "autoencoder.hidden=64", "--force"]);
    refused(
        &laligan(dir, &args),
        &["separate/model.safetensors", "expected [64]"],
    );
}

#[test]
fn bad_reference_files_are_refused_by_name_and_leave_nothing_behind() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path();
    let gen = ["autoencoder.pt", "generator.pt"];

    // A pickle of classes (a whole module): refused, nothing run.
    let r = convert(dir, "m", &["autoencoder.pt", "whole_module.pt"], &[]);
    refused(
        &r,
        &[
            "whole_module.pt",
            "torch.nn.modules.linear.Linear",
            "nothing from the file was run",
        ],
    );
    // The legacy non-zip format.
    let r = convert(dir, "m", &["autoencoder.pt", "legacy.pt"], &[]);
    refused(&r, &["legacy.pt", "legacy (non-zip)"]);
    // A config of another architecture: the first key that differs is named with both shapes.
    let r = convert(dir, "m", &gen, &["--set", "autoencoder.hidden=64"]);
    refused(
        &r,
        &["autoencoder.pt", "encoder.0.weight", "[32, 2]", "[64, 2]"],
    );
    let r = convert(dir, "m", &gen, &["--set", "autoencoder.layers=4"]);
    refused(
        &r,
        &["encoder.8.parametrizations.weight.original", "missing"],
    );
    let r = convert(dir, "m", &gen, &["--set", "lie.sigma=0.5"]);
    refused(&r, &["sigma.0", "lie.sigma"]);
    // The autoencoder alone: no generator.
    let r = convert(dir, "m", &["autoencoder.pt"], &[]);
    refused(&r, &["no generator given", "Lie_list.pt"]);
    // A module given twice.
    let r = convert(dir, "m", &["combined.pt", "generator.pt"], &[]);
    refused(&r, &["generator.pt", "is also in", "combined.pt"]);

    // A state dict of another model, and a non-finite weight, as safetensors files.
    let bytes = std::fs::read(fixture("combined.safetensors")).unwrap();
    let n = u64::from_le_bytes(bytes[..8].try_into().unwrap()) as usize;
    let header: serde_json::Value = serde_json::from_slice(&bytes[8..8 + n]).unwrap();
    let start = header["autoencoder.decoder.0.weight"]["data_offsets"][0]
        .as_u64()
        .unwrap() as usize;
    let mut nan = bytes.clone();
    let at = 8 + n + start + 4 * 3;
    nan[at..at + 4].copy_from_slice(&f32::NAN.to_le_bytes());
    std::fs::write(dir.join("nan.safetensors"), &nan).unwrap();
    let other = safetensors::serialize(
        [(
            "fc1.weight",
            safetensors::tensor::TensorView::new(safetensors::Dtype::F32, vec![1], &[0u8; 4])
                .unwrap(),
        )],
        None,
    )
    .unwrap();
    std::fs::write(dir.join("other.safetensors"), other).unwrap();
    let r = convert(dir, "m", &["nan.safetensors"], &[]);
    refused(
        &r,
        &[
            "nan.safetensors",
            "decoder.0.weight",
            "non-finite",
            "index 3",
        ],
    );
    let r = convert(dir, "m", &["other.safetensors"], &[]);
    refused(
        &r,
        &[
            "other.safetensors",
            "fc1.weight",
            "none of the reference's modules",
        ],
    );
    assert!(
        !dir.join("m").exists(),
        "a refused conversion left a folder"
    );
}
