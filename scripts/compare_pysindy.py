#!/usr/bin/env python3
"""laligan's STLSQ fit and `simulate` against pysindy's, on the same data. Run by hand, not in CI:

    python3 scripts/compare_pysindy.py [--runs 5] [--keep]

On first use it creates scripts/.venv-pysindy with pysindy 2.1 and re-runs itself there. It builds the
release binary, generates the reference Lotka-Volterra dataset (200 trajectories x 10 000 steps, 2 M
samples) into a temporary folder, and then

1. fits library {1, x, exp(x)} with STLSQ (threshold 0.1, no ridge, 20 iterations, unbiased) with
   `laligan bench fit` and with pysindy on the identical float64 rows; checks that every coefficient
   agrees to 1e-6 and prints both fit times (median of --runs, after a warm-up) and their ratio;
2. integrates the 2-D model with every term of 1 + poly(3) that `laligan bench simulate` uses for
   10 000 steps of dt = 0.02 with pysindy's `simulate` (scipy's solve_ivp) and prints both times and
   the two final states.

Exit status 0 when the coefficients agree.
"""

import json
import struct
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import script_venv

ROOT = Path(__file__).resolve().parent.parent
BIN = ROOT / "target" / "release" / "laligan"
CONFIG = ROOT / "models" / "sindy-lotka-volterra" / "config.toml"


def read_split(path, split):
    """x and dx of a split of a laligan dataset file as float64 rows [n, d] (safetensors, f32)."""
    import numpy as np

    with open(path, "rb") as f:
        n = struct.unpack("<Q", f.read(8))[0]
        header = json.loads(f.read(n))
        base = 8 + n
        out = []
        for name in (f"{split}.x", f"{split}.dx"):
            h = header[name]
            assert h["dtype"] == "F32", f"{name}: {h['dtype']}"
            a, b = h["data_offsets"]
            f.seek(base + a)
            arr = np.frombuffer(f.read(b - a), dtype="<f4").reshape(h["shape"])
            out.append(arr.reshape(-1, h["shape"][-1]).astype(np.float64))
    return out


def laligan(*args):
    r = subprocess.run([str(BIN), "-q", *args], check=True, capture_output=True, text=True)
    return r.stdout


def median(v):
    v = sorted(v)
    return v[len(v) // 2]


def main():
    script_venv.ensure("pysindy", ["pysindy==2.1.0"])
    import argparse

    import numpy as np
    import pysindy as ps

    ap = argparse.ArgumentParser()
    ap.add_argument("--runs", type=int, default=5, help="timed repetitions of each fit")
    ap.add_argument("--keep", action="store_true", help="keep the generated dataset")
    args = ap.parse_args()

    subprocess.run(["cargo", "build", "--release", "--quiet"], cwd=ROOT, check=True)
    tmp = Path(tempfile.mkdtemp(prefix="compare_pysindy_"))
    data = tmp / "lotka-volterra.safetensors"
    print("generating the Lotka-Volterra dataset ...", flush=True)
    laligan("data", "generate", "lotka-volterra", "--out", str(data))

    # 1. STLSQ on raw LV
    ours = json.loads(laligan("bench", "fit", "--config", str(CONFIG), "--data", str(data),
                              "--runs", str(args.runs)))
    x, dx = read_split(data, "train")
    lib = ps.PolynomialLibrary(degree=1, include_bias=True) + ps.CustomLibrary(
        library_functions=[lambda v: np.exp(v)], function_names=[lambda s: f"exp({s})"])
    times = []
    for r in range(args.runs + 1):
        model = ps.SINDy(optimizer=ps.STLSQ(threshold=0.1, alpha=0.0, max_iter=20),
                         feature_library=lib)
        t0 = time.perf_counter()
        model.fit(x, t=0.002, x_dot=dx)
        if r > 0:
            times.append(time.perf_counter() - t0)
    names = model.get_feature_names()
    coef = model.coefficients()
    worst = 0.0
    for i, row in enumerate(ours["coefficients"]):
        for term, c in zip(ours["terms"], row):
            theirs = coef[i][names.index(term)]
            worst = max(worst, abs(c - theirs))
    t_ps, t_us = median(times), ours["median_s"]
    print(f"STLSQ, raw Lotka-Volterra, {ours['samples']} samples, library {ours['library']}:")
    for i, row in enumerate(ours["coefficients"]):
        eq = " ".join(f"{c:+.6f} {t}" for t, c in zip(ours["terms"], row) if c != 0.0)
        print(f"  laligan  dx{i}/dt = {eq}")
        eq = " ".join(f"{c:+.6f} {t}" for t, c in zip(names, coef[i]) if c != 0.0)
        print(f"  pysindy  dx{i}/dt = {eq}")
    print(f"  largest coefficient difference {worst:.2e} (must be <= 1e-6)")
    print(f"  fit time: laligan {t_us * 1e3:.1f} ms, pysindy {t_ps * 1e3:.1f} ms "
          f"(medians of {args.runs}): laligan {t_ps / t_us:.1f}x faster")

    # 2. simulate: the model of `laligan bench simulate`
    sim = json.loads(laligan("bench", "simulate", "--runs", "20"))
    plib = ps.PolynomialLibrary(degree=3, include_bias=True)
    m = ps.SINDy(optimizer=ps.STLSQ(threshold=0.0), feature_library=plib)
    z = np.random.default_rng(0).normal(size=(50, 2))
    m.fit(z, t=0.02, x_dot=z)
    pnames = [n.replace(" ", "*") for n in m.get_feature_names()]
    xi = np.array([[1e-3 * (i * 10 + j + 1) for j in range(10)] for i in range(2)])
    order = ["1", "x0", "x1", "x0^2", "x0*x1", "x1^2", "x0^3", "x0^2*x1", "x0*x1^2", "x1^3"]
    xi[0][order.index("x1")], xi[1][order.index("x0")] = 1.0, -1.0
    xi[0][order.index("x0")], xi[1][order.index("x1")] = -0.01, -0.01
    m.optimizer.coef_ = np.array([[row[order.index(n)] for n in pnames] for row in xi])
    t = np.arange(sim["steps"] + 1) * 0.02
    times = []
    for _ in range(3):
        t0 = time.perf_counter()
        traj = m.simulate(np.array([0.5, 0.0]), t)
        times.append(time.perf_counter() - t0)
    print(f"simulate, 2-D model with all 10 terms of 1 + poly(3), {sim['steps']} steps of dt = 0.02:")
    print(f"  laligan RK4 {sim['median_ms']:.2f} ms (median of 20), pysindy simulate (solve_ivp) "
          f"{median(times) * 1e3:.1f} ms (median of 3): laligan "
          f"{median(times) * 1e3 / sim['median_ms']:.0f}x faster")
    print(f"  final z0: laligan {sim['final_z0']:.6f}, pysindy {traj[-1][0]:.6f}")

    if args.keep:
        print(f"dataset kept in {data}")
    else:
        data.unlink()
        tmp.rmdir()
    print(f"coefficients {'agree' if worst <= 1e-6 else 'DIFFER'} (max diff {worst:.2e}); "
          f"fit {t_ps / t_us:.1f}x faster, simulate {median(times) * 1e3 / sim['median_ms']:.0f}x faster")
    return 0 if worst <= 1e-6 else 1


if __name__ == "__main__":
    sys.exit(main())
