#!/usr/bin/env bash
# Training cost per frame against the series length: lstm-classifier (bi-LSTM
# 32, batch 64, Adam) on series all of one length L, phenoscale's fused CPU
# kernel against PyTorch's packed LSTM (nn_peer.py), one thread, one epoch of
# 8 batches timed after one of warm-up, `repeats` alternating pairs per
# length (medians per side; the ratio is the median of the pairs' ratios).
# A kernel linear in the frames keeps its microseconds per frame as L grows;
# LibTorch's per-step slice backward (a zero tensor of the whole packed
# batch per time step) makes the peer's grow with L (docs/performance.md,
# "The fused CPU recurrent layers").
#   bash tests/bench/run_rnn_scaling.sh [build_dir] [repeats] [lengths...]
set -euo pipefail
src=$(cd "$(dirname "$0")/../.." && pwd)
build=${1:-$src/build}; repeats=${2:-3}; shift $(( $# < 2 ? $# : 2 ))
lengths=("$@"); [ ${#lengths[@]} -gt 0 ] || lengths=(25 50 100 200 400)
source "$src/tests/bench/bench_env.sh"
export OMP_NUM_THREADS=1 MALLOC_MMAP_THRESHOLD_=268435456 MALLOC_TRIM_THRESHOLD_=1073741824
args=(channels=2 hidden=32 classes=4 optimizer=adam)
printf '%-8s %14s %14s %8s\n' frames "ours us/frame" "torch us/frame" ratio
for L in "${lengths[@]}"; do
  ours=(); peer=(); pairs=()
  for _ in $(seq "$repeats"); do
    o=$("$build/tests/bench/bench_nn" throughput lstm-classifier 64 8 "${args[@]}" series_min="$L" series_max="$L" 2>/dev/null | field train_samples_per_s)
    p=$(/usr/bin/python3 "$src/tests/bench/nn_peer.py" lstm-classifier 64 8 1 "${args[@]}" series_min="$L" series_max="$L" | field train_samples_per_s)
    ours+=("$(echo "1000000 / ($o * $L)" | bc -l)"); peer+=("$(echo "1000000 / ($p * $L)" | bc -l)")
    pairs+=("$(echo "$o / $p" | bc -l)")
  done
  printf '%-8s %14.2f %14.2f %8.2f\n' "$L" "$(printf '%s\n' "${ours[@]}" | median)" \
    "$(printf '%s\n' "${peer[@]}" | median)" "$(printf '%s\n' "${pairs[@]}" | median)"
done
