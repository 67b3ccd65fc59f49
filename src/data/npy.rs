//! Reading `.npy` files: the header parsed as numpy parses it (any spacing, a trailing comma in the shape
//! tuple), little-endian floats and integers read as f32; anything else is refused naming the file and
//! the header.

use crate::error::{Error, Result};
use std::path::Path;

/// An array read from a `.npy` file: values (C order, as f32) and shape.
pub struct Npy {
    pub values: Vec<f32>,
    pub shape: Vec<usize>,
}

/// The bytes of a float32 `.npy` file of `values` with `shape` (C order).
pub fn to_bytes(values: &[f32], shape: &[usize]) -> Vec<u8> {
    let dims: Vec<String> = shape.iter().map(usize::to_string).collect();
    let tuple = match dims.len() {
        1 => format!("({},)", dims[0]),
        _ => format!("({})", dims.join(", ")),
    };
    let mut header = format!("{{'descr': '<f4', 'fortran_order': False, 'shape': {tuple}, }}");
    while !(10 + header.len() + 1).is_multiple_of(64) {
        header.push(' ');
    }
    header.push('\n');
    let mut out = b"\x93NUMPY\x01\x00".to_vec();
    out.extend((header.len() as u16).to_le_bytes());
    out.extend(header.as_bytes());
    out.extend(values.iter().flat_map(|v| v.to_le_bytes()));
    out
}

/// Reads `path`.
pub fn read(path: &Path) -> Result<Npy> {
    let bytes = std::fs::read(path).map_err(|e| Error::io(path, e))?;
    let bad = |what: String| data_err!("{}: not a readable .npy file ({what})", path.display());
    if bytes.len() < 10 || &bytes[..6] != b"\x93NUMPY" {
        return Err(bad("no .npy magic string".into()));
    }
    let (len_bytes, start) = match bytes[6] {
        1 => (2, 10),
        2 | 3 => (4, 12),
        v => return Err(bad(format!("format version {v}"))),
    };
    let header_len = if len_bytes == 2 {
        u16::from_le_bytes([bytes[8], bytes[9]]) as usize
    } else if bytes.len() >= 12 {
        u32::from_le_bytes([bytes[8], bytes[9], bytes[10], bytes[11]]) as usize
    } else {
        return Err(bad("truncated header".into()));
    };
    let header = bytes
        .get(start..start + header_len)
        .ok_or_else(|| bad("truncated header".into()))?;
    let header = String::from_utf8_lossy(header).trim().to_string();
    let field = |key: &str| -> Option<&str> {
        let at = header.find(&format!("'{key}'"))? + key.len() + 2;
        let rest = header[at..].trim_start().strip_prefix(':')?.trim_start();
        Some(rest)
    };
    let descr = field("descr")
        .and_then(|r| r.strip_prefix('\'').and_then(|r| r.split('\'').next()))
        .ok_or_else(|| bad(format!("no descr in header {header}")))?;
    if field("fortran_order").is_some_and(|r| r.starts_with("True")) {
        return Err(bad(format!(
            "Fortran order is not supported; save with np.ascontiguousarray (header {header})"
        )));
    }
    let shape_text = field("shape")
        .and_then(|r| r.strip_prefix('('))
        .and_then(|r| r.split(')').next())
        .ok_or_else(|| bad(format!("no shape in header {header}")))?;
    let shape = shape_text
        .split(',')
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(|s| s.parse::<usize>())
        .collect::<std::result::Result<Vec<_>, _>>()
        .map_err(|_| bad(format!("cannot read the shape in header {header}")))?;
    let data = &bytes[start + header_len..];
    let n: usize = shape.iter().product();
    let (order, kind) = descr.split_at(1);
    if order == ">" {
        return Err(bad(format!(
            "big-endian data ({descr}); save it little-endian, e.g. with arr.astype('<f4')"
        )));
    }
    let width: usize = kind[1..]
        .parse()
        .map_err(|_| bad(format!("dtype {descr}")))?;
    if data.len() < n * width {
        return Err(bad(format!(
            "truncated: {} data bytes for shape {shape:?} of {descr}, {} expected",
            data.len(),
            n * width
        )));
    }
    let chunks = data[..n * width].chunks_exact(width);
    let values: Vec<f32> = match kind {
        "f4" => chunks
            .map(|c| f32::from_le_bytes(c.try_into().expect("4 bytes")))
            .collect(),
        "f8" => chunks
            .map(|c| f64::from_le_bytes(c.try_into().expect("8 bytes")) as f32)
            .collect(),
        "f2" => chunks
            .map(|c| half::f16::from_le_bytes(c.try_into().expect("2 bytes")).to_f32())
            .collect(),
        "u1" => chunks.map(|c| f32::from(c[0])).collect(),
        "i4" => chunks
            .map(|c| i32::from_le_bytes(c.try_into().expect("4 bytes")) as f32)
            .collect(),
        "i8" => chunks
            .map(|c| i64::from_le_bytes(c.try_into().expect("8 bytes")) as f32)
            .collect(),
        _ => {
            return Err(bad(format!(
                "dtype {descr}; expected float32, float64, float16, uint8, int32 or int64"
            )))
        }
    };
    Ok(Npy { values, shape })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn written_files_read_back() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("w.npy");
        for shape in [vec![3], vec![1, 3], vec![3, 1, 1]] {
            std::fs::write(&p, to_bytes(&[1.0, -2.0, 0.5], &shape)).unwrap();
            let a = read(&p).unwrap();
            assert_eq!((a.shape, a.values), (shape, vec![1.0, -2.0, 0.5]));
        }
    }

    fn npy(header: &str, data: &[u8]) -> Vec<u8> {
        let mut h = header.to_string();
        while !(10 + h.len() + 1).is_multiple_of(64) {
            h.push(' ');
        }
        h.push('\n');
        let mut out = b"\x93NUMPY\x01\x00".to_vec();
        out.extend((h.len() as u16).to_le_bytes());
        out.extend(h.as_bytes());
        out.extend(data);
        out
    }

    #[test]
    fn headers_read_as_numpy_reads_them_and_bad_ones_are_named() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("a.npy");
        let data: Vec<u8> = [1.0f32, 2.0, 3.0, 4.0, 5.0, 6.0]
            .iter()
            .flat_map(|v| v.to_le_bytes())
            .collect();
        for header in [
            "{'descr': '<f4', 'fortran_order': False, 'shape': (2, 3), }",
            "{'descr': '<f4', 'fortran_order': False, 'shape': (2, 3, ), }",
            "{'descr':'<f4','fortran_order':False,'shape':(2,3,)}",
        ] {
            std::fs::write(&p, npy(header, &data)).unwrap();
            let a = read(&p).unwrap();
            assert_eq!(
                (a.shape.as_slice(), a.values[5]),
                (&[2, 3][..], 6.0),
                "{header}"
            );
        }
        std::fs::write(
            &p,
            npy(
                "{'descr': '>f4', 'fortran_order': False, 'shape': (6,), }",
                &data,
            ),
        )
        .unwrap();
        let e = read(&p).err().unwrap().to_string();
        assert!(e.contains("a.npy") && e.contains("big-endian"), "{e}");
        std::fs::write(
            &p,
            npy(
                "{'descr': '<f4', 'fortran_order': False, 'shape': (7,), }",
                &data,
            ),
        )
        .unwrap();
        let e = read(&p).err().unwrap().to_string();
        assert!(e.contains("truncated"), "{e}");
        std::fs::write(
            &p,
            npy(
                "{'descr': '<f4', 'fortran_order': False, 'shape': (2, x), }",
                &data,
            ),
        )
        .unwrap();
        let e = read(&p).err().unwrap().to_string();
        assert!(e.contains("'shape': (2, x)"), "{e}");
    }
}
