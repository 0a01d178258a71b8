#!/bin/sh
# build.sh ENGINE [DIR]: build the fuzz harnesses for a fuzzing engine.
#
#   sh tests/fuzz/build.sh libfuzzer   # clang, libFuzzer + ASan + UBSan
#   sh tests/fuzz/build.sh afl         # afl++ (afl-clang-fast), persistent mode
#
# The library is built static into DIR (default build-fuzz-ENGINE), compiled
# with the engine's coverage instrumentation, then each harness is linked
# with the engine's driver: DIR/fuzz_png, fuzz_jpeg, fuzz_tiff,
# fuzz_safetensors. Run from the repository root. See tests/fuzz/README.md.
set -eu
engine=${1:?usage: build.sh libfuzzer|afl [DIR]}
dir=${2:-build-fuzz-$engine}
src=$(cd "$(dirname "$0")/../.." && pwd)
case $engine in
libfuzzer)
    cc=clang
    cflags="-g -O1 -fno-omit-frame-pointer -fsanitize=fuzzer-no-link,address,undefined"
    ldflags="-fsanitize=address,undefined"
    link="-fsanitize=fuzzer,address,undefined"
    ;;
afl)
    # AFL_USE_ASAN=1 in the environment adds ASan to both steps.
    cc=afl-clang-fast
    cflags="-g -O2"
    ldflags=""
    link="-fsanitize=fuzzer" # afl++ links its libFuzzer-compatible driver
    ;;
*)
    echo "build.sh: engine '$engine' is not libfuzzer or afl" >&2
    exit 2
    ;;
esac
if [ ! -d "$dir" ]; then
    CC=$cc meson setup "$dir" "$src" --buildtype=plain -Ddefault_library=static \
        -Db_lundef=false -Dc_args="$cflags" -Dc_link_args="$ldflags"
fi
ninja -C "$dir" src/libsrgan.a
libs=$(pkg-config --libs libpng libjpeg libtiff-4 openblas)
for t in png:SR_FMT_PNG jpeg:SR_FMT_JPEG tiff:SR_FMT_TIFF safetensors:; do
    name=${t%%:*}
    fmt=${t#*:}
    file=fuzz_read.c
    [ -n "$fmt" ] || file=fuzz_safetensors.c
    # shellcheck disable=SC2086
    $cc $cflags $link -DFUZZ_NO_MAIN ${fmt:+-DFUZZ_FORMAT=$fmt} -I"$src/include" \
        "$src/tests/fuzz/$file" "$dir/src/libsrgan.a" $libs -lm -lpthread -o "$dir/fuzz_$name"
    echo "built $dir/fuzz_$name"
done
