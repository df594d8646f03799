#!/usr/bin/env bash
# Deep-learning engine: phenoscale C++ (LibTorch) against the same networks in
# Python PyTorch (python3-torch, the same 1.13 build of the library), one
# process, the same batch, data sizes, optimiser and thread count; then the
# bucketed allreduce overlapped with backward against one allreduce after
# backward on a ≥ 10 M-parameter model at np=2.
#   bash tests/bench/run_nn.sh [build_dir] [threads] [repeats]
# Each figure is the median of `repeats` alternating runs (ours, peer, ours,
# peer, ...); the "pairs" column is the median of the ratios of each pair
# (ours / the peer run right after it), the like-for-like figure on a machine
# whose speed drifts (docs/performance.md, "Correction (2026-12-07)").
# Targets (issue 4): training samples/s ratio ≥ 1.0 for the 3D CNN and ≥ 1.2
# for the bi-LSTMs (gru-tagger, DeepSPT's, has none). The series networks see the same series lengths on both
# sides, training batches bucketed by length and inference batches in order
# of length (as nn::predict forms them; the autoencoder without its decoder),
# inference averaged over infer_passes passes (one pass is ~0.1 s). The peer
# infers under torch.no_grad(); PEER_GRAD=inference_mode gives it
# torch.inference_mode(), which our predict uses.
set -euo pipefail
src=$(cd "$(dirname "$0")/../.." && pwd)
build=${1:-$src/build}; threads=${2:-1}; repeats=${3:-3}
source "$src/tests/bench/bench_env.sh"
export OMP_NUM_THREADS=$threads
# Like with like: our engine sets glibc's mmap/trim thresholds (mallopt in
# nn::configure_threads), so the peer gets the same through the environment.
export MALLOC_MMAP_THRESHOLD_=268435456 MALLOC_TRIM_THRESHOLD_=1073741824
PY=/usr/bin/python3
BENCH=$build/tests/bench/bench_nn
echo "load average before: $(cut -d' ' -f1-3 /proc/loadavg); BLAS: $(readlink -f /usr/lib/x86_64-linux-gnu/libblas.so.3)"


# Both sides warm up one whole epoch (8 batches of the 8 * batch samples)
# and the series networks are timed over whole epochs, so both train exactly
# the same series, every batch shape already met. Until 2026-12-07 the
# warm-up was 2 steps and lstm-classifier timed 10 steps, the autoencoder 5:
# our timed run (every nn::train call restarts at epoch 0) began with the
# warm-up's two batches again, the peer's with new ones, and the part of an
# epoch timed held other series lengths on each side (docs/performance.md,
# "Correction (2026-12-07)").
CASES=(
  "cnn3d-small 16 10 size=32 channels=8 classes=4 optimizer=sgd"
  "lstm-classifier 64 16 channels=2 hidden=32 classes=4 optimizer=adam infer_passes=5"
  # bidirectional_encoder=0: the encoder nn_peer.py builds (BiLSTM -> LSTM ->
  # LSTM); ours defaults to a bidirectional one since 2026-12-02.
  "guided-bilstm-ae 128 8 channels=1 classes=6 optimizer=rmsprop infer_passes=5 bidirectional_encoder=0"
  # ... and the default network, the paper's: every encoder layer bidirectional.
  "guided-bilstm-ae 128 8 channels=1 classes=6 optimizer=rmsprop infer_passes=5 bidirectional_encoder=1"
  # DeepSPT's event tagger (spt event-train): bi-GRU 5 x 25, one class per frame.
  "gru-tagger 64 16 channels=2 classes=2 optimizer=adam infer_passes=5"
)
printf '\n%-22s %7s %12s %12s %7s %7s %12s %12s %7s %7s\n' model batch "ours train/s" "torch py/s" ratio pairs "ours infer/s" "py infer/s" ratio pairs
for c in "${CASES[@]}"; do
  set -- $c
  if [ "$1" != cnn3d-small ] && (( $3 % 8 != 0 )); then echo "run_nn.sh: $1 times $3 steps; expected whole epochs (a multiple of 8)" >&2; exit 2; fi
  ours_t=(); peer_t=(); ours_i=(); peer_i=(); pair_t=(); pair_i=()
  for _ in $(seq "$repeats"); do
    o=$("$BENCH" throughput "$@" 2>/dev/null); p=$("$PY" "$src/tests/bench/nn_peer.py" "$1" "$2" "$3" "$threads" "${@:4}" "peer_grad=${PEER_GRAD:-no_grad}")
    ours_t+=("$(field train_samples_per_s <<<"$o")"); peer_t+=("$(field train_samples_per_s <<<"$p")")
    ours_i+=("$(field infer_samples_per_s <<<"$o")"); peer_i+=("$(field infer_samples_per_s <<<"$p")")
    pair_t+=("$(echo "${ours_t[-1]}/${peer_t[-1]}" | bc -l)"); pair_i+=("$(echo "${ours_i[-1]}/${peer_i[-1]}" | bc -l)")
  done
  ot=$(printf '%s\n' "${ours_t[@]}" | median); pt=$(printf '%s\n' "${peer_t[@]}" | median)
  oi=$(printf '%s\n' "${ours_i[@]}" | median); pi=$(printf '%s\n' "${peer_i[@]}" | median)
  label=$1; [[ "$c" == *bidirectional_encoder=0* ]] && label="$1 (uni)"
  params=$(field params <<<"$o"); params="$params / $(field params <<<"$p")"  # ours / peer: the same network
  printf '%-22s %7s %12.1f %12.1f %7.2f %7.2f %12.1f %12.1f %7.2f %7.2f   params %s\n' "$label" "$2" "$ot" "$pt" \
    "$(echo "$ot/$pt" | bc -l)" "$(printf '%s\n' "${pair_t[@]}" | median)" "$oi" "$pi" "$(echo "$oi/$pi" | bc -l)" \
    "$(printf '%s\n' "${pair_i[@]}" | median)" "$params"
done

echo
echo "Overlapped bucketed allreduce vs one allreduce after backward, np=2 × $threads thread(s):"
printf '%-30s %10s %14s %12s %14s %12s\n' model bucket "overlap step s" "exposed s" "after step s" "exposed s"
for c in "mlp 64 20 inputs=1024 hidden=2048 layers=3 classes=10 bucket_mib=25" \
         "mlp 64 20 inputs=1024 hidden=2048 layers=3 classes=10 bucket_mib=4" \
         "dsrf3d 8 5 size=32 classes=23 bucket_mib=25"; do
  set -- $c
  on=(); onw=(); off=(); offw=()
  for _ in $(seq "$repeats"); do
    o=$(mpirun -n 2 --bind-to none "$BENCH" overlap "$@" 2>/dev/null)
    on+=("$(field overlapped_step_s <<<"$o")"); onw+=("$(field overlapped_wait_s <<<"$o")")
    off+=("$(field after_backward_step_s <<<"$o")"); offw+=("$(field after_backward_wait_s <<<"$o")")
    params=$(field params <<<"$o")
  done
  printf '%-30s %10s %14.4f %12.4f %14.4f %12.4f\n' "$1 ($params params)" "${*: -1}" \
    "$(printf '%s\n' "${on[@]}" | median)" "$(printf '%s\n' "${onw[@]}" | median)" \
    "$(printf '%s\n' "${off[@]}" | median)" "$(printf '%s\n' "${offw[@]}" | median)"
done
echo "load average after: $(cut -d' ' -f1-3 /proc/loadavg)"
