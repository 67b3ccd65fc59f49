//! Data: dataset recipes, the systems that generate them, the file format, imports, inspection and
//! training windows (views over the stored arrays).

pub mod cache;
mod config;
pub mod dataset;
pub mod file;
pub mod import;
pub mod inspect;
pub mod npy;
pub mod pca;
pub mod recipe;
pub mod systems;
pub mod windows;

pub use config::{sha256_file, DataConfig};
pub use dataset::{Dataset, Layout, Split};
pub use recipe::Recipe;
pub use windows::WindowIndex;

/// Generates the dataset of a recipe (a built-in name or a recipe file, with `overrides`) and opens it;
/// the file is written to the temporary folder and removed once open.
pub fn generate_in_memory(recipe: &str, overrides: &[String]) -> crate::Result<Dataset> {
    use std::sync::atomic::{AtomicUsize, Ordering};
    static COUNT: AtomicUsize = AtomicUsize::new(0);
    let recipe = Recipe::resolve(recipe, overrides)?;
    let path = std::env::temp_dir().join(format!(
        "laligan-{}-{}-{}.safetensors",
        recipe.name(),
        std::process::id(),
        COUNT.fetch_add(1, Ordering::Relaxed)
    ));
    let opened = systems::generate(&recipe, &path, true).and_then(|_| Dataset::open(&path));
    let _ = std::fs::remove_file(&path);
    opened
}
