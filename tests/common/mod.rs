//! Helpers shared by the integration tests: run the binary, temporary folders.
#![allow(dead_code)]

use std::path::Path;
use std::process::Command;

/// Output of one run of the binary.
pub struct Run {
    pub code: i32,
    pub stdout: String,
    pub stderr: String,
}

/// Runs `laligan` with `args` in `dir`.
pub fn laligan(dir: &Path, args: &[&str]) -> Run {
    let out = Command::new(env!("CARGO_BIN_EXE_laligan"))
        .args(args)
        .current_dir(dir)
        .env("RAYON_NUM_THREADS", "1")
        .output()
        .expect("run laligan");
    Run {
        code: out.status.code().unwrap_or(-1),
        stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
    }
}

/// Asserts a clean refusal: non-zero exit, no panic, and the message mentions every `needles`.
pub fn refused(r: &Run, needles: &[&str]) {
    assert_ne!(r.code, 0, "expected failure; stderr: {}", r.stderr);
    assert!(!r.stderr.contains("panicked"), "panic: {}", r.stderr);
    for n in needles {
        assert!(r.stderr.contains(n), "message lacks `{n}`: {}", r.stderr);
    }
}

/// A tiny pendulum experiment: 4 training trajectories of 40 steps, a 16-wide autoencoder, 2 epochs,
/// a checkpoint after each (`tests/fixtures/tiny-pendulum.toml`, which the Python tests use too).
pub const TINY: &str = include_str!("../fixtures/tiny-pendulum.toml");

/// Asserts success (exit 0, no panic) and passes the run on.
pub fn ok(r: Run) -> Run {
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert!(!r.stderr.contains("panicked"), "{}", r.stderr);
    r
}

/// Writes a float32 `.npy` array with the given header shape text (e.g. `(4, 2, )`), little-endian
/// unless `big`.
pub fn write_npy(path: &Path, shape: &str, values: &[f32], big: bool) {
    let descr = if big { ">f4" } else { "<f4" };
    let mut h = format!("{{'descr': '{descr}', 'fortran_order': False, 'shape': {shape}, }}");
    while (10 + h.len() + 1) % 64 != 0 {
        h.push(' ');
    }
    h.push('\n');
    let mut out = b"\x93NUMPY\x01\x00".to_vec();
    out.extend((h.len() as u16).to_le_bytes());
    out.extend(h.as_bytes());
    for v in values {
        out.extend(if big {
            v.to_be_bytes()
        } else {
            v.to_le_bytes()
        });
    }
    std::fs::write(path, out).unwrap();
}
