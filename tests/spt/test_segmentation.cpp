// From per-frame states to segments (spt/segmentation.hpp, docs/methods.md §2.2
// "Inference"): runs, the merge of short runs (into the longer neighbour, ties
// to the preceding one, shortest run first, earlier run on ties), changepoints,
// and the per-frame scores (accuracy, macro-F1 over the classes present)
// against hand-computed values.
#include <gtest/gtest.h>

#include <cmath>
#include <cstdint>
#include <vector>

#include "phenoscale/core/rng.hpp"
#include "phenoscale/spt/segmentation.hpp"

using namespace phenoscale::spt;
using phenoscale::core::Rng;
using phenoscale::core::Stream;

namespace {

using States = std::vector<std::int64_t>;

States merged(States s, std::int64_t min_run) {
  merge_short_runs(s.data(), static_cast<std::int64_t>(s.size()), min_run);
  return s;
}

// `lengths[i]` frames of state `states[i]`, run after run.
States runs(const std::vector<std::int64_t>& states, const std::vector<std::int64_t>& lengths) {
  States s;
  for (std::size_t i = 0; i < states.size(); ++i) s.insert(s.end(), static_cast<std::size_t>(lengths[i]), states[i]);
  return s;
}

}  // namespace

TEST(Segmentation, RunsOfEqualState) {
  const States s = {0, 0, 1, 1, 1, 2, 0};
  const auto r = runs_of(s.data(), 7);
  ASSERT_EQ(r.size(), 4u);
  const std::int64_t expected[4][3] = {{0, 2, 0}, {2, 5, 1}, {5, 6, 2}, {6, 7, 0}};
  for (int i = 0; i < 4; ++i) {
    EXPECT_EQ(r[i].begin, expected[i][0]) << i;
    EXPECT_EQ(r[i].end, expected[i][1]) << i;
    EXPECT_EQ(r[i].state, expected[i][2]) << i;
  }
  EXPECT_EQ(r[1].length(), 3);
  EXPECT_TRUE(runs_of(s.data(), 0).empty());
  const States one = {3};
  ASSERT_EQ(runs_of(one.data(), 1).size(), 1u);
  EXPECT_EQ(runs_of(one.data(), 1)[0].length(), 1);
}

TEST(Segmentation, ChangepointsAreTheFirstFramesOfLaterRuns) {
  const States s = {0, 0, 1, 1, 1, 2, 0};
  EXPECT_EQ(changepoints(s.data(), 7), (States{2, 5, 6}));
  const States flat(9, 2);
  EXPECT_TRUE(changepoints(flat.data(), 9).empty());
  EXPECT_TRUE(changepoints(flat.data(), 0).empty());
  EXPECT_TRUE(changepoints(flat.data(), 1).empty());
}

TEST(Segmentation, ShortRunJoinsTheLongerNeighbour) {
  // 1 (2 frames) sits between 0 (6) and 2 (3): it becomes 0.
  EXPECT_EQ(merged(runs({0, 1, 2}, {6, 2, 3}), 3), runs({0, 2}, {8, 3}));
  // The longer neighbour may be the following one.
  EXPECT_EQ(merged(runs({0, 1, 2}, {3, 2, 6}), 3), runs({0, 2}, {3, 8}));
  // A short first or last run has one neighbour.
  EXPECT_EQ(merged(runs({1, 0}, {1, 5}), 3), States(6, 0));
  EXPECT_EQ(merged(runs({0, 1}, {5, 2}), 3), States(7, 0));
}

TEST(Segmentation, TiedNeighboursGiveThePrecedingState) {
  EXPECT_EQ(merged(runs({0, 1, 2}, {4, 1, 4}), 3), runs({0, 2}, {5, 4}));
}

TEST(Segmentation, ShortestRunIsMergedFirst) {
  // A5 B2 C1 D5, min_run 3. Shortest first: C → D (5 > 2), then B → D (6 > 5):
  // A5 D8. Left to right would give B → A, then C → D: A7 D6.
  EXPECT_EQ(merged(runs({0, 1, 2, 3}, {5, 2, 1, 5}), 3), runs({0, 3}, {5, 8}));
}

TEST(Segmentation, EqualShortestRunsMergeEarlierFirst) {
  // A4 B1 C1 D4. B first: B → A (4 > 1), then C → A (5 > 4): A6 D4.
  // C first would give C → D, then B → D: A4 D6.
  EXPECT_EQ(merged(runs({0, 1, 2, 3}, {4, 1, 1, 4}), 2), runs({0, 3}, {6, 4}));
}

TEST(Segmentation, MergedNeighboursOfTheSameStateJoin) {
  // 0 (4) 1 (1) 0 (4): the short run joins both sides into one run of 9.
  EXPECT_EQ(merged(runs({0, 1, 0}, {4, 1, 4}), 5), States(9, 0));
}

TEST(Segmentation, TrackShorterThanMinRunOrOneRunIsUnchanged) {
  const States short_track = {0, 1, 1, 0};
  EXPECT_EQ(merged(short_track, 5), short_track);
  const States three = {2, 3, 2};
  EXPECT_EQ(merged(three, 4), three);
  const States one_run(3, 1);
  EXPECT_EQ(merged(one_run, 5), one_run);
  // min_run 1: nothing is short.
  const States alternating = {0, 1, 0, 1, 2, 3};
  EXPECT_EQ(merged(alternating, 1), alternating);
  // Exactly min_run long: merged.
  EXPECT_EQ(merged({0, 0, 1, 0, 0}, 5), States(5, 0));
}

TEST(Segmentation, MergeLeavesNoShortRunProperty) {
  // Random state sequences with many short runs: after the merge no run is
  // shorter than min_run (track ≥ min_run), frames of runs that were already
  // long keep their state, states come from the input, and merging again
  // changes nothing.
  int checked = 0;
  for (std::uint64_t i = 0; i < 2000; ++i) {
    Rng rng(20261130, Stream::test, i);
    const auto min_run = static_cast<std::int64_t>(1 + rng.below(8));
    const auto frames = min_run + static_cast<std::int64_t>(rng.below(80));
    const double stay = rng.uniform(0.0, 0.95);
    States s(static_cast<std::size_t>(frames));
    s[0] = static_cast<std::int64_t>(rng.below(kStates));
    for (std::int64_t t = 1; t < frames; ++t) {
      s[t] = rng.uniform() < stay ? s[t - 1] : static_cast<std::int64_t>(rng.below(kStates));
    }
    const States out = merged(s, min_run);
    ASSERT_EQ(out.size(), s.size());
    for (const auto& run : runs_of(out.data(), frames)) {
      ASSERT_GE(run.length(), min_run) << "sequence " << i << ", min_run " << min_run;
    }
    for (const auto& run : runs_of(s.data(), frames)) {
      if (run.length() < min_run) continue;
      for (auto t = run.begin; t < run.end; ++t) ASSERT_EQ(out[t], run.state) << "sequence " << i << " frame " << t;
    }
    for (std::int64_t t = 0; t < frames; ++t) {
      bool present = false;
      for (auto v : s) present |= v == out[t];
      ASSERT_TRUE(present) << "sequence " << i;
    }
    ASSERT_EQ(merged(out, min_run), out) << "sequence " << i;
    checked += runs_of(s.data(), frames).size() > 1;
  }
  EXPECT_GT(checked, 1500);
}

TEST(Segmentation, ConfusionScoresByHand) {
  // truth 0 0 0 1 1 2, predicted 0 0 1 1 2 2.
  const States truth = {0, 0, 0, 1, 1, 2}, predicted = {0, 0, 1, 1, 2, 2};
  Confusion c;
  c.add(truth.data(), predicted.data(), 6);
  EXPECT_EQ(c.total(), 6);
  EXPECT_EQ(c.counts[0 * kStates + 0], 2);
  EXPECT_EQ(c.counts[0 * kStates + 1], 1);
  EXPECT_EQ(c.counts[1 * kStates + 2], 1);
  EXPECT_EQ(c.counts[2 * kStates + 1], 0);
  EXPECT_DOUBLE_EQ(c.accuracy(), 4.0 / 6.0);
  // F1 = 2 TP / (true + predicted): 0: 4/5, 1: 2/4, 2: 2/3; 3 absent.
  EXPECT_DOUBLE_EQ(c.f1(0), 0.8);
  EXPECT_DOUBLE_EQ(c.f1(1), 0.5);
  EXPECT_DOUBLE_EQ(c.f1(2), 2.0 / 3.0);
  EXPECT_TRUE(std::isnan(c.f1(3)));
  // Macro-F1 over the three present classes (with class 3 as 0 it would be 0.49).
  EXPECT_NEAR(c.macro_f1(), (0.8 + 0.5 + 2.0 / 3.0) / 3.0, 1e-15);
  // Adding counts accumulates.
  c.add(truth.data(), truth.data(), 6);
  EXPECT_EQ(c.total(), 12);
  EXPECT_DOUBLE_EQ(c.accuracy(), 10.0 / 12.0);
}

TEST(Segmentation, ClassOnlyPredictedCountsInMacroF1) {
  // truth 0 0, predicted 0 3: class 3 occurs (in prediction) with F1 0.
  const States truth = {0, 0}, predicted = {0, 3};
  Confusion c;
  c.add(truth.data(), predicted.data(), 2);
  EXPECT_DOUBLE_EQ(c.f1(0), 2.0 / 3.0);
  EXPECT_DOUBLE_EQ(c.f1(3), 0.0);
  EXPECT_TRUE(std::isnan(c.f1(1)));
  EXPECT_DOUBLE_EQ(c.macro_f1(), 1.0 / 3.0);
  EXPECT_DOUBLE_EQ(c.accuracy(), 0.5);
}

TEST(Segmentation, EmptyConfusionHasNoScores) {
  Confusion c;
  EXPECT_EQ(c.total(), 0);
  EXPECT_TRUE(std::isnan(c.accuracy()));
  EXPECT_TRUE(std::isnan(c.macro_f1()));
  const States perfect = {1, 1, 1};
  c.add(perfect.data(), perfect.data(), 3);
  EXPECT_DOUBLE_EQ(c.accuracy(), 1.0);
  EXPECT_DOUBLE_EQ(c.macro_f1(), 1.0);
}
