//! Model folders: a trained model laid out like a hub model repository (`config.toml`,
//! `model.safetensors` with the config in its metadata, `README.md`, optionally `equations/` and
//! `sindy-ae/`). One spec names a model anywhere: a local folder (a `laligan train` run folder is one),
//! a single `.safetensors` file, or `hf:owner/name[@revision]` in the local hub cache (offline).

use super::model::MODEL_FILE;
use crate::checkpoint::{Checkpoint, MODEL_FORMAT};
use crate::error::Result;
use std::path::{Path, PathBuf};

/// A model found from a spec.
#[derive(Clone, Debug)]
pub struct ModelFolder {
    /// The spec as given.
    pub spec: String,
    /// The folder holding the model's files (none for a single `.safetensors` file).
    pub dir: Option<PathBuf>,
    /// The weights file.
    pub weights: PathBuf,
}

impl ModelFolder {
    /// Finds the model `spec` names: `hf:owner/name[@revision]`, a `.safetensors` file or a folder.
    pub fn resolve(spec: &str) -> Result<Self> {
        if let Some(name) = spec.strip_prefix("hf:") {
            let dir = hub_snapshot(name)?;
            return Self::in_dir(spec, dir);
        }
        let path = Path::new(spec);
        if path.is_file() {
            return Ok(Self {
                spec: spec.to_string(),
                dir: None,
                weights: path.to_path_buf(),
            });
        }
        if path.is_dir() {
            return Self::in_dir(spec, path.to_path_buf());
        }
        Err(config_err!(
            "model {spec}: no such folder or file (a model is a folder with {MODEL_FILE} and \
             config.toml, a .safetensors file, or hf:owner/name[@revision] in the local hub cache)"
        ))
    }

    fn in_dir(spec: &str, dir: PathBuf) -> Result<Self> {
        let weights = dir.join(MODEL_FILE);
        if !weights.exists() {
            return Err(config_err!(
                "{}: no trained model (expected {} from `laligan train --out {}`)",
                dir.display(),
                weights.display(),
                dir.display()
            ));
        }
        Ok(Self {
            spec: spec.to_string(),
            dir: Some(dir),
            weights,
        })
    }

    /// The model's config: `config.toml` of its folder, else the `config` of the weights' metadata;
    /// with the path or name it came from, for errors.
    pub fn config_text(&self) -> Result<(String, String)> {
        if let Some(p) = self.dir.as_ref().map(|d| d.join("config.toml")) {
            if p.exists() {
                return Ok((crate::io::read_text(&p)?, p.display().to_string()));
            }
        }
        let ck = self.checkpoint()?;
        let text = ck.meta("config")?.to_string();
        Ok((text, format!("the config in {}", self.weights.display())))
    }

    /// The weights, read and checked (format, version, dtypes, finite values).
    pub fn checkpoint(&self) -> Result<Checkpoint> {
        Checkpoint::open(&self.weights, MODEL_FORMAT)
    }

    /// A file or folder beside the weights (`equations`, `sindy-ae`, `README.md`), when it exists.
    pub fn part(&self, name: &str) -> Option<PathBuf> {
        self.dir
            .as_ref()
            .map(|d| d.join(name))
            .filter(|p| p.exists())
    }
}

/// The local hub cache: `HF_HUB_CACHE`, else `$HF_HOME/hub`, else `~/.cache/huggingface/hub`.
pub fn hub_cache() -> PathBuf {
    if let Some(p) = std::env::var_os("HF_HUB_CACHE").filter(|p| !p.is_empty()) {
        return PathBuf::from(p);
    }
    if let Some(p) = std::env::var_os("HF_HOME").filter(|p| !p.is_empty()) {
        return PathBuf::from(p).join("hub");
    }
    hf_hub::Cache::from_env().path().clone()
}

/// The snapshot folder of `owner/name[@revision]` in the local hub cache: the revision is a branch or
/// tag under `refs/` (default `main`) or a commit hash under `snapshots/`.
fn hub_snapshot(name: &str) -> Result<PathBuf> {
    let (id, rev) = match name.split_once('@') {
        Some((id, rev)) => (id, rev),
        None => (name, "main"),
    };
    if id.split('/').count() != 2 || id.split('/').any(str::is_empty) {
        return Err(config_err!(
            "hf:{name}: expected hf:owner/name or hf:owner/name@revision"
        ));
    }
    let cache_dir = hub_cache();
    let repo =
        hf_hub::Repo::with_revision(id.to_string(), hf_hub::RepoType::Model, rev.to_string());
    let repo_dir = cache_dir.join(repo.folder_name());
    let cached = hf_hub::Cache::new(cache_dir.clone()).repo(repo);
    // A branch or tag names a commit in refs/ (read with any trailing newline trimmed); else the
    // revision is the commit itself.
    let commit = std::fs::read_to_string(repo_dir.join("refs").join(rev))
        .map(|c| c.trim().to_string())
        .unwrap_or_else(|_| rev.to_string());
    let snapshot = cached.pointer_path(&commit);
    if snapshot.join(MODEL_FILE).exists() {
        return Ok(snapshot);
    }
    Err(config_err!(
        "hf:{name}: not in the local hub cache (looked for {} in {}; set HF_HUB_CACHE or HF_HOME to \
         another cache); fill it with `huggingface-cli download {id}{}`",
        MODEL_FILE,
        snapshot.display(),
        if rev == "main" {
            String::new()
        } else {
            format!(" --revision {rev}")
        }
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A hub cache laid out as the hub client writes it: refs/main names a commit whose snapshot links
    /// into blobs/.
    #[test]
    fn hub_names_resolve_by_branch_and_by_commit_and_a_missing_one_says_where_it_looked() {
        let dir = tempfile::tempdir().unwrap();
        let commit = "0123456789abcdef0123456789abcdef01234567";
        let repo = dir.path().join("models--acme--pend");
        std::fs::create_dir_all(repo.join("refs")).unwrap();
        std::fs::create_dir_all(repo.join("blobs")).unwrap();
        std::fs::create_dir_all(repo.join("snapshots").join(commit)).unwrap();
        std::fs::write(repo.join("refs/main"), format!("{commit}\n")).unwrap();
        std::fs::write(repo.join("blobs/abc"), b"weights").unwrap();
        std::os::unix::fs::symlink(
            "../../blobs/abc",
            repo.join("snapshots").join(commit).join(MODEL_FILE),
        )
        .unwrap();
        // Only this test reads HF_HUB_CACHE in this process.
        std::env::set_var("HF_HUB_CACHE", dir.path());
        let snap = repo.join("snapshots").join(commit);
        assert_eq!(hub_snapshot("acme/pend").unwrap(), snap);
        assert_eq!(hub_snapshot(&format!("acme/pend@{commit}")).unwrap(), snap);
        let m = ModelFolder::resolve("hf:acme/pend").unwrap();
        assert_eq!(std::fs::read(&m.weights).unwrap(), b"weights");
        let e = hub_snapshot("acme/absent").unwrap_err().to_string();
        assert!(
            e.contains("models--acme--absent")
                && e.contains("huggingface-cli download acme/absent"),
            "{e}"
        );
        assert!(hub_snapshot("acme").is_err());
    }
}
