//! Timing of one full training step of a given architecture on random data (`laligan bench train-step`).

use super::Setup;
use super::{LaLiGan, Trainer};
use crate::rng;
use candle_core::{DType, Tensor};
use serde::Serialize;

/// Timings of `steps` steps at one batch size, in milliseconds.
#[derive(Clone, Debug, Serialize)]
pub struct StepBench {
    pub batch: usize,
    pub median_ms: f64,
    pub min_ms: f64,
    pub max_ms: f64,
    pub forward_ms: f64,
    pub backward_ms: f64,
    pub optimizer_ms: f64,
}

fn median(v: &mut [f64]) -> f64 {
    v.sort_by(f64::total_cmp);
    v[v.len() / 2]
}

/// Times `steps` training steps (after one warm-up step) of the model of `exp` on standard normal
/// windows of observations of shape `obs`, batch `batch`, f32. Reports medians per part.
pub fn train_step(
    setup: &Setup,
    obs: &[usize],
    batch: usize,
    steps: usize,
) -> crate::Result<StepBench> {
    let dev = setup.device.resolve()?;
    let model = LaLiGan::new(setup, obs, DType::F32, &dev)?;
    let mut trainer = Trainer::new(model, setup.train)?;
    let mut r = rng::stream(setup.seed, "bench");
    let obs_len: usize = obs.iter().product();
    let n = batch * setup.data.window * obs_len;
    let data: Vec<f32> = (0..n).map(|_| rng::normal(&mut r) as f32).collect();
    let mut shape = vec![batch, setup.data.window];
    shape.extend(obs);
    let x = Tensor::from_vec(data, shape, &dev)?;
    let (mut total, mut fw, mut bw, mut opt) = (vec![], vec![], vec![], vec![]);
    for i in 0..=steps.max(1) {
        let w = trainer.model.rep.sample(
            batch,
            setup.lie.sampling,
            setup.lie.sigma,
            &mut r,
            DType::F32,
            &dev,
        )?;
        let t0 = std::time::Instant::now();
        let (_, t) = trainer.step(setup.train, setup.lie, &x, &w)?;
        let el = t0.elapsed().as_secs_f64() * 1e3;
        if i > 0 {
            total.push(el);
            fw.push(t.forward * 1e3);
            bw.push(t.backward * 1e3);
            opt.push(t.optimizer * 1e3);
        }
    }
    Ok(StepBench {
        batch,
        min_ms: total.iter().cloned().fold(f64::INFINITY, f64::min),
        max_ms: total.iter().cloned().fold(0.0, f64::max),
        median_ms: median(&mut total),
        forward_ms: median(&mut fw),
        backward_ms: median(&mut bw),
        optimizer_ms: median(&mut opt),
    })
}
