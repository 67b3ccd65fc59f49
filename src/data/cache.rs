//! The dataset cache: a config names a recipe; its data is generated once into a git-ignored folder
//! (`datasets/.cache`, or `$LALIGAN_CACHE`) under a name that includes a hash of the resolved recipe, so
//! a changed recipe never reads stale data.

use crate::data::{systems, Recipe};
use crate::error::{Error, Result};
use std::path::PathBuf;

/// The cache folder.
pub fn dir() -> PathBuf {
    std::env::var_os("LALIGAN_CACHE")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from("datasets/.cache"))
}

/// The cached file of `recipe`, generated first if missing.
pub fn ensure(recipe: &Recipe) -> Result<PathBuf> {
    let text = recipe.to_toml()?;
    let hash = crate::rng::fnv1a(text.as_bytes());
    let dir = dir();
    let path = dir.join(format!("{}-{hash:016x}.safetensors", recipe.name()));
    if !path.exists() {
        std::fs::create_dir_all(&dir).map_err(|e| Error::io(&dir, e))?;
        tracing::info!(
            "generating {} into the cache: {}",
            recipe.name(),
            path.display()
        );
        systems::generate(recipe, &path, false)?;
    }
    Ok(path)
}
