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

# scaled SECONDS: a command's time limit, times PHENOSCALE_TEST_TIMEOUT_SCALE
# (tests/CMakeLists.txt: 4 in a sanitizer build, whose Debug code is slower).
scaled() { echo $(( $1 * ${PHENOSCALE_TEST_TIMEOUT_SCALE:-1} )); }

# Runs phenoscale on N ranks with a time limit, so a hang fails the test
# instead of blocking ctest.
run_np() {
  local np=$1; shift
  timeout -k 5 "$(scaled "${RUN_NP_TIMEOUT:-90}")" mpirun -n "$np" "$BIN" "$@"
}

# expect_error NAME EXPECTED_TEXT NP ARGS...: the command must exit non-zero
# (not by timeout), print exactly one `phenoscale: error:` line, and that
# line must contain EXPECTED_TEXT.
expect_error() { expect_exit "" "$@"; }

# expect_deck_error NAME EXPECTED_TEXT NP ARGS...: the same, with exit code 2
# (a bad command line or deck value: the user fixes the deck, not the data).
expect_deck_error() { expect_exit 2 "$@"; }

# expect_exit CODE NAME EXPECTED_TEXT NP ARGS...: expect_error that also
# checks the exit code when CODE is not empty.
expect_exit() {
  local code=$1 name=$2 expected=$3 np=$4; shift 4
  local out rc lines
  # When a rank exits non-zero, mpirun signals the job's processes with
  # sleeps of odls_base_sigkill_timeout (1 s) between the signals, even when
  # every rank has exited already; 0 saves 1-2 s on each expected failure.
  out=$(OMPI_MCA_odls_base_sigkill_timeout=0 run_np "$np" "$@" 2>&1 >/dev/null); rc=$?
  lines=$(grep -c '^phenoscale: error:' <<<"$out")
  if [ "$rc" -eq 124 ] || [ "$rc" -eq 137 ]; then
    fail "$name: timed out (a rank hung)"
  elif [ "$rc" -eq 0 ]; then
    fail "$name: exit code 0, expected failure"
  elif [ -n "$code" ] && [ "$rc" -ne "$code" ]; then
    fail "$name: exit code $rc, expected $code: $(grep '^phenoscale: error:' <<<"$out")"
  elif [ "$lines" -ne 1 ]; then
    fail "$name: expected one error line, got $lines: $out"
  elif ! grep '^phenoscale: error:' <<<"$out" | grep -qF -- "$expected"; then
    fail "$name: error line lacks '$expected': $(grep '^phenoscale: error:' <<<"$out")"
  else
    pass "$name (exit $rc): $(grep '^phenoscale: error:' <<<"$out")"
  fi
}

# report_runs NAME SCRIPT DIR: a postprocess report (the README demo's last
# step) runs on DIR, writes DIR/report.md, and every figures/*.png it names is
# a PNG file (names without figures/ are looked up there).
report_runs() {
  local name=$1 script=$2 dir=$3 missing
  if ! "$PY" "$SRC/postprocess/$script" "$dir" >"$dir/report.log" 2>&1; then
    fail "$name: $script failed: $(tail -n 3 "$dir/report.log")"; return
  fi
  # A missing report.md or figure is reported by name (not a traceback the
  # empty output would take for a pass), and a crash of the check fails.
  missing=$("$PY" - "$dir" <<'PY'
import os, re, sys
d = sys.argv[1]
if not os.path.isfile(d + '/report.md'):
    print('report.md'); sys.exit(0)
names = sorted(set(re.findall(r'[\w./-]+?\.png', open(d + '/report.md').read())))
where = lambda n: f'{d}/{n}' if n.startswith('figures/') else f'{d}/figures/{n}'
png = lambda p: os.path.isfile(p) and open(p, 'rb').read(8) == b'\x89PNG\r\n\x1a\n'
bad = [n for n in names if not png(where(n))]
print(' '.join(bad) if bad or names else 'no figure named')
PY
) || { fail "$name: the report check crashed: $missing"; return; }
  if [ -z "$missing" ]; then pass "$name: $script wrote report.md and the figures it names"
  else fail "$name: $script: not PNG or missing: $missing"; fi
}

# report_refuses NAME SCRIPT DIR MESSAGE: the report on DIR (which lacks its
# inputs) exits non-zero with one error line containing MESSAGE.
report_refuses() {
  local name=$1 script=$2 dir=$3 message=$4 out rc
  mkdir -p "$dir"
  out=$("$PY" "$SRC/postprocess/$script" "$dir" 2>&1 >/dev/null); rc=$?
  if [ "$rc" -ne 0 ] && [ "$(wc -l <<<"$out")" -eq 1 ] && grep -qF "$message" <<<"$out"; then
    pass "$name: $out"
  else fail "$name (exit $rc): $out"; fi
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

# interrupt LOG MARKER ARGS...: starts `phenoscale ARGS` on 2 ranks in the
# background (output in LOG), waits (at most 120 s) until LOG matches MARKER,
# then sends SIGTERM to both ranks, as a preemption does; sets rc to the
# command's exit code.
interrupt() {
  local log=$1 marker=$2; shift 2
  timeout -k 5 "$(scaled 300)" mpirun -n 2 "$BIN" "$@" > "$log" 2>&1 &
  local launcher=$!
  for _ in $(seq 1 2400); do grep -q "$marker" "$log" 2>/dev/null && break; sleep 0.05; done
  local mpirun_pid ranks
  mpirun_pid=$(pgrep -P "$launcher" | head -1)
  ranks=$(pgrep -P "$mpirun_pid" | tr '\n' ' ')
  kill -TERM $ranks 2>/dev/null
  wait "$launcher"; rc=$?
}

# stop_at LOG PATTERN ARGS...: runs `phenoscale ARGS` on 2 ranks (output in
# LOG) with PHENOSCALE_STOP_AT_LINE=PATTERN: rank 0 sends itself SIGTERM just
# after it prints the first line matching PATTERN (the preemption drill of
# docs/slurm.md), so the stop lands at a known point at any machine speed;
# sets rc to the command's exit code. `interrupt` keeps the signal from
# outside, through mpirun, where a stage leaves seconds for it to land.
stop_at() {
  local log=$1 pattern=$2; shift 2
  PHENOSCALE_STOP_AT_LINE=$pattern timeout -k 5 "$(scaled 300)" mpirun -n 2 "$BIN" "$@" > "$log" 2>&1; rc=$?
}

# preempted NAME LOG DURING DIR FILE...: after `interrupt` or `stop_at`, the stage exited 75
# with a "preempted: stop signal 15 during DURING" line and left none of
# DIR/FILE... nor a temporary (*.tmp.*) under DIR.
preempted() {
  local name=$1 log=$2 during=$3 dir=$4 f left=""; shift 4
  for f in "$@"; do [ ! -e "$dir/$f" ] || left+=" $f"; done
  left+=$(find "$dir" -name '*.tmp.*' 2>/dev/null | tr '\n' ' ')
  if [ "$rc" -eq 75 ] && grep -q "^phenoscale: preempted: stop signal 15 during $during" "$log" && [ -z "${left// }" ]; then
    pass "SIGTERM during $name: exit 75 ($(grep -o 'during [a-z -]*[0-9]*' "$log" | head -1)), no $*"
  else
    fail "$name preemption: rc=$rc, left:$left, log: $(grep -v '^phenoscale: \[' "$log" | tail -3)"
  fi
}

# The small leave-one-class-out sweep (4 assemblies x 24 subtomograms of
# 16^3, 4 training epochs, two left-out classes) of test_tomo_sweep.sh and
# test_tomo_preempt_sweep.sh; a sweep task trains, extracts, clusters and
# averages, hence the longer rank timeout.
SMALL_SWEEP=(-c "$SRC/inputs/tomo/leave_one_out.toml" --set 'structures.classes=[1, 15, 17, 22]'
             --set simulate.samples_per_class=24 --set simulate.snr=10 --set model.dsrf3d.classes=4
             --set train.epochs=4 --set subdivide.k=4 --set subdivide.n_init=2 --set 'sweep.class_rows=[0, 1]'
             --set recover.iterations=2)
SMALL_SWEEP_TIMEOUT=300

# The plain closing line ctest-independent runners understand.
finish() {
  echo "$PASSES passed, $FAILURES failed"
  [ "$FAILURES" -eq 0 ]
}
