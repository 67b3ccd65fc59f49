#!/usr/bin/env bash
# Builds laligan with candle's CUDA backend (`--features cuda`) on a machine without a GPU or a CUDA
# installation: the CUDA 13.0 toolkit comes from NVIDIA's wheels on PyPI (nvcc, runtime, cuBLAS, cuRAND,
# NVRTC) into target/cuda/venv, a link folder gets unversioned names for their libraries and a stub
# libcuda.so (soname libcuda.so.1: the GPU machine's driver provides the real one), and cargo builds
# target/cuda/release/laligan (its own build folder, so the CPU build in target/release stays).
# Idempotent: a second run reuses the toolkit, the link folder and the build. The feature links candle's
# CUDA backend in; `device = "cuda"` in a config or `--device cuda` on a command selects it.
#
#   scripts/build-cuda.sh [COMPUTE_CAP]     # default 90 (H100/H200)
#
# On the GPU machine: LD_LIBRARY_PATH=/usr/local/cuda/lib64:$LD_LIBRARY_PATH target/cuda/release/laligan ...
set -euo pipefail
cd "$(dirname "$0")/.."
cap="${1:-${CUDA_COMPUTE_CAP:-90}}"
root="$PWD/target/cuda"
venv="$root/venv"
link="$root/link"
mkdir -p "$root"

if [ ! -x "$venv/bin/python" ]; then
    python3 -m venv "$venv"
fi
"$venv/bin/pip" install -q \
    nvidia-cuda-nvcc==13.0.88 nvidia-cuda-runtime==13.0.88 nvidia-cuda-cccl==13.0.85 \
    nvidia-cuda-crt==13.0.88 nvidia-nvvm==13.0.88 nvidia-cuda-nvrtc==13.0.88 \
    nvidia-curand==10.4.0.35 nvidia-cublas==13.0.0.19
cu=$("$venv/bin/python" -c 'import nvidia, os; print(os.path.join(nvidia.__path__[0], "cu13"))')
[ -x "$cu/bin/nvcc" ] || { echo "no nvcc in $cu/bin" >&2; exit 1; }

# Unversioned names for the linker (-lcudart -lcublas -lcublasLt -lcurand -lnvrtc).
mkdir -p "$link"
for lib in "$cu"/lib/lib*.so.*; do
    name=$(basename "$lib")
    ln -sfn "$lib" "$link/${name%%.so.*}.so"
done

# A stub libcuda.so with every driver function cudarc declares, so that the binary links here; at run
# time the driver's libcuda.so.1 is loaded instead.
if [ ! -f "$link/libcuda.so" ]; then
    cudarc=$(cargo metadata --format-version 1 --features cuda 2>/dev/null |
        "$venv/bin/python" -c 'import json, sys
for p in json.load(sys.stdin)["packages"]:
    if p["name"] == "cudarc":
        print(p["manifest_path"].rsplit("/", 1)[0]); break')
    [ -n "$cudarc" ] || { echo "cudarc not found in cargo metadata (run cargo fetch)" >&2; exit 1; }
    grep -rhoE 'pub (unsafe )?fn cu[A-Za-z0-9_]+' "$cudarc/src/driver/sys/" | awk '{print $NF}' |
        sort -u | sed 's/.*/void &(void) {}/' > "$link/cuda_stub.c"
    gcc -shared -fPIC -Wl,-soname,libcuda.so.1 -o "$link/libcuda.so" "$link/cuda_stub.c"
fi

export PATH="$cu/bin:$PATH"
export CUDA_ROOT="$cu" CUDA_PATH="$cu" CUDA_TOOLKIT_ROOT_DIR="$cu"
export CUDA_COMPUTE_CAP="$cap"
export RUSTFLAGS="${RUSTFLAGS:-} -L native=$link"
export CARGO_TARGET_DIR="$root"
cargo build --release --features cuda --bin laligan
echo "built target/cuda/release/laligan with CUDA (compute capability $cap)"
