#!/bin/sh
# srgan-train as a batch job sees it (stderr a file, no terminal): plain
# status lines, and what a resume with another --iters does.
# Usage (from meson): test_train_cli.sh SRGAN_TRAIN IMGTOOL
set -u
TR=$(readlink -f "$1")
IMG=$(readlink -f "$2")
T=${SRGAN_TMPDIR:-/tmp}/train_cli.$$
rm -rf "$T"
mkdir -p "$T/hr"
cd "$T" || exit 2
. "$(dirname "$0")/../testlib.sh" # pass/fail counters, ok, bad, check
not_grep() { ! grep -q -- "$1" "$2"; }
not_cr() { ! grep -q "$(printf "\r")" "$1"; }
for k in 1 2 3; do "$IMG" make "hr/img$k.png" 40 36 3 u8 || exit 2; done
tiny="--hr hr --scale 2 --blocks 1 --features 8 --batch 2 --patch 16 --threads 1 --val-every 4 --val hr"

# every 2 iterations: lines at 2, 4 (a validation), 6, with losses, speed, ETA, validation
"$TR" $tiny --out run --iters 6 --status-every 2 2> log.txt
rc=$?
cat log.txt
check "training runs (0)" [ $rc -eq 0 ]
check "a status line at iteration 2" grep -q '^srgan-train: \[psnr\] it 2/6 (33.3%)  pix [0-9.e-]*  [0-9.]* it/s  ETA ' log.txt
check "and at 4 and 6" [ "$(grep -c '^srgan-train: \[psnr\] it [46]/6 ' log.txt)" -eq 2 ]
check "the last validation, with its iteration" grep -q 'it 6/6 .*val [0-9.]* dB (it 6)' log.txt
check "no carriage returns (no live line without a terminal)" not_cr log.txt
# default without a terminal: one line every 60 s, and the last one
"$TR" $tiny --out run_default --iters 3 2> log.txt
check "default: the final status line" grep -q '^srgan-train: \[psnr\] it 3/3 ' log.txt
"$TR" $tiny --out run_off --iters 3 --status-every 0 2> log.txt
check "--status-every 0: no status lines" not_grep '\[psnr\] it' log.txt
"$TR" $tiny --out run_quiet --iters 3 --quiet 2> log.txt
check "--quiet: nothing" [ ! -s log.txt ]
# resume with more iterations: said, with the cosine schedule's new rate
"$TR" $tiny --out run --iters 10 --resume 2> log.txt
cat log.txt
check "resume with more --iters: says so" grep -q 'resuming run/checkpoint.safetensors at iteration 6; the run was started with --iters 6, now 10: training goes on to 10' log.txt
check "and what happens to the cosine schedule" grep -q 'cosine learning-rate schedule now spans 10 iterations: the next update uses rate [0-9.e-]*, the last one used [0-9.e-]*$' log.txt
"$TR" $tiny --out run --iters 10 --resume 2> log.txt
check "resume with the same --iters: nothing to train at the end" grep -q 'at iteration 10; --iters 10 is already reached: nothing to train' log.txt
"$TR" $tiny --out run --iters 20 --schedule constant --resume 2> log.txt
check "a schedule that does not depend on --iters: says so" grep -q 'the learning-rate schedule (constant) does not depend on --iters' log.txt
"$TR" $tiny --out run --iters 20 --resume --status-every 2x 2> log.txt
check "bad --status-every: usage error" grep -q 'status-every needs N' log.txt

# --precision: bad values and bf16 without AMX are usage errors; bf16 where
# there is AMX trains, says so, and the loss falls
"$TR" $tiny --out run_p --iters 3 --precision fp16 2> log.txt
rc=$?
check "--precision fp16: usage error (2)" [ $rc -eq 2 ]
check "--precision fp16: says what it takes" grep -q 'precision must be fp32, bf16 or auto' log.txt
SRGAN_NO_BF16=1 "$TR" $tiny --out run_p --iters 3 --precision bf16 2> log.txt
rc=$?
check "--precision bf16 without AMX or AVX512-BF16: refused (2)" [ $rc -eq 2 ]
check "and says why" grep -q 'needs a CPU with AMX-BF16 or AVX512-BF16' log.txt
check "and writes nothing" [ ! -e run_p ]
SRGAN_NO_BF16=1 "$TR" $tiny --out run_pa --iters 2 --precision auto 2> log.txt
check "--precision auto without AMX or AVX512-BF16: fp32, runs" grep -q '1 threads, from iteration 0' log.txt
if "$TR" $tiny --out run_b --iters 40 --precision bf16 --lr-g 2e-3 --status-every 10 2> log.txt; then
    check "--precision bf16: said at the start" grep -q 'bf16 convs on AMX\|bf16 convs (AVX512-BF16)' log.txt
    l10=$(sed -n 's/.*it 10\/40 .*pix \([0-9.e-]*\).*/\1/p' log.txt)
    l40=$(sed -n 's/.*it 40\/40 .*pix \([0-9.e-]*\).*/\1/p' log.txt)
    check "--precision bf16: the loss falls ($l10 -> $l40)" awk -v a="$l10" -v b="$l40" 'BEGIN { exit !(a > 0 && b < a) }'
    "$TR" $tiny --out run_b --iters 44 --precision fp32 --lr-g 2e-3 --resume 2> log.txt
    check "resume of a bf16 run in fp32: goes on, and says it is not exact" grep -q 'trained with --precision bf16, this run uses fp32: it goes on' log.txt
    "$TR" $tiny --out run_b --iters 48 --precision fp32 --lr-g 2e-3 --resume 2> log.txt
    check "and the next resume in fp32 says nothing of it" not_grep 'trained with --precision' log.txt
else
    check "--precision bf16 fails only for want of AMX or AVX512-BF16" grep -q 'needs a CPU with AMX-BF16 or AVX512-BF16' log.txt
fi

# every architecture trains: runs, the pixel loss falls, the model names its arch
for a in srvgg rrdbnet edsr; do
    "$TR" --hr hr --scale 2 --arch $a --blocks 1 --features 8 --batch 4 --patch 16 --threads 1 \
        --iters 100 --lr-g 2e-3 --status-every 25 --out "run_$a" 2> log.txt
    rc=$?
    check "--arch $a trains (0)" [ $rc -eq 0 ]
    l25=$(sed -n 's/.*it 25\/100 .*pix \([0-9.e-]*\).*/\1/p' log.txt)
    l100=$(sed -n 's/.*it 100\/100 .*pix \([0-9.e-]*\).*/\1/p' log.txt)
    check "--arch $a: the loss falls ($l25 -> $l100)" awk -v a="$l25" -v b="$l100" 'BEGIN { exit !(a > 0 && b < 0.9 * a) }'
    check "--arch $a: the model says $a" grep -aq "\"arch\":\"$a\"" "run_$a/model.safetensors"
done
# a model whose extras are not the defaults (srvgg with LeakyReLU) trains from
# --init, and its checkpoint carries them to the next --init
FX=$SRGAN_SRCDIR/tests/fixtures/model
"$TR" --hr hr --scale 2 --init "$FX/srvgg_x2_lrelu.safetensors" --batch 2 --patch 16 --threads 1 \
    --iters 4 --out run_lrelu 2> log.txt
check "--init srvgg leakyrelu trains" [ $? -eq 0 ]
"$TR" --hr hr --scale 2 --init run_lrelu/checkpoint.safetensors --batch 2 --patch 16 --threads 1 \
    --iters 4 --out run_lrelu2 2> log.txt
check "--init from its checkpoint: the same network" [ $? -eq 0 ]
check "still leakyrelu" grep -aq '"act_type":"leakyrelu"' run_lrelu2/model.safetensors
"$TR" --hr hr --scale 2 --arch rrdbnet --blocks 1 --features 8 --batch 2 --patch 18 --out run_odd \
    --iters 2 2> log.txt
check "rrdbnet x2 with an odd LR patch: says what to do" grep -q 'rrdbnet x2 needs --patch a multiple of 4' log.txt

# the checkpoint records how LR was made (an exported model's training record)
"$TR" --hr hr --scale 2 --blocks 1 --features 8 --batch 2 --patch 16 --threads 1 --iters 2 \
    --degrade real --out run_deg 2> log.txt
check "--degrade real trains" [ $? -eq 0 ]
check "its checkpoint records --degrade real" grep -aq '"cfg.degrade":"real"' run_deg/checkpoint.safetensors
check "bicubic when not given" grep -aq '"cfg.degrade":"bicubic"' run/checkpoint.safetensors

echo "$pass passed, $fail failed"
cd / && rm -rf "$T"
[ $fail -eq 0 ]
