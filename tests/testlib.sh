# testlib.sh: what the shell tests share (sourced: . "$(dirname "$0")/../testlib.sh").
# check NAME CMD...: runs CMD, counts and prints "ok   NAME" or "FAIL NAME";
# a script ends with: echo "$pass passed, $fail failed"; [ $fail -eq 0 ]
pass=0
fail=0
ok()  { pass=$((pass + 1)); echo "ok   $1"; }
bad() { fail=$((fail + 1)); echo "FAIL $1"; }
check() { name=$1; shift; if "$@"; then ok "$name"; else bad "$name"; fi; }
