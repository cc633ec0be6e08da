# gcc (driver, cc1, as, collect2, ld: all preloaded) compiles a C program
# that is then run preloaded too; the program proves the allocator is
# mapped into it and prints results the script knows in advance.
source "$(dirname "$0")/lib.sh"
require_program gcc

run_preloaded gcc -O2 -Wall -o "$WORK/sorter" "$HERE/gcc_sorter.c" \
  || fail "gcc failed under LD_PRELOAD"
run_preloaded "$WORK/sorter" "$EXPECTED_NAME" >"$WORK/out" \
  || fail "compiled program failed"
cat "$WORK/out"
expected="mapped yes
sum 5000050000
sorted first 0 last 99999 ordered yes
strings 100000 longest 105"
[ "$(cat "$WORK/out")" = "$expected" ] || fail "unexpected output; want:
$expected"
