//! laligan: Latent LieGAN — latent-space symmetry discovery, symmetry-aware equation discovery and
//! long-horizon forecasting.
//!
//! Data flows one way: [`data`] (systems, files, windows) → `nn`/`lie` → `train` → `sindy` → `forecast`;
//! beside them [`config`], [`plot`] and small utilities.

#[macro_use]
pub mod error;
pub mod checkpoint;
pub mod config;
pub mod data;
pub mod discover;
pub mod experiment;
pub mod forecast;
pub mod io;
pub mod lie;
pub mod metrics;
pub mod nn;
pub mod ode;
pub mod pipeline;
pub mod plot;
pub mod progress;
pub mod rng;
pub mod sindy;
#[doc(hidden)]
pub mod testing;
pub mod threads;
pub mod train;

pub use error::{Error, Result};
