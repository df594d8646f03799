#!/usr/bin/env bash
# Approximate kNN (issue 13): phenoscale's IVF search (ml::approximate_knn,
# default lists = sqrt(N), probes) against our exact ring search, FAISS
# IndexIVFFlat (python3-faiss; smallest nprobe reaching our recall) and
# pynndescent (defaults), one thread each, on Gaussian blobs (100 centres) at
# N = 10^5 and 10^6, d = 22 and 13, k = 15. Recall@15 is scored on 1000
# sampled rows against a float64 brute force. Exact at 10^6 is not run (O(N²)):
# its time is the 10^5 time × 100. np=2 must reproduce np=1 bit for bit.
#   flock /tmp/phenoscale-build.lock bash tests/bench/run_ann.sh [build_dir] [k=15] [probes=8]
set -euo pipefail
src=$(cd "$(dirname "$0")/../.." && pwd)
build=${1:-$src/build}; k=${2:-15}; probes=${3:-8}
source "$src/tests/bench/bench_env.sh"
export OMP_NUM_THREADS=1 OPENBLAS_NUM_THREADS=1 MKL_NUM_THREADS=1 NUMBA_NUM_THREADS=1
py="/usr/bin/python3 $src/tests/bench/ann_peer.py"
cache=$build/bench-data; mkdir -p "$cache"
work=$(mktemp -d); trap 'rm -rf "$work"' EXIT
field() { sed -n "s/.*$1=\([0-9.]*\).*/\1/p" <<<"$2"; }
echo "| N | d | method | seconds | vs our exact | recall@15 | peak RSS / rank (MiB) | parameters |"
echo "|---|---|---|---|---|---|---|---|"
for d in 22 13; do
  exact_1e5=
  for n in 100000 1000000; do
    data=$cache/ann_${n}x${d}.h5
    [ -f "$data" ] || $py data "$data" "$n" "$d"
    $py truth "$data" "$k" "$work/truth.h5"
    if [ "$n" = 100000 ]; then
      line=$(mpirun -n 1 "$build/tests/bench/bench_ann" "$data:/features" "$work/exact.h5" "$k" exact)
      exact_1e5=$(field seconds "$line")
      exact=$exact_1e5
      echo "| $n | $d | ours exact (np=1) | $exact | 1 | $($py recall "$work/truth.h5" "$work/exact.h5") | $(field peak_rss_mib "$line") | |"
    else
      exact=$(/usr/bin/python3 -c "print(f'{$exact_1e5 * 100:.0f}')")
      echo "| $n | $d | ours exact (np=1), extrapolated 100 × the 10^5 time | ~$exact | 1 | — | — | not run |"
    fi
    line=$(mpirun -n 1 "$build/tests/bench/bench_ann" "$data:/features" "$work/ivf1.h5" "$k" approximate "$probes")
    t=$(field seconds "$line"); rec=$($py recall "$work/truth.h5" "$work/ivf1.h5")
    echo "| $n | $d | ours approximate (np=1) | $t | $(/usr/bin/python3 -c "print(f'{$t / $exact:.4f}')") | $rec | $(field peak_rss_mib "$line") | lists=$(field lists "$line") probes=$probes |"
    line=$(mpirun -n 2 "$build/tests/bench/bench_ann" "$data:/features" "$work/ivf2.h5" "$k" approximate "$probes")
    same=$(/usr/bin/python3 -c "import h5py,numpy as np,sys; a,b=(h5py.File(f,'r') for f in sys.argv[1:]); print('identical' if all(np.array_equal(a[n][...],b[n][...]) for n in ('neighbours','distances')) else 'DIFFERENT')" "$work/ivf1.h5" "$work/ivf2.h5")
    echo "| $n | $d | ours approximate (np=2 × 1 thread; 2 shared cores) | $(field seconds "$line") | — | $same to np=1 | $(field peak_rss_mib "$line") | |"
    line=$($py faiss "$data" "$k" "$work/truth.h5" "$rec")
    t=$(field seconds "$line")
    echo "| $n | $d | FAISS IVF-Flat | $t | $(/usr/bin/python3 -c "print(f'{$t / $exact:.4f}')") | $(field recall "$line") | $(field peak_rss_mib "$line") | nlist=$(field nlist "$line") nprobe=$(field nprobe "$line") (build $(field build "$line") s) |"
    if /usr/bin/python3 -c "import pynndescent" 2>/dev/null; then
      line=$($py pynndescent "$data" "$k" "$work/truth.h5")
      t=$(field seconds "$line")
      echo "| $n | $d | pynndescent | $t | $(/usr/bin/python3 -c "print(f'{$t / $exact:.4f}')") | $(field recall "$line") | $(field peak_rss_mib "$line") | defaults, n_jobs=1 |"
    fi
  done
done
