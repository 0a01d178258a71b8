#!/usr/bin/env bash
# Streaming benchmark (issue 2): bicubic x4 of a large generated TIFF, peak
# RSS and output throughput, next to ImageMagick and libvips on the same file.
#
#   bench/bench_stream.sh [BUILD_DIR] [BIG_SIDE] [IM_SIDE]
#
# BIG_SIDE (default 16000): srgan-up and vips on BIG_SIDE^2 8-bit RGB and
# 16-bit gray inputs. IM_SIDE (default 4000): ImageMagick too, which holds
# whole images in memory (a 64000^2 x4 output would not fit in 24 GiB), so
# all three tools are compared on that size as well.
# Needs: imagemagick, libvips-tools, /usr/bin/time. Scratch: $BENCH_TMP
# (default /tmp/srgan-bench; about 13 GB for the 16000^2 RGB output).
set -u
BUILD=${1:-build}
BIG=${2:-16000}
SMALL=${3:-4000}
UP=$BUILD/src/cli/srgan-up
GEN=$BUILD/bench/gen_tiff
T=${BENCH_TMP:-/tmp/srgan-bench}
mkdir -p "$T"
# Debian's ImageMagick policy caps pixel cache area at 128 MP and disk at
# 1 GiB, which refuses even the 4000^2 x4 case; give it room for the bench.
cat > "$T/policy.xml" <<'POLICY'
<policymap>
  <policy domain="resource" name="memory" value="16GiB"/>
  <policy domain="resource" name="map" value="16GiB"/>
  <policy domain="resource" name="width" value="128KP"/>
  <policy domain="resource" name="height" value="128KP"/>
  <policy domain="resource" name="area" value="16GP"/>
  <policy domain="resource" name="disk" value="64GiB"/>
</policymap>
POLICY
export MAGICK_CONFIGURE_PATH=$T

measure() { # label outfile cmd...
  local label=$1 out=$2; shift 2
  rm -f "$out"
  /usr/bin/time -v "$@" >"$T/cmd.log" 2>"$T/time.log"
  local rc=$?
  local wall rss
  wall=$(awk -F': ' '/Elapsed \(wall clock\)/ {print $2}' "$T/time.log")
  rss=$(awk -F': ' '/Maximum resident set size/ {print $2}' "$T/time.log")
  local secs
  secs=$(echo "$wall" | awk -F: '{ if (NF == 3) print $1*3600 + $2*60 + $3; else print $1*60 + $2 }')
  local mp="-"
  if [ $rc -eq 0 ] && [ -n "${OUT_PIXELS:-}" ]; then
    mp=$(awk -v p="$OUT_PIXELS" -v s="$secs" 'BEGIN { printf "%.1f", p / 1e6 / s }')
  fi
  printf '| %-44s | %8.1f | %9.1f | %8s | %s |\n' "$label" "$secs" "$((rss / 1024)).$(( (rss % 1024) * 10 / 1024 ))" "$mp" \
    "$([ $rc -eq 0 ] && echo ok || echo "exit $rc")"
  rm -f "$out"
}

echo "# streaming bicubic x4 ($(nproc) cores, OPENBLAS_CORETYPE=${OPENBLAS_CORETYPE:-unset})"
echo
echo "| run | seconds | peak RSS MB | out MP/s | status |"
echo "| --- | ---: | ---: | ---: | --- |"
for kind in rgb8 gray16; do
  for side in $(printf '%s\n' "$BIG" "$SMALL" | sort -nu -r); do
    in=$T/in_${kind}_${side}.tif
    [ -f "$in" ] || "$GEN" "$in" "$side" "$side" "$kind" 1 deflate >/dev/null || exit 1
    OUT_PIXELS=$(( side * 4 * side * 4 ))
    measure "srgan-up $kind ${side}^2" "$T/out.tif" \
      "$UP" -q --method bicubic -x 4 --compression none "$in" "$T/out.tif"
    measure "vips resize $kind ${side}^2" "$T/out_v.tif" \
      vips resize "$in" "$T/out_v.tif" 4 --kernel cubic
    if [ "$side" = "$SMALL" ]; then
      measure "convert -filter Catrom -resize 400% $kind ${side}^2" "$T/out_im.tif" \
        convert "$in" -filter Catrom -resize 400% -compress none "$T/out_im.tif"
    fi
  done
done
