//! Datasets as stored: a [`Layout`] of splits fixed before generation, a [`DatasetWriter`] that streams
//! trajectories into the file, and a [`Dataset`] reader over the mapped file.

use super::file::{SafetensorsWriter, TensorFile, TensorSpec, FORMAT, SPLITS, VERSION};
use crate::error::Result;
use std::collections::BTreeMap;
use std::path::Path;

/// Shape of the stored data: trajectories and steps per split, and the observation shape.
#[derive(Clone, Debug, PartialEq)]
pub struct Layout {
    /// (trajectories, steps) of train, val and test.
    pub splits: [(usize, usize); 3],
    /// Shape of one observation.
    pub obs: Vec<usize>,
    /// Whether `dx` and `t` are stored (false for static sets of single samples).
    pub dynamics: bool,
}

impl Layout {
    /// Elements of one observation.
    pub fn obs_len(&self) -> usize {
        self.obs.iter().product()
    }

    /// The tensors of the file, in data order.
    pub fn specs(&self) -> Vec<TensorSpec> {
        let mut specs = Vec::new();
        for (split, &(n, steps)) in SPLITS.iter().zip(&self.splits) {
            let mut shape = vec![n, steps];
            shape.extend(&self.obs);
            specs.push(TensorSpec::new(format!("{split}.x"), &shape));
            if self.dynamics {
                specs.push(TensorSpec::new(format!("{split}.dx"), &shape));
                specs.push(TensorSpec::new(format!("{split}.t"), &[n, steps]));
            }
        }
        specs
    }
}

/// Streams a dataset into its file; [`DatasetWriter::finish`] renames it into place.
pub struct DatasetWriter {
    inner: SafetensorsWriter,
    layout: Layout,
}

impl DatasetWriter {
    /// Creates the file for `layout`, recording `recipe` (TOML) and `extra` in the metadata.
    pub fn create(
        path: &Path,
        force: bool,
        layout: Layout,
        recipe: &str,
        extra: &[(&str, &str)],
    ) -> Result<Self> {
        let mut meta = BTreeMap::from([
            ("format".to_string(), FORMAT.to_string()),
            ("version".to_string(), VERSION.to_string()),
            ("recipe".to_string(), recipe.to_string()),
            ("observation_shape".to_string(), format!("{:?}", layout.obs)),
        ]);
        for (k, v) in extra {
            meta.insert(k.to_string(), v.to_string());
        }
        let inner = SafetensorsWriter::create(path, force, &layout.specs(), &meta)?;
        Ok(Self { inner, layout })
    }

    /// The layout being written.
    pub fn layout(&self) -> &Layout {
        &self.layout
    }

    /// Writes consecutive steps `step0..step0 + k` of trajectory `traj` of split `split` (0 train, 1 val,
    /// 2 test): `x` and `dx` hold k observations, `t` k times (`dx`, `t` ignored for static sets).
    pub fn write(
        &mut self,
        split: usize,
        traj: usize,
        step0: usize,
        x: &[f32],
        dx: &[f32],
        t: &[f32],
    ) -> Result<()> {
        let (_, steps) = self.layout.splits[split];
        let obs = self.layout.obs_len();
        let name = SPLITS[split];
        let at = (traj * steps + step0) * obs;
        self.inner.write(&format!("{name}.x"), at, x)?;
        if self.layout.dynamics {
            self.inner.write(&format!("{name}.dx"), at, dx)?;
            self.inner
                .write(&format!("{name}.t"), traj * steps + step0, t)?;
        }
        Ok(())
    }

    /// Checks completeness and renames the file into place.
    pub fn finish(self) -> Result<()> {
        self.inner.finish()
    }
}

/// One split of a dataset, borrowed from the mapped file.
pub struct Split<'a> {
    /// `[trajectories, steps, ...observation]`.
    pub shape: &'a [usize],
    pub x: &'a [f32],
    /// Empty for static sets.
    pub dx: &'a [f32],
    /// Empty for static sets.
    pub t: &'a [f32],
}

impl Split<'_> {
    /// Number of trajectories.
    pub fn trajectories(&self) -> usize {
        self.shape[0]
    }
    /// Steps per trajectory.
    pub fn steps(&self) -> usize {
        self.shape[1]
    }
    /// Elements of one observation.
    pub fn obs_len(&self) -> usize {
        self.shape[2..].iter().product()
    }

    /// The time step of the first trajectory: the mean spacing of its times, computed in f64 and
    /// written with the fewest significant digits that stay within what its f32 times resolve. The
    /// difference of two neighbouring f32 times is off by up to an ulp of t (at t ≈ 450, 0.0500183 for
    /// a step of 0.05), which over a long horizon is a phase error; the mean over the whole trajectory
    /// divides that by its length. None for fewer than two steps.
    pub fn time_step(&self) -> Option<f64> {
        let n = self.steps();
        if n < 2 || self.t.len() < n {
            return None;
        }
        let (a, b) = (f64::from(self.t[0]), f64::from(self.t[n - 1]));
        let dt = (b - a) / (n - 1) as f64;
        // Each end is within half an f32 ulp of its true time.
        let ulp = f64::from(self.t[0].abs().max(self.t[n - 1].abs())) * f64::from(f32::EPSILON);
        let resolved = ulp / (n - 1) as f64;
        (1..=9)
            .filter_map(|digits| format!("{dt:.*e}", digits - 1).parse::<f64>().ok())
            .find(|r| (r - dt).abs() <= resolved)
            .or(Some(dt))
    }

    /// Refuses the first non-finite value of `x`, `dx` or `t`, naming `file`, the tensor, the split
    /// and the value's index `[trajectory, step, ...]`.
    pub fn check_finite(&self, file: &str, split: &str) -> Result<()> {
        for (name, values, shape) in [
            ("x", self.x, self.shape),
            ("dx", self.dx, self.shape),
            ("t", self.t, &self.shape[..2]),
        ] {
            if let Some(i) = values.iter().position(|v| !v.is_finite()) {
                let mut index = vec![0; shape.len()];
                let mut rest = i;
                for (k, n) in index.iter_mut().zip(shape).rev() {
                    *k = rest % n;
                    rest /= n;
                }
                return Err(data_err!(
                    "{file}: tensor {split}.{name} holds a non-finite value ({}) at index {index:?} \
                     of the {split} split",
                    values[i]
                ));
            }
        }
        Ok(())
    }
}

/// A dataset file opened for reading.
pub struct Dataset {
    file: TensorFile,
    /// The training split without its first steps ([`Dataset::skip_train`]), when any are skipped.
    train: Option<Trimmed>,
}

/// A split with the first steps of each trajectory left out.
struct Trimmed {
    shape: Vec<usize>,
    /// Steps left out of each trajectory.
    steps: usize,
    /// `x`, `dx` and `t` without those steps; `None` for a single trajectory, whose trimmed arrays are
    /// the tails of the stored ones (borrowed, not copied).
    copy: Option<[Vec<f32>; 3]>,
}

impl Dataset {
    /// Opens a dataset file, checking its format marker and tensors.
    pub fn open(path: &Path) -> Result<Self> {
        let file = TensorFile::open(path)?;
        match file.metadata().get("format") {
            Some(f) if f == FORMAT => {}
            other => {
                return Err(data_err!(
                    "{}: not a laligan dataset (metadata format = {:?}, expected \"{FORMAT}\"; \
                     `laligan data import` converts numpy arrays and PNG folders)",
                    path.display(),
                    other
                ))
            }
        }
        crate::checkpoint::check_version(path, FORMAT, file.metadata().get("version"), VERSION)?;
        let ds = Self { file, train: None };
        for s in SPLITS {
            if ds.file.has(&format!("{s}.x")) {
                ds.split(s)?
                    .check_finite(&ds.file.path().display().to_string(), s)?;
            }
        }
        Ok(ds)
    }

    /// The underlying tensor file.
    pub fn file(&self) -> &TensorFile {
        &self.file
    }

    /// The recipe (TOML) stored in the metadata.
    pub fn recipe(&self) -> &str {
        self.file
            .metadata()
            .get("recipe")
            .map(String::as_str)
            .unwrap_or("")
    }

    /// Whether the set carries derivatives and times.
    pub fn has_dynamics(&self) -> bool {
        self.file.has("train.dx")
    }

    /// The dataset with the first `steps` steps of each training trajectory left out (`data.skip`): a
    /// transient that training and every fit on the training split should not see.
    pub fn skip_train(mut self, steps: usize) -> Result<Self> {
        if steps == 0 {
            return Ok(self);
        }
        let s = self.split("train")?;
        let (n, len) = (s.trajectories(), s.steps());
        if !self.has_dynamics() || steps >= len {
            return Err(data_err!(
                "data.skip = {steps}: {} has {}; skip must leave at least one step of each training \
                 trajectory",
                self.file.path().display(),
                if self.has_dynamics() {
                    format!("{len} steps per training trajectory")
                } else {
                    "no time series (a static set)".to_string()
                }
            ));
        }
        let cut = |v: &[f32], per_step: usize| -> Vec<f32> {
            v.chunks_exact(len * per_step)
                .flat_map(|tr| &tr[steps * per_step..])
                .copied()
                .collect()
        };
        let obs = s.obs_len();
        let mut shape = s.shape.to_vec();
        shape[1] = len - steps;
        let copy = (n > 1).then(|| [cut(s.x, obs), cut(s.dx, obs), cut(s.t, 1)]);
        self.train = Some(Trimmed { shape, steps, copy });
        Ok(self)
    }

    /// A split by name (`train`, `val`, `test`), with shapes checked against each other.
    pub fn split(&self, name: &str) -> Result<Split<'_>> {
        let Some(tr) = self.train.as_ref().filter(|_| name == "train") else {
            return self.stored(name);
        };
        Ok(match &tr.copy {
            Some([x, dx, t]) => Split {
                shape: &tr.shape,
                x,
                dx,
                t,
            },
            None => {
                let s = self.stored(name)?;
                let obs = s.obs_len();
                Split {
                    shape: &tr.shape,
                    x: &s.x[tr.steps * obs..],
                    dx: &s.dx[tr.steps * obs..],
                    t: &s.t[tr.steps..],
                }
            }
        })
    }

    /// A split as stored in the file, before any [`Dataset::skip_train`].
    fn stored(&self, name: &str) -> Result<Split<'_>> {
        let path = self.file.path().display();
        let xname = format!("{name}.x");
        let shape = self.file.shape(&xname)?;
        if shape.len() < 3 {
            return Err(data_err!("{path}: {xname} has shape {shape:?}, expected [trajectories, steps, ...observation]"));
        }
        let x = self.file.data(&xname)?;
        let (dx, t) = if self.has_dynamics() {
            let dx_name = format!("{name}.dx");
            let t_name = format!("{name}.t");
            if self.file.shape(&dx_name)? != shape {
                return Err(data_err!(
                    "{path}: {dx_name} has shape {:?}, expected {shape:?} like {xname}",
                    self.file.shape(&dx_name)?
                ));
            }
            if self.file.shape(&t_name)? != &shape[..2] {
                return Err(data_err!(
                    "{path}: {t_name} has shape {:?}, expected {:?}",
                    self.file.shape(&t_name)?,
                    &shape[..2]
                ));
            }
            (self.file.data(&dx_name)?, self.file.data(&t_name)?)
        } else {
            (&[][..], &[][..])
        };
        Ok(Split { shape, x, dx, t })
    }

    /// The splits present, in order.
    pub fn splits(&self) -> Vec<&'static str> {
        SPLITS
            .into_iter()
            .filter(|s| self.file.has(&format!("{s}.x")))
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The time step is the mean spacing, short where the f32 times allow it: 0.05 from times near 450
    /// whose neighbours differ by 0.0500183, 0.02 from times at 0, and a step of many digits kept.
    #[test]
    fn the_time_step_is_the_mean_spacing_as_far_as_f32_times_resolve_it() {
        let step = |t0: f64, dt: f64, n: usize| {
            let t: Vec<f32> = (0..n).map(|i| (t0 + i as f64 * dt) as f32).collect();
            let shape = [1, n, 1];
            let x = vec![0.0; n];
            Split {
                shape: &shape,
                x: &x,
                dx: &x,
                t: &t,
            }
            .time_step()
        };
        let t: Vec<f32> = (0..2).map(|i| (450.0 + i as f64 * 0.05) as f32).collect();
        assert!((f64::from(t[1] - t[0]) - 0.05).abs() > 1e-5);
        assert_eq!(step(450.0, 0.05, 1000), Some(0.05));
        assert_eq!(step(0.0, 0.02, 500), Some(0.02));
        let long = step(3.0, 0.012345678, 2000).unwrap();
        assert!((long - 0.012345678).abs() < 1e-9, "{long}");
        assert_eq!(step(0.0, 0.1, 1), None);
    }

    /// Skipping k steps gives each training trajectory from its step k on; other splits are untouched,
    /// a single trajectory's trimmed arrays are borrowed from the file (not copied), and a skip that
    /// leaves nothing is refused naming the key.
    #[test]
    fn skip_train_leaves_out_the_first_steps_of_each_training_trajectory() {
        let dir = tempfile::tempdir().unwrap();
        for n in [3, 1] {
            let set = [format!("pendulum.n_train={n}"), "pendulum.steps=10".into()];
            let recipe = crate::data::Recipe::resolve("pendulum", &set).unwrap();
            let path = dir.path().join(format!("p{n}.safetensors"));
            crate::data::systems::generate(&recipe, &path, false).unwrap();
            let whole = Dataset::open(&path).unwrap();
            let cut = Dataset::open(&path).unwrap().skip_train(4).unwrap();
            let (a, b) = (whole.split("train").unwrap(), cut.split("train").unwrap());
            assert_eq!(b.shape, &[n, 6, 2]);
            assert_eq!((b.x.len(), b.dx.len(), b.t.len()), (n * 12, n * 12, n * 6));
            for tr in 0..n {
                for step in 0..6 {
                    let (i, j) = ((tr * 10 + step + 4) * 2, (tr * 6 + step) * 2);
                    assert_eq!(a.x[i..i + 2], b.x[j..j + 2]);
                    assert_eq!(a.dx[i..i + 2], b.dx[j..j + 2]);
                    assert_eq!(a.t[i / 2], b.t[j / 2]);
                }
            }
            let borrowed = cut.split("train").unwrap().x.as_ptr_range();
            let stored = cut.stored("train").unwrap().x.as_ptr_range();
            let inside = stored.contains(&borrowed.start);
            assert_eq!(inside, n == 1, "{n} trajectories: borrowed {inside}");
            assert_eq!(whole.split("val").unwrap().x, cut.split("val").unwrap().x);
            let err = Dataset::open(&path).unwrap().skip_train(10).err().unwrap();
            assert!(err.to_string().contains("data.skip = 10"), "{err}");
        }
    }
}
