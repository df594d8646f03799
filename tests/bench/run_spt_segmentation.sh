#!/usr/bin/env bash
# The spt segmentation benchmark: simulate training and held-out test tracks,
# train the U-Net ensemble, segment the test tracks (from their CSV, as a
# user's data would arrive), run the rolling-MSD baseline on the same tracks,
# score both against the simulated truth, and time every stage.
#   bash tests/bench/run_spt_segmentation.sh [build_dir] [deck] [ranks]
#   bash tests/bench/run_spt_segmentation.sh build inputs/spt/bench2d.toml     # ~30 min of 2 cores
#   SPT_SET="--set simulate.tracks=500 --set train.epochs=1" bash tests/bench/run_spt_segmentation.sh   # smoke run
# Prints a markdown table: per-frame accuracy, macro-F1, changepoint error.
set -euo pipefail
src=$(cd "$(dirname "$0")/../.." && pwd)
build=${1:-$src/build}; deck=${2:-$src/inputs/spt/bench2d.toml}; ranks=${3:-2}
source "$src/tests/bench/bench_env.sh"
export OMP_NUM_THREADS=${OMP_NUM_THREADS:-1}
BIN=$build/bin/phenoscale
out=$("$BIN" spt simulate -c "$deck" --print-deck | sed -n 's/^output_dir *= *"\(.*\)"/\1/p' | head -n 1)
OUT=${OUT:-$src/$out}
rm -rf "$OUT"   # no stale checkpoint may resume a previous run
# shellcheck disable=SC2206  # SPT_SET: extra "--set k=v" words
common=(-c "$deck" --set run.output_dir="$OUT" ${SPT_SET:-})
echo "load average before: $(cut -d' ' -f1-3 /proc/loadavg); deck $deck; $ranks rank(s); overrides: ${SPT_SET:-none}"
declare -A SECONDS_OF
for stage in simulate features train "segment --input $OUT/test_tracks.csv" baseline evaluate; do
  t0=$(date +%s.%N)
  # shellcheck disable=SC2086  # stage carries its own arguments
  mpirun -n "$ranks" "$BIN" -q spt $stage "${common[@]}"
  SECONDS_OF[${stage%% *}]=$(echo "$(date +%s.%N) - $t0" | bc)
done
tracks=$(awk -F, '$1 == "segments" && $2 == "all" {print $3}' "$OUT/evaluation.csv")
echo
printf 'stage times (s):'; for s in simulate features train segment baseline evaluate; do printf ' %s %.0f;' "$s" "${SECONDS_OF[$s]}"; done; echo
echo "segment: $(echo "$tracks / ${SECONDS_OF[segment]}" | bc) tracks/s including start-up and I/O"
echo
echo "| method | test tracks | per-frame accuracy | macro-F1 | changepoint error median / mean (frames), detected/two-segment |"
echo "|---|---|---|---|---|"
join -t, <(awk -F, '$2 == "all" {printf "%s,%s,%.3f,%.3f\n", $1, $3, $5, $6}' "$OUT/evaluation.csv" | sort) \
         <(awk -F, 'NR > 1 {printf "%s,%.1f / %.1f, %d/%d\n", $1, $4, $5, $3, $2}' "$OUT/changepoints.csv" | sort) |
  awk -F, '{printf "| %s | %s | %s | %s | %s |\n", ($1 == "segments" ? "U-Net ensemble" : "rolling MSD"), $2, $3, $4, $5 "," $6}'
