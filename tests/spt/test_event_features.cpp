// Event-timing features and labels (spt/event_features.hpp; docs/methods.md
// §2.6) on tracks with known answers: a straight run, a back-and-forth hop,
// a run that stops, a short track; scale invariance and window placement;
// before/after labels from truth states.
#include <gtest/gtest.h>

#include <cmath>
#include <vector>

#include "phenoscale/core/error.hpp"
#include "phenoscale/core/rng.hpp"
#include "phenoscale/spt/event_features.hpp"

using namespace phenoscale::spt;
using phenoscale::ConfigError;
using phenoscale::InputError;
using phenoscale::core::Rng;
using phenoscale::core::Stream;

namespace {

constexpr int C = kEventFeatureChannels;

double at(const std::vector<double>& f, std::int64_t t, int c) { return f[static_cast<std::size_t>(t * C + c)]; }

// x_t from a function of t, y_t = 0.5 x_t (2D).
template <typename F>
std::vector<double> track_of(std::int64_t frames, F x) {
  std::vector<double> xyz;
  for (std::int64_t t = 0; t < frames; ++t) {
    xyz.push_back(x(t));
    xyz.push_back(0.5 * x(t));
  }
  return xyz;
}

}  // namespace

TEST(EventFeatures, StraightRunAtConstantSpeed) {
  // Every step is the same vector: the window is as fast as the track (ln 1),
  // MSD(k) ∝ k² (α = 2), consecutive steps are parallel, the path is straight.
  const auto xyz = track_of(50, [](std::int64_t t) { return 0.3 * double(t); });
  const auto f = event_features({xyz.data(), 50, 2});
  ASSERT_EQ(f.size(), 50u * C);
  for (std::int64_t t = 0; t < 50; ++t) {
    EXPECT_NEAR(at(f, t, 0), 0.0, 1e-12) << t;
    EXPECT_NEAR(at(f, t, 1), 2.0, 1e-9) << t;
    EXPECT_NEAR(at(f, t, 2), 1.0, 1e-12) << t;
    EXPECT_NEAR(at(f, t, 3), 1.0, 1e-12) << t;
    EXPECT_NEAR(at(f, t, 4), 0.0, 1e-12) << t;  // ln 1, and 0 by definition at t = 0
  }
}

TEST(EventFeatures, BackAndForthHop) {
  // x = 0, 1, 0, 1, ...: antiparallel steps (cosine −1); a 20-frame window
  // ends one hop from where it started (straightness 1/19); the MSD is 1 at
  // odd lags and 0 at even ones, so the fit uses lags 1 and 3: α = 0.
  const auto xyz = track_of(40, [](std::int64_t t) { return double(t % 2); });
  const auto f = event_features({xyz.data(), 40, 2});
  for (std::int64_t t = 0; t < 40; ++t) {
    EXPECT_NEAR(at(f, t, 0), 0.0, 1e-12) << t;
    EXPECT_NEAR(at(f, t, 1), 0.0, 1e-9) << t;
    EXPECT_NEAR(at(f, t, 2), -1.0, 1e-12) << t;
    EXPECT_NEAR(at(f, t, 3), 1.0 / 19.0, 1e-12) << t;
  }
}

TEST(EventFeatures, RunThatStopsWindowsPlacedAsInRollingMsd) {
  // x_t = t up to frame 29, then the particle stays: 29 unit steps out of 59,
  // so the track's mean squared step is 29/59 (here in units of 1.25, the
  // squared length of (1, 0.5)). Window of frame t: [t − 10, t + 10) shifted
  // inside [0, 60).
  const auto xyz = track_of(60, [](std::int64_t t) { return double(std::min<std::int64_t>(t, 29)); });
  const auto f = event_features({xyz.data(), 60, 2});
  const double moving = std::log(59.0 / 29.0);
  for (std::int64_t t : {0, 5, 10, 19}) {  // windows [0, 20), [0, 20), [0, 20), [9, 29): all moving
    EXPECT_NEAR(at(f, t, 0), moving, 1e-12) << t;
    EXPECT_NEAR(at(f, t, 2), 1.0, 1e-12) << t;
    EXPECT_NEAR(at(f, t, 3), 1.0, 1e-12) << t;
  }
  for (std::int64_t t : {40, 50, 59}) {  // windows [30, 50), [40, 60), [40, 60): motionless
    EXPECT_EQ(at(f, t, 0), -10.0) << t;
    EXPECT_EQ(at(f, t, 1), 1.0) << t << ": undefined α reads as Brownian";
    EXPECT_EQ(at(f, t, 2), 0.0) << t;
    EXPECT_EQ(at(f, t, 3), 0.0) << t;
    EXPECT_EQ(at(f, t, 4), -10.0) << t;
  }
  // Frame 30's window [20, 40) holds 9 unit steps of 19, all in one direction.
  EXPECT_NEAR(at(f, 30, 0), std::log((9.0 / 19.0) / (29.0 / 59.0)), 1e-12);
  EXPECT_NEAR(at(f, 30, 2), 1.0, 1e-12);
  EXPECT_NEAR(at(f, 30, 3), 9.0 / 9.0, 1e-12);
  // The frame's own step places the stop: frame 29 still moved, frame 30 did not.
  EXPECT_NEAR(at(f, 29, 4), moving, 1e-12);
  EXPECT_EQ(at(f, 30, 4), -10.0);
}

TEST(EventFeatures, ShortTrackIsOneWindow) {
  Rng rng(3, Stream::test, 0);
  std::vector<double> xyz;
  for (int i = 0; i < 10 * 3; ++i) xyz.push_back(rng.normal());
  const auto f = event_features({xyz.data(), 10, 3});
  for (std::int64_t t = 1; t < 10; ++t) {
    for (int c = 0; c < 4; ++c) EXPECT_EQ(at(f, t, c), at(f, 0, c)) << "frame " << t << ", channel " << c;
  }
  // A one-frame track has no step: every channel at its "no evidence" value.
  const auto one = event_features({xyz.data(), 1, 3});
  EXPECT_EQ(one, (std::vector<double>{0.0, 1.0, 0.0, 0.0, 0.0}));
}

TEST(EventFeatures, ScaleFreeAndFloat32Append) {
  Rng rng(5, Stream::test, 1);
  std::vector<double> xyz(120 * 2), scaled;
  for (std::size_t i = 2; i < xyz.size(); ++i) xyz[i] = xyz[i - 2] + rng.normal();
  for (double v : xyz) scaled.push_back(v * 1e-4);
  EventFeatureOptions options;
  options.window = 25;
  const auto a = event_features({xyz.data(), 120, 2}, options);
  const auto b = event_features({scaled.data(), 120, 2}, options);
  ASSERT_EQ(a.size(), b.size());
  for (std::size_t i = 0; i < a.size(); ++i) EXPECT_NEAR(a[i], b[i], 1e-9) << i;
  // Brownian motion: α near 1, steps uncorrelated, windows about as fast as the track.
  double alpha = 0, cosine = 0;
  for (std::int64_t t = 0; t < 120; ++t) alpha += at(a, t, 1) / 120, cosine += at(a, t, 2) / 120;
  EXPECT_NEAR(alpha, 1.0, 0.3);
  EXPECT_NEAR(cosine, 0.0, 0.15);
  std::vector<float> out = {7.0f};
  append_event_features({xyz.data(), 120, 2}, options, out);
  ASSERT_EQ(out.size(), 1 + a.size());
  for (std::size_t i = 0; i < a.size(); ++i) EXPECT_EQ(out[i + 1], static_cast<float>(a[i]));
}

TEST(EventFeatures, BadOptionsAndDimensions) {
  std::vector<double> xyz(20, 0.0);
  EventFeatureOptions small;
  small.window = 2;
  EXPECT_THROW(event_features({xyz.data(), 10, 2}, small), ConfigError);
  EventFeatureOptions lag;
  lag.max_lag = 0;
  EXPECT_THROW(event_features({xyz.data(), 10, 2}, lag), ConfigError);
  EXPECT_THROW(event_features({xyz.data(), 20, 1}), InputError);
}

TEST(EventLabels, BeforeAndAfterTheFirstChangepoint) {
  const std::vector<std::int64_t> states = {0, 0, 0, 3, 3, 1, 1, 0};
  const auto labels = event_labels(states.data(), 8);
  EXPECT_EQ(labels, (std::vector<std::int64_t>{0, 0, 0, 1, 1, 1, 1, 1}));
  EXPECT_EQ(first_after(labels.data(), 8), 3);
  const std::vector<std::int64_t> one_mode = {2, 2, 2, 2};
  const auto none = event_labels(one_mode.data(), 4);
  EXPECT_EQ(none, (std::vector<std::int64_t>(4, 0)));
  EXPECT_EQ(first_after(none.data(), 4), -1);
  EXPECT_TRUE(event_labels(nullptr, 0).empty());
}
