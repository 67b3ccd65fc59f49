//! The SINDy autoencoder: the autoencoder and the latent model ż = ΞΘ(z) trained jointly (Champion et
//! al.), either from scratch (the SINDy-AE baseline, no symmetry) or starting from a trained LaLiGAN
//! model (its autoencoder, and optionally Ξ restricted to the equivariant subspace of its generators).
//!
//! Loss on a batch of observations x with time derivatives ẋ, every term a mean over its entries:
//! `w_recon·|ψ(z) − x|² + w_dz·|ΞΘ(z) − J_φ(x)ẋ|² + w_dx·|J_ψ(z)ΞΘ(z) − ẋ|² + l1·‖Ξ‖₁` with z = φ(x).
//! Both Jacobian-vector products are built from differentiable ops, so the ẋ term trains the decoder
//! and the encoder. The autoencoder runs in eval mode throughout (batch norm with its stored
//! statistics, which stay fixed): the same maps that the equations are evaluated and forecast with.
//! Ξ starts at the STLSQ fit to the latents of a trained autoencoder, or at zero; after every
//! `mask_every`-th epoch the entries with |ξ| < `threshold` are masked for good.

use crate::data::Dataset;
use crate::error::Result;
use crate::nn::adam::Adam;
use crate::sindy::{
    ConstraintMode, FitReport, Fitted, Library, SindyConfig, SindyModel, SymmetryConstraint,
};
use crate::train::folder::ModelFolder;
use crate::train::{LaLiGan, Setup};
use candle_core::{DType, Tensor, Var};
use rand::seq::SliceRandom;
use serde::{Deserialize, Serialize};
use serde_json::json;
use std::path::Path;

/// `[sindy_ae]` settings. The library is `sindy.library`.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields, default)]
pub struct SindyAeConfig {
    /// Passes over the training samples.
    pub epochs: usize,
    pub batch_size: usize,
    /// Adam learning rate of the autoencoder and of Ξ.
    pub lr: f64,
    /// Weights of the reconstruction, ż and ẋ consistency terms, and of ‖Ξ‖₁.
    pub w_recon: f64,
    pub w_dz: f64,
    pub w_dx: f64,
    pub l1: f64,
    /// Entries of Ξ (of its equivariant coordinates under a constraint) with |ξ| below it are masked.
    pub threshold: f64,
    /// Mask after every this many epochs.
    pub mask_every: usize,
    /// `"none"` (the SINDy-AE baseline) or `"equivariant"`: Ξ restricted to the models equivariant
    /// under the generators (`sindy.generators`, else those of the model it starts from).
    pub constraint: AeConstraint,
    /// Every k-th step of each training trajectory is a sample (also for the validation scores).
    pub stride: usize,
}

impl crate::config::Validate for SindyAeConfig {
    fn validate(&self, c: &mut crate::config::Checker) {
        c.at_least("batch_size", self.batch_size, 1);
        c.within("lr", self.lr, 0.0, 1.0);
        for (key, w) in [
            ("w_recon", self.w_recon),
            ("w_dz", self.w_dz),
            ("w_dx", self.w_dx),
            ("l1", self.l1),
            ("threshold", self.threshold),
        ] {
            c.non_negative(key, w);
        }
        c.at_least("mask_every", self.mask_every, 1);
        c.at_least("stride", self.stride, 1);
    }
}

impl Default for SindyAeConfig {
    fn default() -> Self {
        Self {
            epochs: 20,
            batch_size: 256,
            lr: 1e-3,
            w_recon: 1.0,
            w_dz: 0.1,
            w_dx: 1.0,
            l1: 1e-4,
            threshold: 0.05,
            mask_every: 5,
            constraint: AeConstraint::None,
            stride: 1,
        }
    }
}

/// Whether Ξ of a SINDy autoencoder is constrained (`sindy_ae.constraint`).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum AeConstraint {
    /// Any Ξ (the SINDy-AE baseline).
    #[default]
    None,
    /// Ξ equivariant under the generators.
    Equivariant,
}

/// Mean loss terms over an epoch: reconstruction, ż, ẋ, ‖Ξ‖₁.
#[derive(Clone, Copy, Debug, Default)]
pub struct Losses {
    pub recon: f64,
    pub dz: f64,
    pub dx: f64,
    pub l1: f64,
}

/// Ξ parametrized by coordinates c (vec(Ξ) = B·(c ⊙ mask), B the identity without a constraint).
struct Coefficients {
    c: Var,
    mask: Vec<f64>,
    basis: Option<Tensor>,
    d: usize,
    p: usize,
}

impl Coefficients {
    /// Ξ `[d, p]` as a graph of c.
    fn xi(&self) -> candle_core::Result<Tensor> {
        let q = self.mask.len();
        let m = Tensor::from_slice(&self.mask, q, self.c.device())?.to_dtype(self.c.dtype())?;
        let cm = self.c.as_tensor().mul(&m)?;
        let flat = match &self.basis {
            None => cm,
            Some(b) => b.matmul(&cm.unsqueeze(1)?)?.squeeze(1)?,
        };
        flat.reshape((self.d, self.p))
    }

    /// Masks the live coordinates with |c| < `threshold`; returns how many were masked.
    fn mask_below(&mut self, threshold: f64) -> candle_core::Result<usize> {
        let c: Vec<f64> = self.c.as_tensor().to_dtype(DType::F64)?.to_vec1()?;
        let mut removed = 0;
        for (m, v) in self.mask.iter_mut().zip(&c) {
            if *m != 0.0 && v.abs() < threshold {
                *m = 0.0;
                removed += 1;
            }
        }
        Ok(removed)
    }

    /// Ξ as rows of f64.
    fn rows(&self) -> candle_core::Result<Vec<Vec<f64>>> {
        self.xi()?.to_dtype(DType::F64)?.to_vec2()
    }
}

/// The weighted total loss on one batch of observations `x` and derivatives `dx` (`[b, obs..]`), with
/// its terms: reconstruction, ż, ẋ consistency and ‖Ξ‖₁.
fn loss(
    model: &LaLiGan,
    lib: &Library,
    coef: &Coefficients,
    cfg: &SindyAeConfig,
    x: &Tensor,
    dx: &Tensor,
) -> candle_core::Result<(Tensor, [Tensor; 4])> {
    let xi = coef.xi()?;
    let (z, dz) = model.ae.encode_jvp(x, dx)?;
    let (dz_pred, xhat, dx_pred) = predict(model, lib, &xi, &z)?;
    let terms = [
        (xhat - x)?.sqr()?.mean_all()?,
        (dz_pred - dz)?.sqr()?.mean_all()?,
        (dx_pred - dx)?.sqr()?.mean_all()?,
        xi.abs()?.sum_all()?,
    ];
    let mut total = terms[0].affine(cfg.w_recon, 0.0)?;
    for (t, w) in terms[1..].iter().zip([cfg.w_dz, cfg.w_dx, cfg.l1]) {
        total = (total + t.affine(w, 0.0)?)?;
    }
    Ok((total, terms))
}

/// At latents `z`: the latent model's ż = ΞΘ(z), the reconstruction ψ(z) and the predicted ẋ = J_ψ(z)·ż.
fn predict(
    model: &LaLiGan,
    lib: &Library,
    xi: &Tensor,
    z: &Tensor,
) -> candle_core::Result<(Tensor, Tensor, Tensor)> {
    let dz = lib.features(z)?.matmul(&xi.t()?)?;
    let (xhat, dx) = model.ae.decode_jvp(z, &dz)?;
    Ok((dz, xhat, dx))
}

/// What [`train`] returns.
pub struct Trained {
    /// The fitted latent model with its report.
    pub fit: Fitted,
    /// Per-epoch mean losses.
    pub history: Vec<Losses>,
    /// Validation reconstruction MSE and relative ẋ error |J_ψΞΘ − ẋ|/|ẋ|, when a validation split exists.
    pub val_recon: Option<f64>,
    pub val_dx_rel: Option<f64>,
}

/// Trains `model`'s autoencoder and a latent model over `lib` jointly on the samples `x`, `dx` (row
/// major `[n, obs_len]`, f64), the generators `gens` constraining Ξ when given; scores on `val`. With
/// `warm` (a trained autoencoder) Ξ starts at the STLSQ fit to its latents, else at zero.
#[allow(clippy::too_many_arguments)]
pub fn train(
    model: &LaLiGan,
    warm: bool,
    lib: &Library,
    cfg: &SindyAeConfig,
    seed: u64,
    (x, dx): (Vec<f64>, Vec<f64>),
    (vx, vdx): (&[f64], &[f64]),
    gens: Option<&[Vec<Vec<f64>>]>,
) -> Result<Trained> {
    if cfg.epochs == 0 || cfg.batch_size == 0 || cfg.mask_every == 0 {
        return Err(config_err!(
            "sindy_ae.epochs, sindy_ae.batch_size and sindy_ae.mask_every must be ≥ 1"
        ));
    }
    let dtype = model.ae_params.dtype();
    let dev = model.device().clone();
    let obs_len: usize = model.obs.iter().product();
    let n = x.len() / obs_len.max(1);
    if n == 0 || dx.len() != x.len() {
        return Err(data_err!(
            "sindy_ae: {} observation values and {} derivative values do not form [n ≥ 1, {obs_len}]",
            x.len(),
            dx.len()
        ));
    }
    // Rows in the model's dtype, converted once (no f64 copy for an f32 model).
    let shaped = |v: &[f64]| -> candle_core::Result<Tensor> {
        let mut shape = vec![v.len() / obs_len];
        shape.extend(&model.obs);
        match dtype {
            DType::F64 => Tensor::from_slice(v, shape, &dev),
            _ => Tensor::from_vec(v.iter().map(|&a| a as f32).collect::<Vec<_>>(), shape, &dev)?
                .to_dtype(dtype),
        }
    };
    // Fail early, naming the autoencoder, when its decoder Jacobian cannot be trained.
    let k = model.ae.latent_dim();
    model
        .ae
        .decode_jvp(
            &Tensor::zeros((1, k), dtype, &dev)?,
            &Tensor::zeros((1, k), dtype, &dev)?,
        )
        .map_err(|e| config_err!("[autoencoder]: {e}"))?;
    if lib.n_states() != k {
        return Err(config_err!(
            "sindy.library has {} states, the autoencoder's latent {k}",
            lib.n_states()
        ));
    }

    let (d, p) = (lib.n_states(), lib.n_terms());
    let constraint = gens
        .map(|g| {
            let rows: Vec<Vec<f64>> = g.iter().map(|m| m.concat()).collect();
            SymmetryConstraint::from_rows(lib, &rows, ConstraintMode::Exact)
        })
        .transpose()?;
    // Ξ starts at the STLSQ fit to the initial latents (equivariant when constrained) when they are
    // trained ones, else at zero.
    let xi0: Vec<f64> = if warm {
        let (z0, dz0) = super::latent::encode_rows(model, &x, &dx)?;
        let stlsq = SindyConfig {
            threshold: cfg.threshold,
            library: lib.spec().to_string(),
            ..Default::default()
        };
        let init = stlsq.fit(lib, &z0, &dz0, gens, None, seed)?;
        init.model.coefficients().concat()
    } else {
        vec![0.0; d * p]
    };
    let (xt, dxt) = (shaped(&x)?, shaped(&dx)?);
    drop((x, dx));
    let (c0, basis) = match &constraint {
        None => (xi0, None),
        Some(con) => {
            let b = con.basis();
            let c = b
                .clone()
                .svd(true, true)
                .solve(&nalgebra::DVector::from_column_slice(&xi0), 1e-12)
                .map_err(|e| config_err!("sindy_ae: projecting the initial Ξ: {e}"))?;
            // row-major [d·p, q]: the column-major storage of Bᵀ
            let bt = Tensor::from_slice(b.transpose().as_slice(), (b.nrows(), b.ncols()), &dev)?
                .to_dtype(dtype)?;
            (c.as_slice().to_vec(), Some(bt))
        }
    };
    let q = c0.len();
    let mut coef = Coefficients {
        c: Var::from_tensor(&Tensor::from_slice(&c0, q, &dev)?.to_dtype(dtype)?)?,
        mask: vec![1.0; q],
        basis,
        d,
        p,
    };
    let mut params: Vec<(String, Var)> = model
        .ae_params
        .vars()
        .iter()
        .map(|(n, v)| (n.clone(), v.clone()))
        .collect();
    params.push(("sindy.xi".into(), coef.c.clone()));
    let mut opt = Adam::new(params, cfg.lr)?;

    let mut history = Vec::with_capacity(cfg.epochs);
    let mut last_removed = None;
    let n_batches = n.div_ceil(cfg.batch_size);
    for epoch in 1..=cfg.epochs {
        let mut order: Vec<u32> = (0..n as u32).collect();
        order.shuffle(&mut crate::rng::stream(
            seed,
            &format!("sindy-ae/shuffle/{epoch}"),
        ));
        let bar = crate::progress::bar(n_batches as u64, &format!("sindy-ae {epoch}"));
        let mut sums = Losses::default();
        for ids in order.chunks(cfg.batch_size) {
            let idx = Tensor::from_slice(ids, ids.len(), &dev)?;
            let (xb, dxb) = (xt.index_select(&idx, 0)?, dxt.index_select(&idx, 0)?);
            let (total, terms) = loss(model, lib, &coef, cfg, &xb, &dxb)?;
            opt.step(&total.backward()?)?;
            let mut v = [0.0; 4];
            for (v, t) in v.iter_mut().zip(&terms) {
                *v = t.to_dtype(DType::F64)?.to_scalar::<f64>()?;
            }
            sums.recon += v[0];
            sums.dz += v[1];
            sums.dx += v[2];
            sums.l1 += v[3];
            bar.inc(1);
        }
        bar.finish_and_clear();
        let nb = n_batches as f64;
        let mean = Losses {
            recon: sums.recon / nb,
            dz: sums.dz / nb,
            dx: sums.dx / nb,
            l1: sums.l1 / nb,
        };
        if [mean.recon, mean.dz, mean.dx, mean.l1]
            .iter()
            .any(|v| !v.is_finite())
        {
            return Err(data_err!(
                "sindy_ae: the loss became non-finite in epoch {epoch} (recon {:e}, dz {:e}, dx {:e}); \
                 lower sindy_ae.lr or the weights",
                mean.recon,
                mean.dz,
                mean.dx
            ));
        }
        let mut line = format!(
            "sindy-ae epoch {epoch}/{}: recon {:.3e}, dz {:.3e}, dx {:.3e}, |Ξ|₁ {:.3}",
            cfg.epochs, mean.recon, mean.dz, mean.dx, mean.l1
        );
        if epoch % cfg.mask_every == 0 {
            let removed = coef.mask_below(cfg.threshold)?;
            last_removed = Some(removed);
            line.push_str(&format!(
                "; masked {removed}, {} live",
                coef.mask.iter().filter(|&&m| m != 0.0).count()
            ));
        }
        tracing::info!("{line}");
        history.push(mean);
    }

    let xi = coef.rows()?;
    let names = lib.state_names().to_vec();
    let model_eq = SindyModel::new(lib.clone().with_state_names(names)?, xi.clone())?;
    let (val_r2, val_rmse, val_recon, val_dx_rel) = if vx.is_empty() {
        (None, None, None, None)
    } else {
        let (vxt, vdxt) = (shaped(vx)?, shaped(vdx)?);
        let (vz, vdz) = super::latent::encode_rows(model, vx, vdx)?;
        let (recon, dx_rel) = val_scores(model, lib, &coef.xi()?, &vxt, &vdxt)?;
        (
            Some(model_eq.r2(&vz, &vdz)?),
            Some(model_eq.rmse(&vz, &vdz)?),
            Some(recon),
            Some(dx_rel),
        )
    };
    let xim = nalgebra::DMatrix::from_row_slice(d, p, &xi.concat());
    let report = FitReport {
        regressor: format!(
            "sindy-ae(epochs={}, batch_size={}, lr={}, w_recon={}, w_dz={}, w_dx={}, l1={}, threshold={}, mask_every={})",
            cfg.epochs, cfg.batch_size, cfg.lr, cfg.w_recon, cfg.w_dz, cfg.w_dx, cfg.l1, cfg.threshold, cfg.mask_every
        ),
        iterations: cfg.epochs,
        converged: last_removed == Some(0),
        notes: Vec::new(),
        total_coefficients: d * p,
        free_coefficients: q,
        nonzero: model_eq.nonzero(),
        equivariance_violation: constraint.as_ref().map(|c| c.violation(&xim)),
    };
    Ok(Trained {
        fit: Fitted {
            model: model_eq,
            report,
            val_r2,
            val_rmse,
        },
        history,
        val_recon,
        val_dx_rel,
    })
}

/// Validation reconstruction MSE and relative ẋ error ‖J_ψ(z)ΞΘ(z) − ẋ‖/‖ẋ‖.
fn val_scores(
    model: &LaLiGan,
    lib: &Library,
    xi: &Tensor,
    x: &Tensor,
    dx: &Tensor,
) -> candle_core::Result<(f64, f64)> {
    let (mut se, mut err2, mut norm2, mut count) = (0.0, 0.0, 0.0, 0usize);
    let n = x.dim(0)?;
    let f = |t: Tensor| -> candle_core::Result<f64> {
        t.to_dtype(DType::F64)?.sqr()?.sum_all()?.to_scalar::<f64>()
    };
    for at in (0..n).step_by(super::latent::CHUNK) {
        let len = super::latent::CHUNK.min(n - at);
        let (xb, dxb) = (x.narrow(0, at, len)?, dx.narrow(0, at, len)?);
        let z = model.ae.encode(&xb, false)?;
        let (_, xhat, dx_pred) = predict(model, lib, xi, &z)?;
        se += f((xhat - &xb)?)?;
        err2 += f((dx_pred - &dxb)?)?;
        norm2 += f(dxb)?;
        count += xb.elem_count();
    }
    Ok((se / count.max(1) as f64, (err2 / norm2.max(1e-300)).sqrt()))
}

/// Where a SINDy autoencoder starts and what it is recorded with.
pub struct Start<'a> {
    /// The model the run trains: its architecture and data (and the model it starts from).
    pub setup: &'a Setup<'a>,
    /// The trained model to start from (its folder and its weights), or none for a model trained from
    /// scratch.
    pub from: Option<(&'a ModelFolder, LaLiGan)>,
    /// The resolved experiment as TOML, recorded in `config.toml` and the model's metadata.
    pub config_text: &'a str,
}

/// `laligan sindy-ae`: trains a SINDy autoencoder (`cfg`, with the library and state names of
/// `sindy`) on `ds` into `out`, starting from the trained model in `start.from` or from scratch (refusing
/// an `out` that holds a model unless `replace`, and never the folder it starts from), and writes
/// `model.safetensors` (the whole model in the `laligan train` format, only `ae.*` trained here),
/// `equations/` (as `laligan discover` writes it), `history.csv`, `sindy-ae.json` and `config.toml`.
/// Returns the text of `equations.txt`.
pub fn run(
    start: Start,
    ds: &Dataset,
    sindy: &SindyConfig,
    cfg: &SindyAeConfig,
    out: &Path,
    replace: bool,
) -> Result<String> {
    let setup = start.setup;
    let from = start.from.as_ref().map(|(f, _)| *f);
    let t0 = std::time::Instant::now();
    let model_path = out.join(crate::train::model::MODEL_FILE);
    let same = |a: &Path, b: &Path| match (a.canonicalize(), b.canonicalize()) {
        (Ok(a), Ok(b)) => a == b,
        _ => false,
    };
    if from
        .and_then(|f| f.dir.as_deref())
        .is_some_and(|d| same(d, out))
    {
        return Err(config_err!(
            "--out {} is the model folder it starts from; choose another (e.g. {}/sindy-ae)",
            out.display(),
            out.display()
        ));
    }
    if model_path.exists() && !replace {
        return Err(config_err!(
            "{} already holds a model; replace it with --force or choose another --out",
            out.display()
        ));
    }
    let obs = ds.split("train")?.shape[2..].to_vec();
    let model = match start.from {
        Some((_, m)) => m,
        None => {
            let m = LaLiGan::new(setup, &obs, DType::F32, &setup.device.resolve()?)?;
            if let Some(line) = crate::train::run::fit_autoencoder(&m, ds, setup)? {
                tracing::info!("{line}");
            }
            m
        }
    };
    let gens = match cfg.constraint {
        AeConstraint::None => None,
        AeConstraint::Equivariant => {
            let g = if sindy.generators.is_empty() {
                match from {
                    Some(_) => super::latent::generators(&model)?,
                    None => Vec::new(),
                }
            } else {
                sindy.generators.clone()
            };
            if g.is_empty() {
                return Err(config_err!(
                    "sindy_ae.constraint = \"equivariant\" needs generators: start from a trained \
                     model (--model) whose generator acts on one step's latent, or set sindy.generators"
                ));
            }
            Some(g)
        }
    };
    let stride = cfg.stride.max(1);
    let (x, dx, _) = super::rows(ds, "train", setup.data.n_train, stride)?;
    let (vx, vdx) = super::val_rows(ds, stride)?;
    let k = model.ae.latent_dim();
    let lib = sindy.library(k, "z")?;
    // Replacing a model (--force) writes beside it; a failure leaves the old one as it was.
    let owned = [
        crate::train::model::MODEL_FILE,
        "config.toml",
        "equations",
        "history.csv",
        "sindy-ae.json",
    ];
    let dir = crate::io::OutDir::begin(out, replace, &owned)?;
    let path = dir.path();
    super::record_config(path, start.config_text)?;
    tracing::info!(
        "sindy-ae: {} from {}: {} samples, library `{}` ({} terms), constraint {:?}",
        match from {
            Some(d) => format!("fine-tuning {}", d.spec),
            None => "training from scratch".into(),
        },
        setup.data.describe(),
        x.len() / obs.iter().product::<usize>().max(1),
        sindy.library,
        lib.n_terms(),
        cfg.constraint
    );
    let trained = crate::threads::run(|| {
        train(
            &model,
            from.is_some(),
            &lib,
            cfg,
            setup.seed,
            (x, dx),
            (&vx, &vdx),
            gens.as_deref(),
        )
    })?;

    let mut meta = model.file_metadata(start.config_text);
    meta.insert("sindy_ae".to_string(), "1".to_string());
    crate::checkpoint::save(
        &path.join(crate::train::model::MODEL_FILE),
        crate::checkpoint::MODEL_FORMAT,
        &model.state(),
        &meta,
    )?;
    let eq_dir = path.join("equations");
    crate::io::create_dir(&eq_dir)?;
    let sindy_cfg = SindyConfig {
        threshold: cfg.threshold,
        ..sindy.clone()
    };
    let (equi, plain) = match &gens {
        Some(g) => (Some((&trained.fit, g.as_slice())), None),
        None => (None, Some(&trained.fit)),
    };
    let text = super::write(&sindy_cfg, "sindy-ae", &eq_dir, equi, plain)?;
    let mut csv = String::from("epoch,recon,dz,dx,l1\n");
    for (i, h) in trained.history.iter().enumerate() {
        csv.push_str(&format!(
            "{},{:e},{:e},{:e},{:e}\n",
            i + 1,
            h.recon,
            h.dz,
            h.dx,
            h.l1
        ));
    }
    crate::io::write_atomic(&path.join("history.csv"), csv.as_bytes())?;
    let last = trained.history.last().copied().unwrap_or_default();
    let summary = json!({
        "from": from.map(|d| d.spec.clone()),
        "epochs": cfg.epochs,
        "constraint": cfg.constraint,
        "final": {"recon": last.recon, "dz": last.dz, "dx": last.dx, "l1": last.l1},
        "val_recon": trained.val_recon,
        "val_dx_rel": trained.val_dx_rel,
        "val_r2": trained.fit.val_r2,
        "equations": trained.fit.model.equations(),
        "nonzero": trained.fit.report.nonzero,
        "free_coefficients": trained.fit.report.free_coefficients,
        "seconds": t0.elapsed().as_secs_f64(),
    });
    let text_json =
        serde_json::to_string_pretty(&summary).map_err(|e| data_err!("sindy-ae.json: {e}"))?;
    crate::io::write_atomic(&path.join("sindy-ae.json"), text_json.as_bytes())?;
    dir.commit()?;
    tracing::info!(
        "sindy-ae: done in {:.1}s; validation recon {}, ẋ relative error {}; wrote {}",
        t0.elapsed().as_secs_f64(),
        trained
            .val_recon
            .map_or("n/a".into(), |v| format!("{v:.3e}")),
        trained
            .val_dx_rel
            .map_or("n/a".into(), |v| format!("{v:.3}")),
        out.display()
    );
    Ok(text)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testing::{grad_check_var, randn_like, randomize_norms};
    use candle_core::Device;

    fn model(ae: &str, obs: usize) -> LaLiGan {
        let exp = crate::experiment::Experiment::parse(
            &format!(
                "seed = 3\n[autoencoder]\n{ae}\nlatent = 2\n[lie]\nblocks = [{{ copies = 2, channels = 1, dim = 2, basis = \"so2\" }}]"
            ),
            "test",
            &[],
        )
        .unwrap();
        LaLiGan::new(&exp.setup(), &[obs], DType::F64, &Device::Cpu).unwrap()
    }

    const J: [[f64; 2]; 2] = [[0.0, -1.0], [1.0, 0.0]];

    #[test]
    fn the_joint_loss_differentiates_exactly_through_both_jacobians_and_the_constraint() {
        crate::testing::on_both_paths(|| {
            let m = model(
                "kind = \"mlp\"\nhidden = 5\nlayers = 2\nactivation = \"tanh\"",
                3,
            );
            randomize_norms(&m.ae_params).unwrap();
            let lib = Library::parse("1 + poly(2)", 2).unwrap();
            let con =
                SymmetryConstraint::from_rows(&lib, &[J.concat()], ConstraintMode::Exact).unwrap();
            let b = con.basis();
            let q = b.ncols();
            assert!(q < 2 * lib.n_terms());
            let coef = Coefficients {
                c: Var::from_tensor(&randn_like(&[q], 1.0, 7).unwrap()).unwrap(),
                mask: (0..q).map(|i| if i == 0 { 0.0 } else { 1.0 }).collect(),
                basis: Some(
                    Tensor::from_slice(
                        b.transpose().as_slice(),
                        (b.nrows(), b.ncols()),
                        &Device::Cpu,
                    )
                    .unwrap(),
                ),
                d: 2,
                p: lib.n_terms(),
            };
            // Ξ = B·(c ⊙ mask) is equivariant: L Ξ = Ξ M_L.
            let xi =
                nalgebra::DMatrix::from_row_slice(2, lib.n_terms(), &coef.rows().unwrap().concat());
            assert!(con.violation(&xi) < 1e-12);
            let cfg = SindyAeConfig {
                w_dz: 0.7,
                w_dx: 1.3,
                l1: 0.01,
                ..Default::default()
            };
            let x = randn_like(&[6, 3], 1.0, 8).unwrap();
            let dx = randn_like(&[6, 3], 1.0, 9).unwrap();
            let f = || Ok(loss(&m, &lib, &coef, &cfg, &x, &dx)?.0);
            let mut vars: Vec<(String, Var)> = m.ae_params.vars().clone().into_iter().collect();
            vars.push(("c".into(), coef.c.clone()));
            for (name, v) in &vars {
                let err = grad_check_var(v, 1e-6, f).unwrap();
                assert!(err < 1e-6, "{name}: {err:e}");
            }
        });
    }

    /// Two turns of a rotation at rate 1.5 through an isometric embedding in R⁴: the PCA autoencoder's
    /// latent turns at the same rate, so the jointly trained Ξ must become that rotation (from Ξ = 0).
    fn rotation_data(n: usize) -> (Vec<f64>, Vec<f64>) {
        let emb = [[0.6, 0.0], [0.0, 0.6], [0.8, 0.0], [0.0, 0.8]];
        let (mut x, mut dx) = (Vec::new(), Vec::new());
        for i in 0..n {
            let t = i as f64 * 0.01;
            let (u, du) = (
                [(1.5 * t).cos(), (1.5 * t).sin()],
                [-1.5 * (1.5 * t).sin(), 1.5 * (1.5 * t).cos()],
            );
            for r in emb {
                x.push(r[0] * u[0] + r[1] * u[1]);
                dx.push(r[0] * du[0] + r[1] * du[1]);
            }
        }
        (x, dx)
    }

    #[test]
    fn joint_training_recovers_a_rotation_plain_and_equivariant() {
        let (x, dx) = rotation_data(838);
        let m = model("kind = \"pca\"", 4);
        let xf: Vec<f32> = x.iter().map(|&v| v as f32).collect();
        let frames: Vec<&[f32]> = xf.chunks(4).collect();
        m.ae.fit(&frames).unwrap();
        let lib = Library::parse("1 + poly(2)", 2)
            .unwrap()
            .with_state_names(vec!["z0".into(), "z1".into()])
            .unwrap();
        let cfg = SindyAeConfig {
            epochs: 40,
            batch_size: 64,
            lr: 1e-2,
            mask_every: 10,
            ..Default::default()
        };
        let gens = vec![J.iter().map(|r| r.to_vec()).collect::<Vec<_>>()];
        for g in [None, Some(gens.as_slice())] {
            let t = train(
                &m,
                false,
                &lib,
                &cfg,
                1,
                (x.clone(), dx.clone()),
                (&x[..400], &dx[..400]),
                g,
            )
            .unwrap();
            let xi = t.fit.model.coefficients();
            let terms = t.fit.model.terms();
            // only the two linear terms survive, and they form a rotation at rate 1.5
            let (i0, i1) = (
                terms.iter().position(|n| n == "z0").unwrap(),
                terms.iter().position(|n| n == "z1").unwrap(),
            );
            for (r, row) in xi.iter().enumerate() {
                for (j, v) in row.iter().enumerate() {
                    if j != i0 && j != i1 {
                        assert_eq!(*v, 0.0, "row {r} term {}: {v}", terms[j]);
                    }
                }
            }
            let (a, b, c, d) = (xi[0][i0], xi[0][i1], xi[1][i0], xi[1][i1]);
            let (tr, det) = (a + d, a * d - b * c);
            assert!(tr.abs() < 0.02, "{g:?}: trace {tr}");
            assert!(
                (det.sqrt() - 1.5).abs() < 0.02,
                "{g:?}: rate {}",
                det.sqrt()
            );
            assert!(t.fit.val_r2.unwrap() > 0.999, "{:?}", t.fit.val_r2);
            assert!(t.val_recon.unwrap() < 1e-10);
            assert!(t.val_dx_rel.unwrap() < 0.02);
            if g.is_some() {
                assert!(t.fit.report.free_coefficients < 2 * lib.n_terms());
                assert!(t.fit.report.equivariance_violation.unwrap() < 1e-6);
            }
        }
    }
}
