#!/usr/bin/env bash
# Exact kNN (k = 15) of 100,000 × 15 float32 rows: phenoscale's ring-exchange
# GEMM search at 1 and 2 ranks (1 OpenMP thread each) against scikit-learn's
# NearestNeighbors(algorithm="brute") at 1 and 2 threads, on the same file in
# the same run. Recall is scored against sklearn (ties aside: a row whose
# index set differs counts as matching when the sorted distances agree).
# FAISS (python3-faiss, IndexFlatL2: exact brute force) is timed on the same
# file at 1 and 2 threads.
#   bash tests/bench/run_knn.sh [build_dir] [rows=100000] [k=15]
# KNN_RUNS=3 repeats ours and scikit-learn three times (alternating, one
# table row per run: the peer's time swings from run to run); KNN_FAISS=0
# skips FAISS.
set -euo pipefail
src=$(cd "$(dirname "$0")/../.." && pwd)
build=${1:-$src/build}; rows=${2:-100000}; k=${3:-15}
source "$src/tests/bench/bench_env.sh"
cache=$build/bench-data; mkdir -p "$cache"
data=$cache/knn_${rows}x15.h5
work=$(mktemp -d); trap 'rm -rf "$work"' EXIT
if [ ! -f "$data" ]; then  # made once, deterministic
  /usr/bin/python3 - "$data" "$rows" <<'PY'
import sys, h5py, numpy as np
x = np.random.default_rng(2026).standard_normal((int(sys.argv[2]), 15)).astype(np.float32)
with h5py.File(sys.argv[1], "w") as f:
    f["features"] = x
PY
fi
runs=${KNN_RUNS:-1}
ours_times=""
for run in $(seq 1 "$runs"); do
for np in 1 2; do
  line=$(OMP_NUM_THREADS=1 mpirun -n $np "$build/tests/bench/bench_knn" "$data:/features" "$work/ours_np$np.h5" "$k")
  echo "run $run: $line"
  ours_times+=" $(sed -n 's/.*seconds=\([0-9.]*\).*/\1/p' <<<"$line")"
done
for threads in 1 2; do
  OMP_NUM_THREADS=$threads OPENBLAS_NUM_THREADS=$threads MKL_NUM_THREADS=$threads \
    /usr/bin/python3 - "$data" "$work/sk_$threads.h5" "$k" <<'PY'
import sys, time, h5py, numpy as np
from sklearn.neighbors import NearestNeighbors
x = h5py.File(sys.argv[1], "r")["features"][...]
k = int(sys.argv[3])
t = time.perf_counter()
nn = NearestNeighbors(n_neighbors=k, algorithm="brute").fit(x)
dist, idx = nn.kneighbors()  # no query: each point is not its own neighbour
seconds = time.perf_counter() - t
with h5py.File(sys.argv[2], "w") as f:
    f["neighbours"] = idx; f["distances"] = dist; f.attrs["seconds"] = seconds
PY
  cp "$work/sk_$threads.h5" "$work/sk_${threads}_run$run.h5"
done
done
for threads in 1 2; do
  [ "${KNN_FAISS:-1}" = 1 ] || break
  /usr/bin/python3 - "$data" "$work/faiss_$threads.h5" "$k" "$threads" <<'PY'
import sys, time, h5py, numpy as np, faiss
x = np.ascontiguousarray(h5py.File(sys.argv[1], "r")["features"][...])
k, threads = int(sys.argv[3]), int(sys.argv[4])
faiss.omp_set_num_threads(threads)
t = time.perf_counter()
index = faiss.IndexFlatL2(x.shape[1])
index.add(x)
dist, idx = index.search(x, k + 1)  # each row finds itself first; drop it below
seconds = time.perf_counter() - t
rows = np.arange(len(x))[:, None]
keep = idx != rows
idx = np.array([r[m][:k] for r, m in zip(idx, keep)])
with h5py.File(sys.argv[2], "w") as f:
    f["neighbours"] = idx; f.attrs["seconds"] = seconds
PY
done
# shellcheck disable=SC2086  # ours_times: one word per timing
/usr/bin/python3 - "$work" "$runs" $ours_times <<'PY'
import os, sys, h5py, numpy as np
work, runs = sys.argv[1], int(sys.argv[2])
ours = [float(t) for t in sys.argv[3:]]  # per run: np=1, np=2
t1, t2 = ours[-2], ours[-1]
sk = h5py.File(f"{work}/sk_1.h5", "r"); sk2 = h5py.File(f"{work}/sk_2.h5", "r")
si, sd = sk["neighbours"][...], sk["distances"][...]
rows = []
for np_ in (1, 2):
    o = h5py.File(f"{work}/ours_np{np_}.h5", "r")
    oi, od = o["neighbours"][...], o["distances"][...]
    same = np.array([len(set(a) & set(b)) for a, b in zip(oi, si)])
    recall = same.sum() / si.size
    differ = np.nonzero(same < si.shape[1])[0]
    ties = sum(np.allclose(np.sort(od[r]), np.sort(sd[r]), rtol=1e-5, atol=1e-6) for r in differ)
    recall_ties = (same.sum() + sum(si.shape[1] - same[r] for r in differ
                   if np.allclose(np.sort(od[r]), np.sort(sd[r]), rtol=1e-5, atol=1e-6))) / si.size
    rows.append((np_, recall, len(differ), ties, recall_ties, np.abs(od - sd).max()))
print(f"\nExact kNN, N = {si.shape[0]}, d = 15, k = {si.shape[1]} (float32 data; 2-core machine shared with other jobs)\n")
print("| run | comparison | ours (s) | sklearn brute (s) | ours / sklearn |")
print("|---|---|---|---|---|")
for run in range(runs):
    for j, (threads, what) in enumerate(((1, "ours np=1 × 1 thread vs sklearn 1 thread"),
                                          (2, "ours np=2 × 1 thread vs sklearn 2 threads"))):
        s = h5py.File(f"{work}/sk_{threads}_run{run + 1}.h5", "r").attrs["seconds"]
        t = ours[2 * run + j]
        print(f"| {run + 1} | {what} | {t:.2f} | {s:.2f} | {t / s:.2f} |")
if os.path.exists(f"{work}/faiss_1.h5"):
    fa1 = h5py.File(f"{work}/faiss_1.h5", "r"); fa2 = h5py.File(f"{work}/faiss_2.h5", "r")
    f1, f2 = fa1.attrs["seconds"], fa2.attrs["seconds"]
    print("\n| run | ours (s) | FAISS IndexFlatL2 (s) | ours / FAISS |")
    print("|---|---|---|---|")
    print(f"| 1 thread | {t1:.2f} | {f1:.2f} | {t1 / f1:.2f} |")
    print(f"| 2 threads (ours np=2) | {t2:.2f} | {f2:.2f} | {t2 / f2:.2f} |")
    fi = fa1["neighbours"][...]
    print(f"\nFAISS recall against sklearn (indices): {np.mean([len(set(a) & set(b)) for a, b in zip(fi, si)]) / si.shape[1]:.6f}")
print("\n| ours | recall vs sklearn (indices) | rows with other indices | of which equal distances (ties) | recall, ties aside | max abs. distance difference |")
print("|---|---|---|---|---|---|")
for np_, r, d, t, rt, m in rows:
    print(f"| np={np_} | {r:.6f} | {d} | {t} | {rt:.6f} | {m:.2e} |")
PY
