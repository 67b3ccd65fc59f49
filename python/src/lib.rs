//! The `laligan._laligan` extension: thin bindings over the laligan library. Arrays arrive as
//! C-contiguous float32/float64 numpy arrays (the Python package converts other inputs first) and are
//! read in place; long calls release the GIL; errors carry the CLI's messages.

use laligan::models::Opened;
use laligan::sindy::{SindyConfig, SindyModel};
use numpy::{PyArray1, PyArrayDyn, PyArrayMethods, PyReadonlyArrayDyn, PyUntypedArrayMethods};
use pyo3::exceptions::{PyKeyboardInterrupt, PyOSError, PyValueError};
use pyo3::prelude::*;
use pyo3::types::PyDict;
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, Ordering};

pyo3::create_exception!(
    laligan,
    LaliganError,
    PyValueError,
    "A config, model or data that laligan cannot use; the message names the file, key or tensor."
);

/// A library error as the Python exception with the CLI's message.
fn py_err(e: laligan::Error) -> PyErr {
    match e {
        laligan::Error::Io { .. } => PyOSError::new_err(e.to_string()),
        other => LaliganError::new_err(other.to_string()),
    }
}

fn sindy_err(e: laligan::sindy::SindyError) -> PyErr {
    LaliganError::new_err(e.to_string())
}

/// An array of `shape` from `values`.
fn array<'py, T: numpy::Element>(
    py: Python<'py>,
    values: Vec<T>,
    shape: &[usize],
) -> PyResult<Bound<'py, PyArrayDyn<T>>> {
    PyArray1::from_vec(py, values).reshape(shape.to_vec())
}

/// The values of a C-contiguous array, read in place.
fn slice<'a, T: numpy::Element>(a: &'a PyReadonlyArrayDyn<'_, T>, name: &str) -> PyResult<&'a [T]> {
    a.as_slice()
        .map_err(|_| PyValueError::new_err(format!("{name}: expected a C-contiguous array")))
}

/// `f` of a float32 array's values and shape, run without the GIL, as a new float32 array.
fn through<'py>(
    py: Python<'py>,
    a: &PyReadonlyArrayDyn<'py, f32>,
    name: &str,
    f: impl FnOnce(&[f32], &[usize]) -> laligan::Result<(Vec<f32>, Vec<usize>)> + Send,
) -> PyResult<Bound<'py, PyArrayDyn<f32>>> {
    let values = slice(a, name)?;
    let shape = a.shape().to_vec();
    let (out, shape) = py.detach(|| f(values, &shape)).map_err(py_err)?;
    array(py, out, &shape)
}

/// Rows `[n, d]` of a 2-D float64 array, with `d`.
fn rows<'a>(a: &'a PyReadonlyArrayDyn<'_, f64>, name: &str) -> PyResult<(&'a [f64], usize)> {
    match a.shape() {
        [_, d] => Ok((slice(a, name)?, *d)),
        s => Err(PyValueError::new_err(format!(
            "{name}: expected a 2-D array [samples, states], found shape {s:?}"
        ))),
    }
}

/// A trained model: its folder, experiment and weights.
#[pyclass(module = "laligan._laligan", frozen)]
struct Model {
    inner: Opened,
}

#[pymethods]
impl Model {
    /// Latents z = φ(x) in eval mode: float32 `[..., obs...]` → `[..., latent]`.
    fn encode<'py>(
        &self,
        py: Python<'py>,
        x: PyReadonlyArrayDyn<'py, f32>,
    ) -> PyResult<Bound<'py, PyArrayDyn<f32>>> {
        through(py, &x, "x", |v, s| {
            laligan::models::encode_values(&self.inner, v, s, "x")
        })
    }

    /// Observations ψ(z) in eval mode: float32 `[..., latent]` → `[..., obs...]`.
    fn decode<'py>(
        &self,
        py: Python<'py>,
        z: PyReadonlyArrayDyn<'py, f32>,
    ) -> PyResult<Bound<'py, PyArrayDyn<f32>>> {
        through(py, &z, "z", |v, s| {
            laligan::models::decode_values(&self.inner, v, s, "z")
        })
    }

    /// The masked generators of every block, each channel `[dim, dim]` (float64), in one list.
    fn generator_list<'py>(&self, py: Python<'py>) -> PyResult<Vec<Bound<'py, PyArrayDyn<f64>>>> {
        let blocks = laligan::train::eval::block_generators(&self.inner.model)
            .map_err(|e| py_err(e.into()))?;
        let mut out = Vec::new();
        for (d, gens) in blocks {
            for g in gens {
                out.push(array(py, g, &[d, d])?);
            }
        }
        Ok(out)
    }

    /// The model's scores as JSON (`laligan::models::scores`).
    fn scores_json(&self) -> PyResult<String> {
        laligan::models::scores(&self.inner)
            .map(|v| v.to_string())
            .map_err(py_err)
    }

    /// Shape of one observation.
    #[getter]
    fn obs(&self) -> Vec<usize> {
        self.inner.model.obs.clone()
    }

    /// Latent dimension.
    #[getter]
    fn latent_dim(&self) -> usize {
        self.inner.model.ae.latent_dim()
    }

    /// The spec the model was loaded from.
    #[getter]
    fn spec(&self) -> String {
        self.inner.folder.spec.clone()
    }

    /// The experiment config, as TOML.
    #[getter]
    fn config(&self) -> PyResult<String> {
        self.inner.exp.to_toml().map_err(py_err)
    }

    /// Decoded forecast from `x0` (`[obs...]` or `[n, obs...]`, float32) over `steps` steps of `dt`:
    /// encode, integrate the model's latent equations with RK4, decode; `[n, steps + 1, obs...]`.
    fn forecast<'py>(
        &self,
        py: Python<'py>,
        x0: PyReadonlyArrayDyn<'py, f32>,
        steps: usize,
        dt: Option<f64>,
    ) -> PyResult<Bound<'py, PyArrayDyn<f32>>> {
        through(py, &x0, "x0", |v, s| {
            laligan::models::forecast_values(&self.inner, v, s, steps, dt)
        })
    }

    fn __repr__(&self) -> String {
        format!(
            "laligan.Model({:?}: observations {:?} -> latent {})",
            self.inner.folder.spec,
            self.inner.model.obs,
            self.inner.model.ae.latent_dim()
        )
    }
}

/// Loads a model: a folder, a `.safetensors` file or `hf:owner/name[@rev]`.
#[pyfunction]
fn load(py: Python<'_>, spec: &str) -> PyResult<Model> {
    let inner = py
        .detach(|| laligan::models::open_loaded(spec, laligan::device::DeviceKind::Cpu))
        .map_err(py_err)?;
    Ok(Model { inner })
}

/// A fitted SINDy model.
#[pyclass(module = "laligan._laligan", frozen)]
struct SindyFit {
    model: SindyModel,
}

#[pymethods]
impl SindyFit {
    /// One equation per state, as `laligan discover` prints them.
    fn equations(&self) -> Vec<String> {
        self.model.equations()
    }

    /// The coefficients `[states, terms]` (float64).
    fn coefficients<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyArrayDyn<f64>>> {
        let c = self.model.coefficients();
        array(
            py,
            c.concat(),
            &[self.model.n_states(), self.model.n_terms()],
        )
    }

    /// The library's terms, in coefficient order.
    fn terms(&self) -> Vec<String> {
        self.model.terms().to_vec()
    }

    /// The state names.
    fn state_names(&self) -> Vec<String> {
        self.model.state_names().to_vec()
    }

    /// The derivative the model gives at rows `x` `[n, states]`.
    fn predict<'py>(
        &self,
        py: Python<'py>,
        x: PyReadonlyArrayDyn<'py, f64>,
    ) -> PyResult<Bound<'py, PyArrayDyn<f64>>> {
        let (v, d) = rows(&x, "x")?;
        self.check_states(d)?;
        let p = self.model.predict(v).map_err(sindy_err)?;
        array(py, p, &[v.len() / d.max(1), d])
    }

    /// R² of the fit on rows `x`, `dx` (averaged over states).
    fn score(
        &self,
        x: PyReadonlyArrayDyn<'_, f64>,
        dx: PyReadonlyArrayDyn<'_, f64>,
    ) -> PyResult<f64> {
        let (x, d) = rows(&x, "x")?;
        let (dx, _) = rows(&dx, "dx")?;
        self.check_states(d)?;
        self.model.r2(x, dx).map_err(sindy_err)
    }

    /// Integrates from `x0` with RK4 over the evenly spaced times `t`: `[len(t), states]`.
    fn simulate<'py>(
        &self,
        py: Python<'py>,
        x0: Vec<f64>,
        t: Vec<f64>,
    ) -> PyResult<Bound<'py, PyArrayDyn<f64>>> {
        let d = self.model.n_states();
        if t.len() < 2 {
            return Err(PyValueError::new_err("t: expected at least two times"));
        }
        let dt = t[1] - t[0];
        if let Some(i) =
            (1..t.len()).find(|&i| ((t[i] - t[i - 1]) - dt).abs() > 1e-9 * dt.abs().max(1.0))
        {
            return Err(PyValueError::new_err(format!(
                "t: expected evenly spaced times (step {dt}), but t[{i}] - t[{}] = {}",
                i - 1,
                t[i] - t[i - 1]
            )));
        }
        let steps = t.len() - 1;
        let out = py
            .detach(|| self.model.simulate(&x0, dt, steps))
            .map_err(sindy_err)?;
        array(py, out, &[steps + 1, d])
    }

    /// The fit as the JSON object `laligan discover` writes for one model.
    fn to_json(&self) -> PyResult<String> {
        self.model.to_json().map_err(sindy_err)
    }

    fn __repr__(&self) -> String {
        format!(
            "laligan.sindy.SindyFit({})",
            self.model.equations().join("; ")
        )
    }
}

impl SindyFit {
    fn check_states(&self, d: usize) -> PyResult<()> {
        if d != self.model.n_states() {
            return Err(PyValueError::new_err(format!(
                "x: {d} states per row, but the model has {}",
                self.model.n_states()
            )));
        }
        Ok(())
    }
}

/// SINDy fit of `dx ≈ Ξ Θ(x)` on rows `[n, d]`, configured as `[sindy]` of a config: `config` is the
/// section as TOML (keys as in laligan configs), `generators` (`[g, d, d]`) makes it equivariant.
#[pyfunction]
#[pyo3(signature = (x, dx, config, generators=None, seed=0))]
fn sindy_fit(
    py: Python<'_>,
    x: PyReadonlyArrayDyn<'_, f64>,
    dx: PyReadonlyArrayDyn<'_, f64>,
    config: &str,
    generators: Option<PyReadonlyArrayDyn<'_, f64>>,
    seed: u64,
) -> PyResult<SindyFit> {
    let (xv, d) = rows(&x, "x")?;
    let (dxv, dd) = rows(&dx, "dx")?;
    if dd != d || dxv.len() != xv.len() {
        return Err(PyValueError::new_err(format!(
            "dx: shape {:?}, but x has shape {:?}",
            dx.shape(),
            x.shape()
        )));
    }
    let cfg: SindyConfig = laligan::config::parse_section(config, "sindy").map_err(py_err)?;
    let gens: Option<Vec<Vec<Vec<f64>>>> = match &generators {
        None => None,
        Some(g) => match g.shape() {
            [_, a, b] if *a == d && *b == d => Some(
                slice(g, "generators")?
                    .chunks(d * d)
                    .map(|m| m.chunks(d).map(<[f64]>::to_vec).collect())
                    .collect(),
            ),
            s => {
                return Err(PyValueError::new_err(format!(
                    "generators: expected shape [g, {d}, {d}], found {s:?}"
                )))
            }
        },
    };
    let fitted = py
        .detach(|| -> laligan::sindy::Result<_> {
            let lib = cfg.library(d, "x")?;
            cfg.fit(&lib, xv, dxv, gens.as_deref(), None, seed)
        })
        .map_err(sindy_err)?;
    Ok(SindyFit {
        model: fitted.model,
    })
}

/// The splits of a generated dataset: `{split: {"x", "dx", "t"}}` as float32 arrays shaped as in the
/// file (`x`, `dx`: `[trajectories, steps, obs...]`; `t`: `[trajectories, steps]`).
#[pyfunction]
#[pyo3(signature = (recipe, overrides=Vec::new()))]
fn generate<'py>(
    py: Python<'py>,
    recipe: &str,
    overrides: Vec<String>,
) -> PyResult<Bound<'py, PyDict>> {
    let ds = py
        .detach(|| laligan::data::generate_in_memory(recipe, &overrides))
        .map_err(py_err)?;
    let out = PyDict::new(py);
    for name in ds.splits() {
        let s = ds.split(name).map_err(py_err)?;
        let d = PyDict::new(py);
        d.set_item("x", array(py, s.x.to_vec(), s.shape)?)?;
        if !s.dx.is_empty() {
            d.set_item("dx", array(py, s.dx.to_vec(), s.shape)?)?;
            d.set_item("t", array(py, s.t.to_vec(), &s.shape[..2])?)?;
        }
        out.set_item(name, d)?;
    }
    Ok(out)
}

/// Trains from the config at `config` into the run folder `out`, as `laligan train`; returns the
/// summary as JSON. Ctrl-C stops at the next batch with a checkpoint saved (then KeyboardInterrupt).
/// `init` names a model to start from (fine-tuning); `command` is the call the run's log records as its
/// command.
#[pyfunction]
#[pyo3(signature = (config, out, overrides=Vec::new(), force=false, resume=false, init=None, command=None))]
#[allow(clippy::too_many_arguments)]
fn train(
    py: Python<'_>,
    config: PathBuf,
    out: PathBuf,
    overrides: Vec<String>,
    force: bool,
    resume: bool,
    init: Option<String>,
    command: Option<String>,
) -> PyResult<String> {
    use laligan::train::run::{Outcome, Start};
    let exp = laligan::experiment::Experiment::load(&config, &overrides).map_err(py_err)?;
    let start = match (resume, force) {
        (true, _) => Start::Resume,
        (false, true) => Start::Replace,
        (false, false) => Start::New,
    };
    if let Some(c) = command {
        laligan::host::set_command_line(c);
    }
    let stop = AtomicBool::new(false);
    // Training runs on a worker thread; this one waits without the GIL and looks for Ctrl-C between
    // short sleeps, asking the worker to stop (it saves a checkpoint first) when it comes.
    let (outcome, interrupted) = std::thread::scope(|s| {
        let worker = s.spawn(|| {
            laligan::threads::run(|| {
                laligan::pipeline::train_from(&exp, &out, start, init.as_deref(), &stop)
            })
        });
        let mut interrupted = None;
        while !worker.is_finished() {
            py.detach(|| std::thread::sleep(std::time::Duration::from_millis(50)));
            if interrupted.is_none() {
                if let Err(e) = py.check_signals() {
                    stop.store(true, Ordering::SeqCst);
                    interrupted = Some(e);
                }
            }
        }
        let outcome = py.detach(|| worker.join());
        (outcome, interrupted)
    });
    let outcome = outcome
        .map_err(|_| PyValueError::new_err("training panicked"))?
        .map_err(py_err)?;
    match (outcome, interrupted) {
        (Outcome::Finished(s), None) => {
            serde_json::to_string(&*s).map_err(|e| PyValueError::new_err(e.to_string()))
        }
        (Outcome::Finished(_), Some(e)) => Err(e),
        (Outcome::Interrupted { epoch, batch }, _) => Err(PyKeyboardInterrupt::new_err(format!(
            "interrupted at epoch {} batch {batch}; the checkpoint in {} is kept: continue with \
             resume=True",
            epoch + 1,
            out.display()
        ))),
    }
}

/// The extension module.
#[pymodule]
fn _laligan(m: &Bound<'_, PyModule>) -> PyResult<()> {
    laligan::threads::configure();
    laligan::progress::init_logging(0, false);
    m.add("LaliganError", m.py().get_type::<LaliganError>())?;
    m.add_class::<Model>()?;
    m.add_class::<SindyFit>()?;
    m.add_function(wrap_pyfunction!(load, m)?)?;
    m.add_function(wrap_pyfunction!(sindy_fit, m)?)?;
    m.add_function(wrap_pyfunction!(generate, m)?)?;
    m.add_function(wrap_pyfunction!(train, m)?)?;
    Ok(())
}
