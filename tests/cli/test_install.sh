#!/bin/sh
# The installed layout (meson install into a staging root, DESTDIR-style):
# - the installed binaries carry an rpath to the installed libsrgan, so they
#   run without LD_LIBRARY_PATH once installed at their prefix;
# - an installed srgan-up never reads the source tree's weights/ it was built
#   from: it searches $SRGAN_UP_WEIGHTS and the installed data directory only;
# - the installed weights are found by name there;
# - srgan-train's default --vgg is not relative to the current directory.
# Usage (from meson): test_install.sh BUILD_ROOT PREFIX LIBDIR SOURCE_ROOT
set -u
BUILD=$1 PREFIX=$2 LIBDIR=$3 SRC=$4
T=$(mktemp -d "${SRGAN_TMPDIR:-/tmp}/install.XXXXXX")
trap 'rm -rf "$T"' EXIT
. "$(dirname "$0")/../testlib.sh" # pass/fail counters, ok, bad, check

meson install -C "$BUILD" --no-rebuild --destdir "$T/root" >"$T/install.log" 2>&1
check "meson install" [ $? -eq 0 ]
case $LIBDIR in /*) LIB=$LIBDIR ;; *) LIB=$PREFIX/$LIBDIR ;; esac
BIN=$T/root$PREFIX/bin
for b in srgan-up srgan-train; do
    check "$b installed" [ -x "$BIN/$b" ]
    check "$b has the installed library in its rpath" sh -c \
        "readelf -d '$BIN/$b' | grep -E 'RUNPATH|RPATH' | grep -q '$LIB'"
done
check "weights installed" [ -f "$T/root$PREFIX/share/srgan-up/x4-psnr.safetensors" ]
# Run the staged binary against the staged library (its rpath names the real
# prefix, where nothing is installed during the test).
export LD_LIBRARY_PATH="$T/root$LIB:${LD_LIBRARY_PATH:-}"
unset SRGAN_UP_WEIGHTS
"$BIN/srgan-up" --list-models >"$T/list.txt" 2>&1
check "installed srgan-up does not read the source tree" sh -c "! grep -q '$SRC/weights' '$T/list.txt'"
SRGAN_UP_WEIGHTS="$T/root$PREFIX/share/srgan-up" "$BIN/srgan-up" --list-models >"$T/list2.txt" 2>&1
check "installed weights found by name" grep -q "^x4-psnr .*$T/root$PREFIX/share/srgan-up" "$T/list2.txt"
# The build-tree binary, by contrast, does use the source tree.
"$BUILD/src/cli/srgan-up" --list-models >"$T/list3.txt" 2>&1
check "build-tree srgan-up uses the source weights" grep -q "$SRC/weights/x4-psnr" "$T/list3.txt"
cd "$T" && "$BIN/srgan-train" --help >"$T/help.txt" 2>&1
check "srgan-train --vgg default is not relative" sh -c "! grep -q '(\.\./shared' '$T/help.txt'"
echo "$pass passed, $fail failed"
[ $fail -eq 0 ]
