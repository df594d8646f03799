#!/usr/bin/env bash
# Preemption of `tomo extract` and `tomo sweep` (simulate, classify and
# recover: test_tomo_preempt.sh; the trainer: test_nn_train.sh).
# The signal is placed by the PHENOSCALE_STOP_AT_LINE drill (common.bash's
# stop_at), not timed from outside: the small sweep trains a class in about
# a second.
#  - extract: SIGTERM once the model has run over some subtomograms (the
#    first progress line) ends the stage at the next batch with exit 75, a
#    "preempted ... during inference" line and no features file; the
#    rerun's /features equal an uninterrupted run's.
#  - sweep: SIGTERM as the second left-out class starts training ends the
#    sweep after its first step with exit 75; the first class's recover.h5 stays (the checkpoint per
#    finished class), the second has none; the same command run again skips
#    the first class, resumes the second from its training checkpoint, and
#    every recover.h5 equals the uninterrupted sweep's.
source "$(dirname "$0")/common.bash"
cd "$WORK"
RUN_NP_TIMEOUT=$SMALL_SWEEP_TIMEOUT
COMMON=("${SMALL_SWEEP[@]}" --set run.progress_interval_s=0.1)
for stage in structures simulate; do run_np 2 -q tomo "$stage" "${COMMON[@]}" --set run.output_dir=A || fail "tomo $stage"; done
mkdir -p B && cp A/structures.h5 A/subtomograms.h5 B/
run_np 2 -q tomo sweep "${COMMON[@]}" --set run.output_dir=A || fail "uninterrupted sweep"

# extract with class 0's model, one subtomogram per forward pass and the
# model five times over (an ensemble of one model: the same features), so
# that inference lasts seconds and the signal lands inside it.
MODEL=$WORK/A/sweep/class-0/model.h5
EXTRACT=("${COMMON[@]}" --set predict.input="$WORK/A/subtomograms.h5" --set predict.batch_size=1
         --set "predict.models=[\"$MODEL\", \"$MODEL\", \"$MODEL\", \"$MODEL\", \"$MODEL\"]")
run_np 2 -q tomo extract "${EXTRACT[@]}" --set run.output_dir=E1 || fail "uninterrupted extract"
stop_at ext.log "^inference: [0-9]*/" tomo extract "${EXTRACT[@]}" --set run.output_dir=E2
preempted extract ext.log inference E2 predictions.h5
echo "extract was at $(grep -o 'inference: [0-9]*/[0-9]*' ext.log | tail -1) when stopped"
run_np 2 -q tomo extract "${EXTRACT[@]}" --set run.output_dir=E2 || fail "extract rerun"
same_datasets E1/predictions.h5 E2/predictions.h5 /features

stop_at sweep.log "^train: .*checkpoints to .*class-1/" tomo sweep "${COMMON[@]}" --set run.output_dir=B
if [ "$rc" -eq 75 ] && grep -q '^phenoscale: preempted: stop signal at step 1;' sweep.log \
   && [ -e B/sweep/class-0/recover.h5 ] && [ ! -e B/sweep/class-1/recover.h5 ] \
   && ! find B -name '*.tmp.*' | grep -q .; then
  pass "SIGTERM during the sweep: exit 75 ($(grep -o '^phenoscale: preempted: [^;,]*' sweep.log | head -1)), class 0 kept, class 1 not written"
else
  fail "sweep preemption: rc=$rc, files: $(find B -name '*.h5' | tr '\n' ' '), log: $(tail -3 sweep.log)"
fi
run_np 2 tomo sweep "${COMMON[@]}" --set run.output_dir=B > sweep2.log 2>&1 || fail "sweep rerun: $(tail -3 sweep2.log)"
if grep -q "tomo sweep: .*class row 0.* already done" sweep2.log; then pass "sweep rerun skips the finished class"
else fail "sweep rerun redid class 0: $(grep 'tomo sweep:' sweep2.log)"; fi
if grep -q "resumed from" sweep2.log; then pass "sweep rerun: class 1 $(grep -o 'resumed from.*' sweep2.log | head -1)"
else fail "sweep rerun did not resume class 1's training from its checkpoint"; fi
for c in 0 1; do same_datasets A/sweep/class-$c/recover.h5 B/sweep/class-$c/recover.h5 /average /members /member_classes; done
finish
