//! The epoch loop of `laligan train`: data from the config's recipe, shuffled windows, one step per
//! batch, evaluation and thresholding after each epoch, atomic checkpoints, exact resume, clean stops.

use super::eval::{self, Scores};
use super::model::MODEL_FILE;
use super::orbits;
use super::report::{self, Row};
use super::step::N_TERMS;
use super::Setup;
use super::TrainConfig;
use super::{LaLiGan, Trainer};
use crate::checkpoint::{self, Checkpoint, MODEL_FORMAT, STATE_FORMAT};
use crate::data::{DataConfig, Dataset, Split, WindowIndex};
use crate::error::Result;
use crate::io::OutDir;
use crate::lie::LieConfig;
use crate::nn::{AutoencoderConfig, DiscriminatorConfig};
use crate::rng;
use candle_core::{DType, Device, Tensor};
use rand::seq::SliceRandom;
use serde::Deserialize;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};

/// The optimizer state and position of a run folder.
pub const STATE_FILE: &str = "training_state.safetensors";
/// What a run folder holds: the files `train` writes, and the folders later commands write into it by
/// convention. `--force` replaces a folder holding nothing else.
const RUN_FILES: &[&str] = &[
    "config.toml",
    MODEL_FILE,
    STATE_FILE,
    "metrics.csv",
    "summary.json",
    "train.log",
    "*.png",
    "equations",
    "sindy-ae",
    "forecast",
];
/// Prefix of the model's weights inside the training state file.
const SNAPSHOT: &str = "model.";
/// Training frames an autoencoder's data-fitted parts (the `pca` projection) are fitted on, at most.
const FIT_FRAMES: usize = 2000;

/// How a run ended.
#[derive(Debug)]
pub enum Outcome {
    /// Every epoch ran; the summary of the final model.
    Finished(Box<report::Summary>),
    /// Stopped by the caller's flag (Ctrl-C) after saving a checkpoint at `epoch`, batch `batch`.
    Interrupted { epoch: usize, batch: usize },
}

/// Where training stands: the position in the epoch loop and the epoch's running loss sums.
#[derive(Clone, Debug, Default)]
struct Position {
    epoch: usize,
    batch: usize,
    lie_word_pos: u128,
    sums: [f64; N_TERMS],
    batches: usize,
    seconds: f64,
}

/// The training data: the train split, its first `n_train` trajectories' window index, and that count.
fn train_split<'a>(ds: &'a Dataset, setup: &Setup) -> Result<(Split<'a>, WindowIndex, usize)> {
    let s = ds.split("train")?;
    let n = s.trajectories();
    let keep = if setup.data.n_train == 0 {
        n
    } else {
        setup.data.n_train
    };
    if keep > n {
        return Err(config_err!(
            "data.n_train = {keep}, but the training split has {n} trajectories"
        ));
    }
    let index = WindowIndex::new(
        keep,
        s.steps(),
        setup.data.window,
        setup.data.gap,
        setup.data.stride,
        setup.data.tail,
    )?;
    Ok((s, index, keep))
}

/// Fits the data-fitted parts of a new model's autoencoder (the `pca` projection) to evenly spaced
/// frames of the first `n_traj` trajectories of `train`; returns the line for the log, if any.
fn fit_frames(model: &LaLiGan, train: &Split, n_traj: usize) -> Result<Option<String>> {
    let obs_len = train.obs_len();
    let frames: Vec<&[f32]> = eval::evenly(n_traj * train.steps(), FIT_FRAMES)
        .into_iter()
        .map(|i| &train.x[i * obs_len..(i + 1) * obs_len])
        .collect();
    model
        .ae
        .fit(&frames)
        .map_err(|e| config_err!("[autoencoder]: {e}"))
}

/// [`fit_frames`] on the experiment's training trajectories of `ds`.
pub fn fit_autoencoder(model: &LaLiGan, ds: &Dataset, setup: &Setup) -> Result<Option<String>> {
    let (train, _, n_traj) = train_split(ds, setup)?;
    fit_frames(model, &train, n_traj)
}

/// Weights a new run starts from: a model's checkpoint and the spec it was named by.
pub struct Init {
    pub checkpoint: crate::checkpoint::Checkpoint,
    pub spec: String,
}

/// How `train` treats the run folder.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Start {
    /// A new run; refuses a folder that already holds one.
    New,
    /// A new run that replaces whatever run the folder holds.
    Replace,
    /// Continue the run in the folder from its checkpoint.
    Resume,
}

/// Trains `setup` into `out` (or continues the checkpoint there), stopping cleanly when `stop` becomes
/// true. `config_text` is the resolved experiment as TOML, recorded in the run folder and checkpoints.
/// A run that replaces another ([`Start::Replace`]) is written beside it and takes its place only once
/// it has finished or stopped with a checkpoint: a failure leaves the old run exactly as it was.
/// A new run starts from the weights of `init` when given (a model's autoencoder and generators, and
/// its discriminator when it has one), with fresh optimizers, instead of a random initialization.
pub fn train(
    setup: &Setup,
    config_text: &str,
    out: &Path,
    start: Start,
    init: Option<&Init>,
    stop: &AtomicBool,
) -> Result<Outcome> {
    if start == Start::New {
        refuse_existing_run(out)?;
    }
    if init.is_some() && start == Start::Resume {
        return Err(config_err!(
            "a resumed run continues from its own checkpoint; start from a model only in a new run"
        ));
    }
    let dir = OutDir::begin(out, start == Start::Replace, RUN_FILES)?;
    let outcome = epochs(
        setup,
        config_text,
        &dir,
        out,
        start == Start::Resume,
        init,
        stop,
    )?;
    dir.commit()?;
    Ok(outcome)
}

/// The epoch loop of [`train`], writing into `dir` (which becomes `out`).
fn epochs(
    setup: &Setup,
    config_text: &str,
    dir: &OutDir,
    out: &Path,
    resume: bool,
    init: Option<&Init>,
    stop: &AtomicBool,
) -> Result<Outcome> {
    let ds = setup.data.open()?;
    let (train, index, n_traj) = train_split(&ds, setup)?;
    let val = ds.split(if ds.splits().contains(&"val") {
        "val"
    } else {
        "train"
    })?;
    let obs = val.shape[2..].to_vec();
    let model = match init {
        Some(i) => LaLiGan::from_checkpoint(&i.checkpoint, setup, &obs)?,
        None => LaLiGan::new(setup, &obs, DType::F32, &setup.device.resolve()?)?,
    };
    let mut trainer = Trainer::new(model, setup.train)?;
    let path = dir.path();

    let mut fitted = None;
    let (mut pos, mut rows) = if resume {
        load(&mut trainer, path, config_text)?
    } else {
        fitted = match init {
            Some(i) => Some(format!("initialized from the model {}", i.spec)),
            None => fit_frames(&trainer.model, &train, n_traj)?,
        };
        (Position::default(), Vec::new())
    };
    // The checkpoint a failure leaves behind: the one resumed from, then each one saved.
    let mut saved = resume.then_some((pos.epoch, pos.batch));
    crate::io::write_atomic(&path.join("config.toml"), config_text.as_bytes())?;
    let log = report::Log::open(&path.join("train.log"), resume)?;
    log.line(&format!("command: {}", crate::host::command_line()))?;
    if let Some(line) = fitted {
        log.line(&line)?;
    }
    log.line(&format!(
        "{} windows of {} × {:?} from {n_traj} training trajectories; batch {}, {} epochs on {}{}",
        index.len(),
        setup.data.window,
        obs,
        setup.train.batch_size,
        setup.train.epochs,
        setup.device,
        if resume {
            format!(", resuming at epoch {} batch {}", pos.epoch + 1, pos.batch)
        } else {
            String::new()
        }
    ))?;

    let batch = setup.train.batch_size.max(1);
    let n_batches = index.len().div_ceil(batch);
    let dev = trainer.model.device().clone();
    let mut buf = Vec::new();
    while pos.epoch < setup.train.epochs {
        let started = std::time::Instant::now();
        let scale = setup.train.lr_scale(pos.epoch);
        trainer.scale_lr(setup.train, scale);
        if scale != 1.0 && (pos.epoch == 0 || setup.train.lr_scale(pos.epoch - 1) == 1.0) {
            log.line(&format!(
                "epoch {}: learning rates × {} for the last {} epochs (train.lr_decay_epochs)",
                pos.epoch + 1,
                scale,
                setup.train.epochs - pos.epoch
            ))?;
        }
        let mut order: Vec<usize> = (0..index.len()).collect();
        order.shuffle(&mut rng::stream(
            setup.seed,
            &format!("train/shuffle/{}", pos.epoch),
        ));
        let mut lie_rng = rng::stream(setup.seed, &format!("train/lie/{}", pos.epoch));
        lie_rng.set_word_pos(pos.lie_word_pos);
        let bar = crate::progress::bar(n_batches as u64, &format!("epoch {}", pos.epoch + 1));
        bar.set_position(pos.batch as u64);
        while pos.batch < n_batches {
            if stop.load(Ordering::SeqCst) {
                bar.finish_and_clear();
                pos.lie_word_pos = lie_rng.get_word_pos();
                pos.seconds += started.elapsed().as_secs_f64();
                save(&trainer, path, setup, config_text, &pos)?;
                log.line(&format!(
                    "interrupted: checkpoint at epoch {} batch {}",
                    pos.epoch + 1,
                    pos.batch
                ))?;
                return Ok(Outcome::Interrupted {
                    epoch: pos.epoch,
                    batch: pos.batch,
                });
            }
            let ids = &order[pos.batch * batch..((pos.batch + 1) * batch).min(order.len())];
            let x = windows(&index, &train, setup, &obs, ids, &mut buf, &dev)?;
            let w = trainer.model.rep.sample(
                ids.len(),
                setup.lie.sampling,
                setup.lie.sigma,
                &mut lie_rng,
                DType::F32,
                &dev,
            )?;
            let (terms, _) = trainer.step(setup.train, setup.lie, &x, &w)?;
            if let Some(name) = terms.non_finite() {
                bar.finish_and_clear();
                let msg = format!(
                    "non-finite {name} loss at epoch {} batch {}; training stopped, {}",
                    pos.epoch + 1,
                    pos.batch + 1,
                    left_behind(dir, out, saved)
                );
                log.line(&msg)?;
                return Err(crate::Error::Data(msg));
            }
            for (s, v) in pos.sums.iter_mut().zip(terms.values()) {
                *s += v;
            }
            pos.batches += 1;
            pos.batch += 1;
            bar.inc(1);
            if pos.batch % 8 == 0 || pos.batch == n_batches {
                let m = |i: usize| pos.sums[i] / pos.batches.max(1) as f64;
                bar.set_prefix(format!(
                    "recon {:.3e} gan {:.3} reg {:.3} disc {:.3}",
                    m(0),
                    m(1),
                    m(2),
                    m(4)
                ));
            }
        }
        bar.finish_and_clear();
        let e = pos.epoch + 1;
        let learnable = trainer.model.rep.blocks.iter().any(|b| b.learnable);
        if learnable && setup.lie.threshold_every > 0 && e % setup.lie.threshold_every == 0 {
            let active = trainer
                .model
                .rep
                .threshold(setup.lie.threshold, setup.lie.threshold_mask)?;
            log.line(&format!(
                "epoch {e}: thresholding at {} leaves {active} active generator entries",
                setup.lie.threshold
            ))?;
        }
        if setup.train.bn_refresh > 0 {
            refresh_batch_norm(&trainer.model, setup, &index, &train, &obs, e)?;
        }
        let scores = eval::evaluate(&trainer.model, setup, &val)?;
        pos.seconds += started.elapsed().as_secs_f64();
        let row = Row::new(e, &pos.sums, pos.batches, &scores, pos.seconds);
        let gens: Vec<String> = scores
            .generators
            .iter()
            .map(|(d, g)| format!("{:.3?}", g.chunks(*d).collect::<Vec<_>>()))
            .collect();
        log.line(&format!(
            "{} | generators {}",
            row.describe(),
            gens.join(" ")
        ))?;
        rows.push(row);
        report::write_metrics(&path.join("metrics.csv"), &rows)?;
        pos = Position {
            epoch: e,
            seconds: pos.seconds,
            ..Position::default()
        };
        let last = e == setup.train.epochs;
        if last || (setup.train.save_every > 0 && e % setup.train.save_every == 0) {
            save(&trainer, path, setup, config_text, &pos)?;
            saved = Some((e, 0));
        }
        if last {
            return finish(&trainer.model, setup, path, &rows, &scores, &val)
                .map(|s| Outcome::Finished(Box::new(s)));
        }
    }
    // Resumed a finished run: report it again.
    let scores = eval::evaluate(&trainer.model, setup, &val)?;
    finish(&trainer.model, setup, path, &rows, &scores, &val)
        .map(|s| Outcome::Finished(Box::new(s)))
}

/// What a failed run leaves in `out`: the run it was replacing, untouched; the last checkpoint it
/// saved (`(epochs done, batches into the next)`); or nothing to continue from.
fn left_behind(dir: &OutDir, out: &Path, saved: Option<(usize, usize)>) -> String {
    match saved {
        _ if dir.replacing() => format!(
            "the run already in {} is left as it was (the new one is discarded)",
            out.display()
        ),
        Some((epoch, 0)) => format!(
            "the last good checkpoint in {} (after epoch {epoch}) is kept; continue with --resume",
            out.display()
        ),
        Some((epoch, batch)) => format!(
            "the last good checkpoint in {} (epoch {} batch {batch}) is kept; continue with --resume",
            out.display(),
            epoch + 1
        ),
        None => format!(
            "no checkpoint was written to {} (one is saved every train.save_every epochs)",
            out.display()
        ),
    }
}

/// The training windows `ids` as one `[ids, window, obs..]` tensor on `dev` (gathered through `buf`).
fn windows(
    index: &WindowIndex,
    train: &Split,
    setup: &Setup,
    obs: &[usize],
    ids: &[usize],
    buf: &mut Vec<f32>,
    dev: &Device,
) -> Result<Tensor> {
    index.gather(train.x, obs.iter().product(), ids, buf);
    let mut shape = vec![ids.len(), setup.data.window];
    shape.extend(obs);
    Ok(Tensor::from_slice(buf, shape, dev)?)
}

/// `train.bn_refresh` batches of shuffled training windows through the autoencoder in train mode,
/// with no update: the batch-norm running statistics then describe the weights after `epoch`.
fn refresh_batch_norm(
    model: &LaLiGan,
    setup: &Setup,
    index: &WindowIndex,
    train: &Split,
    obs: &[usize],
    epoch: usize,
) -> Result<()> {
    let mut order: Vec<usize> = (0..index.len()).collect();
    order.shuffle(&mut rng::stream(
        setup.seed,
        &format!("train/bn_refresh/{epoch}"),
    ));
    let mut buf = Vec::new();
    let batch = setup.train.batch_size.max(1);
    for ids in order.chunks(batch).cycle().take(setup.train.bn_refresh) {
        let x = windows(index, train, setup, obs, ids, &mut buf, model.device())?
            .to_dtype(model.ae_params.dtype())?;
        let z = model.encode_windows(&x, true)?;
        let k = z.dim(2)?;
        model.ae.decode_pre(&z.reshape(((), k))?, true)?;
    }
    Ok(())
}

/// summary.json and the plots of a finished run, including the decoded orbits through the first
/// validation observation (orbits.png) and, for the double bump, the shift scores.
fn finish(
    model: &LaLiGan,
    setup: &Setup,
    out: &Path,
    rows: &[Row],
    scores: &Scores,
    val: &Split,
) -> Result<report::Summary> {
    let mut summary = report::Summary::new(setup, rows, scores);
    summary.bump_shift = orbits::bump_shifts(model, setup, scores, val)?;
    report::write_summary(&out.join("summary.json"), &summary)?;
    report::plots(model, setup, out, rows, scores)?;
    if let Some(base) = scores.latents.first() {
        let k = model.ae.latent_dim();
        let decoded = orbits::decoded_orbits(model, setup, scores, &base[..k])?;
        orbits::orbits_png(&val.shape[2..], &decoded, out)?;
    }
    Ok(summary)
}

/// Refuses a folder that already holds a run (its checkpoint would be lost).
fn refuse_existing_run(out: &Path) -> Result<()> {
    if out.join(MODEL_FILE).exists() || out.join(STATE_FILE).exists() {
        return Err(config_err!(
            "{} already holds a training run; continue it with --resume, replace it with --force, or \
             choose another --out",
            out.display()
        ));
    }
    Ok(())
}

/// Writes model.safetensors and training_state.safetensors for position `pos`.
fn save(trainer: &Trainer, out: &Path, setup: &Setup, config: &str, pos: &Position) -> Result<()> {
    let mut meta = trainer.model.file_metadata(config);
    meta.insert("epochs_done".to_string(), pos.epoch.to_string());
    checkpoint::save(
        &out.join(MODEL_FILE),
        MODEL_FORMAT,
        &trainer.model.state(),
        &meta,
    )?;
    // The state file is the consistent snapshot a resume starts from: the weights travel with the
    // optimizer state, so a process killed between the two writes resumes from the older pair.
    let mut state: Vec<(String, Tensor)> = trainer
        .model
        .state()
        .into_iter()
        .map(|(n, t)| (format!("{SNAPSHOT}{n}"), t))
        .collect();
    state.extend(trainer.opt_ae.state("adam.ae")?);
    state.extend(trainer.opt_lie.state("adam.lie")?);
    state.extend(trainer.opt_disc.state("adam.disc")?);
    let mut meta = BTreeMap::new();
    meta.insert("config".to_string(), config.to_string());
    meta.insert("seed".to_string(), setup.seed.to_string());
    meta.insert("epoch".to_string(), pos.epoch.to_string());
    meta.insert("batch".to_string(), pos.batch.to_string());
    meta.insert("lie_word_pos".to_string(), pos.lie_word_pos.to_string());
    meta.insert("batches".to_string(), pos.batches.to_string());
    meta.insert("seconds".to_string(), format!("{:e}", pos.seconds));
    meta.insert(
        "sums".to_string(),
        pos.sums
            .iter()
            .map(|v| format!("{v:e}"))
            .collect::<Vec<_>>()
            .join(","),
    );
    for (name, opt) in [
        ("ae", &trainer.opt_ae),
        ("lie", &trainer.opt_lie),
        ("disc", &trainer.opt_disc),
    ] {
        meta.insert(format!("steps.{name}"), opt.steps().to_string());
    }
    checkpoint::save(&out.join(STATE_FILE), STATE_FORMAT, &state, &meta)
}

/// The sections of a resolved experiment that training reads, less the keys a resume may change
/// (`train.epochs`, `train.save_every`): two runs with equal ones train the same model.
#[derive(Deserialize, PartialEq)]
struct Trained {
    seed: u64,
    #[serde(default)]
    data: DataConfig,
    #[serde(default)]
    autoencoder: AutoencoderConfig,
    #[serde(default)]
    lie: LieConfig,
    #[serde(default)]
    discriminator: DiscriminatorConfig,
    #[serde(default)]
    train: TrainConfig,
}

impl Trained {
    /// The sections and the `train.epochs` they were set for.
    fn parse(text: &str, origin: &str) -> Result<(Self, usize)> {
        let mut t: Self = toml::from_str(text)
            .map_err(|e| config_err!("{origin}: {}", e.to_string().trim_end()))?;
        let epochs = std::mem::take(&mut t.train.epochs);
        t.train.save_every = 0;
        Ok((t, epochs))
    }
}

/// Restores the model, optimizers, position and earlier metric rows from the run folder `out`.
fn load(trainer: &mut Trainer, out: &Path, config: &str) -> Result<(Position, Vec<Row>)> {
    let model_path: PathBuf = out.join(MODEL_FILE);
    if !model_path.exists() {
        return Err(config_err!(
            "--resume: {} has no {MODEL_FILE} to continue from",
            out.display()
        ));
    }
    let state = Checkpoint::open(&out.join(STATE_FILE), STATE_FORMAT)?;
    let (saved, saved_epochs) = Trained::parse(state.meta("config")?, "the checkpoint's config")?;
    let (now, epochs) = Trained::parse(config, "the config")?;
    if saved != now {
        return Err(config_err!(
            "--resume: the config differs from the one {} was trained with (only train.epochs and \
             train.save_every may change); see {}",
            out.display(),
            out.join("config.toml").display()
        ));
    }
    // Weights from the state file's snapshot; a state file without one (written before snapshots
    // were kept) pairs with model.safetensors.
    if state.entries().any(|(n, _, _)| n.starts_with(SNAPSHOT)) {
        trainer
            .model
            .load(|n| state.tensor(&format!("{SNAPSHOT}{n}")))
            .map_err(|e| state.error(e))?;
    } else {
        let model = Checkpoint::open(&model_path, MODEL_FORMAT)?;
        trainer
            .model
            .load(|n| model.tensor(n))
            .map_err(|e| model.error(e))?;
    }
    let steps = |k: &str| state.meta_parse::<u64>(&format!("steps.{k}"));
    let (sa, sl, sd) = (steps("ae")?, steps("lie")?, steps("disc")?);
    trainer
        .opt_ae
        .load("adam.ae", sa, |n| state.tensor(n))
        .map_err(|e| state.error(e))?;
    trainer
        .opt_lie
        .load("adam.lie", sl, |n| state.tensor(n))
        .map_err(|e| state.error(e))?;
    trainer
        .opt_disc
        .load("adam.disc", sd, |n| state.tensor(n))
        .map_err(|e| state.error(e))?;
    let mut sums: Vec<f64> = state
        .meta("sums")?
        .split(',')
        .map(|v| {
            v.parse()
                .map_err(|_| state.error(format!("metadata `sums` has {v:?}")))
        })
        .collect::<Result<_>>()?;
    if sums.len() == N_TERMS - 1 {
        sums.push(0.0); // saved before the orbit term
    }
    let pos = Position {
        epoch: state.meta_parse("epoch")?,
        batch: state.meta_parse("batch")?,
        lie_word_pos: state.meta_parse("lie_word_pos")?,
        sums: sums
            .try_into()
            .map_err(|_| state.error(format!("metadata `sums` needs {N_TERMS} values")))?,
        batches: state.meta_parse("batches")?,
        seconds: state.meta_parse("seconds")?,
    };
    // The decayed epochs are the last ones: a new `train.epochs` moves them, which the epochs done
    // must not have reached yet for the run to stay the one a new run would train.
    let decay = now.train.lr_decay_epochs;
    if decay > 0 && epochs != saved_epochs && pos.epoch + decay > epochs.min(saved_epochs) {
        return Err(config_err!(
            "--resume: {} has run {} epochs with train.lr_decay_epochs = {decay} set for train.epochs \
             = {saved_epochs}; with train.epochs = {epochs} its learning-rate step would fall \
             elsewhere, so the run could not be the one a new run trains (start a new run instead)",
            out.display(),
            pos.epoch
        ));
    }
    let rows = report::read_metrics(&out.join("metrics.csv"), pos.epoch)?;
    Ok((pos, rows))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::experiment::Experiment;
    use crate::testing::max_abs_diff;

    #[test]
    fn batch_norm_refresh_makes_eval_mode_match_the_current_weights_and_changes_no_weight() {
        let exp: Experiment = Experiment::parse(
            "seed = 4\n[autoencoder]\nhidden = 8\nlayers = 2\n[train]\nbatch_size = 10000\nbn_refresh = 200",
            "test",
            &[],
        )
        .unwrap();
        // 3 trajectories × 1000 steps of a 3-D observation, far from standardized.
        let shape = [3, 1000, 3];
        let mut r = rng::stream(1, "data");
        let x: Vec<f32> = (0..9000)
            .map(|i| (rng::normal(&mut r) * 2.0 + (i % 3) as f64 * 5.0) as f32)
            .collect();
        let train = Split {
            shape: &shape,
            x: &x,
            dx: &[],
            t: &[],
        };
        let index = WindowIndex::new(3, 1000, 2, 1, 1, 0).unwrap();
        let model = LaLiGan::new(&exp.setup(), &[3], DType::F64, &Device::Cpu).unwrap();
        let all: Vec<usize> = (0..index.len()).collect();
        let xs = windows(
            &index,
            &train,
            &exp.setup(),
            &[3],
            &all,
            &mut Vec::new(),
            &Device::Cpu,
        )
        .unwrap()
        .to_dtype(DType::F64)
        .unwrap();
        let weights = |m: &LaLiGan| -> Vec<Tensor> {
            m.ae_params
                .vars()
                .values()
                .map(|v| v.as_tensor().copy().unwrap())
                .collect()
        };
        let before = weights(&model);
        let eval = |m: &LaLiGan| m.encode_windows(&xs, false).unwrap();
        let stale = eval(&model);

        // One batch holds every window, so each refresh pass sees the same statistics; 200 passes
        // leave 0.9²⁰⁰ of the initial running ones.
        refresh_batch_norm(&model, &exp.setup(), &index, &train, &[3], 1).unwrap();
        let fresh = eval(&model);
        let batch = model.encode_windows(&xs, true).unwrap();
        let (gap_before, gap_after) = (max_abs_diff(&stale, &batch), max_abs_diff(&fresh, &batch));
        // Left: the running variance is the unbiased one, ×N/(N−1) with N = 5 994 rows per layer.
        assert!(gap_before > 0.1, "{gap_before}");
        assert!(gap_after < 2e-3, "{gap_after} (before: {gap_before})");
        for (a, b) in before.iter().zip(weights(&model)) {
            assert_eq!(max_abs_diff(a, &b), 0.0);
        }
    }
}
