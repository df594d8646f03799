#!/usr/bin/env bash
# tomo rif-svm (the RIF-SVM baseline of Xu et al. 2017's Table 2) on planted data:
# three distinct classes (a ring, a filament stub, an empty box) at high SNR
# are classified far above chance from rotation-invariant features alone;
# the test rows are the CNN trainer's split (train.test_fraction of a seeded
# permutation); 1 and 2 ranks give the same features, (C, gamma) and
# predictions; a deck without test rows, with too many shells or an empty
# C grid fails with one clear line.
source "$(dirname "$0")/common.bash"
cd "$WORK"
DECK=$SRC/inputs/tomo/demo.toml
COMMON=(-c "$DECK" --set run.output_dir=. --set 'structures.classes=[2, 13, 22]' --set structures.box=16
        --set structures.voxel_nm=2.0 --set structures.resolution_nm=4.0 --set simulate.samples_per_class=60
        --set simulate.snr=10 --set simulate.max_shift_voxels=1 --set train.test_fraction=0.3)
for stage in structures simulate; do
  run_np 2 -q tomo "$stage" "${COMMON[@]}" || fail "tomo $stage"
done
run_np 2 tomo rif-svm "${COMMON[@]}" > log2.txt 2>&1 || { fail "tomo rif-svm on 2 ranks"; cat log2.txt; }
grep -q "test accuracy" log2.txt && pass "log line: $(grep -o 'C = .*' log2.txt)" || fail "no accuracy log line"
run_np 1 -q tomo rif-svm "${COMMON[@]}" --set rif_svm.output=rif_svm_np1.h5 || fail "tomo rif-svm on 1 rank"
if "$PY" - <<'PY'
import h5py, numpy as np
f = h5py.File("rif_svm.h5", "r"); g = h5py.File("rif_svm_np1.h5", "r")
acc = float(f.attrs["test_accuracy"]); conf = f["/confusion"][()]
assert f["/features"].shape == (180, 7 * 5), f["/features"].shape      # 7 shells x degrees 0,2,4,6,8
assert f["/test_rows"].shape == (54,) and conf.sum() == 54, conf          # round(0.3 * 180)
assert conf.shape == (3, 3)
assert int(f.attrs["degree"]) == 8 and int(f.attrs["shells"]) == 7
assert np.array_equal(f["/features"][()], g["/features"][()]), "features differ between 1 and 2 ranks"
assert np.array_equal(f["/predicted"][()], g["/predicted"][()]), "predictions differ between 1 and 2 ranks"
assert f.attrs["C"] == g.attrs["C"] and f.attrs["gamma"] == g.attrs["gamma"]
labels = h5py.File("subtomograms.h5", "r")["/class_rows"][()]
assert np.array_equal(labels[f["/test_rows"][()]], f["/test_labels"][()])
print(f"test accuracy {acc:.3f} (chance 0.333), train {float(f.attrs['train_accuracy']):.3f}, "
      f"C {f.attrs['C']}, gamma {f.attrs['gamma']:.4f}; confusion {conf.tolist()}")
assert acc > 0.85, acc
PY
then pass "RIF-SVM far above chance, identical at 1 and 2 ranks"; else fail "rif-svm output"; fi
expect_deck_error "no test rows" "leaves no test rows" 2 tomo rif-svm "${COMMON[@]}" --set train.test_fraction=0 \
  --set rif_svm.output=none.h5
expect_deck_error "too many shells" "rif_svm.shells = 9" 2 tomo rif-svm "${COMMON[@]}" --set rif_svm.shells=9 \
  --set rif_svm.output=none.h5
expect_deck_error "an empty C grid" "rif_svm.log2_c is empty; expected at least one value" 2 tomo rif-svm "${COMMON[@]}" \
  --set 'rif_svm.log2_c=[]' --set rif_svm.output=none.h5
finish
