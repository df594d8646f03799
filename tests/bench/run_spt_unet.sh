#!/usr/bin/env bash
# spt segmentation network (DeepSPT 1D U-Net, docs/methods.md §2.2): phenoscale
# C++ (LibTorch) training and inference samples/s against the same network in
# Python PyTorch (tests/bench/nn_peer.py, python3-torch, the same 1.13 build
# of the library), one process, the same threads, batch, series, optimiser.
#   bash tests/bench/run_spt_unet.sh [build_dir] [repeats] [thread counts, default "1 2"]
# Both sides see identical batches: the same series lengths (5–199 frames,
# the peer replays bench_nn's Philox draw; `frames` is checked equal), training
# batches bucketed by length like the DistributedSampler, inference batches in
# storage order. STEPS is a multiple of the 8 batches per epoch, so every
# timed run covers whole epochs (the same padded frames on both sides);
# inference is timed over infer_passes passes over the 8·batch series.
# Our figure is the whole engine step (sampler, collation, forward, masked
# per-frame cross-entropy, backward, gradient synchronisation, Adam on the
# flat buffer) and nn::predict (eval, no-grad, real frames, softmax).
# The peer runs twice: glibc's default allocator, and "tuned" with the
# mallopt settings nn::configure_threads applies to ours (mmap threshold
# 256 MiB, trim threshold 1 GiB); the ratio is against the tuned peer.
# Each figure is the median of `repeats` alternating runs (ours, peer,
# tuned peer, ...). Target (acceptance): ratio ≥ 1.0 for training and
# inference. "cpu×" is the same ratio in samples per CPU-second of each
# process over the timed part (tuned peer's CPU seconds / ours): at one
# thread it hardly moves when other jobs share the cores, the wall-clock
# ratio does (at two threads both include OpenMP's spin-waiting). unet1d-paper2d (130 channels, depth 4, kernel 7) is measured
# for inference only, at batch 4: training it is too slow for this machine.
set -euo pipefail
src=$(cd "$(dirname "$0")/../.." && pwd)
build=${1:-$src/build}; repeats=${2:-3}; thread_counts=${3:-1 2}
source "$src/tests/bench/bench_env.sh"
PY=/usr/bin/python3
PEER=$src/tests/bench/nn_peer.py
BENCH=$build/tests/bench/bench_nn
TUNED=(env MALLOC_MMAP_THRESHOLD_=268435456 MALLOC_TRIM_THRESHOLD_=1073741824)
echo "CPU: $(lscpu | sed -n 's/^Model name: *//p') ($(nproc) cores); BLAS: $(readlink -f /usr/lib/x86_64-linux-gnu/libblas.so.3)"
echo "load average before: $(cut -d' ' -f1-3 /proc/loadavg)"

med() { printf '%s\n' "$@" | median; }
ratio() { if [ "$1" = "-" ]; then echo "-"; else printf '%.2f' "$(echo "$1/$2" | bc -l)"; fi; }
num() { if [ "$1" = "-" ]; then echo "-"; else printf '%.1f' "$1"; fi; }

# ARCH BATCH STEPS key=value...   (STEPS 0: inference only)
CASES=(
  "unet1d 32 32 inputs=4 optimizer=adam series_min=5 series_max=199 infer_passes=5"
  "unet1d-paper3d 32 16 inputs=5 optimizer=adam series_min=5 series_max=199 infer_passes=3"
  "unet1d-paper2d 4 0 inputs=4 optimizer=adam series_min=5 series_max=199 infer_passes=1"
)
printf '\n%-15s %3s %5s %9s %9s %9s %6s %5s %9s %9s %9s %6s %5s %10s\n' model thr batch "ours tr/s" "py tr/s" "pyT tr/s" \
  ratio "cpu×" "ours in/s" "py in/s" "pyT in/s" ratio "cpu×" params
for threads in $thread_counts; do
  export OMP_NUM_THREADS=$threads
  for c in "${CASES[@]}"; do
    set -- $c
    ot=(); pt=(); tt=(); oi=(); pi=(); ti=(); oc=(); tc=(); oic=(); tic=()
    for _ in $(seq "$repeats"); do
      o=$("$BENCH" throughput "$@" 2>/dev/null)
      p=$("$PY" "$PEER" "$1" "$2" "$3" "$threads" "${@:4}")
      q=$("${TUNED[@]}" "$PY" "$PEER" "$1" "$2" "$3" "$threads" "${@:4}")
      for x in "$p" "$q"; do
        of=$(field frames <<<"$o"); xf=$(field frames <<<"$x"); op=$(field params <<<"$o"); xp=$(field params <<<"$x")
        if [ "$of" != "$xf" ] || [ "$op" != "$xp" ]; then
          echo "mismatch between ours and the peer: $o / $x" >&2; exit 1
        fi
      done
      if [ "$3" -gt 0 ]; then
        ot+=("$(field train_samples_per_s <<<"$o")"); pt+=("$(field train_samples_per_s <<<"$p")")
        tt+=("$(field train_samples_per_s <<<"$q")")
        oc+=("$(field train_cpu_s <<<"$o")"); tc+=("$(field train_cpu_s <<<"$q")")
      fi
      oi+=("$(field infer_samples_per_s <<<"$o")"); pi+=("$(field infer_samples_per_s <<<"$p")")
      ti+=("$(field infer_samples_per_s <<<"$q")")
      oic+=("$(field infer_cpu_s <<<"$o")"); tic+=("$(field infer_cpu_s <<<"$q")")
      params=$(field params <<<"$o")
    done
    if [ "$3" -gt 0 ]; then
      a=$(med "${ot[@]}"); b=$(med "${pt[@]}"); t=$(med "${tt[@]}"); g=$(med "${tc[@]}"); h=$(med "${oc[@]}")
    else a=-; b=-; t=-; g=-; h=1; fi
    d=$(med "${oi[@]}"); e=$(med "${pi[@]}"); f=$(med "${ti[@]}")
    printf '%-15s %3s %5s %9s %9s %9s %6s %5s %9.1f %9.1f %9.1f %6.2f %5.2f %10s\n' "$1" "$threads" "$2" "$(num "$a")" \
      "$(num "$b")" "$(num "$t")" "$(ratio "$a" "$t")" "$(ratio "$g" "$h")" "$d" "$e" "$f" "$(echo "$d/$f" | bc -l)" \
      "$(echo "$(med "${tic[@]}")/$(med "${oic[@]}")" | bc -l)" "$params"
  done
done
echo "ratio = ours / tuned peer, samples/s (py: default glibc allocator; pyT: same mallopt settings as ours);" \
     "cpu× = tuned peer CPU-s / ours CPU-s"
echo "load average after: $(cut -d' ' -f1-3 /proc/loadavg)"
