#!/usr/bin/env bash
# PCA (15 components of 100,000 × 22 float32) and exact silhouette /
# Davies–Bouldin (10,000 × 22, 8 clusters): phenoscale at 1 and 2 ranks
# against scikit-learn on the same file, same machine, same run. One thread
# per process everywhere (OMP_NUM_THREADS=1, OPENBLAS_NUM_THREADS=1,
# MKL_NUM_THREADS=1). Times are best of 3 and exclude reading the file.
# scikit-learn: PCA(n_components=15, svd_solver="full").fit_transform on the
# float32 array; silhouette_score and davies_bouldin_score on float64.
#   bash tests/bench/run_pca.sh [build_dir] [rows]
set -euo pipefail
src=$(cd "$(dirname "$0")/../.." && pwd)
build=${1:-$src/build}; rows=${2:-100000}
source "$src/tests/bench/bench_env.sh"
export OMP_NUM_THREADS=1 OPENBLAS_NUM_THREADS=1 MKL_NUM_THREADS=1
work=$(mktemp -d); trap 'rm -rf "$work"' EXIT
file=$work/pca.h5
/usr/bin/python3 - "$file" "$rows" <<'PY'
import sys, h5py, numpy as np
rng = np.random.default_rng(7)
n, d = int(sys.argv[2]), 22
# Fingerprint-like: 8 clusters in a 6-D subspace plus isotropic noise.
basis = np.linalg.qr(rng.normal(size=(d, 6)))[0]
centres = rng.normal(scale=3.0, size=(8, 6))
def make(m):
    lab = rng.integers(0, 8, size=m)
    x = (centres[lab] + rng.normal(size=(m, 6))) @ basis.T + 0.3 * rng.normal(size=(m, d))
    return x.astype(np.float32), lab.astype(np.int64)
with h5py.File(sys.argv[1], "w") as f:
    f["features"], _ = make(n)
    f["small"], f["small_labels"] = make(10000)
PY
declare -A ours
for np in 1 2; do
  line=$(mpirun -n $np "$build/tests/bench/bench_pca" "$file" 3)
  echo "phenoscale: $line"
  ours[$np]=$line
done
peer=$(/usr/bin/python3 - "$file" <<'PY'
import sys, time, h5py, numpy as np
from sklearn.decomposition import PCA
from sklearn.metrics import silhouette_score, davies_bouldin_score
f = h5py.File(sys.argv[1], "r")
x = f["features"][...]; small = f["small"][...].astype(np.float64); lab = f["small_labels"][...]
def best(fn, reps=3):
    t = []
    for _ in range(reps):
        t0 = time.perf_counter(); v = fn(); t.append(time.perf_counter() - t0)
    return min(t), v
pca_s, p = best(lambda: PCA(n_components=15, svd_solver="full").fit(x))
pca_s, _ = best(lambda: PCA(n_components=15, svd_solver="full").fit_transform(x))
sil_s, s = best(lambda: silhouette_score(small, lab))
db_s, db = best(lambda: davies_bouldin_score(small, lab))
print(f"pca_s {pca_s:.6f} silhouette_s {sil_s:.6f} davies_bouldin_s {db_s:.6f} "
      f"ratio_total {p.explained_variance_ratio_.sum():.10f} silhouette {s:.10f} davies_bouldin {db:.10f}")
PY
)
echo "scikit-learn: $peer"
field() { sed -n "s/.*$1 \([0-9.e+-]*\).*/\1/p" <<<"$2"; }
printf '\n| measure | phenoscale np=1 (s) | phenoscale np=2 (s) | scikit-learn (s) | np=1 / sklearn | np=2 / sklearn |\n|---|---|---|---|---|---|\n'
for m in pca_s silhouette_s davies_bouldin_s; do
  a=$(field $m "${ours[1]}"); b=$(field $m "${ours[2]}"); c=$(field $m "$peer")
  printf '| %s | %.4f | %.4f | %.4f | %.2f | %.2f |\n' "$m" "$a" "$b" "$c" "$(echo "$a / $c" | bc -l)" "$(echo "$b / $c" | bc -l)"
done
printf '\n| value | phenoscale np=1 | phenoscale np=2 | scikit-learn |\n|---|---|---|---|\n'
for m in ratio_total silhouette davies_bouldin; do
  printf '| %s | %s | %s | %s |\n' "$m" "$(field $m "${ours[1]}")" "$(field $m "${ours[2]}")" "$(field $m "$peer")"
done
