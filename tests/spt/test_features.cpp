// Per-frame network input (spt/features.hpp, docs/methods.md §2.2): dim + 2
// channels (centred coordinates, step length, dot product of consecutive
// steps), lengths divided by the track's RMS step s (dots by s²), checked on
// hand-computed 2D and 3D tracks; invariance to scale and translation; the
// zero step at t = 0 and zero dots at t = 0, 1.
#include <gtest/gtest.h>

#include <cmath>
#include <vector>

#include "phenoscale/core/rng.hpp"
#include "phenoscale/spt/features.hpp"

using namespace phenoscale::spt;
using phenoscale::core::Rng;
using phenoscale::core::Stream;

namespace {

std::vector<float> features_of(const std::vector<double>& xyz, int dim) {
  std::vector<float> out;
  append_frame_features({xyz.data(), static_cast<std::int64_t>(xyz.size()) / dim, dim}, out);
  return out;
}

void expect_rows(const std::vector<float>& got, const std::vector<std::vector<double>>& rows) {
  std::size_t k = 0;
  for (std::size_t t = 0; t < rows.size(); ++t) {
    for (std::size_t c = 0; c < rows[t].size(); ++c, ++k) {
      ASSERT_LT(k, got.size());
      EXPECT_NEAR(got[k], rows[t][c], 1e-6) << "frame " << t << " channel " << c;
    }
  }
  EXPECT_EQ(got.size(), k);
}

// A random walk with steps of varying size (N(0, 1) per axis, times 0.1..10).
std::vector<double> random_track(std::int64_t frames, int dim, std::uint64_t index) {
  Rng rng(5, Stream::test, index);
  std::vector<double> xyz(static_cast<std::size_t>(frames * dim));
  for (int a = 0; a < dim; ++a) xyz[a] = rng.uniform(-50, 50);
  for (std::int64_t t = 1; t < frames; ++t) {
    const double size = std::pow(10.0, rng.uniform(-1, 1));
    for (int a = 0; a < dim; ++a) xyz[t * dim + a] = xyz[(t - 1) * dim + a] + size * rng.normal();
  }
  return xyz;
}

}  // namespace

TEST(Features, ChannelsAreDimPlusTwo) {
  EXPECT_EQ(feature_channels(2), 4);
  EXPECT_EQ(feature_channels(3), 5);
}

TEST(Features, Hand2dTrack) {
  // Steps (1,0), (1,0), (3,4): lengths 1, 1, 5, RMS s = sqrt((1+1+25)/3) = 3
  // (the mean step, 7/3, would give other values). Dots: s1·s2 = 1, s2·s3 = 3.
  const std::vector<double> xyz = {1, 2, 2, 2, 3, 2, 6, 6};
  expect_rows(features_of(xyz, 2), {{0, 0, 0, 0},
                                    {1.0 / 3, 0, 1.0 / 3, 0},
                                    {2.0 / 3, 0, 1.0 / 3, 1.0 / 9},
                                    {5.0 / 3, 4.0 / 3, 5.0 / 3, 3.0 / 9}});
}

TEST(Features, Hand3dTrack) {
  // Steps (1,0,0), (0.6,0,0.8), (0,3,4): lengths 1, 1, 5, s = 3.
  // Dots: s1·s2 = 0.6, s2·s3 = 3.2.
  const std::vector<double> xyz = {10, -5, 2, 11, -5, 2, 11.6, -5, 2.8, 11.6, -2, 6.8};
  expect_rows(features_of(xyz, 3), {{0, 0, 0, 0, 0},
                                    {1.0 / 3, 0, 0, 1.0 / 3, 0},
                                    {1.6 / 3, 0, 0.8 / 3, 1.0 / 3, 0.6 / 9},
                                    {1.6 / 3, 1.0, 4.8 / 3, 5.0 / 3, 3.2 / 9}});
}

TEST(Features, AppendsAfterExistingValues) {
  std::vector<float> out = {42.0f};
  const std::vector<double> xyz = {0, 0, 3, 4};
  append_frame_features({xyz.data(), 2, 2}, out);
  ASSERT_EQ(out.size(), 1u + 2 * 4);
  EXPECT_EQ(out[0], 42.0f);
  EXPECT_NEAR(out[1 + 4 + 2], 1.0, 1e-7);  // one step of length 5 = s
}

TEST(Features, ScaleAndTranslationInvariant) {
  for (int dim : {2, 3}) {
    for (std::uint64_t i = 0; i < 5; ++i) {
      const auto xyz = random_track(57, dim, i);
      std::vector<double> scaled = xyz, shifted = xyz;
      for (std::size_t k = 0; k < xyz.size(); ++k) {
        scaled[k] *= 1000.0;
        shifted[k] += 1234.5;
      }
      const auto a = features_of(xyz, dim), b = features_of(scaled, dim), c = features_of(shifted, dim);
      ASSERT_EQ(a.size(), static_cast<std::size_t>(57 * feature_channels(dim)));
      ASSERT_EQ(b.size(), a.size());
      for (std::size_t k = 0; k < a.size(); ++k) {
        EXPECT_NEAR(b[k], a[k], 1e-5 * (1 + std::abs(a[k]))) << "dim " << dim << " track " << i << " value " << k;
        EXPECT_NEAR(c[k], a[k], 1e-4 * (1 + std::abs(a[k]))) << "dim " << dim << " track " << i << " value " << k;
      }
    }
  }
}

TEST(Features, RmsStepOfScaledFeaturesIsOne) {
  // The step channel is |step| / s: its RMS over frames 1.. is 1 by construction.
  for (int dim : {2, 3}) {
    const auto f = features_of(random_track(80, dim, 9), dim);
    const int c = feature_channels(dim);
    double sum = 0;
    for (int t = 1; t < 80; ++t) sum += double(f[t * c + dim]) * f[t * c + dim];
    EXPECT_NEAR(std::sqrt(sum / 79), 1.0, 1e-5) << dim;
  }
}

TEST(Features, ZeroStepAtFirstFrameAndZeroDotAtFirstTwo) {
  for (int dim : {2, 3}) {
    const auto f = features_of(random_track(20, dim, 3), dim);
    const int c = feature_channels(dim);
    for (int a = 0; a < dim; ++a) EXPECT_EQ(f[a], 0.0f) << "centred coordinate at t = 0";
    EXPECT_EQ(f[dim], 0.0f) << "step at t = 0";
    EXPECT_EQ(f[dim + 1], 0.0f) << "dot at t = 0";
    EXPECT_EQ(f[c + dim + 1], 0.0f) << "dot at t = 1";
    EXPECT_GT(f[c + dim], 0.0f) << "step at t = 1";
    EXPECT_NE(f[2 * c + dim + 1], 0.0f) << "dot at t = 2";
  }
}

TEST(Features, StillAndSingleFrameTracksAreFiniteZeros) {
  // No non-zero step: s = 1 (no division by zero).
  for (const auto& xyz : {std::vector<double>(10, 3.5), std::vector<double>{7, 8}}) {
    const auto f = features_of(xyz, 2);
    ASSERT_EQ(f.size(), xyz.size() / 2 * 4);
    for (float v : f) EXPECT_EQ(v, 0.0f);
  }
}
