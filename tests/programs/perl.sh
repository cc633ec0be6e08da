# A hash-heavy Perl script: same output with and without the allocator.
source "$(dirname "$0")/lib.sh"
require_program perl

PERL_HASH_SEED=0 perl "$HERE/workload.pl" >"$WORK/plain.out"
PERL_HASH_SEED=0 CROWD_EXPECT_MAPPED="$EXPECTED_NAME" \
  run_preloaded perl "$HERE/workload.pl" >"$WORK/preloaded.out"
same_output "$WORK/plain.out" "$WORK/preloaded.out"
grep -q '^checksum ' "$WORK/preloaded.out" || fail "no checksum line"
cat "$WORK/preloaded.out"
