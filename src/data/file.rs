//! The dataset file: safetensors with tensors `<split>.x`, `<split>.dx`, `<split>.t` (f32, shape
//! `[trajectories, steps, ...observation]`, `t` is `[trajectories, steps]`) and `__metadata__` holding
//! `format = "laligan-dataset"`, `version` and the recipe as TOML. Written by streaming into a
//! preallocated file (large fields never sit in memory twice) under a temporary name; read by mmap.

use crate::error::{Error, Result};
use crate::io::AtomicFile;
use std::collections::BTreeMap;
use std::os::unix::fs::FileExt;
use std::path::{Path, PathBuf};

/// `format` value in the metadata of a dataset file.
pub const FORMAT: &str = "laligan-dataset";
/// Version of the dataset file layout.
pub const VERSION: &str = "1";
/// The three splits, in file order.
pub const SPLITS: [&str; 3] = ["train", "val", "test"];

/// Name and shape of one tensor of a file.
#[derive(Clone, Debug, PartialEq)]
pub struct TensorSpec {
    pub name: String,
    pub shape: Vec<usize>,
}

impl TensorSpec {
    /// A spec from a name and a shape.
    pub fn new(name: impl Into<String>, shape: &[usize]) -> Self {
        Self {
            name: name.into(),
            shape: shape.to_vec(),
        }
    }
    /// Number of elements.
    pub fn numel(&self) -> usize {
        self.shape.iter().product()
    }
}

struct Slot {
    start: u64,
    numel: usize,
    written: usize,
}

/// Streams f32 tensors into a safetensors file whose layout is fixed up front.
pub struct SafetensorsWriter {
    out: AtomicFile,
    slots: BTreeMap<String, Slot>,
    buf: Vec<u8>,
}

impl SafetensorsWriter {
    /// Creates the file for `specs` (in that data order) with string `metadata`. Refuses an existing
    /// `path` unless `force`.
    pub fn create(
        path: &Path,
        force: bool,
        specs: &[TensorSpec],
        metadata: &BTreeMap<String, String>,
    ) -> Result<Self> {
        let mut header = serde_json::Map::new();
        header.insert(
            "__metadata__".into(),
            serde_json::to_value(metadata).expect("strings"),
        );
        let mut slots = BTreeMap::new();
        let mut offset = 0u64;
        for s in specs {
            let bytes = 4 * s.numel() as u64;
            header.insert(
                s.name.clone(),
                serde_json::json!({"dtype": "F32", "shape": s.shape, "data_offsets": [offset, offset + bytes]}),
            );
            if slots
                .insert(
                    s.name.clone(),
                    Slot {
                        start: offset,
                        numel: s.numel(),
                        written: 0,
                    },
                )
                .is_some()
            {
                return Err(data_err!(
                    "{}: tensor {} listed twice",
                    path.display(),
                    s.name
                ));
            }
            offset += bytes;
        }
        let mut json = serde_json::to_string(&header)
            .expect("json header")
            .into_bytes();
        while !json.len().is_multiple_of(8) {
            json.push(b' ');
        }
        let mut out = AtomicFile::create(path, force)?;
        let data_start = 8 + json.len() as u64;
        let f = out.file();
        let io = |e| Error::io(path, e);
        f.set_len(data_start + offset).map_err(io)?;
        f.write_all_at(&(json.len() as u64).to_le_bytes(), 0)
            .map_err(io)?;
        f.write_all_at(&json, 8).map_err(io)?;
        for slot in slots.values_mut() {
            slot.start += data_start;
        }
        Ok(Self {
            out,
            slots,
            buf: Vec::new(),
        })
    }

    /// Writes `data` into tensor `name` starting at element `elem_offset`.
    pub fn write(&mut self, name: &str, elem_offset: usize, data: &[f32]) -> Result<()> {
        let slot = self
            .slots
            .get_mut(name)
            .ok_or_else(|| data_err!("no tensor {name} in the file layout"))?;
        if elem_offset + data.len() > slot.numel {
            return Err(data_err!(
                "tensor {name}: writing elements {}..{} past its {} elements",
                elem_offset,
                elem_offset + data.len(),
                slot.numel
            ));
        }
        if data.iter().any(|v| !v.is_finite()) {
            return Err(data_err!(
                "tensor {name}: non-finite value near element {elem_offset}"
            ));
        }
        self.buf.clear();
        self.buf.extend(data.iter().flat_map(|v| v.to_le_bytes()));
        let at = slot.start + 4 * elem_offset as u64;
        slot.written += data.len();
        let dest = self.out.dest().to_path_buf();
        self.out
            .file()
            .write_all_at(&self.buf, at)
            .map_err(|e| Error::io(&dest, e))
    }

    /// Checks every tensor was written in full, then renames the file into place.
    pub fn finish(self) -> Result<()> {
        for (name, s) in &self.slots {
            if s.written != s.numel {
                return Err(data_err!(
                    "{}: tensor {name} got {} of {} elements",
                    self.out.dest().display(),
                    s.written,
                    s.numel
                ));
            }
        }
        self.out.commit()
    }
}

/// A read-only, memory-mapped safetensors file of f32 tensors.
pub struct TensorFile {
    path: PathBuf,
    mmap: memmap2::Mmap,
    data_start: usize,
    tensors: BTreeMap<String, (Vec<usize>, usize, usize)>,
    metadata: BTreeMap<String, String>,
}

impl TensorFile {
    /// Opens and validates a safetensors file.
    pub fn open(path: &Path) -> Result<Self> {
        let file = std::fs::File::open(path).map_err(|e| Error::io(path, e))?;
        // SAFETY: the file is opened read-only and not modified while mapped by this process.
        let mmap = unsafe { memmap2::Mmap::map(&file) }.map_err(|e| Error::io(path, e))?;
        let (n, meta) = safetensors::SafeTensors::read_metadata(&mmap)
            .map_err(|e| data_err!("{}: not a valid safetensors file ({e})", path.display()))?;
        let mut tensors = BTreeMap::new();
        for (name, info) in meta.tensors() {
            if info.dtype != safetensors::Dtype::F32 {
                return Err(data_err!(
                    "{}: tensor {name} has dtype {:?}, expected F32",
                    path.display(),
                    info.dtype
                ));
            }
            let (a, b) = info.data_offsets;
            tensors.insert(name.clone(), (info.shape.clone(), a, b));
        }
        let metadata = meta
            .metadata()
            .as_ref()
            .map(|m| m.iter().map(|(k, v)| (k.clone(), v.clone())).collect())
            .unwrap_or_default();
        Ok(Self {
            path: path.to_path_buf(),
            mmap,
            data_start: 8 + n,
            tensors,
            metadata,
        })
    }

    /// The file's path.
    pub fn path(&self) -> &Path {
        &self.path
    }
    /// The `__metadata__` map.
    pub fn metadata(&self) -> &BTreeMap<String, String> {
        &self.metadata
    }
    /// Tensor names, sorted.
    pub fn names(&self) -> impl Iterator<Item = &str> {
        self.tensors.keys().map(String::as_str)
    }
    /// Whether a tensor exists.
    pub fn has(&self, name: &str) -> bool {
        self.tensors.contains_key(name)
    }
    /// Shape of a tensor.
    pub fn shape(&self, name: &str) -> Result<&[usize]> {
        self.tensors
            .get(name)
            .map(|t| t.0.as_slice())
            .ok_or_else(|| self.missing(name))
    }
    /// The elements of a tensor, borrowed from the mapped file.
    pub fn data(&self, name: &str) -> Result<&[f32]> {
        let (_, a, b) = self.tensors.get(name).ok_or_else(|| self.missing(name))?;
        let bytes = &self.mmap[self.data_start + a..self.data_start + b];
        // SAFETY: f32 has no invalid bit patterns; alignment is checked below.
        let (pre, floats, post) = unsafe { bytes.align_to::<f32>() };
        if !pre.is_empty() || !post.is_empty() || !cfg!(target_endian = "little") {
            return Err(data_err!(
                "{}: tensor {name} is not 4-byte aligned",
                self.path.display()
            ));
        }
        Ok(floats)
    }

    fn missing(&self, name: &str) -> Error {
        let names: Vec<&str> = self.names().collect();
        data_err!(
            "{}: no tensor {name} (it has: {})",
            self.path.display(),
            names.join(", ")
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn roundtrip_streamed_writes() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("d.safetensors");
        let specs = [TensorSpec::new("a", &[2, 3]), TensorSpec::new("b", &[1])];
        let meta = BTreeMap::from([("format".to_string(), FORMAT.to_string())]);
        let mut w = SafetensorsWriter::create(&p, false, &specs, &meta).unwrap();
        w.write("a", 3, &[4.0, 5.0, 6.0]).unwrap();
        w.write("b", 0, &[-1.5]).unwrap();
        w.write("a", 0, &[1.0, 2.0, 3.0]).unwrap();
        w.finish().unwrap();
        // The standard reader accepts it.
        let bytes = std::fs::read(&p).unwrap();
        let st = safetensors::SafeTensors::deserialize(&bytes).unwrap();
        assert_eq!(st.tensor("a").unwrap().shape(), &[2, 3]);
        let f = TensorFile::open(&p).unwrap();
        assert_eq!(f.data("a").unwrap(), &[1.0, 2.0, 3.0, 4.0, 5.0, 6.0]);
        assert_eq!(f.data("b").unwrap(), &[-1.5]);
        assert_eq!(f.metadata()["format"], FORMAT);
        assert!(f.data("c").unwrap_err().to_string().contains("no tensor c"));
    }

    #[test]
    fn incomplete_or_bad_writes_leave_no_file() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("d.safetensors");
        let specs = [TensorSpec::new("a", &[2])];
        let mut w = SafetensorsWriter::create(&p, false, &specs, &BTreeMap::new()).unwrap();
        assert!(w.write("a", 1, &[1.0, 2.0]).is_err());
        assert!(w.write("a", 0, &[f32::NAN]).is_err());
        w.write("a", 0, &[1.0]).unwrap();
        assert!(w.finish().unwrap_err().to_string().contains("1 of 2"));
        assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 0);
    }

    #[test]
    fn corrupt_file_is_refused_with_its_name() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("bad.safetensors");
        std::fs::write(&p, b"not a tensor file at all").unwrap();
        let e = TensorFile::open(&p).err().unwrap().to_string();
        assert!(
            e.contains("bad.safetensors") && e.contains("not a valid"),
            "{e}"
        );
    }
}
