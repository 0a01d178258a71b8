#!/bin/sh
# srgan-train as 2 MPI ranks (mpirun -np 2) on tiny generated data:
#   - psnr: 2 ranks x batch 8 of a batch 16 train the weights of 1 rank with
#     batch 16: bit for bit when the split into workers is the same (1 rank
#     x 2 threads = 2 ranks x 1 thread: the same per-item work, the same
#     sums), and within 1e-5 against 1 rank x 1 thread, whose gradients add
#     the same numbers in another order (float rounding of the batch split;
#     a few Adam steps of lr 2e-4 keep that far below 1e-5);
#   - a 2-rank run stopped at iteration 3 and resumed equals an
#     uninterrupted one bit for bit; so does one stopped by SIGTERM sent to
#     rank 1 alone (every rank stops at the same iteration; rank 0 writes
#     the checkpoint, exit 130); rank 1 writes nothing;
#   - resuming with another rank count, and a batch that does not divide
#     over the ranks, are refused with one line;
#   - gan (when ../shared/vgg19 is there): 2 ranks = 1 rank x 2 threads,
#     the relativistic losses seeing the whole batch's logits.
# A build without MPI refuses an MPI job of 2 processes, then the rest is
# skipped (77); so is everything without mpirun.
# Usage (from meson): test_mpi.sh SRGAN_TRAIN IMGTOOL STDIFF mpi|nompi
set -u
TR=$(readlink -f "$1")
IMG=$(readlink -f "$2")
SD=$(readlink -f "$3")
HAVE=$4
skip() { echo "SKIP: $*"; exit 77; }
T=${SRGAN_TMPDIR:-/tmp}/mpi.$$
rm -rf "$T"
mkdir -p "$T/hr"
cd "$T" || exit 2
trap 'cd /; rm -rf "$T"' EXIT
pass=0
fail=0
ok()  { pass=$((pass + 1)); echo "ok   $1"; }
bad() { fail=$((fail + 1)); echo "FAIL $1"; }
check() { name=$1; shift; if "$@"; then ok "$name"; else bad "$name"; fi; }
for k in 1 2 3 4 5; do "$IMG" make "hr/img$k.png" $((36 + 4 * k)) 40 3 u8 || exit 2; done
base="--hr hr --scale 2 --blocks 1 --features 8 --batch 16 --patch 16 --ckpt-every 0 --seed 3"
tiny="$base --quiet"

if [ "$HAVE" != mpi ]; then
    # what mpirun would announce to each of 2 processes
    OMPI_COMM_WORLD_SIZE=2 "$TR" $tiny --iters 1 --out nompi 2> err.txt
    rc=$?
    cat err.txt
    [ $rc -ne 0 ] && grep -q 'built without MPI' err.txt && [ ! -e nompi ] || {
        echo "FAIL a build without MPI refuses an MPI job"; exit 1; }
    skip "built without MPI (install libopenmpi-dev and reconfigure); the refusal of an MPI job passed"
fi
command -v mpirun >/dev/null 2>&1 || skip "mpirun not found (apt-get install openmpi-bin)"
# OpenMPI refuses root without these; one machine, no network: shared memory
# and self only; more ranks than cores is fine (and busy waits yield).
export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1
export OMPI_MCA_btl=self,vader OMPI_MCA_rmaps_base_oversubscribe=1 OMPI_MCA_mpi_yield_when_idle=1
# OpenMPI's own allocations are not this program's leaks
export ASAN_OPTIONS="${ASAN_OPTIONS:+$ASAN_OPTIONS:}detect_leaks=0"
MR="mpirun -np 2"
$MR true >/dev/null 2>&1 || skip "mpirun -np 2 cannot start here"

ck() { echo "$1/checkpoint.safetensors"; }
same() { "$SD" "$1" "$2" "$3"; }

# psnr, a few steps
"$TR" $tiny --iters 4 --threads 2 --out one2 --export one2.st
"$TR" $tiny --iters 4 --threads 1 --out one1
$MR "$TR" $tiny --iters 4 --threads 1 --out two --export two.st --log-every 1
check "2 ranks x 1 thread: trained and wrote the model" [ -s two.st ] && [ -s "$(ck two)" ]
check "= 1 rank x 2 threads, bit for bit (checkpoint: weights, EMA, Adam)" same "$(ck one2)" "$(ck two)" 0
check "exported model too" same one2.st two.st 0
check "= 1 rank x 1 thread within 1e-5 (summation order)" same "$(ck one1)" "$(ck two)" 1e-5
# the test can fail: 2 ranks each training on the whole batch would differ
"$TR" $tiny --iters 4 --threads 1 --batch 8 --out half
check "(a batch of 8 trains other weights)" sh -c "! '$SD' '$(ck half)' '$(ck two)' 1e-5 >/dev/null"
check "the log has every iteration once (rank 0 writes it)" [ "$(grep -c '^[0-9]' two/log.csv)" -eq 4 ]

# resume: 3 + 3 = 6
$MR "$TR" $tiny --iters 6 --threads 1 --schedule constant --out full
$MR "$TR" $tiny --iters 3 --threads 1 --schedule constant --out part
check "a stopped 2-rank run wrote its checkpoint" [ -s "$(ck part)" ]
$MR "$TR" $tiny --iters 6 --threads 1 --schedule constant --out part --resume
check "2 ranks: 3 + resume 3 = 6, bit for bit" same "$(ck full)" "$(ck part)" 0

# SIGTERM to rank 1 alone: all ranks stop together, rank 0 checkpoints
long="$base --threads 1 --schedule constant --log-every 1 --status-every 0 --no-progress"
lines() { cat "$1" 2>/dev/null | grep -c '^[0-9]'; }
$MR sh -c 'echo $$ > pid.$OMPI_COMM_WORLD_RANK; exec "$0" "$@"' "$TR" $long --iters 100000 \
    --out sig 2> sig.err &
mp=$!
n=0
while [ $n -lt 600 ] && { [ ! -s pid.1 ] || [ "$(lines sig/log.csv)" -lt 5 ]; }; do
    sleep 0.1; n=$((n + 1))
done
kill -TERM "$(cat pid.1)"
# a stop that is not agreed would hang: end the job after 60 s
( sleep 60; kill $mp 2>/dev/null ) >/dev/null 2>&1 &
dog=$!
wait $mp
rc=$?
kill $dog 2>/dev/null
at=$(sed -n 's/.*interrupted at iteration \([0-9]*\);.*/\1/p' sig.err)
check "SIGTERM to rank 1: the job ends with 130" [ $rc -eq 130 ]
check "rank 0 alone says where it stopped" [ "$(grep -c interrupted sig.err)" -eq 1 ] && [ -n "$at" ]
if [ -n "$at" ]; then
    end=$((at + 3))
    $MR "$TR" $long --iters $end --out sig --resume 2>/dev/null
    $MR "$TR" $long --iters $end --out sigref 2>/dev/null
    check "stopped at $at by a signal + resumed = uninterrupted, bit for bit" \
        same "$(ck sigref)" "$(ck sig)" 0
fi

# refusals: one line, non-zero exit
"$TR" $tiny --iters 6 --threads 1 --schedule constant --out part --resume 2> err.txt
rc=$?
cat err.txt
check "resume of a 2-rank checkpoint by 1 rank: refused" [ $rc -ne 0 ] && \
    grep -q 'trained on 2 MPI ranks, this run has 1; resume with the same count (mpirun -np 2)' err.txt
check "in one line" [ "$(wc -l < err.txt)" -eq 1 ]
$MR "$TR" $tiny --iters 6 --threads 1 --out one1 --resume 2> err.txt
rc=$?
check "resume of a 1-rank checkpoint by 2 ranks: refused, one line" [ $rc -ne 0 ] && \
    grep -q 'trained on 1 MPI rank, this run has 2' err.txt && [ "$(grep -c srgan-train err.txt)" -eq 1 ]
$MR "$TR" $tiny --iters 2 --batch 15 --out odd 2> err.txt
rc=$?
cat err.txt
check "--batch 15 over 2 ranks: refused, one line" [ $rc -ne 0 ] && \
    grep -q 'batch 15 (the whole batch) is not divisible by the 2 MPI ranks' err.txt && \
    [ "$(grep -c srgan-train err.txt)" -eq 1 ]

# gan: the batch-wide relativistic losses over gathered logits
VGG=${SRGAN_SHARED:-}/vgg19/vgg19_conv.safetensors
if [ -r "$VGG" ]; then
    gan="--hr hr --scale 2 --blocks 1 --features 8 --batch 4 --patch 32 --quiet --ckpt-every 0
         --phase gan --init one2.st --vgg $VGG --vgg-layers conv2_2 --d-channels 8 --iters 3"
    "$TR" $gan --threads 2 --out gan1
    $MR "$TR" $gan --threads 1 --out gan2
    check "gan: 2 ranks = 1 rank x 2 threads (G, D, Adam), bit for bit" same "$(ck gan1)" "$(ck gan2)" 0
    "$TR" $gan --threads 2 --out gan1x --gan-type vanilla
    check "(the GAN loss matters: vanilla differs)" sh -c "! '$SD' '$(ck gan1x)' '$(ck gan2)' 1e-6 >/dev/null"
else
    echo "note: $VGG absent: the gan part is skipped"
fi

echo "$pass passed, $fail failed"
[ $fail -eq 0 ]
