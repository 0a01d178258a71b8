#!/bin/sh
# bench_train.sh: training speed of srgan-train vs PyTorch, 2 threads each,
# run one after the other on the same machine (never at the same time).
#   MSRResNet 16x64 x4, batch 16 of 32x32 LR patches (128x128 HR), Adam:
#   psnr = L1; gan = L1 + VGG19 conv5_4 perceptual + PatchGAN (G and D steps).
# Usage: bench/bench_train.sh [BUILD_DIR] [STEPS]   (default build-train, 5)
# Prints each side's median seconds/step, the speed ratio and peak RSS
# (/usr/bin/time -v). Writes bench/out/bench_train.txt.
set -eu
BUILD=${1:-build-train}
STEPS=${2:-5}
SHARED=${SRGAN_SHARED:-../shared}
VGG=$SHARED/vgg19/vgg19_conv.safetensors
OUT=bench/out
mkdir -p "$OUT"
export OPENBLAS_NUM_THREADS=1
rss() { sed -n 's/.*Maximum resident set size (kbytes): //p' "$1"; }
med() { sed -n 's/^RESULT .*"median_s": \([0-9.]*\).*/\1/p' "$1" | head -n "${2:-1}" | tail -n 1; }

for phase in psnr gan; do
  /usr/bin/time -v "$BUILD/bench/bench_train" $phase "$STEPS" "$VGG" 2 \
      >"$OUT/c_$phase.txt" 2>"$OUT/c_$phase.time"
done
for loss in l1 l1+vgg+gan; do
  /usr/bin/time -v /usr/bin/python3 "$SHARED/peers/torch_ref_bench.py" train --threads 2 \
      --train-models msrresnet --losses "$loss" --steps "$STEPS" \
      >"$OUT/t_$loss.txt" 2>"$OUT/t_$loss.time"
done
{
  echo "# srgan-train vs PyTorch $(/usr/bin/python3 -c 'import torch; print(torch.__version__)'), 2 threads, median of $STEPS steps"
  printf '%-6s %12s %12s %8s %14s %14s\n' phase "C s/step" "torch s/step" "speedup" "C RSS MiB" "torch RSS MiB"
  for pair in "psnr l1" "gan l1+vgg+gan"; do
    set -- $pair
    c=$(med "$OUT/c_$1.txt"); t=$(med "$OUT/t_$2.txt")
    printf '%-6s %12s %12s %8s %14s %14s\n' "$1" "$c" "$t" \
      "$(echo "$t $c" | awk '{printf "%.2fx", $1 / $2}')" \
      "$(( $(rss "$OUT/c_$1.time") / 1024 ))" "$(( $(rss "$OUT/t_$2.time") / 1024 ))"
  done
} | tee "$OUT/bench_train.txt"
