#!/usr/bin/env bash
# Parallel HDF5 read/write throughput: phenoscale (collective MPI-IO) at 1 and
# 2 ranks against h5py and dd reading the same bytes, same machine, same run.
# The file is re-read while in the page cache, so this measures the software
# path (HDF5, MPI-IO, copies), not the disk.
#   bash tests/bench/run_hdf5_io.sh [build_dir] [rows] [row_floats]
set -euo pipefail
src=$(cd "$(dirname "$0")/../.." && pwd)
build=${1:-$src/build}; rows=${2:-2000}; width=${3:-64000}
source "$src/tests/bench/bench_env.sh"
work=$(mktemp -d); trap 'rm -rf "$work"' EXIT
file=$work/bench.h5
declare -A read_gbs
for np in 1 2; do
  line=$(mpirun -n $np "$build/tests/bench/bench_hdf5_io" "$file" "$rows" "$width")
  echo "$line"
  read_gbs[$np]=$(sed -n 's/.*read \([0-9.]*\) GB\/s.*/\1/p' <<<"$line")
done
h5py_gbs=$(/usr/bin/python3 - "$file" <<'PY'
import sys, time, h5py
f = h5py.File(sys.argv[1], "r")
t = time.perf_counter(); x = f["samples"][...]; dt = time.perf_counter() - t
print(f"{x.nbytes / 1e9 / dt:.2f}")
PY
)
bytes=$(stat -c %s "$file")
t0=$(date +%s.%N); dd if="$file" of=/dev/null bs=16M status=none; t1=$(date +%s.%N)
dd_gbs=$(echo "$bytes / 1000000000 / ($t1 - $t0)" | bc -l)
printf '\n| reader | read GB/s | phenoscale np=1 / reader | phenoscale np=2 / reader |\n|---|---|---|---|\n'
for name in h5py dd; do
  v=$([ $name = h5py ] && echo "$h5py_gbs" || echo "$dd_gbs")
  printf '| %s | %.2f | %.2f | %.2f |\n' "$name" "$v" "$(echo "${read_gbs[1]} / $v" | bc -l)" "$(echo "${read_gbs[2]} / $v" | bc -l)"
done
