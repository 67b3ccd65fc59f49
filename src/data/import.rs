//! `laligan data import`: numpy arrays (`.npy`, `.npz`) or a folder of PNG frames into a dataset file.
//! Without a given derivative, ẋ comes from second-order central differences (one-sided at the ends),
//! marked `dx = "central-difference"` in the metadata.

use crate::data::dataset::{DatasetWriter, Layout};
use crate::error::{Error, Result};
use candle_core::{DType, Tensor};
use std::path::Path;

/// Arrays of one split: x `[trajectories, steps, ...obs]`, optional dx (same shape) and t `[traj, steps]`.
struct Arrays {
    shape: Vec<usize>,
    x: Vec<f32>,
    dx: Option<Vec<f32>>,
    t: Option<Vec<f32>>,
}

/// What an import wrote.
#[derive(Debug)]
pub struct Imported {
    pub layout: Layout,
    pub derivative: &'static str,
}

/// Imports `src` into the dataset file `out` with time step `dt` (used when no `t` is given).
pub fn import(src: &Path, out: &Path, dt: f64, force: bool) -> Result<Imported> {
    if !(dt > 0.0 && dt.is_finite()) {
        return Err(config_err!("--dt must be a positive number, found {dt}"));
    }
    crate::io::check_destination(out, force)?;
    let raw: Vec<Option<Arrays>> = if src.is_dir() {
        vec![Some(read_png_dir(src)?), None, None]
    } else {
        match src.extension().and_then(|e| e.to_str()) {
            Some("npy") => {
                let a = super::npy::read(src)?;
                let t = Tensor::from_vec(a.values, a.shape, &candle_core::Device::Cpu)?;
                vec![Some(arrays_from(src, "x", t, None, None)?), None, None]
            }
            Some("npz") => match read_npz(src)? {
                Npz::Whole(a) => vec![Some(a), None, None],
                Npz::Splits(v) => v,
            },
            _ => {
                return Err(data_err!(
                    "{}: expected a .npy file, a .npz file or a folder of PNG frames",
                    src.display()
                ))
            }
        }
    };
    let given_dx = raw.iter().flatten().all(|a| a.dx.is_some());
    let completed = raw
        .into_iter()
        .map(|a| a.map(|a| complete(src, a, dt)).transpose())
        .collect::<Result<Vec<_>>>()?;
    let splits = fill_splits(completed);
    let obs = splits[0].shape[2..].to_vec();
    for (name, a) in ["train", "val", "test"].iter().zip(&splits) {
        if a.shape[2..] != obs[..] {
            return Err(data_err!(
                "{}: {name} observations have shape {:?}, train has {:?}",
                src.display(),
                &a.shape[2..],
                obs
            ));
        }
    }
    let derivative = if given_dx {
        "given"
    } else {
        "central-difference"
    };
    let layout = Layout {
        splits: std::array::from_fn(|i| (splits[i].shape[0], splits[i].shape[1])),
        obs,
        dynamics: true,
    };
    let recipe = format!(
        "# imported from {}\n[import]\nsource = {:?}\ndt = {dt}\n",
        src.display(),
        src.display().to_string()
    );
    let mut w = DatasetWriter::create(
        out,
        force,
        layout.clone(),
        &recipe,
        &[("dx", derivative), ("split", "imported")],
    )?;
    for (s, a) in splits.iter().enumerate() {
        let (n, steps) = (a.shape[0], a.shape[1]);
        let obs_len: usize = a.shape[2..].iter().product();
        let (dx, t) = (
            a.dx.as_deref().expect("completed"),
            a.t.as_deref().expect("completed"),
        );
        for traj in 0..n {
            let r = traj * steps * obs_len..(traj + 1) * steps * obs_len;
            w.write(
                s,
                traj,
                0,
                &a.x[r.clone()],
                &dx[r],
                &t[traj * steps..(traj + 1) * steps],
            )?;
        }
    }
    w.finish()?;
    Ok(Imported { layout, derivative })
}

/// Fills in missing times (`k·dt`) and derivatives (central differences) over whole trajectories.
fn complete(src: &Path, mut a: Arrays, dt: f64) -> Result<Arrays> {
    let (n, steps) = (a.shape[0], a.shape[1]);
    let obs: usize = a.shape[2..].iter().product();
    let t = a.t.get_or_insert_with(|| {
        (0..n)
            .flat_map(|_| (0..steps).map(|k| (k as f64 * dt) as f32))
            .collect()
    });
    if a.dx.is_none() {
        let mut dx = Vec::with_capacity(a.x.len());
        for traj in 0..n {
            let xs = &a.x[traj * steps * obs..(traj + 1) * steps * obs];
            let d = central_difference(xs, &t[traj * steps..(traj + 1) * steps], obs)
                .map_err(|e| data_err!("{}: trajectory {traj}: {e}", src.display()))?;
            dx.extend(d);
        }
        a.dx = Some(dx);
    }
    Ok(a)
}

fn bad(src: &Path, e: impl std::fmt::Display) -> Error {
    data_err!("{}: cannot read ({e})", src.display())
}

/// Second-order central differences in time (one-sided second-order at both ends) on one trajectory.
pub fn central_difference(
    x: &[f32],
    t: &[f32],
    obs: usize,
) -> std::result::Result<Vec<f32>, String> {
    let n = t.len();
    if n < 3 {
        return Err(format!(
            "{n} steps per trajectory: at least 3 are needed for a derivative"
        ));
    }
    let mut dx = vec![0f32; x.len()];
    let at = |k: usize, j: usize| x[k * obs + j] as f64;
    for j in 0..obs {
        for k in 0..n {
            let d = if k == 0 {
                let h = (t[2] - t[0]) as f64 / 2.0;
                (-3.0 * at(0, j) + 4.0 * at(1, j) - at(2, j)) / (2.0 * h)
            } else if k == n - 1 {
                let h = (t[n - 1] - t[n - 3]) as f64 / 2.0;
                (3.0 * at(n - 1, j) - 4.0 * at(n - 2, j) + at(n - 3, j)) / (2.0 * h)
            } else {
                (at(k + 1, j) - at(k - 1, j)) / (t[k + 1] - t[k - 1]) as f64
            };
            if !d.is_finite() {
                return Err(format!(
                    "non-finite derivative at step {k} (are the times strictly increasing?)"
                ));
            }
            dx[k * obs + j] = d as f32;
        }
    }
    Ok(dx)
}

/// One array of an import, checked for finiteness and shape.
fn arrays_from(
    src: &Path,
    name: &str,
    x: Tensor,
    dx: Option<Tensor>,
    t: Option<Tensor>,
) -> Result<Arrays> {
    let x = finite(src, name, x)?;
    let mut shape = x.1;
    match shape.len() {
        0 | 1 => {
            return Err(data_err!(
                "{}: array {name} has shape {shape:?}; expected [steps, ...obs] or [trajectories, steps, ...obs]",
                src.display()
            ))
        }
        2 => shape.insert(0, 1),
        _ => {}
    }
    if let Some(k) = shape.iter().position(|&n| n == 0) {
        let what = ["trajectories", "steps"]
            .get(k)
            .copied()
            .unwrap_or("observation values");
        return Err(data_err!(
            "{}: array {name} has shape {shape:?}: it holds no {what}; expected at least one \
             trajectory of at least one step",
            src.display()
        ));
    }
    let dx = match dx {
        Some(d) => {
            let d = finite(src, &format!("{name} derivative"), d)?;
            if d.0.len() != x.0.len() {
                return Err(data_err!(
                    "{}: derivative of {name} has shape {:?}, expected {shape:?}",
                    src.display(),
                    d.1
                ));
            }
            Some(d.0)
        }
        None => None,
    };
    let t = match t {
        Some(t) => {
            let t = finite(src, &format!("{name} times"), t)?;
            let per = shape[1];
            let v = if t.0.len() == per {
                t.0.repeat(shape[0])
            } else if t.0.len() == per * shape[0] {
                t.0
            } else {
                return Err(data_err!(
                    "{}: times of {name} have shape {:?}, expected [{per}] or {:?}",
                    src.display(),
                    t.1,
                    &shape[..2]
                ));
            };
            Some(v)
        }
        None => None,
    };
    Ok(Arrays {
        shape,
        x: x.0,
        dx,
        t,
    })
}

fn finite(src: &Path, name: &str, t: Tensor) -> Result<(Vec<f32>, Vec<usize>)> {
    let shape = t.dims().to_vec();
    let v = t
        .to_dtype(DType::F32)
        .and_then(|t| t.flatten_all())
        .and_then(|t| t.to_vec1::<f32>())
        .map_err(|e| bad(src, e))?;
    if let Some(i) = v.iter().position(|x| !x.is_finite()) {
        return Err(data_err!(
            "{}: array {name} holds a non-finite value ({}) at flat index {i} of shape {shape:?}",
            src.display(),
            v[i]
        ));
    }
    Ok((v, shape))
}

/// An npz holds either one set of arrays to split, or the splits (train and any of val, test; the
/// missing ones are split off train).
enum Npz {
    Whole(Arrays),
    Splits(Vec<Option<Arrays>>),
}

fn read_npz(src: &Path) -> Result<Npz> {
    let mut arrays = Tensor::read_npz(src).map_err(|e| bad(src, e))?;
    let found: Vec<String> = arrays.iter().map(|(n, _)| n.clone()).collect();
    let mut take = |k: &str| {
        arrays
            .iter()
            .position(|(n, _)| n == k)
            .map(|i| arrays.swap_remove(i).1)
    };
    if let Some(x) = take("x") {
        let (dx, t) = (take("dx"), take("t"));
        return Ok(Npz::Whole(arrays_from(src, "x", x, dx, t)?));
    }
    let mut parts = Vec::new();
    for s in ["train", "val", "test"] {
        let part = match take(&format!("{s}_x")) {
            None => None,
            Some(x) => {
                let (dx, t) = (take(&format!("{s}_dx")), take(&format!("{s}_t")));
                Some(arrays_from(src, &format!("{s}_x"), x, dx, t)?)
            }
        };
        parts.push(part);
    }
    let mut parts = parts.into_iter();
    let Some(train) = parts.next().flatten() else {
        return Err(data_err!(
            "{}: expected an array `x` (and optionally `dx`, `t`), or `train_x` with any of `val_x`, \
             `test_x` (each optionally with `_dx`, `_t`); found {}",
            src.display(),
            if found.is_empty() {
                "no arrays".to_string()
            } else {
                found.iter().map(|n| format!("`{n}`")).collect::<Vec<_>>().join(", ")
            }
        ));
    };
    let (val, test) = (parts.next().flatten(), parts.next().flatten());
    Ok(Npz::Splits(vec![Some(train), val, test]))
}

/// The train, val and test splits: the given ones, with the missing ones split off train (80/10/10
/// when both are missing, 90/10 when one is).
fn fill_splits(parts: Vec<Option<Arrays>>) -> Vec<Arrays> {
    let mut parts = parts.into_iter();
    let train = parts.next().flatten().expect("train is required");
    let (val, test) = (parts.next().flatten(), parts.next().flatten());
    match (val, test) {
        (Some(v), Some(t)) => vec![train, v, t],
        (None, None) => split_parts(&train, &[8, 1, 1]),
        (Some(v), None) => {
            let mut p = split_parts(&train, &[9, 1]);
            let t = p.pop().expect("two parts");
            vec![p.pop().expect("two parts"), v, t]
        }
        (None, Some(t)) => {
            let mut p = split_parts(&train, &[9, 1]);
            let v = p.pop().expect("two parts");
            vec![p.pop().expect("two parts"), v, t]
        }
    }
}

/// Splits one set of arrays into consecutive parts of the given shares (in tenths, summing to 10): by
/// trajectory when there are at least 10, else by time.
fn split_parts(a: &Arrays, tenths: &[usize]) -> Vec<Arrays> {
    let (n, steps) = (a.shape[0], a.shape[1]);
    let obs: usize = a.shape[2..].iter().product();
    let by_traj = n >= 10;
    let total = if by_traj { n } else { steps };
    let mut cut = vec![0];
    let mut acc = 0;
    for t in tenths {
        acc += t;
        cut.push(total * acc / 10);
    }
    (0..tenths.len())
        .map(|s| {
            let (lo, hi) = (cut[s], cut[s + 1]);
            let mut shape = a.shape.clone();
            if by_traj {
                shape[0] = hi - lo;
                let per = steps * obs;
                Arrays {
                    shape,
                    x: a.x[lo * per..hi * per].to_vec(),
                    dx: a.dx.as_ref().map(|d| d[lo * per..hi * per].to_vec()),
                    t: a.t.as_ref().map(|t| t[lo * steps..hi * steps].to_vec()),
                }
            } else {
                shape[1] = hi - lo;
                let pick = |v: &Vec<f32>, w: usize| -> Vec<f32> {
                    (0..n)
                        .flat_map(|tr| {
                            v[(tr * steps + lo) * w..(tr * steps + hi) * w]
                                .iter()
                                .copied()
                        })
                        .collect()
                };
                Arrays {
                    shape,
                    x: pick(&a.x, obs),
                    dx: a.dx.as_ref().map(|d| pick(d, obs)),
                    t: a.t.as_ref().map(|t| pick(t, 1)),
                }
            }
        })
        .collect()
}

/// A folder of PNG frames (sorted by name) as one trajectory: grayscale frames give `[h, w]`
/// observations, colour frames `[3, h, w]`; pixels divided by 255.
fn read_png_dir(dir: &Path) -> Result<Arrays> {
    let mut files: Vec<_> = std::fs::read_dir(dir)
        .map_err(|e| Error::io(dir, e))?
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| {
            p.extension()
                .and_then(|e| e.to_str())
                .is_some_and(|e| e.eq_ignore_ascii_case("png"))
        })
        .collect();
    files.sort();
    if files.len() < 3 {
        return Err(data_err!(
            "{}: found {} PNG frames, need at least 3",
            dir.display(),
            files.len()
        ));
    }
    let mut x = Vec::new();
    let mut frame_shape: Option<Vec<usize>> = None;
    for f in &files {
        let img =
            image::open(f).map_err(|e| data_err!("{}: cannot read PNG ({e})", f.display()))?;
        let color = img.color().has_color();
        let (w, h) = (img.width() as usize, img.height() as usize);
        let shape = if color { vec![3, h, w] } else { vec![h, w] };
        match &frame_shape {
            None => frame_shape = Some(shape.clone()),
            Some(s) if *s != shape => {
                return Err(data_err!(
                    "{}: frame shape {shape:?} differs from the first frame's {s:?}",
                    f.display()
                ))
            }
            _ => {}
        }
        if color {
            let rgb = img.to_rgb8();
            for c in 0..3 {
                x.extend(rgb.pixels().map(|p| p[c] as f32 / 255.0));
            }
        } else {
            x.extend(img.to_luma8().pixels().map(|p| p[0] as f32 / 255.0));
        }
    }
    let mut shape = vec![1, files.len()];
    shape.extend(frame_shape.expect("at least one frame"));
    Ok(Arrays {
        shape,
        x,
        dx: None,
        t: None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn central_difference_is_second_order_and_exact_on_quadratics() {
        let t: Vec<f32> = (0..20).map(|k| k as f32 * 0.1).collect();
        let x: Vec<f32> = t.iter().map(|&s| 3.0 * s * s - s + 2.0).collect();
        let d = central_difference(&x, &t, 1).unwrap();
        for (k, &s) in t.iter().enumerate() {
            assert!(
                (d[k] - (6.0 * s - 1.0)).abs() < 1e-3,
                "step {k}: {} vs {}",
                d[k],
                6.0 * s - 1.0
            );
        }
        assert!(central_difference(&x[..2], &t[..2], 1).is_err());
    }
}
