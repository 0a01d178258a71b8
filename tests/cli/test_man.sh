#!/bin/sh
# The built man pages carry the version the programs print and one date.
# Usage (from meson): test_man.sh SRGAN_UP SRGAN_TRAIN srgan-up.1 srgan-train.1
set -u
fail=0
v_up=$("$1" --version | cut -d' ' -f2)
v_train=$("$2" --version | cut -d' ' -f2)
th() { sed -n '1s/^\.TH [A-Z-]* 1 "\([^"]*\)" "\([^"]*\)".*/\1|\2/p' "$1"; }
up=$(th "$3")
train=$(th "$4")
echo "srgan-up.1: $up; srgan-train.1: $train; programs: $v_up, $v_train"
[ "${up#*|}" = "srgan-up $v_up" ] || { echo "FAIL srgan-up.1 is not for version $v_up"; fail=1; }
[ "${train#*|}" = "srgan-up $v_train" ] || { echo "FAIL srgan-train.1 is not for version $v_train"; fail=1; }
[ -n "${up%%|*}" ] && [ "${up%%|*}" = "${train%%|*}" ] || { echo "FAIL the pages' dates differ or are empty"; fail=1; }
if grep -n '@[A-Z_]*@' "$3" "$4"; then echo "FAIL unreplaced placeholders"; fail=1; fi
exit $fail
