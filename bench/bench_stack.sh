#!/usr/bin/env bash
# Stack benchmark (issue 6): peak RSS of srgan-up on 16-bit gray stacks of
# growing depth, up to more than 4 GiB of input. Memory must stay flat: pages
# are streamed one after another, rows in bands.
#
#   bench/bench_stack.sh [BUILD_DIR] [SIDE] [PAGES...]
#
# Defaults: 8192 x 8192 pages (128 MiB each), depths 1 4 16 34 (34 pages =
# 4.25 GiB of input). Bicubic x2 so the run takes minutes, not hours; the
# network path streams through the same reader, writer and page loop (see
# bench_infer.sh for its memory with the image size). Scratch: $BENCH_TMP.
set -u
BUILD=${1:-build}
SIDE=${2:-8192}
shift 2 2>/dev/null || true
DEPTHS=${*:-1 4 16 34}
UP=$BUILD/src/cli/srgan-up
GEN=$BUILD/bench/gen_tiff
T=${BENCH_TMP:-/tmp/srgan-bench}
mkdir -p "$T"
echo "# 16-bit stacks, ${SIDE}^2 per page, bicubic x2 ($(nproc) cores)"
echo
echo "| pages | input GiB | output | seconds | peak RSS MB |"
echo "| ---: | ---: | --- | ---: | ---: |"
for n in $DEPTHS; do
  in=$T/stack_${SIDE}_$n.tif
  [ -f "$in" ] || "$GEN" "$in" "$SIDE" "$SIDE" gray16 "$n" none >/dev/null || exit 1
  rm -f "$T/stack_out.tif"
  /usr/bin/time -v "$UP" -q --method bicubic -x 2 --compression none "$in" "$T/stack_out.tif" 2>"$T/time.log"
  rc=$?
  secs=$(awk -F': ' '/Elapsed \(wall clock\)/ {print $2}' "$T/time.log" |
         awk -F: '{ if (NF == 3) print $1*3600 + $2*60 + $3; else print $1*60 + $2 }')
  rss=$(awk -F': ' '/Maximum resident set size/ {print $2}' "$T/time.log")
  gib=$(awk -v b="$(stat -c %s "$in")" 'BEGIN { printf "%.2f", b / 2^30 }')
  out=$( [ $rc -eq 0 ] && "$BUILD/tests/cli/imgtool" info "$T/stack_out.tif" | awk '{print $1 "x" $2 ", " $5 " pages"}' || echo "exit $rc")
  printf '| %d | %s | %s | %.1f | %.1f |\n' "$n" "$gib" "$out" "$secs" "$(awk -v r="$rss" 'BEGIN { print r / 1024 }')"
  rm -f "$T/stack_out.tif" "$in"
done
