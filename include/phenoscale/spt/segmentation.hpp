// From per-frame states to segments (DeepSPT, docs/methods.md §2.2 "Inference"):
// runs of equal state, short runs merged into a neighbour, changepoints at
// run boundaries; and the per-frame scores of a segmentation against truth
// (accuracy, macro-F1, changepoint error).
#pragma once

#include <cstdint>
#include <vector>

#include "phenoscale/ml/cross_validation.hpp"
#include "phenoscale/spt/track.hpp"

namespace phenoscale::spt {

struct Run {
  std::int64_t begin = 0, end = 0;  // frames [begin, end)
  std::int64_t state = 0;
  std::int64_t length() const { return end - begin; }
};

std::vector<Run> runs_of(const std::int64_t* states, std::int64_t frames);

// Runs shorter than `min_run` frames take the state of a neighbour, shortest
// run first (ties: the earlier run), into the longer neighbour (ties: the
// preceding one). A track with one run, or shorter than min_run, is unchanged.
// Deterministic, so every rank count gives the same segments.
void merge_short_runs(std::int64_t* states, std::int64_t frames, std::int64_t min_run);

// Frames where a new run starts (the first frame of every run but the first).
std::vector<std::int64_t> changepoints(const std::int64_t* states, std::int64_t frames);

// Per-frame counts of (true, predicted) states over tracks, scored by the
// field's definitions of ml::ConfusionMatrix (macro-F1 over the states that
// occur in truth or prediction); summed over ranks by the caller.
struct Confusion : ml::ConfusionMatrix {
  Confusion() : ml::ConfusionMatrix(kStates) {}
  using ml::ConfusionMatrix::add;
  void add(const std::int64_t* truth, const std::int64_t* predicted, std::int64_t frames);
};

}  // namespace phenoscale::spt
