#!/bin/sh
# make_io_fixtures_webp.sh: regenerate tests/fixtures/webp.
#
# Tiny WebP files written by libwebp's own command-line tools (cwebp,
# img2webp, webpmux from Debian's `webp` package), read back by
# tests/io/test_webp.c. Pixels follow p8(x,y,c) = (x*37 + y*59 + c*83 + 11)
# & 255 (as the PNG fixtures), so lossless files are checked exactly.
#   rgb_lossless.webp    7x5 RGB, cwebp -lossless
#   rgba_lossless.webp   7x5 RGBA, alpha = p8(x,y,3), cwebp -lossless -exact
#   rgb_icc_exif.webp    the RGB file with ICCP and EXIF chunks (webpmux)
#   anim.webp            two frames (img2webp): must be refused
# Needs: /usr/bin/python3 with PIL (python3-pil) for the source PNGs, and
# the `webp` package. Run from anywhere: sh tools/make_io_fixtures_webp.sh
set -eu
ROOT=$(cd "$(dirname "$0")/.." && pwd)
OUT="$ROOT/tests/fixtures/webp"
TMP=$(mktemp -d)
trap 'rm -rf "$TMP"' EXIT
mkdir -p "$OUT"
rm -f "$OUT"/*.webp "$OUT"/*.bin
/usr/bin/python3 - "$TMP" <<'PY'
import sys
from PIL import Image
tmp = sys.argv[1]
W, H = 7, 5
def p8(x, y, c): return (x * 37 + y * 59 + c * 83 + 11) & 255
for mode, ch in (("RGB", 3), ("RGBA", 4)):
    im = Image.new(mode, (W, H))
    im.putdata([tuple(p8(x, y, c) for c in range(ch)) for y in range(H) for x in range(W)])
    im.save(f"{tmp}/{mode.lower()}.png")
Image.new("RGB", (W, H), (200, 10, 10)).save(f"{tmp}/f2.png")
# Stand-ins for an ICC profile and an EXIF block: the reader carries bytes,
# it does not interpret them.
open(f"{tmp}/icc.bin", "wb").write(bytes(range(64)) * 2)
open(f"{tmp}/exif.bin", "wb").write(b"II*\0\x08\0\0\0\0\0" + bytes(range(22)))
PY
cwebp -quiet -lossless "$TMP/rgb.png" -o "$OUT/rgb_lossless.webp"
cwebp -quiet -lossless -exact "$TMP/rgba.png" -o "$OUT/rgba_lossless.webp"
webpmux -set icc "$TMP/icc.bin" "$OUT/rgb_lossless.webp" -o "$TMP/icc.webp"
webpmux -set exif "$TMP/exif.bin" "$TMP/icc.webp" -o "$OUT/rgb_icc_exif.webp"
cp "$TMP/icc.bin" "$OUT/icc.bin"
cp "$TMP/exif.bin" "$OUT/exif.bin"
img2webp -lossless "$TMP/rgb.png" "$TMP/f2.png" -o "$OUT/anim.webp"
ls -l "$OUT"
