#!/usr/bin/env bash
# Cell-level bootstrap of cluster proportions (DeepHACKS): phenoscale at 1 and
# 2 ranks against a vectorised NumPy bootstrap of the same statistic (pooled
# proportions, paired p-values, percentile + BCa CIs with jackknife
# acceleration, Cohen's d), same data, same replicate count, same run.
# Data: 200 cells split over 2 and over 4 conditions, 6 clusters, 30-80
# observations per cell (deterministic, numpy seed 1). Both sides are timed
# from observations in memory (HDF5 read excluded), best of 5.
# Threads: OMP_NUM_THREADS=1 per rank; NumPy with OPENBLAS/MKL/OMP threads = 1.
#   bash tests/bench/run_bootstrap.sh [build_dir] [replicates]
set -euo pipefail
src=$(cd "$(dirname "$0")/../.." && pwd)
build=${1:-$src/build}; reps=${2:-10000}
source "$src/tests/bench/bench_env.sh"
export OMP_NUM_THREADS=1 OPENBLAS_NUM_THREADS=1 MKL_NUM_THREADS=1
work=$(mktemp -d); trap 'rm -rf "$work"' EXIT

/usr/bin/python3 - "$work" <<'PY'
import sys, h5py, numpy as np
for conds in (2, 4):
    rng = np.random.default_rng(1)
    labels, cells, conditions = [], [], []
    for k in range(conds):
        p = np.full(6, 1 / 6); p[2] += 0.05 * k; p /= p.sum()
        for cell in range(200 // conds):
            n = rng.integers(30, 81)
            labels += list(rng.choice(6, size=n, p=p)); cells += [cell] * n; conditions += [k] * n
    with h5py.File(f"{sys.argv[1]}/obs{conds}.h5", "w") as f:
        f["labels"], f["cells"], f["conditions"] = (np.asarray(x, np.int64) for x in (labels, cells, conditions))
PY

numpy_peer() {
/usr/bin/python3 - "$1" "$reps" <<'PY'
import sys, time, h5py, numpy as np
from scipy.special import ndtr, ndtri
f = h5py.File(sys.argv[1], "r"); R = int(sys.argv[2])
labels, cells, conditions = f["labels"][...], f["cells"][...], f["conditions"][...]

def run():
    keys, inv = np.unique(np.stack([conditions, cells], 1), axis=0, return_inverse=True)
    C = labels.max() + 1
    counts = np.zeros((len(keys), C)); np.add.at(counts, (inv.ravel(), labels), 1)
    totals = counts.sum(1)
    conds = np.unique(keys[:, 0])
    rng = np.random.default_rng(20261122)
    reps, obs, per = [], [], []
    for k in conds:
        ck, tk = counts[keys[:, 0] == k], totals[keys[:, 0] == k]
        n = len(tk)
        idx = rng.integers(0, n, size=(R, n)) + (np.arange(R) * n)[:, None]
        W = np.bincount(idx.ravel(), minlength=R * n).reshape(R, n).astype(float)  # multiplicities
        reps.append((W @ ck) / (W @ tk)[:, None]); obs.append(ck.sum(0) / tk.sum()); per.append((ck, tk))
    z = ndtri([0.025, 0.975]); out = []
    for t in range(1, len(conds)):
        d = reps[t] - reps[0]; o = obs[t] - obs[0]
        pg = (1 + (d <= 0).sum(0)) / (1 + R); pl = (1 + (d >= 0).sum(0)) / (1 + R)
        p2 = np.minimum(1, 2 * np.minimum(pg, pl))
        pct = np.quantile(d, [0.025, 0.975], axis=0)
        (ct, tt), (cc, tc) = per[t], per[0]
        th = np.concatenate([(ct.sum(0) - ct) / (tt.sum() - tt)[:, None] - obs[0],
                             obs[t] - (cc.sum(0) - cc) / (tc.sum() - tc)[:, None]])
        dev = th.mean(0) - th
        a = (dev**3).sum(0) / (6 * ((dev**2).sum(0))**1.5)
        z0 = ndtri((d < o).mean(0))
        q = ndtr(z0[:, None] + (z0[:, None] + z) / (1 - a[:, None] * (z0[:, None] + z)))
        bca = [np.quantile(d[:, c], q[c]) for c in range(C)]
        qt, qc = ct / tt[:, None], cc / tc[:, None]
        s = np.sqrt((((qt - qt.mean(0))**2).sum(0) + ((qc - qc.mean(0))**2).sum(0)) / (len(tt) + len(tc) - 2))
        out.append((pg, pl, p2, pct, bca, (qt.mean(0) - qc.mean(0)) / s))
    return out

best = min((lambda t0: (run(), time.perf_counter() - t0)[1])(time.perf_counter()) for _ in range(5))
print(f"{best:.4f}")
PY
}

printf '| data | phenoscale np=1 (s) | phenoscale np=2 (s) | NumPy (s) | NumPy / np=1 | NumPy / np=2 |\n|---|---|---|---|---|---|\n' > "$work/table.md"
for conds in 2 4; do
  file=$work/obs$conds.h5
  declare -A ours
  for np in 1 2; do
    line=$(mpirun -n $np "$build/tests/bench/bench_bootstrap" "$file" "$reps" 5)
    echo "$line"
    ours[$np]=$(sed -n 's/.*  \([0-9.]*\) s .*/\1/p' <<<"$line")
  done
  peer=$(numpy_peer "$file")
  echo "numpy $conds conditions: $peer s"
  printf '| 200 cells, %d conditions, 6 clusters, R=%d | %.4f | %.4f | %.4f | %.1f | %.1f |\n' "$conds" "$reps" \
    "${ours[1]}" "${ours[2]}" "$peer" "$(echo "$peer / ${ours[1]}" | bc -l)" "$(echo "$peer / ${ours[2]}" | bc -l)" >> "$work/table.md"
done
echo; cat "$work/table.md"
