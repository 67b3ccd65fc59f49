//! Checking values when a config is loaded, before any work: each section says what its keys allow, and
//! every failure names the key, the value and the range.

use crate::error::Result;
use std::fmt::Display;

/// A config section whose values can be checked.
pub trait Validate {
    /// Records in `c` every value out of its range (keys relative to the section `c` is in).
    fn validate(&self, c: &mut Checker);
}

/// Collects validation failures, each naming its key (`section.key`).
#[derive(Default)]
pub struct Checker {
    section: String,
    errors: Vec<String>,
}

impl Checker {
    /// Names the section the following keys belong to.
    pub fn section(&mut self, name: &str) -> &mut Self {
        self.section = name.to_string();
        self
    }

    /// Checks `v` of section `name` (`v.validate` with this checker in that section).
    pub fn check(&mut self, name: &str, v: &impl Validate) {
        self.section(name);
        v.validate(self);
    }

    fn key(&self, key: &str) -> String {
        if self.section.is_empty() {
            key.to_string()
        } else {
            format!("{}.{key}", self.section)
        }
    }

    /// Records a failure about `key`.
    pub fn fail(&mut self, key: &str, msg: impl Display) {
        let k = self.key(key);
        self.errors.push(format!("{k}: {msg}"));
    }

    /// A finite number > 0.
    pub fn positive(&mut self, key: &str, v: f64) {
        if !(v > 0.0 && v.is_finite()) {
            self.fail(key, format!("{v}, expected a finite number > 0"));
        }
    }

    /// A finite number ≥ 0.
    pub fn non_negative(&mut self, key: &str, v: f64) {
        if !(v >= 0.0 && v.is_finite()) {
            self.fail(key, format!("{v}, expected a finite number ≥ 0"));
        }
    }

    /// A number in `[lo, hi]`.
    pub fn within(&mut self, key: &str, v: f64, lo: f64, hi: f64) {
        if !(lo..=hi).contains(&v) {
            self.fail(key, format!("{v}, expected a number in [{lo}, {hi}]"));
        }
    }

    /// A count ≥ `min`.
    pub fn at_least(&mut self, key: &str, v: usize, min: usize) {
        if v < min {
            self.fail(key, format!("{v}, expected at least {min}"));
        }
    }

    /// Ok, or one error listing every failure, for `what` (e.g. the config file).
    pub fn result(self, what: &str) -> Result<()> {
        if self.errors.is_empty() {
            Ok(())
        } else {
            Err(config_err!("{what}: {}", self.errors.join("; ")))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    struct S {
        lr: f64,
        epochs: usize,
    }

    impl Validate for S {
        fn validate(&self, c: &mut Checker) {
            c.non_negative("lr", self.lr);
            c.at_least("epochs", self.epochs, 1);
        }
    }

    #[test]
    fn every_failure_names_its_key_value_and_range() {
        let mut c = Checker::default();
        c.check(
            "train",
            &S {
                lr: f64::NAN,
                epochs: 0,
            },
        );
        c.section("lie").positive("sigma", -1.0);
        c.within("threshold", 2.0, 0.0, 1.0);
        let e = c.result("cfg.toml").unwrap_err().to_string();
        for want in [
            "cfg.toml: ",
            "train.lr: NaN, expected a finite number ≥ 0",
            "train.epochs: 0, expected at least 1",
            "lie.sigma: -1, expected a finite number > 0",
            "lie.threshold: 2, expected a number in [0, 1]",
        ] {
            assert!(e.contains(want), "{e} lacks {want}");
        }
        let mut ok = Checker::default();
        ok.check(
            "train",
            &S {
                lr: 1e-3,
                epochs: 3,
            },
        );
        assert!(ok.result("x").is_ok());
    }
}
