#!/bin/sh
# bench_compare.sh: srgan-up against PyTorch's fastest CPU modes, side by side
# in one run, contenders alternated round by round, medians of ROUNDS rounds.
#
#     bench/bench_compare.sh [BUILD_DIR] [ROUNDS]     (default: build, 3)
#     BENCH_SIZE=32 BENCH_NO_TRAIN=1 bench/bench_compare.sh build 1   (checks the script)
#
# MSRResNet x4 16x64 with the shipped weights/x4-psnr.safetensors, LR 256x256
# -> 1024x1024, one thread pinned to core 1 (taskset -c 1) and 2 threads:
#   - compute only: bench/bench_infer (fp32; bf16 too where the build and the
#     CPU have it) and ../shared/peers/torch_ref_bench.py infer with
#     --modes channels_last,bf16_channels_last (each after its own warm-ups);
#   - what a user sees: the whole srgan-up process (PNG decode, model load,
#     inference, PNG encode), wall / user / system seconds and peak RSS from
#     /usr/bin/time;
#   - training steps (bench_train: batch 16 of 32x32 LR, random data): psnr
#     and gan, 1 thread pinned and 2 threads, fp32 and (on AMX CPUs) bf16,
#     against torch_ref_bench.py train (l1; l1+vgg+gan; fp32, its only
#     training mode), unless BENCH_NO_TRAIN=1.
# Nothing else should run meanwhile (pause a training run with kill -STOP).
# OPENBLAS_CORETYPE is left as found; run again with it unset to compare.
# Prints one table of medians; raw lines go to bench/out/compare_raw.txt.
set -eu
here=$(cd "$(dirname "$0")" && pwd)
root=$(dirname "$here")
build=${1:-$root/build}
rounds=${2:-3}
size=${BENCH_SIZE:-256} # a smaller one checks the script quickly
shared=${SRGAN_SHARED:-$root/../shared}
torch_bench=$shared/peers/torch_ref_bench.py
vgg=$shared/vgg19/vgg19_conv.safetensors
weights=$root/weights/x4-psnr.safetensors
bin=$build/bench/bench_infer
trainbin=$build/bench/bench_train
up=$build/src/cli/srgan-up
out=$root/bench/out
mkdir -p "$out"
raw=$out/compare_raw.txt
: >"$raw"
export OPENBLAS_NUM_THREADS=1
for f in "$bin" "$trainbin" "$up"; do
    [ -x "$f" ] || { echo "bench_compare.sh: $f not built (ninja -C $build)" >&2; exit 1; }
done
[ -f "$torch_bench" ] || { echo "bench_compare.sh: $torch_bench missing" >&2; exit 1; }
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
/usr/bin/python3 -c "
from PIL import Image
Image.open('$root/samples/photo_lr.png').convert('RGB').resize(($size, $size), Image.BICUBIC).save('$tmp/in.png')"

pin() { if [ "$1" = 1 ]; then echo "taskset -c 1"; else echo ""; fi; }
# record KEY VALUE
record() { echo "$1 $2" >>"$raw"; }
bf16=0
if "$bin" --size 16 --threads 1 --repeats 1 --weights "$weights" --precision bf16 >/dev/null 2>&1; then
    bf16=1
fi
amx=0 # bf16 training needs AMX or AVX512-BF16: bench_train refuses it elsewhere
if [ "${BENCH_NO_TRAIN:-0}" != 1 ] && "$trainbin" psnr 1 "$vgg" 1 bf16 >/dev/null 2>&1; then
    amx=1
fi

# PyTorch's bf16 mode is emulated where the CPU has neither AVX512-BF16 nor
# AMX (Zen 3: 249 s against 11 s fp32 for one 256^2 image, 12 minutes with its
# two warm-ups), so there fp32 channels_last is its fastest mode and bf16 is
# not run, unless BENCH_TORCH_BF16=1.
torch_modes=channels_last,bf16_channels_last
if [ "${BENCH_TORCH_BF16:-}" != 1 ] && ! grep -q -w -E 'avx512_bf16|amx_bf16' /proc/cpuinfo; then
    torch_modes=channels_last
    echo "# no bf16 instructions on this CPU: PyTorch's bf16 mode is not run (BENCH_TORCH_BF16=1 runs it)"
fi
for r in $(seq "$rounds"); do
    for t in 1 2; do
        # C compute only, fp32 (and bf16)
        s=$($(pin $t) "$bin" --size $size --threads $t --repeats 1 --weights "$weights" |
            sed -n 's/^RESULT .*"median_s": \([0-9.]*\).*/\1/p')
        record "c_fp32_t$t" "$s"
        if [ $bf16 = 1 ]; then
            s=$($(pin $t) "$bin" --size $size --threads $t --repeats 1 --weights "$weights" --precision bf16 |
                sed -n 's/^RESULT .*"median_s": \([0-9.]*\).*/\1/p')
            record "c_bf16_t$t" "$s"
        fi
        # PyTorch, its two fastest modes (its own 2 warm-ups, then 1 run)
        $(pin $t) /usr/bin/python3 "$torch_bench" infer --models msrresnet \
            --modes "$torch_modes" --threads $t --repeats 1 --lr-size $size >"$tmp/torch.txt" 2>&1 || true
        /usr/bin/python3 - "$tmp/torch.txt" "$t" >>"$raw" <<'EOF'
import json, sys
for line in open(sys.argv[1]):
    if line.startswith("RESULT"):
        d = json.loads(line[len("RESULT"):])
        if d.get("bench") == "infer" or "mode" in d:
            print("torch_%s_t%s %s" % (d["mode"], sys.argv[2], d["median_s"]))
EOF
        # the whole srgan-up process, both precisions where they exist
        for prec in fp32 bf16; do
            [ $prec = fp32 ] || [ $bf16 = 1 ] || continue
            pa=""
            [ $prec = fp32 ] || pa="--precision bf16"
            /usr/bin/time -f "%e %U %S %M" -o "$tmp/time.txt" $(pin $t) "$up" -q --threads $t --overwrite \
                --precision $prec "$tmp/in.png" "$tmp/out.png" 2>/dev/null ||
                /usr/bin/time -f "%e %U %S %M" -o "$tmp/time.txt" $(pin $t) "$up" -q --threads $t \
                    --overwrite "$tmp/in.png" "$tmp/out.png"
            read -r wall user sys rss <"$tmp/time.txt"
            record "up_${prec}_wall_t$t" "$wall"
            record "up_${prec}_sysshare_t$t" "$(echo "$user $sys" | awk '{printf "%.3f", $2 / ($1 + $2)}')"
            record "up_${prec}_rss_mb_t$t" "$((rss / 1024))"
        done
    done
    if [ "${BENCH_NO_TRAIN:-0}" != 1 ]; then
        for t in 1 2; do
            for phase in psnr gan; do
                s=$($(pin $t) "$trainbin" $phase 3 "$vgg" $t | sed -n 's/^RESULT .*"median_s": \([0-9.]*\).*/\1/p')
                record "c_train_${phase}_t$t" "$s"
                if [ $amx = 1 ]; then # srgan-train --precision bf16 (AMX or AVX512-BF16)
                    s=$($(pin $t) "$trainbin" $phase 3 "$vgg" $t bf16 | sed -n 's/^RESULT .*"median_s": \([0-9.]*\).*/\1/p')
                    record "c_train_${phase}_bf16_t$t" "$s"
                fi
            done
            for loss in l1 l1+vgg+gan; do
                $(pin $t) /usr/bin/python3 "$torch_bench" train --threads $t --train-models msrresnet \
                    --losses "$loss" --steps 3 >"$tmp/tt.txt" 2>&1 || true
                s=$(sed -n 's/^RESULT .*"median_s": \([0-9.]*\).*/\1/p' "$tmp/tt.txt" | head -n 1)
                record "torch_train_${loss}_t$t" "${s:-nan}"
            done
        done
    fi
done

echo "# bench_compare.sh: $rounds rounds, medians; $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2);" \
    "bf16 in srgan-up: $bf16; bf16 training: $amx; OPENBLAS_CORETYPE=${OPENBLAS_CORETYPE:-(unset)}"
awk '{v[$1] = v[$1] " " $2; n[$1]++} END {for (k in v) print k, v[k]}' "$raw" | sort |
    while read -r key vals; do
        med=$(echo "$vals" | tr ' ' '\n' | grep -v '^$' | sort -g | awk '{a[NR] = $1} END {print a[int((NR + 1) / 2)]}')
        printf '%-32s %10s   (%s)\n' "$key" "$med" "$(echo $vals)"
    done
