//! Threads: heavy work runs inside one rayon pool sized to the cores, so the GEMM workers and the thread
//! that drives the step never outnumber the cores (oversubscription costs 2–3× on small machines).

/// Process-wide thread settings; call once at start-up, before any tensor work. candle runs element-wise
/// ops on a pool of its own whose workers spin (25 000 rounds by default) after each op before they park:
/// between the ops of a training step they compete with the GEMM workers for the cores. Parking at once
/// makes a pendulum training step (batch 256) 15 % faster and one of batch 64 30 % faster on 2 cores
/// (`laligan bench train-step`). An explicit `CANDLE_BARRIER_POOL_SPIN_LIMIT` is kept.
pub fn configure() {
    const SPIN: &str = "CANDLE_BARRIER_POOL_SPIN_LIMIT";
    if std::env::var_os(SPIN).is_none() {
        // Still single-threaded here: nothing reads the environment concurrently.
        std::env::set_var(SPIN, "0");
    }
}

/// Runs `f` on a worker of the global rayon pool: the calling thread waits without competing for a core,
/// and parallel GEMMs inside `f` share the pool with the thread that runs `f`.
pub fn run<R: Send>(f: impl FnOnce() -> R + Send) -> R {
    let mut out = None;
    rayon::scope(|s| s.spawn(|_| out = Some(f())));
    out.expect("the spawned job ran")
}
