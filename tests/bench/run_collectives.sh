#!/usr/bin/env bash
# par::Comm's v-collectives against MPI's own on the same data (MPI_Alltoallv
# and MPI_Allgatherv called directly: the peer), at 2 and 3 ranks, and one
# exchange of 2^31 + 2^24 chars, which MPI's int counts cannot express,
# verified element by element (needs about 9 GB at 2 ranks).
#   bash tests/bench/run_collectives.sh [build_dir] [large_elements=2164260864]
set -euo pipefail
src=$(cd "$(dirname "$0")/../.." && pwd)
build=${1:-$src/build}; large=${2:-2164260864}
source "$src/tests/bench/bench_env.sh"
OMP_NUM_THREADS=1 mpirun -n 2 "$build/tests/bench/bench_collectives" "$large"
OMP_NUM_THREADS=1 mpirun -n 3 "$build/tests/bench/bench_collectives" 0
