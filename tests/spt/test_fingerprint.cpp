// Fingerprint features (spt/fingerprint.hpp, docs/methods.md §2.3): the column
// contract, exact values on a straight line and on a hand-computed 5-point
// track, segmentation statistics on a known state sequence, NaN rules for
// short tracks, segments, and Brownian-motion reference values.
#include <gtest/gtest.h>

#include <cmath>
#include <cstdio>
#include <map>
#include <regex>
#include <set>
#include <string>
#include <vector>

#include "phenoscale/core/error.hpp"
#include "phenoscale/core/rng.hpp"
#include "phenoscale/spt/fingerprint.hpp"

using namespace phenoscale::spt;
using phenoscale::ConfigError;
using phenoscale::InputError;
using phenoscale::core::Rng;
using phenoscale::core::Stream;

namespace {

// Fingerprint as a name → value map.
std::map<std::string, double> features(const TrackView& track, const std::int64_t* states = nullptr,
                                       const FingerprintOptions& options = {}) {
  const std::vector<std::string> names = fingerprint_columns();
  const std::vector<double> values = fingerprint(track, states, options, 1, 0);
  EXPECT_EQ(values.size(), names.size());
  std::map<std::string, double> out;
  for (std::size_t i = 0; i < names.size() && i < values.size(); ++i) out[names[i]] = values[i];
  return out;
}

std::vector<double> brownian(std::int64_t frames, int dim, Rng& rng) {
  std::vector<double> xyz(static_cast<std::size_t>(frames * dim), 0.0);
  for (std::int64_t t = 1; t < frames; ++t)
    for (int a = 0; a < dim; ++a) xyz[t * dim + a] = xyz[(t - 1) * dim + a] + rng.normal(0.0, 0.1);
  return xyz;
}

}  // namespace

TEST(Fingerprint, ColumnContract) {
  const auto names = fingerprint_columns();
  const auto flags = fingerprint_length_dependent();
  ASSERT_EQ(names.size(), flags.size());
  EXPECT_EQ(names.size(), 42u);
  const std::set<std::string> unique(names.begin(), names.end());
  EXPECT_EQ(unique.size(), names.size());
  const std::regex snake("[a-z][a-z0-9]*(_[a-z0-9]+)*");
  for (const auto& n : names) EXPECT_TRUE(std::regex_match(n, snake)) << n;
  std::set<std::string> dependent;
  for (std::size_t i = 0; i < names.size(); ++i)
    if (flags[i]) dependent.insert(names[i]);
  EXPECT_EQ(dependent, (std::set<std::string>{"frames", "step_sum", "hull_measure", "mean_msd", "seg_segments"}));
  for (const char* required : {"msd_alpha", "msd_diffusion", "msd_fit_r2", "efficiency_log", "efficiency",
                               "fractal_dimension", "gaussianity", "kurtosis", "msd_ratio", "trappedness",
                               "hmm_fraction_3", "hmm_dwell_0", "fraction_same_sign_dots", "step_cv",
                               "instant_diffusion", "seg_fraction_confined", "seg_longest_run_fraction"})
    EXPECT_EQ(unique.count(required), 1u) << required;
  // Values: one per column, in 2-D and 3-D, with and without states.
  Rng rng(1, Stream::test, 0);
  for (int dim : {2, 3}) {
    const auto xyz = brownian(50, dim, rng);
    const std::vector<std::int64_t> states(50, 1);
    EXPECT_EQ(fingerprint({xyz.data(), 50, dim}, nullptr, {}, 0, 0).size(), names.size());
    EXPECT_EQ(fingerprint({xyz.data(), 50, dim}, states.data(), {}, 0, 0).size(), names.size());
  }
}

TEST(Fingerprint, StraightLine) {
  // 30 frames, step (0.3, 0.4): length 0.5.
  std::vector<double> xyz;
  for (int t = 0; t < 30; ++t) xyz.insert(xyz.end(), {1.0 + 0.3 * t, -2.0 + 0.4 * t});
  auto f = features({xyz.data(), 30, 2});
  EXPECT_NEAR(f["efficiency"], 1.0, 1e-12);
  EXPECT_NEAR(f["efficiency_log"], 0.0, 1e-12);
  EXPECT_NEAR(f["fractal_dimension"], 1.0, 1e-12);
  EXPECT_NEAR(f["msd_alpha"], 2.0, 1e-10);
  EXPECT_NEAR(f["msd_fit_r2"], 1.0, 1e-12);
  EXPECT_DOUBLE_EQ(f["fraction_positive_dots"], 1.0);
  EXPECT_DOUBLE_EQ(f["fraction_same_sign_dots"], 1.0);
  EXPECT_NEAR(f["mean_dot"], 0.25, 1e-12);
  EXPECT_NEAR(f["mean_step"], 0.5, 1e-12);
  EXPECT_NEAR(f["step_sum"], 14.5, 1e-12);
  EXPECT_NEAR(f["step_range"], 0.0, 1e-12);
  EXPECT_NEAR(f["step_cv"], 0.0, 1e-12);
  EXPECT_DOUBLE_EQ(f["fraction_large_steps"], 1.0);
  EXPECT_DOUBLE_EQ(f["fraction_small_steps"], 0.0);
  EXPECT_EQ(f["hull_measure"], 0.0);
  EXPECT_LT(f["msd_ratio"], 0.0);  // directed motion
  // Positions along the line: −14.5..14.5 in steps of 1 (× 0.5); the uniform
  // distribution's kurtosis for 30 equally spaced points is (3/5)(3n²−7)/(n²−1).
  EXPECT_NEAR(f["kurtosis"], 0.6 * (3.0 * 900 - 7) / (900 - 1), 1e-12);
}

TEST(Fingerprint, HandComputedFivePointStaircase) {
  // (0,0) (1,0) (1,1) (2,1) (2,2): unit steps alternating x and y.
  const std::vector<double> xyz = {0, 0, 1, 0, 1, 1, 2, 1, 2, 2};
  auto f = features({xyz.data(), 5, 2});
  EXPECT_DOUBLE_EQ(f["frames"], 5.0);
  EXPECT_DOUBLE_EQ(f["step_sum"], 4.0);
  EXPECT_DOUBLE_EQ(f["mean_step"], 1.0);
  EXPECT_DOUBLE_EQ(f["speed"], 1.0);
  EXPECT_DOUBLE_EQ(f["step_min"], 1.0);
  EXPECT_DOUBLE_EQ(f["step_max"], 1.0);
  EXPECT_DOUBLE_EQ(f["step_cv"], 0.0);
  EXPECT_DOUBLE_EQ(f["efficiency"], 8.0 / 16.0);            // |(2,2)|² / (4 · 4)
  EXPECT_NEAR(f["efficiency_log"], std::log(0.5), 1e-15);
  EXPECT_NEAR(f["fractal_dimension"], 4.0 / 3.0, 1e-12);    // ln4 / (ln4 + ln(√8/4))
  EXPECT_DOUBLE_EQ(f["mean_dot"], 0.0);                     // consecutive steps are orthogonal
  EXPECT_DOUBLE_EQ(f["fraction_positive_dots"], 0.0);
  EXPECT_DOUBLE_EQ(f["fraction_same_sign_dots"], 1.0);      // all zero: equal signs
  EXPECT_DOUBLE_EQ(f["gaussianity"], 0.5);                  // 2·1 / (4·1²)
  // Lags 1..2: MSD(1) = 1, MSD(2) = 2 ⇒ α = 1, 2·2·D = 1.
  EXPECT_NEAR(f["msd_alpha"], 1.0, 1e-12);
  EXPECT_NEAR(f["msd_diffusion"], 0.25, 1e-12);
  EXPECT_DOUBLE_EQ(f["mean_msd"], 1.5);
  EXPECT_DOUBLE_EQ(f["msd_ratio"], 0.0);                    // 1/2 − 1/2
  EXPECT_DOUBLE_EQ(f["instant_diffusion"], 0.25);
  // r0 = √8/2, r0² = 2: 1 − exp(0.2045 − 0.25117 · 0.25 · 5 / 2).
  EXPECT_NEAR(f["trappedness"], 1.0 - std::exp(0.2045 - 0.25117 * 0.625), 1e-12);
  EXPECT_NEAR(f["hull_measure"], 1.5, 1e-14);               // (1,1) lies on the hull's diagonal edge
  EXPECT_DOUBLE_EQ(f["fraction_large_steps"], 1.0);
  // All steps equal: a one-state HMM, one run of 4 steps.
  EXPECT_DOUBLE_EQ(f["hmm_fraction_0"], 1.0);
  EXPECT_DOUBLE_EQ(f["hmm_dwell_0"], 4.0);
  for (const char* c : {"hmm_fraction_1", "hmm_fraction_2", "hmm_fraction_3", "hmm_dwell_3"}) EXPECT_EQ(f[c], 0.0) << c;
  // dt = 0.5 rescales time-based features only.
  FingerprintOptions o;
  o.dt = 0.5;
  auto g = features({xyz.data(), 5, 2}, nullptr, o);
  EXPECT_DOUBLE_EQ(g["speed"], 2.0);
  EXPECT_DOUBLE_EQ(g["instant_diffusion"], 0.5);
  EXPECT_DOUBLE_EQ(g["hmm_dwell_0"], 2.0);
  EXPECT_NEAR(g["msd_alpha"], 1.0, 1e-12);
  EXPECT_DOUBLE_EQ(g["efficiency"], f["efficiency"]);
}

TEST(Fingerprint, SegmentationStatistics) {
  std::vector<double> xyz;
  for (int t = 0; t < 10; ++t) xyz.insert(xyz.end(), {0.1 * t * t, std::sin(t)});
  const std::vector<std::int64_t> states = {0, 0, 1, 1, 1, 3, 3, 0, 0, 0};
  auto f = features({xyz.data(), 10, 2}, states.data());
  EXPECT_DOUBLE_EQ(f["seg_fraction_normal"], 0.5);
  EXPECT_DOUBLE_EQ(f["seg_fraction_directed"], 0.3);
  EXPECT_DOUBLE_EQ(f["seg_fraction_confined"], 0.0);
  EXPECT_DOUBLE_EQ(f["seg_fraction_subdiffusive"], 0.2);
  EXPECT_DOUBLE_EQ(f["seg_segments"], 4.0);
  EXPECT_DOUBLE_EQ(f["seg_switch_rate"], 3.0 / 9.0);
  EXPECT_DOUBLE_EQ(f["seg_distinct_states"], 3.0);
  EXPECT_DOUBLE_EQ(f["seg_longest_run_fraction"], 0.3);
  // Without a segmentation the seg_* columns are NaN, the rest unchanged.
  auto g = features({xyz.data(), 10, 2});
  EXPECT_TRUE(std::isnan(g["seg_fraction_normal"]));
  EXPECT_TRUE(std::isnan(g["seg_segments"]));
  EXPECT_EQ(g["msd_alpha"], f["msd_alpha"]);
  const std::vector<std::int64_t> bad = {0, 0, 1, 1, 4, 3, 3, 0, 0, 0};
  EXPECT_THROW(fingerprint({xyz.data(), 10, 2}, bad.data(), {}, 0, 0), InputError);
}

TEST(Fingerprint, ShortTracksAreNaNExceptLengthAndSegmentation) {
  const std::vector<double> xyz = {0, 0, 1, 1};
  const std::vector<std::int64_t> states = {2, 2};
  auto f = features({xyz.data(), 2, 2}, states.data());
  EXPECT_DOUBLE_EQ(f["frames"], 2.0);
  EXPECT_DOUBLE_EQ(f["seg_fraction_confined"], 1.0);
  EXPECT_DOUBLE_EQ(f["seg_segments"], 1.0);
  for (const char* c : {"msd_alpha", "efficiency", "step_sum", "hmm_fraction_0", "hull_measure", "mean_dot"})
    EXPECT_TRUE(std::isnan(f[c])) << c;
  auto empty = features({nullptr, 0, 3});
  EXPECT_DOUBLE_EQ(empty["frames"], 0.0);
  // Three frames: defined except what needs two dot products.
  const std::vector<double> three = {0, 0, 1, 0, 1, 2};
  auto g = features({three.data(), 3, 2});
  EXPECT_TRUE(std::isnan(g["fraction_same_sign_dots"]));
  EXPECT_DOUBLE_EQ(g["fraction_positive_dots"], 0.0);
  EXPECT_NEAR(g["hull_measure"], 1.0, 1e-14);
  EXPECT_FALSE(std::isnan(g["msd_alpha"]));
  // A motionless track: no exception, undefined ratios are NaN.
  const std::vector<double> still(20, 0.25);
  auto h = features({still.data(), 10, 2});
  for (const char* c : {"msd_alpha", "efficiency", "efficiency_log", "fractal_dimension", "gaussianity", "kurtosis",
                        "step_cv", "trappedness", "msd_ratio"})
    EXPECT_TRUE(std::isnan(h[c])) << c;
  EXPECT_DOUBLE_EQ(h["step_sum"], 0.0);
  EXPECT_DOUBLE_EQ(h["instant_diffusion"], 0.0);
  EXPECT_DOUBLE_EQ(h["hmm_fraction_0"], 1.0);
  EXPECT_DOUBLE_EQ(h["hull_measure"], 0.0);
}

TEST(Fingerprint, SegmentEqualsCopiedSubTrackAndIsDeterministic) {
  Rng rng(2, Stream::test, 0);
  const auto xyz = brownian(80, 3, rng);
  std::vector<std::int64_t> states(80);
  for (std::size_t t = 0; t < states.size(); ++t) states[t] = static_cast<std::int64_t>((t / 15) % 4);
  const TrackView track{xyz.data(), 80, 3};
  const TrackView seg = track_segment(track, 20, 55);
  const std::vector<double> copy(xyz.begin() + 60, xyz.begin() + 165);
  const auto a = fingerprint(seg, states.data() + 20, {}, 9, 17);
  const auto b = fingerprint({copy.data(), 35, 3}, states.data() + 20, {}, 9, 17);
  ASSERT_EQ(a.size(), b.size());
  for (std::size_t i = 0; i < a.size(); ++i) EXPECT_TRUE(a[i] == b[i] || (std::isnan(a[i]) && std::isnan(b[i]))) << i;
  // The same track twice, or under another seed/index: bit-identical.
  const auto c = fingerprint(track, states.data(), {}, 1, 0);
  const auto d = fingerprint(track, states.data(), {}, 123, 456);
  for (std::size_t i = 0; i < c.size(); ++i) EXPECT_TRUE(c[i] == d[i] || (std::isnan(c[i]) && std::isnan(d[i]))) << i;
  EXPECT_THROW(track_segment(track, 50, 81), InputError);
  EXPECT_THROW(track_segment(track, 30, 20), InputError);
}

TEST(Fingerprint, BrownianReferenceValues) {
  // Averages over 40 Brownian tracks of 400 frames (step sd 0.1 per axis):
  // α ≈ 1, fractal dimension ≈ 2, Gaussianity ≈ 1 in both dimensions
  // (the dim-normalised definition), kurtosis ≈ well below a straight
  // line's, MSD ratio ≈ 0, half the dot products positive.
  for (int dim : {2, 3}) {
    std::map<std::string, double> mean;
    const int tracks = 40;
    for (int i = 0; i < tracks; ++i) {
      Rng rng(3, Stream::test, static_cast<std::uint64_t>(dim * 1000 + i));
      const auto xyz = brownian(400, dim, rng);
      for (const auto& [k, v] : features({xyz.data(), 400, dim})) mean[k] += v / tracks;
    }
    std::printf("dim %d: alpha %.3f D %.5f fractal %.3f gaussianity %.3f msd_ratio %.3f positive dots %.3f\n", dim,
                mean["msd_alpha"], mean["msd_diffusion"], mean["fractal_dimension"], mean["gaussianity"],
                mean["msd_ratio"], mean["fraction_positive_dots"]);
    EXPECT_NEAR(mean["msd_alpha"], 1.0, 0.1) << dim;
    EXPECT_NEAR(mean["instant_diffusion"], 0.005, 0.00025) << dim;  // σ²/2 = 0.01/2
    EXPECT_NEAR(mean["gaussianity"], 1.0, 0.05) << dim;
    EXPECT_NEAR(mean["fraction_positive_dots"], 0.5, 0.03) << dim;
    EXPECT_NEAR(mean["mean_dot"], 0.0, 0.002) << dim;
    EXPECT_NEAR(mean["msd_ratio"], 0.0, 0.1) << dim;
    EXPECT_GT(mean["fractal_dimension"], 1.6) << dim;
    EXPECT_LT(mean["efficiency"], 0.1) << dim;
    double fractions = 0.0;
    for (int s = 0; s < 4; ++s) fractions += mean["hmm_fraction_" + std::to_string(s)];
    EXPECT_NEAR(fractions, 1.0, 1e-12) << dim;
  }
}

TEST(Fingerprint, BadInputThrows) {
  const std::vector<double> xyz(12, 0.0);
  FingerprintOptions o;
  o.hmm.states = 3;
  EXPECT_THROW(fingerprint({xyz.data(), 6, 2}, nullptr, o, 0, 0), ConfigError);
  o = {};
  o.dt = 0.0;
  EXPECT_THROW(fingerprint({xyz.data(), 6, 2}, nullptr, o, 0, 0), ConfigError);
  EXPECT_THROW(fingerprint({xyz.data(), 3, 4}, nullptr, {}, 0, 0), InputError);
  std::vector<double> nan_track = xyz;
  nan_track[5] = std::nan("");
  EXPECT_THROW(fingerprint({nan_track.data(), 6, 2}, nullptr, {}, 0, 0), InputError);
}
