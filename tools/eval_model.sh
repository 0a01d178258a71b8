#!/usr/bin/env bash
# Score a model with the standard SR protocol, exactly as ../shared/peers
# defines it: LR = MATLAB bicubic of the modcropped HR (make_lr.py), SR by
# srgan-up, PSNR/SSIM on Y with border = scale (sr_eval.py).
#
#   tools/eval_model.sh MODEL.safetensors SCALE [HR_DIR] [BUILD_DIR]
#
# HR_DIR defaults to ../shared/data/val/Set5. Needs Debian's python3-numpy,
# python3-pil and python3-scipy (run as /usr/bin/python3). Prints sr_eval.py's
# table; its last line is "RESULT {json}". MODEL may also be "bicubic".
# With EVAL_PERCEPTUAL=1 it then prints tools/perceptual_eval.py's table too
# (VGG19 LPIPS-style distance, lower is better; needs python3-torch).
# SRGAN_UP_ARGS adds options to srgan-up (e.g. SRGAN_UP_ARGS=--ensemble).
# srgan-up runs with --precision fp32 unless SRGAN_UP_ARGS says otherwise
# (SRGAN_UP_ARGS="--precision bf16"), so that scores do not depend on
# whether the CPU has AVX512-BF16 (srgan-up's default, auto, would use it).
set -euo pipefail
model=$1
scale=$2
root=$(cd "$(dirname "$0")/.." && pwd)
hr=${3:-$root/../shared/data/val/Set5}
build=${4:-$root/build}
peers=$root/../shared/peers
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
/usr/bin/python3 "$peers/make_lr.py" --hr "$hr" --lr-out "$tmp/lr" --scale "$scale" >/dev/null
if [ "$model" = bicubic ]; then
  /usr/bin/python3 "$peers/make_lr.py" --lr "$tmp/lr" --scale "$scale" --bicubic-out "$tmp/sr" >/dev/null
else
  # shellcheck disable=SC2086 # several options in one variable, split on purpose
  "$build/src/cli/srgan-up" -q --precision fp32 ${SRGAN_UP_ARGS:-} -m "$model" -x "$scale" -o "$tmp/sr" "$tmp"/lr/*.png
fi
/usr/bin/python3 "$peers/sr_eval.py" "$hr" "$tmp/sr" --scale "$scale" --crop-to-match
if [ "${EVAL_PERCEPTUAL:-0}" = 1 ]; then
  /usr/bin/python3 "$root/tools/perceptual_eval.py" "$hr" "$tmp/sr" --scale "$scale" \
    --vgg "$root/../shared/vgg19/vgg19_conv.safetensors"
fi
