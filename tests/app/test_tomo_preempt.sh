#!/usr/bin/env bash
# Preemption of the tomo stages that do not train (the trainer has its own
# test in test_nn_train.sh): SIGTERM to the ranks while `tomo simulate`
# simulates, while `tomo classify` iterates and while `tomo recover` aligns
# reference-free ends the stage with exit 75, a "preempted" line and no
# output file (nor temporary) left; the same command run again produces
# outputs identical to an uninterrupted run.
source "$(dirname "$0")/common.bash"
cd "$WORK"
DECK=$SRC/inputs/tomo/leave_one_out.toml
# The tilt-series path simulates ~70 subtomograms/s on 2 ranks: 160 of them
# leave seconds for the signal to land while the stage still runs.
SIM=(-c "$DECK" --set 'structures.classes=[1, 15, 17, 22]' --set simulate.samples_per_class=40
     --set simulate.method=tilt_series --set run.progress_interval_s=0.2)
CLASSIFY=(-c "$DECK" --set 'classify.label_ids=[1, 15]' --set classify.classes=2 --set classify.iterations=3
          --set classify.initial_alignment=identity)
for dir in A B; do run_np 2 -q tomo structures "${SIM[@]}" --set run.output_dir=$dir || fail "structures"; done
run_np 2 -q tomo simulate "${SIM[@]}" --set run.output_dir=A || fail "uninterrupted simulate"

# Starts `phenoscale ARGS` on 2 ranks in the background (log $log), waits
# until the log matches $marker, then sends SIGTERM to both ranks; sets rc.
interrupt() {
  local log=$1 marker=$2; shift 2
  timeout -k 5 300 mpirun -n 2 "$BIN" "$@" > "$log" 2>&1 &
  local launcher=$!
  for _ in $(seq 1 1200); do grep -q "$marker" "$log" 2>/dev/null && break; sleep 0.05; done
  local mpirun_pid ranks
  mpirun_pid=$(pgrep -P "$launcher" | head -1)
  ranks=$(pgrep -P "$mpirun_pid" | tr '\n' ' ')
  kill -TERM $ranks 2>/dev/null
  wait "$launcher"; rc=$?
}

interrupt sim.log "tomo simulate: [0-9]*/" tomo simulate "${SIM[@]}" --set run.output_dir=B
if [ "$rc" -eq 75 ] && grep -q '^phenoscale: preempted: stop signal 15 during tomo simulate' sim.log \
   && [ ! -e B/subtomograms.h5 ] && ! ls B | grep -q '\.tmp\.'; then
  pass "SIGTERM during simulate: exit 75, no subtomograms.h5 and no temporary left"
else
  fail "simulate preemption: rc=$rc, files: $(ls B | tr '\n' ' '), log: $(tail -3 sim.log)"
fi
run_np 2 -q tomo simulate "${SIM[@]}" --set run.output_dir=B || fail "simulate rerun"
if h5diff -q A/subtomograms.h5 B/subtomograms.h5 /subtomograms /subtomograms; then
  pass "rerun after preemption: /subtomograms equal to the uninterrupted run"
else
  fail "rerun after preemption differs from the uninterrupted run"
fi

run_np 2 -q tomo classify "${CLASSIFY[@]}" --set run.output_dir=A || fail "uninterrupted classify"
interrupt cls.log "classification: iteration 1," -v tomo classify "${CLASSIFY[@]}" --set run.output_dir=B
if [ "$rc" -eq 75 ] && grep -q '^phenoscale: preempted: stop signal 15 during classification iteration' cls.log \
   && [ ! -e B/classes.h5 ]; then
  pass "SIGTERM during classify: exit 75 at an iteration, no classes.h5"
else
  fail "classify preemption: rc=$rc, log: $(grep -v '^phenoscale: \[' cls.log | tail -3)"
fi
run_np 2 -q tomo classify "${CLASSIFY[@]}" --set run.output_dir=B || fail "classify rerun"
for ds in /predicted_labels /class_averages; do
  if h5diff -q A/classes.h5 B/classes.h5 "$ds" "$ds"; then pass "classify rerun: $ds equal to the uninterrupted run"
  else fail "classify rerun: $ds differs"; fi
done

# recover on a perfect subdivision (cluster = simulated class), which
# test_tomo_sweep.sh builds by training instead.
"$PY" - <<'PY'
import h5py, numpy as np
rows = h5py.File("A/subtomograms.h5", "r")["/class_rows"][()]
for d in ("A", "B"):
    with h5py.File(f"{d}/subdivide.h5", "w") as f:
        f["/labels"] = rows
        f["/most_enriched_cluster"] = np.arange(4)
        f["/most_enriched_fraction"] = np.ones(4)
PY
RECOVER=(-c "$DECK" --set 'structures.classes=[1, 15, 17, 22]' --set recover.class_row=0 --set recover.iterations=2)
run_np 2 -q tomo recover "${RECOVER[@]}" --set run.output_dir=A || fail "uninterrupted recover"
interrupt rec.log "reference-free alignment: pass 1 of" -v tomo recover "${RECOVER[@]}" --set run.output_dir=B
if [ "$rc" -eq 75 ] && grep -q '^phenoscale: preempted: stop signal 15 during' rec.log && [ ! -e B/recover.h5 ] \
   && [ ! -e B/recover.star ] && ! ls B | grep -q '\.tmp\.'; then
  pass "SIGTERM during recover: exit 75 ($(grep -o 'during [a-z -]*[0-9]*' rec.log | head -1)), no recover.h5 or recover.star"
else
  fail "recover preemption: rc=$rc, log: $(grep -v '^phenoscale: \[' rec.log | tail -3)"
fi
run_np 2 -q tomo recover "${RECOVER[@]}" --set run.output_dir=B || fail "recover rerun"
for ds in /average /member_classes /half_set_fsc; do
  if h5diff -q A/recover.h5 B/recover.h5 "$ds" "$ds"; then pass "recover rerun: $ds equal to the uninterrupted run"
  else fail "recover rerun: $ds differs"; fi
done
finish
