//! The library's error type: every message names the file, key or tensor involved.

use std::path::{Path, PathBuf};

/// Errors of the library.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// An I/O error on a named path. The OS error is part of the message, not a `source`, so that a
    /// report of the whole error chain prints it once.
    #[error("{}: {err}", path.display())]
    Io { path: PathBuf, err: std::io::Error },
    /// A configuration or recipe that cannot be used.
    #[error("{0}")]
    Config(String),
    /// Data that cannot be read or used.
    #[error("{0}")]
    Data(String),
    /// An error from the tensor library.
    #[error(transparent)]
    Candle(#[from] candle_core::Error),
}

/// The library's result type.
pub type Result<T> = std::result::Result<T, Error>;

impl Error {
    /// Wraps an I/O error with the path it concerns.
    pub fn io(path: impl AsRef<Path>, source: std::io::Error) -> Self {
        Error::Io {
            path: path.as_ref().to_path_buf(),
            err: source,
        }
    }
}

/// Shorthand for a [`Error::Config`] built with `format!`.
#[macro_export]
macro_rules! config_err {
    ($($t:tt)*) => { $crate::error::Error::Config(format!($($t)*)) };
}

/// Shorthand for a [`Error::Data`] built with `format!`.
#[macro_export]
macro_rules! data_err {
    ($($t:tt)*) => { $crate::error::Error::Data(format!($($t)*)) };
}
