#!/usr/bin/env bash
# Issue 10's table for x4 photo models: Y-PSNR (sr_eval.py, border 4) and the
# VGG19 perceptual distance (tools/perceptual_eval.py) on held-out inputs made
# by tools/make_real_eval.py: clean bicubic LR, bicubic + JPEG q75, and
# bicubic + Gaussian noise sigma 5 + JPEG q30..q90 (averaged over the five).
#
#   tools/eval_real.sh EVAL_DIR MODEL [MODEL ...]     (MODEL: a file, a name, or "bicubic")
#
# EVAL_DIR is make_real_eval.py's output (e.g. runs/eval_set5). SRGAN_UP_ARGS adds
# options to srgan-up (e.g. "--denoise 0.5"). Needs /usr/bin/python3 with
# numpy, PIL, scipy and torch. Prints one line per model and input set.
# srgan-up runs --precision fp32 unless SRGAN_UP_ARGS says otherwise (scores
# then do not depend on whether the CPU has AVX512-BF16).
set -euo pipefail
ev=$1; shift
root=$(cd "$(dirname "$0")/.." && pwd)
up=${SRGAN_UP:-$root/build/src/cli/srgan-up}
peers=$root/../shared/peers
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
for model in "$@"; do
  for set in clean jpeg75 mixed; do
    hr=$ev/hr; [ "$set" = mixed ] && hr=$ev/mixed_hr
    out=$tmp/$set; rm -rf "$out"; mkdir -p "$out"
    if [ "$model" = bicubic ]; then
      "$up" -q --method bicubic -x 4 -f png -o "$out" "$ev/$set"/*
    else
      # shellcheck disable=SC2086 # several options in one variable, split on purpose
      "$up" -q --precision fp32 ${SRGAN_UP_ARGS:-} -m "$model" -x 4 -f png -o "$out" "$ev/$set"/*
    fi
    p=$(/usr/bin/python3 "$peers/sr_eval.py" "$hr" "$out" --scale 4 --crop-to-match | sed -n 's/^RESULT //p')
    q=$(/usr/bin/python3 "$root/tools/perceptual_eval.py" "$hr" "$out" --scale 4 \
          --vgg "$root/../shared/vgg19/vgg19_conv.safetensors" | tail -1)
    printf '%s\t%s\tpsnr=%s\tperc=%s\n' "$(basename "$model")" "$set" \
      "$(echo "$p" | /usr/bin/python3 -c 'import json,sys; d=json.load(sys.stdin); print("%.3f" % d["psnr_y"])')" \
      "$(echo "$q" | sed -n 's/^RESULT //p' | /usr/bin/python3 -c 'import json,sys; print(json.load(sys.stdin)["vgg_lpips_uniform"])')"
  done
done
