#!/bin/sh
# CLI behaviour of srgan-up as a user meets it: outputs, exit codes, one-line
# errors naming the file, nothing left behind on failure, inputs untouched.
# Usage (from meson): test_cli.sh SRGAN_UP IMGTOOL
set -u
UP=$(readlink -f "$1")
IMG=$(readlink -f "$2")
T=${SRGAN_TMPDIR:-/tmp}/cli.$$
rm -rf "$T"
mkdir -p "$T"
cd "$T" || exit 2
trap 'umount "$T/full" 2>/dev/null' EXIT
. "$(dirname "$0")/../testlib.sh" # pass/fail counters, ok, bad, check

# run CMD...: stdout+stderr in $T/out.txt, exit status in $rc
run() { "$@" >out.txt 2>&1; rc=$?; }
no_leftovers() { ! find "$1" -name '*.part' | grep -q .; }
not_grep() { ! grep -q -- "$1" "$2"; }
has_part() { find "$1" -name '*.part' | grep -q .; }
one_line_naming() { [ "$(wc -l < out.txt)" -eq 1 ] && grep -q -- "$1" out.txt; }

"$IMG" make rgb.png 23 17 3 u8 || exit 2
"$IMG" make gray16.tif 19 13 1 u16 || exit 2
"$IMG" make rgba.png 15 11 4 u8 || exit 2
"$IMG" make stack.tif 9 7 1 u16 3 || exit 2
"$IMG" make photo.jpg 24 16 3 u8 || exit 2

# --- basics
run "$UP" --help;    check "help exits 0" [ $rc -eq 0 ]
run "$UP" --version; check "version" grep -q '^srgan-up [0-9]' out.txt
run "$UP";           check "no args is a usage error (2)" [ $rc -eq 2 ]
run "$UP" --bogus a b; check "unknown option (2)" [ $rc -eq 2 ]
run "$UP" -x 0 rgb.png o.png; check "bad scale (2)" [ $rc -eq 2 ]

# --- classic resamplers, layouts kept
run "$UP" --method bicubic -x 2 rgb.png out2.png
check "bicubic x2 writes" [ $rc -eq 0 ]
check "bicubic x2 size" [ "$("$IMG" info out2.png)" = "46 34 3 u8 1" ]
run "$UP" --method lanczos -x 2.5 rgb.png out25.png
check "fractional scale size" [ "$("$IMG" info out25.png)" = "58 43 3 u8 1" ]
run "$UP" --method nearest -x 3 gray16.tif g3.tif
check "16-bit gray TIFF stays 16-bit gray" [ "$("$IMG" info g3.tif)" = "57 39 1 u16 1" ]
run "$UP" --method bicubic -x 2 rgba.png rgba2.png
check "RGBA keeps alpha" [ "$("$IMG" info rgba2.png)" = "30 22 4 u8 1" ]
run "$UP" --method bicubic -x 2 stack.tif stack2.tif
check "multi-page TIFF keeps its pages" [ "$("$IMG" info stack2.tif)" = "18 14 1 u16 3" ]
run "$UP" --method bicubic -x 2 --format jpg rgb.png fmt.out
check "--format overrides the extension" [ $rc -eq 0 ] && check "jpeg magic" [ "$(head -c 2 fmt.out | od -An -tx1 | tr -d ' ')" = "ffd8" ]
run "$UP" --method bicubic -x 2 photo.jpg photo2.tif
check "JPEG in, TIFF out" [ "$("$IMG" info photo2.tif)" = "48 32 3 u8 1" ]
# WebP: written lossless or lossy, read back, picked up by batch mode
run "$UP" --method bicubic -x 2 rgba.png rgba2.webp
check "WebP out keeps alpha" [ "$("$IMG" info rgba2.webp)" = "30 22 4 u8 1" ]
run "$UP" --method nearest -x 1 --lossless rgb.png same.webp
check "lossless WebP is exact" [ "$("$IMG" diff rgb.png same.webp)" = "0" ]
run "$UP" --method bicubic -x 2 same.webp fromwebp.png
check "WebP in, PNG out" [ "$("$IMG" info fromwebp.png)" = "46 34 3 u8 1" ]
run "$UP" --method bicubic -x 2 --format webp rgb.png fmtw.out
check "--format webp" [ "$(head -c 4 fmtw.out)" = "RIFF" ]
run "$UP" --method bicubic -x 2 --format gif rgb.png x.gif
check "--format lists the formats" grep -q "png, jpg, tif, webp" out.txt
mkdir -p win wout && cp same.webp win/a.webp && cp rgb.png win/b.png
run "$UP" --method bicubic -x 2 -i win -o wout
check "batch mode takes WebP" [ -f wout/a.webp ] && check "batch WebP stays WebP" [ "$(head -c 4 wout/a.webp)" = "RIFF" ]
# nearest x2 of nearest-exact content: every output pixel equals its source
run "$UP" --method nearest -x 1 rgb.png same.png
check "nearest x1 is the identity" [ "$("$IMG" diff rgb.png same.png)" = "0" ]

# --- Real-ESRGAN habits: -i FILE -o FILE, -s, -n, -t, -f
run "$UP" --method bicubic -i rgb.png -o re_file.png -s 2
check "-i FILE -o FILE -s 2" [ "$("$IMG" info re_file.png)" = "46 34 3 u8 1" ]
run "$UP" --method bicubic -i rgb.png -o re_dir/ -s 2
check "-i FILE -o DIR/: into the directory" [ "$("$IMG" info re_dir/rgb.png)" = "46 34 3 u8 1" ]
mkdir -p re_dir2
run "$UP" --method bicubic -i rgb.png -o re_dir2 -s 2
check "-i FILE -o existing DIR: into it" [ -f re_dir2/rgb.png ]
run "$UP" --method bicubic -i rgb.png -o re_fmt.out -f jpg -s 2
check "-f jpg" [ "$(head -c 2 re_fmt.out | od -An -tx1 | tr -d ' ')" = "ffd8" ]
run "$UP" --method bicubic -i rgb.png
check "-i FILE without -o: usage error (2)" [ $rc -eq 2 ]
run "$UP" --method bicubic -i rgb.png -o re_r.png -r
check "-i FILE with -r: usage error (2)" [ $rc -eq 2 ] && check "-r: no output" [ ! -e re_r.png ]
run "$UP" -x -i rgb.png -o re_x.png
check "-x without a value (Real-ESRGAN's TTA): usage error" [ $rc -eq 2 ] && check "points to --ensemble" grep -q -- '--ensemble' out.txt
run "$UP" -j 1:2:2 rgb.png re_j.png
check "-j load:proc:save: usage error saying what -j is" grep -q 'files at a time' out.txt
run "$UP" -t 4 rgb.png re_t.png
check "-t below 8: usage error (2)" [ $rc -eq 2 ]
run "$UP" --method bicubic -x 16 rgb.png re_16.png
check "-x 16 accepted (as --help says)" [ "$("$IMG" info re_16.png)" = "368 272 3 u8 1" ]
run "$UP" --method bicubic -x 17 rgb.png re_17.png
check "-x 17 refused (2)" [ $rc -eq 2 ]
"$UP" --help > help.txt
check "--help states the accepted scales (up to 16, below 1 a downscale)" grep -q 'up to 16' help.txt && check "and the downscale" grep -q 'below 1 is a classic downscale' help.txt

# --- refusing to overwrite
cp rgb.png keep.png
sum_before=$(cksum < keep.png)
run "$UP" --method bicubic keep.png keep.png
check "output == input refused" [ $rc -ne 0 ]
check "output == input: one line naming it" one_line_naming keep.png
check "input untouched" [ "$(cksum < keep.png)" = "$sum_before" ]
run "$UP" --method bicubic --overwrite keep.png ./keep.png
check "output == input refused even with --overwrite" [ $rc -ne 0 ] && check "input still untouched" [ "$(cksum < keep.png)" = "$sum_before" ]
run "$UP" --method bicubic -x 2 rgb.png out2.png
check "existing output refused" [ $rc -eq 1 ] && check "says so" grep -q 'already exists' out.txt
check "the CLI adds the hint" grep -q -- '--overwrite' out.txt
run "$UP" --method bicubic -x 3 --overwrite rgb.png out2.png
check "--overwrite replaces" [ "$("$IMG" info out2.png)" = "69 51 3 u8 1" ]

# --- bad input: one line naming the file, exit 1, nothing left behind
mkdir -p badout
: > empty.png
printf 'hello, not an image\n' > text.png
head -c 60 rgb.png > trunc.png
head -c 300 photo.jpg > trunc.jpg
head -c 200 gray16.tif > trunc.tif
for f in missing.png empty.png text.png trunc.png trunc.jpg trunc.tif; do
  run "$UP" --method bicubic "$f" "badout/$f.png"
  check "$f: exit 1" [ $rc -eq 1 ]
  check "$f: one line naming the file" one_line_naming "$f"
  check "$f: no output" [ ! -e "badout/$f.png" ]
done
check "bad inputs: no temporary files" no_leftovers badout
# A header claiming 100000 x 100000 pixels (valid PNG signature and IHDR CRC).
printf '\211PNG\r\n\032\n\000\000\000\015IHDR\000\001\206\240\000\001\206\240\010\002\000\000\000' > huge.png
# CRC of IHDR: computed with cksum-compatible tool if available, else python
if command -v python3 >/dev/null 2>&1; then
  python3 -c "import zlib,sys;d=open('huge.png','rb').read();c=zlib.crc32(d[12:29]);open('huge.png','ab').write(c.to_bytes(4,'big')+b'\0\0\0\0IDAT'+b'\0'*8)"
  run "$UP" --method bicubic huge.png badout/huge.png
  check "100000x100000 header: exit 1" [ $rc -eq 1 ]
  check "100000x100000 header: one line naming it" one_line_naming huge.png
  check "100000x100000 header: no output" [ ! -e badout/huge.png ]
  # Interlaced: must be decoded whole, so it is refused from the header alone.
  python3 -c "import zlib;d=bytearray(open('huge.png','rb').read()[:29]);d[28]=1;c=zlib.crc32(bytes(d[12:29]));open('hugei.png','wb').write(bytes(d)+c.to_bytes(4,'big')+b'\0\0\0\0IDAT'+b'\0'*8)"
  run "$UP" --method bicubic hugei.png badout/hugei.png
  check "interlaced 100000x100000: refused" [ $rc -eq 1 ]
  check "interlaced 100000x100000: one line naming it" one_line_naming hugei.png
  check "interlaced 100000x100000: says it is too big" grep -qi 'pixels' out.txt
fi
mkdir -p ro && chmod 555 ro
if [ "$(id -u)" != 0 ]; then
  run "$UP" --method bicubic rgb.png ro/x.png
  check "unwritable dir: exit 1" [ $rc -eq 1 ]
  check "unwritable dir: names the output" grep -q 'ro/x.png' out.txt
else
  # root writes anywhere chmod allows; /proc takes no new files even from root
  run "$UP" --method bicubic rgb.png /proc/srgan-test.png
  check "unwritable dir: exit 1" [ $rc -eq 1 ]
  check "unwritable dir: one line naming the output" one_line_naming /proc/srgan-test.png
fi
# A full disk: a 64 KiB tmpfs, where mounting is allowed (root, not in a
# restricted container). Every writer must fail cleanly and leave nothing.
mkdir -p full
if mount -t tmpfs -o size=64k tmpfs full 2>/dev/null; then
  "$IMG" make fill.png 400 300 3 u8 || exit 2
  for ext in png jpg tif; do
    run "$UP" --method bicubic -x 4 fill.png "full/out.$ext"
    check "full disk ($ext): exit 1" [ $rc -eq 1 ]
    check "full disk ($ext): one line naming the output" one_line_naming "full/out.$ext"
    check "full disk ($ext): says the disk is full" grep -qi 'space' out.txt
    check "full disk ($ext): nothing left behind" [ -z "$(ls -A full)" ]
  done
  # a stack fills the disk at a page boundary too (directory writes)
  "$IMG" make fillstack.tif 64 64 1 u16 40 || exit 2
  run "$UP" --method nearest -x 1 --compression none fillstack.tif full/stack.tif
  check "full disk (stack): says the disk is full" grep -qi 'space' out.txt
  check "full disk (stack): nothing left behind" [ -z "$(ls -A full)" ]
  umount full
else
  echo "skip: cannot mount a small tmpfs for the full-disk case"
fi
run "$UP" --method bicubic rgb.png nodir/sub/x.png
check "missing output dir: exit 1" [ $rc -eq 1 ] && check "missing output dir: names it" one_line_naming nodir/sub/x.png
run "$UP" --method bicubic rgb.png out.bmp
check "unknown output extension: exit 1" [ $rc -eq 1 ] && check "unknown extension named" grep -q 'out.bmp' out.txt

# --- batch: one bad file does not stop the rest
mkdir -p in/sub batch
cp rgb.png in/a.png; cp trunc.png in/b.png; cp photo.jpg in/c.jpg; cp gray16.tif in/sub/d.tif
run "$UP" --method bicubic -x 2 -o batch in/a.png in/b.png in/c.jpg
check "batch with a bad file: exit 1" [ $rc -eq 1 ]
check "batch: good files written" [ -f batch/a.png ] && check "batch: jpg kept its format" [ -f batch/c.jpg ]
check "batch: summary line" grep -q '2 written, 0 skipped, 1 failed' out.txt
check "batch: bad file named" grep -q 'in/b.png' out.txt
run "$UP" --method bicubic -x 2 -i in -o tree -r --suffix _x2 --report report.csv -j 2
check "recursive: tree mirrored" [ -f tree/sub/d_x2.tif ] && check "recursive: top level" [ -f tree/a_x2.png ]
check "report header" [ "$(head -1 report.csv)" = "input,output,status,seconds,error" ]
check "report has the failure" grep -q '^in/b.png,tree/b_x2.png,failed,' report.csv
check "report has 4 rows" [ "$(wc -l < report.csv)" -eq 5 ]
run "$UP" --method bicubic -x 2 -i in -o tree_norep --report nodir/r.csv
check "unwritable report: refused before any work (2)" [ $rc -eq 2 ] && check "names it" grep -q 'nodir/r.csv' out.txt
check "unwritable report: nothing processed" [ ! -e tree_norep ]
run "$UP" --method bicubic -x 2 -i in -o tree -r --suffix _x2 --skip-existing
check "skip-existing skips written files" grep -q '0 written, 3 skipped, 1 failed' out.txt
run "$UP" --method bicubic -x 2 -i in -o tree2
check "non-recursive ignores subdirs" [ ! -e tree2/sub ]
run "$UP" --method bicubic -i nowhere -o x
check "missing input dir: exit 2" [ $rc -eq 2 ]
# -o with a trailing slash: names in messages and the report read
# "slash/a.png", never "slash//a.png"
run "$UP" --method bicubic -x 2 -o slash/ in/a.png --report slash.csv
check "-o DIR/: written" [ -f slash/a.png ]
check "-o DIR/: message names DIR/a.png" grep -q -- '-> slash/a.png ' out.txt
check "-o DIR/: no double slash in messages" not_grep '//' out.txt
check "-o DIR/: report names DIR/a.png" grep -q '^in/a.png,slash/a.png,written,' slash.csv
run "$UP" --method bicubic -x 2 -i in// -o slash2// --report slash2.csv
check "-i DIR// -o DIR//: no double slash" not_grep '//' out.txt
check "-i DIR// -o DIR//: report" grep -q '^in/a.png,slash2/a.png,written,' slash2.csv
run "$UP" --method bicubic -x 2 -i in/a.png -o slash3/
check "-i FILE -o DIR/: no double slash" grep -q -- '-> slash3/a.png ' out.txt

# --- the network path, with small random weights made for the test
"$IMG" model m4.safetensors 4 2 8 || exit 2
"$IMG" model m2.safetensors 2 1 8 srresnet || exit 2
"$IMG" make gray8.png 21 14 1 u8 || exit 2
"$IMG" make rgba16.tif 17 12 4 u16 || exit 2
run "$UP" -m m4.safetensors rgb.png n_rgb.png
check "srgan RGB PNG x4" [ "$("$IMG" info n_rgb.png)" = "92 68 3 u8 1" ]
run "$UP" -m m4.safetensors gray8.png n_gray.png
check "srgan gray stays gray" [ "$("$IMG" info n_gray.png)" = "84 56 1 u8 1" ]
run "$UP" -m m4.safetensors gray16.tif n_g16.tif
check "srgan 16-bit gray TIFF stays 16-bit" [ "$("$IMG" info n_g16.tif)" = "76 52 1 u16 1" ]
run "$UP" -m m4.safetensors rgba16.tif n_rgba.tif
check "srgan RGBA 16-bit keeps alpha and depth" [ "$("$IMG" info n_rgba.tif)" = "68 48 4 u16 1" ]
run "$UP" -m m4.safetensors photo.jpg n_photo.jpg
check "srgan JPEG" [ "$("$IMG" info n_photo.jpg)" = "96 64 3 u8 1" ]
"$IMG" make f32.tif 13 9 3 f32 || exit 2
run "$UP" -m m4.safetensors f32.tif n_f32.tif
check "srgan float TIFF stays float" [ "$("$IMG" info n_f32.tif)" = "52 36 3 f32 1" ]
run "$UP" -m m4.safetensors stack.tif n_stack.tif
check "srgan multi-page" [ "$("$IMG" info n_stack.tif)" = "36 28 1 u16 3" ]
run "$UP" -m m4.safetensors -x 3 rgb.png n_x3.png
check "x3 from an x4 model (Lanczos after)" [ "$("$IMG" info n_x3.png)" = "69 51 3 u8 1" ]
run "$UP" -m m2.safetensors -x 2 rgb.png n_srres.png
check "SRResNet variant x2" [ "$("$IMG" info n_srres.png)" = "46 34 3 u8 1" ]
# Tiles never show: any tile size gives the same file content.
"$IMG" make wide.png 70 45 3 u8 || exit 2
run "$UP" -m m4.safetensors --tile 8 --threads 2 wide.png t8.png
run "$UP" -m m4.safetensors --tile 33 --threads 1 wide.png t33.png
run "$UP" -m m4.safetensors --tile 512 wide.png tbig.png
check "tile 8 == whole image" [ "$("$IMG" diff t8.png tbig.png)" = "0" ]
check "tile 33 == whole image" [ "$("$IMG" diff t33.png tbig.png)" = "0" ]
run "$UP" -n m4.safetensors -t 8 -i wide.png -o t8n.png
check "-n MODEL -t 8 -i -o == -m MODEL --tile 8" [ "$("$IMG" diff t8n.png t8.png)" = "0" ]
run "$UP" -t 0 -m m4.safetensors wide.png t0.png
check "-t 0 is the automatic tile" [ "$("$IMG" diff t0.png tbig.png)" = "0" ]
mkdir -p modeldir
run "$UP" -m modeldir rgb.png md.png
check "-m DIR: usage error (2)" [ $rc -eq 2 ] && check "-m DIR: points to SRGAN_UP_WEIGHTS" grep -q SRGAN_UP_WEIGHTS out.txt
# --ensemble: the 8-view average, tiled as seamlessly, and not the plain run
run "$UP" -m m4.safetensors --ensemble --tile 8 --threads 2 wide.png e8.png
check "--ensemble writes" [ "$("$IMG" info e8.png)" = "280 180 3 u8 1" ]
run "$UP" -v -m m4.safetensors --ensemble --tile 512 wide.png ebig.png
check "--ensemble -v says so" grep -q 'self-ensemble of 8 views' out.txt
check "--ensemble: tile 8 == whole image" [ "$("$IMG" diff e8.png ebig.png)" = "0" ]
check "--ensemble differs from the plain run" [ "$("$IMG" diff ebig.png tbig.png)" != "0" ]
# --precision: parsed; a bad value is a one-line usage error; bf16 refused
# on a CPU without AVX512-BF16 (SRGAN_NO_BF16=1 plays one), where auto is fp32
run "$UP" -m m4.safetensors --precision fp32 --tile 8 wide.png p_fp32.png
check "--precision fp32 writes" [ $rc -eq 0 ]
run "$UP" -m m4.safetensors --precision auto wide.png p_auto.png
check "--precision auto writes" [ $rc -eq 0 ]
run "$UP" -m m4.safetensors --precision fp16 wide.png p_bad.png
check "--precision fp16: usage error (2)" [ $rc -eq 2 ] && check "one line naming the option" one_line_naming '--precision' && check "no output" [ ! -e p_bad.png ]
run env SRGAN_NO_BF16=1 "$UP" -m m4.safetensors --precision bf16 wide.png p_nobf.png
check "--precision bf16 without AVX512-BF16: usage error (2)" [ $rc -eq 2 ] && check "one line saying why" one_line_naming 'AVX512-BF16' && check "no output" [ ! -e p_nobf.png ]
run env SRGAN_NO_BF16=1 "$UP" -v -m m4.safetensors --precision auto --tile 8 wide.png p_nobf_auto.png
check "auto without AVX512-BF16 falls back to fp32" grep -q 'precision fp32 (auto' out.txt && check "the fp32 bits" [ "$("$IMG" diff p_nobf_auto.png p_fp32.png)" = "0" ]
run env SRGAN_NO_BF16=1 "$UP" -m m4.safetensors wide.png p_nobf_dflt.png
check "the default is auto" [ "$("$IMG" diff p_nobf_dflt.png p_fp32.png)" = "0" ]
if SRGAN_NO_BF16= "$UP" -v -m m4.safetensors --precision auto wide.png p_probe.png 2>&1 | grep -q 'precision bf16'; then
  run "$UP" -m m4.safetensors --precision bf16 --tile 8 --threads 2 wide.png p_bf8.png
  run "$UP" -m m4.safetensors --precision bf16 --tile 512 wide.png p_bfbig.png
  check "bf16: tile 8 == whole image" [ "$("$IMG" diff p_bf8.png p_bfbig.png)" = "0" ]
  check "auto is bf16 on this CPU" [ "$("$IMG" diff p_probe.png p_bfbig.png)" = "0" ]
  run "$UP" -m m4.safetensors --precision auto gray16.tif p_g16_auto.tif
  run "$UP" -m m4.safetensors --precision fp32 gray16.tif p_g16_fp32.tif
  run "$UP" -m m4.safetensors --precision bf16 gray16.tif p_g16_bf16.tif
  check "auto: 16-bit input runs fp32" [ "$("$IMG" diff p_g16_auto.tif p_g16_fp32.tif)" = "0" ] && check "(bf16 would differ)" [ "$("$IMG" diff p_g16_bf16.tif p_g16_fp32.tif)" != "0" ]
  run "$UP" -m m4.safetensors --precision auto f32.tif p_f32_auto.tif
  run "$UP" -m m4.safetensors --precision fp32 f32.tif p_f32_fp32.tif
  check "auto: float input runs fp32" [ "$("$IMG" diff p_f32_auto.tif p_f32_fp32.tif)" = "0" ]
else
  echo "# no AVX512-BF16: the bf16 runs are not tested"
fi
run "$UP" --method bicubic --ensemble rgb.png e_bic.png
check "--ensemble with a classic method: usage error (2)" [ $rc -eq 2 ] && check "says why" one_line_naming 'ensemble'
run "$UP" --ensemble -x 0.5 rgb.png e_down.png
check "--ensemble on a downscale: refused (2), not a silent resampler" [ $rc -eq 2 ] && check "no output" [ ! -e e_down.png ]
run "$UP" -m m4.safetensors -x 0.5 rgb.png n_down.png
check "network downscale refused (2)" [ $rc -eq 2 ] && check "downscale says why" grep -q 'downscale' out.txt
head -c 1000 m4.safetensors > broken.safetensors
run "$UP" -m broken.safetensors rgb.png n_broken.png
check "truncated weights: exit 2" [ $rc -eq 2 ]
check "truncated weights: one line naming the file" one_line_naming broken.safetensors
check "truncated weights: no output" [ ! -e n_broken.png ]
run "$UP" -m nosuchmodel rgb.png n_none.png
check "unknown model name: exit 2" [ $rc -eq 2 ] && check "unknown model named" grep -q nosuchmodel out.txt
mkdir -p wdir && cp m4.safetensors wdir/tiny-x4.safetensors
SRGAN_UP_WEIGHTS=$T/wdir run "$UP" --list-models
check "--list-models finds \$SRGAN_UP_WEIGHTS" grep -q 'tiny-x4' out.txt
SRGAN_UP_WEIGHTS=$T/wdir run "$UP" -m tiny-x4 rgb.png n_named.png
check "model chosen by name" [ "$("$IMG" diff n_named.png n_rgb.png)" = "0" ]

# --- every architecture: listed with its architecture and parameter count
# (the PyTorch fixtures' state_dict sizes), loaded by -m, odd sides too
FX=$SRGAN_SRCDIR/tests/fixtures/model
mkdir -p archs && for m in srvgg_x4 rrdbnet_x2 edsr_x2; do cp "$FX/$m.safetensors" archs/; done
SRGAN_UP_WEIGHTS=$T/archs run "$UP" --list-models
check "--list-models: srvgg and its size" grep -q '^srvgg_x4 .* x4 *srvgg *3x8 *5.5k ' out.txt
check "--list-models: rrdbnet and its size" grep -q '^rrdbnet_x2 .* x2 *rrdbnet *2x8 *26.0k ' out.txt
check "--list-models: edsr and its size" grep -q '^edsr_x2 .* x2 *edsr *2x8 *5.7k ' out.txt
for ms in srvgg_x4:4:92 rrdbnet_x2:2:46 edsr_x2:2:46; do
    m=${ms%%:*}; s=${ms#*:}; s=${s%%:*}; w=${ms##*:}
    run "$UP" -m "archs/$m.safetensors" -x "$s" rgb.png "a_$m.png"
    check "-m $m upscales a 23x17 image" [ "$("$IMG" info "a_$m.png")" = "$w $((17 * s)) 3 u8 1" ]
done
# a checkpoint of no known architecture: one line naming its first tensor
{ printf '\103\0\0\0\0\0\0\0'
  printf '{"encoder.weight":{"dtype":"F32","shape":[1],"data_offsets":[0,4]}}'
  printf '\0\0\0\0'; } > alien.safetensors
run "$UP" -m alien.safetensors -x 4 rgb.png n_alien.png
check "unknown architecture: exit 2" [ $rc -eq 2 ]
check "unknown architecture: one line naming the tensor" one_line_naming "tensor 'encoder.weight' does not fit any architecture"

# --- intensities: dtype conversion keeps values; normalisation maps back
run "$UP" --method nearest -x 1 --dtype float32 gray16.tif g_f32.tif
check "--dtype float32 from 16-bit" [ "$("$IMG" info g_f32.tif | cut -d' ' -f4)" = "f32" ]
check "--dtype keeps intensities" [ "$("$IMG" minmax g_f32.tif)" = "$("$IMG" minmax gray16.tif)" ]
run "$UP" --method nearest -x 1 --dtype uint16 rgb.png rgb16.png
check "8-bit -> uint16 maps the ranges (v * 257)" [ "$("$IMG" minmax rgb16.png)" = "$("$IMG" minmax rgb.png | awk '{print $1 * 257, $2 * 257}')" ]
run "$UP" --method nearest -x 1 --dtype float32 rgb.png rgbf.tif
check "8-bit -> float32 keeps values" [ "$("$IMG" minmax rgbf.tif)" = "$("$IMG" minmax rgb.png)" ]
run "$UP" --normalize percentile:2 rgb.png x.png;  check "bad --normalize (2)" [ $rc -eq 2 ]
run "$UP" --dtype int8 rgb.png x.png;  check "bad --dtype (2)" [ $rc -eq 2 ]
run "$UP" -v -m m2.safetensors -x 2 --normalize percentile:1,99 gray16.tif n_norm.tif
check "normalisation reported" grep -q 'percentiles 1..99%' out.txt
check "normalised output stays 16-bit" [ "$("$IMG" info n_norm.tif)" = "38 26 1 u16 1" ]
run "$UP" -v -m m2.safetensors -x 2 --normalize-scope image stack.tif n_stack_img.tif
check "per-page normalisation: one line per page" [ "$(grep -c 'page: percentiles' out.txt)" -eq 3 ]

# --- calibration: resolution scaled, OME-XML updated, ImageJ kept
IMGTOOL_DPCM=20000 IMGTOOL_DESC='<?xml version="1.0"?><OME><Image><Pixels SizeX="12" SizeY="10" SizeZ="2" PhysicalSizeX="0.5" PhysicalSizeY="0.5" PhysicalSizeZ="1.5"/></Image></OME>' \
  "$IMG" make ome.tif 12 10 1 u16 2 || exit 2
run "$UP" --method bicubic -x 4 ome.tif ome4.tif
"$IMG" meta ome4.tif > meta.txt
check "resolution x4 (pixels per cm)" [ "$(head -1 meta.txt)" = "cm 80000 80000" ]
check "OME SizeX/SizeY scaled" grep -q 'SizeX="48" SizeY="40"' meta.txt
check "OME PhysicalSize divided" grep -q 'PhysicalSizeX="0.125" PhysicalSizeY="0.125"' meta.txt
check "OME Z untouched" grep -q 'SizeZ="2" .*PhysicalSizeZ="1.5"' meta.txt
IMGTOOL_DPCM=3.5 IMGTOOL_DESC="$(printf 'ImageJ=1.53t\nimages=2\nslices=2\nunit=micron\nspacing=0.5\n')" \
  "$IMG" make ij.tif 8 6 1 u16 2 || exit 2
run "$UP" --method bicubic -x 2 ij.tif ij2.tif
"$IMG" meta ij2.tif > meta.txt
check "ImageJ resolution x2" [ "$(head -1 meta.txt)" = "cm 7 7" ]
check "ImageJ description kept" grep -q '^spacing=0.5$' meta.txt
run "$UP" --method bicubic -x 2 rgb.png rgb_res.png
"$IMG" meta rgb_res.png > meta.txt
check "PNG pHYs scaled (2835/m -> 5670/m)" grep -q '^cm 56.7 56.7$' meta.txt

# --- the network path keeps intensities: a generator whose conv_last is zero
# outputs exactly its bilinear skip, so through normalisation and back it must
# equal the classic bilinear resampler, on real 16-bit microscopy and stacks.
MICRO=${SRGAN_SHARED:-}/data/micro
if [ -d "$MICRO/u16" ]; then
  "$IMG" model skip1.safetensors 2 1 8 msrresnet 1 zero-tail || exit 2
  "$IMG" model skip3.safetensors 2 1 8 msrresnet 3 zero-tail || exit 2
  for f in "$MICRO/u16/bbbc007_1.tif" "$MICRO/stacks/imagej_stack_3.tif"; do
    b=$(basename "$f" .tif)
    run "$UP" -m skip1.safetensors -x 2 "$f" "net_$b.tif"
    run "$UP" --method bilinear -x 2 "$f" "bil_$b.tif"
    check "$b: 1-channel model keeps dtype and pages" [ "$("$IMG" info "net_$b.tif")" = "$("$IMG" info "bil_$b.tif")" ]
    d=$("$IMG" diff "net_$b.tif" "bil_$b.tif")
    check "$b: model path == bilinear within 1 level ($d)" awk -v d="$d" 'BEGIN { exit !(d <= 1.5 / 65535) }'
    check "$b: intensity range kept" [ "$("$IMG" minmax "net_$b.tif")" = "$("$IMG" minmax "bil_$b.tif")" ]
    run "$UP" -m skip3.safetensors -x 2 --normalize-scope image "$f" "net3_$b.tif"
    d=$("$IMG" diff "net3_$b.tif" "bil_$b.tif")
    check "$b: gray through an RGB model == bilinear ($d)" awk -v d="$d" 'BEGIN { exit !(d <= 1.5 / 65535) }'
  done
  run "$UP" -m skip1.safetensors -x 2 --dtype float32 "$MICRO/u16/bbbc007_1.tif" net_f32.tif
  check "float32 output from the model path" [ "$("$IMG" info net_f32.tif | cut -d' ' -f4)" = "f32" ]
  within_one() { # "MIN MAX" "MIN MAX": each within 1 intensity level
    awk -v a="$1" -v b="$2" 'BEGIN { split(a, x, " "); split(b, y, " ");
      exit !((x[1] - y[1])^2 <= 1 && (x[2] - y[2])^2 <= 1 && y[2] > 1) }'
  }
  check "float32 output keeps the 16-bit intensity scale" within_one "$("$IMG" minmax net_f32.tif)" "$("$IMG" minmax bil_bbbc007_1.tif)"
else
  echo "skip: $MICRO absent"
fi

# --- uncompressed ImageJ stacks and shaped series: Fiji and tifffile read
# them as one block of pixel data from page 1's first strip, so every page
# read that way must equal the page read through its own IFD (fixtures made
# by tools/make_tiff_meta_fixtures.py with tifffile, imagej=True)
MX=${SRGAN_SRCDIR:-}/tests/fixtures/tiff/meta
if /usr/bin/python3 -c 'import tifffile, numpy' 2>/dev/null; then
  # tiny pages: tifffile takes a shaped series as one block when page 1's
  # IFD and the series' bytes end before page 2's IFD
  IMGTOOL_DESC='{"shape": [3, 3, 2]}' "$IMG" make shaped_tiny.tif 2 3 1 u8 3 || exit 2
  for f in "$MX/imagej_calib" "$MX/imagej_f32_be" "$MX/shaped_zyx" shaped_tiny; do
    run "$UP" --method nearest -x 2 --compression none "$f.tif" "u_${f##*/}.tif"
    f=${f##*/}
    check "uncompressed $f: written" [ $rc -eq 0 ]
    run /usr/bin/python3 -c '
import sys, numpy, tifffile
with tifffile.TiffFile(sys.argv[1]) as t:
    kind = t.series[0].kind
    s = t.series[0].asarray()
    p = numpy.stack([q.asarray() for q in t.pages])
ok = kind in ("imagej", "shaped") and len(t.pages) > 1 and s.size == p.size
sys.exit(0 if ok and numpy.array_equal(s.reshape(p.shape), p) else 1)' "u_$f.tif"
    check "uncompressed $f: tifffile reads every page right" [ $rc -eq 0 ]
  done
else
  echo "skip: /usr/bin/python3 has no tifffile"
fi

# --- sample types and extra samples (issue 13); fixtures made by
# tools/make_tiff_type_fixtures.py
FX=${SRGAN_SRCDIR:-}/tests/fixtures/tifftypes
gt() { awk -v a="$1" -v b="$2" 'BEGIN { exit !(a > b) }'; }
"$IMG" model tskip1.safetensors 2 1 8 msrresnet 1 zero-tail || exit 2
"$IMG" model tskip3.safetensors 2 1 8 msrresnet 3 zero-tail || exit 2
# two fluorescence channels (ExtraSamples unspecified): channel 0 must not be
# zeroed where channel 1 is 0, and channel 1 stays a data channel
run "$UP" --method bilinear -x 2 "$FX/ch2_u16.tif" t_ch2.tif
check "2-channel gray: layout and type kept" [ "$("$IMG" layout t_ch2.tif)" = "48 40 2 1 uint16" ]
check "2-channel gray: channel 0 not zeroed where channel 1 is 0" gt "$("$IMG" pixel t_ch2.tif 0 2 2 0)" 1000
run "$UP" --method bilinear -x 2 "$FX/ch3_u16_planar.tif" t_ch3.tif
check "3-channel planar gray: read and kept" [ "$("$IMG" layout t_ch3.tif)" = "48 40 3 2 uint16" ]
run "$UP" --method bilinear -x 2 "$FX/gray_alpha_u16.tif" t_ga.tif
check "real alpha stays alpha" [ "$("$IMG" layout t_ga.tif)" = "48 40 2 0 uint16" ]
# the network path, channel by channel: a zero-tail model is its bilinear skip
for m in tskip1 tskip3; do
  for f in ch2_u16 ch3_u16_planar; do
    run "$UP" -m $m.safetensors -x 2 "$FX/$f.tif" "t_${m}_$f.tif"
    check "$m $f: layout kept" [ "$("$IMG" layout "t_${m}_$f.tif")" = "$("$IMG" layout "$FX/$f.tif" | awk '{ $1 *= 2; $2 *= 2; print }')" ]
    run "$UP" --method bilinear -x 2 "$FX/$f.tif" "t_bil_$f.tif"
    d=$("$IMG" diff "t_${m}_$f.tif" "t_bil_$f.tif")
    check "$m $f: each channel == bilinear ($d)" awk -v d="$d" 'BEGIN { exit !(d <= 1.5 / 65535) }'
  done
done
# pages of different types keep their own type and size
for how in "--method bicubic" "-m tskip1.safetensors"; do
  run "$UP" $how -x 2 "$FX/mixed_u16_f32.tif" t_mixed.tif
  check "mixed pages ($how): each keeps its type" [ "$("$IMG" layout t_mixed.tif | tr '\n' ' ')" = "48 40 1 0 uint16 24 20 1 0 float32 " ]
  v=$("$IMG" pixel t_mixed.tif 1 23 19 0)
  check "mixed pages ($how): float page keeps its values ($v)" awk -v v="$v" 'BEGIN { exit !(v > 0.4 && v < 0.6) }'
done
# signed and half-float samples
run "$UP" --method bicubic -x 2 "$FX/i16.tif" t_i16.tif
check "int16 stays int16" [ "$("$IMG" layout t_i16.tif)" = "48 40 1 0 int16" ]
check "int16 keeps negative values" [ "$("$IMG" minmax t_i16.tif | cut -d' ' -f1)" = "-32768" ]
run "$UP" --method nearest -x 1 --dtype float32 "$FX/i16.tif" t_i16f.tif
check "int16 -> float32 keeps values (-30037)" [ "$("$IMG" pixel t_i16f.tif 0 1 0 0)" = "-30037" ]
run "$UP" -m tskip1.safetensors -x 2 "$FX/i8.tif" t_i8.tif
run "$UP" --method bilinear -x 2 "$FX/i8.tif" t_i8b.tif
check "int8 through the network stays int8" [ "$("$IMG" layout t_i8.tif)" = "48 40 1 0 int8" ]
d=$("$IMG" diff t_i8.tif t_i8b.tif)
check "int8 network == bilinear ($d)" awk -v d="$d" 'BEGIN { exit !(d <= 1.5 / 127) }'
run "$UP" --method bicubic -x 2 "$FX/f16.tif" t_f16.tif
check "float16 is written as float32" [ "$("$IMG" layout t_f16.tif)" = "48 40 1 0 float32" ]
# formats that cannot hold the layout refuse it
run "$UP" --method bicubic -x 2 "$FX/ch2_u16.tif" t_ch2.png
check "data channels to PNG: refused, one line" one_line_naming t_ch2.png
check "data channels to PNG: no output" [ ! -e t_ch2.png ]
run "$UP" --method bicubic -x 2 "$FX/i16.tif" t_i16.png
check "int16 to PNG: refused" [ $rc -eq 1 ] && check "int16 to PNG: no output" [ ! -e t_i16.png ]
# old-style JPEG in TIFF: decoded, and quietly (libtiff's deprecation warning
# is not the user's problem)
run "$UP" -q --method bicubic -x 2 "$FX/ojpeg_ycbcr420.tif" t_ojpeg.tif
check "old-style JPEG: upscaled" [ "$("$IMG" layout t_ojpeg.tif)" = "48 32 3 0 uint8" ]
check "old-style JPEG: nothing on stderr with -q" [ ! -s out.txt ]
# label images: refused unless nearest; with --labels bit-exact (x2 then x0.5
# gives the input back, including values a float would round)
run "$UP" -x 2 "$FX/labels_i32.tif" t_lab.tif
check "int32 without --labels: refused (1)" [ $rc -eq 1 ]
check "int32 without --labels: message names the file and --labels" one_line_naming "$FX/labels_i32.tif" && check "suggests --labels" grep -q -- '--labels' out.txt
check "int32 without --labels: no output" [ ! -e t_lab.tif ]
run "$UP" --method bicubic -x 2 "$FX/labels_u32.tif" t_lab.tif
check "uint32 with bicubic: refused" [ $rc -eq 1 ]
for f in labels_i32 labels_u32 labels_u16; do
  run "$UP" --labels -x 2 "$FX/$f.tif" "t_$f.tif"
  run "$UP" --labels -x 0.5 "t_$f.tif" "t_${f}_back.tif"
  check "$f --labels x2: type kept" [ "$("$IMG" layout "t_$f.tif" | cut -d' ' -f1,2,5)" = "48 40 $("$IMG" layout "$FX/$f.tif" | cut -d' ' -f5)" ]
  check "$f --labels: x2 then x0.5 is bit-exact" "$IMG" same "$FX/$f.tif" "t_${f}_back.tif"
done
run "$UP" --method nearest -x 2 "$FX/labels_u32.tif" t_lab_n.tif
check "--method nearest on uint32 == --labels" "$IMG" same t_lab_n.tif t_labels_u32.tif
run "$UP" --labels -x 2 gray16.tif t_lab_g16.tif
run "$UP" --method nearest -x 2 gray16.tif t_near_g16.tif
check "--labels picks the pixels --method nearest picks" "$IMG" same t_lab_g16.tif t_near_g16.tif
run "$UP" --method nearest -x 2 "$FX/i16.tif" t_near_i16.tif
run "$UP" --labels -x 2 "$FX/i16.tif" t_lab_i16.tif
check "--method nearest on int16 is exact (== --labels)" "$IMG" same t_near_i16.tif t_lab_i16.tif
run "$UP" --labels -x 3 "$FX/ch2_u16.tif" t_lab_ch2.tif
check "--labels keeps data channels" [ "$("$IMG" layout t_lab_ch2.tif)" = "72 60 2 1 uint16" ]
run "$UP" --labels -m tskip1.safetensors "$FX/labels_i32.tif" t_lab_m.tif
check "--labels with a model: usage error (2)" [ $rc -eq 2 ]

# --- batch edge cases: deep OUTDIR, subdirectory first, collisions
mkdir -p in3/aa_sub && cp rgb.png in3/aa_sub/p.png && cp rgb.png in3/zz.png
run "$UP" --method bicubic -x 2 -i in3 -o new/deep/out -r
check "nested OUTDIR created, subdirectory first" [ -f new/deep/out/aa_sub/p.png ] && check "and the top level" [ -f new/deep/out/zz.png ]
mkdir -p dup && cp rgb.png dup/x.png && cp gray16.tif dup/x.tif
run "$UP" --method bicubic -x 2 --format png --overwrite -i dup -o dupout
check "two inputs, one output name: exit 1" [ $rc -eq 1 ]
check "collision reported" grep -q 'also the output of' out.txt
check "the first keeps its output" [ "$("$IMG" info dupout/x.png)" = "46 34 3 u8 1" ]
mkdir -p dd && cp rgb.png dd/a.png && sum_dd=$(cksum < dd/a.png)
run "$UP" --method bicubic --overwrite -o dd rgb.png dd/a.png
check "an output that is another job's input is refused" grep -q 'refusing to overwrite an input' out.txt
check "that input is untouched" [ "$(cksum < dd/a.png)" = "$sum_dd" ]
# --suffix never leads outside the output folder
mkdir -p sfx/out
for bad in ../esc /esc x/../../esc ..; do
  run "$UP" --method bicubic -o sfx/out --suffix "$bad" rgb.png
  check "--suffix '$bad' refused (2)" [ $rc -eq 2 ]
  check "--suffix '$bad': says why" grep -q -- "--suffix: '$bad' must not contain" out.txt
done
check "--suffix: nothing written anywhere" [ -z "$(find sfx -type f)" ] && check "nor outside" [ ! -e esc.png ] && check "nor above" [ ! -e sfx/esc.png ]
# A FIFO as the input is refused at once (opening it would wait for a writer
# forever); timeout turns a hang into 124.
mkfifo fifo.png
run timeout 20 "$UP" --method bicubic fifo.png fifo_out.png
check "FIFO input: exit 1, not a hang" [ $rc -eq 1 ] && check "FIFO input: one line naming it" one_line_naming 'fifo.png: is a FIFO'
check "FIFO input: no output" [ ! -e fifo_out.png ]
# The output folder is the input folder: the second run does not take the
# first run's outputs for new inputs (no a_x2_x2.png), and -v says so.
mkdir -p same && cp rgb.png same/a.png && cp photo.jpg same/b.jpg
run "$UP" --method bicubic -x 2 -i same -o same --suffix _x2
check "same folder: first run writes both" [ $rc -eq 0 ] && check "a_x2.png" [ -f same/a_x2.png ]
run "$UP" -v --method bicubic -x 2 -i same -o same --suffix _x2 --skip-existing
check "same folder: second run exits 0" [ $rc -eq 0 ]
check "same folder: previous outputs are not inputs" [ ! -e same/a_x2_x2.png ] && check "nor the jpeg" [ ! -e same/b_x2_x2.jpg ]
check "same folder: -v says why" grep -q 'same/a_x2.png: skipped: it is the output of same/a.png' out.txt
check "same folder: summary counts the two real inputs" grep -q '0 written, 2 skipped, 0 failed' out.txt
# Dangling symbolic links: a failure with its reason, in the summary and the CSV.
mkdir -p dang && cp rgb.png dang/a.png && ln -s gone.png dang/b.png
run "$UP" --method bicubic -x 2 -i dang -o dangout --report dang.csv
check "dangling link: exit 1" [ $rc -eq 1 ] && check "the good file still written" [ -f dangout/a.png ]
check "dangling link: in the summary" grep -q 'failed: dang/b.png: dangling symbolic link (its target gone.png does not exist)' out.txt
check "dangling link: in the CSV" grep -q '^dang/b.png,dangout/b.png,failed,[0-9.]*,dang/b.png: dangling symbolic link' dang.csv
run "$UP" --method bicubic --skip-existing rgb.png rgb.png
check "--skip-existing does not hide output == input" [ $rc -eq 1 ]
long=$(printf 'n%.0s' $(seq 1 240)).png
run "$UP" --method bicubic rgb.png "$long"
check "a 244-character output name works" [ $rc -eq 0 ] && check "long name written" [ -f "$long" ]
run "$UP" --max-pixels 0.5 rgb.png x.png; check "--max-pixels below one refused (2)" [ $rc -eq 2 ]
run "$UP" -x 0.5 rgb.png half.png
check "-x 0.5 without a model: classic downscale" [ "$("$IMG" info half.png)" = "12 9 3 u8 1" ]
mkdir -p mixw && cp m2.safetensors mixw/rgb-x2.safetensors
"$IMG" model mixw/fluo-x2.safetensors 2 1 8 msrresnet 1 || exit 2
SRGAN_UP_WEIGHTS=$T/mixw run "$UP" -v -x 2 rgb.png mix_rgb.png
check "the default is never a 1-channel model" [ $rc -eq 0 ] && check "not the 1-channel one" not_grep 'model fluo-x2' out.txt
SRGAN_UP_WEIGHTS=$T/mixw run "$UP" -v -x 2 -m fluo-x2 gray16.tif mix_gray.tif
check "a 1-channel model by name" grep -q 'model fluo-x2' out.txt
mkdir -p kinds
IMGTOOL_KIND=psnr "$IMG" model kinds/b-x4.safetensors 4 1 8 || exit 2
IMGTOOL_KIND=gan "$IMG" model kinds/a-x4.safetensors 4 1 8 || exit 2
SRGAN_UP_WEIGHTS=$T/kinds run "$UP" -v rgb.png kind_default.png
check "the default is the psnr model, not the gan one (which sorts first)" grep -q 'model b-x4' out.txt
SRGAN_UP_WEIGHTS=$T/kinds run "$UP" -v --model gan rgb.png kind_gan.png
check "--model gan picks the gan model" grep -q 'model a-x4' out.txt
SRGAN_UP_WEIGHTS=$T/kinds run "$UP" -v --model psnr rgb.png kind_psnr.png
check "--model psnr picks the psnr model" grep -q 'model b-x4' out.txt
SRGAN_UP_WEIGHTS=$T/kinds run "$UP" --list-models
check "--list-models shows each kind" grep -q 'a-x4 *gan' out.txt
# --denoise: network interpolation with the model's noise-free partner
mkdir -p dn
IMGTOOL_KIND=psnr IMGTOOL_SEED=1 "$IMG" model dn/p-x4.safetensors 4 1 8 || exit 2
IMGTOOL_KIND=real IMGTOOL_SEED=2 IMGTOOL_PARTNER=p-x4 "$IMG" model dn/r-x4.safetensors 4 1 8 || exit 2
SRGAN_UP_WEIGHTS=$T/dn run "$UP" --model real rgb.png dn_real.png
SRGAN_UP_WEIGHTS=$T/dn run "$UP" --model psnr rgb.png dn_psnr.png
SRGAN_UP_WEIGHTS=$T/dn run "$UP" -v --model real --denoise 1 rgb.png dn_1.png
check "--denoise 1 is the real model itself" [ "$("$IMG" diff dn_1.png dn_real.png)" = "0" ]
check "-v names the blend" grep -q 'denoise 1: 1 x r-x4 + 0 x p-x4' out.txt
SRGAN_UP_WEIGHTS=$T/dn run "$UP" --model real --denoise 0 rgb.png dn_0.png
check "--denoise 0 is the noise-free partner exactly" [ "$("$IMG" diff dn_0.png dn_psnr.png)" = "0" ]
SRGAN_UP_WEIGHTS=$T/dn run "$UP" --model real --denoise 0.5 rgb.png dn_h.png
check "--denoise 0.5 is neither end point" [ "$("$IMG" diff dn_h.png dn_real.png)" != "0" ] &&
  check "--denoise 0.5 is not the partner" [ "$("$IMG" diff dn_h.png dn_psnr.png)" != "0" ]
SRGAN_UP_WEIGHTS=$T/dn run "$UP" --model psnr --denoise 0.5 rgb.png dn_bad.png
check "--denoise on a model without a partner: refused (2)" [ $rc -eq 2 ] && check "says why" one_line_naming 'partner' &&
  check "no output" [ ! -e dn_bad.png ]
run "$UP" --denoise 1.5 rgb.png dn_bad.png
check "--denoise 1.5: usage error (2)" [ $rc -eq 2 ] && check "says why" one_line_naming 'denoise'
run "$UP" --method bicubic --denoise 0.5 rgb.png dn_bad.png
check "--denoise with a classic method: refused (2)" [ $rc -eq 2 ] && check "no output" [ ! -e dn_bad.png ]
SRGAN_UP_WEIGHTS=$T/dn run "$UP" -v --denoise 0.5 rgb.png dn_h2.png
check "--denoise alone picks the real model" [ "$("$IMG" diff dn_h2.png dn_h.png)" = "0" ]
# the default for JPEG input is the "real" model; PNG keeps the photo model
SRGAN_UP_WEIGHTS=$T/dn run "$UP" -v photo.jpg dn_jpg.png
check "JPEG input: the real model by default" grep -q 'photo.jpg.*r-x4' out.txt &&
  check "-v says why" grep -q 'model r-x4 (x4) for JPEG input' out.txt
SRGAN_UP_WEIGHTS=$T/dn run "$UP" -v --model real photo.jpg dn_jpg_real.png
check "JPEG default == --model real" [ "$("$IMG" diff dn_jpg.png dn_jpg_real.png)" = "0" ]
SRGAN_UP_WEIGHTS=$T/dn run "$UP" -v --model psnr photo.jpg dn_jpg_psnr.png
check "--model psnr forces the photo model on JPEG" grep -q 'photo.jpg.*p-x4' out.txt &&
  check "and differs" [ "$("$IMG" diff dn_jpg.png dn_jpg_psnr.png)" != "0" ]
SRGAN_UP_WEIGHTS=$T/dn run "$UP" -v rgb.png dn_png.png
check "PNG input: the photo model by default" grep -q 'rgb.png.*p-x4' out.txt && check "same as --model psnr" [ "$("$IMG" diff dn_png.png dn_psnr.png)" = "0" ]
check "PNG input: the JPEG model is not even loaded" not_grep 'for JPEG input' out.txt
# in a batch the JPEG model is loaded once, when the first JPEG comes, and PNGs keep the photo model
mkdir -p lazy_out && cp photo.jpg photo2.jpg
SRGAN_UP_WEIGHTS=$T/dn run "$UP" -v --threads 1 --format png -o lazy_out rgb.png photo.jpg photo2.jpg
check "batch: the JPEG model loaded once" [ "$(grep -c 'model r-x4 (x4) for JPEG input' out.txt)" -eq 1 ] &&
  check "batch: each JPEG gets it" [ "$(grep -c 'photo2\?.jpg.*r-x4' out.txt)" -eq 2 ] &&
  check "batch: the PNG keeps the photo model" grep -q 'rgb.png.*p-x4' out.txt &&
  check "batch: same pixels as one file at a time" [ "$("$IMG" diff lazy_out/photo.png dn_jpg.png)" = "0" ]
# a model's own default strength (metadata denoise_default), as x4-real ships
mkdir -p dnd && cp dn/p-x4.safetensors dnd/
IMGTOOL_KIND=real IMGTOOL_SEED=2 IMGTOOL_PARTNER=p-x4 IMGTOOL_DENOISE=0.5 "$IMG" model dnd/r-x4.safetensors 4 1 8 || exit 2
SRGAN_UP_WEIGHTS=$T/dnd run "$UP" -v --model real rgb.png dnd_default.png
check "denoise_default: used without --denoise" [ "$("$IMG" diff dnd_default.png dn_h.png)" = "0" ] &&
  check "-v says it is the model's default" grep -q "denoise 0.5 (the model's default)" out.txt
SRGAN_UP_WEIGHTS=$T/dnd run "$UP" --model real --denoise 1 rgb.png dnd_1.png
check "--denoise 1 overrides the default" [ "$("$IMG" diff dnd_1.png dn_real.png)" = "0" ]
SRGAN_UP_WEIGHTS=$T/dnd run "$UP" -v photo.jpg dnd_jpg.png
SRGAN_UP_WEIGHTS=$T/dnd run "$UP" --model real --denoise 0.5 photo.jpg dnd_jpg_h.png
check "JPEG default: the real model at its default strength" [ "$("$IMG" diff dnd_jpg.png dnd_jpg_h.png)" = "0" ]
mkdir -p dnd_orphan && cp dnd/r-x4.safetensors dnd_orphan/
SRGAN_UP_WEIGHTS=$T/dnd_orphan run "$UP" --model real rgb.png dnd_orphan.png
check "default strength, partner missing: still runs" [ $rc -eq 0 ] && check "with a warning naming it" grep -q "partner 'p-x4' is not found" out.txt &&
  check "as trained" [ "$("$IMG" diff dnd_orphan.png dn_real.png)" = "0" ]
mkdir -p dn_orphan && cp dn/r-x4.safetensors dn_orphan/
# --denoise alone on 1-channel 16-bit input: the microscopy model and its partner, not the photo one
mkdir -p dnm && cp dn/r-x4.safetensors dn/p-x4.safetensors dnm/
IMGTOOL_KIND=fluo-clean IMGTOOL_SEED=3 "$IMG" model dnm/fc-x4.safetensors 4 1 8 msrresnet 1 || exit 2
IMGTOOL_KIND=fluo IMGTOOL_SEED=4 IMGTOOL_PARTNER=fc-x4 "$IMG" model dnm/fn-x4.safetensors 4 1 8 msrresnet 1 || exit 2
SRGAN_UP_WEIGHTS=$T/dnm run "$UP" -v --denoise 0 gray16.tif dnm_0.tif
check "--denoise alone, 16-bit gray: the microscopy model" grep -q 'gray16.tif: .*fn-x4' out.txt &&
  check "blended with its partner" grep -q 'denoise 0: 0 x fn-x4 + 1 x fc-x4' out.txt
SRGAN_UP_WEIGHTS=$T/dnm run "$UP" -m fc-x4 gray16.tif dnm_clean.tif
check "--denoise 0 on it == its clean partner" [ "$("$IMG" diff dnm_0.tif dnm_clean.tif)" = "0" ]
SRGAN_UP_WEIGHTS=$T/dn_orphan run "$UP" --model real --denoise 0.5 rgb.png dn_bad.png
check "--denoise with the partner missing: refused (2)" [ $rc -eq 2 ] && check "names the partner" one_line_naming 'p-x4'
# srgan-train's exports, RUN/model.safetensors: named after the run, checkpoints not listed
mkdir -p runs/run-a runs/run-b
cp m4.safetensors runs/run-a/model.safetensors && cp m2.safetensors runs/run-b/model.safetensors
# a safetensors file with a checkpoint's metadata and no tensors (header < 256 bytes)
h='{"__metadata__":{"format":"srgan-train-checkpoint","phase":"psnr","scale":"4"}}'
{ printf "\\$(printf %03o ${#h})\\0\\0\\0\\0\\0\\0\\0"; printf '%s' "$h"; } > runs/run-a/checkpoint.safetensors
SRGAN_UP_WEIGHTS=$T/runs run "$UP" --list-models
check "--list-models: a run's export is named after its directory" grep -q '^run-a ' out.txt && check "and the other run's" grep -q '^run-b ' out.txt
check "--list-models: no model called 'model'" not_grep '^model ' out.txt
SRGAN_UP_WEIGHTS=$T/runs/run-a run "$UP" --list-models
check "--list-models: a training checkpoint is not a model" not_grep 'checkpoint.safetensors' out.txt
SRGAN_UP_WEIGHTS=$T/runs run "$UP" -m run-b -x 2 rgb.png n_runb.png
check "a run's export chosen by its directory name" [ "$("$IMG" diff n_runb.png n_srres.png)" = "0" ]
# the shipped models (weights/ in the source tree)
run "$UP" -v rgb.png ship_default.png
check "shipped: the default for x4 is x4-psnr" grep -q 'model x4-psnr' out.txt
run "$UP" -v --model gan rgb.png ship_gan.png
check "shipped: --model gan is x4-gan" grep -q 'model x4-gan' out.txt
check "shipped: gan and psnr outputs differ" [ "$("$IMG" diff ship_gan.png ship_default.png)" != "0" ]
run "$UP" -v -x 2 gray16.tif ship_fluo.tif
check "shipped: 1-channel 16-bit input gets the microscopy model" grep -q 'gray16.tif: .*fluo-x2 x2' out.txt
run "$UP" -v -x 2 --model psnr gray16.tif ship_psnr16.tif
check "shipped: --model psnr forces the photo model" grep -q 'gray16.tif: .*x2-psnr x2' out.txt
run "$UP" -v -x 2 rgb.png ship_rgb2.png
check "shipped: RGB input keeps the photo model" grep -q 'rgb.png: .*x2-psnr x2' out.txt
check "shipped: fluo and photo outputs differ" [ "$("$IMG" diff ship_fluo.tif ship_psnr16.tif)" != "0" ]

# --- pipes: "-" is standard input / output
"$UP" -q --method bicubic -x 2 rgb.png pipe_ref.png
cat rgb.png | "$UP" --method bicubic -x 2 - - --format png > piped.png 2>pipe_err.txt
check "stdin to stdout" [ $? -eq 0 ] && check "piped output is the file's result" [ "$("$IMG" diff piped.png pipe_ref.png)" = 0 ]
"$UP" --method bicubic -x 2 - - --format tif < gray16.tif > piped.tif 2>/dev/null
check "a redirected TIFF on stdin (seekable) keeps 16-bit" [ "$("$IMG" info piped.tif)" = "38 26 1 u16 1" ]
cat stack.tif | "$UP" --method bicubic -x 2 - pipedstack.tif 2>/dev/null
check "a piped multi-page TIFF keeps its pages" [ "$("$IMG" info pipedstack.tif)" = "18 14 1 u16 3" ]
"$UP" --method bicubic -x 2 rgb.png - > nofmt.out 2>out.txt; rc=$?
check "stdout without --format: usage error" [ $rc -eq 2 ] && grep -q -- '--format' out.txt && [ ! -s nofmt.out ]
echo "not an image" | "$UP" --method bicubic -x 2 - - --format png > bad.out 2>out.txt; rc=$?
check "bad stdin: exit 1, one line naming -, nothing on stdout" [ $rc -eq 1 ] && one_line_naming '^srgan-up: -: ' && [ ! -s bad.out ]
check "pipes leave no temporaries" sh -c "! ls \"\${TMPDIR:-/tmp}\"/.srgan-up-std* 2>/dev/null | grep -q ."

# --- review fixes: option combinations that would lose data or do nothing
"$IMG" make lab16.tif 20 10 1 u16
run "$UP" -x 2 --labels lab16.tif lab.webp
check "--labels to WebP refused" [ $rc -ne 0 ] && one_line_naming lab.webp && [ ! -e lab.webp ]
run "$UP" -x 2 --labels lab16.tif lab.jpg
check "--labels to JPEG refused" [ $rc -ne 0 ] && [ ! -e lab.jpg ]
run "$UP" -x 2 --labels --ensemble lab16.tif lab_e.tif
check "--labels --ensemble is a usage error" [ $rc -eq 2 ]
run "$UP" --method bicubic -x 2 rgb.png shard_single.png --shard 2/2
check "--shard with one file is a usage error" [ $rc -eq 2 ] && grep -q 'batch' out.txt
run "$UP" --method bicubic -x 2 -o pipedir -
check "'-' in batch form is a usage error" [ $rc -eq 2 ] && grep -q 'IN OUT form' out.txt
run "$UP" --method bicubic -x 2 -i rgb.png -o results_dir
check "-i FILE -o NAME-without-extension writes into that folder" [ -f results_dir/rgb.png ]
"$UP" --method bicubic -x 12 --compression none rgb.png - --format tif 2>/dev/null | (sleep 1; head -c 10 >/dev/null)
check "a closed stdout leaves no temporaries" sh -c "! ls \"\${TMPDIR:-/tmp}\"/.srgan-up-std* 2>/dev/null | grep -q ."

# --- sharded batches (--shard K/N): every file in exactly one part
mkdir -p shin shout && for n in 1 2 3 4 5; do cp rgb.png shin/f$n.png; done && cp photo.jpg shin/big.jpg
run "$UP" --method bicubic -x 2 -i shin -o shout --shard 1/2 --report sh_%K.csv
check "--shard 1/2 runs" [ $rc -eq 0 ]
run "$UP" --method bicubic -x 2 -i shin -o shout --shard 2/2 --report sh_%K.csv
check "--shard 2/2 runs" [ $rc -eq 0 ]
check "the parts cover every file once" [ "$(ls shout | wc -l)" = 6 ] && \
    [ "$(cat sh_1.csv sh_2.csv | grep -c ',written,')" = 6 ]
run "$UP" --merge-reports sh_all.csv sh_1.csv sh_2.csv
check "--merge-reports" [ $rc -eq 0 ] && check "merged: one header, six rows" [ "$(wc -l < sh_all.csv)" = 7 ]
run "$UP" --merge-reports sh_bad.csv sh_1.csv rgb.png
check "--merge-reports: a non-report is refused, named" [ $rc -ne 0 ] && one_line_naming rgb.png && [ ! -e sh_bad.csv ]
run "$UP" --method bicubic -x 2 -i shin -o shout2 --shard 3/2
check "--shard 3/2 is a usage error" [ $rc -eq 2 ] && grep -q 'K/N' out.txt
SLURM_ARRAY_TASK_ID=1 run "$UP" --method bicubic -x 2 -i shin -o shout3
check "array task without --shard: says how to shard" grep -q -- '--shard slurm' out.txt
SLURM_ARRAY_TASK_ID=2 SLURM_ARRAY_TASK_MIN=1 SLURM_ARRAY_TASK_COUNT=2 run "$UP" --method bicubic -x 2 -i shin -o shout4 --shard slurm --report s4.csv
check "--shard slurm takes K/N from the array" [ -f s4.2-of-2.csv ] && [ "$(grep -c ',written,' s4.2-of-2.csv)" -ge 1 ]

# --- interrupted: SIGTERM removes the temporary file
"$IMG" make big.tif 3000 3000 3 u16 || exit 2
mkdir -p sig
"$UP" --method lanczos -x 4 big.tif sig/out.tif >/dev/null 2>&1 &
pid=$!
i=0; while [ $i -lt 100 ] && ! find sig -name '*.part' | grep -q .; do sleep 0.05; i=$((i + 1)); done
check "SIGTERM: temporary file existed while running" has_part sig
part=$(find sig -name '*.part' | head -1)
kill -TERM $pid 2>/dev/null
wait $pid; rc=$?
check "SIGTERM: killed (non-zero)" [ $rc -ne 0 ]
check "SIGTERM: no temporary file" no_leftovers sig
check "SIGTERM: no output" [ ! -e sig/out.tif ]

# --- a temporary file left by SIGKILL is removed by the next run writing the
# same output, once its process is gone; a live process's is kept.
host=$(echo "$part" | sed -n 's/.*\.out\.tif\.srgan-up\.\(.*\)\.[0-9][0-9]*\.part$/\1/p')
check "temporary name is .NAME.srgan-up.HOST.PID.part ($part)" [ -n "$host" ]
dead=$(sh -c 'echo $$')
sleep 60 & live=$!
mkdir -p stale
: > "stale/.o.png.srgan-up.$host.$dead.part"
: > "stale/.o.png.srgan-up.$host.$live.part"
: > "stale/.other.png.srgan-up.$host.$dead.part"
run "$UP" -v --method bicubic rgb.png stale/o.png
check "stale temporary: run succeeds" [ $rc -eq 0 ]
check "stale temporary (dead PID) removed" [ ! -e "stale/.o.png.srgan-up.$host.$dead.part" ]
check "-v says so" grep -q "removed stale/.o.png.srgan-up.$host.$dead.part, left by an interrupted run" out.txt
check "a live process's temporary kept" [ -e "stale/.o.png.srgan-up.$host.$live.part" ]
check "another output's temporary kept" [ -e "stale/.other.png.srgan-up.$host.$dead.part" ]
kill $live 2>/dev/null; wait $live 2>/dev/null

# --- an interrupted batch still has its report: a line per finished file,
# written as it finishes, and a valid CSV (whole lines only).
mkdir -p intr && cp rgb.png intr/a.png && ln -s ../big.tif intr/b.tif && ln -s ../big.tif intr/c.tif
for s in INT TERM; do
  rm -rf introut intr.csv
  "$UP" --method lanczos -x 4 -i intr -o introut --report intr.csv >/dev/null 2>&1 &
  pid=$!
  i=0; while [ $i -lt 200 ] && ! grep -q '^intr/a.png,' intr.csv 2>/dev/null; do sleep 0.05; i=$((i + 1)); done
  kill -$s $pid 2>/dev/null
  wait $pid; rc=$?
  check "SIG$s batch: killed (non-zero)" [ $rc -ne 0 ]
  check "SIG$s batch: report exists" [ -f intr.csv ]
  check "SIG$s batch: report header" [ "$(head -1 intr.csv 2>/dev/null)" = "input,output,status,seconds,error" ]
  check "SIG$s batch: the finished file is listed" grep -q '^intr/a.png,introut/a.png,written,' intr.csv
  check "SIG$s batch: unfinished files are not" not_grep 'intr/c.tif' intr.csv
  check "SIG$s batch: whole lines only" [ "$(tail -c 1 intr.csv | od -An -c | tr -d ' ')" = '\n' ]
  check "SIG$s batch: no temporary file" no_leftovers introut
done

echo "$pass passed, $fail failed"
cd / && { umount "$T/full" 2>/dev/null; rm -rf "$T"; }
[ $fail -eq 0 ]
