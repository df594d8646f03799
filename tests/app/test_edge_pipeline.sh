#!/usr/bin/env bash
# The edge chain end to end on a tiny deck (DeepHACKS, docs/methods.md §3):
#  1. simulate → window → events → denoise → teacher at 1, 2 and 3 ranks:
#     movies, velocity maps, samples, denoised samples, ACF vectors and teacher
#     labels are identical (bit for bit; teacher.csv byte for byte).
#  2. The student is trained once (2 ranks; training is not rank-count
#     independent); phenotype, stats and cells on the same latent are
#     identical at 1, 2 and 3 ranks — p-values and profiles included; the
#     profiles' means and counts are recomputed from phenotypes.h5.
#  3. Contracts: phenotypes.csv's header and one row per sample; stats.csv
#     prints both p definitions; the stats table's pooled proportions are
#     recomputed from phenotypes.csv. Then postprocess/edge_report.py on the
#     chain: every figure; the teacher's per-sample silhouettes (which the
#     silhouette plot draws) against scikit-learn's.
#  4. import (long and wide CSV) → teacher → student → phenotype on imported
#     series alone (no cells, no conditions); stats then refuses clearly.
#     Text sample and cell ids (names) are written back as imported, with
#     every label as the numbered series got; stats and cells write cell and
#     experiment names back.
#     import-maps: velocity maps from elsewhere (CSV, transposed HDF5) give
#     edge events the same samples as edge window's maps.
#  5. Bad input: movies with frames of different sizes, a frame with no cell,
#     a CSV with a missing column, all-NaN series (skipped and counted), a
#     series too short for the teacher's partial ACF distances, a condition
#     with one cell (skipped and counted): one error line or a counted skip,
#     and no partial output.
#  Also: the teacher warns when its kNN graph is too sparse for the samples
#  (many communities); two paired experiments get one matched set of
#  phenotypes, a phenotype of one experiment only joins the deep phenotype it
#  is in the other, and stats tests only the phenotypes each experiment has.
source "$(dirname "$0")/common.bash"
cd "$WORK"
RUN_NP_TIMEOUT=300
DECK=$SRC/inputs/edge/demo.toml
TINY=(--set simulate.cells_per_condition=3 --set simulate.frames=100 --set simulate.size=96
      --set simulate.radius_nm=1800 --set 'teacher.neighbours=[10,20]' --set 'phenotype.neighbours=[10,20]'
      --set train.epochs=2 --set 'student.lambdas=[5.0]' --set student.replicates=200
      --set stats.replicates=500 --set phenotype.profile_replicates=50 --set phenotype.min_subcluster_samples=20
      --set phenotype.min_frames=30
      --set cells.min_samples=5 --set cells.n_neighbors=3 --set 'cells.neighbours=[2,3]')
edge() {  # edge NP DIR STAGE ARGS...
  local np=$1 dir=$2 stage=$3; shift 3
  run_np "$np" -q edge "$stage" -c "$DECK" "${TINY[@]}" --set run.output_dir="$dir" "$@" || fail "$stage at np=$np ($dir)"
}

# --- 1. movies to teacher at 1, 2, 3 ranks ------------------------------------------
for np in 1 2 3; do
  for stage in simulate window events denoise teacher; do edge "$np" "np$np" "$stage"; done
done
for np in 2 3; do
  same_file "movie cell_0004.tif" np1/movies/cell_0004.tif "np$np/movies/cell_0004.tif"
  same_datasets np1/windows/cell_0004.h5 "np$np/windows/cell_0004.h5" /velocity /angle
  same_datasets np1/events.h5 "np$np/events.h5" /velocity/values /velocity/offsets /cell_id /condition /onset_frame /truth/phenotype
  same_datasets np1/denoised.h5 "np$np/denoised.h5" /velocity/values /removed_imfs
  same_datasets np1/teacher.h5 "np$np/teacher.h5" /acf /labels /silhouette
  same_file teacher.csv np1/teacher.csv "np$np/teacher.csv"
  same_file teacher_profiles.csv np1/teacher_profiles.csv "np$np/teacher_profiles.csv"
done
for np in 2 3; do
  same_datasets np1/movies/truth.h5 "np$np/movies/truth.h5" /cell_id /cell_condition /cell_proportions /cell_events
done
# Per-cell truth: the proportions each cell drew from are its condition's
# (the drug's +10 accelerating and +5 early-burst points, together), and its
# event counts are those of /event_cell.
$PY - np1 <<'PY' && pass "truth.h5 per cell: planted proportions and event counts" || fail "truth.h5 per-cell truth"
import sys, csv, h5py, numpy as np
d = sys.argv[1]
t = h5py.File(d + '/movies/truth.h5', 'r')
names = t.attrs['conditions'].decode().split('\n') if isinstance(t.attrs['conditions'], bytes) else t.attrs['conditions'].split('\n')
movies = {int(r['cell_id']): r['condition'] for r in csv.DictReader(open(d + '/movies/movies.csv'))}
cell, cond, prop, events = t['cell_id'][()], t['cell_condition'][()], t['cell_proportions'][()], t['cell_events'][()]
assert sorted(cell) == sorted(movies) and all(names[c] == movies[i] for i, c in zip(cell, cond))
assert np.allclose(prop.sum(1), 1.0)
by = {names[c]: p for c, p in zip(cond, prop)}
# The named phenotypes move by their deltas, the unnamed three are rescaled in proportion.
assert np.allclose(by['drug'][3:] - by['DMSO'][3:], [0.10, 0.05]) and np.allclose(by['null'], by['DMSO'])
assert np.allclose(by['drug'][:3], by['DMSO'][:3] * (1 - by['drug'][3:].sum()) / (1 - by['DMSO'][3:].sum()))
ec, ep = t['event_cell'][()], t['event_phenotype'][()]
for i, c in enumerate(cell):
    assert (np.bincount(ep[ec == c], minlength=5) == events[i]).all(), (c, events[i])
print(len(cell), 'cells,', events.sum(), 'planted events')
PY
samples=$($PY -c "import h5py; print(h5py.File('np1/events.h5','r')['sample_id'].shape[0])")
if [ "$samples" -ge 100 ]; then pass "events: $samples aligned samples"; else fail "events: only $samples samples"; fi
$PY - np1 <<'PY' && pass "aligned samples: onset at column 5, 17..56 frames, velocities in nm/s" || fail "aligned sample layout"
import sys, h5py, numpy as np
f = h5py.File(sys.argv[1] + '/events.h5', 'r')
lengths = np.diff(f['velocity/offsets'][:])
v = f['velocity/values'][:].ravel()
assert lengths.min() >= 17 and lengths.max() <= 56, (lengths.min(), lengths.max())
assert np.isfinite(v).all() and 0.3 < np.median(v) < 5, np.median(v)
first = f['velocity/offsets'][:-1]
# Frames before the onset retract, frames after it protrude (planted retraction -2 nm/s x scale).
assert np.median(v[first]) < 0 < np.median(v[first + 8]), (np.median(v[first]), np.median(v[first + 8]))
PY

# Movies are cut into blocks of events.block_frames frames (200 by default, so
# these 100-frame movies are one block, as with 0, the whole movie). Cut at 40,
# no sample spans a cut: its map columns c (the motion from frame c - 1 to c)
# lie in one block's columns 40k + 1 .. 40k + 39, and some end at a block's
# last column; uncut, some samples do span one (so the check can fail).
edge 2 np1 events --set events.block_frames=0 --set events.before=5 --set events.output=events_whole.h5
same_datasets np1/events.h5 np1/events_whole.h5 /velocity/values /velocity/offsets /onset_frame /truth/phenotype
edge 2 np1 events --set events.block_frames=40 --set events.before=5 --set events.output=events_blocks.h5
$PY - np1 <<'PY' && pass "events in 40-frame blocks: no sample spans a cut, some end at one" || fail "events.block_frames"
import sys, h5py, numpy as np
def samples(name):  # {(cell, window, onset): the sample's map columns}
    f = h5py.File(f'{sys.argv[1]}/{name}', 'r')
    keys = zip(f['cell_id'][()], f['window'][()], f['onset_frame'][()])
    return {k: np.arange(k[2] - 5, k[2] - 5 + n) for k, n in zip(keys, np.diff(f['velocity/offsets'][()]))}
spans = lambda c: (c % 40 == 0).any() or len(set((c - 1) // 40)) > 1
cut, whole = samples('events_blocks.h5'), samples('events_whole.h5')
assert not any(spans(c) for c in cut.values())
assert sum(c[-1] % 40 == 39 for c in cut.values()) > 0 and sum(spans(c) for c in whole.values()) > 0
# Cut, not filtered: some event keeps its onset and ends earlier, at the cut.
shorter = sum(k in whole and len(c) < len(whole[k]) for k, c in cut.items())
assert shorter > 0
print(len(cut), 'samples in blocks of 40 frames,', len(whole), 'uncut;', sum(spans(c) for c in whole.values()),
      'uncut ones span a cut;', shorter, 'end earlier at a cut')
PY
expect_deck_error "events.block_frames = 1" "events.block_frames = 1: a block needs at least 2 frames" 2 \
  edge events -c "$DECK" "${TINY[@]}" --set run.output_dir=np1 --set events.block_frames=1 --set events.output=events_bad.h5
[ ! -e np1/events_bad.h5 ] || fail "events.block_frames = 1 left events_bad.h5"

# A kNN graph too sparse for the samples fragments into many communities: the
# teacher says so (and still writes its labels), naming the key to change;
# the default-like grid above does not warn. (Small communities are kept
# here, teacher.min_community_size = 1: merged, K = 2 leaves 19.)
out=$(run_np 2 edge teacher -c "$DECK" "${TINY[@]}" --set run.output_dir=np1 --set 'teacher.neighbours=[2]' \
      --set teacher.min_community_size=1 --set teacher.output=teacher_k2.h5 2>&1)
clusters=$($PY -c "import h5py; print(h5py.File('np1/teacher_k2.h5','r').attrs['clusters'])")
if [ "$clusters" -gt 20 ] && grep -q "warning: edge teacher: the chosen partition has $clusters communities (K = 2;.*give teacher.neighbours larger values" <<<"$out" \
   && ! grep -q "chosen partition has" <<<"$(run_np 1 edge teacher -c "$DECK" "${TINY[@]}" --set run.output_dir=np1 --set teacher.output=teacher_again.h5 2>&1)"; then
  pass "teacher: $clusters communities at K = 2 warned about, none at the deck's grid"
else fail "teacher fragmentation warning (K = 2: $clusters communities)"; fi

# Landmarks (teacher.landmarks below the sample count): the graph and the K
# sweep see about that many samples, drawn the same at 1 and 3 ranks (identical
# outputs); landmarks keep their community and carry the silhouettes, and every
# other sample has the majority label of its 15 nearest landmarks by the
# nan_euclidean distance of /acf (recomputed here in ml/distance.hpp's order of
# summation, so that equal distances tie as they do there).
half=$(( samples / 2 ))
for np in 1 3; do
  edge "$np" "np$np" teacher --set teacher.landmarks=$half --set teacher.output=teacher_landmarks.h5
done
same_datasets np1/teacher_landmarks.h5 np3/teacher_landmarks.h5 /labels /silhouette
$PY - np1 "$half" <<'PY' && pass "teacher landmarks: the same at np 1/3; others labelled by their 15 nearest landmarks" || fail "teacher landmarks"
import sys, collections, h5py, numpy as np
f = h5py.File(sys.argv[1] + '/teacher_landmarks.h5', 'r')
acf, labels, sil = f['acf'][()].astype(np.float64), f['labels'][()], f['silhouette'][()]
landmark = np.isfinite(sil)
m = int(f.attrs['landmarks'])
assert m == landmark.sum() and abs(m - int(sys.argv[2])) < 0.25 * int(sys.argv[2]), (m, sys.argv[2])
assert set(labels[~landmark]) <= set(labels[landmark]) and len(set(labels[landmark])) == f.attrs['clusters']
def nan_squared(a, b):  # scikit-learn's nan_euclidean, squared, summed lag by lag
    e = np.where(np.isnan(a) | np.isnan(b), 0.0, a - b)
    present = (~(np.isnan(a) | np.isnan(b))).sum(axis=-1)
    return np.cumsum(e * e, axis=-1)[..., -1] * a.shape[-1] / present
d = np.array([nan_squared(row[None, :], acf[landmark]) for row in acf[~landmark]])
lab = labels[landmark]
for row, dist in zip(labels[~landmark], d):
    order = np.lexsort((np.arange(len(dist)), dist))[:15]
    votes = collections.Counter(lab[order])
    top = max(votes.values())
    expected = next(l for l in lab[order] if votes[l] == top)  # ties: the nearer first member
    assert row == expected, (row, expected, votes)
print(m, 'landmarks of', len(labels), 'samples,', f.attrs['clusters'], 'communities')
PY

# More ranks than movies: the frame interval still comes from the maps (2 s here).
mkdir -p two && head -n 3 np1/movies/movies.csv >two/movies.csv && cp np1/movies/cell_0000.tif np1/movies/cell_0001.tif two/
edge 1 two_out window --set window.input=two --set window.frame_s=2
edge 3 two_out events
frame_s=$($PY -c "import h5py; print(h5py.File('two_out/events.h5','r').attrs['frame_s'])")
if [ "$frame_s" = "2.0" ]; then pass "events at 3 ranks on 2 movies: frame_s 2 from the maps"
else fail "events on 2 movies at 3 ranks: frame_s $frame_s, expected 2.0"; fi

# simulate.kind = series cuts each planted window series into blocks of
# events.block_frames as edge events cuts a movie: with blocks of 50 frames
# no sample crosses a block boundary (map columns 1-49, 51-99: a block of
# frames 0-49 has the velocities between them, and frame 0 has
# no velocity); analysed whole, some do.
for block in 50 0; do
  edge 2 "series_b$block" simulate --set simulate.kind=series --set events.block_frames=$block
done
$PY - series_b50/events.h5 series_b0/events.h5 <<'PY' && pass "simulate.kind = series cut into blocks of events.block_frames" || fail "simulate.kind = series blocks"
import sys, h5py, numpy as np
def spans(path):  # each sample's first and last map column, and whether it stays in one block
    f = h5py.File(path, 'r')
    lengths = np.diff(f['velocity/offsets'][()])
    first = f['onset_frame'][()] - 5
    last = first + lengths - 1
    # block k holds columns 50k + 1 .. 50k + 49; columns 0, 50, 100 are in none
    inside = (first % 50 != 0) & (last % 50 != 0) & ((first - 1) // 50 == (last - 1) // 50)
    return inside, first
a, first = spans(sys.argv[1])
b, _ = spans(sys.argv[2])
print(f'blocks of 50: {len(a)} samples, {int((~a).sum())} crossing, first frame >= {first.min()};'
      f' whole: {len(b)} samples, {int((~b).sum())} crossing')
assert a.all() and first.min() >= 1 and not b.all() and len(a) < len(b)
PY

# --- 2. student once, then phenotype / stats / cells at 1, 2, 3 ranks ------------------
edge 2 np1 student
# student.select_only chooses among the finished λ (the λ array's last job);
# a λ scored on another reference contrast than the deck's is refused, not
# compared with the others, and latent.h5 is left as it was.
cp np1/student/latent.h5 latent_before.h5
edge 2 np1 student --set student.select_only=true
# The rows' digest is the same at any rank count: the choice runs at 1 and 3
# ranks too (it only reads), on an allocation other than the array's.
for np in 1 3; do edge "$np" np1 student --set student.select_only=true; done
expect_deck_error "select_only after the reference contrast changed" "lambda_5.csv: λ = 5 was scored on the contrast teacher cluster" \
  2 edge student -c "$DECK" "${TINY[@]}" --set run.output_dir=np1 --set student.select_only=true \
  --set 'student.reference_contrast=["auto", "DMSO", "null"]'
# Nor is a λ trained or scored on other samples, teacher labels or settings:
# each row records a digest of the inputs and the deck keys that decide d.
expect_error "select_only on other samples" "lambda_5.csv: λ = 5 was trained and scored on other samples or teacher labels (digest" \
  2 edge student -c "$DECK" "${TINY[@]}" --set run.output_dir=np1 --set student.select_only=true --set student.input=np1/events.h5
expect_deck_error "select_only with other settings" "lambda_5.csv: λ = 5 was trained and scored with other settings (student.scale: 0.15 in the row, 0.2 now; phenotype.components: 15 in the row, 12 now)" \
  2 edge student -c "$DECK" "${TINY[@]}" --set run.output_dir=np1 --set student.select_only=true \
  --set phenotype.components=12 --set student.scale=0.2 --set train.checkpoint_every_steps=3
same_file "latent.h5 after select_only" latent_before.h5 np1/student/latent.h5
# train.checkpoint = "" and train.metrics = "" write no checkpoint and no
# per-epoch table, as in the other training stages.
edge 1 nockpt student --set student.input=np1/denoised.h5 --set student.teacher=np1/teacher.h5 \
  --set train.checkpoint= --set train.metrics=
if [ -e nockpt/student/latent.h5 ] && ! compgen -G "nockpt/student/checkpoint_lambda*" >/dev/null &&
   ! compgen -G "nockpt/student/training_lambda*" >/dev/null; then
  pass "student with train.checkpoint and train.metrics empty: neither written"
else fail "student with train.checkpoint and train.metrics empty: $(ls nockpt/student)"; fi
# A NaN Cohen's d (fewer than 3 cells on a side, or no spread) never wins
# over a finite one, however small; with none finite the first λ is kept and
# a warning says so. Two λ rows made from the finished one (λ 5 and "9").
rm -rf nansel && cp -r np1 nansel && cp nansel/student/latent_lambda5.h5 nansel/student/latent_lambda9.h5
for case in "nan 0.01 9" "nan nan 5"; do
  read -r d5 d9 want <<<"$case"
  $PY - nansel/student "$d5" "$d9" <<'PY'
import csv, sys
d = sys.argv[1]
row = next(csv.DictReader(open(f'{d}/lambda_5.csv')))
for lam, cohens_d in ((5, sys.argv[2]), (9, sys.argv[3])):
    with open(f'{d}/lambda_{lam}.csv', 'w', newline='') as f:
        w = csv.DictWriter(f, fieldnames=list(row))
        w.writeheader()
        w.writerow(dict(row, **{'lambda': str(lam), 'cohens_d': cohens_d}))
PY
  run_np 2 edge student -c "$DECK" "${TINY[@]}" --set run.output_dir=nansel --set student.select_only=true \
    --set 'student.lambdas=[5.0, 9.0]' >nansel.log 2>&1 || fail "select_only with d = $d5, $d9: $(tail -2 nansel.log)"
  chosen=$(awk -F, 'NR > 1 && $8 == 1 {print $1}' nansel/student/lambda_sweep.csv)
  warned=$(grep -c "no λ has a finite Cohen's d" nansel.log || true)
  if [ "$chosen" = "$want" ] && { [ "$d9" != nan ] || [ "$warned" -ge 1 ]; }; then
    pass "select_only with Cohen's d $d5 (λ 5) and $d9 (λ 9): λ $chosen chosen, $warned warning(s)"
  else
    fail "select_only with Cohen's d $d5 (λ 5) and $d9 (λ 9): chose '$chosen', expected $want (warnings: $warned)"
  fi
done
for np in 2 3; do mkdir -p "np$np/student"; cp np1/student/latent.h5 "np$np/student/"; done
for np in 1 2 3; do
  for stage in phenotype stats cells; do edge "$np" "np$np" "$stage"; done
done
# 3 cells per condition: edge stats warns that its p-values are anti-conservative.
if run_np 2 edge stats -c "$DECK" "${TINY[@]}" --set run.output_dir=np1 --set stats.output=stats_again.csv \
     >few_cells.log 2>&1 && grep -q "has 3 cells; with fewer than 10 the bootstrap p-values are anti-conservative" few_cells.log; then
  pass "edge stats warns for conditions of fewer than 10 cells ($(grep -c 'anti-conservative' few_cells.log) warnings)"
else
  fail "edge stats gave no few-cells warning: $(grep -i 'warn' few_cells.log | head -2)"
fi
# cells.min_community_size: at one K (5) a cell group of fewer cells joins
# the group it has the most kNN edges into.
for m in 1 5; do
  edge 2 np1 cells --set 'cells.neighbours=[5]' --set cells.min_community_size=$m --set cells.output=cells_k5_min$m.csv
done
$PY - np1 <<'PY' && pass "cells.min_community_size = 5: the groups under 5 cells joined another" || fail "cells.min_community_size"
import sys, csv, collections
d = sys.argv[1]
size = lambda f: collections.Counter(r['cell_group'] for r in csv.DictReader(open(f'{d}/{f}')))
before, after = size('cells_k5_min1.csv'), size('cells_k5_min5.csv')
print('cell groups at K = 5', sorted(before.values()), '->', sorted(after.values()))
assert min(before.values()) < 5 <= min(after.values()) and sum(after.values()) == sum(before.values()), after
PY
# Cell ids numbered 1..n within each condition (as many labs do) name
# different cells: edge cells keys a cell by (cell_id, condition,
# experiment), as edge stats does, and finds the same cells and counts.
$PY - np1 <<'PY'
import sys, shutil, h5py, numpy as np
d = sys.argv[1]
shutil.copy(d + '/phenotypes.h5', d + '/phenotypes_renum.h5')
with h5py.File(d + '/phenotypes_renum.h5', 'r+') as f:
    cell, cond = f['cell_id'][:], f['condition'][:]
    new = cell.copy()
    for c in np.unique(cond):
        ids = np.unique(cell[cond == c])
        new[cond == c] = np.searchsorted(ids, cell[cond == c])
    assert len(set(zip(new, cond))) == len(set(zip(cell, cond))) and len(set(new)) < len(set(cell))
    f['cell_id'][...] = new
PY
[ $? -eq 0 ] || fail "edge cells: renumbering the cell ids per condition (the test's setup) failed"
edge 2 np1 cells --set cells.input="$PWD/np1/phenotypes_renum.h5" --set cells.output=cells_renum.csv
$PY - np1 <<'PY' && pass "edge cells: cell ids repeated across conditions stay different cells" || fail "edge cells merged cells sharing an id"
import sys, csv, collections
d = sys.argv[1]
count = lambda f: collections.Counter((r['condition'], r['samples']) for r in csv.DictReader(open(f'{d}/{f}')))
a, b = count('cells.csv'), count('cells_renum.csv')
assert a == b, (a, b)
print(sum(a.values()), 'cells, the same (condition, samples) as with unique ids')
PY
# Cell and experiment ids imported as names (edge import: a column that is
# not all integers; the names are the 'names' attribute of /cell_id and
# /experiment): stats and cells compute exactly as with the numbers and
# write the names back — quoted where they hold a comma.
$PY - np1 <<'PY'
import sys, shutil, h5py, numpy as np
d = sys.argv[1]
shutil.copy(d + '/phenotypes.h5', d + '/phenotypes_named.h5')
with h5py.File(d + '/phenotypes_named.h5', 'r+') as f:
    cells, exps = f['cell_id'][:], f['experiment'][:]
    f['cell_id'].attrs['names'] = '\n'.join('A%02d, cell %d' % (k, k) for k in range(cells.max() + 1))
    f['experiment'].attrs['names'] = '\n'.join('2024-05-%02d' % (k + 1) for k in range(exps.max() + 1))
PY
[ $? -eq 0 ] || fail "edge stats/cells with named ids: naming the ids (the test's setup) failed"
edge 2 np1 stats --set stats.input="$PWD/np1/phenotypes_named.h5" --set stats.output=stats_named.csv
edge 2 np1 cells --set cells.input="$PWD/np1/phenotypes_named.h5" --set cells.output=cells_named.csv
$PY - np1 <<'PY' && pass "edge stats and cells write imported cell and experiment names back, results unchanged" || fail "edge stats/cells with named ids"
import sys, csv
d = sys.argv[1]
rows = lambda f: list(csv.DictReader(open(f'{d}/{f}')))
cell = lambda k: 'A%02d, cell %d' % (int(k), int(k))
exp = lambda k: '2024-05-%02d' % (int(k) + 1)
a, b = rows('stats.csv'), rows('stats_named.csv')
assert len(a) == len(b) > 0 and [dict(r, experiment=exp(r['experiment'])) for r in a] == b, (a[:1], b[:1])
a, b = rows('cells.csv'), rows('cells_named.csv')
assert len(a) == len(b) > 0 and list(b[0]) == list(a[0]), (list(a[0]), list(b[0]))
assert [dict(r, cell_id=cell(r['cell_id']), experiment=exp(r['experiment'])) for r in a] == b, (a[:1], b[:1])
print(len(a), 'cells; e.g.', b[0]['cell_id'], b[0]['experiment'])
PY
# phenotype.min_community_size: the same rule for the coarse phenotypes (a
# sparse graph, K = 5, leaves communities of 16 and 17 samples).
for m in 1 20; do
  edge 2 np1 phenotype --set 'phenotype.neighbours=[5]' --set phenotype.min_community_size=$m \
    --set phenotype.output=phen_k5_min$m.csv --set phenotype.h5=phen_k5_min$m.h5 --set phenotype.tsne=false
done
$PY - np1 <<'PY' && pass "phenotype.min_community_size = 20: the phenotypes under 20 samples joined another" || fail "phenotype.min_community_size"
import sys, csv, collections
d = sys.argv[1]
size = lambda f: collections.Counter(r['phenotype'] for r in csv.DictReader(open(f'{d}/{f}')) if r['phenotype'] != '-1')
before, after = size('phen_k5_min1.csv'), size('phen_k5_min20.csv')
print('phenotypes at K = 5', sorted(before.values()), '->', sorted(after.values()))
assert min(before.values()) < 20 <= min(after.values()) and sum(after.values()) == sum(before.values()), after
PY
for np in 2 3; do
  same_file phenotypes.csv np1/phenotypes.csv "np$np/phenotypes.csv"
  same_file stats.csv np1/stats.csv "np$np/stats.csv"
  same_file cells.csv np1/cells.csv "np$np/cells.csv"
  same_file cells_contrasts.csv np1/cells_contrasts.csv "np$np/cells_contrasts.csv"
  same_file phenotypes_profiles.csv np1/phenotypes_profiles.csv "np$np/phenotypes_profiles.csv"
done
# The profiles are each phenotype's mean velocity per aligned frame over its
# samples, recomputed here from phenotypes.h5's series and labels; each
# bootstrap band is ordered and (but for a few frames with few samples)
# holds the mean.
$PY - np1 <<'PY' && pass "phenotypes_profiles.csv: means and counts recomputed from phenotypes.h5" || fail "phenotypes_profiles.csv content"
import sys, csv, h5py, numpy as np
d = sys.argv[1]
f = h5py.File(d + '/phenotypes.h5', 'r')
v, off, lab = f['velocity/values'][:].ravel(), f['velocity/offsets'][:], f['phenotype'][:]
rows = list(csv.DictReader(open(d + '/phenotypes_profiles.csv')))
assert rows and list(rows[0]) == ['phenotype', 'frame', 'mean_velocity_nm_s', 'band_low', 'band_high', 'samples'], list(rows[0])
got = {(int(float(r['phenotype'])), int(float(r['frame']))): r for r in rows}
want = {}
for i, p in enumerate(lab):
    if p < 0: continue
    for t, x in enumerate(v[off[i]:off[i + 1]]):
        s, n = want.get((p, t - 5), (0.0, 0))
        want[(p, t - 5)] = (s + float(x), n + 1)
assert set(got) == set(want), (len(got), len(want))
inside = 0
for k, (s, n) in want.items():
    r = got[k]
    assert int(float(r['samples'])) == n, (k, r['samples'], n)
    assert abs(float(r['mean_velocity_nm_s']) - s / n) <= 1e-5 * max(1.0, abs(s / n)), (k, r, s / n)
    assert float(r['band_low']) <= float(r['band_high']), (k, r)
    inside += float(r['band_low']) <= s / n + 1e-9 and s / n - 1e-9 <= float(r['band_high'])
assert inside >= 0.9 * len(want), (inside, len(want))
print(len(set(p for p, _ in want)), 'phenotypes,', len(want), 'profile points,', inside, 'bands hold their mean')
PY

# Two paired experiments (the cells split by parity) on a planted latent: each
# planted phenotype a well-separated cloud, experiment 1's shifted (a batch
# effect well below the clouds' spacing), so each experiment's communities
# are the planted phenotypes in an arbitrary order. By default they are
# matched to one set — every phenotype holds the same planted phenotype in
# both experiments (ARI ≥ 0.9 over both); with phenotype.match_experiments =
# false each experiment's are numbered apart (disjoint sets). In mexp_new
# experiment 1's accelerating cloud moves to a place no experiment-0
# phenotype is (a phenotype a drug makes in one experiment only): with four
# communities on each side it must become a fifth phenotype, not be forced
# onto experiment 0's accelerating one.
for d in mexp mexp_apart mexp_new; do
  mkdir -p "$d/student"; cp np1/teacher.h5 "$d/"
  $PY - np1/denoised.h5 "$d" <<'PY'
import sys, shutil, h5py, numpy as np
src, d = sys.argv[1], sys.argv[2]
shutil.copy(src, d + '/denoised.h5')
with h5py.File(d + '/denoised.h5', 'r+') as f:
    e = f['cell_id'][:] % 2
    f['experiment'][...] = e
    t = f['truth/phenotype'][:]
rng = np.random.default_rng(3)
kind = np.where(t < 0, rng.integers(0, 4, t.size), np.where(t == 4, 1, t))
z = rng.normal(0, 0.5, (t.size, 30))
z[np.arange(t.size), kind] += 6.0
z[:, 10] += 1.5 * e  # the batch effect
if d.endswith('mexp_new'):
    moved = (kind == 3) & (e == 1)
    z[moved, 3] -= 6.0
    z[moved, 4] += 6.0
with h5py.File(d + '/student/latent.h5', 'w') as g:
    g['features'] = z.astype(np.float32)
PY
done
edge 2 mexp phenotype
edge 2 mexp_apart phenotype --set phenotype.match_experiments=false
$PY - <<'PY' && pass "two paired experiments: phenotypes matched across them (ARI vs planted over both >= 0.9); apart, disjoint" || fail "phenotypes across paired experiments"
import h5py, numpy as np
from sklearn.metrics import adjusted_rand_score as ari
def load(d):
    f = h5py.File(d + '/phenotypes.h5', 'r')
    return f['phenotype'][:], f['experiment'][:], np.where(f['truth/phenotype'][:] == 4, 1, f['truth/phenotype'][:])
p, e, t = load('mexp')
m = (p >= 0) & (t >= 0)
score = ari(list(p[m]), list(t[m]))
assert score >= 0.9, score
assert set(p[(p >= 0) & (e == 0)]) == set(p[(p >= 0) & (e == 1)]), (set(p[e == 0]), set(p[e == 1]))
pa, ea, _ = load('mexp_apart')
assert not set(pa[(pa >= 0) & (ea == 0)]) & set(pa[(pa >= 0) & (ea == 1)])
print('ARI over both experiments', round(score, 3), 'phenotypes', sorted(set(p[p >= 0])))
PY
edge 2 mexp_new phenotype
$PY - <<'PY' && pass "two paired experiments: a phenotype of one experiment only stays its own (ARI >= 0.9 with it as a fifth)" || fail "a phenotype of one experiment only was merged"
import h5py, numpy as np
from collections import Counter
from sklearn.metrics import adjusted_rand_score as ari
f = h5py.File('mexp_new/phenotypes.h5', 'r')
p, e, t = f['phenotype'][:], f['experiment'][:], np.where(f['truth/phenotype'][:] == 4, 1, f['truth/phenotype'][:])
t = np.where((t == 3) & (e == 1), 5, t)
m = (p >= 0) & (t >= 0)
def majority(sel): return Counter(p[m & sel]).most_common(1)[0][0]
assert majority((t == 3) & (e == 0)) != majority(t == 5), 'accelerating of experiment 1 merged into experiment 0'
for k in (0, 1, 2):
    assert majority((t == k) & (e == 0)) == majority((t == k) & (e == 1)), k
score = ari(t[m], p[m])
assert score >= 0.9, score
print('ARI with the fifth phenotype', round(score, 3), 'phenotypes', sorted(set(p[p >= 0])))
PY
# A deck naming a phenotype this run did not find (numbers come from the data) is told so.
out=$(run_np 2 edge phenotype -c "$DECK" "${TINY[@]}" --set run.output_dir=mexp_new --set 'phenotype.subcluster=[0, 9]' 2>&1)
if grep -q "phenotype.subcluster names phenotype 9, but this run found 5 (0..4)" <<<"$out"; then
  pass "phenotype.subcluster naming a phenotype not found: warned"
else fail "phenotype.subcluster = [0, 9]: no warning: $(grep -i 'warn\|error' <<<"$out")"; fi
# A phenotype of some experiments only that is a sub-cluster of another
# phenotype elsewhere (methods.md §3.4, phenotype.join_partial). On mexp's
# planted latent a sub-cloud S of bursting sits 8 units off along its own
# axis: in experiment 0 it has 8 samples, too few for a community of its own
# (phenotype.min_community_size = 15), so it stays in bursting's and the deep
# sub-clustering cuts it out there; in experiment 1 it has up to 40 and is a
# community, left over by the matching as a new phenotype. Joined (default),
# experiment 1's S lands in bursting's phenotype and in the deep phenotype of
# experiment 0's S, with a log line; with phenotype.join_partial = false it
# stays a phenotype of its own.
for d in mjoin mjoin_apart; do
  mkdir -p "$d/student"; cp mexp/teacher.h5 mexp/denoised.h5 "$d/"
  $PY - "$d" <<'PY'
import sys, h5py, numpy as np
d = sys.argv[1]
with h5py.File(d + '/denoised.h5', 'r') as f:
    e, t = f['experiment'][:], f['truth/phenotype'][:]
    n = f['velocity/offsets'][:]
long = np.diff(n) >= 30  # phenotype.min_frames of TINY
rng = np.random.default_rng(3)
kind = np.where(t < 0, rng.integers(0, 4, t.size), np.where(t == 4, 1, t))
z = rng.normal(0, 0.5, (t.size, 30))
z[np.arange(t.size), kind] += 6.0
z[:, 10] += 1.5 * e
s = np.zeros(t.size, int)
b0, b1 = np.flatnonzero((kind == 1) & (e == 0) & long), np.flatnonzero((kind == 1) & (e == 1) & long)
assert b0.size >= 30 and b1.size >= 36, (b0.size, b1.size)
s[b0[:8]] = 1
s[b1[:min(40, b1.size // 2)]] = 2
z[s > 0, 5] += 8.0
np.save(d + '/planted_s.npy', s)
with h5py.File(d + '/student/latent.h5', 'w') as g:
    g['features'] = z.astype(np.float32)
PY
done
joinlog=$(run_np 2 edge phenotype -c "$DECK" "${TINY[@]}" --set run.output_dir=mjoin --set phenotype.min_community_size=15 2>&1) ||
  fail "edge phenotype on mjoin: $joinlog"
edge 2 mjoin_apart phenotype --set phenotype.min_community_size=15 --set phenotype.join_partial=false
$PY - <<'PY' && grep -q "(found in paired experiments 1 only) join deep phenotype" <<<"$joinlog" &&
import h5py, numpy as np
from collections import Counter
def load(d):
    f = h5py.File(d + '/phenotypes.h5', 'r')
    return f['phenotype'][:], f['deep_phenotype'][:], f['experiment'][:], np.load(d + '/planted_s.npy')
def majority(x): return Counter(x).most_common(1)[0][0]
p, dp, e, s = load('mjoin')
pa, dpa, _, _ = load('mjoin_apart')
# Apart: experiment 1's S is a phenotype found in experiment 1 only.
own = majority(pa[s == 2])
assert own not in set(pa[(e == 0) & (pa >= 0)]), 'apart: S of experiment 1 is not a phenotype of its own'
assert majority(pa[s == 1]) != own
# Joined: S of both experiments is one deep phenotype (≥ 90 % of each), inside the phenotype of experiment 0's S.
d1, d2 = majority(dp[s == 1]), majority(dp[s == 2])
assert d1 == d2, (d1, d2)
assert np.mean(dp[s == 1] == d1) >= 0.9 and np.mean(dp[s == 2] == d1) >= 0.9
assert majority(p[s == 2]) == majority(p[s == 1]), 'joined S not in the phenotype of experiment 0 S'
assert len(set(p[p >= 0])) == len(set(pa[pa >= 0])) - 1, (sorted(set(p)), sorted(set(pa)))
print('S of experiment 1 joined deep phenotype', d1, 'of phenotype', majority(p[s == 1]), '; apart its own phenotype', own)
PY
  pass "a phenotype of one experiment only joins the sub-cluster it is in the other (apart with join_partial = false)" ||
  fail "phenotype.join_partial: $(grep 'join\|phenotypes' <<<"$joinlog" | tail -3)"
# phenotype.max_deep above a phenotype's size: K stops at n − 1 (was: a
# k-means error naming neither deck key). mjoin_apart's phenotype S holds at
# most 40 samples; sub-clustered from 4 samples on with up to 60 deep
# phenotypes, the stage runs and S gets at most n − 1 of them.
cp -r mjoin_apart mjoin_k
edge 2 mjoin_k phenotype --set phenotype.min_community_size=15 --set phenotype.join_partial=false \
  --set phenotype.min_subcluster_samples=4 --set phenotype.max_deep=60 --set phenotype.min_silhouette=-1
$PY - <<'PY' && pass "phenotype.max_deep above a phenotype's size: K up to n - 1" || fail "phenotype.max_deep above a phenotype's size"
import h5py, numpy as np
f = h5py.File('mjoin_k/phenotypes.h5', 'r')
p, dp, s = f['phenotype'][:], f['deep_phenotype'][:], np.load('mjoin_k/planted_s.npy')
own = np.bincount(p[s == 2]).argmax()
n = int(np.sum(p == own))
assert 4 <= n <= 60, n
k = len(set(dp[p == own]))
assert 2 <= k <= n - 1, (n, k)
print('phenotype of', n, 'samples: ', k, 'deep phenotypes')
PY
# Numbered apart, an experiment's stats table lists only its own phenotypes:
# another experiment's would be 0 -> 0 rows and widen the Holm family.
edge 2 mexp_apart stats
$PY - <<'PY' && pass "stats per experiment: only the experiment's own phenotypes are rows" || fail "stats rows of phenotypes absent from an experiment"
import csv, h5py, collections
f = h5py.File('mexp_apart/phenotypes.h5', 'r')
own = collections.defaultdict(set)
for q, x in zip(f['phenotype'][:], f['experiment'][:]):
    if q >= 0: own[str(x)].add(str(q))
rows = collections.defaultdict(set)
for r in csv.DictReader(open('mexp_apart/stats.csv')):
    rows[(r['experiment'], r['treatment'])].add(r['phenotype'])
assert rows and all(got == own[e] for (e, _), got in rows.items()), (dict(rows), dict(own))
PY
# A paired experiment numbered by date (not 0..E-1), and a condition skipped
# for its single cell that alone has a phenotype: the contrasts under the
# experiment's own id, and no row of that phenotype (it would be 0 -> 0 and
# widen the Holm family).
mkdir -p mexp_dates && cp np1/phenotypes.h5 mexp_dates/
$PY - <<'PY'
import h5py, numpy as np
with h5py.File('mexp_dates/phenotypes.h5', 'r+') as f:
    e = f['experiment'][:]
    f['experiment'][...] = np.full_like(e, 20240115)
    conds = f.attrs['conditions']
    conds = (conds.decode() if isinstance(conds, bytes) else str(conds)).split()
    null = f['condition'][:] == conds.index('null')
    cells = f['cell_id'][:]
    cells[null] = cells[null].min()  # one cell: skipped at stats.min_cells = 2
    f['cell_id'][...] = cells
    p = f['phenotype'][:]
    p[null & (p >= 0)] = p.max() + 1  # a phenotype of that condition only
    f['phenotype'][...] = p
PY
edge 2 mexp_dates stats
$PY - <<'PY' && pass "stats: an experiment numbered by date; a skipped condition's own phenotype is no row" || fail "stats with dated experiments and a skipped condition's phenotype"
import csv, collections, h5py
f = h5py.File('mexp_dates/phenotypes.h5', 'r')
conds = f.attrs['conditions']
conds = (conds.decode() if isinstance(conds, bytes) else str(conds)).split()
want = collections.defaultdict(set)  # per experiment: the phenotypes of its conditions but null
for q, c, x in zip(f['phenotype'][:], f['condition'][:], f['experiment'][:]):
    if q >= 0 and conds[c] != 'null': want[str(x)].add(str(q))
got = collections.defaultdict(set)
for r in csv.DictReader(open('mexp_dates/stats.csv')):
    assert r['treatment'] != 'null', r
    got[r['experiment']].add(r['phenotype'])
assert set(got) == {'20240115'}, sorted(got)
assert got == want, (dict(got), dict(want))
PY

# --- 3. contracts ---------------------------------------------------------------------------
header=$(head -n 1 np1/phenotypes.csv)
if [ "$header" = "sample_id,cell_id,condition,teacher_cluster,phenotype,deep_phenotype" ]; then
  pass "phenotypes.csv header is the contract"
else
  fail "phenotypes.csv header: $header"
fi
rows=$(($(wc -l <np1/phenotypes.csv) - 1))
if [ "$rows" -eq "$samples" ]; then pass "phenotypes.csv: one row per sample"; else fail "phenotypes.csv: $rows rows for $samples samples"; fi
$PY - np1 <<'PY' && pass "stats.csv: both p definitions, Holm columns, pooled proportions match phenotypes.csv" || fail "stats.csv content"
import sys, csv, collections
d = sys.argv[1]
rows = list(csv.DictReader(open(d + '/stats.csv')))
assert rows and {'p_greater', 'p_less', 'p_greater_fraction', 'p_less_fraction', 'cohens_d'} <= set(rows[0])
samples = [s for s in csv.DictReader(open(d + '/phenotypes.csv')) if s['phenotype'] != '-1']  # -1: not phenotyped
count = collections.Counter((s['condition'], s['phenotype']) for s in samples)
total = collections.Counter(s['condition'] for s in samples)
def holm(p):  # Holm (1979), written out independently of src/ml/bootstrap.cpp
    order = sorted(range(len(p)), key=lambda i: p[i])
    out, running = [0.0] * len(p), 0.0
    for j, i in enumerate(order):
        running = max(running, min(1.0, (len(p) - j) * p[i]))
        out[i] = running
    return out
families = collections.defaultdict(list)
for r in rows:
    families[(r['experiment'], r['treatment'])].append(r)
for fam in families.values():
    expected = holm([float(r['p_greater']) for r in fam] + [float(r['p_less']) for r in fam])
    got = [float(r['p_greater_holm']) for r in fam] + [float(r['p_less_holm']) for r in fam]
    assert all(abs(a - b) < 1e-12 for a, b in zip(got, expected)), (got, expected)
for r in rows:
    R = float(r['replicates'])
    # (1 + #)/(1 + R) against #/R: the same count behind both.
    assert abs(float(r['p_greater']) - (1 + R * float(r['p_greater_fraction'])) / (1 + R)) < 1e-9
    for side, name in (('control', r['control']), ('treatment', r['treatment'])):
        expected = count[(name, r['phenotype'])] / total[name]
        assert abs(float(r[side + '_proportion']) - expected) < 1e-12, (r, expected)
        assert float(r[side + '_ci_low']) <= float(r[side + '_proportion']) <= float(r[side + '_ci_high']), (side, r)
# One bootstrap per experiment: the control's interval is the same in every contrast against it.
control_ci = collections.defaultdict(set)
for r in rows:
    control_ci[(r['experiment'], r['phenotype'])].add((r['control_ci_low'], r['control_ci_high']))
assert all(len(v) == 1 for v in control_ci.values()), control_ci
PY

# Cell-group contrasts: each condition's fraction of cells per cell group, as
# cells_groups.csv counts them, every treatment against the control.
$PY - np1 <<'PY' && pass "cells_contrasts.csv: fractions of cells per group match cells_groups.csv" || fail "cells_contrasts.csv content"
import sys, csv
d = sys.argv[1]
fraction = {(r['condition'], int(float(r['cell_group']))): float(r['fraction']) for r in csv.DictReader(open(d + '/cells_groups.csv'))}
cells = {}
for r in csv.DictReader(open(d + '/cells.csv')):
    cells[r['condition']] = cells.get(r['condition'], 0) + 1
rows = list(csv.DictReader(open(d + '/cells_contrasts.csv')))
treatments = {r['treatment'] for r in rows}
assert rows and treatments == set(cells) - {rows[0]['control']}, (treatments, cells)
for r in rows:
    g = int(float(r['cell_group']))
    for side in ('control', 'treatment'):
        assert abs(float(r[side + '_proportion']) - fraction.get((r[side], g), 0.0)) < 1e-12, (side, r)
        assert int(float(r[side + '_cells'])) == cells[r[side]], (side, r)
print(len(rows), 'contrast rows')
PY

# --- report: postprocess/edge_report.py on the chain above ---------------------------------
# Every figure the issue asks for is written (a PNG per movie's velocity map);
# the silhouette plot draws teacher.h5:/silhouette, edge teacher's per-sample
# values, which equal scikit-learn's silhouette_samples on scikit-learn's
# nan_euclidean distances of /acf; their mean is the teacher's (exact at this size).
report_runs "edge report on the chain" edge_report.py np1
$PY - np1 <<'PY' && pass "report: every figure; teacher's silhouettes = scikit-learn's, mean = edge teacher's" || fail "edge report content"
import sys, os, glob, h5py, numpy as np
from sklearn.metrics import silhouette_samples
from sklearn.metrics.pairwise import nan_euclidean_distances
d = sys.argv[1]
for name in ('teacher_sweep', 'teacher_silhouette', 'teacher_profiles', 'phenotype_profiles', 'tsne', 'tsne_density',
             'proportions', 'cells_umap'):
    assert open(f'{d}/figures/{name}.png', 'rb').read(8) == b'\x89PNG\r\n\x1a\n', name
movies = sorted(os.path.basename(m)[:-3] for m in glob.glob(d + '/windows/*.h5'))
maps = sorted(os.path.basename(m)[:-4] for m in glob.glob(d + '/figures/velocity_maps/*.png'))
assert movies and maps == movies, (movies, maps)
report = open(d + '/report.md').read()
for needle in ('figures/velocity_maps/', 'figures/teacher_silhouette.png', 'figures/tsne_density.png',
               'figures/proportions.png', 'with their bootstrap percentile intervals', 'teacher.h5:/silhouette'):
    assert needle in report, needle
with h5py.File(d + '/teacher.h5', 'r') as f:
    acf, labels, ours = f['acf'][()].astype(float), f['labels'][()], float(f.attrs['silhouette'])
    s = f['silhouette'][()]
assert s.shape == labels.shape and np.isfinite(s).all()
peer = silhouette_samples(nan_euclidean_distances(acf), labels, metric='precomputed')
assert np.abs(s - peer).max() < 1e-6, np.abs(s - peer).max()  # float64 rounding of two distance formulas
assert abs(s.mean() - ours) < 1e-12, (s.mean(), ours)
print(len(movies), 'velocity maps; silhouette', round(ours, 4), 'over', len(labels), 'samples')
PY

# --- 4. imported series alone ------------------------------------------------------------------
$PY - <<'PY'
import math, random
random.seed(5)
with open('long.csv', 'w') as f, open('wide.csv', 'w') as g:
    f.write('sample_id,frame,velocity\n')
    g.write('sample_id,' + ','.join('v%d' % j for j in range(56)) + '\n')
    for s in range(120):
        kind = s % 3
        n = 30 + (s * 7) % 27
        v = [(-2.0 if t < 5 else [1.0, 1.0 + 2 * math.sin(2 * math.pi * t / 20), 0.1 * t][kind]) + random.gauss(0, 0.2)
             for t in range(n)]
        for t, x in enumerate(v):
            f.write('%d,%d,%.4f\n' % (1000 + s, t, x))
        g.write('%d,' % (1000 + s) + ','.join('%.4f' % x for x in v) + ',' * (56 - n) + '\n')
PY
# imp_long starts with a previous run's scoring table of the simulated data:
# phenotype retires its whole output set before writing, so a table this run
# (without truth) does not write cannot be read beside its results.
mkdir -p imp_long && cp np1/phenotypes_truth.csv imp_long/
for layout in long wide; do
  edge 2 "imp_$layout" import --input "$layout.csv"
  for stage in denoise teacher student phenotype; do edge 2 "imp_$layout" "$stage"; done
  if [ -s "imp_$layout/phenotypes.csv" ] && [ "$(sed -n 2p "imp_$layout/phenotypes.csv" | cut -d, -f1-3)" = "1000,-1,all" ]; then
    pass "import ($layout) -> teacher -> student -> phenotype on series alone (sample_id as imported)"
  else
    fail "import ($layout): phenotypes.csv missing or wrong: $(sed -n 2p "imp_$layout/phenotypes.csv" 2>/dev/null)"
  fi
done
same_datasets imp_long/events.h5 imp_wide/events.h5 /velocity/values /velocity/offsets /sample_id
# sample_id and cell_id as text (a column of ids that are not all integers
# holds names): written back as imported — "007" beside "7", a name with a
# comma (quoted) — and every label is what the numbered series got.
$PY - <<'PY'
import csv
name = lambda s: {'1005': 'A01, ev 5', '1010': '007', '1011': '7'}.get(s, 'ev-' + s)
with open('long.csv') as f, open('text.csv', 'w', newline='') as g:
    w = csv.writer(g)
    w.writerow(['sample_id', 'frame', 'velocity', 'cell_id'])
    for r in list(csv.reader(f))[1:]:
        w.writerow([name(r[0]), r[1], r[2], 'NA' if r[0] == '1119' else 'c%d' % ((int(r[0]) - 1000) // 10)])
PY
edge 2 imp_text import --input text.csv
for stage in denoise teacher student phenotype; do edge 2 imp_text "$stage"; done
$PY - <<'PY' && pass "import: text sample_id and cell_id written back as imported; teacher and phenotypes as numbered" || fail "import with text ids"
import csv, h5py
name = lambda s: {'1005': 'A01, ev 5', '1010': '007', '1011': '7'}.get(s, 'ev-' + s)
rows = lambda f: list(csv.DictReader(open(f)))
a, b = rows('imp_long/teacher.csv'), rows('imp_text/teacher.csv')
assert [dict(r, sample_id=name(r['sample_id'])) for r in a] == b, (a[:6], b[:6])
a, b = rows('imp_long/phenotypes.csv'), rows('imp_text/phenotypes.csv')
cell = lambda s: '-1' if s == '1119' else 'c%d' % ((int(s) - 1000) // 10)
assert [dict(r, sample_id=name(r['sample_id']), cell_id=cell(r['sample_id'])) for r in a] == b, (a[:6], b[:6])
assert '"A01, ev 5",c0,' in open('imp_text/phenotypes.csv').read()
with h5py.File('imp_text/teacher.h5', 'r') as f:
    v, o = f['sample_name/values'][:, 0], f['sample_name/offsets'][:]
    assert [bytes(v[o[i]:o[i + 1]]).decode() for i in range(len(o) - 1)] == [r['sample_id'] for r in b]
print(len(b), 'samples; e.g.', b[5]['sample_id'], b[10]['sample_id'], b[11]['sample_id'])
PY
if [ -e imp_long/phenotypes_truth.csv ]; then fail "phenotype left the previous run's phenotypes_truth.csv"
else pass "phenotype retired the previous run's phenotypes_truth.csv (not written without truth)"; fi
report_runs "edge report on imported series (no movies, cells or conditions)" edge_report.py imp_long
if grep -q "Velocity maps: not run" imp_long/report.md && grep -q "Statistics: not run" imp_long/report.md; then
  pass "edge report on imported series: the stages that did not run are said so"
else fail "edge report on imported series: $(grep -c 'not run' imp_long/report.md) 'not run' lines"; fi
# A teacher above the silhouette's exact limit keeps only its sample's values
# (NaN elsewhere): the plot draws those, and says so; a teacher.h5 from before
# /silhouette gets a note, not a failure.
for case in sampled old; do
  mkdir -p "sil_$case" && cp imp_long/teacher.h5 imp_long/teacher_sweep.csv "sil_$case/"
done
$PY - <<'PY'
import h5py, numpy as np
with h5py.File("sil_sampled/teacher.h5", "r+") as f:
    s = f["silhouette"][()]
    s[::2] = np.nan  # every other sample not drawn
    f["silhouette"][...] = s
with h5py.File("sil_old/teacher.h5", "r+") as f:
    del f["silhouette"]
PY
report_runs "edge report, sampled teacher silhouettes" edge_report.py sil_sampled
n=$($PY -c "import h5py; print(h5py.File('sil_sampled/teacher.h5','r')['labels'].shape[0])")
if grep -q "the $(( n / 2 )) of the $n samples edge teacher drew" sil_sampled/report.md \
   && "$PY" "$SRC/postprocess/edge_report.py" sil_old >/dev/null 2>&1 && grep -q "has no /silhouette: it predates it" sil_old/report.md; then
  pass "edge report: sampled silhouettes drawn as such; a teacher.h5 without /silhouette noted"
else fail "edge report with sampled or missing teacher silhouettes"; fi

# Velocity maps windowed elsewhere: np1's maps written out as a numpy.savetxt-like
# CSV (windows x frame intervals, no header, gaps as nan) and as an HDF5
# dataset in the transposed (MATLAB) layout, imported, then edge events: the
# same samples as from edge window's own maps (no truth: scoring only).
$PY - np1 <<'PY'
import sys, csv, os, h5py, numpy as np
d = sys.argv[1]
os.makedirs('foreign', exist_ok=True)
movies = list(csv.DictReader(open(d + '/windows/movies.csv')))
with open('foreign/maps_csv.csv', 'w') as a, open('foreign/maps_h5.csv', 'w') as b:
    a.write('movie,cell_id,condition,experiment\n'); b.write('movie,cell_id,condition,experiment\n')
    for m in movies:
        v = h5py.File(d + '/windows/' + m['movie'], 'r')['velocity'][()][:, 1:]  # frame 0 has no velocity
        stem = m['movie'][:-3]
        with open(f'foreign/{stem}.csv', 'w') as f:
            for row in v:
                f.write(','.join(repr(float(x)) for x in row) + '\n')
        with h5py.File(f'foreign/{stem}.h5', 'w') as f:  # float32 and float64 maps, by turns
            f['maps/v'] = v.T.astype(np.float64 if int(m['cell_id']) % 2 else np.float32)
        a.write(f"{stem}.csv,{m['cell_id']},{m['condition']},{m['experiment']}\n")
        # the HDF5 maps' table names its cells and experiments (in the order of the numbers)
        b.write(f"{stem}.h5,cell A{int(m['cell_id']):02d},{m['condition']},plate {m['experiment']}\n")
PY
edge 2 maps_csv import-maps --input foreign/maps_csv.csv --set window.frame_s=2 --set maps.frame_s=5
edge 2 maps_h5 import-maps --input foreign/maps_h5.csv --set maps.dataset=/maps/v --set maps.layout=frames-by-windows
for dir in maps_csv maps_h5; do
  edge 3 "$dir" events
  # (h5diff compares attributes too: maps_h5's /cell_id has its names; its values are compared below)
  same_datasets np1/events.h5 "$dir/events.h5" /velocity/values /velocity/offsets /sample_id /condition /window /onset_frame
done
same_datasets np1/events.h5 maps_csv/events.h5 /cell_id
$PY - <<'PY' && pass "import-maps: cell and experiment names of the table kept (maps, movies.csv, events.h5)" || fail "import-maps: named cells"
import csv, h5py
rows = list(csv.DictReader(open('maps_h5/windows/movies.csv')))
assert [r['cell_id'] for r in rows] == ['cell A%02d' % k for k in range(len(rows))], rows[:2]
assert {r['experiment'] for r in rows} == {'plate 0'}, rows[:2]
m = h5py.File('maps_h5/windows/' + rows[1]['movie'], 'r').attrs
assert m['cell_id'] == 1 and m['cell_name'] in ('cell A01', b'cell A01'), dict(m)
f = h5py.File('maps_h5/events.h5', 'r')
assert (f['cell_id'][:] == h5py.File('np1/events.h5', 'r')['cell_id'][:]).all()  # numbered in the table's order
names = lambda a: (a.decode() if isinstance(a, bytes) else str(a)).split('\n')
assert names(f['cell_id'].attrs['names']) == ['cell A%02d' % k for k in range(len(rows))]
assert names(f['experiment'].attrs['names']) == ['plate 0']
PY
if $PY -c "import h5py, sys; sys.exit(0 if 'truth' not in h5py.File('maps_h5/events.h5', 'r') else 1)"; then
  pass "import-maps: no planted truth is attached to maps from elsewhere"
else fail "import-maps: events.h5 of imported maps carries /truth"; fi
# Maps of other movies in a directory that holds a simulation: its truth.h5
# is not attached by default (cells would be matched by id alone).
mkdir -p other_maps/movies && cp np1/movies/truth.h5 np1/movies/movies.csv other_maps/movies/
awk -F, 'NR == 1 {print; next} {OFS = ","; $2 = $2 + 100; print}' foreign/maps_csv.csv >foreign/other_table.csv
edge 1 other_maps import-maps --input foreign/other_table.csv --set maps.frame_s=5
out=$(run_np 1 edge events -c "$DECK" "${TINY[@]}" --set run.output_dir=other_maps 2>&1)
if grep -q "truth.h5 not used: the velocity maps in" <<<"$out" &&
   $PY -c "import h5py, sys; sys.exit(0 if 'truth' not in h5py.File('other_maps/events.h5', 'r') else 1)"; then
  pass "events: a simulation's truth.h5 is not attached to maps of other movies"
else fail "events: truth.h5 attached to maps of other movies: $out"; fi
# Bad maps: a row of another length, a header row not declared, a missing dataset, integer velocities: one error line each, no movies.csv.
mkdir -p foreign/bad && printf 'movie,cell_id,condition\nragged.csv,0,DMSO\n' >foreign/bad/ragged_table.csv
printf '1,2,3\n4,5\n' >foreign/bad/ragged.csv
expect_error "import-maps: a ragged CSV map" "ragged.csv:2: expected 3 fields as in the first row, found 2" 2 \
  edge import-maps -c "$DECK" --input foreign/bad/ragged_table.csv --set run.output_dir=bad_maps
# A condition left empty would be lost from the names stored one per line.
printf 'movie,cell_id,condition\nragged.csv,0,DMSO\nheader.csv,1,\n' >foreign/bad/nocond_table.csv
expect_error "import-maps: a movie without a condition" "nocond_table.csv:3: column 'condition' is empty; expected a name" 2 \
  edge import-maps -c "$DECK" --input foreign/bad/nocond_table.csv --set run.output_dir=bad_maps
printf 'movie,cell_id,condition\nheader.csv,0,DMSO\n' >foreign/bad/header_table.csv
printf 'f0,f1,f2\n1,2,3\n' >foreign/bad/header.csv
expect_error "import-maps: an undeclared header row" "header.csv:1: column 1: expected a velocity in nm/s within the 32-bit float range (empty, nan, NA or another missing-value spelling: a gap), found 'f0'; if the first row is a header, set maps.header = true" 2 \
  edge import-maps -c "$DECK" --input foreign/bad/header_table.csv --set run.output_dir=bad_maps
# A velocity beyond float32 would be stored as inf; pandas' missing-value
# spellings are gaps (the error names the 1e39, not the N/A before it).
printf '1,N/A,3\n4,#N/A,1e39\n' >foreign/bad/header.csv
expect_error "import-maps: a velocity beyond the float range" "header.csv:2: column 3: expected a velocity in nm/s within the 32-bit float range" 2 \
  edge import-maps -c "$DECK" --input foreign/bad/header_table.csv --set run.output_dir=bad_maps
# numpy.savetxt(header=...) comments its header out: the first window is not a header.
printf '# f0 f1 f2\n1.5,-2,3\n4,5,6\n' >foreign/bad/header.csv
expect_error "import-maps: a header of velocities" "header.csv: maps.header = true but the header row is velocities ('1.5', ...), not column names" 2 \
  edge import-maps -c "$DECK" --input foreign/bad/header_table.csv --set run.output_dir=bad_maps --set maps.header=true
# pandas' to_csv(index=True) adds its index column under an empty header cell.
printf ',0,1,2\n0,1.5,-2,3\n1,4,5,6\n' >foreign/bad/header.csv
expect_error "import-maps: pandas' index column" "header.csv: the header's first cell is empty, as pandas writes its index column" 2 \
  edge import-maps -c "$DECK" --input foreign/bad/header_table.csv --set run.output_dir=bad_maps --set maps.header=true
# A velocity row with a gap is not a header either.
printf '1.5,,3\n1.5,-2,3\n4,5,6\n' >foreign/bad/header.csv
expect_error "import-maps: a header of velocities with a gap" "header.csv: maps.header = true but the header row is velocities ('1.5', ...)" 2 \
  edge import-maps -c "$DECK" --input foreign/bad/header_table.csv --set run.output_dir=bad_maps --set maps.header=true
# pandas' to_csv(index=False) heads the columns 0, 1, 2: names, not a window;
# so are frame times as printed (1/30 s rounded to 3 places).
printf '0,1,2\n1.5,-2,3\n4,5,6\n' >foreign/bad/pandas.csv && printf '0,0.033,0.067,0.1\n1.5,-2,3,1\n' >foreign/bad/times.csv
printf 'movie,cell_id,condition\npandas.csv,0,DMSO\ntimes.csv,1,DMSO\n' >foreign/bad/pandas_table.csv
edge 1 pandas_maps import-maps --input foreign/bad/pandas_table.csv --set maps.header=true
if $PY -c "import h5py, sys; v = [h5py.File(f'pandas_maps/windows/{m}.h5', 'r')['velocity'].shape for m in ('pandas', 'times')]; sys.exit(0 if v == [(2, 4), (1, 5)] else 1)"; then
  pass "import-maps: a header of column indices or frame times is a header"
else fail "import-maps: pandas' column indices or frame times not read as a header"; fi
expect_error "import-maps: a missing HDF5 dataset" "cell_0000.h5:/velocity: missing; expected the velocity map (maps.dataset)" 2 \
  edge import-maps -c "$DECK" --input foreign/maps_h5.csv --set run.output_dir=bad_maps
$PY -c "import h5py, numpy as np; h5py.File('foreign/bad/int.h5', 'w')['velocity'] = np.zeros((3, 9), np.int16)"
printf 'movie,cell_id,condition\nint.h5,0,DMSO\n' >foreign/bad/int_table.csv
expect_error "import-maps: an integer HDF5 map" "int.h5:/velocity: expected dtype float32 or float64, found int16" 2 \
  edge import-maps -c "$DECK" --input foreign/bad/int_table.csv --set run.output_dir=bad_maps
if [ ! -e bad_maps/windows/movies.csv ]; then pass "import-maps: no movies.csv after a failure"; else fail "import-maps left bad_maps/windows/movies.csv"; fi
# A failed rerun over a finished one: the earlier movies.csv goes first, so
# no table names a mix of old and new maps.
edge 1 rerun_maps import-maps --input foreign/maps_csv.csv --set maps.frame_s=5
expect_error "import-maps: a failed rerun" "ragged.csv:2: expected 3 fields" 1 \
  edge import-maps -c "$DECK" --input foreign/bad/ragged_table.csv --set run.output_dir=rerun_maps
if [ ! -e rerun_maps/windows/movies.csv ]; then pass "import-maps: a failed rerun leaves no movies.csv of the earlier run"
else fail "import-maps: a failed rerun left the earlier movies.csv"; fi
# Two maps that would be written to one file, and a map that would overwrite its own source.
mkdir -p foreign/bad/sub && cp foreign/bad/ragged.csv foreign/bad/sub/ragged.csv
printf 'movie,cell_id,condition\nragged.csv,0,DMSO\nsub/ragged.csv,1,DMSO\n' >foreign/bad/twice_table.csv
expect_error "import-maps: two maps to one file" "movies 'ragged.csv' and 'sub/ragged.csv' would both be written to" 2 \
  edge import-maps -c "$DECK" --input foreign/bad/twice_table.csv --set run.output_dir=bad_maps
mkdir -p self_maps/windows && cp foreign/cell_0000.h5 self_maps/windows/ && printf 'movie,cell_id,condition\ncell_0000.h5,0,DMSO\n' >self_maps/windows/maps.csv
expect_error "import-maps: a map over its own source" "would be overwritten by its own velocity map" 2 \
  edge import-maps -c "$DECK" --input self_maps/windows/maps.csv --set run.output_dir=self_maps --set maps.dataset=/maps/v
# window.output in the movies' own directory: its movies.csv would replace the movie table.
expect_error "window: output over the movie table" "movies.csv would replace the table of movies" 2 \
  edge window -c "$DECK" "${TINY[@]}" --set run.output_dir=np1 --set window.output=movies
if [ -s np1/movies/movies.csv ] && head -1 np1/movies/movies.csv | grep -q '^movie,condition,cell_id'; then
  pass "window: the movie table is left as it was"
else fail "window: np1/movies/movies.csv lost or changed"; fi
# A planted-truth file whose datasets disagree: one error line naming the dataset, not map::at.
$PY - np1/movies/truth.h5 <<'PY'
import sys, shutil, h5py
shutil.copy(sys.argv[1], 'bad_truth.h5')
with h5py.File('bad_truth.h5', 'r+') as f:
    cells = f['event_cell'][()] + 10**6
    del f['event_cell']
    f['event_cell'] = cells
PY
expect_error "events: a truth file naming cells it has no sectors of" "bad_truth.h5:/event_cell: event 0 names cell" 2 \
  edge events -c "$DECK" "${TINY[@]}" --set run.output_dir=np1 --set events.output=bad_events.h5 --set events.truth="$PWD/bad_truth.h5"
# A wide CSV with a misspelt column inside v0..vN would cut every sample there.
sed '1s/,v18,/,v_18,/' wide.csv >wide_hole.csv
expect_error "import: a wide CSV with a gap in v0..vN" "wide_hole.csv: no column 'v18' but a column 'v55'" 2 \
  edge import -c "$DECK" "${TINY[@]}" --set run.output_dir=imp_hole --input wide_hole.csv
# A long CSV with a misspelt velocity column is named as such, not as a wide table without v0.
sed '1s/velocity/velocty/' long.csv >long_typo.csv
expect_error "import: a long CSV with a misspelt column" "no column 'velocity'" 2 \
  edge import -c "$DECK" "${TINY[@]}" --set run.output_dir=imp_typo --input long_typo.csv
expect_error "stats without cells" "need a cell_id column" 2 edge stats -c "$DECK" "${TINY[@]}" --set run.output_dir=imp_long
expect_deck_error "a reference contrast naming no teacher cluster" "student.reference_contrast[0] = 'VI': expected \"auto\" or a teacher cluster 0.." \
  2 edge student -c "$DECK" "${TINY[@]}" --set run.output_dir=np1 --set 'student.reference_contrast=["VI", "DMSO", "drug"]'
# A misspelt condition in a contrast: one error line (every rank fails alike), not one per rank.
expect_deck_error "a reference contrast naming no condition" "student.reference_contrast: condition 'Drug' is not in the data (DMSO, drug, null)" \
  2 edge student -c "$DECK" "${TINY[@]}" --set run.output_dir=np1 --set 'student.reference_contrast=["auto", "DMSO", "Drug"]'
# EMD stop criteria out of order were thrown inside an OpenMP loop: std::terminate, no error line.
expect_deck_error "denoise.stop out of order" "denoise.stop = [0.5, 0.05, 0.05]: expected 0 < sd1 <= sd2" \
  2 edge denoise -c "$DECK" "${TINY[@]}" --set run.output_dir=np1 --set 'denoise.stop=[0.5, 0.05, 0.05]'
expect_deck_error "an empty K grid" "teacher.neighbours is empty: give at least one neighbour count K" \
  2 edge teacher -c "$DECK" "${TINY[@]}" --set run.output_dir=np1 --set 'teacher.neighbours=[]'
expect_deck_error "a K grid with no K below the samples" "teacher.neighbours: every K is at least the" \
  2 edge teacher -c "$DECK" "${TINY[@]}" --set run.output_dir=np1 --set 'teacher.neighbours=[1000000]'
expect_deck_error "a ring kNN with partial distances" 'teacher.knn = "ring" measures Euclidean distances only' \
  2 edge teacher -c "$DECK" "${TINY[@]}" --set run.output_dir=np1 --set teacher.knn=ring
expect_deck_error "fewer landmarks than their votes" "teacher.landmarks = 3 drew" \
  2 edge teacher -c "$DECK" "${TINY[@]}" --set run.output_dir=np1 --set teacher.landmarks=3
expect_deck_error "a λ array index past student.lambdas" "student.lambda_index = 7 but student.lambdas has" \
  2 edge student -c "$DECK" "${TINY[@]}" --set run.output_dir=np1 --set student.lambda_index=7
expect_deck_error "a control naming no condition" "stats.control: condition 'dmso' is not in the data (DMSO, drug, null)" \
  2 edge stats -c "$DECK" "${TINY[@]}" --set run.output_dir=np1 --set stats.control=dmso

# --- 5. bad input ---------------------------------------------------------------------------------
mkdir -p bad
$PY - <<'PY'
import numpy as np
from PIL import Image
rng = np.random.default_rng(1)
def cell(size, blank=False):
    y, x = np.mgrid[:size, :size]
    img = 150 + (0 if blank else 3000) * ((x - size / 2) ** 2 + (y - size / 2) ** 2 < (size / 4) ** 2)
    return Image.fromarray((img + rng.normal(0, 10, img.shape)).clip(0, 65535).astype(np.uint16))
frames = [cell(64) for _ in range(5)]
frames[0].save('bad/sizes.tif', save_all=True, append_images=frames[1:3] + [cell(72)] + frames[3:])
frames[0].save('bad/empty.tif', save_all=True, append_images=frames[1:3] + [cell(64, blank=True)] + frames[3:])
for name in ('sizes', 'empty'):
    with open('bad/%s.csv' % name, 'w') as f:
        f.write('movie,cell_id,condition\n%s.tif,0,DMSO\n' % name)
PY
for name in sizes empty; do
  mkdir -p "bad/$name"; cp "bad/$name.tif" "bad/$name/"; cp "bad/$name.csv" "bad/$name/movies.csv"
done
# A drug effect on a misspelt condition would plant nothing, silently: refused before any movie is written.
expect_deck_error "an effect on a condition not simulated" "condition 'Drug' is not in simulate.conditions (DMSO, drug, null)" 2 \
  edge simulate -c "$DECK" "${TINY[@]}" --set run.output_dir=out_effect --set 'simulate.effects=["Drug:accelerating:0.10"]'
no_files "an effect on a condition not simulated" out_effect
expect_deck_error "an effect whose delta is not a number" "the delta '0.1x' is not a number" 2 \
  edge simulate -c "$DECK" "${TINY[@]}" --set run.output_dir=out_effect --set 'simulate.effects=["drug:accelerating:0.1x"]'
# Condition names are stored one per line (the HDF5 'conditions' attribute): a line break would split one in two.
expect_deck_error "a condition name with a line break" "simulate.conditions entry 2 is a name with a line break or another control character; expected a condition name on one line, without spaces around it" 2 \
  edge simulate -c "$DECK" "${TINY[@]}" --set run.output_dir=out_effect --set 'simulate.conditions=["DMSO", "dr\nug"]'
no_files "a condition name with a line break" out_effect
expect_deck_error "a condition name with spaces around it" "simulate.conditions entry 1 is ' DMSO', with spaces around it" 2 \
  edge simulate -c "$DECK" "${TINY[@]}" --set run.output_dir=out_effect --set 'simulate.conditions=[" DMSO", "drug"]'
no_files "a condition name with spaces around it" out_effect
expect_error "movie with frames of different sizes" "sizes.tif" 2 edge window -c "$DECK" --set window.input=bad/sizes --set run.output_dir=out_sizes
no_files "frames of different sizes" out_sizes
expect_error "a frame with no cell" "frame 3: no cell found" 2 edge window -c "$DECK" --set window.input=bad/empty --set run.output_dir=out_empty
no_files "frame with no cell" out_empty
# Velocity maps written by other tools: a frame interval of 0 and an /angle
# shorter than the windows are refused with the map's name, not later.
cp -r np1/windows badrate && cp -r np1/windows badangle
$PY - <<'PY'
import h5py
with h5py.File('badrate/cell_0004.h5', 'r+') as f:
    f.attrs['frame_s'] = 0.0
with h5py.File('badangle/cell_0004.h5', 'r+') as f:
    a = f['angle'][:]
    del f['angle']
    f['angle'] = a[:-1]
PY
expect_error "a velocity map with frame_s = 0" "cell_0004.h5: attribute frame_s = 0; expected a frame interval > 0 s" 2 \
  edge events -c "$DECK" --set events.input=badrate --set run.output_dir=out_badrate
no_files "a velocity map with frame_s = 0" out_badrate
expect_error "a velocity map with fewer angles than windows" "cell_0004.h5:/angle: " 2 \
  edge events -c "$DECK" --set events.input=badangle --set run.output_dir=out_badangle
no_files "a velocity map with fewer angles than windows" out_badangle
printf 'sample_id,frame\n1,0\n1,1\n' >missing.csv
printf 'sample_id,frame,velocity,experiment\n1,0,0.5,-1\n1,1,0.7,-1\n' >negexp.csv
expect_error "a negative experiment id" "negexp.csv:2: column 'experiment': expected an integer >= 0, found '-1'" 2 \
  edge import -c "$DECK" --input negexp.csv --set import.format=long --set run.output_dir=out_negexp
no_files "a negative experiment id" out_negexp
expect_deck_error "simulate.proportions all 0" "every proportion is 0; expected at least one > 0" 2 \
  edge simulate -c "$DECK" "${TINY[@]}" --set run.output_dir=out_zero --set 'simulate.proportions=[0, 0, 0, 0, 0]' \
  --set 'simulate.effects=[]'
no_files "simulate.proportions all 0" out_zero
expect_error "CSV without a velocity column" "missing.csv: no column 'velocity'" 2 edge import -c "$DECK" --input missing.csv --set import.format=long --set run.output_dir=out_missing
no_files "CSV with a missing column" out_missing
# The control (stats.control's default) is the condition of the file's first
# line, whatever the sample ids: here DMSO's sample 5 comes before drug's 1.
{ echo 'sample_id,frame,velocity,cell_id,condition'
  for t in $(seq 0 19); do echo "5,$t,1.$t,0,DMSO"; done; for t in $(seq 0 19); do echo "1,$t,0.$t,1,drug"; done; } >order.csv
edge 2 out_order import --input order.csv
$PY - <<'PY' && pass "import: conditions in the order of their first line (DMSO, the control, first)" || fail "import: condition order"
import h5py
c = h5py.File('out_order/events.h5', 'r').attrs['conditions']
c = (c.decode() if isinstance(c, bytes) else str(c)).split()
assert c == ['DMSO', 'drug'], c
PY
# The wide table melted to the long layout by pandas keeps its padding as
# rows of NaN after each shorter sample: they end the sample there, as in
# the wide layout, rather than skipping it as NaN at its end. The gaps are
# spelt as pandas reads missing values (nan, -nan, N/A, #N/A, NULL).
$PY - <<'PY'
import csv
rows = list(csv.reader(open('wide.csv')))
with open('long_padded.csv', 'w') as f:
    f.write('sample_id,frame,velocity\n')
    for r in rows[1:]:
        for t, x in enumerate(r[1:]):
            f.write('%s,%d,%s\n' % (r[0], t, x if x else ['nan', '-nan', 'N/A', '#N/A', 'NULL'][t % 5]))
PY
edge 2 imp_padded import --input long_padded.csv
same_datasets imp_long/events.h5 imp_padded/events.h5 /velocity/values /velocity/offsets /sample_id
# A sample_id column of integers that holds one other spelling holds names:
# "01000" is then a sample of its own (one frame, skipped as too short), not
# sample 1000's first frame.
sed '2s/^1000,/01000,/' long.csv >zero_id.csv
out=$(run_np 2 edge import -c "$DECK" --input zero_id.csv --set run.output_dir=out_zero_id 2>&1)
if grep -q "sample_id: 121 id(s) as names (line 2: '01000' is not a number)" <<<"$out" &&
   grep -q "120 samples of 121 in zero_id.csv (0 skipped: all NaN or NaN at the start; 1 skipped: shorter" <<<"$out"; then
  pass "import: a zero-padded sample_id makes the column names, and '01000' a sample apart from '1000'"
else fail "import: a zero-padded sample_id: $(grep 'edge import:' <<<"$out")"; fi
$PY - <<'PY' && pass "import: named samples numbered 0..N-1 over the samples kept, each with its name" || fail "import: named sample numbers"
import h5py
f = h5py.File('out_zero_id/events.h5', 'r')
v, o = f['sample_name/values'][:, 0], f['sample_name/offsets'][:]
assert list(f['sample_id'][:]) == list(range(120)), f['sample_id'][:5]
assert [bytes(v[o[i]:o[i + 1]]).decode() for i in range(120)] == [str(1000 + i) for i in range(120)]
PY
# Unknown cells as the pipeline writes them (-1) or pandas and R do (an
# empty field, NA, nan); rows of separators alone (cleared spreadsheet cells)
# are blank lines; 3.0 (pandas' integer column with gaps) is cell 3, and the
# column stays one of numbers.
{ echo 'sample_id,frame,velocity,cell_id,condition,window'
  for t in $(seq 0 19); do echo "5,$t,1.$t,-1,DMSO,"; done; echo ',,,,,'
  for t in $(seq 0 19); do echo "6,$t,0.$t,,DMSO,-1"; done; for t in $(seq 0 19); do echo "7,$t,0.$t,3,drug,4"; done
  for t in $(seq 0 19); do echo "8,$t,0.$t,NA,drug,nan"; done; for t in $(seq 0 19); do echo "9,$t,0.$t,3.0,drug,2"; done; } >unknown_cells.csv
edge 2 out_unknown_cells import --input unknown_cells.csv
$PY - <<'PY' && pass "import: -1, empty and NA cell_id and window read as unknown (-1); 3.0 is cell 3; a row of commas skipped" || fail "import: unknown cells"
import h5py
f = h5py.File('out_unknown_cells/events.h5', 'r')
assert list(f['sample_id'][:]) == [5, 6, 7, 8, 9], f['sample_id'][:]
assert list(f['cell_id'][:]) == [-1, -1, 3, -1, 3], f['cell_id'][:]
assert 'names' not in f['cell_id'].attrs and 'sample_name' not in f
assert list(f['window'][:]) == [-1, -1, 4, -1, 2], f['window'][:]
PY
printf 'sample_id,frame,velocity,Velocity\n1,0,0.5,0.7\n' >twice.csv
expect_error "import: a column given twice" "twice.csv: the header names column 'velocity' twice (columns 3 and 4); expected it once" 2 \
  edge import -c "$DECK" --input twice.csv --set run.output_dir=out_twice
no_files "import: a column given twice" out_twice
{ echo 'sample_id,frame,velocity'; for t in $(seq 0 19); do echo "1,$t,1.0"; done; echo "1,20,1e39"; } >huge.csv
expect_error "import: a velocity beyond the float range" \
  "huge.csv:22: column 'velocity': expected a velocity within the 32-bit float range (nm/s), found '1e39'" 2 \
  edge import -c "$DECK" --input huge.csv --set run.output_dir=out_huge
no_files "import: a velocity beyond the float range" out_huge
{ echo 'sample_id,frame,velocity'; for t in $(seq 0 30); do echo "7,$t,nan"; done; sed 1d long.csv; } >nan.csv
out=$(run_np 2 edge import -c "$DECK" --input nan.csv --set run.output_dir=out_nan 2>&1)
if grep -q "120 samples of 121 in nan.csv (1 skipped: all NaN" <<<"$out"; then pass "all-NaN series skipped and counted"
else fail "all-NaN series: $(grep 'edge import:' <<<"$out")"; fi
{ echo 'sample_id,frame,velocity'; for t in $(seq 0 30); do echo "7,$t,nan"; done; } >allnan.csv
expect_error "only all-NaN series" "no usable sample among 1" 2 edge import -c "$DECK" --input allnan.csv --set run.output_dir=out_allnan
no_files "only all-NaN series" out_allnan
# Partial ACF distances need 2 SAX symbols: a 3-frame series (imported with
# import.min_frames = 2) has no lag at all; one error line, no teacher output.
{ cat long.csv; for t in 0 1 2; do echo "99,$t,1.0"; done; } >short.csv
edge 2 out_short import --input short.csv --set import.min_frames=2
expect_error "a series shorter than 2 SAX symbols" "1 sample(s) shorter than 2 SAX symbols" 2 edge teacher -c "$DECK" \
  "${TINY[@]}" --set run.output_dir=out_short --set teacher.input=out_short/events.h5
if [ ! -e out_short/teacher.h5 ] && [ ! -e out_short/teacher.csv ]; then pass "too-short series: no teacher output"
else fail "too-short series: teacher output left in out_short"; fi
# One cell in a condition: the condition is skipped with a count, the others are tested.
$PY - np1 <<'PY'
import csv, math, sys
rows = list(csv.DictReader(open(sys.argv[1] + '/phenotypes.csv')))
with open('onecell.csv', 'w') as f:
    f.write('sample_id,frame,velocity,cell_id,condition\n')
    for r in rows:
        if r['condition'] == 'null' and r['cell_id'] != '6':
            continue
        for t in range(40):
            sid = int(r['sample_id'])
            v = 1.0 + 0.8 * math.sin(t * (1 + sid % 3) / 3.0) + 0.05 * ((t * 7 + sid) % 5)
            f.write('%s,%d,%.4f,%s,%s\n' % (r['sample_id'], t, v, r['cell_id'], r['condition']))
PY
edge 2 onecell import --input onecell.csv
for stage in denoise teacher student; do edge 2 onecell "$stage"; done
edge 2 onecell phenotype
out=$(run_np 2 edge stats -c "$DECK" "${TINY[@]}" --set run.output_dir=onecell 2>&1)
if grep -q "condition null has 1 cell(s)" <<<"$out" && grep -q "1 condition(s) skipped" <<<"$out" && ! grep -q ",null," onecell/stats.csv; then
  pass "a condition with one cell: skipped and counted, the others tested"
else
  fail "one-cell condition: $(grep -E 'edge stats' <<<"$out")"
fi

finish
