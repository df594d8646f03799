#!/usr/bin/env bash
# kNN → Leiden scaling (issue 13, acceptance 4): approximate kNN (IVF,
# lists = round(√N), probes = 8, k = 15) → union-symmetrised graph →
# distributed Leiden (communities.method = leiden) on Gaussian blobs
# (ann_peer.py: 100 planted centres, d = 13, the ACF-vector size) at each N
# and np = 1, 2 (one OpenMP thread per rank). One row per (N, np): times, peak
# RSS per rank, modularity, communities, ARI to the planted blobs, and the
# per-rank work and traffic counters of the cost model in docs/performance.md
# (maximum over ranks; CPU seconds separate a rank's compute from the time
# other jobs took on shared cores); then one row per Leiden level, and the MPI transport's
# latency and bandwidth at np = 2. Exact kNN is not run here (O(N²); at 10^6
# it is ~100 × its 10^5 time, see run_ann.sh).
#   bash tests/bench/run_graph_scaling.sh [build_dir] ["100000 1000000"] [d=13] [k=15] [probes=8]
set -euo pipefail
src=$(cd "$(dirname "$0")/../.." && pwd)
build=${1:-$src/build}; sizes=${2:-"100000 1000000"}; d=${3:-13}; k=${4:-15}; probes=${5:-8}
source "$src/tests/bench/bench_env.sh"
export OMP_NUM_THREADS=1 OPENBLAS_NUM_THREADS=1 MKL_NUM_THREADS=1
bench=$build/tests/bench/bench_graph_scaling
py=/usr/bin/python3
cache=$build/bench-data; mkdir -p "$cache"
work=$(mktemp -d); trap 'rm -rf "$work"' EXIT
field() { sed -n "s/.* $1=\([-0-9.e+]*\).*/\1/p" <<<"$2" | head -1; }
echo "MPI transport (np=2, shared memory): $(mpirun -n 2 "$bench" --pingpong)"
echo
echo "| N | np | kNN (s) | graph (s) | Leiden (s) | total (s) | kNN / Leiden CPU s per rank | peak RSS / rank (MiB) | modularity | communities | ARI | rows / rank | distances / rank | kNN train / assign / search (s) | kNN collectives | kNN MiB sent / rank (all-to-all part) | graph MiB sent / rank | Leiden levels | Leiden collectives | Leiden MiB sent / rank |"
echo "|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|"
for n in $sizes; do
  data=$cache/ann_${n}x${d}.h5
  # made once, deterministic; older caches (run_ann.sh before /labels) are remade
  $py -c "import h5py,sys; sys.exit(0 if 'labels' in h5py.File(sys.argv[1],'r') else 1)" "$data" 2>/dev/null ||
    $py "$src/tests/bench/ann_peer.py" data "$data" "$n" "$d"
  for np in 1 2; do
    mpirun -n $np "$bench" "$data:/features" "$work/labels.h5" "$k" "$probes" > "$work/out_${n}_$np.txt"
    line=$(grep '^scaling' "$work/out_${n}_$np.txt")
    ari=$($py -c "import h5py,sys; from sklearn.metrics import adjusted_rand_score as a; print(f\"{a(h5py.File(sys.argv[1],'r')['labels'][...], h5py.File(sys.argv[2],'r')['labels'][...]):.4f}\")" "$data" "$work/labels.h5")
    f() { field "$1" "$line"; }
    total=$($py -c "print(f'{$(f knn_s) + $(f graph_s) + $(f leiden_s):.3f}')")
    echo "| $n | $np | $(f knn_s) | $(f graph_s) | $(f leiden_s) | $total | $(f knn_cpu_s) / $(f leiden_cpu_s) | $(f peak_rss_mib) (kNN $(f knn_peak_rss_mib)) | $(f modularity) | $(f communities) | $ari | $(f rows_max) | $(f distances_max) | $(f train_s) / $(f assign_s) / $(f search_s) | $(f knn_calls) | $(f knn_sent_mib) ($(f knn_a2a_mib)) | $(f graph_sent_mib) | $(f levels) | $(f leiden_calls) | $(f leiden_sent_mib) |"
  done
done
echo
echo "Leiden per level (maximum over ranks):"
echo
echo "| N | np | level | vertices | local vertices | local arcs | ghosts | sweeps | seconds |"
echo "|---|---|---|---|---|---|---|---|---|"
for n in $sizes; do
  for np in 1 2; do
    grep '^level' "$work/out_${n}_$np.txt" | while read -r _ i rest; do
      line=" $rest"
      echo "| $n | $np | $i | $(field vertices "$line") | $(field local_vertices_max "$line") | $(field arcs_max "$line") | $(field ghosts_max "$line") | $(field sweeps "$line") | $(field seconds_max "$line") |"
    done
  done
done
