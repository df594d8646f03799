#!/usr/bin/env bash
# DSRF3D (Xu et al. 2017) under three optimisers on the same
# simulated tilt-series subtomograms (inputs/tomo/table2.toml, SNR 0.1, 24³):
# the deck's Adam 1e-4 (batch 32), the paper's SGD (Nesterov 0.9, lr 0.01,
# decay 1e-6, batch 64), and the paper's SGD with a linear warm-up
# (train.warmup_steps) and gradient-norm clipping (train.clip_grad_norm).
# Validation split only (the test half is not looked at). Prints, per run,
# the first-epoch training loss, the last training loss and accuracy, and
# the best and last validation accuracy.
#   bash tests/bench/run_tomo_dsrf_optimizers.sh [build_dir] [samples_per_class] [epochs] [ranks]
#   bash tests/bench/run_tomo_dsrf_optimizers.sh build 100 8    # ~15 min of 2 cores
# WARMUP and CLIP (environment) change the third run (defaults 30 steps, 1.0).
set -euo pipefail
src=$(cd "$(dirname "$0")/../.." && pwd)
build=${1:-$src/build}; per_class=${2:-100}; epochs=${3:-8}; ranks=${4:-2}
source "$src/tests/bench/bench_env.sh"
PY=/usr/bin/python3
BIN=$build/bin/phenoscale
DECK=$src/inputs/tomo/table2.toml
OUT=${OUT:-$src/runs/dsrf_optimizers}
warmup=${WARMUP:-30}; clip=${CLIP:-1.0}
echo "load average before: $(cut -d' ' -f1-3 /proc/loadavg); $per_class per class, $epochs epochs, $ranks rank(s)"
rm -rf "$OUT"   # no stale checkpoint may resume a previous run
common=(-c "$DECK" --set run.output_dir="$OUT" --set simulate.snr=0.1 --set simulate.samples_per_class="$per_class")
mpirun -n "$ranks" "$BIN" -q tomo structures "${common[@]}"
mpirun -n "$ranks" "$BIN" -q tomo simulate "${common[@]}"
SGD=(--set train.optimizer=sgd --set train.learning_rate=0.01 --set train.momentum=0.9 --set train.nesterov=true
     --set train.decay=1e-6 --set train.batch_size=64)
declare -A RUNS=(
  [adam_1e-4]="--set train.learning_rate=1e-4"
  [sgd_paper]="${SGD[*]}"
  [sgd_paper_warmup_clip]="${SGD[*]} --set train.warmup_steps=$warmup --set train.clip_grad_norm=$clip")
for name in adam_1e-4 sgd_paper sgd_paper_warmup_clip; do
  t0=$(date +%s)
  # shellcheck disable=SC2086  # RUNS: "--set k=v" words
  mpirun -n "$ranks" "$BIN" tomo train "${common[@]}" --set run.output_dir="$OUT/$name" \
    --set train.input="$OUT/subtomograms.h5" --set model.architecture=dsrf3d --set train.epochs="$epochs" \
    --set train.patience=0 ${RUNS[$name]} > "$OUT/$name.log" 2>&1 || echo "$name failed: $(tail -1 "$OUT/$name.log")"
  echo "$name: $(( $(date +%s) - t0 )) s"
done
echo
echo "DSRF3D, $per_class per class x 10 classes, SNR 0.1, $epochs epochs (chance: 0.1):"
echo
"$PY" - "$OUT" adam_1e-4 sgd_paper sgd_paper_warmup_clip <<'PY'
import csv, sys
out = sys.argv[1]
print("| run | train loss epoch 1 | train loss / accuracy, last epoch | validation accuracy best (epoch) / last |")
print("|---|---|---|---|")
for name in sys.argv[2:]:
    try:
        rows = list(csv.DictReader(open(f"{out}/{name}/training.csv")))
    except OSError:
        print(f"| {name} | – | – | – (no metrics) |")
        continue
    best = max(rows, key=lambda r: float(r["validation_accuracy"]))
    first, last = rows[0], rows[-1]
    print(f"| {name} | {float(first['train_loss']):.3g} | {float(last['train_loss']):.4f} / {float(last['train_accuracy']):.3f} "
          f"| {float(best['validation_accuracy']):.2f} ({best['epoch']}) / {float(last['validation_accuracy']):.2f} |")
PY
echo
echo "load average after: $(cut -d' ' -f1-3 /proc/loadavg)"
