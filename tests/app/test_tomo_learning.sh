#!/usr/bin/env bash
# tomo train → extract → subdivide on 2 ranks with planted answers: three
# distinct classes (a ring, a straight filament rod, an empty box) at high SNR are classified far above chance, the
# structural features separate them (each class has a k-means cluster it
# dominates), the confusion matrix counts every subtomogram once, and
# train.exclude_classes leaves a class out of training. Then tomo recover and
# postprocess/tomo_report.py, the README demo's last step, on that chain.
source "$(dirname "$0")/common.bash"
cd "$WORK"
DECK=$SRC/inputs/tomo/demo.toml
COMMON=(-c "$DECK" --set run.output_dir=. --set 'structures.classes=[2, 13, 22]' --set structures.box=16
        --set structures.voxel_nm=2.0 --set structures.resolution_nm=4.0 --set simulate.samples_per_class=60
        --set simulate.snr=10 --set simulate.max_shift_voxels=1 --set model.architecture=dsrf3d --set model.dsrf3d.size=16
        --set model.dsrf3d.classes=3 --set train.epochs=8 --set train.learning_rate=1e-3 --set train.test_fraction=0.3
        --set subdivide.k=3)
for stage in structures simulate train extract subdivide; do
  run_np 2 -q tomo "$stage" "${COMMON[@]}" || fail "tomo $stage"
done
run_np 2 -q tomo recover "${COMMON[@]}" || fail "tomo recover"
report_runs "tomo report on the demo's chain (3 classes)" tomo_report.py .
if "$PY" - <<'PY'
import h5py, numpy as np
m = h5py.File("model.h5", "r"); p = h5py.File("predictions.h5", "r"); s = h5py.File("subdivide.h5", "r")
test_acc = float(m.attrs["test_accuracy"]); conf = p["/confusion"][()]
assert m.attrs["architecture"] in (b"dsrf3d", "dsrf3d")
assert conf.shape == (3, 3) and conf.sum() == 180, conf
assert p["/features"].shape == (180, 3)
frac = s["/most_enriched_fraction"][()]
print(f"held-out test accuracy {test_acc:.3f} (chance 0.333); confusion {conf.tolist()}; cluster purity {frac.round(2).tolist()}")
assert test_acc > 0.85, test_acc
assert (frac > 0.8).all(), frac
# subdivide.star, read by gemmi: every subtomogram once, its k-means cluster + 1.
import gemmi
table = gemmi.cif.read_file("subdivide.star").sole_block().find(["_phenoscaleRow", "_rlnClassNumber"])
rows = [int(r[0]) for r in table]; classes = np.array([int(r[1]) for r in table])
assert rows == list(range(180)), rows[:5]
assert (classes == s["/labels"][()] + 1).all()
PY
then pass "DSRF3D far above chance; features separate the classes; subdivide.star"; else fail "tomo learning chain quality"; fi
out=$(run_np 2 tomo train "${COMMON[@]}" --set run.output_dir=loo --set train.input=subtomograms.h5 --set 'train.exclude_classes=[2]' \
      --set train.epochs=1 2>&1) || fail "leave-one-class-out training"
grep -q "120 samples after leaving out classes \[2\]" <<<"$out" && pass "train.exclude_classes leaves class 2 out (120 of 180 samples)" \
  || fail "exclude_classes: $(grep 'train:' <<<"$out" | head -2)"
expect_deck_error "subdivide.k above the subtomograms" "subdivide.k = 500 exceeds the 180 subtomograms" 2 tomo subdivide \
  "${COMMON[@]}" --set run.output_dir=bad --set subdivide.input=predictions.h5 --set subdivide.labels_input=subtomograms.h5 \
  --set subdivide.k=500
expect_error "model size mismatch" "expects [40, 40, 40]" 2 tomo train "${COMMON[@]}" --set run.output_dir=bad --set train.input=subtomograms.h5 \
  --set model.dsrf3d.size=40
# A NaN voxel in one subtomogram: one error line naming file, dataset and sample.
"$PY" - <<'PY'
import h5py, numpy as np, shutil
shutil.copy("subtomograms.h5", "nan.h5")
with h5py.File("nan.h5", "r+") as f:
    v = f["/subtomograms"][7]; v[3, 4, 5] = np.nan; f["/subtomograms"][7] = v
PY
expect_error "NaN voxel" "nan.h5:/subtomograms: NaN value in sample 7" 2 tomo train "${COMMON[@]}" --set run.output_dir=bad \
  --set train.input=nan.h5
finish
