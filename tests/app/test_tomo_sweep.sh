#!/usr/bin/env bash
# tomo sweep (one left-out class, local mode) + sweep-report at 1 and 2
# ranks, with a planted answer: two classes of a clean, high-SNR dataset are
# left out in turn (a C6 ring and a straight filament rod, among a cluster
# and a barrel); each is trained without, found in its most enriched
# k-means cluster, averaged without a reference and recovered (< 7 nm and
# closer to its own map than to any other). The table agrees at 1 and 2
# ranks: the same recovered flags, enriched clusters of the same size (to a
# borderline member or two) and discrepancies within one Fourier shell.
source "$(dirname "$0")/common.bash"
cd "$WORK"
RUN_NP_TIMEOUT=$SMALL_SWEEP_TIMEOUT
# A barrel (class 9) in place of the empty box: since the empty class is
# noise (2026-12-06; it was a box of zeros), the left-out ring, unknown to
# the network, shares its enriched k-means cluster about half and half with
# the noise boxes, and which half a cluster or the recovery keeps differs
# with features that agree to ~1e-7 between 1 and 2 ranks (ring cluster 37
# against 29 members; with 10 k-means restarts 25 against 27, the recovered
# class 6 against 13). The rank agreement is tested on a set whose answer is
# not a coin toss; test_tomo_preempt_sweep keeps the empty box.
COMMON=("${SMALL_SWEEP[@]}" --set 'structures.classes=[1, 15, 17, 9]')
for np in 1 2; do
  for stage in structures simulate sweep sweep-report; do
    run_np "$np" -q tomo "$stage" "${COMMON[@]}" --set run.output_dir="np$np" || fail "tomo $stage at np=$np"
  done
done
if "$PY" - <<'PY'
import csv, sys
rows = {np_: list(csv.DictReader(open(f"np{np_}/sweep.csv"))) for np_ in (1, 2)}
for r in rows[1]:
    print(f"np=1 {r['class_name']}: cluster {r['cluster']} ({r['cluster_size']}), {float(r['discrepancy_nm']):.2f} nm, "
          f"recovered {r['recovered']}, nearest other {r['nearest_other_class']} {float(r['nearest_other_class_nm']):.2f} nm")
problems = []
if len(rows[1]) != 2 or len(rows[2]) != 2:
    problems.append(f"{len(rows[1])} and {len(rows[2])} rows, expected 2")
if [r["recovered"] for r in rows[1]] != ["yes", "yes"]:
    problems.append("a left-out class was not recovered")
# One repeat (sweep.repeats = 1): the class/ layout, repeat 0, rate 1 or 0, the range is the one count.
for r in rows[1]:
    if r["repeat"] != "0" or float(r["class_recovery_rate"]) != (r["recovered"] == "yes") or \
            r["repeat_recovered"] != str(sum(q["recovered"] == "yes" for q in rows[1])) or \
            float(r["class_discrepancy_min_nm"]) != float(r["discrepancy_nm"]) or not float(r["half_set_fsc_nm"]) > 0:
        problems.append(f"{r['class_name']}: repeat columns of a single sweep {r}")
for a, b in zip(rows[1], rows[2]):
    for key in ("class_row", "recovered"):
        if a[key] != b[key]:
            problems.append(f"{a['class_name']} {key}: np=2 {b[key]} vs np=1 {a[key]}")
    # The features of np=1 and np=2 training agree to ~1e-7, not bit for bit,
    # so k-means may number its clusters differently and move a borderline
    # member: compare the enriched cluster's size, not its number.
    for key in ("cluster_size", "predicted_class_size"):
        if abs(int(a[key]) - int(b[key])) > max(2, 0.1 * int(a[key])):
            problems.append(f"{a['class_name']} {key}: np=2 {b[key]} vs np=1 {a[key]}")
    # One Fourier shell of the 32 nm box near these resolutions is 4.57 -> 5.33 nm.
    d1, d2 = float(a["discrepancy_nm"]), float(b["discrepancy_nm"])
    if abs(d1 - d2) > 0.8:
        problems.append(f"{a['class_name']} discrepancy: np=2 {d2:.2f} nm vs np=1 {d1:.2f} nm")
# Each class's recover.star (read by gemmi): one row per cluster member,
# RELION's tilt in [0, 180], classes numbered from 1.
import glob, h5py, gemmi
for path in sorted(glob.glob("np1/**/recover.star", recursive=True)):
    table = gemmi.cif.read_file(path).sole_block().find(
        ["_phenoscaleRow", "_rlnClassNumber", "_rlnAngleRot", "_rlnAngleTilt", "_rlnAnglePsi", "_rlnOriginXAngst"])
    h5 = h5py.File(path.replace("recover.star", "recover.h5"), "r")
    rows = sorted(int(r[0]) for r in table)
    tilt = [float(r[3]) for r in table]
    classes = sorted(int(r[1]) for r in table)
    if rows != sorted(h5["/members"][()].tolist()) or not all(0 <= t <= 180 for t in tilt) or \
            classes != sorted((h5["/member_classes"][()] + 1).tolist()):
        problems.append(f"{path}: rows, tilts or classes do not match recover.h5")
if len(glob.glob("np1/**/recover.star", recursive=True)) != 2:
    problems.append("expected a recover.star per left-out class")
print("\n".join(problems))
sys.exit(1 if problems else 0)
PY
then pass "both left-out classes recovered; the same table at 1 and 2 ranks; recover.star per class"; else fail "sweep across rank counts"; fi
finish
