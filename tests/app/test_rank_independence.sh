#!/usr/bin/env bash
# The same deck gives the same dataset at 1, 2 and 3 ranks (bit-identical,
# checked with h5diff), and the summary agrees to round-off; then the demo
# chain's known answers: planted centres and diffusion coefficient recovered;
# ml embed (t-SNE, 3-D UMAP) of the same features is bit-identical too, and a
# t-SNE stopped by a signal exits 75 with nothing written; and
# postprocess/data_report.py, the demo's first report, on that run.
source "$(dirname "$0")/common.bash"
cd "$WORK"
DECK=$SRC/inputs/data/demo.toml
for np in 1 2 3; do
  run_np "$np" -q data generate -c "$DECK" --set run.output_dir="np$np" || fail "generate at np=$np"
  run_np "$np" -q data summarize -c "$DECK" --set run.output_dir="np$np" || fail "summarize at np=$np"
done
report_runs "data report on the demo deck" data_report.py np1
for np in 2 3; do
  for ds in /features /labels /centres /tracks/values /tracks/offsets; do
    if h5diff -q np1/samples.h5 "np$np/samples.h5" "$ds" "$ds"; then
      pass "np=$np $ds bit-identical to np=1"
    else
      fail "np=$np $ds differs from np=1"
    fi
  done
done
if "$PY" - <<'PY'
import h5py, numpy as np, sys
ref = h5py.File("np1/summary.h5", "r")
ok = True
for np_ in (2, 3):
    f = h5py.File(f"np{np_}/summary.h5", "r")
    # Sums in double over a different rank split: equal to round-off.
    for key in ("centre_recovery_rmse", "diffusion_coefficient_estimate_um2_s"):
        a, b = ref.attrs[key], f.attrs[key]
        if abs(a - b) > 1e-12 * max(1.0, abs(a)):
            print(f"np={np_} {key}: {b} vs {a}"); ok = False
    if not np.allclose(ref["cluster_means"][...], f["cluster_means"][...], rtol=0, atol=1e-12):
        print(f"np={np_} cluster_means differ"); ok = False
    if not (ref["cluster_sizes"][...] == f["cluster_sizes"][...]).all():
        print(f"np={np_} cluster_sizes differ"); ok = False
# Known answers of the planted structure: per-cluster means are within a few
# standard errors (noise 1 / sqrt(1000 samples) ~ 0.03) of the centres, and the
# lag-1 MSD estimate of D over ~550,000 steps is within 1% of the planted 0.1.
rmse = ref.attrs["centre_recovery_rmse"]
d_est = ref.attrs["diffusion_coefficient_estimate_um2_s"]
print(f"centre RMSE {rmse:.4f}, D estimate {d_est:.5f}")
ok &= rmse < 0.1 and abs(d_est - 0.1) < 0.001
sys.exit(0 if ok else 1)
PY
then pass "summary identical across rank counts and planted structure recovered"; else fail "summary check"; fi
# ml embed gathers the rows to rank 0, which embeds alone: t-SNE and a 3-D
# UMAP are bit-identical at 1, 2 and 3 ranks (a gather out of rank order
# would change them), and both keep the planted clusters apart (10-NN label
# agreement in the embedding, 5-fold).
for np in 1 2 3; do
  run_np "$np" -q ml embed --input np1/samples.h5:/features --set run.output_dir="tsne$np" --set embed.iterations=300 \
    || fail "ml embed t-SNE at np=$np"
  run_np "$np" -q ml embed --input np1/samples.h5:/features --set run.output_dir="umap$np" --set embed.method=umap \
    --set embed.components=3 --set embed.epochs=50 2>/dev/null || fail "ml embed UMAP at np=$np"
done
for np in 2 3; do
  for m in tsne umap; do
    if h5diff -q "${m}1/embed.h5" "$m$np/embed.h5" /embedding /embedding; then
      pass "ml embed $m: np=$np bit-identical to np=1"
    else fail "ml embed $m: np=$np differs from np=1"; fi
  done
done
if "$PY" - <<'PY'
import h5py, sys
from sklearn.model_selection import cross_val_score
from sklearn.neighbors import KNeighborsClassifier
y = h5py.File("np1/samples.h5", "r")["labels"][:]
ok = True
for m, dims in (("tsne", 2), ("umap", 3)):
    e = h5py.File(f"{m}1/embed.h5", "r")["embedding"][:]
    score = cross_val_score(KNeighborsClassifier(10), e, y, cv=5).mean()
    print(f"{m}: embedding {e.shape}, 10-NN agreement with the planted clusters {score:.3f}")
    ok &= e.shape == (y.size, dims) and score >= 0.99
sys.exit(0 if ok else 1)
PY
then pass "ml embed keeps the planted clusters apart"; else fail "ml embed: planted clusters not kept apart"; fi
# A stop signal while rank 0 embeds (Slurm's warning before the time limit;
# placed at the descent's first progress line by common.bash's stop_at):
# the t-SNE descent ends at once, the stage exits 75 with no embed.h5, and the
# same command run again gives the uninterrupted embedding bit for bit.
stop_at emb.log "^t-SNE iterations: [0-9]*/" ml embed --input np1/samples.h5:/features --set run.output_dir=tsne_stop \
  --set embed.iterations=300 --set run.progress_interval_s=0.2
preempted "ml embed's t-SNE" emb.log "ml embed" tsne_stop embed.h5
grep -q "t-SNE iterations: stopped by a signal at [0-9]*/300" emb.log \
  && pass "t-SNE: the descent left at the signal ($(grep -o 'stopped by a signal at [0-9]*/300' emb.log))" \
  || fail "t-SNE: no 'stopped by a signal' line: $(grep 't-SNE' emb.log | tail -1)"
run_np 2 -q ml embed --input np1/samples.h5:/features --set run.output_dir=tsne_stop --set embed.iterations=300 \
  || fail "ml embed t-SNE rerun"
h5diff -q tsne1/embed.h5 tsne_stop/embed.h5 /embedding /embedding && pass "t-SNE rerun after the stop: bit-identical" \
  || fail "t-SNE rerun after the stop differs"
# Provenance records the rank count and the resolved deck.
if "$BIN" info np3/samples.h5 | grep -qE "mpi_ranks = 3$" && "$BIN" info --deck np3/samples.h5 | grep -qE "^ *samples = 5000( |$)"; then
  pass "provenance shows mpi_ranks and the resolved deck"
else
  fail "provenance"
fi
finish
