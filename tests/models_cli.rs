//! Model folders as a user meets them, on a tiny pendulum model: export (bf16), loading from a folder, a
//! single file and a hub cache, encode/decode of numpy arrays, training on an imported dataset file,
//! and a table of corrupt or mismatched inputs, each refused by name with no panic and no output left.

mod common;
use common::{laligan, ok, refused, write_npy, Run, TINY as CONFIG};
use std::path::Path;

fn read_npy(path: &Path) -> (Vec<usize>, Vec<f32>) {
    let a = laligan::data::npy::read(path).unwrap();
    (a.shape, a.values)
}

/// A safetensors file with one tensor `name` of `dtype` and the given metadata.
fn safetensors(path: &Path, name: &str, dtype: &str, shape: &[usize], data: &[u8], meta: &str) {
    let header = format!(
        r#"{{"__metadata__":{meta},"{name}":{{"dtype":"{dtype}","shape":{shape:?},"data_offsets":[0,{}]}}}}"#,
        data.len()
    );
    let mut out = (header.len() as u64).to_le_bytes().to_vec();
    out.extend(header.as_bytes());
    out.extend(data);
    std::fs::write(path, out).unwrap();
}

#[test]
fn export_load_everywhere_encode_decode_own_data_and_bad_input() {
    let d = tempfile::tempdir().unwrap();
    let p = d.path();
    std::fs::write(p.join("cfg.toml"), CONFIG).unwrap();
    ok(laligan(
        p,
        &["train", "--config", "cfg.toml", "--out", "run"],
    ));
    ok(laligan(
        p,
        &["discover", "--model", "run", "--out", "run/equations"],
    ));
    ok(laligan(
        p,
        &[
            "export", "--model", "run", "--dtype", "bf16", "--out", "exp",
        ],
    ));
    let card = std::fs::read_to_string(p.join("exp/README.md")).unwrap();
    assert!(card.starts_with("---\nlibrary_name: laligan\n"), "{card}");
    assert!(
        card.contains("laligan train --config cfg.toml --out run"),
        "{card}"
    );
    assert!(
        card.contains("bf16") && card.contains("imag_ratio"),
        "{card}"
    );
    let size = |f: &str| std::fs::metadata(p.join(f)).unwrap().len();
    // no discriminator, half the bytes per weight
    assert!(size("exp/model.safetensors") < size("run/model.safetensors"));
    let inspect = ok(laligan(p, &["inspect", "exp"])).stdout;
    assert!(!inspect.contains("disc."), "{inspect}");
    assert!(
        inspect.contains("ae.encoder.0.weight") && inspect.contains("BF16"),
        "{inspect}"
    );
    assert!(
        inspect.contains("imag_ratio") && inspect.contains("dz0/dt"),
        "{inspect}"
    );
    // A single file carries its config in the metadata.
    ok(laligan(p, &["inspect", "exp/model.safetensors"]));

    // Encode and decode keep the leading dimensions; bf16 latents agree with f32 ones.
    let x: Vec<f32> = (0..24).map(|i| (i as f32 * 0.37).sin()).collect();
    write_npy(&p.join("x.npy"), "(3, 4, 2, )", &x, false);
    ok(laligan(
        p,
        &[
            "encode", "--model", "run", "--input", "x.npy", "--out", "z.npy",
        ],
    ));
    ok(laligan(
        p,
        &[
            "encode", "--model", "exp", "--input", "x.npy", "--out", "z16.npy",
        ],
    ));
    ok(laligan(
        p,
        &[
            "decode", "--model", "run", "--input", "z.npy", "--out", "xh.npy",
        ],
    ));
    let (sz, z) = read_npy(&p.join("z.npy"));
    let (_, z16) = read_npy(&p.join("z16.npy"));
    let (sx, _) = read_npy(&p.join("xh.npy"));
    assert_eq!((sz, sx), (vec![3, 4, 2], vec![3, 4, 2]));
    let scale = z.iter().fold(0f32, |m, v| m.max(v.abs()));
    let diff = z
        .iter()
        .zip(&z16)
        .fold(0f32, |m, (a, b)| m.max((a - b).abs()));
    assert!(
        diff < 0.05 * scale,
        "bf16 latents differ by {diff} (scale {scale})"
    );
    // A dataset split as input.
    let data = std::fs::read_dir(p.join("datasets/.cache"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .find(|f| f.extension().is_some_and(|e| e == "safetensors"))
        .unwrap();
    let data = data.to_str().unwrap();
    ok(laligan(
        p,
        &[
            "encode", "--model", "exp", "--input", data, "--split", "val", "--out", "zv.npy",
        ],
    ));
    assert_eq!(read_npy(&p.join("zv.npy")).0, vec![2, 40, 2]);

    // The hub cache: refs/main names a commit whose snapshot links into blobs/.
    let commit = "0123456789abcdef0123456789abcdef01234567";
    let repo = p.join("hub/models--acme--tiny");
    let snap = repo.join("snapshots").join(commit);
    std::fs::create_dir_all(repo.join("refs")).unwrap();
    std::fs::create_dir_all(repo.join("blobs")).unwrap();
    std::fs::create_dir_all(&snap).unwrap();
    std::fs::write(repo.join("refs/main"), commit).unwrap();
    for f in ["model.safetensors", "config.toml"] {
        std::fs::copy(p.join("exp").join(f), repo.join("blobs").join(f)).unwrap();
        std::os::unix::fs::symlink(format!("../../blobs/{f}"), snap.join(f)).unwrap();
    }
    let hub = |args: &[&str]| {
        let out = std::process::Command::new(env!("CARGO_BIN_EXE_laligan"))
            .args(args)
            .current_dir(p)
            .env("HF_HUB_CACHE", p.join("hub"))
            .env("RAYON_NUM_THREADS", "1")
            .output()
            .unwrap();
        Run {
            code: out.status.code().unwrap_or(-1),
            stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
            stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
        }
    };
    ok(hub(&["inspect", "hf:acme/tiny"]));
    ok(hub(&["inspect", &format!("hf:acme/tiny@{commit}")]));
    ok(hub(&[
        "forecast",
        "--model",
        "hf:acme/tiny",
        "--horizon",
        "10",
        "--out",
        "fc",
    ]));
    refused(
        &hub(&["inspect", "hf:acme/absent"]),
        &[
            "models--acme--absent",
            "huggingface-cli download acme/absent",
        ],
    );

    // Own data: an imported file trains through --data and through [data] file, and forecasts.
    write_npy(
        &p.join("own.npy"),
        "(12, 30, 2)",
        &(0..720).map(|i| (i as f32 * 0.1).cos()).collect::<Vec<_>>(),
        false,
    );
    ok(laligan(
        p,
        &[
            "data",
            "import",
            "own.npy",
            "--dt",
            "0.1",
            "--out",
            "own.safetensors",
        ],
    ));
    ok(laligan(
        p,
        &[
            "train",
            "--config",
            "cfg.toml",
            "--data",
            "own.safetensors",
            "--out",
            "own",
        ],
    ));
    let rec = std::fs::read_to_string(p.join("own/config.toml")).unwrap();
    assert!(
        rec.contains("own.safetensors") && rec.contains("sha256 = \""),
        "{rec}"
    );
    let own_cfg = CONFIG.replace("recipe = \"pendulum\"", "file = \"own.safetensors\"");
    std::fs::write(p.join("own.toml"), own_cfg).unwrap();
    ok(laligan(
        p,
        &["train", "--config", "own.toml", "--out", "own2"],
    ));
    ok(laligan(
        p,
        &[
            "forecast",
            "--model",
            "own",
            "--horizon",
            "10",
            "--out",
            "own-fc",
        ],
    ));

    // Bad input, one row per case: the command, the crafted input, the words the error must contain.
    let bad = p.join("bad");
    std::fs::create_dir_all(&bad).unwrap();
    std::fs::copy(p.join("exp/config.toml"), bad.join("config.toml")).unwrap();
    let weights = std::fs::read(p.join("run/model.safetensors")).unwrap();
    let f32s = |v: f32| v.to_le_bytes().to_vec();
    let model_meta = r#"{"format":"laligan-model","version":"1"}"#;
    type Craft<'a> = Box<dyn Fn(&Path) + 'a>;
    let cases: Vec<(&str, Craft, Vec<&str>)> = vec![
        (
            "truncated file",
            Box::new(|f: &Path| std::fs::write(f, &weights[..weights.len() / 2]).unwrap()),
            vec!["model.safetensors", "truncated"],
        ),
        (
            "header length past the end",
            Box::new(|f: &Path| std::fs::write(f, b"\xff\xff\xff\xff\xff\x00\x00\x00{").unwrap()),
            vec!["model.safetensors", "header"],
        ),
        (
            "header that is not JSON",
            Box::new(|f: &Path| {
                let mut b = 8u64.to_le_bytes().to_vec();
                b.extend(b"not json");
                std::fs::write(f, b).unwrap()
            }),
            vec!["model.safetensors", "not a readable safetensors"],
        ),
        (
            "unknown dtype",
            Box::new(move |f: &Path| safetensors(f, "x", "Q7", &[1], &[0], model_meta)),
            vec!["model.safetensors", "not a readable safetensors"],
        ),
        (
            "another program's safetensors",
            Box::new(|f: &Path| {
                safetensors(
                    f,
                    "x",
                    "F32",
                    &[1],
                    &0f32.to_le_bytes(),
                    r#"{"format":"pt"}"#,
                )
            }),
            vec!["model.safetensors", "not a laligan-model"],
        ),
        (
            "a newer format version",
            Box::new(|f: &Path| {
                safetensors(
                    f,
                    "x",
                    "F32",
                    &[1],
                    &0f32.to_le_bytes(),
                    r#"{"format":"laligan-model","version":"2"}"#,
                )
            }),
            vec!["newer laligan"],
        ),
        (
            "non-finite weight",
            Box::new(move |f: &Path| {
                safetensors(
                    f,
                    "ae.encoder.0.bias",
                    "F32",
                    &[1],
                    &f32s(f32::NAN),
                    model_meta,
                )
            }),
            vec!["ae.encoder.0.bias", "non-finite"],
        ),
        (
            "a tensor of another shape",
            Box::new(move |f: &Path| {
                safetensors(f, "ae.encoder.0.bias", "F32", &[1], &f32s(0.0), model_meta)
            }),
            vec!["ae.encoder.0.bias: expected [16], found [1]"],
        ),
        (
            "an extra tensor",
            Box::new(move |f: &Path| {
                safetensors(f, "extra.weight", "F32", &[1], &f32s(0.0), model_meta)
            }),
            vec!["unexpected tensor extra.weight"],
        ),
        (
            "a missing tensor",
            Box::new(move |f: &Path| {
                safetensors(f, "ae.encoder.0.bias", "F32", &[16], &[0u8; 64], model_meta)
            }),
            vec!["missing", "expected"],
        ),
    ];
    for (what, craft, needles) in &cases {
        craft(&bad.join("model.safetensors"));
        let r = laligan(
            p,
            &[
                "encode", "--model", "bad", "--input", "x.npy", "--out", "bad.npy",
            ],
        );
        assert!(r.code != 0, "{what}: accepted");
        refused(&r, needles);
        assert!(!p.join("bad.npy").exists(), "{what}: left bad.npy");
    }
    // Observations of the wrong trailing shape name the input file and both shapes.
    write_npy(&p.join("x3.npy"), "(4, 3)", &[0.0; 12], false);
    refused(
        &laligan(
            p,
            &[
                "encode", "--model", "exp", "--input", "x3.npy", "--out", "z3.npy",
            ],
        ),
        &["x3.npy", "[4, 3]", "[..., 2]"],
    );
    assert!(!p.join("z3.npy").exists());
    // A data file that changed since training is refused by every command that reads the run.
    let mut bytes = std::fs::read(p.join("own.safetensors")).unwrap();
    bytes.push(0);
    std::fs::write(p.join("own.safetensors"), bytes).unwrap();
    for args in [
        vec!["forecast", "--model", "own", "--out", "own-fc2"],
        vec!["discover", "--model", "own", "--out", "own-eq"],
        vec![
            "train",
            "--config",
            "cfg.toml",
            "--data",
            "own.safetensors",
            "--out",
            "own",
            "--resume",
        ],
    ] {
        refused(&laligan(p, &args), &["own.safetensors", "changed since"]);
    }
}
