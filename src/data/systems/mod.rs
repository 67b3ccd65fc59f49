//! The systems of the method, each generated in f64 and written as a dataset file.

pub mod double_bump;
pub mod lotka_volterra;
pub mod ode;
pub mod pendulum;
pub mod reaction_diffusion;
pub mod rotating_object;

use crate::data::dataset::{DatasetWriter, Layout};
use crate::data::recipe::{Recipe, RotatingObject, System};
use crate::error::{Error, Result};
use crate::rng;
use std::path::Path;

/// What a generation produced: element count and value range of the observations.
#[derive(Clone, Debug)]
pub struct Generated {
    pub layout: Layout,
    pub values: usize,
    pub min: f32,
    pub max: f32,
}

impl Generated {
    fn new(layout: Layout) -> Self {
        Self {
            layout,
            values: 0,
            min: f32::INFINITY,
            max: f32::NEG_INFINITY,
        }
    }
    fn observe(&mut self, x: &[f32]) {
        self.values += x.len();
        for &v in x {
            self.min = self.min.min(v);
            self.max = self.max.max(v);
        }
    }
}

impl From<reaction_diffusion::RdError> for Error {
    fn from(e: reaction_diffusion::RdError) -> Self {
        Error::Data(format!("reaction-diffusion: {e}"))
    }
}

/// The stored layout a recipe generates.
pub fn layout(recipe: &Recipe) -> Result<Layout> {
    Ok(match recipe.system()? {
        System::LotkaVolterra(r) => lotka_volterra::layout(r),
        System::Pendulum(r) => pendulum::layout(r),
        System::PendulumMovie(r) => pendulum::movie_layout(r),
        System::ReactionDiffusion(r) => {
            let [a, b, c] = rd_split_sizes(r);
            Layout {
                splits: [(1, a), (1, b), (1, c)],
                obs: vec![r.n, r.n],
                dynamics: true,
            }
        }
        System::DoubleBump(r) => double_bump::layout(r),
        System::RotatingObject(r) => {
            static_layout([r.n_train, r.n_val, r.n_test], &[3, r.size, r.size])
        }
    })
}

/// Generates the dataset of `recipe` into `path` (refusing an existing file unless `force`).
pub fn generate(recipe: &Recipe, path: &Path, force: bool) -> Result<Generated> {
    recipe.validate()?;
    let layout = layout(recipe)?;
    let extra: &[(&str, &str)] = match recipe.system()? {
        System::ReactionDiffusion(_) => &[("split", "time"), ("dx", "exact")],
        System::DoubleBump(_) | System::RotatingObject(_) => &[("split", "samples")],
        _ => &[("split", "trajectories"), ("dx", "exact")],
    };
    let mut w = DatasetWriter::create(path, force, layout.clone(), &recipe.to_toml()?, extra)?;
    let mut g = Generated::new(layout);
    let seed = recipe.seed;
    match recipe.system()? {
        System::LotkaVolterra(r) => lotka_volterra::generate(r, seed, &mut w, &mut g)?,
        System::Pendulum(r) => pendulum::generate(r, seed, &mut w, &mut g)?,
        System::PendulumMovie(r) => pendulum::generate_movie(r, seed, &mut w, &mut g)?,
        System::ReactionDiffusion(r) => generate_rd(r, &mut w, &mut g)?,
        System::DoubleBump(r) => double_bump::generate(r, seed, &mut w, &mut g)?,
        System::RotatingObject(r) => generate_rotating(r, seed, &mut w, &mut g)?,
    }
    w.finish()?;
    Ok(g)
}

/// Trajectories of `steps` observations of shape `obs`, with derivatives and times, per split.
fn trajectory_layout(counts: [usize; 3], steps: usize, obs: &[usize]) -> Layout {
    Layout {
        splits: counts.map(|n| (n, steps)),
        obs: obs.to_vec(),
        dynamics: true,
    }
}

/// Single samples (steps = 1, no derivatives or times) of shape `obs`, per split.
fn static_layout(counts: [usize; 3], obs: &[usize]) -> Layout {
    Layout {
        splits: counts.map(|n| (n, 1)),
        obs: obs.to_vec(),
        dynamics: false,
    }
}

/// (split, index within it) of the i-th trajectory counted over train, val, test.
fn split_of(layout: &Layout, mut i: usize) -> (usize, usize) {
    for (s, &(n, _)) in layout.splits.iter().enumerate() {
        if i < n {
            return (s, i);
        }
        i -= n;
    }
    panic!("trajectory index beyond the layout")
}

/// Integrates every initial condition and writes x, ẋ = f(x) and t.
fn write_ode_splits(
    w: &mut DatasetWriter,
    g: &mut Generated,
    ics: &[[f64; 2]],
    f: &impl Fn(&[f64; 2]) -> [f64; 2],
    dt: f64,
    steps: usize,
    substeps: usize,
) -> Result<()> {
    let t: Vec<f32> = (0..steps).map(|k| (k as f64 * dt) as f32).collect();
    let bar = crate::progress::bar(ics.len() as u64, "integrating");
    for (i, &y0) in ics.iter().enumerate() {
        let (split, traj) = split_of(w.layout(), i);
        let tr = ode::trajectory(f, y0, dt, steps, substeps);
        let x: Vec<f32> = tr.iter().flat_map(|y| y.map(|v| v as f32)).collect();
        let dx: Vec<f32> = tr.iter().flat_map(|y| f(y).map(|v| v as f32)).collect();
        w.write(split, traj, 0, &x, &dx, &t)?;
        g.observe(&x);
        bar.inc(1);
    }
    bar.finish_and_clear();
    Ok(())
}

/// Frames per split of a reaction–diffusion recipe (time order).
pub fn rd_split_sizes(r: &crate::data::recipe::ReactionDiffusion) -> [usize; 3] {
    let kept = (r.t_end / r.dt).round() as usize + 1 - r.drop_first;
    let train = (r.train_fraction * kept as f64).floor() as usize;
    let val = ((r.train_fraction + r.val_fraction) * kept as f64).floor() as usize - train;
    [train, val, kept - train - val]
}

fn generate_rd(
    r: &crate::data::recipe::ReactionDiffusion,
    w: &mut DatasetWriter,
    g: &mut Generated,
) -> Result<()> {
    use reaction_diffusion::{integrate, LambdaOmega};
    let p = LambdaOmega {
        n: r.n,
        length: r.length,
        d: r.d,
        beta: r.beta,
    };
    let xs = p.coords();
    let mask: Vec<f64> = xs
        .iter()
        .flat_map(|y| xs.iter().map(move |x| (-r.mask * (x * x + y * y)).exp()))
        .collect();
    let sizes = rd_split_sizes(r);
    let n_intervals = (r.t_end / r.dt).round() as usize;
    let (u0, v0) = p.spiral();
    let (mut x, mut dx) = (vec![0f32; r.n * r.n], vec![0f32; r.n * r.n]);
    let bar = crate::progress::bar(n_intervals as u64 + 1, "simulating");
    integrate::<Error>(&p, &u0, &v0, r.dt, n_intervals, r.substeps, |f| {
        bar.inc(1);
        if f.index < r.drop_first {
            return Ok(());
        }
        let mut k = f.index - r.drop_first;
        let mut split = 0;
        while k >= sizes[split] {
            k -= sizes[split];
            split += 1;
        }
        for i in 0..mask.len() {
            x[i] = (f.u[i] * mask[i]) as f32;
            dx[i] = (f.ut[i] * mask[i]) as f32;
        }
        g.observe(&x);
        w.write(split, 0, k, &x, &dx, &[f.time as f32])
    })?;
    bar.finish_and_clear();
    Ok(())
}

fn generate_rotating(
    r: &RotatingObject,
    seed: u64,
    w: &mut DatasetWriter,
    g: &mut Generated,
) -> Result<()> {
    use rotating_object::{render, rotation_from_normals, Mesh};
    let mesh = if r.mesh.is_empty() {
        Mesh::cubes()
    } else {
        let text = crate::io::read_text(Path::new(&r.mesh))?;
        Mesh::from_off(&text).map_err(|e| config_err!("rotating-object.mesh = {}: {e}", r.mesh))?
    };
    let mut s = rng::stream(seed, "rotating-object/orientation");
    let mut buf = vec![0f32; 3 * r.size * r.size];
    let total = r.n_train + r.n_val + r.n_test;
    let bar = crate::progress::bar(total as u64, "rendering");
    for i in 0..total {
        let (split, traj) = split_of(w.layout(), i);
        let q = std::array::from_fn(|_| rng::normal(&mut s));
        render(&mesh, &rotation_from_normals(q), r.size, &mut buf);
        w.write(split, traj, 0, &buf, &[], &[])?;
        g.observe(&buf);
        bar.inc(1);
    }
    bar.finish_and_clear();
    Ok(())
}
