//! Checkpoint files of PyTorch read as data: the zip format `torch.save` writes (its pickle parsed by
//! candle's reader into a tree of plain values, never run; only what a state dict or a list of tensors
//! holds is accepted) and safetensors.

use crate::error::{Error, Result};
use candle_core::pickle::{Object, Stack};
use std::io::Read;
use std::path::{Path, PathBuf};

/// What a tensor's elements are.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Kind {
    Float,
    Int,
    Bool,
}

/// One tensor of a source file, its values widened to f64 (exact for every stored type but int64 beyond
/// 2⁵³, which no weight or counter reaches).
#[derive(Clone, Debug)]
pub struct SourceTensor {
    pub shape: Vec<usize>,
    pub values: Vec<f64>,
    pub kind: Kind,
    /// The stored type as the file names it (`FloatStorage`, `F32`, ...).
    pub dtype: String,
}

/// How the file's top object was laid out.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Layout {
    /// A state dict: names to tensors.
    Dict,
    /// A list of tensors (as the reference saves its algebra, `Lie_list.pt`), named `0`, `1`, ...
    List,
}

/// The tensors of one file, in file order.
pub struct SourceFile {
    pub path: PathBuf,
    pub layout: Layout,
    pub tensors: Vec<(String, SourceTensor)>,
    /// Entries read and left out on purpose (PyTorch's `_metadata`), with why.
    pub skipped: Vec<String>,
}

const ZIP_MAGIC: &[u8] = b"PK\x03\x04";

/// Reads a `.pt`/`.pth` (PyTorch's zip format) or `.safetensors` file.
pub fn read(path: &Path) -> Result<SourceFile> {
    let mut head = [0u8; 8];
    let n = std::fs::File::open(path)
        .and_then(|mut f| f.read(&mut head))
        .map_err(|e| Error::io(path, e))?;
    let head = &head[..n];
    if head.starts_with(ZIP_MAGIC) {
        read_zip(path)
    } else if path.extension().is_some_and(|e| e == "safetensors") {
        read_safetensors(path)
    } else if head.first() == Some(&0x80) {
        Err(data_err!(
            "{}: a legacy (non-zip) PyTorch file, as written by PyTorch before 1.6 or with \
             _use_new_zipfile_serialization=False; it is not read here. Re-save it in PyTorch with \
             torch.save(torch.load(f, weights_only=True), new_f), or save it with \
             safetensors.torch.save_file",
            path.display()
        ))
    } else {
        Err(data_err!(
            "{}: neither a PyTorch zip file (.pt, .pth) nor a .safetensors file",
            path.display()
        ))
    }
}

fn read_safetensors(path: &Path) -> Result<SourceFile> {
    let bytes = std::fs::read(path).map_err(|e| Error::io(path, e))?;
    let st = safetensors::SafeTensors::deserialize(&bytes)
        .map_err(|e| data_err!("{}: not a readable safetensors file: {e}", path.display()))?;
    let mut names: Vec<(usize, String)> = st
        .tensors()
        .into_iter()
        .map(|(n, v)| (v.data().as_ptr() as usize, n))
        .collect();
    names.sort();
    let mut tensors = Vec::new();
    for (_, name) in names {
        let v = st
            .tensor(&name)
            .map_err(|e| data_err!("{}: {name}: {e}", path.display()))?;
        use safetensors::Dtype as D;
        let storage = match v.dtype() {
            D::F32 => "FloatStorage",
            D::F64 => "DoubleStorage",
            D::F16 => "HalfStorage",
            D::BF16 => "BFloat16Storage",
            D::I64 => "LongStorage",
            D::I32 => "IntStorage",
            D::I16 => "ShortStorage",
            D::I8 => "CharStorage",
            D::U8 => "ByteStorage",
            D::BOOL => "BoolStorage",
            other => {
                return Err(data_err!(
                    "{}: tensor {name} has dtype {other:?}, which no weight of this model has",
                    path.display()
                ))
            }
        };
        let e = element(storage).expect("every storage named above is read");
        tensors.push((
            name.clone(),
            SourceTensor {
                shape: v.shape().to_vec(),
                values: v.data().chunks_exact(e.width).map(e.decode).collect(),
                kind: e.kind,
                dtype: format!("{:?}", v.dtype()),
            },
        ));
    }
    Ok(SourceFile {
        path: path.to_path_buf(),
        layout: Layout::Dict,
        tensors,
        skipped: Vec::new(),
    })
}

/// How one stored element is read.
#[derive(Clone, Copy)]
struct Element {
    kind: Kind,
    /// Bytes per element.
    width: usize,
    /// Little-endian bytes to the value.
    decode: fn(&[u8]) -> f64,
}

/// The elements of a PyTorch storage type (`FloatStorage`, ...), if it is one that is read.
fn element(storage: &str) -> Option<Element> {
    let e = |kind, width, decode| {
        Some(Element {
            kind,
            width,
            decode,
        })
    };
    match storage {
        "FloatStorage" => e(Kind::Float, 4, |b| {
            f32::from_le_bytes(b.try_into().unwrap()) as f64
        }),
        "DoubleStorage" => e(Kind::Float, 8, |b| {
            f64::from_le_bytes(b.try_into().unwrap())
        }),
        "HalfStorage" => e(Kind::Float, 2, |b| {
            half::f16::from_le_bytes(b.try_into().unwrap()).to_f64()
        }),
        "BFloat16Storage" => e(Kind::Float, 2, |b| {
            half::bf16::from_le_bytes(b.try_into().unwrap()).to_f64()
        }),
        "LongStorage" => e(Kind::Int, 8, |b| {
            i64::from_le_bytes(b.try_into().unwrap()) as f64
        }),
        "IntStorage" => e(Kind::Int, 4, |b| {
            i32::from_le_bytes(b.try_into().unwrap()) as f64
        }),
        "ShortStorage" => e(Kind::Int, 2, |b| {
            i16::from_le_bytes(b.try_into().unwrap()) as f64
        }),
        "CharStorage" => e(Kind::Int, 1, |b| b[0] as i8 as f64),
        "ByteStorage" => e(Kind::Int, 1, |b| b[0] as f64),
        "BoolStorage" => e(Kind::Bool, 1, |b| (b[0] != 0) as u8 as f64),
        _ => None,
    }
}

/// The classes a pickled state dict or tensor list refers to; any other is refused.
const ALLOWED: &[(&str, &str)] = &[
    ("collections", "OrderedDict"),
    ("torch._utils", "_rebuild_tensor_v2"),
    ("torch._utils", "_rebuild_parameter"),
];

fn read_zip(path: &Path) -> Result<SourceFile> {
    let file = std::fs::File::open(path).map_err(|e| Error::io(path, e))?;
    let mut zip = zip::ZipArchive::new(std::io::BufReader::new(file))
        .map_err(|e| data_err!("{}: not a readable zip archive: {e}", path.display()))?;
    let pickles: Vec<String> = zip
        .file_names()
        .filter_map(|n| n.ok().map(|n| n.into_owned()))
        .filter(|n| n.ends_with("data.pkl"))
        .collect();
    let pkl = match pickles.as_slice() {
        [one] => one.clone(),
        [] => {
            return Err(data_err!(
                "{}: a zip archive without data.pkl: not a file written by torch.save",
                path.display()
            ))
        }
        _ => {
            return Err(data_err!(
                "{}: {} pickles ({}); torch.save writes one",
                path.display(),
                pickles.len(),
                pickles.join(", ")
            ))
        }
    };
    let prefix = pkl.strip_suffix("data.pkl").unwrap_or("").to_string();
    if let Ok(mut f) = zip.by_name(&format!("{prefix}byteorder")) {
        let mut order = String::new();
        f.read_to_string(&mut order)
            .map_err(|e| Error::io(path, e))?;
        if order.trim() != "little" {
            return Err(data_err!(
                "{}: tensors stored {}-endian; only little-endian files are read",
                path.display(),
                order.trim()
            ));
        }
    }
    let obj = {
        let reader = zip
            .by_name(&pkl)
            .map_err(|e| data_err!("{}: {pkl}: {e}", path.display()))?;
        let mut reader = std::io::BufReader::new(reader);
        let mut stack = Stack::empty();
        stack
            .read_loop(&mut reader)
            .and_then(|_| stack.finalize())
            .map_err(|e| data_err!("{}: {pkl}: unreadable pickle: {e}", path.display()))?
    };
    let ctx = Ctx { path, prefix };
    let (layout, entries): (Layout, Vec<(String, Object)>) = match obj {
        Object::Dict(items) => {
            let mut out = Vec::new();
            for (k, v) in items {
                match k {
                    Object::Unicode(k) => out.push((k, v)),
                    other => {
                        return Err(data_err!(
                            "{}: a dict key that is not a string ({}): not a state dict",
                            path.display(),
                            describe(&other)
                        ))
                    }
                }
            }
            (Layout::Dict, out)
        }
        Object::List(items) => (
            Layout::List,
            items
                .into_iter()
                .enumerate()
                .map(|(i, v)| (i.to_string(), v))
                .collect(),
        ),
        other => {
            ctx.check_classes("the top object", &other)?;
            return Err(data_err!(
                "{}: the top object is {}, not a state dict or a list of tensors; save \
                 `module.state_dict()`",
                path.display(),
                describe(&other)
            ));
        }
    };
    let mut tensors = Vec::new();
    let mut skipped = Vec::new();
    for (name, value) in entries {
        if layout == Layout::Dict && name == "_metadata" && matches!(value, Object::Dict(_)) {
            skipped.push(
                "_metadata read and not kept: PyTorch's module versions, no weights".to_string(),
            );
            continue;
        }
        ctx.check_classes(&name, &value)?;
        tensors.push((name.clone(), ctx.tensor(&mut zip, &name, value)?));
    }
    Ok(SourceFile {
        path: path.to_path_buf(),
        layout,
        tensors,
        skipped,
    })
}

struct Ctx<'a> {
    path: &'a Path,
    prefix: String,
}

/// A short description of a pickled object, for messages.
fn describe(o: &Object) -> String {
    match o {
        Object::Class {
            module_name,
            class_name,
        } => format!("the class {module_name}.{class_name}"),
        Object::Reduce { callable, .. } | Object::Build { callable, .. } => match callable.as_ref()
        {
            Object::Class {
                module_name,
                class_name,
            } => format!("a {module_name}.{class_name} object"),
            other => describe(other),
        },
        Object::Int(_) | Object::Long(_) => "an integer".into(),
        Object::Float(_) => "a float".into(),
        Object::Unicode(_) => "a string".into(),
        Object::Bool(_) => "a bool".into(),
        Object::None => "None".into(),
        Object::Tuple(_) => "a tuple".into(),
        Object::List(_) => "a list".into(),
        Object::Dict(_) => "a dict".into(),
        Object::Mark => "a mark".into(),
        Object::PersistentLoad(_) => "a storage reference".into(),
    }
}

impl Ctx<'_> {
    /// Refuses `o` if it refers to any class outside [`ALLOWED`] and the storage types.
    fn check_classes(&self, name: &str, o: &Object) -> Result<()> {
        let mut stack = vec![o];
        while let Some(o) = stack.pop() {
            match o {
                Object::Class {
                    module_name,
                    class_name,
                } => {
                    let known = ALLOWED.contains(&(module_name.as_str(), class_name.as_str()))
                        || (module_name == "torch" && element(class_name).is_some());
                    if !known {
                        return Err(data_err!(
                            "{}: refused: {name} refers to {module_name}.{class_name}, which a state \
                             dict of tensors does not hold (nothing from the file was run); save \
                             `module.state_dict()` or a list of tensors",
                            self.path.display()
                        ));
                    }
                }
                // The callable is looked at first, so a pickled object is named by its own class.
                Object::Reduce { callable, args } | Object::Build { callable, args } => {
                    stack.push(args);
                    stack.push(callable);
                }
                Object::Tuple(v) | Object::List(v) => stack.extend(v.iter()),
                Object::Dict(kv) => {
                    for (k, v) in kv {
                        stack.push(k);
                        stack.push(v);
                    }
                }
                Object::PersistentLoad(inner) => stack.push(inner),
                _ => {}
            }
        }
        Ok(())
    }

    fn err(&self, name: &str, what: impl std::fmt::Display) -> Error {
        data_err!("{}: {name}: {what}", self.path.display())
    }

    /// The tensor a pickled `_rebuild_tensor_v2` (or `_rebuild_parameter` around one) describes.
    fn tensor<R: std::io::Read + std::io::Seek>(
        &self,
        zip: &mut zip::ZipArchive<R>,
        name: &str,
        value: Object,
    ) -> Result<SourceTensor> {
        let not_tensor = |o: &Object| self.err(name, format!("{}, not a tensor", describe(o)));
        let (callable, args) = match value {
            Object::Reduce { callable, args } => (*callable, *args),
            other => return Err(not_tensor(&other)),
        };
        let class = |o: &Object| match o {
            Object::Class {
                module_name,
                class_name,
            } => Some((module_name.clone(), class_name.clone())),
            _ => None,
        };
        let (callable, args) = match class(&callable)
            .as_ref()
            .map(|(m, c)| (m.as_str(), c.as_str()))
        {
            Some(("torch._utils", "_rebuild_parameter")) => match args {
                Object::Tuple(mut a) if !a.is_empty() => match a.remove(0) {
                    Object::Reduce { callable, args } => (*callable, *args),
                    other => return Err(not_tensor(&other)),
                },
                other => return Err(not_tensor(&other)),
            },
            _ => (callable, args),
        };
        if class(&callable)
            .as_ref()
            .map(|(m, c)| (m.as_str(), c.as_str()))
            != Some(("torch._utils", "_rebuild_tensor_v2"))
        {
            return Err(not_tensor(&callable));
        }
        // (storage, storage_offset, size, stride, requires_grad, backward_hooks)
        let bad = |what: &str| self.err(name, format!("unexpected tensor record ({what})"));
        let mut a = match args {
            Object::Tuple(a) if a.len() >= 4 => a,
            _ => return Err(bad("arguments")),
        };
        let ints = |o: Object| -> Option<Vec<usize>> {
            match o {
                Object::Tuple(v) => v
                    .into_iter()
                    .map(|x| x.int_or_long().ok().and_then(|i| usize::try_from(i).ok()))
                    .collect(),
                _ => None,
            }
        };
        let stride = ints(a.remove(3)).ok_or_else(|| bad("stride"))?;
        let size = ints(a.remove(2)).ok_or_else(|| bad("size"))?;
        let offset = a
            .remove(1)
            .int_or_long()
            .ok()
            .and_then(|i| usize::try_from(i).ok())
            .ok_or_else(|| bad("offset"))?;
        let mut storage = match a.remove(0) {
            Object::PersistentLoad(s) => match *s {
                Object::Tuple(s) if s.len() == 5 => s,
                _ => return Err(bad("storage")),
            },
            _ => return Err(bad("storage")),
        };
        let key = storage
            .remove(2)
            .unicode()
            .map_err(|_| bad("storage key"))?;
        let storage_class = class(&storage.remove(1))
            .ok_or_else(|| bad("storage type"))?
            .1;
        let Element {
            kind,
            width,
            decode,
        } = element(&storage_class)
            .ok_or_else(|| self.err(name, format!("storage type {storage_class} is not read")))?;
        if size.len() != stride.len() {
            return Err(bad("size and stride"));
        }
        let entry = format!("{}data/{key}", self.prefix);
        let mut bytes = Vec::new();
        zip.by_name(&entry)
            .map_err(|e| self.err(name, format!("{entry}: {e}")))?
            .read_to_end(&mut bytes)
            .map_err(|e| Error::io(self.path, e))?;
        let numel: usize = size.iter().product();
        let last = offset
            + size
                .iter()
                .zip(&stride)
                .map(|(n, s)| n.saturating_sub(1) * s)
                .sum::<usize>();
        if numel > 0 && (last + 1) * width > bytes.len() {
            return Err(self.err(
                name,
                format!(
                    "its {size:?} elements reach past its storage ({} bytes)",
                    bytes.len()
                ),
            ));
        }
        let mut values = Vec::with_capacity(numel);
        let mut index = vec![0usize; size.len()];
        for _ in 0..numel {
            let at = offset + index.iter().zip(&stride).map(|(i, s)| i * s).sum::<usize>();
            values.push(decode(&bytes[at * width..(at + 1) * width]));
            for d in (0..size.len()).rev() {
                index[d] += 1;
                if index[d] < size[d] {
                    break;
                }
                index[d] = 0;
            }
        }
        Ok(SourceTensor {
            shape: size,
            values,
            kind,
            dtype: storage_class,
        })
    }
}
