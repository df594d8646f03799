// Time-averaged MSD and the anomalous-diffusion fit (spt/msd.hpp) against
// exact answers: ballistic motion (α = 2), a synthetic power law with offset,
// and simulated Brownian motion (α ≈ 1, D as planted).
#include <gtest/gtest.h>

#include <cmath>
#include <vector>

#include "phenoscale/core/error.hpp"
#include "phenoscale/core/rng.hpp"
#include "phenoscale/spt/msd.hpp"

using namespace phenoscale::spt;
using phenoscale::InputError;
using phenoscale::core::Rng;
using phenoscale::core::Stream;

namespace {
// Brownian track: per-axis steps N(0, sqrt(2 D dt)), dt = 1.
std::vector<double> brownian(std::int64_t frames, int dim, double diffusion, Rng& rng) {
  std::vector<double> xyz(static_cast<std::size_t>(frames * dim), 0.0);
  for (std::int64_t t = 1; t < frames; ++t)
    for (int a = 0; a < dim; ++a) xyz[t * dim + a] = xyz[(t - 1) * dim + a] + rng.normal(0.0, std::sqrt(2 * diffusion));
  return xyz;
}
}  // namespace

TEST(Msd, HandComputedOnTinyTrack) {
  // 1-D motion along x in 2-D: x = 0, 1, 3, 6.
  const std::vector<double> xyz = {0, 0, 1, 0, 3, 0, 6, 0};
  const auto msd = time_averaged_msd({xyz.data(), 4, 2}, 3);
  ASSERT_EQ(msd.size(), 3u);
  EXPECT_DOUBLE_EQ(msd[0], (1.0 + 4.0 + 9.0) / 3.0);
  EXPECT_DOUBLE_EQ(msd[1], (9.0 + 25.0) / 2.0);
  EXPECT_DOUBLE_EQ(msd[2], 36.0);
}

TEST(Msd, StraightLineAtConstantSpeedIsBallistic) {
  // Velocity (0.3, 0.4, 1.2) per frame: MSD(k) = |v|² k² = 2·3·D·k² with D = |v|²/6.
  std::vector<double> xyz;
  for (int t = 0; t < 100; ++t) xyz.insert(xyz.end(), {0.3 * t, 0.4 * t, 1.2 * t});
  const MsdFit fit = fit_track_msd({xyz.data(), 100, 3}, 50);
  EXPECT_NEAR(fit.alpha, 2.0, 1e-10);
  EXPECT_NEAR(fit.diffusion, (0.09 + 0.16 + 1.44) / 6.0, 1e-10);
  EXPECT_NEAR(fit.r_squared, 1.0, 1e-12);
  EXPECT_EQ(fit.lags_used, 50);
}

TEST(Msd, DtScalesTimeButNotAlpha) {
  std::vector<double> xyz;
  for (int t = 0; t < 20; ++t) xyz.insert(xyz.end(), {1.0 * t, 0.0});
  MsdFitOptions o;
  o.dt = 0.5;  // MSD(k) = k² = (t/dt)² = 4 t²  ⇒ 2·2·D = 4
  const MsdFit fit = fit_track_msd({xyz.data(), 20, 2}, 10, o);
  EXPECT_NEAR(fit.alpha, 2.0, 1e-10);
  EXPECT_NEAR(fit.diffusion, 1.0, 1e-10);
}

TEST(Msd, BrownianMotionHasAlphaOneAndPlantedD) {
  // 20 tracks × 2000 frames, D = 0.25, fitted on lags 1..10.
  double alpha = 0.0, diffusion = 0.0;
  const int tracks = 20;
  for (int i = 0; i < tracks; ++i) {
    Rng rng(42, Stream::test, static_cast<std::uint64_t>(i));
    const auto xyz = brownian(2000, 2, 0.25, rng);
    const MsdFit fit = fit_track_msd({xyz.data(), 2000, 2}, 10);
    alpha += fit.alpha / tracks;
    diffusion += fit.diffusion / tracks;
    EXPECT_GT(fit.r_squared, 0.95);
  }
  EXPECT_NEAR(alpha, 1.0, 0.03);
  EXPECT_NEAR(diffusion, 0.25, 0.0125);  // 5 %
}

TEST(Msd, OffsetFitRecoversPowerLawWithNoiseFloor) {
  // MSD = 2·2·0.3·t^0.6 + 0.5, t = 1..30, exact.
  std::vector<double> msd;
  for (int k = 1; k <= 30; ++k) msd.push_back(4.0 * 0.3 * std::pow(k, 0.6) + 0.5);
  MsdFitOptions o;
  o.fit_offset = true;
  const MsdFit fit = fit_msd(msd, 2, o);
  EXPECT_NEAR(fit.alpha, 0.6, 1e-6);
  EXPECT_NEAR(fit.diffusion, 0.3, 1e-6);
  EXPECT_NEAR(fit.offset, 0.5, 1e-5);
  EXPECT_NEAR(fit.r_squared, 1.0, 1e-10);
  // Without the offset the noise floor biases α downwards.
  EXPECT_LT(fit_msd(msd, 2).alpha, 0.55);
}

TEST(Msd, UndefinedFitsAreNaNAndBadInputThrows) {
  const MsdFit one_lag = fit_msd({1.0}, 2);
  EXPECT_TRUE(std::isnan(one_lag.alpha));
  EXPECT_EQ(one_lag.lags_used, 1);
  const MsdFit motionless = fit_msd({0.0, 0.0, 0.0}, 2);
  EXPECT_TRUE(std::isnan(motionless.diffusion));
  EXPECT_EQ(motionless.lags_used, 0);
  const std::vector<double> xyz = {0, 0, 1, 1, 2, 2};
  EXPECT_THROW(time_averaged_msd({xyz.data(), 3, 2}, 3), InputError);
  EXPECT_THROW(time_averaged_msd({xyz.data(), 3, 2}, 0), InputError);
  EXPECT_THROW(time_averaged_msd({xyz.data(), 3, 1}, 1), InputError);  // dim 1
  EXPECT_THROW(fit_msd({1.0, -1.0}, 2), InputError);
}
