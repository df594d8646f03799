#!/usr/bin/env bash
# Preemption of the edge stages that write one file per movie as they go
# (docs/slurm.md): SIGTERM to the ranks while `edge simulate` simulates the
# movies (sent from outside) and while `edge window` windows them (placed at
# its first progress line by the PHENOSCALE_STOP_AT_LINE drill, common.bash's
# stop_at) ends the stage after the movie
# at hand with exit 75 and a "preempted" line, without movies.csv (the table
# the next stage reads), truth.h5 or a temporary; the same command run again
# gives the uninterrupted run's files. (The t-SNE of `ml embed` stops likewise:
# test_rank_independence.sh.)
source "$(dirname "$0")/common.bash"
cd "$WORK"
DECK=$SRC/inputs/edge/demo.toml
# The demo's 45 cells at 100 frames: ~6 s of simulation and ~4 s of windowing
# on 2 ranks, time for the signal to land while the stage still runs.
SIM=(-c "$DECK" --set simulate.frames=100 --set run.progress_interval_s=0.2)
run_np 2 -q edge simulate "${SIM[@]}" --set run.output_dir=A || fail "uninterrupted simulate"
run_np 2 -q edge window "${SIM[@]}" --set run.output_dir=A || fail "uninterrupted window"

interrupt sim.log "edge simulate: movies: [0-9]*/" edge simulate "${SIM[@]}" --set run.output_dir=B
preempted simulate sim.log "edge simulate" B movies/movies.csv movies/truth.h5
grep -q "the movies written so far are whole files; movies.csv, which the next stage reads, is not written" sim.log \
  && pass "simulate: the preempted line says what is on disk" || fail "simulate: no 'whole files' text in the preempted line"
run_np 2 -q edge simulate "${SIM[@]}" --set run.output_dir=B || fail "simulate rerun"
same_file "movies.csv after the rerun" A/movies/movies.csv B/movies/movies.csv
same_datasets A/movies/truth.h5 B/movies/truth.h5 /event_onset /event_phenotype /sector_velocity/values
differ=$(for f in A/movies/*.tif; do cmp -s "$f" "B/movies/$(basename "$f")" || echo "$f"; done)
[ -z "$differ" ] && pass "the 45 movies after the rerun byte-identical" || fail "movies differ after the rerun: $differ"

stop_at win.log "^edge window: movies: [0-9]*/" edge window "${SIM[@]}" --set run.output_dir=B
preempted window win.log "edge window" B windows/movies.csv
run_np 2 -q edge window "${SIM[@]}" --set run.output_dir=B || fail "window rerun"
same_file "windows/movies.csv after the rerun" A/windows/movies.csv B/windows/movies.csv
differ=$(for f in A/windows/*.h5; do h5diff -q "$f" "B/windows/$(basename "$f")" /velocity /velocity || echo "$f"; done)
[ -z "$differ" ] && pass "the 45 velocity maps after the rerun bit-identical" || fail "velocity maps differ: $differ"
finish
