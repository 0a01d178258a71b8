#!/bin/sh
# bench_mpi.sh: seconds per psnr training step of srgan-train as
#   1 rank x 2 threads | 2 ranks x 1 thread (mpirun -np 2) | 1 rank x 1 thread
# on the real data (MSRResNet 16x64 x4, batch 16, patch 128), RUNS alternated
# runs of STEPS steps each; a run's figure is the median of its steps after
# the first (decoding warm-up), the table shows the median of the runs.
# Usage: bench/bench_mpi.sh [BUILD] [STEPS] [RUNS]   (build, 6, 3)
# A background run whose PID is in $PAUSE_PIDFILE (default /work/runs/x2.pid,
# if present) is stopped during each run (so for well under a minute at a
# time) and always continued (trap).
set -u
BUILD=${1:-build}
STEPS=${2:-6}
RUNS=${3:-3}
HR=${SRGAN_SHARED:-../shared}/data/train
TR=$BUILD/src/train_cli/srgan-train
OUT=$(mktemp -d "${TMPDIR:-/tmp}/bench_mpi.XXXXXX")
export OPENBLAS_NUM_THREADS=1 OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1
export OMPI_MCA_btl=self,vader OMPI_MCA_rmaps_base_oversubscribe=1
PIDF=${PAUSE_PIDFILE:-/work/runs/x2.pid}
BG=$( [ -r "$PIDF" ] && cat "$PIDF" )
pause() { :; }
cont() { :; }
if [ -n "$BG" ] && kill -0 "$BG" 2>/dev/null; then
    trap 'kill -CONT $BG 2>/dev/null' EXIT
    trap 'exit 130' INT TERM
    pause() { kill -STOP "$BG"; }
    cont() { kill -CONT "$BG"; }
    echo "# background run $BG paused during each run"
fi
echo "# load before: $(cat /proc/loadavg)"
args="--hr $HR --scale 4 --blocks 16 --features 64 --batch 16 --patch 128 --iters $STEPS
      --log-every 1 --ckpt-every 0 --val-every 0 --quiet --seed 1"
# per-step seconds from log.csv's cumulative training seconds (column 12)
steps() { awk -F, 'NR > 1 { if (p != "") print $12 - p; p = $12 }' "$1"; }
median() { sort -g | awk '{ v[NR] = $1 } END { print (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2 }'; }
for r in $(seq 1 "$RUNS"); do
    for cfg in 1x2 2x1 1x1; do
        ranks=${cfg%x*} threads=${cfg#*x}
        rm -rf "$OUT/run"
        pause
        if [ "$ranks" = 1 ]; then
            "$TR" $args --threads "$threads" --out "$OUT/run"
        else
            mpirun -np "$ranks" "$TR" $args --threads "$threads" --out "$OUT/run"
        fi
        cont
        s=$(steps "$OUT/run/log.csv" | median)
        echo "$cfg $s" >> "$OUT/all.txt"
        echo "# run $r $cfg: $s s/step (steps: $(steps "$OUT/run/log.csv" | tr '\n' ' '))"
    done
done
echo "# load after: $(cat /proc/loadavg)"
printf '%-22s %10s %10s %10s\n' config "s/step" "vs 1x1" "efficiency"
base=$(awk '$1 == "1x1" { print $2 }' "$OUT/all.txt" | median)
for cfg in 1x1 1x2 2x1; do
    m=$(awk -v c=$cfg '$1 == c { print $2 }' "$OUT/all.txt" | median)
    printf '%-22s %10.3f %9.2fx %9.0f%%\n' "$cfg (ranks x threads)" "$m" \
        "$(echo "$base $m" | awk '{ print $1 / $2 }')" \
        "$(echo "$base $m $cfg" | awk '{ n = ($3 == "1x1") ? 1 : 2; print 100 * $1 / $2 / n }')"
done
rm -rf "$OUT"
