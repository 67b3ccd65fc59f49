//! Threads: heavy work runs inside one rayon pool sized to the cores, so the GEMM workers and the thread
//! that drives the step never outnumber the cores (oversubscription costs 2–3× on small machines).

/// Runs `f` on a worker of the global rayon pool: the calling thread waits without competing for a core,
/// and parallel GEMMs inside `f` share the pool with the thread that runs `f`.
pub fn run<R: Send>(f: impl FnOnce() -> R + Send) -> R {
    let mut out = None;
    rayon::scope(|s| s.spawn(|_| out = Some(f())));
    out.expect("the spawned job ran")
}
