#!/usr/bin/env bash
# The spt chain end to end on a tiny deck (DeepSPT, docs/methods.md §2):
#  1. simulate → features → train → segment (from the test CSV) → baseline →
#     evaluate → fingerprint at 1 and 2 ranks. Simulated tracks and features
#     are bit-identical; the ensemble is trained once (2 ranks) and the same
#     model files segment at 1 and 2 ranks: segments.csv, baseline,
#     evaluation.csv and fingerprints are byte-identical.
#  2. segments.csv: the contract header, one row per frame of the input in
#     its order, probabilities summing to 1, no run shorter than
#     segment.min_run; evaluation.csv: accuracies recomputed from the CSVs.
#  3. train.member = 1 trains (and writes) member 1 only.
#  4. Bad input: one error line, non-zero exit, no output file left behind.
source "$(dirname "$0")/common.bash"
cd "$WORK"
DECK=$SRC/inputs/spt/demo.toml
TINY=(--set simulate.tracks=200 --set simulate.test_tracks=50 --set simulate.max_length=60
      --set simulate.csv=tracks.csv --set simulate.test_csv=test_tracks.csv
      --set model.unet1d.channels=8 --set model.unet1d.depth=2 --set model.unet1d.kernel=3
      --set train.members=2 --set train.epochs=2 --set train.batch_size=16)
spt() {  # spt NP DIR STAGE ARGS...
  local np=$1 dir=$2 stage=$3; shift 3
  run_np "$np" -q spt "$stage" -c "$DECK" "${TINY[@]}" --set run.output_dir="$dir" "$@" || fail "$stage at np=$np ($dir)"
}

# --- 1. the chain at 1 and 2 ranks -----------------------------------------------
for np in 1 2; do
  spt "$np" "np$np" simulate
  spt "$np" "np$np" features
done
same_datasets np1/tracks.h5 np2/tracks.h5 /tracks/values /tracks/offsets /states/values /frames/values /track_id /D /Q
same_datasets np1/test_tracks.h5 np2/test_tracks.h5 /tracks/values /states/values
same_file tracks.csv np1/tracks.csv np2/tracks.csv
same_file test_tracks.csv np1/test_tracks.csv np2/test_tracks.csv
same_datasets np1/features.h5 np2/features.h5 /features/values /features/offsets /states/values

# Training is not rank-count independent (BatchNorm sees each rank's part of
# the batch): train once, then segment with the same model files everywhere.
spt 2 np1 train
cp np1/model_member0.h5 np1/model_member1.h5 np2/
for np in 1 2; do
  spt "$np" "np$np" segment --input "np$np/test_tracks.csv"
  spt "$np" "np$np" baseline
  spt "$np" "np$np" evaluate
  spt "$np" "np$np" fingerprint
done
same_file segments/segments.csv np1/segments/segments.csv np2/segments/segments.csv
# A temperature fitted on labelled calibration tracks: the NLL is summed in
# fixed point, so T and the segmentations are byte-identical at 1, 2, 3 ranks.
for np in 1 2 3; do
  spt "$np" "np$(( np < 3 ? np : 2 ))" segment --input "np1/test_tracks.csv" --set segment.calibration_input=np1/tracks.h5 \
    --set segment.output=calibrated$np
done
same_file "calibrated segments.csv (np 2)" np1/calibrated1/segments.csv np2/calibrated2/segments.csv
same_file "calibrated segments.csv (np 3)" np1/calibrated1/segments.csv np2/calibrated3/segments.csv
same_datasets np1/calibrated1/segments.h5 np2/calibrated3/segments.h5 /probabilities/values
if [ "$(h5dump -a /temperature np1/calibrated1/segments.h5 | grep '(0)')" = "$(h5dump -a /temperature np2/calibrated3/segments.h5 | grep '(0)')" ] \
   && ! h5dump -a /temperature np1/calibrated1/segments.h5 | grep -q '(0): 1$'; then
  pass "fitted temperature $(h5dump -a /temperature np1/calibrated1/segments.h5 | grep -o '(0): .*') the same at 1 and 3 ranks"
else fail "fitted temperature differs or is 1: $(h5dump -a /temperature np1/calibrated1/segments.h5 np2/calibrated3/segments.h5 | grep '(0)')"; fi
same_datasets np1/segments/segments.h5 np2/segments/segments.h5 /states/values /probabilities/values /changepoints/values
same_file baseline/segments.csv np1/baseline/segments.csv np2/baseline/segments.csv
same_file evaluation.csv np1/evaluation.csv np2/evaluation.csv
same_file fingerprints.csv np1/fingerprints/fingerprints.csv np2/fingerprints/fingerprints.csv
same_file segment_fingerprints.csv np1/fingerprints/segment_fingerprints.csv np2/fingerprints/segment_fingerprints.csv
report_runs "spt report on the chain" spt_report.py np1
# A chain that stopped after segment: the missing scores are named, only the
# figures drawn are listed (not a leftover from an earlier run); a directory
# without test tracks is one error line.
mkdir -p partial/segments partial/figures
cp np1/test_tracks.h5 partial/ && cp np1/segments/segments.h5 partial/segments/
touch partial/figures/fingerprint_pca.png
report_runs "spt report on a chain stopped after segment" spt_report.py partial
if grep -q "^Scores: not run (no evaluation.csv; written by spt evaluate)" partial/report.md \
   && grep -q "^Changepoints: not run" partial/report.md && ! grep -q "fingerprint_pca" partial/report.md \
   && grep -q "^Figures: figures/example_tracks.png, figures/confusion.png, figures/accuracy_by_length.png$" partial/report.md; then
  pass "spt report on a partial chain: the missing stages named, the figures drawn listed"
else fail "spt report on a partial chain: $(grep -v '^|' partial/report.md | head -20)"; fi
report_refuses "spt report on a directory without test tracks" spt_report.py nothing "nothing: no test_tracks.h5"

# --- 2. contents -----------------------------------------------------------------
header=$(head -1 np1/segments/segments.csv)
if [ "$header" = "track_id,frame,state,p_normal,p_directed,p_confined,p_subdiffusive" ]; then
  pass "segments.csv header"
else
  fail "segments.csv header: '$header'"
fi
if "$PY" - <<'PY'
import csv, h5py, numpy as np, sys
ok = True
truth = h5py.File("np1/test_tracks.h5", "r")
lengths = truth["length"][...]
states = truth["states/values"][:, 0]
frames = int(lengths.sum())
tracks_csv = np.loadtxt("np1/test_tracks.csv", delimiter=",", skiprows=1)
scores = {}
for method in ("segments", "baseline"):
    seg = np.loadtxt(f"np1/{method}/segments.csv", delimiter=",", skiprows=1)
    if seg.shape != (frames, 7):
        print(f"{method}/segments.csv: shape {seg.shape}, expected ({frames}, 7)"); ok = False; continue
    if not (seg[:, :2] == tracks_csv[:, :2]).all():
        print(f"{method}: (track_id, frame) columns differ from test_tracks.csv"); ok = False
    p = seg[:, 3:]
    if np.abs(p.sum(1) - 1).max() > 1e-4 or p.min() < 0:
        print(f"{method}: probabilities do not sum to 1 (max error {np.abs(p.sum(1) - 1).max()})"); ok = False
    pred = seg[:, 2].astype(int)
    if not set(np.unique(pred)) <= {0, 1, 2, 3}:
        print(f"{method}: states outside 0..3"); ok = False
    scores[method] = (pred == states).mean()
    if method == "segments":
        # segment.min_run = 5 (demo deck) and every simulated track has ≥ 5 frames.
        start = np.concatenate([[0], np.cumsum(lengths)])
        shortest = min(np.diff(np.flatnonzero(np.diff(np.r_[-1, pred[a:b], -1]) != 0)).min()
                       for a, b in zip(start[:-1], start[1:]))
        if shortest < 5:
            print(f"segments: a run of {shortest} frames survived segment.min_run = 5"); ok = False
rows = {(r["method"], r["subset"]): r for r in csv.DictReader(open("np1/evaluation.csv"))}
for method in ("segments", "baseline"):
    r = rows.get((method, "all"))
    if r is None:
        print(f"evaluation.csv: no row for {method}, all"); ok = False; continue
    acc = float(r["accuracy"])
    print(f"{method}: {r['frames']} frames, accuracy {acc:.4f} (recomputed {scores.get(method, float('nan')):.4f}), "
          f"macro-F1 {float(r['macro_f1']):.4f}")
    ok &= int(r["tracks"]) == len(lengths) and int(r["frames"]) == frames
    ok &= abs(acc - scores.get(method, -1)) < 1e-12
sys.exit(0 if ok else 1)
PY
then pass "segments.csv has one row per input frame in order; evaluation.csv scores match the CSVs"
else fail "segments.csv / evaluation.csv contents"; fi

# --- 3. one ensemble member ------------------------------------------------------
mkdir -p member && cp np1/features.h5 member/
spt 2 member train --set train.member=1 --set train.epochs=1
models=$(cd member && ls model_member*.h5 2>/dev/null | tr '\n' ' ')
if [ "$models" = "model_member1.h5 " ] && [ -z "$(find member -name '*member0*')" ]; then
  pass "train.member=1 writes model_member1.h5 only"
else
  fail "train.member=1 wrote: $(ls member)"
fi
expect_deck_error "train.member out of range" "train.member = 2 but train.members = 2" 2 \
  spt train -c "$DECK" "${TINY[@]}" --set run.output_dir=member --set train.member=2

# --- 4. bad input ----------------------------------------------------------------
SEG=(spt segment -c "$DECK" "${TINY[@]}" --set "segment.models=[\"$WORK/np1/model_member0.h5\", \"$WORK/np1/model_member1.h5\"]")
good=np1/test_tracks.csv
{ echo "track_id,frame,x"; tail -n +2 "$good" | cut -d, -f1-3; } > missing_column.csv
awk -F, -v OFS=, 'NR == 40 { $3 = "abc" } 1' "$good" > non_numeric.csv
{ cat "$good"; sed -n 2p "$good"; } > duplicate.csv
awk -F, -v OFS=, 'NR == 40 { $4 = "nan" } 1' "$good" > nan.csv
dup_track=$(sed -n 2p "$good" | cut -d, -f1) dup_frame=$(sed -n 2p "$good" | cut -d, -f2)
expect_error "segment: missing column" "missing_column.csv: no column for y" 2 "${SEG[@]}" \
  --input missing_column.csv --set run.output_dir=bad1
expect_error "segment: non-numeric cell" "column 'x' has 'abc'; expected a number" 2 "${SEG[@]}" \
  --input non_numeric.csv --set run.output_dir=bad2
expect_error "segment: duplicate (track, frame)" "track $dup_track has frame $dup_frame twice" 2 "${SEG[@]}" \
  --input duplicate.csv --set run.output_dir=bad3
expect_error "segment: NaN coordinate" "column 'y' has 'nan'" 2 "${SEG[@]}" --input nan.csv --set run.output_dir=bad4
for d in bad1 bad2 bad3 bad4; do no_files "segment on bad CSV" "$d"; done

# A 2D ensemble given 3D tracks.
run_np 2 -q spt simulate -c "$DECK" --set run.output_dir=d3 --set simulate.dim=3 --set simulate.tracks=6 \
  --set simulate.max_length=20 --set simulate.csv=tracks3d.csv || fail "3D simulate"
expect_error "segment: 2D model, 3D tracks" "trained on 2D tracks (4 channels per frame) but d3/tracks3d.csv holds 3D tracks" 2 \
  "${SEG[@]}" --input d3/tracks3d.csv --set run.output_dir=bad5
no_files "2D model on 3D tracks" bad5

# A per-sample classifier (an MLP) named as a segmentation model.
run_np 1 -q data generate --set run.output_dir=mlp --set generate.samples=100 || fail "data generate"
run_np 1 -q nn train -c "$SRC/inputs/nn/classify.toml" --input mlp/samples.h5 --set run.output_dir=mlp \
  --set train.epochs=1 || fail "nn train (MLP)"
expect_error "segment: a classifier as segmentation model" \
  "mlp/model.h5: a mlp (classify network), not a segmentation model; segment.models must name" 2 \
  spt segment -c "$DECK" "${TINY[@]}" --set "segment.models=[\"$WORK/mlp/model.h5\"]" --input "$good" \
  --set run.output_dir=bad7
no_files "segment with a classifier" bad7
# A per-frame network of 5 classes: segments.h5 holds the 4 diffusion states.
spt 1 c5 train --set model.unet1d.classes=5 --set train.members=1 --set train.epochs=1 \
  --set train.input="$WORK/np1/features.h5"
expect_error "segment: a tagger of 5 classes" "c5/model_member0.h5: a unet1d of 5 classes per frame; expected 4" 2 \
  spt segment -c "$DECK" "${TINY[@]}" --set "segment.models=[\"$WORK/c5/model_member0.h5\"]" --input "$good" \
  --set run.output_dir=bad13
no_files "segment with a 5-class network" bad13

# Evaluate: no method, or one named twice, would write an empty or repeated table.
expect_deck_error "evaluate: no method" "evaluate.methods is empty" 2 \
  spt evaluate -c "$DECK" --set run.output_dir=np1 --set 'evaluate.methods=[]' --set evaluate.output=bad.csv
expect_deck_error "evaluate: a method twice" "evaluate.methods names 'segments' twice" 2 \
  spt evaluate -c "$DECK" --set run.output_dir=np1 --set 'evaluate.methods=["segments", "segments"]' \
  --set evaluate.output=bad.csv
if [ ! -e np1/bad.csv ]; then pass "evaluate with bad methods wrote nothing"; else fail "np1/bad.csv written"; fi
# A segmentation whose tracks have other lengths (one frame moved from track 1
# to track 0: the same track count and total) would be scored across tracks.
mkdir -p np1/shifted
"$PY" - <<'PY'
import shutil, h5py
shutil.copy('np1/segments/segments.h5', 'np1/shifted/segments.h5')
with h5py.File('np1/shifted/segments.h5', 'r+') as f:
    o = f['states/offsets']
    assert o[2] - o[1] >= 2
    o[1] = o[1] + 1
PY
expect_error "evaluate: a segmentation of tracks with other lengths" \
  "shifted/segments.h5: track 0 has another number of frames than in" 2 \
  spt evaluate -c "$DECK" --set run.output_dir=np1 --set 'evaluate.methods=["shifted"]' --set evaluate.output=bad.csv
if [ ! -e np1/bad.csv ]; then pass "evaluate of a mismatched segmentation wrote nothing"; else fail "np1/bad.csv written"; fi
# A segmentation holding a state outside 0..3 (written by another tool) is
# refused by evaluate and fingerprint with the file, track and frame.
mkdir -p np1/badstate
"$PY" - <<'PY'
import shutil, h5py
shutil.copy('np1/segments/segments.h5', 'np1/badstate/segments.h5')
with h5py.File('np1/badstate/segments.h5', 'r+') as f:
    f['states/values'][3] = 4
PY
expect_error "evaluate: a segmentation with state 4" "badstate/segments.h5:/states: state 4 at position 3 of track 0 is outside 0..3" 2 \
  spt evaluate -c "$DECK" --set run.output_dir=np1 --set 'evaluate.methods=["badstate"]' --set evaluate.output=bad.csv
if [ ! -e np1/bad.csv ]; then pass "evaluate of a segmentation with state 4 wrote nothing"; else fail "np1/bad.csv written"; fi
expect_error "fingerprint: a segmentation with state 4" "badstate/segments.h5:/states: state 4 at position 3 of track 0" 2 \
  spt fingerprint -c "$DECK" "${TINY[@]}" --set run.output_dir=np1 --set fingerprint.segments=badstate \
  --set fingerprint.output=bad_fp
[ ! -e np1/bad_fp ] && pass "fingerprint with state 4 wrote nothing" || fail "np1/bad_fp written"
# A tracks HDF5 with a frame interval of 0, or a /track_id of other length.
"$PY" - <<'PY'
import shutil, h5py
shutil.copy('np1/test_tracks.h5', 'zero_dt.h5')
with h5py.File('zero_dt.h5', 'r+') as f:
    f['tracks'].attrs['dt_s'] = 0.0
shutil.copy('np1/test_tracks.h5', 'two_dt.h5')
with h5py.File('two_dt.h5', 'r+') as f:
    f['tracks'].attrs['dt_s'] = [0.05, 0.05]
shutil.copy('np1/test_tracks.h5', 'short_ids.h5')
with h5py.File('short_ids.h5', 'r+') as f:
    ids = f['track_id'][:]
    del f['track_id']
    f['track_id'] = ids[:-2]
shutil.copy('np1/test_tracks.h5', 'short_frames.h5')
with h5py.File('short_frames.h5', 'r+') as f:  # /frames of half the tracks: was an out-of-bounds read
    offsets = f['frames/offsets'][:]
    half = len(offsets) // 2
    values = f['frames/values'][:offsets[half]]
    del f['frames/offsets'], f['frames/values']
    f['frames/offsets'], f['frames/values'] = offsets[:half + 1], values
PY
expect_error "baseline: /frames of fewer tracks than /tracks" "series; expected one per track of /tracks" 2 \
  spt baseline -c "$DECK" --set baseline.input=short_frames.h5 --set run.output_dir=bad_frames
expect_error "baseline: tracks with dt_s = 0" "zero_dt.h5:/tracks: attribute dt_s = 0; expected a frame interval > 0 s" 2 \
  spt baseline -c "$DECK" --set baseline.input=zero_dt.h5 --set run.output_dir=bad10
no_files "baseline of tracks with dt_s = 0" bad10
expect_error "baseline: a dt_s attribute of two values" "two_dt.h5:/tracks: attribute 'dt_s' holds 2 values; expected one" 2 \
  spt baseline -c "$DECK" --set baseline.input=two_dt.h5 --set run.output_dir=bad14
no_files "baseline of tracks with two dt_s values" bad14
expect_error "baseline: a /track_id of 48 rows for 50 tracks" "short_ids.h5:/track_id: expected one value per track (50), found 48" 2 \
  spt baseline -c "$DECK" --set baseline.input=short_ids.h5 --set run.output_dir=bad11
no_files "baseline of tracks with a short /track_id" bad11
expect_deck_error "baseline: alpha_low above alpha_high" "baseline.alpha_low = 1.5 is above baseline.alpha_high = 1" 2 \
  spt baseline -c "$DECK" --set baseline.input=np1/test_tracks.h5 --set baseline.alpha_low=1.5 \
  --set baseline.alpha_high=1.0 --set run.output_dir=bad12
no_files "baseline with alpha_low above alpha_high" bad12

# A row with more fields than the header (a decimal comma) shifts its columns: refused.
awk -F, -v OFS=, 'NR == 7 { $3 = $3 ",5" } 1' "$good" > extra_field.csv
expect_error "import: a row with an extra field" "extra_field.csv:7: row has 5 fields but the header names 4 columns" 2 \
  spt import -c "$DECK" --input extra_field.csv --set run.output_dir=bad8
no_files "import of a row with an extra field" bad8

# Import: a track of one frame is an error or is skipped and counted.
{ cat "$good"; echo "9999,3,0.5,0.5"; } > short_track.csv
expect_error "import: 1-frame track with short_tracks=error" "track 9999 has 1 frame(s), fewer than import.min_length = 5" 2 \
  spt import -c "$DECK" --input short_track.csv --set import.short_tracks=error --set run.output_dir=bad6
no_files "import with short_tracks=error" bad6
if run_np 2 spt import -c "$DECK" --input short_track.csv --set import.short_tracks=skip --set run.output_dir=imported \
     > import.log 2>&1 && grep -q "1 shorter than 5 frames skipped" import.log &&
   [ "$("$PY" -c 'import h5py; print(len(h5py.File("imported/tracks.h5")["track_id"]))')" = 50 ]; then
  pass "import with short_tracks=skip: $(grep -o '[0-9]* tracks (.*kept' import.log)"
else
  fail "import with short_tracks=skip: $(tail -3 import.log)"
fi
# Fingerprints of a CSV in pixels: segment.pixel_um scales it as spt segment
# does, so the MSD's diffusion coefficient grows by pixel_um² and α stays.
for px in 1 2; do
  spt 2 fp_csv$px fingerprint --set fingerprint.input="$WORK/$good" --set segment.pixel_um=$px --set fingerprint.segments=
done
"$PY" - <<'PY' && pass "fingerprint of a CSV: segment.pixel_um = 2 scales D by 4, alpha unchanged" || fail "fingerprint of a CSV ignores segment.pixel_um"
import csv
rows = lambda d: list(csv.DictReader(open(d + '/fingerprints/fingerprints.csv')))
a, b = rows('fp_csv1'), rows('fp_csv2')
assert len(a) == len(b) > 0
for r, s in zip(a, b):
    assert abs(float(s['msd_diffusion']) - 4 * float(r['msd_diffusion'])) <= 1e-4 * abs(4 * float(r['msd_diffusion'])) + 1e-12, (r['msd_diffusion'], s['msd_diffusion'])
    assert abs(float(s['msd_alpha']) - float(r['msd_alpha'])) <= 1e-4, (r['msd_alpha'], s['msd_alpha'])
PY
# A tracks HDF5 is in µm and carries its dt_s: import.pixel_um given with one would be silently unused.
expect_deck_error "import: pixel_um with a tracks HDF5" \
  "import.pixel_um applies to a trajectory table (.csv); imported/tracks.h5 is read as a tracks HDF5" 2 \
  spt import -c "$DECK" --input imported/tracks.h5 --set import.pixel_um=0.108 --set run.output_dir=bad9
no_files "import of a tracks HDF5 with pixel_um" bad9
# Preempted between the two sets: the training set is committed, the test set
# not begun; the preempted line says so (not "nothing written").
stop_at pre.log "^spt simulate: 200 tracks -> " spt simulate -c "$DECK" "${TINY[@]}" --set run.output_dir=pre
if [ "$rc" -eq 75 ] && grep -q "^phenoscale: preempted: stop signal 15 during spt simulate; the training set is written (pre/tracks.h5), the test set is not" pre.log &&
   [ -e pre/tracks.h5 ] && [ ! -e pre/test_tracks.h5 ] && [ ! -e pre/test_tracks.csv ]; then
  pass "spt simulate stopped between its sets: exit 75, the preempted line names the training set as written"
else
  fail "spt simulate stopped between its sets: rc=$rc, $(ls pre 2>&1 | tr '\n' ' '), $(grep preempted pre.log)"
fi
finish
