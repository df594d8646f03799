#!/usr/bin/env bash
# Issue 12's held-out-seed figures (docs/performance.md, "edge/"; points 2, 3
# and 4) by one command: the demo deck's edge chain — jobs/local/demo.sh's
# stages, 2 ranks, `--set run.seed=S` — once per seed, then one table row per
# seed from what the run wrote: phenotypes_summary.csv (the ARIs and the rare
# sub-phenotype, scored against the planted truth by edge phenotype),
# phenotypes_truth.csv (which phenotype holds the accelerating protrusions),
# student/lambda_sweep.csv and stats.csv. Nothing here reads the planted
# truth itself. About 6 minutes a seed on 2 cores; a seed whose run
# directory already holds stats.csv is not run again.
#   bash tests/bench/run_edge_seeds.sh [build_dir] SEED...
#   (runs land in runs/edge-seeds/SEED; EDGE_SEEDS_OUT moves them)
# EDGE_DECK runs another deck (default inputs/edge/demo.toml), EDGE_SET adds
# space-separated key=value overrides to every stage, EDGE_DRUG and EDGE_NULL
# name the treatments with the planted accelerating effect and none (default
# drug and null; a deck without the null condition prints –); with several
# paired experiments the p columns list one value per experiment. The
# paper-scale rows of docs/performance.md:
#   EDGE_DECK=inputs/edge/paper.toml EDGE_SET="student.lambdas=[25.0] train.epochs=30" \
#   EDGE_DRUG=drugA EDGE_SEEDS_OUT=runs/edge-paper-seeds bash tests/bench/run_edge_seeds.sh build 20240601
# A SEED written S:R is repeat R of seed S's downstream: the student,
# phenotype and stats stages again on S's events, denoised samples and
# teacher labels (copied from its run), with run.seed = S + 1000003·R — how
# much the figures after the teacher vary with the network's initialisation,
# the split and the bootstrap draws alone (runs in S-rR).
set -euo pipefail
src=$(cd "$(dirname "$0")/../.." && pwd)
build=$src/build
if [ $# -gt 0 ] && [ -d "$1" ]; then build=$(cd "$1" && pwd); shift; fi
[ $# -gt 0 ] || { echo "usage: run_edge_seeds.sh [build_dir] SEED..." >&2; exit 2; }
source "$src/tests/bench/bench_env.sh"
out=${EDGE_SEEDS_OUT:-$src/runs/edge-seeds}
deck=${EDGE_DECK:-$src/inputs/edge/demo.toml}
read -ra overrides <<<"${EDGE_SET:-}"  # split on blanks only (no globbing of [..])
sets=()
for kv in "${overrides[@]}"; do sets+=(--set "$kv"); done
# A run directory records its deck and overrides: a seed already run with
# others is an error, not a row of the wrong deck (EDGE_SEEDS_OUT separates them).
stamp="deck=$deck set=${EDGE_SET:-}"
demo_stamp="deck=$src/inputs/edge/demo.toml set="  # runs from before the stamp
for seed in "$@"; do
  stages=(simulate window events denoise teacher student phenotype stats) run_seed=$seed dir=$out/$seed
  if [[ $seed == *:* ]]; then  # S:R, a downstream repeat
    base=${seed%%:*} repeat=${seed##*:}
    stages=(student phenotype stats) run_seed=$((base + 1000003 * repeat)) dir=$out/$base-r$repeat
  fi
  if [ -f "$dir/stats.csv" ]; then
    recorded=$(cat "$dir/run_edge_seeds.stamp" 2>/dev/null || echo "$demo_stamp")
    [ "$recorded" = "$stamp" ] || { echo "seed $seed: $dir was run with $recorded, not $stamp; set EDGE_SEEDS_OUT" >&2; exit 1; }
    continue
  fi
  mkdir -p "$dir"
  echo "$stamp" >"$dir/run_edge_seeds.stamp"
  if [[ $seed == *:* ]]; then
    for f in events.h5 denoised.h5 teacher.h5 teacher.csv; do
      cp "$out/$base/$f" "$dir/" || { echo "seed $seed: no $out/$base/$f to repeat from" >&2; exit 1; }
    done
  fi
  start=$(date +%s)
  for stage in "${stages[@]}"; do
    mpirun -n 2 "$build/bin/phenoscale" -q edge "$stage" -c "$deck" --set run.seed="$run_seed" \
      --set run.output_dir="$dir" "${sets[@]}" >>"$dir/chain.log" 2>&1 || { echo "seed $seed: edge $stage failed; see $dir/chain.log" >&2; exit 1; }
  done
  echo "seed $seed: chain done in $(( $(date +%s) - start )) s" >&2
done
/usr/bin/python3 - "$out" "${EDGE_DRUG:-drug}" "${EDGE_NULL:-null}" "$@" <<'PY'
import csv, sys
out, drug_name, null_name, seeds = sys.argv[1], sys.argv[2], sys.argv[3], sys.argv[4:]
rows = lambda path: list(csv.DictReader(open(path)))
print("| seed | teacher ARI: all / phenotyped | phenotype ARI | deep ARI | rare: precision / recall "
      f"| λ | {drug_name}, accelerating: p_greater (Holm) | {null_name}, accelerating: p_greater "
      f"| {null_name}: smallest p (Holm) |")
print("|---|---|---|---|---|---|---|---|---|")
for seed in seeds:
    d = f"{out}/{seed}" if ":" not in seed else f"{out}/{seed.split(':')[0]}-r{seed.split(':')[1]}"
    s = rows(f"{d}/phenotypes_summary.csv")[0]
    acc = [r for r in rows(f"{d}/phenotypes_truth.csv") if r["majority_planted"] == "accelerating"]
    acc = max(acc, key=lambda r: int(r["matched_samples"]))["phenotype"] if acc else None
    lam = next(r["lambda"] for r in rows(f"{d}/student/lambda_sweep.csv") if r["chosen"] == "1")
    stats = rows(f"{d}/stats.csv")
    g = lambda x: f"{float(x):.2g}"
    def one(treatment, holm):  # one value per paired experiment, in experiment order
        r = [r for r in stats if r["treatment"] == treatment and r["phenotype"] == acc]
        r.sort(key=lambda r: int(r["experiment"]))
        return ", ".join(g(x["p_greater"]) + (f" ({g(x['p_greater_holm'])})" if holm else "") for x in r) or "–"
    nulls = [(min(float(r["p_greater"]), float(r["p_less"])),
              min(float(r["p_greater_holm"]), float(r["p_less_holm"]))) for r in stats if r["treatment"] == null_name]
    smallest = min(nulls) if nulls else None
    f = lambda x: f"{float(x):.3f}"
    print(f"| {seed} | {f(s['teacher_ari_all'])} / {f(s['teacher_ari'])} | {f(s['phenotype_ari'])} "
          f"| {f(s['deep_ari'])} | {f(s['rare_precision'])} / {f(s['rare_recall'])} | {float(lam):g} "
          f"| {one(drug_name, True)} | {one(null_name, False)} "
          f"| {g(smallest[0]) + ' (' + g(smallest[1]) + ')' if smallest else '–'} |")
PY
