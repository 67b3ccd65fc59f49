//! Data-layer timings: building the 1.96 M Lotka–Volterra window index and gathering batches from it.
//! Run with `cargo bench --bench data`.

use laligan::data::WindowIndex;
use std::time::Instant;

fn main() {
    let (traj, steps) = (200, 10_000);
    let data: Vec<f32> = (0..traj * steps * 2).map(|i| i as f32).collect();
    let t = Instant::now();
    let w = WindowIndex::new(traj, steps, 2, 100, 1, 100).expect("valid index");
    let build = t.elapsed();
    let t = Instant::now();
    let mut order: Vec<usize> = (0..w.len()).collect();
    let mut s = laligan::rng::stream(0, "bench");
    for i in (1..order.len()).rev() {
        order.swap(i, laligan::rng::below(&mut s, i + 1));
    }
    let shuffle = t.elapsed();
    let t = Instant::now();
    let mut buf = Vec::new();
    let mut checksum = 0.0f64;
    for batch in order.chunks(8192) {
        w.gather(&data, 2, batch, &mut buf);
        checksum += buf[0] as f64;
    }
    let gather = t.elapsed();
    println!(
        "{{\"windows\": {}, \"build_ms\": {:.3}, \"shuffle_ms\": {:.1}, \"gather_epoch_ms\": {:.1}, \"checksum\": {checksum}}}",
        w.len(),
        build.as_secs_f64() * 1e3,
        shuffle.as_secs_f64() * 1e3,
        gather.as_secs_f64() * 1e3
    );
}
