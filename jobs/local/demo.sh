#!/usr/bin/env bash
# Installs what is needed, builds phenoscale and runs the main job on small
# built-in data with 2 MPI ranks. Everything lands in runs/demo/:
#   samples.h5    sharded dataset (features, labels, trajectories) + provenance
#   summary.h5    recovered structure; summary.csv the same per-cluster table
#   report.md     what was planted, what was recovered; figures/*.png
#   tomo/         the tomo chain (Xu et al. 2017): class maps → simulated subtomograms
#                 (missing wedge, CTF, MTF, SNR 0.5) → Inception3D training →
#                 structural features → k-means subdivision → reference-free
#                 alignment, classification and average of the cluster most
#                 enriched in cluster_8, scored by FSC against its true map
#                 (interpolated 0.5) and half sets (0.143); tomo/report.md
#                 and tomo/figures/*.png
#   spt/          the spt chain (DeepSPT): simulated heterogeneous diffusion →
#                 3-member 1D U-Net ensemble → segmentation of held-out test
#                 tracks (from their CSV) against the rolling-MSD baseline →
#                 scores and fingerprints; spt/report.md and spt/figures/*.png
#   edge/         the edge chain (DeepHACKS): 45 simulated live-cell movies in 3
#                 conditions → windows → aligned protrusion samples → EMD →
#                 ACF teacher → guided bi-LSTM student (λ sweep) → phenotypes →
#                 bootstrap drug statistics → single-cell phenotypes;
#                 edge/report.md and edge/figures/*.png
set -euo pipefail
cd "$(dirname "$0")/../.."
start=$(date +%s)
bash jobs/local/setup.sh
source jobs/local/env.sh

cmake -S . -B build -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo
cmake --build build -j "$JOBS" --target phenoscale

out=runs/demo
deck=inputs/data/demo.toml
mkdir -p "$out"
mpirun -n 2 build/bin/phenoscale data generate -c "$deck" --set run.output_dir="$out"
mpirun -n 2 build/bin/phenoscale data summarize -c "$deck" --set run.output_dir="$out"
/usr/bin/python3 postprocess/data_report.py "$out"
build/bin/phenoscale info "$out/summary.h5"

tomo_deck=inputs/tomo/demo.toml
for stage in structures simulate train extract subdivide recover; do
  mpirun -n 2 build/bin/phenoscale tomo "$stage" -c "$tomo_deck" --set run.output_dir="$out/tomo"
done
/usr/bin/python3 postprocess/tomo_report.py "$out/tomo"

spt_deck=inputs/spt/demo.toml
spt=(-c "$spt_deck" --set run.output_dir="$out/spt")
for stage in simulate features train; do
  mpirun -n 2 build/bin/phenoscale spt "$stage" "${spt[@]}"
done
mpirun -n 2 build/bin/phenoscale spt segment "${spt[@]}" --input "$out/spt/test_tracks.csv"
for stage in baseline evaluate fingerprint; do
  mpirun -n 2 build/bin/phenoscale spt "$stage" "${spt[@]}"
done
/usr/bin/python3 postprocess/spt_report.py "$out/spt"

edge_deck=inputs/edge/demo.toml
for stage in simulate window events denoise teacher student phenotype stats cells; do
  mpirun -n 2 build/bin/phenoscale edge "$stage" -c "$edge_deck" --set run.output_dir="$out/edge"
done
/usr/bin/python3 postprocess/edge_report.py "$out/edge"
echo "demo.sh: done in $(( $(date +%s) - start )) s; see $out/report.md"
