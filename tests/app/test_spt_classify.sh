#!/usr/bin/env bash
# spt classify end to end (DeepSPT's downstream classifier; docs/methods.md
# §2.7, inputs/spt/classify.toml): two simulated populations whose tracks
# spend 60/40 and 40/60 of their frames in normal/subdiffusive motion, 3
# experiments, 600 tracks of 200-400 frames -> rolling-MSD segmentation ->
# fingerprints -> logistic regression and a 1-layer MLP under stratified
# 10-fold and leave-one-experiment-out cross-validation.
#  - macro-F1 (confident tracks) >= 0.9 for both models with stratified CV;
#    leave-one-experiment-out runs (3 folds) and is reported;
#  - np=1 and np=2 give byte-identical CSVs and identical HDF5 datasets
#    (folds are dealt whole to ranks, each fit runs alone on one thread);
#  - labels from a CSV with text classes give the same scores as /population;
#  - clear one-line errors for bad labels, models and population weights.
# About 25 s on 2 idle cores (11 runs of the binary, ~2 s of start-up each).
source "$(dirname "$0")/common.bash"
DECK=$SRC/inputs/spt/classify.toml
OUT=$WORK/run
S=(--set "run.output_dir=$OUT")

stage() {  # stage NP NAME ARGS...: run a stage, fail the test (and stop) if it fails
  local np=$1 name=$2; shift 2
  if run_np "$np" spt "$name" -c "$DECK" "${S[@]}" "$@" >"$WORK/$name.log" 2>&1; then
    pass "spt $name (np=$np)"
  else
    fail "spt $name (np=$np): $(grep 'error' "$WORK/$name.log" | head -3)"
    finish
    exit 1
  fi
}

stage 2 simulate
if "$BIN" info "$OUT/test_tracks.h5" | grep -q '/population .*int64 .*\[600\]' &&
   "$BIN" info "$OUT/test_tracks.h5" | grep -q '/experiment .*int64 .*\[600\]'; then
  pass "test_tracks.h5 holds /population and /experiment per track"
else
  fail "test_tracks.h5 lacks /population or /experiment: $("$BIN" info "$OUT/test_tracks.h5" | grep -E 'population|experiment')"
fi
# A tracks HDF5 imported (here: tracks under 300 frames dropped) keeps each
# kept track's /population, /experiment, /D and /Q with it.
if run_np 2 spt import -c "$DECK" --input "$OUT/test_tracks.h5" --set import.min_length=300 \
     --set "run.output_dir=$WORK/imported" >"$WORK/import.log" 2>&1 &&
   "$PY" - "$OUT/test_tracks.h5" "$WORK/imported/tracks.h5" <<'EOF'
import sys, h5py, numpy as np
a, b = h5py.File(sys.argv[1]), h5py.File(sys.argv[2])
rows = np.searchsorted(a["track_id"][()], b["track_id"][()])
assert (a["track_id"][()][rows] == b["track_id"][()]).all()
kept = len(rows)
assert 0 < kept < len(a["track_id"]), kept
for name in ("population", "experiment", "D", "Q"):
    assert np.array_equal(a[name][()][rows], b[name][()]), name
print(kept, "of", len(a["track_id"]), "tracks kept with their labels and truth")
EOF
then
  pass "spt import of a tracks HDF5 keeps /population, /experiment, /D and /Q per kept track"
else
  fail "spt import of a tracks HDF5 lost or misplaced per-track datasets: $(tail -3 "$WORK/import.log")"
fi
stage 2 baseline
stage 2 fingerprint
stage 1 classify --set classify.output=classify_np1
stage 2 classify

summary=$OUT/classify/summary.csv
cat "$summary"
# columns: scheme,model,folds,tracks,unsure,unsure_fraction,unsure_threshold,accuracy,macro_f1,...
for model in logistic mlp; do
  f1=$(awk -F, -v m="$model" '$1 == "stratified" && $2 == m {print $9}' "$summary")
  if awk -v f="$f1" 'BEGIN {exit !(f != "" && f >= 0.9)}'; then
    pass "stratified 10-fold CV, $model: macro-F1 $f1 >= 0.9"
  else
    fail "stratified 10-fold CV, $model: macro-F1 '$f1' < 0.9"
  fi
  row=$(awk -F, -v m="$model" '$1 == "leave_one_experiment_out" && $2 == m {print $3, $4, $9}' "$summary")
  if [ "$(cut -d' ' -f1-2 <<<"$row")" = "3 600" ]; then
    pass "leave-one-experiment-out, $model: 3 folds over 600 tracks, macro-F1 $(cut -d' ' -f3 <<<"$row")"
  else
    fail "leave-one-experiment-out, $model: expected 3 folds over 600 tracks, found '$row'"
  fi
done
rows=$(($(wc -l <"$OUT/classify/classify.csv") - 1))
[ "$rows" -eq 2400 ] && pass "classify.csv: 600 tracks x 2 schemes x 2 models" || fail "classify.csv has $rows rows, expected 2400"

for f in classify.csv summary.csv confusion.csv; do
  if cmp -s "$OUT/classify/$f" "$OUT/classify_np1/$f"; then
    pass "$f identical at np=1 and np=2"
  else
    fail "$f differs between np=1 and np=2"
  fi
done
# h5py is a dependency of the suite (jobs/local/setup.sh): no silent skip.
if "$PY" - "$OUT/classify/classify.h5" "$OUT/classify_np1/classify.h5" <<'EOF'
import sys, h5py, numpy as np
a, b = h5py.File(sys.argv[1]), h5py.File(sys.argv[2])
names = []
a.visititems(lambda n, o: names.append(n) if isinstance(o, h5py.Dataset) and "provenance" not in n else None)
bad = [n for n in names if n not in b or not np.array_equal(a[n][()], b[n][()])]
print(len(names), "datasets compared; differing:", bad)
sys.exit(1 if bad or len(names) < 20 else 0)
EOF
then pass "classify.h5 datasets identical at np=1 and np=2 (probabilities bit for bit)"
else fail "classify.h5 differs between np=1 and np=2 (or h5py is missing)"
fi

# The same labels as a CSV with text classes and experiments.
awk -F, 'NR == 1 {print "track_id,label,experiment"} $1 == "stratified" && $2 == "logistic" {
  print $3 "," ($4 == 0 ? "early" : "late") ",exp" $5}' "$OUT/classify/classify.csv" >"$WORK/labels.csv"
stage 2 classify --set "classify.labels=$WORK/labels.csv" --set classify.output=classify_csv
if diff <(cut -d, -f1-10 "$summary") <(cut -d, -f1-10 "$OUT/classify_csv/summary.csv") >/dev/null &&
   head -1 "$OUT/classify_csv/summary.csv" | grep -q 'f1_early,f1_late'; then
  pass "labels from a CSV (classes early/late) give the same scores"
else
  fail "labels from a CSV give different scores: $(diff "$summary" "$OUT/classify_csv/summary.csv" | head -4)"
fi

# Errors: one line naming the file or key, what was expected and what was found.
head -50 "$WORK/labels.csv" >"$WORK/partial.csv"
expect_error "a fingerprinted track without a label" "no label for track" 2 \
  spt classify -c "$DECK" "${S[@]}" --set "classify.labels=$WORK/partial.csv"
awk -F, 'NR == 1 {print} NR > 1 {print $1 ",same," $3}' "$WORK/labels.csv" >"$WORK/one_class.csv"
expect_error "one class only" "a classifier needs at least 2" 2 \
  spt classify -c "$DECK" "${S[@]}" --set "classify.labels=$WORK/one_class.csv"
expect_deck_error "unknown model" "classify.models names 'svm'" 2 \
  spt classify -c "$DECK" "${S[@]}" --set 'classify.models=["svm"]'
expect_deck_error "a model listed twice" "classify.models names 'mlp' twice" 2 \
  spt classify -c "$DECK" "${S[@]}" --set 'classify.models=["mlp", "logistic", "mlp"]'
expect_deck_error "a misspelt experiments dataset" "/experimnet: no such dataset; classify.experiments_dataset" 2 \
  spt classify -c "$DECK" "${S[@]}" --set classify.experiments_dataset=/experimnet
expect_deck_error "population weights of the wrong length" "simulate.population_weights has 3 values" 2 \
  spt simulate -c "$DECK" "${S[@]}" --set 'simulate.population_weights=[0.5, 0.5, 0.0]'
finish
