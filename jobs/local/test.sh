#!/usr/bin/env bash
# Installs what is needed, builds, and runs the whole test suite (ctest),
# including the MPI tests at 1, 2 and 3 ranks and the real single-node Slurm
# test (needs root; skipped otherwise).
#
#   bash jobs/local/test.sh           RelWithDebInfo build in build/
#   bash jobs/local/test.sh --asan    AddressSanitizer + UBSan build in build-asan/
#                                     (MPI tests and CLI tests, Slurm test excluded)
set -euo pipefail
cd "$(dirname "$0")/../.."
start=$(date +%s)
bash jobs/local/setup.sh
source jobs/local/env.sh

build=build
cmake_args=(-DCMAKE_BUILD_TYPE=RelWithDebInfo)
ctest_args=()
if [ "${1:-}" = "--asan" ]; then
  build=build-asan
  cmake_args=(-DCMAKE_BUILD_TYPE=Debug -DPHENOSCALE_SANITIZE=address,undefined -DPHENOSCALE_BUILD_BENCH=OFF)
  ctest_args=(-LE slurm)
  # OpenMPI and HDF5 keep allocations until exit by design: leaks are not ours to chase.
  export ASAN_OPTIONS=detect_leaks=0:abort_on_error=1
  export UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1
fi

cmake -S . -B "$build" -G Ninja "${cmake_args[@]}"
cmake --build "$build" -j "$JOBS"
ctest --test-dir "$build" --output-on-failure -j "$JOBS" "${ctest_args[@]}"
echo "test.sh: done in $(( $(date +%s) - start )) s"
