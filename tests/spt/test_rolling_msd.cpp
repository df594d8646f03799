// The rolling-MSD baseline (spt/rolling_msd.hpp, docs/methods.md §2.4) on pure
// motion modes generated here: Brownian → normal, strong drift → directed,
// a particle in a tiny box → subdiffusive; window placement and options.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <vector>

#include "phenoscale/core/error.hpp"
#include "phenoscale/core/rng.hpp"
#include "phenoscale/spt/rolling_msd.hpp"

using namespace phenoscale::spt;
using phenoscale::ConfigError;
using phenoscale::InputError;
using phenoscale::core::Rng;
using phenoscale::core::Stream;

namespace {

// Brownian steps N(0, 1) per axis plus a drift `v` along x per frame.
std::vector<double> drifting(std::int64_t frames, int dim, double v, Rng& rng) {
  std::vector<double> xyz(static_cast<std::size_t>(frames * dim), 0.0);
  for (std::int64_t t = 1; t < frames; ++t)
    for (int a = 0; a < dim; ++a) xyz[t * dim + a] = xyz[(t - 1) * dim + a] + rng.normal() + (a == 0 ? v : 0.0);
  return xyz;
}

// Brownian steps N(0, 1) reflected into a box of side `side` (≪ 1): the MSD
// saturates after one frame.
std::vector<double> boxed(std::int64_t frames, int dim, double side, Rng& rng) {
  std::vector<double> xyz(static_cast<std::size_t>(frames * dim), side / 2);
  for (std::int64_t t = 1; t < frames; ++t)
    for (int a = 0; a < dim; ++a) {
      double x = xyz[(t - 1) * dim + a] + rng.normal();
      // Reflect at 0 and side until inside (folding on a period of 2·side).
      x = std::fmod(std::abs(x), 2 * side);
      xyz[t * dim + a] = x > side ? 2 * side - x : x;
    }
  return xyz;
}

double fraction_of(const std::vector<std::int64_t>& s, std::int64_t state) {
  return static_cast<double>(std::count(s.begin(), s.end(), state)) / static_cast<double>(s.size());
}

}  // namespace

TEST(RollingMsd, BrownianMotionIsMostlyNormal) {
  // The α of a 20-frame window is noisy: 3-D (more pairs per lag) reaches the
  // 80 % mark comfortably; 2-D sits near it (measured ≈ 0.79 over many
  // tracks), so it is held to 75 %.
  for (int dim : {2, 3}) {
    std::vector<std::int64_t> all;
    for (int i = 0; i < 5; ++i) {
      Rng rng(11, Stream::test, static_cast<std::uint64_t>(i));
      const auto xyz = drifting(1000, dim, 0.0, rng);
      const auto s = rolling_msd_states({xyz.data(), 1000, dim});
      all.insert(all.end(), s.begin(), s.end());
    }
    const double normal_fraction = fraction_of(all, normal);
    std::printf("Brownian dim %d: normal %.3f directed %.3f subdiffusive %.3f\n", dim, normal_fraction,
                fraction_of(all, directed), fraction_of(all, subdiffusive));
    EXPECT_GE(normal_fraction, dim == 3 ? 0.80 : 0.75) << "dim " << dim;
    EXPECT_EQ(fraction_of(all, confined), 0.0);
  }
}

TEST(RollingMsd, StrongDriftIsDirected) {
  Rng rng(12, Stream::test, 0);
  const auto xyz = drifting(500, 2, 3.0, rng);
  const auto s = rolling_msd_states({xyz.data(), 500, 2});
  std::printf("drift: directed %.3f\n", fraction_of(s, directed));
  EXPECT_GE(fraction_of(s, directed), 0.95);
}

TEST(RollingMsd, ParticleInTinyBoxIsSubdiffusive) {
  for (int dim : {2, 3}) {
    Rng rng(13, Stream::test, static_cast<std::uint64_t>(dim));
    const auto xyz = boxed(500, dim, 0.05, rng);
    const auto s = rolling_msd_states({xyz.data(), 500, dim});
    std::printf("box dim %d: subdiffusive %.3f\n", dim, fraction_of(s, subdiffusive));
    EXPECT_GE(fraction_of(s, subdiffusive), 0.90) << "dim " << dim;
  }
}

TEST(RollingMsd, WindowFollowsAModeSwitch) {
  // 200 frames Brownian in a box, then 200 frames of strong drift: frames
  // more than half a window from the switch take the label of their side.
  Rng rng(14, Stream::test, 0);
  auto xyz = boxed(200, 2, 0.05, rng);
  const auto tail = drifting(200, 2, 3.0, rng);
  const double x0 = xyz[398], y0 = xyz[399];
  for (std::size_t i = 0; i < tail.size(); i += 2) xyz.insert(xyz.end(), {x0 + tail[i], y0 + tail[i + 1]});
  const auto s = rolling_msd_states({xyz.data(), 400, 2});
  int correct = 0, counted = 0;
  for (int t = 0; t < 400; ++t) {
    if (std::abs(t - 200) <= 10) continue;
    ++counted;
    correct += s[static_cast<std::size_t>(t)] == (t < 200 ? subdiffusive : directed);
  }
  EXPECT_GE(static_cast<double>(correct) / counted, 0.95);
}

TEST(RollingMsd, ShortTrackIsOneWindowAndAlphaIsExactOnALine) {
  // 10 frames < window 20: the whole track is one window; a straight line at
  // constant speed has α = 2 at every frame.
  std::vector<double> xyz;
  for (int t = 0; t < 10; ++t) xyz.insert(xyz.end(), {0.5 * t, -0.25 * t});
  const auto alpha = rolling_msd_alpha({xyz.data(), 10, 2});
  ASSERT_EQ(alpha.size(), 10u);
  for (double a : alpha) EXPECT_NEAR(a, 2.0, 1e-10);
  const auto s = rolling_msd_states({xyz.data(), 10, 2});
  for (auto v : s) EXPECT_EQ(v, directed);
  // Two frames: α undefined → normal.
  const auto two = rolling_msd_states({xyz.data(), 2, 2});
  EXPECT_EQ(two, (std::vector<std::int64_t>{normal, normal}));
  EXPECT_TRUE(rolling_msd_states({xyz.data(), 0, 2}).empty());
}

TEST(RollingMsd, BadOptionsThrow) {
  std::vector<double> xyz(40, 0.0);
  RollingMsdOptions o;
  o.window = 2;
  EXPECT_THROW(rolling_msd_states({xyz.data(), 20, 2}, o), ConfigError);
  o = {};
  o.lo = 1.5;
  EXPECT_THROW(rolling_msd_states({xyz.data(), 20, 2}, o), ConfigError);
  o = {};
  o.max_lag = 0;
  EXPECT_THROW(rolling_msd_states({xyz.data(), 20, 2}, o), ConfigError);
  EXPECT_THROW(rolling_msd_states({xyz.data(), 10, 4}), InputError);
}
