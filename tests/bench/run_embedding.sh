#!/usr/bin/env bash
# 2-D embeddings of 10,000 × 22 planted clusters: phenoscale's Barnes–Hut
# t-SNE against scikit-learn's TSNE(perplexity=30, init="pca",
# method="barnes_hut", angle=0.5, learning_rate="auto") on the same file in
# the same run, both for the same number of iterations (scikit-learn's early
# stops disabled) and both on ONE thread (OMP_NUM_THREADS=1, n_jobs=1).
# Times exclude file I/O and include the kNN search. kNN preservation (k = 15,
# exact neighbours, self excluded) is computed by phenoscale for ours and by
# scikit-learn's NearestNeighbors for the peer. UMAP has no Debian peer
# (umap-learn is not packaged): ours alone.
#   bash tests/bench/run_embedding.sh [build_dir] [rows=10000] [iterations=1000]
set -euo pipefail
src=$(cd "$(dirname "$0")/../.." && pwd)
build=${1:-$src/build}; rows=${2:-10000}; iterations=${3:-1000}
source "$src/tests/bench/bench_env.sh"
export OMP_NUM_THREADS=1 OPENBLAS_NUM_THREADS=1 MKL_NUM_THREADS=1
work=$(mktemp -d); trap 'rm -rf "$work"' EXIT
data=$work/clusters.h5

# 10 Gaussian clusters (unit variance) around centres drawn N(0, 3²) in 22-D; fixed seed.
/usr/bin/python3 - "$data" "$rows" <<'PY'
import sys, h5py, numpy as np
rng = np.random.default_rng(20261122)
n, d, k = int(sys.argv[2]), 22, 10
centres = rng.normal(0.0, 3.0, (k, d))
labels = np.arange(n) % k
x = (centres[labels] + rng.normal(size=(n, d))).astype(np.float32)
with h5py.File(sys.argv[1], "w") as f:
    f["features"] = x
    f["labels"] = labels.astype(np.int64)
PY

field() { sed -n "s/.*$1=\([^ ]*\).*/\1/p" <<<"$2"; }
ours=$(mpirun -n 1 "$build/tests/bench/bench_embedding" "$data:/features" tsne "$iterations")
echo "ours:  $ours"
peer=$(/usr/bin/python3 - "$data" "$iterations" <<'PY'
import sys, time, h5py, numpy as np, sklearn
from sklearn.manifold import TSNE
from sklearn.neighbors import NearestNeighbors
x = h5py.File(sys.argv[1], "r")["features"][...]
it = int(sys.argv[2])
t = time.perf_counter()
tsne = TSNE(perplexity=30, init="pca", method="barnes_hut", angle=0.5, learning_rate="auto",
            n_iter=it, n_iter_without_progress=it, min_grad_norm=0.0, random_state=0, n_jobs=1)
y = tsne.fit_transform(x)
dt = time.perf_counter() - t
def knn(a):
    return NearestNeighbors(n_neighbors=16).fit(a).kneighbors(a, return_distance=False)[:, 1:]
a, b = knn(x.astype(np.float64)), knn(y.astype(np.float64))
pres = np.mean([len(set(a[i]) & set(b[i])) / 15 for i in range(len(x))])
print(f"method=sklearn-{sklearn.__version__} iterations={tsne.n_iter_ + 1} seconds={dt:.3f} "
      f"knn_preservation={pres:.4f} kl={tsne.kl_divergence_:.4f}")
PY
)
echo "peer:  $peer"
umap=$(mpirun -n 1 "$build/tests/bench/bench_embedding" "$data:/features" umap)
echo "umap:  $umap"

printf '\n### t-SNE, %s × 22, %s iterations, 1 thread each\n\n' "$rows" "$iterations"
printf '| measure | phenoscale | %s | ours / peer |\n|---|---|---|---|\n' "$(field method "$peer")"
for m in seconds knn_preservation kl; do
  o=$(field $m "$ours"); p=$(field $m "$peer")
  printf '| %s | %s | %s | %.3f |\n' "$m" "$o" "$p" "$(echo "$o / $p" | bc -l)"
done
printf '\n### UMAP, %s × 22, 1 thread (no peer: umap-learn is not packaged in Debian)\n\n' "$rows"
printf '| measure | phenoscale |\n|---|---|\n'
for m in iterations seconds knn_preservation; do printf '| %s | %s |\n' "$m" "$(field $m "$umap")"; done
