//! Bad input as a hostile or careless user gives it, one table row per case, grouped by class: config
//! values out of range, non-finite numbers in data and weights, absurd sizes, and messages that must
//! name the real culprit. Every row must exit ≠ 0 without a panic, name what is wrong, and leave every
//! file in the working folder exactly as it was. Then the runs that must survive a failure: a failed
//! or killed `train --force` leaves the old run byte for byte, `kill -9` and Ctrl-C both resume to the
//! weights of an uninterrupted run.

mod common;
use common::{laligan, ok, refused, write_npy, TINY};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// Every file under `dir` with its bytes.
fn snapshot(dir: &Path) -> BTreeMap<PathBuf, Vec<u8>> {
    let mut out = BTreeMap::new();
    let mut todo = vec![dir.to_path_buf()];
    while let Some(d) = todo.pop() {
        for e in std::fs::read_dir(&d).unwrap() {
            let p = e.unwrap().path();
            if p.is_dir() {
                todo.push(p);
            } else {
                out.insert(
                    p.strip_prefix(dir).unwrap().to_path_buf(),
                    std::fs::read(&p).unwrap(),
                );
            }
        }
    }
    out
}

/// A copy of the safetensors file `src` at `dst`, with `edit` applied to its header JSON text (which
/// must keep its length) and the first value of tensor `nan_in` (if any) set to NaN.
fn patched(src: &Path, dst: &Path, edit: (&str, &str), nan_in: Option<&str>) {
    let mut b = std::fs::read(src).unwrap();
    let n = u64::from_le_bytes(b[..8].try_into().unwrap()) as usize;
    let header = String::from_utf8(b[8..8 + n].to_vec()).unwrap();
    assert!(
        header.contains(edit.0),
        "{} lacks {}",
        src.display(),
        edit.0
    );
    let new = header.replacen(edit.0, edit.1, 1);
    assert_eq!(new.len(), header.len());
    b[8..8 + n].copy_from_slice(new.as_bytes());
    if let Some(t) = nan_in {
        let h: serde_json::Value = serde_json::from_str(&header).unwrap();
        let at = 8 + n + h[t]["data_offsets"][0].as_u64().unwrap() as usize;
        b[at..at + 4].copy_from_slice(&f32::NAN.to_le_bytes());
    }
    std::fs::write(dst, b).unwrap();
}

/// The weights of a model file, by name (raw bytes).
fn weights(path: &Path) -> BTreeMap<String, Vec<u8>> {
    let b = std::fs::read(path).unwrap();
    let n = u64::from_le_bytes(b[..8].try_into().unwrap()) as usize;
    let h: BTreeMap<String, serde_json::Value> = serde_json::from_slice(&b[8..8 + n]).unwrap();
    h.into_iter()
        .filter(|(k, _)| k != "__metadata__")
        .map(|(k, v)| {
            let o = &v["data_offsets"];
            let (a, e) = (
                o[0].as_u64().unwrap() as usize,
                o[1].as_u64().unwrap() as usize,
            );
            (k, b[8 + n + a..8 + n + e].to_vec())
        })
        .collect()
}

fn spawn(dir: &Path, args: &[&str]) -> Child {
    Command::new(env!("CARGO_BIN_EXE_laligan"))
        .args(args)
        .current_dir(dir)
        .env("RAYON_NUM_THREADS", "1")
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap()
}

/// Waits until `path` exists (the child still running), at most a minute.
fn wait_for(child: &mut Child, path: &Path) {
    let t0 = Instant::now();
    while !path.exists() {
        assert!(
            child.try_wait().unwrap().is_none(),
            "finished before {}",
            path.display()
        );
        assert!(
            t0.elapsed() < Duration::from_secs(60),
            "no {}",
            path.display()
        );
        std::thread::sleep(Duration::from_millis(5));
    }
}

/// `train --config c.toml --out OUT` and `extra`.
fn train<'a>(out: &'a str, extra: &[&'a str]) -> Vec<&'a str> {
    let mut a = vec!["train", "--config", "c.toml", "--out", out];
    a.extend(extra);
    a
}

/// A temporary folder with the tiny config as `c.toml` and a run of it in `out`, trained with `set`.
fn trained(out: &str, set: &[&str]) -> tempfile::TempDir {
    let tmp = tempfile::tempdir().unwrap();
    std::fs::write(tmp.path().join("c.toml"), TINY).unwrap();
    let mut args = vec!["-q", "train", "--config", "c.toml", "--out", out];
    for s in set {
        args.extend(["--set", s]);
    }
    ok(laligan(tmp.path(), &args));
    tmp
}

#[test]
fn bad_input_is_refused_by_name_and_leaves_every_file_as_it_was() {
    let tmp = trained("good", &[]);
    let p = tmp.path();
    ok(laligan(
        p,
        &[
            "-q",
            "data",
            "generate",
            "pendulum",
            "--out",
            "p.safetensors",
            "--set",
            "pendulum.n_train=4",
            "--set",
            "pendulum.n_val=2",
            "--set",
            "pendulum.n_test=2",
            "--set",
            "pendulum.steps=40",
        ],
    ));
    let ds = p.join("p.safetensors");
    patched(
        &ds,
        &p.join("nan.safetensors"),
        ("test.x", "test.x"),
        Some("test.x"),
    );
    patched(
        &ds,
        &p.join("newer.safetensors"),
        ("\"version\":\"1\"", "\"version\":\"9\""),
        None,
    );
    std::fs::create_dir(p.join("nanw")).unwrap();
    std::fs::create_dir(p.join("newerw")).unwrap();
    for d in ["nanw", "newerw"] {
        std::fs::copy(p.join("good/config.toml"), p.join(d).join("config.toml")).unwrap();
    }
    let model = p.join("good/model.safetensors");
    let w = "ae.encoder.0.weight";
    patched(&model, &p.join("nanw/model.safetensors"), (w, w), Some(w));
    patched(
        &model,
        &p.join("newerw/model.safetensors"),
        ("\"version\":\"1\"", "\"version\":\"7\""),
        None,
    );
    let v: Vec<f32> = (0..4 * 30 * 3).map(|i| (i as f32 * 0.1).sin()).collect();
    write_npy(&p.join("x3.npy"), "(4, 30, 3)", &v, false);
    ok(laligan(
        p,
        &[
            "-q",
            "data",
            "import",
            "x3.npy",
            "--dt",
            "0.1",
            "--out",
            "x3.safetensors",
        ],
    ));
    let mut nan = v.clone();
    nan[77] = f32::INFINITY;
    write_npy(&p.join("inf.npy"), "(4, 30, 3)", &nan, false);
    write_npy(&p.join("empty.npy"), "(0, 30, 3)", &[], false);
    write_npy(&p.join("be.npy"), "(4, 30, 3)", &v, true);
    let full = std::fs::read(p.join("x3.npy")).unwrap();
    std::fs::write(p.join("trunc.npy"), &full[..300]).unwrap();
    std::fs::write(p.join("afile"), "a regular file").unwrap();

    let forecast = |extra: &[&'static str]| -> Vec<&'static str> {
        let mut a = vec!["forecast", "--out", "fc"];
        a.extend(extra);
        a
    };
    let import = |file: &'static str| {
        vec![
            "data",
            "import",
            file,
            "--dt",
            "0.1",
            "--out",
            "i.safetensors",
        ]
    };
    let cases: Vec<(&str, Vec<&str>, Vec<&str>)> = vec![
        // 1. config values, checked when the config is loaded
        (
            "batch 0",
            train("new", &["--set", "train.batch_size=0"]),
            vec!["c.toml", "train.batch_size: 0", "at least 1"],
        ),
        (
            "epochs 0",
            train("new", &["--set", "train.epochs=0"]),
            vec!["train.epochs: 0"],
        ),
        (
            "negative lr",
            train("new", &["--set", "train.lr_ae=-1"]),
            vec!["train.lr_ae: -1"],
        ),
        (
            "NaN sigma",
            train("new", &["--set", "lie.sigma=nan"]),
            vec!["lie.sigma: NaN", "finite"],
        ),
        (
            "huge lr",
            train("new", &["--set", "train.lr_lie=1e30"]),
            vec!["train.lr_lie", "[0, 1]"],
        ),
        (
            "unparsable library",
            vec![
                "discover",
                "--config",
                "c.toml",
                "--out",
                "d",
                "--set",
                "sindy.library=\"poly(\"",
            ],
            vec!["sindy.library", "poly("],
        ),
        // 2. non-finite numbers in any input
        (
            "NaN in a dataset's test split (train)",
            train("new", &["--data", "nan.safetensors"]),
            vec!["nan.safetensors", "test.x", "test split", "[0, 0, 0]"],
        ),
        (
            "NaN in the test split (forecast)",
            forecast(&["--model", "good", "--data", "nan.safetensors"]),
            vec!["nan.safetensors", "test.x", "non-finite"],
        ),
        (
            "NaN weight (inspect)",
            vec!["inspect", "nanw"],
            vec!["model.safetensors", w, "non-finite"],
        ),
        (
            "NaN weight (forecast)",
            forecast(&["--model", "nanw"]),
            vec![w, "non-finite"],
        ),
        (
            "inf in an import",
            import("inf.npy"),
            vec!["inf.npy", "non-finite", "index 77"],
        ),
        // 4. absurd sizes, refused with the memory they would need
        (
            "hidden 1e9",
            train("new", &["--set", "autoencoder.hidden=1000000000"]),
            vec!["ae.encoder.0.weight", "would need", "GB of memory"],
        ),
        (
            "horizon 1e9",
            forecast(&["--model", "good", "--horizon", "1000000000"]),
            vec!["forecast.horizon = 1000000000", "would need", "--horizon"],
        ),
        // 5. messages that name the real culprit
        (
            "data of another shape than the model's",
            forecast(&["--model", "good", "--data", "x3.safetensors"]),
            vec!["x3.safetensors", "[3]", "[2]"],
        ),
        (
            "empty .npy",
            import("empty.npy"),
            vec!["empty.npy", "no trajectories"],
        ),
        (
            "big-endian .npy",
            import("be.npy"),
            vec!["be.npy", "big-endian"],
        ),
        (
            "truncated .npy",
            import("trunc.npy"),
            vec!["trunc.npy", "truncated"],
        ),
        (
            "--out a file (train)",
            vec!["train", "--config", "c.toml", "--out", "afile"],
            vec!["afile", "is a file"],
        ),
        (
            "--out a file (forecast)",
            vec!["forecast", "--model", "good", "--out", "afile"],
            vec!["afile", "is a file"],
        ),
        (
            "newer dataset",
            train("new", &["--data", "newer.safetensors"]),
            vec!["newer.safetensors", "version 9", "newer laligan"],
        ),
        (
            "newer model",
            vec!["inspect", "newerw"],
            vec!["model.safetensors", "version 7", "newer laligan"],
        ),
        (
            "missing config",
            vec!["train", "--config", "nope.toml", "--out", "new"],
            vec!["nope.toml"],
        ),
    ];
    let before = snapshot(p);
    for (what, args, words) in &cases {
        let r = laligan(p, &[&["-q"], args.as_slice()].concat());
        refused(&r, words);
        let errors: Vec<&str> = r
            .stderr
            .lines()
            .filter(|l| l.starts_with("error:"))
            .collect();
        assert_eq!(
            errors.len(),
            1,
            "{what}: one error line expected: {}",
            r.stderr
        );
        println!("{what}: {}", errors[0]);
        if what == &"missing config" {
            assert_eq!(
                r.stderr.matches("os error").count(),
                1,
                "{what}: {}",
                r.stderr
            );
        }
        let after = snapshot(p);
        assert!(after == before, "{what}: files changed: {:?}", {
            let changed: Vec<_> = after
                .iter()
                .filter(|(k, v)| before.get(*k) != Some(v))
                .map(|(k, _)| k)
                .chain(before.keys().filter(|k| !after.contains_key(*k)))
                .collect();
            changed
        });
    }
}

#[test]
fn a_failed_or_killed_force_run_leaves_the_old_run_byte_for_byte() {
    let tmp = trained("run", &[]);
    let p = tmp.path();
    let old = snapshot(&p.join("run"));
    // A replacement that fails in its first step (finite data whose squares overflow f32): the old
    // run stays, nothing new lands beside it.
    let huge: Vec<f32> = (0..4 * 30 * 2)
        .map(|i| 1e30 * (i as f32 * 0.1).sin())
        .collect();
    write_npy(&p.join("huge.npy"), "(4, 30, 2)", &huge, false);
    ok(laligan(
        p,
        &[
            "-q",
            "data",
            "import",
            "huge.npy",
            "--dt",
            "0.1",
            "--out",
            "huge.safetensors",
        ],
    ));
    refused(
        &laligan(p, &train("run", &["--force", "--data", "huge.safetensors"])),
        &[
            "non-finite recon loss at epoch 1 batch 1",
            "the run already in run is left as it was",
        ],
    );
    // The same run into a new folder says that no checkpoint exists.
    refused(
        &laligan(p, &train("fresh", &["--data", "huge.safetensors"])),
        &[
            "non-finite recon loss",
            "no checkpoint was written to fresh",
        ],
    );
    assert!(snapshot(&p.join("run")) == old);
    // A replacement killed after its first checkpoint: the old run stays; the next run in the folder
    // removes what the killed one left.
    let mut child = spawn(
        p,
        &train("run", &["--force", "--set", "train.epochs=100000"]),
    );
    let stage = p.join(format!(".run.new-{}", child.id()));
    wait_for(&mut child, &stage.join("training_state.safetensors"));
    child.kill().unwrap();
    child.wait().unwrap();
    assert!(snapshot(&p.join("run")) == old);
    assert!(stage.exists());
    ok(laligan(p, &["-q", "inspect", "run"]));
    ok(laligan(
        p,
        &[
            &["-q"][..],
            &train("run", &["--force", "--set", "train.epochs=1"]),
        ]
        .concat(),
    ));
    assert!(!stage.exists(), "{} left behind", stage.display());
    let now = snapshot(&p.join("run"));
    assert!(now != old);
    assert!(
        now.keys().all(|k| !k.to_string_lossy().starts_with('.')),
        "{:?}",
        now.keys()
    );
}

#[test]
fn kill_9_and_ctrl_c_both_resume_to_the_weights_of_an_uninterrupted_run() {
    let epochs = "train.epochs=300";
    let tmp = trained("whole", &[epochs]);
    let p = tmp.path();
    let want = weights(&p.join("whole/model.safetensors"));

    // kill -9 once the first checkpoint exists (wherever the next save is), then --resume.
    let mut child = spawn(p, &train("k", &["--set", epochs]));
    wait_for(&mut child, &p.join("k/training_state.safetensors"));
    std::thread::sleep(Duration::from_millis(20));
    child.kill().unwrap();
    child.wait().unwrap();
    assert!(
        !p.join("k/summary.json").exists(),
        "finished before the kill"
    );
    ok(laligan(
        p,
        &[
            "-q", "train", "--config", "c.toml", "--out", "k", "--set", epochs, "--resume",
        ],
    ));
    assert!(
        weights(&p.join("k/model.safetensors")) == want,
        "kill -9 + resume differs"
    );
    let names: Vec<String> = std::fs::read_dir(p.join("k"))
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    assert!(names.iter().all(|n| !n.starts_with('.')), "{names:?}");

    // Ctrl-C: a checkpoint, exit 130, and a resume command (with the --set overrides) that works.
    let mut child = spawn(p, &train("i", &["--set", epochs]));
    wait_for(&mut child, &p.join("i/training_state.safetensors"));
    let st = Command::new("kill")
        .args(["-INT", &child.id().to_string()])
        .status()
        .unwrap();
    assert!(st.success());
    let out = child.wait_with_output().unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(130), "{stderr}");
    let hint = stderr
        .lines()
        .find_map(|l| l.split_once("continue with: ").map(|(_, c)| c.to_string()))
        .unwrap_or_else(|| panic!("no resume command: {stderr}"));
    assert_eq!(
        hint,
        format!("laligan train --config c.toml --out i --set '{epochs}' --resume")
    );
    let args: Vec<String> = hint
        .split(' ')
        .skip(1)
        .map(|a| a.trim_matches('\'').to_string())
        .collect();
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    ok(laligan(p, &args));
    assert!(
        weights(&p.join("i/model.safetensors")) == want,
        "Ctrl-C + resume differs"
    );
}
