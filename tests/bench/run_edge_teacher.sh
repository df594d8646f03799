#!/usr/bin/env bash
# edge teacher (DeepHACKS ACF pre-clustering, src/app/edge_teacher.cpp):
# phenoscale at np=1 and np=2 (1 OpenMP thread per rank) against the same
# computation in Python (tests/bench/edge_teacher_peer.py: NumPy features,
# scikit-learn exact kNN, python-igraph communities, scikit-learn silhouette
# and Davies-Bouldin) at 1 and 2 threads, on the same denoised.h5, same run.
# Both sides use the same distance and K choice: by default the teacher's
# (teacher.distance = partial: the ACF lags a short sample lacks are missing,
# scikit-learn's nan_euclidean, which has no tree, so the peer's exact kNN is
# brute force; teacher.select = davies-bouldin); pass zero-filled silhouette
# for the earlier setting (lags filled with 0, Euclidean, the peer's kNN by
# `knn`).
#   bash tests/bench/run_edge_teacher.sh [build_dir] [cells_per_condition=301] [neighbours=15,30] \
#        [infomap_cells_per_condition=30] [knn=kd_tree] [distance=partial] [select=davies-bouldin]
# Data: `edge simulate` (kind = series, ~111 aligned samples per cell, 3
# conditions: 301 cells per condition ≈ 10^5 samples) and `edge denoise`, in a
# scratch directory (removed at exit unless KEEP=1).
# Louvain (ours: distributed; peer: igraph community_multilevel) runs at the
# full size. Infomap (igraph_community_infomap, 10 trials, both sides; ours
# runs it on rank 0 over the gathered graph) runs on a second, smaller data
# set (infomap_cells_per_condition, ≈ 10^4 samples at 30): one trial (K = 15)
# took 0.7 s at 10^4 and 5.7 s at 3·10^4 samples on this machine (~N^1.9),
# so ~1 min at 10^5 (extrapolated): 10 trials × each K × 4 runs does not fit a
# benchmark (pass 0 to skip it, or 301 to run it at full size).
# Timed: ours = the stage's own timers "sax-acf" + "knn" + "communities-quality" (max over
# ranks); peer = features + the K sweep (kNN, graph, communities, silhouette,
# Davies-Bouldin), both without reading the input and writing the outputs;
# "wall" is the whole process (MPI start, binary load / Python imports, I/O).
# CPU s = user + sys of the process tree (/usr/bin/time), which moves less
# than wall time when other jobs share the 2 cores (at np=2 it includes MPI's
# busy-waiting). The peer's exact Euclidean kNN is `knn` (kd_tree measured
# fastest here: 16 s against brute's 40 s for K = 30 at 10^5 rows, 1 thread).
# Silhouette: ours is exact up to 50,000 rows, above that the mean over a
# ~10,000-row random sample, each sampled row against ALL rows; the peer calls
# silhouette_score(sample_size=10000, random_state=seed) above 50,000 rows,
# which scores the sampled rows against the sampled rows only (10x fewer
# distances at 10^5). Padding noise: ours Philox streams, the peer NumPy's
# default_rng: the padded samples (~70 %) get different noise, so the labels
# differ; the agreement row runs the peer's clustering on OUR ACF vectors.
# Afterwards the np=2 louvain run is split into its parts with `ml
# communities` and `ml quality` (the same code the teacher calls).
set -euo pipefail
src=$(cd "$(dirname "$0")/../.." && pwd)
build=${1:-$src/build}; cells=${2:-301}; neighbours=${3:-15,30}; icells=${4:-30}; knn=${5:-kd_tree}
distance=${6:-partial}; select=${7:-davies-bouldin}
case $distance in partial | zero-filled) ;; *) echo "distance must be partial or zero-filled, got $distance" >&2; exit 2 ;; esac
case $select in davies-bouldin | silhouette) ;; *) echo "select must be davies-bouldin or silhouette, got $select" >&2; exit 2 ;; esac
source "$src/tests/bench/bench_env.sh"
BIN=$build/bin/phenoscale
PY=/usr/bin/python3
PEER=$src/tests/bench/edge_teacher_peer.py
DECK=$src/inputs/edge/demo.toml
seed=$(sed -n 's/^seed *= *\([0-9]*\).*/\1/p' "$DECK" | head -1)
work=$(mktemp -d /tmp/edge_teacher_bench.XXXXXX)
if [ "${KEEP:-0}" = 1 ]; then echo "scratch: $work"; else trap 'rm -rf "$work"' EXIT; fi
# A private copy of the binary, taken while no build holds the (shared
# workstation) build lock, so a rebuild during the run cannot swap it.
mkdir -p "$work/bin"
if [ -e /tmp/phenoscale-build.lock ]; then
  flock -s /tmp/phenoscale-build.lock cp -p "$BIN" "$work/bin/phenoscale"
else cp -p "$BIN" "$work/bin/phenoscale"; fi
[ -x "$work/bin/phenoscale" ] && [ -s "$work/bin/phenoscale" ] || { echo "missing or empty $BIN (build it first)" >&2; exit 1; }
stale=$(find "$src/src/app/edge_teacher.cpp" "$src/src/app/edge_common.cpp" "$src/src/edge" "$src/src/ml" \
  "$src/include/phenoscale/edge" "$src/include/phenoscale/ml" -newer "$work/bin/phenoscale" -type f | head -5)
[ -z "$stale" ] || echo "WARNING: teacher sources newer than $BIN (binary may be stale): $stale" >&2
echo "CPU: $(lscpu | sed -n 's/^Model name: *//p') ($(nproc) cores); BLAS: $(readlink -f /usr/lib/x86_64-linux-gnu/libblas.so.3)"
echo "binary: $BIN ($(date -r "$work/bin/phenoscale" '+%F %T'), sha256 $(sha256sum "$work/bin/phenoscale" | cut -c1-12));" \
     "load average before: $(cut -d' ' -f1-3 /proc/loadavg)"
BIN=$work/bin/phenoscale
pin() {  # the same thread settings for both sides
  env OMP_NUM_THREADS=$1 OPENBLAS_NUM_THREADS=$1 MKL_NUM_THREADS=$1 OMP_PROC_BIND=false "${@:2}"
}

make_data() {  # cells dir
  mkdir -p "$2"
  pin 1 mpirun -n 2 "$BIN" edge simulate -c "$DECK" --set simulate.kind=series \
    --set simulate.cells_per_condition="$1" --set run.output_dir="$2" >"$2.simulate.log" 2>&1 \
    || { echo "edge simulate failed:"; tail -20 "$2.simulate.log"; exit 1; }
  pin 1 mpirun -n 2 "$BIN" edge denoise -c "$DECK" --set run.output_dir="$2" >"$2.denoise.log" 2>&1 \
    || { echo "edge denoise failed:"; tail -20 "$2.denoise.log"; exit 1; }
  grep -h "aligned samples\|IMFs removed" "$2.simulate.log" "$2.denoise.log"
}

ours() {  # data method np tag
  local out=$work/$4
  pin 1 /usr/bin/time -f "process wall_s=%e cpu_s=%U+%S" -o "$out.time" mpirun -n "$3" --bind-to none "$BIN" \
    edge teacher -c "$DECK" --set run.output_dir="$out" --set teacher.input="$1/denoised.h5" \
    --set "teacher.neighbours=[$neighbours]" --set teacher.method="$2" \
    --set teacher.distance="$distance" --set teacher.select="$select" >"$out.log" 2>&1 \
    || { echo "ours $4 failed:"; tail -20 "$out.log"; exit 1; }
  grep -v "%)" "$out.log" | grep "sweep: parameter\|teacher:\|  knn \|communities-quality\|sax-acf\|done in" | sed "s/^/[$4] /"
  cat "$out.time" | sed "s/^/[$4] /"
}

peer() {  # data method threads tag [extra args]
  local out=$work/$4
  pin "$3" /usr/bin/time -f "process wall_s=%e cpu_s=%U+%S" -o "$out.time" "$PY" "$PEER" "$1/denoised.h5" \
    "$out.h5" --neighbours "$neighbours" --method "$2" --knn "$knn" --threads "$3" --seed "$seed" \
    --distance "$distance" --select "$select" "${@:5}" \
    >"$out.log" 2>&1 || { echo "peer $4 failed:"; tail -20 "$out.log"; exit 1; }
  sed "s/^/[$4] /" "$out.log" "$out.time"
}

echo; echo "== data: $cells cells per condition"
make_data "$cells" "$work/data"
ours "$work/data" louvain 1 ours_louvain_np1
ours "$work/data" louvain 2 ours_louvain_np2
peer "$work/data" louvain 1 peer_louvain_t1
peer "$work/data" louvain 2 peer_louvain_t2
# Agreement without the padding noise: the peer's kNN + Louvain on our ACF vectors (1 thread, untimed in the table).
best=$("$PY" -c "import h5py,sys; print(int(h5py.File(sys.argv[1])['/'].attrs['neighbours']))" \
  "$work/ours_louvain_np2/teacher.h5")
neighbours_all=$neighbours; neighbours=$best
peer "$work/data" louvain 1 peer_louvain_ouracf --acf-from "$work/ours_louvain_np2/teacher.h5"
neighbours=$neighbours_all

# ml communities / ml quality measure Euclidean distances only (no distance
# key; NaN input is refused), so the profile needs the zero-filled features.
if [ "$distance" = zero-filled ]; then
  echo; echo "== profile: ours np=2, K = $best, the teacher's parts one by one (ml communities, ml quality)"
  pin 1 mpirun -n 2 --bind-to none "$BIN" ml communities --set communities.input="$work/ours_louvain_np2/teacher.h5:/acf" \
    --set communities.k="$best" --set communities.method=louvain --set run.seed="$seed" \
    --set run.output_dir="$work/profile" >"$work/profile_communities.log" 2>&1
  pin 1 mpirun -n 2 --bind-to none "$BIN" ml quality --set quality.input="$work/ours_louvain_np2/teacher.h5:/acf" \
    --set quality.labels="$work/ours_louvain_np2/teacher.h5:/labels" --set run.seed="$seed" \
    --set run.output_dir="$work/profile" >"$work/profile_quality.log" 2>&1
  grep -h "^phenoscale:   \|communities:\|quality:" "$work/profile_communities.log" "$work/profile_quality.log" \
    | grep -v "%)" | sed 's/^/[profile] /'
else
  echo; echo "== profile: skipped (ml communities / ml quality have no nan-euclidean distance)"
fi

if [ "$icells" -gt 0 ]; then
  echo; echo "== infomap data: $icells cells per condition"
  make_data "$icells" "$work/idata"
  ours "$work/idata" igraph-infomap 1 ours_infomap_np1
  ours "$work/idata" igraph-infomap 2 ours_infomap_np2
  peer "$work/idata" infomap 1 peer_infomap_t1
  peer "$work/idata" infomap 2 peer_infomap_t2
fi
echo "load average after: $(cut -d' ' -f1-3 /proc/loadavg)"

"$PY" - "$work" "$neighbours" "$icells" "$seed" "$PEER" "$distance" "$select" <<'PY'
import sys, re, csv, os, h5py, numpy as np, importlib.util
from sklearn.metrics import adjusted_rand_score as ari
work, ks, icells, seed = sys.argv[1], [int(k) for k in sys.argv[2].split(",")], int(sys.argv[3]), int(sys.argv[4])
distance, select = sys.argv[6], sys.argv[7]
spec = importlib.util.spec_from_file_location("peer", sys.argv[5])
peer_module = importlib.util.module_from_spec(spec)
spec.loader.exec_module(peer_module)
silhouette = peer_module.silhouette  # nan_euclidean where the ACF vectors have missing lags

def process(tag):
    t = open(f"{work}/{tag}.time").read()
    wall = float(re.search(r"wall_s=([0-9.]+)", t).group(1))
    u, s = re.search(r"cpu_s=([0-9.]+)\+([0-9.]+)", t).groups()
    return wall, float(u) + float(s)

def ours(tag):
    log = open(f"{work}/{tag}.log").read()
    timer = lambda name: float(re.search(rf"^phenoscale:\s+{name}\s+[0-9.]+\s+[0-9.]+\s+([0-9.]+) s", log, re.M).group(1))
    # per K: the progress line's total / rate (3 significant digits; "done in" rounds to 0.1 s)
    knn = [int(t) / float(r) for t, r in re.findall(r"ml knn \(rows x ring steps\): (\d+) done in .*? \(([0-9.e+]+)/s\)", log)]
    sweep = {}
    with open(f"{work}/{tag}/teacher_sweep.csv") as f:
        for r in csv.DictReader(f):
            sweep[int(float(r["neighbours"]))] = r
    h = h5py.File(f"{work}/{tag}/teacher.h5", "r")
    # The kNN runs once at the largest K (deduplicated search; smaller K are prefixes).
    return dict(sax=timer("sax-acf"), kc=timer("knn") + timer("communities-quality"), knn_once=timer("knn"),
                cq=timer("communities-quality"), knn=knn, sweep=sweep,
                labels=h["labels"][...], acf=h["acf"][...].reshape(-1, 13), best=int(h["/"].attrs["neighbours"]),
                proc=process(tag))

def peer(tag):
    log = open(f"{work}/{tag}.log").read()
    kv = lambda key: float(re.search(rf"\b{key}=([0-9.naninf-]+)", log).group(1))
    per_k = {}
    for line in log.splitlines():
        if line.startswith("peer_K="):
            d = dict(x.split("=") for x in line.split())
            per_k[int(d["peer_K"])] = {k: float(v) for k, v in d.items()}
    h = h5py.File(f"{work}/{tag}.h5", "r")
    return dict(sax=kv("sax_acf_s"), kc=kv("knn_communities_s"), compute=kv("compute_s"), per_k=per_k,
                labels={k: h[f"labels_K{k}"][...] for k in per_k}, acf=h["acf"][...], best=int(h.attrs["best_K"]),
                proc=process(tag))

def section(data, method, ours_tags, peer_tags, label):
    truth = h5py.File(f"{work}/{data}/denoised.h5", "r")["/truth/phenotype"][...]
    o = {np_: ours(t) for np_, t in zip((1, 2), ours_tags)}
    p = {th: peer(t) for th, t in zip((1, 2), peer_tags)}
    n = o[1]["labels"].size
    print(f"\n### {label}: N = {n} samples, K in {ks}, method {method}, distance {distance}, K by {select}\n")
    print("| N | ours np / peer threads | ours (s) | peer (s) | ours / peer | ours samples/s | peer samples/s | "
          "ours wall (s) | peer wall (s) | wall ours / peer | ours CPU s | peer CPU s |")
    print("|---|---|---|---|---|---|---|---|---|---|---|---|")
    for i in (1, 2):
        oc = o[i]["sax"] + o[i]["kc"]; pc = p[i]["compute"]
        (ow, ocpu), (pw, pcpu) = o[i]["proc"], p[i]["proc"]
        print(f"| {n} | np={i} / {i} thread{'s' if i > 1 else ''} | {oc:.2f} | {pc:.2f} | {oc / pc:.2f} | "
              f"{n / oc:,.0f} | {n / pc:,.0f} | {ow:.1f} | {pw:.1f} | {ow / pw:.2f} | {ocpu:.1f} | {pcpu:.1f} |")
    print("\n| run | K | clusters | silhouette | Davies-Bouldin | modularity |")
    print("|---|---|---|---|---|---|")
    for i in (1, 2):
        for k in ks:
            r = o[i]["sweep"][k]
            mark = " (chosen)" if k == o[i]["best"] else ""
            print(f"| ours np={i} | {k}{mark} | {int(float(r['clusters']))} | {float(r['silhouette']):.4f} | "
                  f"{float(r['davies_bouldin']):.4f} | {float(r['modularity']):.4f} |")
        for k in ks:
            r = p[i]["per_k"][k]
            mark = " (chosen)" if k == p[i]["best"] else ""
            print(f"| peer {i} thread{'s' if i > 1 else ''} | {k}{mark} | {int(r['clusters'])} | {r['silhouette']:.4f} | "
                  f"{r['davies_bouldin']:.4f} | {r['modularity']:.4f} |")
    sample = 10000 if n > 50000 else None
    print("\n| agreement at ours' chosen K | K | ARI ours vs peer | sklearn silhouette of ours' labels "
          f"({'sample 10000, random_state=' + str(seed) if sample else 'exact'}) | of the peer's | "
          "ARI to planted phenotypes: ours | peer |")
    print("|---|---|---|---|---|---|---|")
    for i in (1, 2):
        k = o[i]["best"]; pl = p[i]["labels"][k]
        so = silhouette(o[i]["acf"], o[i]["labels"], sample, seed)
        sp = silhouette(p[i]["acf"], pl, sample, seed)
        print(f"| ours np={i} vs peer {i} thread{'s' if i > 1 else ''} | {k} | {ari(o[i]['labels'], pl):.4f} | "
              f"{so:.4f} | {sp:.4f} | {ari(truth, o[i]['labels']):.4f} | {ari(truth, pl):.4f} |")
    print(f"| ours np=1 vs ours np=2 | {o[1]['best']}/{o[2]['best']} | {ari(o[1]['labels'], o[2]['labels']):.4f} | | | | |")
    if os.path.exists(f"{work}/peer_{method}_ouracf.h5"):
        q = h5py.File(f"{work}/peer_{method}_ouracf.h5", "r")
        k = o[2]["best"]
        print(f"| ours np=2 vs peer on OUR ACF vectors (no padding-noise difference) | {k} | "
              f"{ari(o[2]['labels'], q[f'labels_K{k}'][...]):.4f} | | | | {ari(truth, q[f'labels_K{k}'][...]):.4f} |")
    un = p[1]["acf"].shape[0]
    lengths = h5py.File(f"{work}/{peer_tags[0]}.h5", "r")
    same = lengths["lengths"][...] == lengths["targets"][...]
    # Missing lags (NaN) must be missing on both sides: compared as a value of their own.
    diff = np.abs(np.nan_to_num(o[1]["acf"], nan=9.0) - np.nan_to_num(p[1]["acf"], nan=9.0)).max(axis=1)
    print(f"\nACF vectors: {same.sum()} of {un} samples unpadded; max |ours - peer| over them {diff[same].max():.2e} "
          f"({(diff[same] > 1e-6).sum()} rows above 1e-6); padded rows differing: {(diff[~same] > 1e-6).sum()}; "
          f"distinct ACF vectors: {np.unique(np.nan_to_num(o[1]['acf'], nan=9.0), axis=0).shape[0]}; "
          f"with missing lags: {np.isnan(o[1]['acf']).any(axis=1).sum()}")
    print("\nWhere the time goes (seconds; ours: the stage timers; peer: its per-K timers):\n")
    print("| run | sax-acf | " + " | ".join(f"kNN K={k} | rest K={k}" for k in ks) + " |")
    print("|---|---|" + "---|---|" * len(ks))
    for i in (1, 2):
        print(f"| ours np={i} | {o[i]['sax']:.2f} | kNN once at K={max(ks)} for every K: {o[i]['knn_once']:.2f} | "
              f"graph + communities + silhouette + Davies-Bouldin, all K: {o[i]['cq']:.2f} |")
        r = p[i]["per_k"]
        print(f"| peer {i} thr | {p[i]['sax']:.2f} | " + " | ".join(
            f"{r[k]['knn_s']:.2f} | {r[k]['graph_s'] + r[k]['communities_s'] + r[k]['silhouette_s'] + r[k]['davies_bouldin_s']:.2f}"
            f" (graph {r[k]['graph_s']:.2f}, comm {r[k]['communities_s']:.2f}, sil {r[k]['silhouette_s']:.2f}, "
            f"DB {r[k]['davies_bouldin_s']:.2f})" for k in ks) + " |")

section("data", "louvain", ["ours_louvain_np1", "ours_louvain_np2"], ["peer_louvain_t1", "peer_louvain_t2"],
        "Louvain")
if icells > 0:
    section("idata", "infomap", ["ours_infomap_np1", "ours_infomap_np2"], ["peer_infomap_t1", "peer_infomap_t2"],
            "Infomap (smaller data set)")
print("\nours = sax-acf + knn + communities-quality stage timers (max over ranks); peer = features + K sweep; "
      "acceptance: ours np=2 / peer 2 threads <= 0.5 at 10^5 samples")
PY
