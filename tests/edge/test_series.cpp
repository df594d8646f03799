// Velocity series of a probing window (edge/series.hpp): gap filling, the
// smoothing spline against a dense solution of its penalised least squares,
// protrusion onsets recovered from planted retraction/protrusion cycles, the
// block-edge rules, and onset-aligned samples.
#include <gtest/gtest.h>

#include <Eigen/Dense>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <limits>
#include <vector>

#include "phenoscale/core/error.hpp"
#include "phenoscale/core/rng.hpp"
#include "phenoscale/edge/series.hpp"

using namespace phenoscale::edge;
using phenoscale::ConfigError;
using phenoscale::InputError;
using phenoscale::core::Rng;
using phenoscale::core::Stream;

namespace {
const double kNaN = std::numeric_limits<double>::quiet_NaN();

// Velocity of alternating retraction (−2 nm/s, 8–12 frames) and protrusion
// (1–3 nm/s, 30–50 frames) phases plus N(0, 0.5²) noise; `onsets` are the
// first frames of the protrusions. Starts and ends with a retraction.
struct Planted {
  std::vector<double> velocity;
  std::vector<int> onsets;
};

Planted planted_cycles(Rng& rng, int cycles) {
  Planted p;
  auto retract = [&] {
    const int frames = 8 + static_cast<int>(rng.below(5));
    for (int i = 0; i < frames; ++i) p.velocity.push_back(-2.0);
  };
  for (int c = 0; c < cycles; ++c) {
    retract();
    p.onsets.push_back(static_cast<int>(p.velocity.size()));
    const int frames = 30 + static_cast<int>(rng.below(21));
    const double speed = rng.uniform(1.0, 3.0);
    for (int i = 0; i < frames; ++i) p.velocity.push_back(speed);
  }
  retract();
  for (double& v : p.velocity) v += rng.normal(0.0, 0.5);
  return p;
}

// Fraction of `a` with an element of `b` within ±tol.
double matched_fraction(const std::vector<int>& a, const std::vector<int>& b, int tol) {
  int hit = 0;
  for (int x : a) {
    for (int y : b) {
      if (std::abs(x - y) <= tol) {
        ++hit;
        break;
      }
    }
  }
  return a.empty() ? 0.0 : static_cast<double>(hit) / static_cast<double>(a.size());
}

std::vector<double> constant_run(std::vector<double> v, double value, int frames) {
  for (int i = 0; i < frames; ++i) v.push_back(value);
  return v;
}

}  // namespace

// ------------------------------------------------------------------ gaps

TEST(FillGaps, InteriorRunsUseTheWindowMeanAndEndsAreLeftAlone) {
  // index:               0     1    2    3     4     5     6    7    8    9    10
  std::vector<double> v{kNaN, 1.0, 2.0, kNaN, 4.0, kNaN, kNaN, 7.0, 8.0, kNaN, kNaN};
  EXPECT_EQ(fill_gaps(v, 1), 3u);
  EXPECT_TRUE(std::isnan(v[0]));           // leading: untouched
  EXPECT_DOUBLE_EQ(v[3], (2.0 + 4.0) / 2);  // ±1 holds 2 and 4
  EXPECT_DOUBLE_EQ(v[5], 4.0);              // ±1 holds only the original 4 (not the filled 6)
  EXPECT_DOUBLE_EQ(v[6], 7.0);              // ±1 holds only 7
  EXPECT_TRUE(std::isnan(v[9]));           // trailing: untouched
  EXPECT_TRUE(std::isnan(v[10]));
  EXPECT_DOUBLE_EQ(v[1], 1.0);
  EXPECT_DOUBLE_EQ(v[8], 8.0);
}

TEST(FillGaps, DefaultWindowAveragesNineFrames) {
  std::vector<double> v{1.0, 2.0, 3.0, 4.0, kNaN, 10.0, 20.0, 30.0, 40.0, 50.0};
  EXPECT_EQ(fill_gaps(v), 1u);
  EXPECT_DOUBLE_EQ(v[4], (1.0 + 2.0 + 3.0 + 4.0 + 10.0 + 20.0 + 30.0 + 40.0) / 8.0);
}

TEST(FillGaps, LongRunFallsBackToLinearInterpolation) {
  // Frames 3..8 are NaN; with half_width 2, frames 5 and 6 see no value.
  std::vector<double> v{0.0, 0.0, 10.0, kNaN, kNaN, kNaN, kNaN, kNaN, kNaN, 80.0, 0.0};
  EXPECT_EQ(fill_gaps(v, 2), 6u);
  EXPECT_DOUBLE_EQ(v[3], (0.0 + 10.0) / 2.0);  // window 1..5 holds 0 and 10
  EXPECT_DOUBLE_EQ(v[4], 10.0);                 // window 2..6 holds 10
  EXPECT_DOUBLE_EQ(v[5], 10.0 + 70.0 * 3.0 / 7.0);  // line from (2, 10) to (9, 80)
  EXPECT_DOUBLE_EQ(v[6], 10.0 + 70.0 * 4.0 / 7.0);
  EXPECT_DOUBLE_EQ(v[7], 80.0);                 // window 5..9 holds 80
  EXPECT_DOUBLE_EQ(v[8], (80.0 + 0.0) / 2.0);   // window 6..10 holds 80 and 0
}

TEST(FillGaps, NothingToFill) {
  std::vector<double> all_nan{kNaN, kNaN, kNaN};
  EXPECT_EQ(fill_gaps(all_nan), 0u);
  std::vector<double> clean{1.0, 2.0};
  EXPECT_EQ(fill_gaps(clean), 0u);
  std::vector<double> empty;
  EXPECT_EQ(fill_gaps(empty), 0u);
  EXPECT_THROW(fill_gaps(clean, -1), ConfigError);
}

TEST(CumulativeDisplacement, IsTheRunningSumTimesTheFrameInterval) {
  const std::vector<double> d = cumulative_displacement({1.0, -2.0, 0.5}, 5.0);
  ASSERT_EQ(d.size(), 3u);
  EXPECT_DOUBLE_EQ(d[0], 5.0);
  EXPECT_DOUBLE_EQ(d[1], -5.0);
  EXPECT_DOUBLE_EQ(d[2], -2.5);
  EXPECT_THROW(cumulative_displacement({1.0}, 0.0), ConfigError);
}

// ------------------------------------------------------------------ spline

TEST(SmoothingSpline, InterpolatesAtPOne) {
  Rng rng(7, Stream::test, 0);
  std::vector<double> y(50);
  for (double& v : y) v = rng.normal(0.0, 3.0);
  const std::vector<double> f = smoothing_spline(y, 1.0);
  for (std::size_t i = 0; i < y.size(); ++i) EXPECT_DOUBLE_EQ(f[i], y[i]);
}

TEST(SmoothingSpline, ReproducesAStraightLineForAnyP) {
  std::vector<double> y(40);
  for (std::size_t i = 0; i < y.size(); ++i) y[i] = 3.0 - 0.7 * static_cast<double>(i);
  for (double p : {1e-4, 0.1, 0.5, 0.99}) {
    const std::vector<double> f = smoothing_spline(y, p);
    for (std::size_t i = 0; i < y.size(); ++i) EXPECT_NEAR(f[i], y[i], 1e-9) << "p = " << p << ", i = " << i;
  }
}

TEST(SmoothingSpline, MatchesTheDensePenalisedLeastSquares) {
  // Minimiser of p|y − f|² + (1−p) fᵀ Q R⁻¹ Qᵀ f, solved densely:
  // (p I + (1−p) Q R⁻¹ Qᵀ) f = p y, Q and R for unit knot spacing
  // (Green & Silverman 1994, §2.1).
  const int n = 60;
  const double p = 0.3;
  Rng rng(11, Stream::test, 1);
  std::vector<double> y(n);
  for (int i = 0; i < n; ++i) y[i] = std::sin(0.2 * i) * 10.0 + rng.normal(0.0, 2.0);

  Eigen::MatrixXd q = Eigen::MatrixXd::Zero(n, n - 2), r = Eigen::MatrixXd::Zero(n - 2, n - 2);
  for (int j = 0; j < n - 2; ++j) {
    q(j, j) = 1.0;  // 1/h_j
    q(j + 1, j) = -2.0;  // −1/h_j − 1/h_{j+1}
    q(j + 2, j) = 1.0;  // 1/h_{j+1}
    r(j, j) = 2.0 / 3.0;  // (h_j + h_{j+1})/3
    if (j + 1 < n - 2) r(j, j + 1) = r(j + 1, j) = 1.0 / 6.0;  // h/6
  }
  const Eigen::MatrixXd k = q * r.inverse() * q.transpose();
  const Eigen::MatrixXd a = p * Eigen::MatrixXd::Identity(n, n) + (1.0 - p) * k;
  const Eigen::VectorXd yv = Eigen::Map<const Eigen::VectorXd>(y.data(), n);
  const Eigen::VectorXd dense = a.partialPivLu().solve(p * yv);

  const std::vector<double> f = smoothing_spline(y, p);
  ASSERT_EQ(f.size(), y.size());
  double largest_change = 0.0;
  for (int i = 0; i < n; ++i) {
    EXPECT_NEAR(f[i], dense(i), 1e-8) << "i = " << i;
    largest_change = std::max(largest_change, std::abs(f[i] - y[i]));
  }
  EXPECT_GT(largest_change, 0.5);  // it did smooth
}

TEST(SmoothingSpline, ShortSeriesAndBadArguments) {
  EXPECT_EQ(smoothing_spline({1.0, 5.0}, 0.2), (std::vector<double>{1.0, 5.0}));
  EXPECT_THROW(smoothing_spline({1.0, 2.0, 3.0}, 0.0), ConfigError);
  EXPECT_THROW(smoothing_spline({1.0, 2.0, 3.0}, 1.5), ConfigError);
  EXPECT_THROW(smoothing_spline({1.0, kNaN, 3.0}, 0.5), InputError);
}

// ------------------------------------------------------------------ onsets

TEST(DetectOnsets, RecoversPlantedOnsets) {
  std::vector<int> planted_all, detected_all;
  int offset = 0;
  for (int series = 0; series < 6; ++series) {
    Rng rng(2024, Stream::test, static_cast<std::uint64_t>(series));
    const Planted p = planted_cycles(rng, 40);
    for (const ProtrusionEvent& e : detect_onsets(p.velocity, OnsetOptions{})) {
      EXPECT_LT(e.onset, e.end);
      detected_all.push_back(offset + e.onset);
    }
    for (int o : p.onsets) planted_all.push_back(offset + o);
    offset += static_cast<int>(p.velocity.size()) + 1000;  // keep series apart when matching
  }
  ASSERT_GE(planted_all.size(), 200u);
  const double recall = matched_fraction(planted_all, detected_all, 2);
  const double within = matched_fraction(detected_all, planted_all, 2);
  std::printf("onsets: planted %zu, detected %zu, recall(±2) %.4f, detected within ±2 %.4f, exact %.4f, "
              "within ±1 %.4f\n",
              planted_all.size(), detected_all.size(), recall, within, matched_fraction(detected_all, planted_all, 0),
              matched_fraction(detected_all, planted_all, 1));
  EXPECT_GE(recall, 0.9);
  EXPECT_GE(within, 0.9);
}

TEST(DetectOnsets, EventsEndAtTheNextMaximumOrTheBlockEnd) {
  // Noise-free: retraction 20 frames, protrusion 40, retraction 15, protrusion
  // 30 (cut by the block end). Symmetric ±2 nm/s corners keep the smoothed
  // minima on the planted frames.
  std::vector<double> v = constant_run({}, -2.0, 20);
  v = constant_run(v, 2.0, 40);
  v = constant_run(v, -2.0, 15);
  v = constant_run(v, 2.0, 30);
  const std::vector<ProtrusionEvent> events = detect_onsets(v, OnsetOptions{});
  ASSERT_EQ(events.size(), 2u);
  EXPECT_EQ(events[0].onset, 20);
  EXPECT_EQ(events[0].end, 60);  // first retraction frame
  EXPECT_EQ(events[1].onset, 75);
  EXPECT_EQ(events[1].end, 105);  // block end
}

TEST(DetectOnsets, RulesAtTheBlockStartAndSmallDips) {
  // Protruding from the first frame: that minimum is not an observed onset.
  // A 10 nm dip is below the 20 nm threshold; the 120 nm retraction is an onset.
  std::vector<double> v = constant_run({}, 2.0, 30);
  v = constant_run(v, -1.0, 2);  // 10 nm fall: below the 20 nm threshold
  v = constant_run(v, 2.0, 30);
  v = constant_run(v, -2.0, 12);  // 120 nm fall
  v = constant_run(v, 2.0, 30);
  v = constant_run(v, -2.0, 10);
  const std::vector<ProtrusionEvent> events = detect_onsets(v, OnsetOptions{});
  ASSERT_EQ(events.size(), 1u);
  EXPECT_EQ(events[0].onset, 74);
  EXPECT_EQ(events[0].end, 104);

  OnsetOptions strict;
  strict.rise_threshold = 200.0;  // the 120 nm retraction no longer qualifies
  EXPECT_TRUE(detect_onsets(v, strict).empty());
}

TEST(DetectOnsets, NanSplitsTheSeriesIntoBlocks) {
  std::vector<double> v = constant_run({}, -2.0, 15);
  v = constant_run(v, 2.0, 30);
  v.push_back(kNaN);
  v = constant_run(v, -2.0, 15);
  v = constant_run(v, 2.0, 30);
  const std::vector<ProtrusionEvent> events = detect_onsets(v, OnsetOptions{});
  ASSERT_EQ(events.size(), 2u);
  EXPECT_EQ(events[0].onset, 15);
  EXPECT_EQ(events[0].end, 45);  // the end of the first block, before the NaN
  EXPECT_EQ(events[1].onset, 61);
  EXPECT_EQ(events[1].end, 91);
}

TEST(DetectOnsets, RejectsBadOptions) {
  const std::vector<double> v(30, 1.0);
  OnsetOptions o;
  o.min_separation = 0;
  EXPECT_THROW(detect_onsets(v, o), ConfigError);
  o = OnsetOptions{};
  o.smoothing = 0.0;
  EXPECT_THROW(detect_onsets(v, o), ConfigError);
  o = OnsetOptions{};
  o.frame_s = -5.0;
  EXPECT_THROW(detect_onsets(v, o), ConfigError);
  o = OnsetOptions{};
  o.rise_threshold = -1.0;
  EXPECT_THROW(detect_onsets(v, o), ConfigError);
  EXPECT_TRUE(detect_onsets({}, OnsetOptions{}).empty());
}

// ------------------------------------------------------------------ blocks

TEST(VelocityBlocks, BlocksOfFramesHoldTheMotionsBetweenTheirFrames) {
  // A 200-frame movie is one block: the motions between frames 0..199.
  const auto one = velocity_blocks(200, 200);
  ASSERT_EQ(one.size(), 1u);
  EXPECT_EQ(one[0].begin, 0);
  EXPECT_EQ(one[0].end, 199);
  // 450 frames: [0, 200), [200, 400), [400, 450); the motions 199 -> 200 and
  // 399 -> 400 cross a cut and belong to no block.
  const auto three = velocity_blocks(450, 200);
  ASSERT_EQ(three.size(), 3u);
  EXPECT_EQ(three[1].begin, 200);
  EXPECT_EQ(three[1].end, 399);
  EXPECT_EQ(three[2].begin, 400);
  EXPECT_EQ(three[2].end, 449);
  // A last block of one frame has no motion; 0 is the whole movie.
  EXPECT_EQ(velocity_blocks(401, 200).size(), 2u);
  const auto whole = velocity_blocks(400, 0);
  ASSERT_EQ(whole.size(), 1u);
  EXPECT_EQ(whole[0].end, 399);
  EXPECT_TRUE(velocity_blocks(0, 200).empty());
  EXPECT_THROW(velocity_blocks(400, 1), ConfigError);
  EXPECT_THROW(velocity_blocks(400, -5), ConfigError);
  EXPECT_THROW(velocity_blocks(-1, 200), InputError);
}

TEST(VelocityBlocks, AnEventAcrossTheCutEndsAtItsBlockEnd) {
  // Retraction 20 frames, protrusion 60 across the cut at frame 50, retraction
  // 30 across the cut at 100, protrusion 20: the first protrusion ends at its
  // block's end and its rest starts the second block protruding (not an
  // observed onset).
  std::vector<double> v = constant_run({}, -2.0, 20);
  v = constant_run(v, 2.0, 60);
  v = constant_run(v, -2.0, 30);
  v = constant_run(v, 2.0, 20);
  std::vector<ProtrusionEvent> found;
  for (const auto& b : velocity_blocks(static_cast<int>(v.size()) + 1, 50)) {
    const std::vector<double> block(v.begin() + b.begin, v.begin() + b.end);
    for (auto e : detect_onsets(block, OnsetOptions{})) found.push_back({b.begin + e.onset, b.begin + e.end});
  }
  ASSERT_EQ(found.size(), 2u);
  EXPECT_EQ(found[0].onset, 20);
  EXPECT_EQ(found[0].end, 49);  // the block [0, 50) holds the motions 0..48
  EXPECT_EQ(found[1].onset, 110);
  EXPECT_EQ(found[1].end, 130);  // the third block's end
  // The whole series as one block: the first protrusion lasts its 60 frames.
  EXPECT_EQ(detect_onsets(v, OnsetOptions{})[0].end, 80);
}

// ------------------------------------------------------------------ alignment

TEST(AlignEvents, CutsSamplesAtTheOnsetAndCountsSkips) {
  std::vector<double> v(200);
  for (std::size_t t = 0; t < v.size(); ++t) v[t] = static_cast<double>(t);  // value = frame index
  v[150] = kNaN;
  const std::vector<ProtrusionEvent> events{
      {10, 80},    // full: 56 frames, 5..60
      {3, 40},     // onset < before: skipped
      {90, 100},   // 85..99 = 15 frames < 17: skipped
      {100, 112},  // 95..111 = 17 frames: kept
      {148, 190},  // holds frame 150 (NaN): skipped
      {120, 130},  // 115..129 = 15 frames: skipped
  };
  std::size_t skipped = 99;
  const std::vector<AlignedSample> s = align_events(v, events, AlignOptions{}, &skipped);
  EXPECT_EQ(skipped, 4u);
  ASSERT_EQ(s.size(), 2u);
  EXPECT_EQ(s[0].onset, 10);
  EXPECT_EQ(s[0].first, 5);
  ASSERT_EQ(s[0].velocity.size(), 56u);
  EXPECT_DOUBLE_EQ(s[0].velocity[5], 10.0);  // the onset column
  EXPECT_DOUBLE_EQ(s[0].velocity.front(), 5.0);
  EXPECT_DOUBLE_EQ(s[0].velocity.back(), 60.0);
  EXPECT_EQ(s[1].onset, 100);
  ASSERT_EQ(s[1].velocity.size(), 17u);
  EXPECT_DOUBLE_EQ(s[1].velocity[5], 100.0);
  EXPECT_DOUBLE_EQ(s[1].velocity.back(), 111.0);
}

TEST(AlignEvents, OptionsChangeTheWindow) {
  std::vector<double> v(100);
  for (std::size_t t = 0; t < v.size(); ++t) v[t] = static_cast<double>(t);
  AlignOptions o;
  o.before = 2;
  o.after = 3;
  o.min_frames = 1;
  const std::vector<AlignedSample> s = align_events(v, {{10, 50}, {1, 50}, {97, 100}}, o);
  ASSERT_EQ(s.size(), 2u);
  EXPECT_EQ(s[0].velocity, (std::vector<double>{8, 9, 10, 11, 12, 13}));
  EXPECT_EQ(s[1].velocity, (std::vector<double>{95, 96, 97, 98, 99}));
}

TEST(AlignEvents, RejectsBadEventsAndOptions) {
  const std::vector<double> v(50, 1.0);
  EXPECT_THROW(align_events(v, {{10, 51}}), InputError);
  EXPECT_THROW(align_events(v, {{10, 10}}), InputError);
  EXPECT_THROW(align_events(v, {{-1, 10}}), InputError);
  AlignOptions o;
  o.min_frames = 0;
  EXPECT_THROW(align_events(v, {}, o), ConfigError);
  o = AlignOptions{};
  o.before = -1;
  EXPECT_THROW(align_events(v, {}, o), ConfigError);
}
