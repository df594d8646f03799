#!/usr/bin/env bash
# Preemption of the tomo stages that do not train (the trainer has its own
# test in test_nn_train.sh): SIGTERM while `tomo simulate` simulates (sent
# from outside to the ranks), in `tomo classify`'s second iteration and in
# `tomo recover`'s second reference-free alignment pass, its second half-set
# realignment pass and its comparisons with the other class maps, and in
# `tomo average`'s alignment to the class map (placed there by the
# PHENOSCALE_STOP_AT_LINE drill) ends the stage with exit 75, a "preempted"
# line naming that iteration or pass and no output file (nor temporary)
# left; the same command run again produces outputs identical to an
# uninterrupted run.
source "$(dirname "$0")/common.bash"
cd "$WORK"
DECK=$SRC/inputs/tomo/leave_one_out.toml
# The tilt-series path simulates ~70 subtomograms/s on 2 ranks: 160 of them
# leave seconds for the signal to land while the stage still runs.
SIM=(-c "$DECK" --set 'structures.classes=[1, 15, 17, 22]' --set simulate.samples_per_class=40
     --set simulate.method=tilt_series --set run.progress_interval_s=0.2)
CLASSIFY=(-c "$DECK" --set 'classify.label_ids=[1, 15]' --set classify.classes=2 --set classify.iterations=3
          --set classify.initial_alignment=identity)
for dir in A B; do run_np 2 -q tomo structures "${SIM[@]}" --set run.output_dir=$dir || fail "structures"; done
run_np 2 -q tomo simulate "${SIM[@]}" --set run.output_dir=A || fail "uninterrupted simulate"

interrupt sim.log "tomo simulate: [0-9]*/" tomo simulate "${SIM[@]}" --set run.output_dir=B
preempted simulate sim.log "tomo simulate" B subtomograms.h5
run_np 2 -q tomo simulate "${SIM[@]}" --set run.output_dir=B || fail "simulate rerun"
same_datasets A/subtomograms.h5 B/subtomograms.h5 /subtomograms

run_np 2 -q tomo classify "${CLASSIFY[@]}" --set run.output_dir=A || fail "uninterrupted classify"
stop_at cls.log "^classification: iteration 1," -v tomo classify "${CLASSIFY[@]}" --set run.output_dir=B
preempted classify cls.log "classification iteration 2;" B classes.h5
run_np 2 -q tomo classify "${CLASSIFY[@]}" --set run.output_dir=B || fail "classify rerun"
same_datasets A/classes.h5 B/classes.h5 /predicted_labels /class_averages

# recover on a perfect subdivision (cluster = simulated class), which
# test_tomo_sweep.sh builds by training instead.
"$PY" - <<'PY'
import h5py, numpy as np
rows = h5py.File("A/subtomograms.h5", "r")["/class_rows"][()]
for d in ("A", "B"):
    with h5py.File(f"{d}/subdivide.h5", "w") as f:
        f["/labels"] = rows
        f["/most_enriched_cluster"] = np.arange(4)
        f["/most_enriched_fraction"] = np.ones(4)
PY
RECOVER=(-c "$DECK" --set 'structures.classes=[1, 15, 17, 22]' --set recover.class_row=0 --set recover.iterations=2
         --set recover.half_set_realign_passes=2)
run_np 2 -q tomo recover "${RECOVER[@]}" --set run.output_dir=A || fail "uninterrupted recover"
stop_at rec.log "^reference-free alignment: pass 1 of" -v tomo recover "${RECOVER[@]}" --set run.output_dir=B
preempted recover rec.log "reference-free alignment pass 2;" B recover.h5 recover.star
# Later in recover: the gold-standard half sets' second realignment pass, and
# the comparisons of the average with the other class maps (a full alignment
# each), which the stage's last stop point before writing used to follow.
stop_at rec_half.log "^half sets: realignment pass 1 of 2" -v tomo recover "${RECOVER[@]}" --set run.output_dir=B
preempted "recover's half sets" rec_half.log "half-set realignment pass 2;" B recover.h5 recover.star
stop_at rec_maps.log "^tomo recover: structural discrepancy to" -v tomo recover "${RECOVER[@]}" --set run.output_dir=B
preempted "recover's comparison with the other maps" rec_maps.log "the comparison with the other class maps;" B \
  recover.h5 recover.star
run_np 2 -q tomo recover "${RECOVER[@]}" --set run.output_dir=B || fail "recover rerun"
same_datasets A/recover.h5 B/recover.h5 /average /member_classes /half_set_fsc

# tomo average aligned to the class map (reference mode): a global search per
# member, left at the signal.
AVERAGE=(-c "$DECK" --set 'structures.classes=[1, 15, 17, 22]' --set average.members=oracle --set average.alignment=reference)
stop_at avg.log "^tomo average: " tomo average "${AVERAGE[@]}" --set run.output_dir=B
preempted "the reference-based average" avg.log "the alignment to the class map;" B average.h5 average.mrc
finish
