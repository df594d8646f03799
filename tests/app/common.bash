# Shared helpers for the command-line tests (sourced, not run by ctest).
# ctest passes PHENOSCALE_BINARY and PHENOSCALE_SOURCE_DIR; the OpenMPI
# settings for root/containers/oversubscription come from tests/CMakeLists.txt.
set -uo pipefail

SRC=${PHENOSCALE_SOURCE_DIR:-$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)}
BIN=${PHENOSCALE_BINARY:-$SRC/build/bin/phenoscale}
PY=/usr/bin/python3   # Debian's python3 has h5py/numpy (a pyenv python may shadow it)
WORK=$(mktemp -d "${TMPDIR:-/tmp}/phenoscale-cli.XXXXXX")
trap 'rm -rf "$WORK"' EXIT
FAILURES=0
PASSES=0

pass() { PASSES=$((PASSES + 1)); echo "ok: $1"; }
fail() { FAILURES=$((FAILURES + 1)); echo "FAIL: $1" >&2; }

# Runs phenoscale on N ranks with a time limit, so a hang fails the test
# instead of blocking ctest.
run_np() {
  local np=$1; shift
  timeout -k 5 "${RUN_NP_TIMEOUT:-90}" mpirun -n "$np" "$BIN" "$@"
}

# expect_error NAME EXPECTED_TEXT NP ARGS...: the command must exit non-zero
# (not by timeout), print exactly one `phenoscale: error:` line, and that
# line must contain EXPECTED_TEXT.
expect_error() {
  local name=$1 expected=$2 np=$3; shift 3
  local out rc lines
  out=$(run_np "$np" "$@" 2>&1 >/dev/null); rc=$?
  lines=$(grep -c '^phenoscale: error:' <<<"$out")
  if [ "$rc" -eq 124 ] || [ "$rc" -eq 137 ]; then
    fail "$name: timed out (a rank hung)"
  elif [ "$rc" -eq 0 ]; then
    fail "$name: exit code 0, expected failure"
  elif [ "$lines" -ne 1 ]; then
    fail "$name: expected one error line, got $lines: $out"
  elif ! grep '^phenoscale: error:' <<<"$out" | grep -qF -- "$expected"; then
    fail "$name: error line lacks '$expected': $(grep '^phenoscale: error:' <<<"$out")"
  else
    pass "$name (exit $rc): $(grep '^phenoscale: error:' <<<"$out")"
  fi
}

# same_file NAME A B: the two files are byte-identical (outputs at two rank counts).
same_file() {
  if cmp -s "$2" "$3"; then pass "$1 byte-identical ($2, $3)"; else fail "$1 differs ($2, $3)"; fi
}

# same_datasets A.h5 B.h5 DATASET...: each dataset is bit-identical in both files.
same_datasets() {
  local a=$1 b=$2; shift 2
  for ds in "$@"; do
    if h5diff -q "$a" "$b" "$ds" "$ds"; then pass "$(basename "$a") $ds bit-identical ($a, $b)"
    else fail "$(basename "$a") $ds differs ($a, $b)"; fi
  done
}

# no_files NAME DIR: a failed run leaves no file in its output dir.
no_files() {
  local left
  left=$(find "$2" -type f 2>/dev/null)
  if [ -z "$left" ]; then pass "$1: nothing left in $2"; else fail "$1: files left behind: $left"; fi
}

# The plain closing line ctest-independent runners understand.
finish() {
  echo "$PASSES passed, $FAILURES failed"
  [ "$FAILURES" -eq 0 ]
}
