#!/usr/bin/env bash
# The GPU check of the `cuda` build, run from the repository root on a machine with an NVIDIA GPU and
# its driver (no Rust toolchain needed): the binary comes from scripts/build-cuda.sh on any machine.
#
#   scripts/gpu-check.sh [BINARY]       # default target/cuda/release/laligan
#
# Prints, in order:
#   1. the GPU;
#   2. `bench train-step --device cuda` at batch 64, 256, 8 192 and 65 536 (the pendulum architecture,
#      5×512; a PyTorch implementation takes 17 / 18 / 20 / 81 ms per step on one H200);
#   3. the tiny test experiment (tests/fixtures/tiny-pendulum.toml) trained for 2 epochs on the CPU and
#      on CUDA with the same seed, and the largest difference of their losses, scores and generators;
#   4. seconds per epoch of models/lotka-volterra at its reference size (1.96 M windows, batch 8 192),
#      2 epochs on CUDA (target ≤ 10 s).
# Everything it writes goes to a temporary folder (data cache included), removed at the end.
set -euo pipefail
cd "$(dirname "$0")/.."
bin="$(realpath "${1:-target/cuda/release/laligan}")"
[ -x "$bin" ] || { echo "no binary at $bin: build it with scripts/build-cuda.sh" >&2; exit 1; }
export LD_LIBRARY_PATH="/usr/local/cuda/lib64:${LD_LIBRARY_PATH:-}"
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
export LALIGAN_CACHE="$work/cache"

echo "== 1. GPU"
nvidia-smi --query-gpu=name,driver_version,memory.total --format=csv,noheader
"$bin" --version

echo "== 2. bench train-step --device cuda (ms per step; the first call compiles the kernels)"
"$bin" bench train-step --device cuda --batch 64,256,8192,65536 --steps 20

echo "== 3. tiny experiment, 2 epochs, cpu vs cuda (same seed)"
for dev in cpu cuda; do
    "$bin" -q train --config tests/fixtures/tiny-pendulum.toml --out "$work/tiny-$dev" \
        --device "$dev" --set train.save_every=0 > /dev/null
done
python3 - "$work/tiny-cpu/summary.json" "$work/tiny-cuda/summary.json" <<'PY'
import json, sys
a, b = (json.load(open(p)) for p in sys.argv[1:3])
def flat(v):
    if isinstance(v, list):
        return [x for e in v for x in flat(e)]
    return [v] if isinstance(v, (int, float)) and not isinstance(v, bool) else []
rows = [(f"loss {k}", a["final_losses"][k], b["final_losses"][k]) for k in a["final_losses"]]
for k in ["recon_mse", "disc_acc", "imag_ratio", "skew_ratio", "orbit_cv", "generators"]:
    for i, (x, y) in enumerate(zip(flat(a[k]), flat(b[k]))):
        rows.append((f"{k}[{i}]" if len(flat(a[k])) > 1 else k, x, y))
worst_abs = worst_rel = 0.0
for name, x, y in rows:
    d = abs(x - y)
    r = d / max(abs(x), abs(y), 1e-3)
    worst_abs, worst_rel = max(worst_abs, d), max(worst_rel, r)
    print(f"{name:>16}  cpu {x: .6e}  cuda {y: .6e}  |diff| {d:.1e}")
print(f"largest difference cpu vs cuda: {worst_abs:.2e} absolute, {worst_rel:.2e} relative "
      f"(seconds per epoch: cpu {a['seconds_per_epoch']:.2f}, cuda {b['seconds_per_epoch']:.2f})")
PY

echo "== 4. lotka-volterra at reference size, 2 epochs on cuda (its data is generated first, untimed)"
"$bin" train --config models/lotka-volterra/config.toml --out "$work/lv" --device cuda \
    --set train.epochs=2 --set train.save_every=0 > /dev/null
cat "$work/lv/metrics.csv"
python3 - "$work/lv/summary.json" <<'PY'
import json, sys
s = json.load(open(sys.argv[1]))
print(f"lotka-volterra on cuda: {s['seconds_per_epoch']:.2f} s per epoch (target <= 10), "
      f"recon_mse {s['recon_mse']:.3e}, imag_ratio {s['imag_ratio']}")
PY
