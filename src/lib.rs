//! laligan: Latent LieGAN — latent-space symmetry discovery, symmetry-aware equation discovery and
//! long-horizon forecasting.
//!
//! Dependencies point one way, lowest first: shared ground ([`error`], [`rng`], [`io`], [`memory`],
//! [`device`], [`config`] =
//! the strict-TOML machinery, [`ode`], [`plot`]) → [`data`] (systems, files, windows) → [`nn`] and
//! [`lie`] → [`sindy`] (a pure SINDy library) → [`train`] (the joint LaLiGAN loop) → the stages that
//! combine them ([`discover`]: equations on a dataset, on a trained encoder, the SINDy autoencoder;
//! [`forecast`]) → [`experiment`] (the aggregate config, one section per stage) → [`pipeline`]
//! (`laligan run`, commands on folders).

#[macro_use]
pub mod error;
pub mod checkpoint;
pub mod config;
pub mod convert;
pub mod data;
pub mod device;
pub mod discover;
pub mod experiment;
pub mod forecast;
pub mod host;
pub mod io;
pub mod lie;
pub mod memory;
pub mod metrics;
pub mod models;
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
