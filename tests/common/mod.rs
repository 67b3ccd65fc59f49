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
