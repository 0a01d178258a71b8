#!/bin/sh
# bench_infer.sh: MSRResNet x4 (16 blocks, 64 channels, random weights) on a
# 256x256 input with 2 threads, in C (tiled stage) and in PyTorch
# (../shared/peers/torch_ref_bench.py infer: eager and channels_last fp32),
# with OPENBLAS_CORETYPE as set in the environment and unset.
#
#     bench/bench_infer.sh [BUILD_DIR]     (default: build)
#
# Also prints the C peak RSS for a 2048x2048 input (tiled). Noisy on a
# shared machine: compare figures from the same run only.
set -eu
here=$(cd "$(dirname "$0")" && pwd)
root=$(dirname "$here")
build=${1:-$root/build}
bin=$build/bench/bench_infer
torch_bench=$root/../shared/peers/torch_ref_bench.py
[ -x "$bin" ] || { echo "bench_infer.sh: $bin not built (ninja -C $build)" >&2; exit 1; }

echo "== C, OPENBLAS_CORETYPE=${OPENBLAS_CORETYPE:-(unset)}"
"$bin" --size 256 --threads 2 --repeats 3
echo "== C, OPENBLAS_CORETYPE unset"
env -u OPENBLAS_CORETYPE "$bin" --size 256 --threads 2 --repeats 3
if [ -f "$torch_bench" ]; then
    echo "== PyTorch, OPENBLAS_CORETYPE=${OPENBLAS_CORETYPE:-(unset)}"
    /usr/bin/python3 "$torch_bench" infer --models msrresnet --modes eager,channels_last \
        --threads 2 --repeats 3
    echo "== PyTorch, OPENBLAS_CORETYPE unset"
    env -u OPENBLAS_CORETYPE /usr/bin/python3 "$torch_bench" infer --models msrresnet \
        --modes eager,channels_last --threads 2 --repeats 3
else
    echo "bench_infer.sh: $torch_bench absent: PyTorch side skipped"
fi
echo "== C peak RSS, 2048x2048 input (tiled, 1 repeat)"
"$bin" --size 2048 --threads 2 --repeats 1
