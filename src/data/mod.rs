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
