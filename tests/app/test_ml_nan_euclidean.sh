#!/usr/bin/env bash
# The generic ml stages under the nan-euclidean distance (DeepHACKS' partial
# ACF distances; docs/cli.md "ml knn", "ml quality"): feature rows whose NaN
# coordinates are missing. Against scikit-learn on tests/ml/fixtures/partial.h5
# (planted blobs, trailing coordinates missing): `ml knn` gives the
# neighbour distances of nan_euclidean_distances, identical at 1 and 3
# ranks; `ml quality` the silhouette of the precomputed nan_euclidean matrix
# and a Davies-Bouldin with centroids averaged over the rows that have each
# coordinate; `ml communities` and `ml sweep` run on the same rows (and
# communities.min_size merges the small communities); NaN under
# euclidean, Inf or an all-NaN row under nan-euclidean and k-means under
# nan-euclidean are one clear error line each.
source "$(dirname "$0")/common.bash"
cd "$WORK"
"$PY" - "$SRC/tests/ml/fixtures/partial.h5" <<'PY'
import sys, h5py, numpy as np
with h5py.File(sys.argv[1], "r") as f:
    x, kept, labels = f["features"][...], f["kept"][...], f["labels"][...]
for i, k in enumerate(kept):
    x[i, k:] = np.nan  # the fixture stores missing lags as 0 beside /kept
with h5py.File("rows.h5", "w") as g:
    g["features"] = x
    g["labels"] = labels.astype(np.int64)
y = x.copy(); y[3, 0] = np.inf
with h5py.File("inf.h5", "w") as g:
    g["features"] = y
y = x.copy(); y[5, :] = np.nan
with h5py.File("empty_row.h5", "w") as g:
    g["features"] = y
PY
for np in 1 3; do
  run_np "$np" -q ml knn --input rows.h5:/features --output ./knn$np.h5 --set knn.metric=nan-euclidean \
    --set knn.k=10 || fail "nan-euclidean ml knn at np=$np"
done
same_datasets knn1.h5 knn3.h5 /neighbours /distances
run_np 2 -q ml quality --input rows.h5:/features --set quality.labels=rows.h5:/labels \
  --set quality.distance=nan-euclidean --output ./quality.h5 || fail "nan-euclidean ml quality"
if "$PY" - <<'PY'
import h5py, numpy as np, sys
from sklearn.metrics import silhouette_score
from sklearn.metrics.pairwise import nan_euclidean_distances
x = h5py.File("rows.h5", "r")["features"][...].astype(np.float64)
labels = h5py.File("rows.h5", "r")["labels"][...]
D = nan_euclidean_distances(x)
np.fill_diagonal(D, np.inf)
ref = np.sort(D, axis=1)[:, :10]
ours = h5py.File("knn1.h5", "r")["distances"][...]
knn_err = np.abs(ours - ref).max()
np.fill_diagonal(D, 0.0)
sil = silhouette_score(D, labels, metric="precomputed")
# Davies-Bouldin with nan-aware centroids and nan_euclidean row-to-centroid distances.
ids = np.unique(labels)
cent = np.array([np.nanmean(x[labels == c], axis=0) for c in ids])
s = np.array([nan_euclidean_distances(x[labels == c], cent[i:i + 1]).mean() for i, c in enumerate(ids)])
M = nan_euclidean_distances(cent)
np.fill_diagonal(M, np.inf)
db = np.mean(np.max((s[:, None] + s[None, :]) / M, axis=1))
q = h5py.File("quality.h5", "r").attrs
dist = q["distance"].decode() if isinstance(q["distance"], bytes) else q["distance"]
print(f"knn max |d - sklearn| {knn_err:.2e}; silhouette {q['silhouette']:.6f} (sklearn {sil:.6f}); "
      f"Davies-Bouldin {q['davies_bouldin']:.6f} (NumPy {db:.6f}); distance {dist}")
ok = knn_err < 1e-5 and abs(q["silhouette"] - sil) < 1e-6 and abs(q["davies_bouldin"] - db) < 1e-6
sys.exit(0 if ok and dist == "nan-euclidean" and q["silhouette_mode"] in (b"exact", "exact") else 1)
PY
then pass "nan-euclidean kNN distances, silhouette and Davies-Bouldin match scikit-learn/NumPy"; else fail "nan-euclidean against scikit-learn"; fi
run_np 2 -q ml communities --input rows.h5:/features --set communities.metric=nan-euclidean --set communities.k=10 \
  --set communities.method=igraph-leiden --output ./comm.h5 || fail "nan-euclidean ml communities"
run_np 2 -q ml sweep --input rows.h5:/features --set sweep.method=communities --set "sweep.values=[5,10,20]" \
  --set quality.distance=nan-euclidean --set communities.method=igraph-leiden --set run.output_dir=v1.2 --output sweep ||
  fail "nan-euclidean ml sweep"
# The table beside the file (named without extension): v1.2/sweep.csv, not v1.csv (the directory's dot).
if [ -f v1.2/sweep.csv ] && [ ! -e v1.csv ]; then pass "ml sweep: sweep.csv beside the output v1.2/sweep"
else fail "ml sweep: the table is not v1.2/sweep.csv ($(ls -d v1* 2>/dev/null | tr '\n' ' '))"; fi
# The planted blobs are found by both.
if "$PY" - <<'PY'
import h5py, numpy as np, sys
from sklearn.metrics import adjusted_rand_score
truth = h5py.File("rows.h5", "r")["labels"][...]
comm = h5py.File("comm.h5", "r")["labels"][...]
sweep = h5py.File("v1.2/sweep", "r")
a, b = adjusted_rand_score(truth, comm), adjusted_rand_score(truth, sweep["labels"][...])
print(f"ARI communities {a:.3f}, sweep best K = {sweep.attrs['best_parameter']} {b:.3f}")
sys.exit(0 if a > 0.9 and b > 0.9 else 1)
PY
then pass "communities and sweep recover the planted blobs under nan-euclidean"; else fail "nan-euclidean communities/sweep"; fi
# communities.min_size: on a sparse graph (k = 3) Louvain leaves communities
# under 15 vertices; with min_size = 15 each such vertex joins the large
# community it has the most edges into, and none under 15 is left.
for ms in 1 15; do
  run_np 2 -q ml communities --input rows.h5:/features --set communities.metric=nan-euclidean --set communities.k=3 \
    --set communities.method=louvain --set communities.min_size=$ms --output ./small$ms.h5 || fail "min_size $ms"
done
if "$PY" - <<'PY'
import h5py, numpy as np, sys
a, b = h5py.File("small1.h5", "r"), h5py.File("small15.h5", "r")
before, after = np.bincount(a["labels"][...]), np.bincount(b["labels"][...])
print(f"sizes {sorted(before)} -> {sorted(after)}; merged {b.attrs['merged_communities']}")
sys.exit(0 if before.min() < 15 <= after.min() and b.attrs["merged_communities"] == len(before) - len(after) > 0
         and b.attrs["min_size"] == 15 and a.attrs["merged_communities"] == 0 else 1)
PY
then pass "communities.min_size: communities under 15 vertices joined a neighbour"; else fail "communities.min_size"; fi
expect_error "NaN under euclidean" "NaN value in sample" 2 ml knn --input rows.h5:/features --output ./bad.h5
expect_error "Inf under nan-euclidean" "Inf value in sample 3 (element 0)" 2 \
  ml knn --input inf.h5:/features --output ./bad.h5 --set knn.metric=nan-euclidean
expect_error "row without coordinates" "sample 5 is all NaN" 2 \
  ml knn --input empty_row.h5:/features --output ./bad.h5 --set knn.metric=nan-euclidean
expect_error "k-means under nan-euclidean" 'sweep.method = "kmeans" needs quality.distance = "euclidean"' 2 \
  ml sweep --input rows.h5:/features --output ./bad.h5 --set quality.distance=nan-euclidean
expect_error "unknown distance" "quality.distance" 1 \
  ml quality --input rows.h5:/features --set quality.labels=rows.h5:/labels --set quality.distance=cosine
finish
