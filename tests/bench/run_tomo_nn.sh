#!/usr/bin/env bash
# tomo networks (Xu et al. 2017) at the paper's input size (40³, 23 classes):
# training and feature-extraction samples/s per rank of Inception3D and DSRF3D
# in phenoscale (np=1 and np=2, one thread per rank) against the same network
# in Python PyTorch (python3-torch, one process, one thread), and the training
# FLOP rate as a fraction of one core's FP32 peak.
#   bash tests/bench/run_tomo_nn.sh [build_dir] [batch] [steps]
# FLOPs per sample come from the layer shapes of the network (2 per
# multiply-add of the direct convolution, whatever algorithm the library picks:
# Winograd or FFT tricks do not add network FLOPs; a training step counts 3×
# the forward pass). Peak = one core's FP32 rate measured by an FMA loop
# (`bench_nn peak`), not the nominal clock: a figure above 100 % is an error.
# Like with like: our engine sets the glibc allocator's mmap/trim thresholds
# (nn::configure_threads, mallopt); the peer runs both with the default
# allocator and with the same thresholds through MALLOC_MMAP_THRESHOLD_ /
# MALLOC_TRIM_THRESHOLD_, and the ratio is taken against the tuned peer.
# OPENBLAS_CORETYPE / OPENBLAS_L2_SIZE (which pin OpenBLAS to older kernels)
# are unset for both sides; the peer's BLAS kernel is printed (threadpoolctl).
set -euo pipefail
src=$(cd "$(dirname "$0")/../.." && pwd)
build=${1:-$src/build}; batch=${2:-8}; steps=${3:-4}
source "$src/tests/bench/bench_env.sh"
export OMP_NUM_THREADS=1
TUNED_MALLOC=(MALLOC_MMAP_THRESHOLD_=268435456 MALLOC_TRIM_THRESHOLD_=1073741824)
PY=/usr/bin/python3
BENCH=$build/tests/bench/bench_nn

p=$("$BENCH" peak); peak=$(field peak_gflops <<<"$p")
blas=$("$PY" -c "import numpy, threadpoolctl; print('; '.join(f\"{i['internal_api']} {i.get('version')} {i.get('architecture', '')}\" for i in threadpoolctl.threadpool_info()))")
echo "CPU: $(awk -F: '/model name/ {print $2; exit}' /proc/cpuinfo | xargs); measured FP32 peak per core" \
     "$(printf %.1f "$peak") GFLOP/s ($(grep -o 'unit=[a-z0-9-]*' <<<"$p")); peer BLAS: $blas; load $(cut -d' ' -f1-3 /proc/loadavg)"

# Forward GFLOPs per 40³ sample, from the layer shapes.
gflops() {
  "$PY" - "$1" <<'PY'
import sys
def conv(out_side, cin, cout, k): return 2 * out_side ** 3 * cin * cout * k ** 3
if sys.argv[1] == "inception3d":
    f = conv(36, 1, 32, 5) + conv(18, 32, 32, 1) * 3 + conv(18, 32, 64, 3) + conv(18, 32, 16, 1) \
        + conv(18, 16, 32, 5) + 2 * 160 * 17 ** 3 * 23
else:
    f = conv(40, 1, 32, 3) + conv(40, 32, 32, 3) + conv(20, 32, 64, 3) + conv(20, 64, 64, 3) \
        + 2 * (64000 * 512 + 512 * 512 + 512 * 23)
print(f / 1e9)
PY
}

printf '\n%-12s %6s %11s %14s %11s %11s %11s %8s %8s %8s %9s\n' model np "train/s/rk" "torch tr/s" "tuned tr/s" "ratio" "extract/s/rk" "tuned ex/s" ratio GFLOP/s "of peak"
for arch in inception3d dsrf3d; do
  fwd=$(gflops $arch)
  p0=$("$PY" "$src/tests/bench/nn_peer.py" $arch "$batch" "$steps" 1 size=40 classes=23)
  p=$(env "${TUNED_MALLOC[@]}" "$PY" "$src/tests/bench/nn_peer.py" $arch "$batch" "$steps" 1 size=40 classes=23)
  p0t=$(field train_samples_per_s <<<"$p0")
  pt=$(field train_samples_per_s <<<"$p"); pi=$(field infer_samples_per_s <<<"$p")
  for np in 1 2; do
    o=$(mpirun -n $np --bind-to none "$BENCH" throughput $arch $((batch * np)) "$steps" size=40 classes=23 2>/dev/null)
    ot=$(field train_samples_per_s <<<"$o"); ot=$(echo "$ot / $np" | bc -l)
    oi=$(field infer_samples_per_s <<<"$o"); oi=$(echo "$oi / $np" | bc -l)
    rate=$(echo "$ot * 3 * $fwd" | bc -l)
    printf '%-12s %6s %11.2f %14.2f %11.2f %11.2f %11.2f %11.2f %8.2f %8.1f %8.0f%%\n' $arch $np "$ot" "$p0t" "$pt" \
      "$(echo "$ot / $pt" | bc -l)" "$oi" "$pi" "$(echo "$oi / $pi" | bc -l)" "$rate" "$(echo "100 * $rate / $peak" | bc -l)"
  done
done
echo "forward GFLOP/sample: inception3d $(printf %.2f "$(gflops inception3d)"), dsrf3d $(printf %.2f "$(gflops dsrf3d)");" \
     "per-rank rates at np=2 share the machine's 2 cores; load after $(cut -d' ' -f1-3 /proc/loadavg)"
