#!/usr/bin/env bash
# `ml knn` with knn.method = approximate (IVF, issue 13): the same neighbours
# and distances at 1 and 3 ranks (bit-identical), the output names its
# method, recall@15 against the exact stage is at least 0.95 on planted
# blobs, probes = lists reproduces the exact output, and misuse is one error line.
source "$(dirname "$0")/common.bash"
cd "$WORK"
"$PY" - <<'PY'
import h5py, numpy as np
rng = np.random.default_rng(13)
centres = rng.standard_normal((20, 13)) * 4.0
x = (centres[rng.integers(0, 20, 3000)] + rng.standard_normal((3000, 13))).astype(np.float32)
with h5py.File("features.h5", "w") as f:
    f["features"] = x
PY
for np in 1 3; do
  run_np "$np" -q ml knn --input features.h5:/features --output ./ann$np.h5 --set knn.method=approximate ||
    fail "approximate ml knn at np=$np"
done
same_datasets ann1.h5 ann3.h5 /neighbours /distances
run_np 2 -q ml knn --input features.h5:/features --output ./exact.h5 || fail "exact ml knn"
run_np 2 -q ml knn --input features.h5:/features --output ./all.h5 --set knn.method=approximate \
  --set knn.lists=20 --set knn.probes=20 || fail "approximate ml knn probing every list"
same_datasets exact.h5 all.h5 /neighbours /distances
if "$PY" - <<'PY'
import h5py, numpy as np, sys
a, e = h5py.File("ann1.h5", "r"), h5py.File("exact.h5", "r")
method = a.attrs["method"]
method = method.decode() if isinstance(method, bytes) else method
recall = np.mean([len(set(p) & set(q)) for p, q in zip(a["neighbours"][...], e["neighbours"][...])]) / 15
print(f"method {method}, recall@15 {recall:.4f}")
sys.exit(0 if method == "approximate" and recall >= 0.95 else 1)
PY
then pass "method attribute and recall@15 >= 0.95"; else fail "method/recall"; fi
out=$(run_np 1 ml knn --input features.h5:/features --output ./many_lists.h5 --set knn.method=approximate \
      --set knn.lists=3500 2>&1)
if grep -q "knn.lists = 3500 is more than the 3000 rows; 3000 lists used" <<<"$out" && [ -f many_lists.h5 ]; then
  pass "knn.lists above the row count: warned, clamped"
else fail "knn.lists = 3500 on 3000 rows: $(grep -E 'warning|error' <<<"$out")"; fi
expect_deck_error "approximate needs euclidean" 'knn.method = "approximate" needs knn.metric = "euclidean"' 2 \
  ml knn --input features.h5:/features --output ./bad.h5 --set knn.method=approximate --set knn.metric=precomputed
expect_error "unknown method" "knn.method" 1 \
  ml knn --input features.h5:/features --output ./bad.h5 --set knn.method=ivf
expect_error "zero probes" "knn.probes" 1 \
  ml knn --input features.h5:/features --output ./bad.h5 --set knn.method=approximate --set knn.probes=0
expect_deck_error "k not below N" "knn.k = 3000 must be below N = 3000" 2 \
  ml knn --input features.h5:/features --output ./bad.h5 --set knn.method=approximate --set knn.k=3000
finish
