//! Checkpoints: named tensors and string metadata in one safetensors file, written under a temporary
//! name and renamed into place, so an interrupted write never replaces a good checkpoint. Stored as
//! f32, f16 or bf16; read back as f32, each tensor checked for finite values.

use crate::error::Result;
use candle_core::{DType, Device, Tensor};
use safetensors::tensor::Dtype;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

/// Format name of model files.
pub const MODEL_FORMAT: &str = "laligan-model";
/// Format name of training-state files.
pub const STATE_FORMAT: &str = "laligan-training-state";
/// Version of both formats.
pub const VERSION: &str = "1";

/// Refuses a file of `format` whose metadata `version` is missing, unreadable or newer than the
/// `current` version this build writes (and reads), naming the file.
pub fn check_version(
    path: &Path,
    format: &str,
    version: Option<&String>,
    current: &str,
) -> Result<()> {
    let found = version.map(String::as_str).unwrap_or("");
    let (have, reads) = (found.parse::<u32>(), current.parse::<u32>().unwrap_or(0));
    match have {
        Ok(v) if v <= reads => Ok(()),
        Ok(_) => Err(data_err!(
            "{}: {format} version {found}, this build reads versions up to {current} (written by a \
             newer laligan: upgrade to read it)",
            path.display()
        )),
        Err(_) => Err(data_err!(
            "{}: {format} version {found:?} in the metadata, expected a number up to {current}",
            path.display()
        )),
    }
}

/// How tensors are stored.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Storage {
    #[default]
    F32,
    F16,
    Bf16,
}

impl Storage {
    fn st_dtype(self) -> Dtype {
        match self {
            Storage::F32 => Dtype::F32,
            Storage::F16 => Dtype::F16,
            Storage::Bf16 => Dtype::BF16,
        }
    }

    /// The name used on the command line and in model cards.
    pub fn name(self) -> &'static str {
        match self {
            Storage::F32 => "f32",
            Storage::F16 => "f16",
            Storage::Bf16 => "bf16",
        }
    }
}

impl std::str::FromStr for Storage {
    type Err = String;
    fn from_str(s: &str) -> std::result::Result<Self, String> {
        match s {
            "f32" => Ok(Storage::F32),
            "f16" => Ok(Storage::F16),
            "bf16" => Ok(Storage::Bf16),
            other => Err(format!("dtype {other:?}: expected f32, f16 or bf16")),
        }
    }
}

/// Writes `tensors` (any float dtype, stored as f32) with `metadata` (plus `format`/`version`) to
/// `path`, replacing it atomically. Refuses non-finite values (the old file stays).
pub fn save(
    path: &Path,
    format: &str,
    tensors: &[(String, Tensor)],
    metadata: &BTreeMap<String, String>,
) -> Result<()> {
    save_as(path, format, tensors, metadata, Storage::F32)
}

/// [`save`] with the tensors stored as `storage`.
pub fn save_as(
    path: &Path,
    format: &str,
    tensors: &[(String, Tensor)],
    metadata: &BTreeMap<String, String>,
    storage: Storage,
) -> Result<()> {
    let mut meta = metadata.clone();
    meta.insert("format".into(), format.into());
    meta.insert("version".into(), VERSION.into());
    let mut buffers = Vec::with_capacity(tensors.len());
    for (name, t) in tensors {
        let f = t.to_dtype(DType::F32)?.flatten_all()?;
        let values: Vec<f32> = f.to_vec1()?;
        if values.iter().any(|v| !v.is_finite()) {
            return Err(data_err!(
                "{}: tensor {name} holds non-finite values; not written",
                path.display()
            ));
        }
        let bytes: Vec<u8> = match storage {
            Storage::F32 => values.iter().flat_map(|v| v.to_le_bytes()).collect(),
            Storage::F16 => values
                .iter()
                .flat_map(|&v| half::f16::from_f32(v).to_le_bytes())
                .collect(),
            Storage::Bf16 => values
                .iter()
                .flat_map(|&v| half::bf16::from_f32(v).to_le_bytes())
                .collect(),
        };
        buffers.push((name.clone(), t.dims().to_vec(), bytes));
    }
    let bytes = serialize(&buffers, storage.st_dtype(), &meta);
    crate::io::write_atomic(path, &bytes)
}

/// The safetensors bytes of `(name, shape, little-endian data)` tensors of one dtype, with a header whose
/// keys are sorted, so the same tensors and metadata always give the same bytes.
fn serialize(
    tensors: &[(String, Vec<usize>, Vec<u8>)],
    dtype: Dtype,
    metadata: &BTreeMap<String, String>,
) -> Vec<u8> {
    let mut header = serde_json::Map::new();
    header.insert("__metadata__".into(), serde_json::json!(metadata));
    let mut offset = 0;
    for (name, shape, data) in tensors {
        header.insert(
            name.clone(),
            serde_json::json!({"dtype": format!("{dtype:?}"), "shape": shape, "data_offsets": [offset, offset + data.len()]}),
        );
        offset += data.len();
    }
    let mut json = serde_json::Value::Object(header).to_string().into_bytes();
    while !json.len().is_multiple_of(8) {
        json.push(b' ');
    }
    let mut out = Vec::with_capacity(8 + json.len() + offset);
    out.extend((json.len() as u64).to_le_bytes());
    out.extend(json);
    for (_, _, data) in tensors {
        out.extend(data);
    }
    out
}

/// A checkpoint read into memory, every tensor as f32.
pub struct Checkpoint {
    path: PathBuf,
    metadata: BTreeMap<String, String>,
    tensors: BTreeMap<String, (Vec<usize>, Vec<f32>)>,
    storage: BTreeMap<String, Dtype>,
}

impl Checkpoint {
    /// Reads `path`: a safetensors file of this format (`format`) and a version this build reads, with
    /// f32, f16 or bf16 tensors, all finite. Every refusal names the file (and the tensor).
    pub fn open(path: &Path, format: &str) -> Result<Self> {
        let bytes = std::fs::read(path).map_err(|e| crate::Error::io(path, e))?;
        let st = safetensors::SafeTensors::deserialize(&bytes).map_err(|e| {
            data_err!(
                "{}: not a readable safetensors file ({e}; truncated or corrupt?)",
                path.display()
            )
        })?;
        let (_, header) = safetensors::SafeTensors::read_metadata(&bytes)
            .map_err(|e| data_err!("{}: {e}", path.display()))?;
        let metadata: BTreeMap<String, String> = header
            .metadata()
            .as_ref()
            .map(|m| m.iter().map(|(k, v)| (k.clone(), v.clone())).collect())
            .unwrap_or_default();
        match metadata.get("format").map(String::as_str) {
            Some(f) if f == format => {}
            other => {
                return Err(data_err!(
                    "{}: not a {format} file (its metadata format is {}); it was not written by laligan",
                    path.display(),
                    other.map_or("missing".to_string(), |f| format!("{f:?}"))
                ))
            }
        }
        check_version(path, format, metadata.get("version"), VERSION)?;
        let mut tensors = BTreeMap::new();
        let mut storage = BTreeMap::new();
        for (name, view) in st.tensors() {
            let dtype = match view.dtype() {
                Dtype::F32 => DType::F32,
                Dtype::F16 => DType::F16,
                Dtype::BF16 => DType::BF16,
                other => {
                    return Err(data_err!(
                        "{}: tensor {name} has dtype {other:?}; expected F32, F16 or BF16",
                        path.display()
                    ))
                }
            };
            let t = Tensor::from_raw_buffer(view.data(), dtype, view.shape(), &Device::Cpu)?
                .to_dtype(DType::F32)?;
            let values: Vec<f32> = t.flatten_all()?.to_vec1()?;
            if let Some(i) = values.iter().position(|v| !v.is_finite()) {
                return Err(data_err!(
                    "{}: tensor {name} holds a non-finite value ({}) at flat index {i}",
                    path.display(),
                    values[i]
                ));
            }
            storage.insert(name.clone(), view.dtype());
            tensors.insert(name, (view.shape().to_vec(), values));
        }
        Ok(Self {
            path: path.to_path_buf(),
            metadata,
            tensors,
            storage,
        })
    }

    /// The `__metadata__` map.
    pub fn metadata(&self) -> &BTreeMap<String, String> {
        &self.metadata
    }

    /// A metadata value, or an error naming the file and the key.
    pub fn meta(&self, key: &str) -> Result<&str> {
        self.metadata
            .get(key)
            .map(String::as_str)
            .ok_or_else(|| data_err!("{}: metadata has no `{key}`", self.path.display()))
    }

    /// A metadata value parsed as `T`.
    pub fn meta_parse<T: std::str::FromStr>(&self, key: &str) -> Result<T> {
        let v = self.meta(key)?;
        v.parse().map_err(|_| {
            data_err!(
                "{}: metadata `{key}` = {v:?} is not a valid value",
                self.path.display()
            )
        })
    }

    /// Tensor `name` (f32, CPU), if present.
    pub fn tensor(&self, name: &str) -> Option<Tensor> {
        let (shape, data) = self.tensors.get(name)?;
        Tensor::from_slice(data, shape.as_slice(), &Device::Cpu).ok()
    }

    /// Names, shapes and stored dtypes of the tensors, sorted by name.
    pub fn entries(&self) -> impl Iterator<Item = (&str, &[usize], String)> {
        self.tensors.iter().map(|(n, (s, _))| {
            let dtype = self
                .storage
                .get(n)
                .map_or("?".to_string(), |d| format!("{d:?}"));
            (n.as_str(), s.as_slice(), dtype)
        })
    }

    /// The file's path.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Turns a loader's message into an error naming this file.
    pub fn error(&self, msg: String) -> crate::Error {
        data_err!("{}: {msg}", self.path.display())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tensors() -> Vec<(String, Tensor)> {
        let a = Tensor::new(&[[1.0f32, -2.5], [0.125, 3.0]], &Device::Cpu).unwrap();
        vec![("a.weight".into(), a)]
    }

    #[test]
    fn every_storage_reads_back_to_its_precision() {
        let dir = tempfile::tempdir().unwrap();
        for (storage, tol) in [
            (Storage::F32, 0.0),
            (Storage::F16, 1e-3),
            (Storage::Bf16, 1e-2),
        ] {
            let p = dir.path().join(format!("{}.safetensors", storage.name()));
            let meta = BTreeMap::from([("config".to_string(), "seed = 1".to_string())]);
            save_as(&p, MODEL_FORMAT, &tensors(), &meta, storage).unwrap();
            let ck = Checkpoint::open(&p, MODEL_FORMAT).unwrap();
            let back: Vec<f32> = ck
                .tensor("a.weight")
                .unwrap()
                .flatten_all()
                .unwrap()
                .to_vec1()
                .unwrap();
            for (x, y) in back.iter().zip([1.0f32, -2.5, 0.125, 3.0]) {
                assert!((x - y).abs() <= tol * y.abs(), "{storage:?}: {x} vs {y}");
            }
            assert_eq!(ck.meta("config").unwrap(), "seed = 1");
            assert_eq!(ck.entries().next().unwrap().1, &[2, 2]);
        }
    }

    #[test]
    fn foreign_newer_corrupt_and_non_finite_files_are_refused_by_name() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("m.safetensors");
        save(&p, STATE_FORMAT, &tensors(), &BTreeMap::new()).unwrap();
        let e = Checkpoint::open(&p, MODEL_FORMAT)
            .err()
            .unwrap()
            .to_string();
        assert!(
            e.contains("m.safetensors") && e.contains("not a laligan-model"),
            "{e}"
        );

        let mut meta = BTreeMap::from([("version".to_string(), "9".to_string())]);
        meta.insert("format".into(), MODEL_FORMAT.into());
        let one = [("x".to_string(), vec![1], vec![0u8; 4])];
        std::fs::write(&p, serialize(&one, Dtype::F32, &meta)).unwrap();
        let e = Checkpoint::open(&p, MODEL_FORMAT)
            .err()
            .unwrap()
            .to_string();
        assert!(e.contains("newer laligan"), "{e}");

        save(&p, MODEL_FORMAT, &tensors(), &BTreeMap::new()).unwrap();
        let bytes = std::fs::read(&p).unwrap();
        std::fs::write(&p, &bytes[..bytes.len() - 3]).unwrap();
        let e = Checkpoint::open(&p, MODEL_FORMAT)
            .err()
            .unwrap()
            .to_string();
        assert!(
            e.contains("m.safetensors") && e.contains("truncated"),
            "{e}"
        );

        let nan = Tensor::new(&[f32::NAN], &Device::Cpu).unwrap();
        let e = save(&p, MODEL_FORMAT, &[("b".into(), nan)], &BTreeMap::new())
            .unwrap_err()
            .to_string();
        assert!(e.contains("tensor b") && e.contains("non-finite"), "{e}");
        let mut meta = BTreeMap::new();
        meta.insert("format".to_string(), MODEL_FORMAT.to_string());
        meta.insert("version".to_string(), VERSION.to_string());
        let nan = [("w".to_string(), vec![1], f32::NAN.to_le_bytes().to_vec())];
        std::fs::write(&p, serialize(&nan, Dtype::F32, &meta)).unwrap();
        let e = Checkpoint::open(&p, MODEL_FORMAT)
            .err()
            .unwrap()
            .to_string();
        assert!(e.contains("tensor w") && e.contains("non-finite"), "{e}");
    }
}
