#!/bin/bash
# End-to-end test of the Slurm job scripts on a real single-node Slurm:
# starts munged + slurmctld + slurmd in a temp dir, submits the demo chain
#   jobs/slurm/submit --wait --deck inputs/data/demo.toml --ntasks 2 \
#       --output-dir $WORK/out data generate summarize
# and checks job states, exit codes, HDF5 outputs and the job logs. Then it
# checks the preemption path of template.sbatch (exit 75 -> requeue -> rerun)
# with the real trainer (nn train) and with a stage that does not train (tomo
# simulate: no partial output, a fresh start), runs a reduced leave-one-class-out
# sweep as a job array (jobs/slurm/tomo_sweep, 3 classes of
# inputs/tomo/leave_one_out.toml), the spt chain (train array) and the edge
# chain (λ array). Exit 77 (ctest: skipped) without root or Slurm.
#
# Env: PHENOSCALE_BINARY (default <repo>/build/bin/phenoscale),
#      PHENOSCALE_SOURCE_DIR (default: derived from this script's location),
#      SLURM_TEST_KEEP=1 keeps the work dir for inspection.
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd -P)
repo=${PHENOSCALE_SOURCE_DIR:-$(cd "$here/../.." && pwd -P)}
binary=${PHENOSCALE_BINARY:-$repo/build/bin/phenoscale}
submit="$repo/jobs/slurm/submit"
deck="$repo/inputs/data/demo.toml"

skip() { echo "SKIP test_sbatch: $*"; exit 77; }
[ "$(id -u)" -eq 0 ] || skip "needs root to run slurmctld/slurmd"
for cmd in munged slurmctld slurmd sbatch scontrol squeue sinfo mpirun; do
  command -v "$cmd" >/dev/null 2>&1 || skip "$cmd not installed (jobs/local/setup.sh)"
done

fails=0
fail() { echo "FAIL: $*" >&2; fails=$((fails + 1)); }
[ -x "$binary" ] || { echo "FAIL test_sbatch: phenoscale binary not found: $binary"; exit 1; }
[ -f "$deck" ] || { echo "FAIL test_sbatch: deck not found: $deck"; exit 1; }

# shellcheck source=SCRIPTDIR/slurm_cluster.sh
source "$here/slurm_cluster.sh"
WORK=$(mktemp -d "${TMPDIR:-/tmp}/phenoscale-slurm.XXXXXX")
summary=0   # set once the PASS/FAIL line is printed
cleanup() {
  local rc=$?
  slurm_stop "$WORK/cluster" || true
  [ "$summary" -eq 1 ] || [ "$rc" -eq 0 ] || echo "FAIL test_sbatch: aborted (exit $rc)"
  if [ "${SLURM_TEST_KEEP:-0}" = 1 ] || [ "$rc" -ne 0 ]; then
    echo "work dir kept: $WORK" >&2
  else
    rm -rf "$WORK"
  fi
}
trap cleanup EXIT
trap 'exit 130' INT TERM   # run cleanup on interruption too

t0=$SECONDS
if ! slurm_start "$WORK/cluster"; then
  summary=1
  echo "FAIL test_sbatch: could not start Slurm (daemon logs above)"
  exit 1
fi
echo "cluster up in $((SECONDS - t0)) s"
# mark SECTION: elapsed time at the start of each section, for the ctest log.
mark() { echo "test_sbatch: $1 from $((SECONDS - t0)) s"; }

# ---------------------------------------------------------------- demo chain
mark "demo chain"
out="$WORK/out"
# Jobs run in the submit directory; use the repo so relative deck paths hold.
cd "$repo"
set +e
ids=$(PHENOSCALE_BINARY=$binary timeout 180 "$submit" --wait --wait-timeout 120 \
      --deck inputs/data/demo.toml --ntasks 2 --time 10:00 --output-dir "$out" \
      data generate summarize)
rc=$?
set -e
[ "$rc" -eq 0 ] || fail "submit --wait exited $rc"
mapfile -t jobs <<<"$ids"
[ "${#jobs[@]}" -eq 2 ] || fail "expected 2 job ids, got: ${ids//$'\n'/ }"

stages=(generate summarize)
for i in "${!jobs[@]}"; do
  job=${jobs[$i]} stage=${stages[$i]:-?} before=$fails
  info=$(scontrol -o show job "$job" 2>/dev/null || true)
  [[ $info == *"JobState=COMPLETED"* ]] || fail "job $job ($stage) not COMPLETED: $(grep -o 'JobState=[^ ]*' <<<"$info")"
  [[ $info == *" ExitCode=0:0"* ]] || fail "job $job ($stage) exit code: $(grep -o ' ExitCode=[^ ]*' <<<"$info")"
  log="$out/data-$stage-$job.out"
  if [ -f "$log" ]; then
    grep -q "^phenoscale: data $stage done in " "$log" || fail "$log lacks 'phenoscale: data $stage done in'"
    grep -q "^exit code 0$" "$log" || fail "$log lacks 'exit code 0'"
    if [ "$fails" -ne "$before" ]; then echo "----- $log -----" >&2; tail -n 30 "$log" >&2; fi
  else
    fail "job log missing: $log"
  fi
done
# afterok: summarize may only start once generate has ended (ISO times sort).
if [ "${#jobs[@]}" -eq 2 ]; then
  gen_end=$(scontrol -o show job "${jobs[0]}" | grep -o 'EndTime=[^ ]*' | cut -d= -f2)
  sum_start=$(scontrol -o show job "${jobs[1]}" | grep -o 'StartTime=[^ ]*' | cut -d= -f2)
  [[ ! $sum_start < $gen_end ]] || fail "summarize started ($sum_start) before generate ended ($gen_end)"
fi

for f in samples.h5 summary.h5; do
  if [ ! -s "$out/$f" ]; then fail "missing output $out/$f"; continue; fi
  if command -v h5ls >/dev/null 2>&1; then
    h5ls "$out/$f" >/dev/null 2>&1 || fail "$out/$f is not valid HDF5 (h5ls)"
  else
    "$binary" info "$out/$f" >/dev/null 2>&1 || fail "$out/$f is not readable ($binary info)"
  fi
done

# ------------------------------------------- preemption: 75 -> requeue -> rerun
mark "preemption"
# The real trainer: `nn train` on the demo data. Once its first epoch is
# logged, Slurm signals the batch shell (as --signal=B:USR1@120 does); the
# ranks checkpoint and exit 75, the job requeues itself, and the rerun
# resumes from the checkpoint and completes.
pout="$WORK/preempt"
mkdir -p "$pout"
pjob=$(PIPELINE=nn STAGE=train PHENOSCALE=$binary OUTPUT_DIR=$pout DECK=inputs/nn/classify.toml \
       EXTRA="--input $out/samples.h5 --set train.batch_size=8 --set train.epochs=15" \
       sbatch --parsable --export=ALL --ntasks=2 --time=5:00 --job-name=nn-preempt \
       --output="$pout/%x-%j.out" "$repo/jobs/slurm/template.sbatch")
pjob=${pjob%%;*}
started=1
deadline=$((SECONDS + 90))
until [ -s "$pout/training.csv" ]; do
  ((SECONDS < deadline)) || { fail "preempt job $pjob never finished an epoch"; started=0; break; }
  sleep 0.2
done
# Only the batch shell gets the signal, as with --signal=B:USR1@120.
if [ "$started" -eq 1 ]; then
  scancel --batch --signal=USR1 "$pjob" || fail "scancel --batch --signal=USR1 failed"
fi
# await_requeued_completion JOB STARTED: waits (up to 180 s) until a job
# signalled once has been requeued and has completed; checks its state.
await_requeued_completion() {
  local job=$1 started=$2 state="" released=0 info deadline=$((SECONDS + 180))
  [ "$started" -eq 1 ] || deadline=0
  while ((SECONDS < deadline)); do
    info=$(scontrol -o show job "$job" 2>/dev/null || true)
    state=$(grep -o 'JobState=[^ ]*' <<<"$info" || true)
    [ "$state" = JobState=COMPLETED ] && break
    case $state in JobState=FAILED | JobState=CANCELLED | JobState=TIMEOUT) break ;; esac
    # Slurm holds a requeued job back for 121 s (Reason=BeginTime); release it
    # sooner rather than sit out the delay, but not within the second of the
    # requeue: slurmd revoked the old run's credential then, and a restart in
    # the same second dies with "Job credential revoked" (ExitCode 1:0).
    if [ "$released" -eq 0 ] && [ "$state" = JobState=PENDING ] && [[ $info == *"Restarts=1"* ]]; then
      scontrol update JobId="$job" StartTime=now+5 && released=1
    fi
    sleep 0.5
  done
  info=$(scontrol -o show job "$job" 2>/dev/null || true)
  [ "$state" = JobState=COMPLETED ] || fail "preempted job $job: $state (expected COMPLETED after requeue)"
  [[ $info == *"Restarts=1"* ]] || fail "preempted job $job was not requeued once: $(grep -o 'Restarts=[^ ]*' <<<"$info")"
  [[ $info == *" ExitCode=0:0"* ]] || fail "preempted job $job exit code: $(grep -o ' ExitCode=[^ ]*' <<<"$info")"
}
await_requeued_completion "$pjob" "$started"
plog="$pout/nn-preempt-$pjob.out"
grep -q "requeueing job $pjob" "$plog" 2>/dev/null || fail "$plog lacks the requeue message"
# The signal lands in a step, or (epochs of 0.1 s here) in a validation pass
# or the final test evaluation: each a stop point of the trainer.
grep -Eq "^phenoscale: preempted: stop signal at (step [0-9]+|validation of epoch [0-9]+|the test evaluation after training);" \
  "$plog" 2>/dev/null || fail "$plog lacks the preempted line"
grep -q "train: resumed from .*checkpoint.pt" "$plog" 2>/dev/null || fail "$plog lacks the resumed run"
[ -s "$pout/model.h5" ] || fail "requeued training left no model.h5"
if [ "$fails" -ne 0 ] && [ -f "$plog" ]; then echo "----- $plog -----" >&2; tail -n 40 "$plog" >&2; fi

mark "simulate preemption"
# A stage that does not train: `tomo simulate` (tilt series, 160
# subtomograms) signalled while it simulates leaves no subtomograms.h5,
# exits 75, requeues and simulates again from the start.
tout="$WORK/preempt-simulate"
before=$fails
tdeck=(-c "$repo/inputs/tomo/leave_one_out.toml" --set "structures.classes=[1,15,17,22]" --set run.output_dir="$tout")
mpirun -n 2 "$binary" -q tomo structures "${tdeck[@]}" || fail "tomo structures for the simulate preemption"
tjob=$(PIPELINE=tomo STAGE=simulate PHENOSCALE=$binary OUTPUT_DIR=$tout DECK=$repo/inputs/tomo/leave_one_out.toml \
       EXTRA="--set structures.classes=[1,15,17,22] --set simulate.samples_per_class=40 --set simulate.method=tilt_series --set run.progress_interval_s=0.2" \
       sbatch --parsable --export=ALL --ntasks=2 --time=5:00 --job-name=simulate-preempt \
       --output="$tout/%x-%j.out" "$repo/jobs/slurm/template.sbatch")
tjob=${tjob%%;*}
tlog="$tout/simulate-preempt-$tjob.out"
started=1
deadline=$((SECONDS + 90))
until grep -q 'tomo simulate: [0-9]*/' "$tlog" 2>/dev/null; do
  ((SECONDS < deadline)) || { fail "simulate job $tjob never reported progress"; started=0; break; }
  sleep 0.05
done
[ "$started" -eq 1 ] && { scancel --batch --signal=USR1 "$tjob" || fail "scancel --batch --signal=USR1 $tjob failed"; }
await_requeued_completion "$tjob" "$started"
grep -q "^phenoscale: preempted: stop signal [0-9]* during tomo simulate" "$tlog" 2>/dev/null || fail "$tlog lacks the preempted line"
# How much of the stage was left when the signal came through Slurm (the
# margin of this timed test; its first run's last progress line).
echo "simulate was at $(awk '/^phenoscale: preempted:/ { exit } /tomo simulate: [0-9]+\// { at = $4 } END { print at }' "$tlog" 2>/dev/null) when Slurm's signal stopped it"
grep -q "requeueing job $tjob" "$tlog" 2>/dev/null || fail "$tlog lacks the requeue message"
if [ -s "$tout/subtomograms.h5" ] && [ "$(h5ls "$tout/subtomograms.h5/subtomograms" | grep -o '{160,')" = "{160," ]; then
  echo "ok: tomo simulate preempted under Slurm, requeued and completed (job $tjob, 160 subtomograms)"
else
  fail "requeued tomo simulate left no complete subtomograms.h5"
fi
if [ "$fails" -ne "$before" ] && [ -f "$tlog" ]; then echo "----- $tlog -----" >&2; tail -n 40 "$tlog" >&2; fi

# ------------------------------------- leave-one-class-out sweep: a job array
mark "tomo sweep"
# jobs/slurm/tomo_sweep: data (structures, simulate) -> one array task per
# left-out class (train without it, extract, subdivide, recover) -> report.
# Three of the deck's six classes (a C6 ring, a filament rod, a 12-sphere
# cluster) keep the array under 3 minutes; app.test_tomo_sweep and
# app.test_tomo_preempt_sweep check the sweep's science at 1 and 2 ranks.
sout="$WORK/sweep"
before=$fails
sdeck="$WORK/leave_one_out.toml"
sed 's/^class_rows = .*/class_rows = [0, 3, 5]/' "$repo/inputs/tomo/leave_one_out.toml" >"$sdeck"
grep -q '^class_rows = \[0, 3, 5\]$' "$sdeck" || fail "$sdeck: could not set sweep.class_rows"
set +e
sids=$(PHENOSCALE_BINARY=$binary timeout 600 "$repo/jobs/slurm/tomo_sweep" --wait --wait-timeout 540 \
       --deck "$sdeck" --output-dir "$sout" --ntasks 2 --time 15:00 --max-parallel 1)
rc=$?
set -e
[ "$rc" -eq 0 ] || fail "tomo_sweep --wait exited $rc"
mapfile -t sjobs <<<"$sids"
[ "${#sjobs[@]}" -eq 4 ] || fail "expected 4 job ids (structures, simulate, array, report), got: ${sids//$'\n'/ }"
array_job=${sjobs[2]:-0} report_job=${sjobs[3]:-0}
tasks=$(scontrol -o show job "$array_job" 2>/dev/null | grep -c 'ArrayTaskId=' || true)
[ "$tasks" -eq 3 ] || fail "array job $array_job has $tasks tasks, expected 3"
ok_tasks=$(scontrol -o show job "$array_job" 2>/dev/null | grep 'JobState=COMPLETED' | grep -c ' ExitCode=0:0' || true)
[ "$ok_tasks" -eq 3 ] || fail "array job $array_job: $ok_tasks of 3 tasks COMPLETED with exit 0"
# afterok on the array: the report starts after the last task ended.
last_end=$(scontrol -o show job "$array_job" 2>/dev/null | grep -o 'EndTime=[^ ]*' | cut -d= -f2 | sort | tail -n 1)
report_start=$(scontrol -o show job "$report_job" 2>/dev/null | grep -o 'StartTime=[^ ]*' | cut -d= -f2)
[[ -n $last_end && ! $report_start < $last_end ]] || fail "sweep-report started ($report_start) before the last task ended ($last_end)"
csv="$sout/sweep.csv"
if [ -s "$csv" ]; then
  rows=$(($(wc -l <"$csv") - 1))
  [ "$rows" -eq 3 ] || fail "$csv has $rows class rows, expected 3"
  # Every class: a finite discrepancy in nm and a verdict consistent with the 7 nm criterion.
  awk -F, 'NR > 1 && !($8 > 0 && (($8 < 7) == ($9 == "yes"))) { bad = 1 } END { exit bad }' "$csv" ||
    fail "$csv: a row lacks a positive discrepancy or its verdict disagrees with < 7 nm"
  recovered=$(awk -F, 'NR > 1 && $9 == "yes"' "$csv" | wc -l)
  echo "sweep: $recovered/3 left-out classes recovered"; column -s, -t "$csv" | cut -c1-150
  # Planted structure: distinct assemblies at high SNR; most must come back.
  [ "$recovered" -ge 2 ] || fail "only $recovered of 3 left-out classes recovered (< 7 nm), expected >= 2"
else
  fail "sweep table missing: $csv"
fi
if [ "$fails" -ne "$before" ]; then
  for log in "$sout"/*.out; do echo "----- $log -----" >&2; tail -n 15 "$log" >&2; done
fi

# ------------------------------------------- spt chain: ensemble as a job array
mark "spt chain"
# jobs/slurm/spt_chain: simulate, features -> one train array task per ensemble
# member (train.member = task id) -> segment, baseline, evaluate, fingerprint.
tout="$WORK/spt"
before=$fails
# --members 2 (the deck has more): every job gets --set train.members=2.
tiny="--set simulate.tracks=160 --set simulate.test_tracks=60 --set simulate.max_length=60
      --set train.epochs=1 --set train.batch_size=16 --set model.unet1d.channels=8 --set model.unet1d.depth=2
      --set model.unet1d.kernel=3"
set +e
tids=$(PHENOSCALE_BINARY=$binary timeout 600 "$repo/jobs/slurm/spt_chain" --wait --wait-timeout 540 \
       --deck "$repo/inputs/spt/demo.toml" --output-dir "$tout" --ntasks 2 --time 10:00 --members 2 \
       --extra "${tiny//$'\n'/ }")
rc=$?
set -e
[ "$rc" -eq 0 ] || fail "spt_chain --wait exited $rc"
mapfile -t tjobs <<<"$tids"
[ "${#tjobs[@]}" -eq 7 ] || fail "expected 7 job ids (simulate, features, train array, segment, baseline, evaluate, fingerprint), got: ${tids//$'\n'/ }"
train_array=${tjobs[2]:-0}
ok_members=$(scontrol -o show job "$train_array" 2>/dev/null | grep 'JobState=COMPLETED' | grep -c ' ExitCode=0:0' || true)
[ "$ok_members" -eq 2 ] || fail "train array $train_array: $ok_members of 2 member tasks COMPLETED with exit 0"
for f in model_member0.h5 model_member1.h5 segments/segments.csv baseline/segments.csv evaluation.csv fingerprints/fingerprints.csv; do
  [ -s "$tout/$f" ] || fail "spt chain left no $f"
done
[ "$(head -n 1 "$tout/segments/segments.csv" 2>/dev/null)" = "track_id,frame,state,p_normal,p_directed,p_confined,p_subdiffusive" ] ||
  fail "segments.csv header: $(head -n 1 "$tout/segments/segments.csv" 2>/dev/null)"
grep -q -- "--set train.member=1" "$tout"/spt-train-"$train_array"_1.out 2>/dev/null || fail "array task 1 did not run train.member=1"
grep -q -- "--set train.members=2" "$tout"/spt-segment-*.out 2>/dev/null || fail "spt_chain --members 2 did not reach segment"
if [ "$fails" -ne "$before" ]; then
  for log in "$tout"/*.out; do echo "----- $log -----" >&2; tail -n 15 "$log" >&2; done
fi

# ------------------------------------------- edge chain: λ sweep as a job array
mark "edge chain"
# jobs/slurm/edge_chain: simulate, window, events, denoise, teacher -> one
# student array task per λ (student.lambda_index = task id) -> the λ choice
# (student.select_only=true, afterok on the array) -> phenotype, stats, cells.
# 12 small movies of 120 frames (~550 samples), 2 epochs: ~1 min of work.
eout="$WORK/edge"
before=$fails e0=$SECONDS
etiny="--set simulate.cells_per_condition=4 --set simulate.frames=120 --set simulate.size=96
       --set simulate.radius_nm=1800 --set train.epochs=2 --set student.lambdas=[1.0,5.0]
       --set teacher.neighbours=[10,20] --set phenotype.neighbours=[10,20] --set stats.replicates=200
       --set cells.min_samples=1 --set cells.n_neighbors=4 --set cells.neighbours=[3,4] --set phenotype.min_frames=30"
set +e
eids=$(PHENOSCALE_BINARY=$binary timeout 420 "$repo/jobs/slurm/edge_chain" --wait --wait-timeout 360 \
       --deck "$repo/inputs/edge/demo.toml" --output-dir "$eout" --ntasks 2 --time 10:00 --extra "${etiny//$'\n'/ }")
rc=$?
set -e
[ "$rc" -eq 0 ] || fail "edge_chain --wait exited $rc"
echo "edge chain: ended in $((SECONDS - e0)) s"
mapfile -t ejobs <<<"$eids"
[ "${#ejobs[@]}" -eq 10 ] ||
  fail "expected 10 job ids (simulate, window, events, denoise, teacher, student array, λ choice, phenotype, stats, cells), got: ${eids//$'\n'/ }"
lambda_array=${ejobs[5]:-0} choice_job=${ejobs[6]:-0}
ok_lambdas=$(scontrol -o show job "$lambda_array" 2>/dev/null | grep 'JobState=COMPLETED' | grep -c ' ExitCode=0:0' || true)
[ "$ok_lambdas" -eq 2 ] || fail "student array $lambda_array: $ok_lambdas of 2 λ tasks COMPLETED with exit 0"
for i in 0 1; do
  grep -q -- "--set student.lambda_index=$i" "$eout"/edge-student-"$lambda_array"_$i.out 2>/dev/null ||
    fail "array task $i did not run student.lambda_index=$i"
done
grep -q -- "--set student.select_only=true" "$eout/edge-student-$choice_job.out" 2>/dev/null ||
  fail "job $choice_job did not run student.select_only=true"
# afterok on the array: the λ choice starts after the last λ task ended.
last_end=$(scontrol -o show job "$lambda_array" 2>/dev/null | grep -o 'EndTime=[^ ]*' | cut -d= -f2 | sort | tail -n 1)
choice_start=$(scontrol -o show job "$choice_job" 2>/dev/null | grep -o 'StartTime=[^ ]*' | cut -d= -f2)
[[ -n $last_end && ! $choice_start < $last_end ]] || fail "λ choice started ($choice_start) before the last λ task ended ($last_end)"
sweep_csv="$eout/student/lambda_sweep.csv"
if [ -s "$sweep_csv" ]; then
  rows=$(($(wc -l <"$sweep_csv") - 1))
  [ "$rows" -eq 2 ] || fail "$sweep_csv has $rows λ rows, expected 2"
  [ "$(awk -F, 'NR > 1 { n += $NF } END { print n }' "$sweep_csv")" = 1 ] || fail "$sweep_csv: not exactly one λ chosen"
else
  fail "λ sweep table missing: $sweep_csv"
fi
[ "$(head -n 1 "$eout/phenotypes.csv" 2>/dev/null)" = "sample_id,cell_id,condition,teacher_cluster,phenotype,deep_phenotype" ] ||
  fail "phenotypes.csv header: $(head -n 1 "$eout/phenotypes.csv" 2>/dev/null)"
for f in student/latent.h5 phenotypes.h5 stats.csv cells.csv; do
  [ -s "$eout/$f" ] || fail "edge chain left no $f"
done
if [ "$fails" -ne "$before" ]; then
  for log in "$eout"/*.out; do echo "----- $log -----" >&2; tail -n 15 "$log" >&2; done
fi

# edge_chain --maps: the chain's velocity maps, exported as CSV maps (as
# another windowing tool would write them), imported by edge import-maps and
# chained on to the cells: the same samples as from edge window's maps.
mark "edge chain from velocity maps"
mout="$WORK/edge_maps" mdir="$WORK/foreign_maps"
before=$fails
/usr/bin/python3 - "$eout/windows" "$mdir" <<'PY' || fail "exporting the chain's velocity maps"
import sys, csv, os, h5py
src, dst = sys.argv[1], sys.argv[2]
os.makedirs(dst, exist_ok=True)
with open(dst + '/maps.csv', 'w') as table:
    table.write('movie,cell_id,condition,experiment\n')
    for m in csv.DictReader(open(src + '/movies.csv')):
        v = h5py.File(f"{src}/{m['movie']}", 'r')['velocity'][()][:, 1:]
        with open(f"{dst}/{m['movie'][:-3]}.csv", 'w') as f:
            f.writelines(','.join(repr(float(x)) for x in row) + '\n' for row in v)
        table.write(f"{m['movie'][:-3]}.csv,{m['cell_id']},{m['condition']},{m['experiment']}\n")
PY
set +e
mids=$(PHENOSCALE_BINARY=$binary timeout 420 "$repo/jobs/slurm/edge_chain" --wait --wait-timeout 360 \
       --deck "$repo/inputs/edge/demo.toml" --output-dir "$mout" --maps "$mdir/maps.csv" --ntasks 2 --time 10:00 \
       --extra "${etiny//$'\n'/ }")
rc=$?
set -e
[ "$rc" -eq 0 ] || fail "edge_chain --maps --wait exited $rc"
mapfile -t mjobs <<<"$mids"
[ "${#mjobs[@]}" -eq 9 ] ||
  fail "expected 9 job ids (import-maps, events, denoise, teacher, student array, λ choice, phenotype, stats, cells), got: ${mids//$'\n'/ }"
for ds in /velocity/values /velocity/offsets /cell_id /condition /window /onset_frame; do
  h5diff -q "$eout/events.h5" "$mout/events.h5" "$ds" "$ds" || fail "events.h5 $ds differs between the movie chain and the maps chain"
done
for f in student/latent.h5 phenotypes.h5 stats.csv cells.csv; do
  [ -s "$mout/$f" ] || fail "edge chain from maps left no $f"
done
if [ "$fails" -ne "$before" ]; then
  for log in "$mout"/*.out; do echo "----- $log -----" >&2; tail -n 15 "$log" >&2; done
fi

# ------------------------------------------------------------------ teardown
mark "teardown"
slurm_stop "$WORK/cluster"
for pidfile in "$WORK/cluster/run/slurmctld.pid" "$WORK/cluster/run/slurmd.pid" \
               "$WORK/cluster/munge/munged.pid"; do
  [ ! -e "$pidfile" ] || fail "pid file left behind: $pidfile"
done

summary=1
if [ "$fails" -eq 0 ]; then
  echo "PASS test_sbatch: data generate -> summarize (jobs ${jobs[*]}) and requeue of job $pjob in $((SECONDS - t0)) s"
else
  echo "FAIL test_sbatch: $fails check(s) failed; logs under $WORK"
  exit 1
fi
