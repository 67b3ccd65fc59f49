//! The `[data]` section of an experiment: which dataset (a recipe, or a dataset file of the user's), and
//! how training windows are cut from it.

use super::{cache, Dataset, Recipe};
use crate::error::{Error, Result};
use serde::{Deserialize, Serialize};
use std::io::Read;
use std::path::{Path, PathBuf};

/// The recipe used when a config names neither a recipe nor a file.
pub const DEFAULT_RECIPE: &str = "pendulum";

/// Which data an experiment uses.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields, default)]
pub struct DataConfig {
    /// Built-in recipe name or path to a recipe file; generated into the cache when missing (`""` with
    /// no `file`: the pendulum).
    pub recipe: String,
    /// A dataset file (`laligan data generate` or `laligan data import` output) instead of a recipe; a
    /// relative path is taken from the config file's folder.
    pub file: String,
    /// The sha256 of `file`, recorded when a run trains on it; a later use refuses a file that changed.
    pub sha256: String,
    /// Overrides of recipe keys, as `--set` would give them (e.g. `["pendulum.n_train=50"]`).
    pub recipe_set: Vec<String>,
    /// Use the first N training trajectories (0 = all).
    pub n_train: usize,
    /// Every k-th window start / sample.
    pub stride: usize,
    /// Observations per training window.
    pub window: usize,
    /// Steps between consecutive window elements.
    pub gap: usize,
    /// Steps left unused at the end of each trajectory (the reference's window loops stop `gap` steps
    /// early: `tail = gap` reproduces its window counts).
    pub tail: usize,
    /// Steps left out at the start of each training trajectory (a transient): training, the fits of
    /// equations and of every forecast method, and anything else that reads the training split start
    /// after them (0 = none; validation and test are untouched).
    pub skip: usize,
}

impl Default for DataConfig {
    fn default() -> Self {
        Self {
            recipe: String::new(),
            file: String::new(),
            sha256: String::new(),
            recipe_set: Vec::new(),
            n_train: 0,
            stride: 1,
            window: 2,
            gap: 1,
            tail: 0,
            skip: 0,
        }
    }
}

impl DataConfig {
    /// The dataset file named by `file`, if any (an error when a recipe is named too).
    pub fn data_file(&self) -> Result<Option<&Path>> {
        match (self.recipe.is_empty(), self.file.is_empty()) {
            (_, true) => Ok(None),
            (true, false) => Ok(Some(Path::new(&self.file))),
            (false, false) => Err(config_err!(
                "[data] names both recipe = {:?} and file = {:?}: give one or the other",
                self.recipe,
                self.file
            )),
        }
    }

    /// The recipe with its overrides (an error when the data is a file).
    pub fn resolve_recipe(&self) -> Result<Recipe> {
        if let Some(f) = self.data_file()? {
            return Err(config_err!(
                "[data] uses the dataset file {}, not a recipe",
                f.display()
            ));
        }
        let name = if self.recipe.is_empty() {
            DEFAULT_RECIPE
        } else {
            &self.recipe
        };
        Recipe::resolve(name, &self.recipe_set)
    }

    /// The dataset: the file (checked against `sha256` when recorded), or the recipe's, generated into
    /// the cache if missing.
    pub fn open(&self) -> Result<Dataset> {
        self.open_whole()?.skip_train(self.skip)
    }

    /// The dataset `file` when one is given (`--data`), else [`Self::open`]'s; `skip` applies either way.
    pub fn open_or(&self, file: Option<&Path>) -> Result<Dataset> {
        match file {
            Some(f) => Dataset::open(f)?.skip_train(self.skip),
            None => self.open(),
        }
    }

    /// The shape of one observation (the trailing dimensions of the training split), read without
    /// trimming anything.
    pub fn obs_shape(&self) -> Result<Vec<usize>> {
        Ok(self.open_whole()?.split("train")?.shape[2..].to_vec())
    }

    /// [`Self::open`] without `skip` applied.
    fn open_whole(&self) -> Result<Dataset> {
        match self.data_file()? {
            Some(f) => {
                if !self.sha256.is_empty() {
                    let now = sha256_file(f)?;
                    if now != self.sha256 {
                        return Err(data_err!(
                            "{}: the dataset file changed since the run was trained on it (sha256 {now}, \
                             recorded {}); restore it, or train again on the new file",
                            f.display(),
                            self.sha256
                        ));
                    }
                }
                Dataset::open(f)
            }
            None => Dataset::open(&cache::ensure(&self.resolve_recipe()?)?),
        }
    }

    /// Uses the dataset file `path` instead of any recipe (`--data`), as an absolute path.
    pub fn use_file(&mut self, path: &Path) -> Result<()> {
        self.file = absolute(path)?.display().to_string();
        self.recipe.clear();
        self.recipe_set.clear();
        self.sha256.clear();
        Ok(())
    }

    /// Makes a relative `file` absolute, taken from the folder `base` (the config file's).
    pub fn anchor(&mut self, base: &Path) -> Result<()> {
        if !self.file.is_empty() && Path::new(&self.file).is_relative() {
            self.file = absolute(&base.join(&self.file))?.display().to_string();
        }
        Ok(())
    }

    /// Records the sha256 of the dataset file (when the data is a file and none is recorded yet).
    pub fn pin(&mut self) -> Result<()> {
        if let Some(f) = self.data_file()? {
            if self.sha256.is_empty() {
                self.sha256 = sha256_file(f)?;
            }
        }
        Ok(())
    }

    /// A short description for logs and reports: the recipe, or the file.
    pub fn describe(&self) -> String {
        match self.data_file() {
            Ok(Some(f)) => f.display().to_string(),
            _ if self.recipe.is_empty() => DEFAULT_RECIPE.to_string(),
            _ => self.recipe.clone(),
        }
    }
}

impl crate::config::Validate for DataConfig {
    fn validate(&self, c: &mut crate::config::Checker) {
        if !self.recipe.is_empty() && !self.file.is_empty() {
            c.fail("file", "give either recipe or file, not both");
        }
        c.at_least("stride", self.stride, 1);
        c.at_least("window", self.window, 1);
        c.at_least("gap", self.gap, 1);
    }
}

/// `path` made absolute against the working directory (not resolving links).
fn absolute(path: &Path) -> Result<PathBuf> {
    std::path::absolute(path).map_err(|e| Error::io(path, e))
}

/// The hex sha256 of a file's bytes.
pub fn sha256_file(path: &Path) -> Result<String> {
    use sha2::Digest;
    let mut f = std::fs::File::open(path).map_err(|e| Error::io(path, e))?;
    let mut h = sha2::Sha256::new();
    let mut buf = vec![0u8; 1 << 20];
    loop {
        let n = f.read(&mut buf).map_err(|e| Error::io(path, e))?;
        if n == 0 {
            break;
        }
        h.update(&buf[..n]);
    }
    Ok(h.finalize().iter().map(|b| format!("{b:02x}")).collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_file_or_a_recipe_and_a_changed_file_is_refused() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("d.bin");
        std::fs::write(&path, b"abc").unwrap();
        assert_eq!(
            sha256_file(&path).unwrap(),
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
        );
        let mut cfg = DataConfig {
            recipe: "pendulum".into(),
            file: "d.bin".into(),
            ..Default::default()
        };
        assert!(cfg
            .data_file()
            .unwrap_err()
            .to_string()
            .contains("one or the other"));
        cfg.recipe.clear();
        cfg.anchor(dir.path()).unwrap();
        assert_eq!(Path::new(&cfg.file), path);
        cfg.pin().unwrap();
        assert_eq!(cfg.sha256.len(), 64);
        std::fs::write(&path, b"abd").unwrap();
        let e = cfg.open().err().unwrap().to_string();
        assert!(e.contains("changed since") && e.contains("d.bin"), "{e}");
        let mut other = DataConfig::default();
        other.use_file(&path).unwrap();
        assert!(other.recipe.is_empty() && Path::new(&other.file).is_absolute());
    }
}
