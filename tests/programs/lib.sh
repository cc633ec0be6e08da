# Shared by the real-program tests.  Each test script is run as
#   bash SCRIPT PRELOAD_LIBRARY EXPECTED_NAME [extra args]
# where PRELOAD_LIBRARY is the allocator to put in LD_PRELOAD and
# EXPECTED_NAME is what its file name contains (grepped in /proc/PID/maps
# to prove it was really mapped).  Exit 77 means "skipped".

set -eEuo pipefail
# Under set -e a failing command ends the test; say which one (its first
# line: run_preloaded's command spans several).
report_failure() {
  local status=$? line=$1 command=${BASH_COMMAND%%$'\n'*}
  echo "FAIL: exit status $status at line $line of $(basename "$0"): $command" >&2
}
trap 'report_failure $LINENO' ERR

if [ $# -lt 2 ]; then
  echo "usage: $0 PRELOAD_LIBRARY EXPECTED_NAME [args]" >&2
  exit 2
fi
PRELOAD_LIBRARY=$1
EXPECTED_NAME=$2
shift 2

if [ ! -r "$PRELOAD_LIBRARY" ]; then
  echo "preload library $PRELOAD_LIBRARY not found" >&2
  exit 2
fi

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
WORK=$(mktemp -d "${TMPDIR:-/tmp}/crowd-test.XXXXXX")
trap 'rm -rf "$WORK"' EXIT

# Skips the test when a program is not installed (CI installs them all).
require_program() {
  if ! command -v "$1" >/dev/null 2>&1; then
    echo "SKIP: $1 is not installed"
    exit 77
  fi
}

# Runs a command with the allocator preloaded.  The shell that starts it
# runs preloaded too; it checks its own maps first and then execs the
# command, which keeps LD_PRELOAD (and so the allocator) for the command
# and everything it starts.
run_preloaded() {
  LD_PRELOAD="$PRELOAD_LIBRARY" sh -c '
    if ! grep -q -- "$0" /proc/$$/maps; then
      echo "run_preloaded: $0 is not mapped into process $$" >&2
      exit 99
    fi
    exec "$@"' "$EXPECTED_NAME" "$@"
}

# Fails with a diff when two output files differ.
same_output() {
  if ! diff -u "$1" "$2" >"$WORK/diff"; then
    echo "output under LD_PRELOAD differs from the output without it:" >&2
    head -50 "$WORK/diff" >&2
    exit 1
  fi
}

fail() {
  echo "FAIL: $*" >&2
  exit 1
}
