#!/usr/bin/env bash
# Bad input: every case must end all ranks with one line naming the file or
# key, a non-zero exit code, no hang (2 ranks, some failures on rank 1 only),
# and no output file under its final name.
source "$(dirname "$0")/common.bash"
cd "$WORK"
DECK=$SRC/inputs/data/demo.toml
SMALL=(--set generate.samples=5000 --set generate.max_frames=40)

# A valid input to corrupt.
run_np 2 data generate -c "$DECK" "${SMALL[@]}" --set run.output_dir=good -q || { fail "setup"; finish; exit 1; }

# --- input decks ---------------------------------------------------------------
expect_deck_error "missing deck" "nope.toml: no such input deck" 2 data generate -c nope.toml
expect_deck_error "empty -c" "-c/--config is empty; expected an input deck (TOML file)" 2 data generate -c ""
mkdir -p deck_dir
expect_deck_error "deck is a directory" "deck_dir: is a directory; expected an input deck (TOML file)" 2 data generate -c deck_dir
printf '[generate]\nsampels = 10\n' > typo.toml
expect_deck_error "unknown deck key" "typo.toml: unknown key 'generate.sampels' (did you mean 'generate.samples'?)" 2 \
  data generate -c typo.toml
expect_deck_error "out-of-range value" "key 'generate.features' = 0 is out of range" 2 \
  data generate --set generate.features=0
expect_deck_error "wrong value type" "expected integer for 'generate.samples'" 2 \
  data generate --set generate.samples=many
expect_deck_error "an infinite value" "key 'generate.dt_s' is infinite; expected a finite number" 2 \
  data generate --set generate.dt_s=inf --set run.output_dir=out0
expect_deck_error "a NaN value" "key 'generate.dt_s' is NaN; expected a finite number" 2 \
  data generate --set generate.dt_s=nan --set run.output_dir=out0
expect_deck_error "inconsistent keys" "generate.min_frames = 50 exceeds generate.max_frames = 40" 2 \
  data generate --set generate.min_frames=50 --set generate.max_frames=40 --set run.output_dir=out0
for tool in kmeans knn communities embed; do
  expect_deck_error "ml $tool without input" "$tool.input is empty" 2 ml "$tool"
done
printf '[generate\nsamples = 1\n' > broken.toml
expect_deck_error "TOML syntax" "broken.toml:1:" 2 data generate -c broken.toml
# The preemption drill's pattern (docs/slurm.md) is checked before any work.
PHENOSCALE_STOP_AT_LINE='(' expect_deck_error "bad PHENOSCALE_STOP_AT_LINE" \
  "PHENOSCALE_STOP_AT_LINE = '(': expected a regular expression" 1 data generate --set run.output_dir=out_drill
[ ! -e out_drill ] && pass "bad PHENOSCALE_STOP_AT_LINE: nothing written" || fail "bad PHENOSCALE_STOP_AT_LINE: out_drill written"
# So is the error agreement's grace (docs/cli.md), on every rank alike.
PHENOSCALE_AGREEMENT_GRACE=soon expect_deck_error "bad PHENOSCALE_AGREEMENT_GRACE" \
  "PHENOSCALE_AGREEMENT_GRACE = 'soon': expected a number of seconds, at least 0.1" 2 \
  data generate --set run.output_dir=out_grace
[ ! -e out_grace ] && pass "bad PHENOSCALE_AGREEMENT_GRACE: nothing written" || fail "bad PHENOSCALE_AGREEMENT_GRACE: out_grace written"

# --- HDF5 inputs ---------------------------------------------------------------
expect_error "missing input file" "$WORK/none.h5: no such file" 2 \
  data summarize --set summarize.input="$WORK/none.h5" --set run.output_dir=out1
echo "not hdf5" > text.h5
expect_error "not HDF5" "text.h5: not an HDF5 file" 2 \
  data summarize --set summarize.input=text.h5 --set run.output_dir=out2
head -c 20000 good/samples.h5 > truncated.h5
expect_error "truncated HDF5" "truncated.h5: cannot open HDF5 file (truncated or corrupt?)" 2 \
  data summarize --set summarize.input=truncated.h5 --set run.output_dir=out3

"$PY" - <<'PY'
import h5py, numpy as np, shutil
for name in ("dtype", "shape", "nan"):
    shutil.copy("good/samples.h5", f"{name}.h5")
with h5py.File("dtype.h5", "r+") as f:
    x = f["features"][...]
    del f["features"]
    f["features"] = x.astype(np.int64)
with h5py.File("shape.h5", "r+") as f:
    c = f["centres"][...]
    del f["centres"]
    f["centres"] = c[:, :3]
with h5py.File("nan.h5", "r+") as f:
    # The last sample belongs to rank 1 at 2 ranks: rank 0's data is fine.
    f["features"][4999, 5] = np.nan
PY
expect_error "wrong dtype" "dtype.h5:/features: expected dtype float32, found int64" 2 \
  data summarize --set summarize.input=dtype.h5 --set run.output_dir=out4
expect_error "wrong shape" "shape.h5:/centres: expected samples of shape [8], found [3]" 2 \
  data summarize --set summarize.input=shape.h5 --set run.output_dir=out5
expect_error "NaN on rank 1 only" "nan.h5:/features: NaN value in sample 4999 (element 5)" 2 \
  data summarize --set summarize.input=nan.h5 --set run.output_dir=out6
for d in out1 out2 out3 out4 out5 out6; do
  if [ -e "$d/summary.h5" ]; then fail "$d/summary.h5 exists after a failed run"; fi
done

# --- MRC -----------------------------------------------------------------------
"$PY" - <<'PY'
import numpy as np, struct
header = bytearray(1024)
struct.pack_into("<3i", header, 0, 8, 8, 8)
struct.pack_into("<i", header, 12, 7)          # mode 7 does not exist
struct.pack_into("<3i", header, 28, 8, 8, 8)
header[208:212] = b"MAP "
header[212:214] = b"\x44\x44"
open("badmode.mrc", "wb").write(bytes(header) + np.zeros(512, np.float32).tobytes())
struct.pack_into("<i", header, 12, 2)
open("short.mrc", "wb").write(bytes(header) + np.zeros(100, np.float32).tobytes())
PY
expect_error "MRC bad mode" "badmode.mrc:" 2 info badmode.mrc
expect_error "MRC shorter than its header says" "short.mrc: MRC header says 8x8x8 voxels" 2 info short.mrc
# String-array attributes (h5py, MATLAB cell strings) are named by info, not read into one string's buffer.
"$PY" -c "import h5py, numpy as np
with h5py.File('strings.h5', 'w') as f:
    f['x'] = np.zeros(3)
    f['x'].attrs['names'] = ['a', 'bb', 'ccc']
    f['x'].attrs['fixed'] = np.array([b'ab', b'cd'], dtype='S2')"
out=$(run_np 1 info strings.h5 2>&1) && grep -q "names = string array of 3" <<<"$out" && grep -q "fixed = string array of 2" <<<"$out" \
  && pass "info: string-array attributes named" || fail "info on string-array attributes: $out"

# --- spectral methods (PETSc/SLEPc) -----------------------------------------------
# Gaussian weights that underflow leave vertices of degree 0, where
# D^-1/2 W D^-1/2 is undefined; the error is agreed before PETSc is touched.
expect_error "spectral: vertices of degree 0" "graph vertices have weighted degree 0 (first: vertex 0)" 2 \
  ml communities --input good/samples.h5:/features --set communities.method=spectral \
  --set communities.weights=gaussian --set communities.sigma=1e-6 --set run.output_dir=out_spectral
expect_deck_error "t-SNE with the spectral start" 'embed.initialisation = "spectral" is UMAP'"'"'s' 2 \
  ml embed --input good/samples.h5:/features --set embed.initialisation=spectral --set run.output_dir=out_tsne

# --- an error every rank hits outside an agreement -----------------------------------
# (here a subtomogram file without its acquisition attributes, read by every
# rank): the ranks' vote finds they all failed, so one line and a clean exit,
# not one line per rank and an MPI abort.
"$PY" -c "
import h5py, numpy as np
with h5py.File('no_attrs.h5', 'w') as f:
    f['subtomograms'] = np.zeros((4, 8, 8, 8), np.float32)
    f['labels'] = np.arange(4, dtype=np.int64)
"
expect_error "every rank fails alike outside an agreement" "no_attrs.h5:/subtomograms: attribute 'tilt_max_deg' not found" 2 \
  tomo classify -c "$SRC/inputs/tomo/demo.toml" --set classify.input=no_attrs.h5 --set run.output_dir=out_vote
out=$(run_np 2 tomo classify -c "$SRC/inputs/tomo/demo.toml" --set classify.input=no_attrs.h5 --set run.output_dir=out_vote 2>&1)
if ! grep -q "MPI_ABORT" <<<"$out"; then pass "every rank failing alike: no MPI abort"
else fail "every rank failing alike: MPI_ABORT: $out"; fi

# --- a failure mid-write leaves no file under the final name -----------------------
# Each rank may write at most 2 MB (SIGXFSZ ignored, so write() fails with
# EFBIG): the tracks dataset fails after /features and /labels were written.
# TCP on loopback: the limit would also break the shared-memory transport.
out=$(OMPI_MCA_btl=self,tcp OMPI_MCA_btl_tcp_if_include=lo timeout -k 5 "$(scaled 90)" mpirun -n 2 bash -c 'trap "" XFSZ; ulimit -f 2000; exec "$0" "$@"' "$BIN" \
  data generate -c "$DECK" --set generate.samples=20000 --set run.output_dir=full 2>&1); rc=$?
if [ "$rc" -ne 0 ] && [ "$rc" -ne 124 ] && grep -q 'phenoscale: error: full/samples.h5' <<<"$out" \
   && [ -z "$(ls -A full 2>/dev/null)" ]; then
  pass "disk full mid-write (exit $rc): no samples.h5, no temporary left"
else
  fail "disk full mid-write: rc=$rc, dir: $(ls -A full 2>/dev/null | tr "\n" " "), output: $out"
fi

# --- ml tools: inputs that the methods cannot take, named -------------------------
"$PY" - <<'PY'
import h5py, numpy as np
rng = np.random.default_rng(5)
with h5py.File("onelabel.h5", "w") as f:
    f["labels"] = np.zeros(5000, np.int64)
with h5py.File("onerow.h5", "w") as f:
    f["features"] = np.ones((1, 3), np.float32)
with h5py.File("dist.h5", "w") as f:
    f["rect"] = rng.random((5, 3)).astype(np.float32)
    d = rng.random((5, 5)).astype(np.float32)
    d[3, 1] = -0.5
    f["negative"] = d
with h5py.File("small.h5", "w") as f:
    f["features"] = rng.random((20, 3)).astype(np.float32)
with h5py.File("obs.h5", "w") as f:
    f["labels"] = np.array([0, 1, -1, 0, 1, 0], np.int64)
    f["cells"] = np.array([0, 0, 1, 1, 2, 2], np.int64)
    f["conditions"] = np.array([0, 0, 0, 0, 1, 1], np.int64)
with h5py.File("onecond.h5", "w") as f:
    f["labels"] = np.array([0, 1, 1, 0], np.int64)
    f["cells"] = np.array([0, 0, 1, 1], np.int64)
    f["conditions"] = np.zeros(4, np.int64)
PY
expect_error "quality: one distinct label" "onelabel.h5:/labels: 1 distinct label(s) over 5000 rows" 2 \
  ml quality --input good/samples.h5:/features --set quality.labels=onelabel.h5:/labels --set run.output_dir=out_q
expect_error "pca: one row" "onerow.h5:/features: 1 row(s); PCA needs at least 2" 2 \
  ml pca --input onerow.h5:/features --set pca.components=1 --set run.output_dir=out_pca
expect_error "knn: a precomputed matrix that is not square" "dist.h5:/rect: 5 x 3; a precomputed distance matrix must be N x N" 2 \
  ml knn --input dist.h5:/rect --set knn.metric=precomputed --set knn.k=2 --set run.output_dir=out_knn
expect_error "communities: a negative precomputed distance" "dist.h5:/negative: distance d(3, 1) is negative" 2 \
  ml communities --input dist.h5:/negative --set communities.metric=precomputed --set communities.k=2 \
  --set run.output_dir=out_comm
expect_error "spectral: more clusters than vertices" "communities.clusters = 50 exceeds the 20 vertices of the graph of small.h5" 2 \
  ml communities --input small.h5:/features --set communities.method=spectral --set communities.clusters=50 \
  --set communities.k=5 --set run.output_dir=out_comm
expect_error "bootstrap: a negative label" "obs.h5:/labels: a negative cluster label" 2 \
  ml bootstrap --input obs.h5 --set bootstrap.replicates=100 --set run.output_dir=out_boot
expect_error "bootstrap: one condition" "onecond.h5:/conditions: 1 condition(s)" 2 \
  ml bootstrap --input onecond.h5 --set bootstrap.replicates=100 --set run.output_dir=out_boot
for d in out_q out_pca out_knn out_comm out_boot; do no_files "ml tool refused ($d)" "$d"; done

# --- deck values that would have been accepted and done nothing (or twice) -------------
expect_deck_error "a class listed twice" "structures.classes names class 9 twice" 2 tomo structures -c "$SRC/inputs/tomo/demo.toml" \
  --set run.output_dir=dup --set 'structures.classes=[9, 9]' --set structures.box=16
no_files "a class listed twice" dup
expect_deck_error "a label listed twice" "classify.label_ids names label 17 twice; expected distinct labels" 2 tomo classify \
  -c "$SRC/inputs/tomo/demo.toml" --set run.output_dir=dup --set 'classify.label_ids=[17, 18, 17]'
out=$(run_np 2 spt simulate -c "$SRC/inputs/spt/demo.toml" --set run.output_dir=pw --set simulate.test_tracks=20 \
      --set simulate.populations=0 --set 'simulate.population_weights=[0.6, 0, 0, 0.4]' 2>&1)
if grep -q "simulate.population_weights is ignored: simulate.populations = 0" <<<"$out"; then
  pass "population weights without populations: warned"
else fail "population weights without populations: no warning: $(grep -E 'warning|error' <<<"$out")"; fi
run_np 1 -q data generate -c "$DECK" --set generate.samples=12 --set generate.max_frames=40 --set run.output_dir=few \
  || fail "data generate (12 samples)"
out=$(run_np 2 ml embed --input few/samples.h5:/features --set embed.method=umap --set embed.n_neighbors=50 \
      --set run.output_dir=few_umap 2>&1)
if grep -q "UMAP: n_neighbors = 50 is more than the 12 points; using 12" <<<"$out" && [ -f few_umap/embed.h5 ]; then
  pass "UMAP with more neighbours than points: warned, embedded"
else fail "UMAP n_neighbors > N: $(grep -E 'warning|error' <<<"$out")"; fi

finish
