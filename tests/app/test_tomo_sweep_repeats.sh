#!/usr/bin/env bash
# tomo sweep with sweep.repeats = 2 over 2 left-out classes (4 tasks) at 2
# ranks, on a tiny dataset: the task list is repeat-major (sweep.task = 3 is
# repeat 1, second class) with one directory per repeat; repeat r runs with
# run.seed + r (recorded in each output's provenance, and the repeats'
# models differ); sweep-report names every missing task, refuses files of
# another seed, and writes per-repeat recovered counts, their range and
# per-class recovery rates and discrepancy mean/min/max that agree with the
# four recover.h5 files.
source "$(dirname "$0")/common.bash"
cd "$WORK"
RUN_NP_TIMEOUT=200
DECK=$SRC/inputs/tomo/leave_one_out.toml
SEED=777
COMMON=(-c "$DECK" --set run.output_dir=out --set run.seed=$SEED --set 'structures.classes=[1, 15, 17, 22]'
        --set simulate.samples_per_class=12 --set simulate.snr=10 --set model.dsrf3d.classes=4 --set train.epochs=2
        --set train.validation_fraction=0 --set subdivide.k=4 --set subdivide.n_init=2 --set recover.iterations=2
        --set recover.alignment_iterations=1 --set 'recover.refine_steps_deg=[10.0]'
        --set 'recover.realign_steps_deg=[4.0]' --set 'sweep.class_rows=[0, 1]' --set sweep.repeats=2)
for stage in structures simulate; do
  run_np 2 -q tomo "$stage" "${COMMON[@]}" || fail "tomo $stage"
done
expect_deck_error "sweep.task past the 2 x 2 tasks" "array tasks 0..3" 2 tomo sweep "${COMMON[@]}" --set sweep.task=4
expect_error "sweep-report before the sweep" "4 of 4 sweep tasks" 2 tomo sweep-report "${COMMON[@]}"
# Task 3 = repeat 1, class entry 1 (row 1), alone.
run_np 2 -q tomo sweep "${COMMON[@]}" --set sweep.task=3 || fail "tomo sweep task 3"
if [ "$(cd out/sweep && find . -name recover.h5 | sort)" = "./repeat-1/class-1/recover.h5" ]; then
  pass "sweep.task = 3 ran repeat 1, class row 1 only"
else
  fail "sweep.task = 3 wrote: $(cd out/sweep && find . -name recover.h5)"
fi
expect_error "sweep-report lists the missing tasks" \
  "task 0 (repeat 0, class row 0): out/sweep/repeat-0/class-0/recover.h5; task 1 (repeat 0, class row 1)" \
  2 tomo sweep-report "${COMMON[@]}"
# The rest; task 3 is skipped (its recover.h5 exists).
out=$(run_np 2 tomo sweep "${COMMON[@]}" 2>&1) || fail "tomo sweep (all tasks)"
if grep -q "repeat 1, seed $((SEED + 1))) already done" <<<"$out"; then pass "the finished task was skipped"
else fail "task 3 was not reported as done: $(grep 'tomo sweep' <<<"$out")"; fi
run_np 2 tomo sweep-report "${COMMON[@]}" 2>&1 | tee report.log || fail "tomo sweep-report"
grep -q "repeat 1 (seed $((SEED + 1)))" report.log && pass "report prints each repeat's count" ||
  fail "report lacks the per-repeat lines"
if "$PY" - "$SEED" <<'PY'
import csv, h5py, numpy as np, sys
seed = int(sys.argv[1])
problems = []
rows = list(csv.DictReader(open("out/sweep.csv")))
h5 = h5py.File("out/sweep.h5", "r")
old = "class_row,class_name,cluster,cluster_size,cluster_fraction,predicted_class_size,predicted_class_fraction," \
      "discrepancy_nm,recovered,nearest_other_class,nearest_other_class_nm".split(",")
if list(rows[0].keys())[:len(old)] != old:
    problems.append(f"sweep.csv columns {list(rows[0].keys())} do not start with the old ones")
if [(r["repeat"], r["class_row"]) for r in rows] != [("0", "0"), ("0", "1"), ("1", "0"), ("1", "1")]:
    problems.append("rows not in task order")
rec = {}
for r in (0, 1):
    for c in (0, 1):
        f = h5py.File(f"out/sweep/repeat-{r}/class-{c}/recover.h5", "r")
        if int(f.attrs["seed"]) != seed + r:
            problems.append(f"repeat {r} class {c}: provenance seed {f.attrs['seed']}, expected {seed + r}")
        rec[r, c] = f
# The repeats train differently: the models of repeat 0 and 1 (same left-out class) differ.
m0 = h5py.File("out/sweep/repeat-0/class-0/predictions.h5", "r")["/features"][()]
m1 = h5py.File("out/sweep/repeat-1/class-0/predictions.h5", "r")["/features"][()]
if np.array_equal(m0, m1):
    problems.append("repeats 0 and 1 gave the same features: the seed did not change")
close = lambda a, b: abs(a - b) <= 1e-5 * max(1.0, abs(b))
counts = [sum(int(rec[r, c].attrs["recovered"]) for c in (0, 1)) for r in (0, 1)]
for row in rows:
    r, c = int(row["repeat"]), int(row["class_row"])
    f = rec[r, c]
    if int(row["seed"]) != seed + r or int(row["repeat_recovered"]) != counts[r]:
        problems.append(f"row ({r}, {c}): seed {row['seed']}, repeat_recovered {row['repeat_recovered']}")
    if (row["recovered"] == "yes") != bool(f.attrs["recovered"]) or \
            not close(float(row["discrepancy_nm"]), f.attrs["discrepancy_nm"]) or \
            not close(float(row["half_set_fsc_nm"]), f.attrs["half_set_fsc_resolution_nm"]):
        problems.append(f"row ({r}, {c}) disagrees with its recover.h5")
    d = [rec[q, c].attrs["discrepancy_nm"] for q in (0, 1)]
    rate = sum(int(rec[q, c].attrs["recovered"]) for q in (0, 1)) / 2
    for key, want in (("class_recovery_rate", rate), ("class_discrepancy_mean_nm", np.mean(d)),
                      ("class_discrepancy_min_nm", min(d)), ("class_discrepancy_max_nm", max(d))):
        if not close(float(row[key]), want):
            problems.append(f"row ({r}, {c}) {key} {row[key]}, expected {want}")
if h5["/repeat_recovered"][()].tolist() != counts or h5["/repeat_seed"][()].tolist() != [seed, seed + 1]:
    problems.append(f"/repeat_recovered {h5['/repeat_recovered'][()]} vs {counts}")
if (h5.attrs["recovered_min"], h5.attrs["recovered_max"], h5.attrs["repeats"], h5.attrs["classes"]) != \
        (min(counts), max(counts), 2, 2) or h5.attrs["recovered"] != sum(counts):
    problems.append("sweep.h5 range attributes")
for i, c in enumerate((0, 1)):
    d = [rec[q, c].attrs["discrepancy_nm"] for q in (0, 1)]
    n = sum(int(rec[q, c].attrs["recovered"]) for q in (0, 1))
    if h5["/class_rows"][i] != c or h5["/class_recovered"][i] != n or h5["/class_recovery_rate"][i] != n / 2 or \
            not np.isclose(h5["/class_discrepancy_mean_nm"][i], np.mean(d), rtol=1e-12) or \
            h5["/class_discrepancy_min_nm"][i] != min(d) or h5["/class_discrepancy_max_nm"][i] != max(d):
        problems.append(f"sweep.h5 per-class entry {i}")
ti, tr = h5["/table_int"][()], h5["/table_real"][()]
if ti.shape != (4, 8) or tr.shape != (4, 5) or ti[:, 6].tolist() != [0, 0, 1, 1] or \
        ti[:, 7].tolist() != [seed, seed, seed + 1, seed + 1]:
    problems.append(f"sweep.h5 tables {ti.shape} {tr.shape}")
print(f"per-repeat recovered {counts}, range {min(counts)}..{max(counts)}; "
      f"rates {h5['/class_recovery_rate'][()].tolist()}, discrepancy mean {h5['/class_discrepancy_mean_nm'][()].round(2).tolist()}")
print("\n".join(problems))
sys.exit(1 if problems else 0)
PY
then pass "report: counts, range, rates and discrepancy stats match the four recover.h5 files"
else fail "sweep-report over repeats"; fi
# A report under another run.seed would label the repeats wrongly: refused.
expect_error "sweep-report with a changed run.seed" "ran with seed $SEED, expected $((SEED + 5))" \
  2 tomo sweep-report "${COMMON[@]}" --set run.seed=$((SEED + 5))
finish
