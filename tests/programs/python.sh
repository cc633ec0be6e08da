# CPython with PYTHONMALLOC=malloc, so every object goes through malloc:
# the workload's output must be the same with and without the allocator.
# Extra argument: the python to use (Debian's /usr/bin/python3).
source "$(dirname "$0")/lib.sh"
PYTHON=${1:-python3}
require_program "$PYTHON"

export PYTHONMALLOC=malloc PYTHONHASHSEED=0 PYTHONDONTWRITEBYTECODE=1
"$PYTHON" "$HERE/workload.py" >"$WORK/plain.out"
CROWD_EXPECT_MAPPED="$EXPECTED_NAME" \
  run_preloaded "$PYTHON" "$HERE/workload.py" >"$WORK/preloaded.out"
same_output "$WORK/plain.out" "$WORK/preloaded.out"
grep -q '^checksum ' "$WORK/preloaded.out" || fail "no checksum line"
cat "$WORK/preloaded.out"
