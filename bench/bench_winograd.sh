#!/bin/sh
# bench_winograd.sh: the Winograd F(4x4, 3x3) tables of bench/README.md.
#
#     bench/bench_winograd.sh [BUILD] [PART] [BASE_BUILD]
#
# PART: peak | conv | infer | process | torch | all (default all).
#  peak     single-core FMA-loop and sgemm GFLOP/s (bench_peak), pinned to CPU 1;
#  conv     3x3 forward GFLOP/s (direct-conv FLOPs) of im2col + sgemm, the AVX2
#           direct kernel and Winograd: 3 runs pinned to CPU 1 (one thread),
#           then 3 runs of one conv per core on both cores; medians of the runs
#           (each run is the best of its repeats, paths alternating);
#  infer    MSRResNet x4 (weights/x4-psnr.safetensors) on a 256x256 input,
#           compute only (bench_infer): prepared (Winograd) and not prepared
#           (the previous paths) alternately, 3 times, 1 thread pinned and 2 threads;
#  process  the whole srgan-up process on a 256x256 PNG, 1 and 2 threads, 3 times,
#           alternating with BASE_BUILD's srgan-up when given (a build of the
#           commit before Winograd);
#  torch    PyTorch fp32 channels_last on the same network and size, 1 and 2 threads.
# Background jobs skew every figure: stop them for the timed runs (the
# README's figures were taken with the training runs SIGSTOPped).
set -eu
here=$(cd "$(dirname "$0")" && pwd)
root=$(dirname "$here")
build=${1:-$root/build}
part=${2:-all}
base=${3:-}
weights=$root/weights/x4-psnr.safetensors
export OPENBLAS_NUM_THREADS=1

median_conv() { # "name path pass t1 t2" lines of 3 runs -> medians
    /usr/bin/python3 -c '
import re, sys, statistics, collections
d = collections.OrderedDict()
for line in sys.stdin:
    m = re.match(r"(.+?)\s+(gemm|direct-avx2|winograd)\s+forward\s+1 thread\s+([\d.]+) GFLOP/s(?:\s+2 threads\s+([\d.]+))?", line)
    if m:
        d.setdefault((m.group(1).strip(), m.group(2)), []).append((float(m.group(3)), float(m.group(4) or 0)))
for (name, path), v in d.items():
    print("%-26s %-11s 1 thread %7.1f  2 threads %7.1f  (%d runs)" % (name, path,
          statistics.median(a for a, _ in v), statistics.median(b for _, b in v), len(v)))'
}

if [ "$part" = peak ] || [ "$part" = all ]; then
    echo "== peak (one core)"
    taskset -c 1 "$build/bench/bench_peak" 5
fi
if [ "$part" = conv ] || [ "$part" = all ]; then
    echo "== 3x3 forward, one thread pinned to CPU 1, median of 3 runs"
    for r in 1 2 3; do taskset -c 1 "$build/bench/bench_conv" 3 1 wino; done | median_conv
    echo "== 3x3 forward, one conv per core, median of 3 runs"
    for r in 1 2 3; do "$build/bench/bench_conv" 3 0 wino; done | median_conv
fi
if [ "$part" = infer ] || [ "$part" = all ]; then
    echo "== MSRResNet x4, LR 256x256, compute only"
    for r in 1 2 3; do
        for p in 1 0; do
            taskset -c 1 "$build/bench/bench_infer" --size 256 --threads 1 --repeats 1 \
                --weights "$weights" --prepare $p | head -1
        done
    done
    for r in 1 2 3; do
        for p in 1 0; do
            "$build/bench/bench_infer" --size 256 --threads 2 --repeats 1 --weights "$weights" \
                --prepare $p | head -1
        done
    done
fi
if [ "$part" = process ] || [ "$part" = all ]; then
    echo "== whole srgan-up process, 256x256 PNG -> 1024x1024 PNG, x4-psnr"
    tmp=$(mktemp -d)
    trap 'rm -rf "$tmp"' EXIT
    convert "$root/samples/photo_lr.png" -resize 256x256! "$tmp/in.png"
    for t in 1 2; do
        for r in 1 2 3; do
            for b in "$build" $base; do
                /usr/bin/time -f "$b threads $t: %e s wall, %U s user, %S s system, %M KB" \
                    "$b/src/cli/srgan-up" -q --threads $t --overwrite "$tmp/in.png" "$tmp/out.png"
            done
        done
    done
fi
if [ "$part" = torch ] || [ "$part" = all ]; then
    echo "== PyTorch fp32 channels_last"
    for t in 1 2; do
        /usr/bin/python3 "$root/../shared/peers/torch_ref_bench.py" infer --models msrresnet \
            --modes channels_last --threads $t --repeats 3 | grep -i "result\|mp/s" || true
    done
fi
