//! Checkpoints: named f32 tensors and string metadata in one safetensors file, written under a
//! temporary name and renamed into place, so an interrupted write never replaces a good checkpoint.

use crate::data::file::{SafetensorsWriter, TensorFile, TensorSpec};
use crate::error::Result;
use candle_core::{DType, Device, Tensor};
use std::collections::BTreeMap;
use std::path::Path;

/// Format name of model files.
pub const MODEL_FORMAT: &str = "laligan-model";
/// Format name of training-state files.
pub const STATE_FORMAT: &str = "laligan-training-state";
/// Version of both formats.
pub const VERSION: &str = "1";

/// Writes `tensors` (any float dtype, stored as f32) with `metadata` (plus `format`/`version`) to `path`,
/// replacing it atomically. Refuses non-finite values (the old file stays).
pub fn save(
    path: &Path,
    format: &str,
    tensors: &[(String, Tensor)],
    metadata: &BTreeMap<String, String>,
) -> Result<()> {
    let mut meta = metadata.clone();
    meta.insert("format".into(), format.into());
    meta.insert("version".into(), VERSION.into());
    let specs: Vec<TensorSpec> = tensors
        .iter()
        .map(|(n, t)| TensorSpec::new(n.clone(), t.dims()))
        .collect();
    let mut w = SafetensorsWriter::create(path, true, &specs, &meta)?;
    for (name, t) in tensors {
        let v: Vec<f32> = t.to_dtype(DType::F32)?.flatten_all()?.to_vec1()?;
        w.write(name, 0, &v)?;
    }
    w.finish()
}

/// A checkpoint opened for reading.
pub struct Checkpoint {
    file: TensorFile,
}

impl Checkpoint {
    /// Opens `path`, checking its format marker and version.
    pub fn open(path: &Path, format: &str) -> Result<Self> {
        let file = TensorFile::open(path)?;
        let meta = file.metadata();
        if meta.get("format").map(String::as_str) != Some(format) {
            return Err(data_err!(
                "{}: not a {format} file (metadata format = {:?})",
                path.display(),
                meta.get("format")
            ));
        }
        if meta.get("version").map(String::as_str) != Some(VERSION) {
            return Err(data_err!(
                "{}: {format} version {:?}, this build reads version {VERSION}",
                path.display(),
                meta.get("version")
            ));
        }
        Ok(Self { file })
    }

    /// The `__metadata__` map.
    pub fn metadata(&self) -> &BTreeMap<String, String> {
        self.file.metadata()
    }

    /// A metadata value, or an error naming the file and the key.
    pub fn meta(&self, key: &str) -> Result<&str> {
        self.file
            .metadata()
            .get(key)
            .map(String::as_str)
            .ok_or_else(|| data_err!("{}: metadata has no `{key}`", self.file.path().display()))
    }

    /// A metadata value parsed as `T`.
    pub fn meta_parse<T: std::str::FromStr>(&self, key: &str) -> Result<T> {
        let v = self.meta(key)?;
        v.parse().map_err(|_| {
            data_err!(
                "{}: metadata `{key}` = {v:?} is not a valid value",
                self.file.path().display()
            )
        })
    }

    /// Tensor `name` (f32, CPU), if present.
    pub fn tensor(&self, name: &str) -> Option<Tensor> {
        let shape = self.file.shape(name).ok()?.to_vec();
        let data = self.file.data(name).ok()?;
        Tensor::from_slice(data, shape, &Device::Cpu).ok()
    }

    /// The file's path.
    pub fn path(&self) -> &Path {
        self.file.path()
    }

    /// Turns a loader's message into an error naming this file.
    pub fn error(&self, msg: String) -> crate::Error {
        data_err!("{}: {msg}", self.file.path().display())
    }
}
