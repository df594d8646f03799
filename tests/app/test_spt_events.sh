#!/usr/bin/env bash
# Event timing end to end (DeepSPT, docs/methods.md §2.6):
#  1. simulate 300 switching tracks (≤ 150 frames) + 200 test tracks →
#     event-features at 1 and 2 ranks (bit-identical) → event-train (a small
#     bi-GRU, 2 × 8, 5 epochs) → events on the held-out test tracks at 1 and
#     2 ranks from the test CSV (the same event frames), and from the
#     test tracks.h5 (with truth: events_summary.csv).
#  2. event_features.h5: CSR /features (5 channels) and /labels that switch
#     0 → 1 once, at the first true changepoint; events.csv: header, one row
#     per test track in order, event frames inside their track;
#     events_summary.csv: the network's median and mean errors recomputed
#     from events.csv and the truth, finite, and the median better than the
#     trivial "event at the middle of the track" predictor.
#  3. events.tracks = two-segment keeps only one-changepoint tracks; a model
#     that is not an event model, a window other than the model's and
#     tracks without truth are clear errors.
source "$(dirname "$0")/common.bash"
cd "$WORK"
DECK=$SRC/inputs/spt/demo.toml
SMALL=(--set simulate.tracks=300 --set simulate.test_tracks=200 --set simulate.max_length=150
       --set simulate.single_mode_fraction=0 --set simulate.test_csv=test_tracks.csv
       --set model.gru-tagger.hidden=8 --set model.gru-tagger.layers=2
       --set train.epochs=5 --set train.batch_size=16 --set train.learning_rate=0.02)
spt() {  # spt NP DIR STAGE ARGS...
  local np=$1 dir=$2 stage=$3; shift 3
  run_np "$np" -q spt "$stage" -c "$DECK" "${SMALL[@]}" --set run.output_dir="$dir" "$@" || fail "$stage at np=$np ($dir)"
}

# --- 1. the chain ----------------------------------------------------------------
spt 2 np2 simulate
mkdir -p np1 && cp np2/tracks.h5 np2/test_tracks.h5 np2/test_tracks.csv np1/
for np in 1 2; do spt "$np" "np$np" event-features; done
for ds in /features/values /features/offsets /labels/values /track_id; do
  if h5diff -q np1/event_features.h5 np2/event_features.h5 "$ds" "$ds"; then pass "event_features.h5 $ds bit-identical at np=1 and np=2"
  else fail "event_features.h5 $ds differs between np=1 and np=2"; fi
done
spt 2 np2 event-train
cp np2/event_model.h5 np1/
# A trajectory CSV (no truth) at 1 and 2 ranks; the test tracks.h5 (with truth) for the scores.
for np in 1 2; do spt "$np" "np$np" events --input "np$np/test_tracks.csv" --output events_csv; done
# Each rank batches its own tracks, so a track's batch changes with the rank
# count and its probabilities can round differently (docs/architecture.md): the same
# tracks and event frames, probabilities within 1e-4 (docs/cli.md `spt events`).
if "$PY" - <<'PY'
import csv, sys
a = list(csv.reader(open("np1/events_csv/events.csv")))
b = list(csv.reader(open("np2/events_csv/events.csv")))
same = len(a) == len(b) and a[0] == b[0] and all(x[:2] == y[:2] for x, y in zip(a, b))
d = max((abs(float(x[2]) - float(y[2])) for x, y in zip(a[1:], b[1:]) if x[2] and y[2]), default=0.0)
print(f"events.csv np=1 vs np=2: {len(a) - 1} / {len(b) - 1} rows, track ids and event frames equal: {same}, "
      f"p_after_at_event max |diff| {d:.3g}")
sys.exit(0 if same and d <= 1e-4 else 1)
PY
then pass "events.csv at np=1 and np=2: the same event frames, probabilities within 1e-4"
else fail "events.csv differs between np=1 and np=2"; fi
if [ ! -e np2/events_csv/events_summary.csv ]; then pass "no events_summary.csv without truth"
else fail "events_summary.csv written without truth"; fi
spt 2 np2 events
for f in np2/event_model_training.csv np2/event_model_checkpoint.pt; do
  if [ -f "$f" ]; then pass "event-train wrote $f beside the model"; else fail "no $f"; fi
done

# --- 2. contents -----------------------------------------------------------------
if "$PY" - <<'PY'
import csv, h5py, numpy as np, sys
ok = True
f = h5py.File("np2/event_features.h5", "r")
feat, off = f["features/values"][...], f["features/offsets"][...]
labels = f["labels/values"][:, 0]
truth = h5py.File("np2/tracks.h5", "r")
states, toff = truth["states/values"][:, 0], truth["tracks/offsets"][...]
if feat.shape[1] != 5 or not np.isfinite(feat).all() or not (off == toff).all():
    print(f"/features: shape {feat.shape}, finite {np.isfinite(feat).all()}, offsets match tracks {(off == toff).all()}"); ok = False
for a, b in zip(off[:-1], off[1:]):
    s, l = states[a:b], labels[a:b]
    first = next((t for t in range(1, b - a) if s[t] != s[0]), -1)
    want = np.zeros(b - a, int)
    if first >= 0: want[first:] = 1
    if not (l == want).all():
        print(f"/labels of the track at offset {a} are not 0 before / 1 from the first changepoint {first}"); ok = False; break
# events.csv: one row per test track, in order; event frames inside the track.
test = h5py.File("np2/test_tracks.h5", "r")
ts, to, ids = test["states/values"][:, 0], test["tracks/offsets"][...], test["track_id"][...]
rows = list(csv.DictReader(open("np2/events/events.csv")))
if list(rows[0].keys()) != ["track_id", "event_frame", "p_after_at_event"] or len(rows) != len(ids):
    print(f"events.csv: columns {list(rows[0].keys())}, {len(rows)} rows for {len(ids)} tracks"); sys.exit(1)
net, mid = [], []
missed = 0
for r, i, a, b in zip(rows, ids, to[:-1], to[1:]):
    ok &= int(r["track_id"]) == int(i)
    e = int(r["event_frame"])
    ok &= -1 <= e < b - a
    ok &= (e == -1) == (r["p_after_at_event"] == "")
    if e >= 0 and not 0 <= float(r["p_after_at_event"]) <= 1: ok = False
    s = ts[a:b]
    first = next((t for t in range(1, b - a) if s[t] != s[0]), -1)
    if first < 0: continue
    mid.append(abs((b - a) // 2 - first))
    if e < 0: missed += 1
    else: net.append(abs(e - first))
summary = {r["method"]: r for r in csv.DictReader(open("np2/events/events_summary.csv"))}
n, m = summary["network"], summary["midpoint"]
print(f"event error on {len(mid)} test tracks with an event: network median {np.median(net)}, mean {np.mean(net):.2f} frames "
      f"({missed} missed; {n['false_events']} events on tracks without one); "
      f"midpoint median {np.median(mid)}, mean {np.mean(mid):.2f}")
ok &= abs(float(n["median_error_frames"]) - np.median(net)) < 1e-9 and abs(float(n["mean_error_frames"]) - np.mean(net)) < 1e-9
ok &= abs(float(m["median_error_frames"]) - np.median(mid)) < 1e-9 and int(float(n["missed"])) == missed
ok &= int(float(n["true_events"])) == len(mid) and np.isfinite(np.median(net))
if not np.median(net) < np.median(mid):
    print("the network's median error is not below the midpoint predictor's"); ok = False
if missed > len(mid) // 4:
    print(f"{missed} of {len(mid)} events missed"); ok = False
sys.exit(0 if ok else 1)
PY
then pass "event labels, events.csv rows and events_summary.csv errors (network beats the midpoint predictor)"
else fail "event_features.h5 / events.csv / events_summary.csv contents"; fi

# --- 3. options and errors -------------------------------------------------------
spt 2 np2 event-features --set events.tracks=two-segment --output two.h5
if "$PY" -c '
import h5py, numpy as np, sys
f = h5py.File("np2/two.h5", "r"); l, o = f["labels/values"][:, 0], f["labels/offsets"][...]
switches = [int((np.diff(l[a:b]) != 0).sum()) for a, b in zip(o[:-1], o[1:])]
print(len(switches), "two-segment tracks"); sys.exit(0 if switches and all(s == 1 for s in switches) else 1)'; then
  pass "events.tracks = two-segment keeps tracks with one changepoint"
else fail "events.tracks = two-segment"; fi
# Small extra data: 20 tracks with truth, the same without, a 4-class U-Net trained on them.
spt 2 np2 simulate --set simulate.test_tracks=0 --set simulate.tracks=20 --set simulate.output=small.h5
"$PY" -c '
import h5py, shutil
shutil.copy("np2/small.h5", "np2/plain.h5")
with h5py.File("np2/plain.h5", "a") as f: del f["states"]'
spt 2 np2 features --input np2/small.h5 --output small_features.h5
spt 2 np2 train --input np2/small_features.h5 --set train.members=1 --set train.epochs=1 --set train.output=unet.h5 \
  --set model.unet1d.channels=4 --set model.unet1d.depth=1 --set train.checkpoint= --set train.metrics=
expect_error "event-features: two-segment without truth" "selects tracks by their true changepoints, but the tracks have no /states" 2 \
  spt event-features -c "$DECK" --set run.output_dir=np2 --input np2/plain.h5 --set events.tracks=two-segment --output bad.h5
run_np 2 -q spt event-features -c "$DECK" --set run.output_dir=np2 --input np2/plain.h5 --output unlabelled.h5 ||
  fail "event-features without truth"
expect_error "event-train without labels" "no /labels; event-train needs tracks with truth" 2 \
  spt event-train -c "$DECK" --set run.output_dir=np2 --input np2/unlabelled.h5 --output bad_model.h5
expect_error "events with a segmentation model" "is not an event-timing model" 2 \
  spt events -c "$DECK" --set run.output_dir=np2 --set events.model=unet_member0.h5 --output bad_events
expect_error "events with another window" "trained on 20-frame windows but events.window = 25" 2 \
  spt events -c "$DECK" --set run.output_dir=np2 --set events.window=25 --output bad_events
expect_error "event-train with a per-series network" "key 'events.architecture' = \"lstm-classifier\" is not one of: " 2 \
  spt event-train -c "$DECK" --set run.output_dir=np2 --set events.architecture=lstm-classifier
finish
