#!/usr/bin/env bash
# The full reference Lotka–Volterra run of Latent LieGAN: 200 trajectories, every window start
# (1.96 M pairs 100 steps apart), batch 8192, 30 epochs, seed 43. Hours on a laptop CPU; not a test.
# Usage: scripts/lotka-volterra-full.sh [OUT_DIR]   (Ctrl-C saves; rerun with --resume to continue)
set -euo pipefail
out=${1:-runs/lotka-volterra-full}
cargo build --release
extra=()
[ -f "$out/model.safetensors" ] && extra=(--resume)
./target/release/laligan train --config models/lotka-volterra/config.toml --out "$out" "${extra[@]}"
