# Sourced by every tests/bench/run_*.sh after it sets $src: one environment
# for ours and the peers ("Like with like", docs/performance.md).
#  - jobs/local/env.sh: the OpenMPI settings for workstations and containers;
#  - OPENBLAS_CORETYPE / OPENBLAS_L2_SIZE unset: a machine profile may pin
#    OpenBLAS to older kernels, and both sides link the same libopenblas, so
#    both get its own core detection;
#  - glibc's default allocator for both sides (a script that tunes ours sets
#    the same MALLOC_*_ thresholds for the peer after sourcing this);
#  - the line printed: the load average and the BLAS the peers' NumPy runs,
#    with its kernel (threadpoolctl), to compare with ours.
source "$src/jobs/local/env.sh"
unset OPENBLAS_CORETYPE OPENBLAS_L2_SIZE MALLOC_MMAP_THRESHOLD_ MALLOC_TRIM_THRESHOLD_
echo "bench environment: load average $(cut -d' ' -f1-3 /proc/loadavg); peers' BLAS:" \
  "$(/usr/bin/python3 -c "import numpy, threadpoolctl; print('; '.join(f\"{i['internal_api']} {i.get('version')} {i.get('architecture', '')}\" for i in threadpoolctl.threadpool_info()))" 2>/dev/null || echo unknown)"
# The median of numbers on stdin, one per line (the mean of the two middle
# values of an even count; nothing for none), for the scripts that take
# medians of alternating runs.
median() { sort -g | awk '{a[NR]=$1} END {if (NR % 2) print a[(NR+1)/2]; else if (NR) printf "%.6f\n", (a[NR/2]+a[NR/2+1])/2}'; }
# The number after "key=" in a benchmark's output on stdin (the first); a run
# that printed none stops the script with a message instead of handing bc an
# empty operand. set -e sees the failure only where an assignment's last
# command substitution is the call (x=$(field k <<<"$o"), a+=("$(field ...)"),
# x=$(cmd | field k)): not inside a test ([ "$(field ...)" = ... ]) nor
# nested in another substitution, so call it on its own first.
field() {
  local v; v=$(grep -o "$1=[0-9.e+-]*" | head -1 | cut -d= -f2)
  [ -n "$v" ] || { echo "$(basename "$0"): a run printed no $1=" >&2; return 1; }
  echo "$v"
}
