#!/bin/sh
# bench_infer.sh: MSRResNet x4 (16 blocks, 64 channels, random weights) on a
# 256x256 input with 2 threads, in C (tiled stage) and in PyTorch
# (../shared/peers/torch_ref_bench.py infer: eager and channels_last fp32),
# with OPENBLAS_CORETYPE as set in the environment and unset.
#
#     bench/bench_infer.sh [BUILD_DIR]     (default: build)
#
# Also prints the C peak RSS for a 2048x2048 input (tiled), and the whole
# srgan-up process (PNG decode, model load, inference, PNG encode) on a
# 256x256 PNG with the shipped x4 model, 1 and 2 threads: wall, user, system
# seconds and peak RSS (/usr/bin/time), next to the compute-only figures.
# PyTorch modes: fp32 eager and channels_last, and bf16 autocast +
# channels_last (fast only on CPUs with AVX512-BF16). Noisy on a shared
# machine: compare figures from the same run only.
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
    /usr/bin/python3 "$torch_bench" infer --models msrresnet --modes eager,channels_last,bf16_channels_last \
        --threads 2 --repeats 3
    echo "== PyTorch, OPENBLAS_CORETYPE unset"
    env -u OPENBLAS_CORETYPE /usr/bin/python3 "$torch_bench" infer --models msrresnet \
        --modes eager,channels_last,bf16_channels_last --threads 2 --repeats 3
else
    echo "bench_infer.sh: $torch_bench absent: PyTorch side skipped"
fi
echo "== C peak RSS, 2048x2048 input (tiled, 1 repeat)"
"$bin" --size 2048 --threads 2 --repeats 1
echo "== whole srgan-up process, 256x256 PNG -> 1024x1024 PNG, shipped x4 model"
up=$build/src/cli/srgan-up
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
if command -v convert >/dev/null 2>&1 && [ -x "$up" ]; then
    convert "$root/samples/photo_lr.png" -resize 256x256! "$tmp/in.png"
    for t in 1 2; do
        for r in 1 2 3; do
            /usr/bin/time -f "threads $t: %e s wall, %U s user, %S s system, peak RSS %M KB" \
                "$up" -q --threads $t --overwrite "$tmp/in.png" "$tmp/out.png"
        done
    done
else
    echo "bench_infer.sh: ImageMagick convert or $up missing: whole-process run skipped"
fi
