// Teacher features (edge/sax.hpp): z-normalisation, SAX words and the ACF of
// the symbols against hand-computed values, length pools and noise padding.
#include <gtest/gtest.h>

#include <cmath>
#include <vector>

#include "phenoscale/core/error.hpp"
#include "phenoscale/core/rng.hpp"
#include "phenoscale/edge/sax.hpp"

using namespace phenoscale::edge;
using phenoscale::ConfigError;
using phenoscale::InputError;
using phenoscale::core::Rng;
using phenoscale::core::Stream;

TEST(ZNormalise, PopulationStdAndConstantSeries) {
  // {1, 2, 3, 4}: mean 2.5, population variance 1.25.
  const std::vector<double> z = z_normalise({1.0, 2.0, 3.0, 4.0});
  const double sd = std::sqrt(1.25);
  ASSERT_EQ(z.size(), 4u);
  EXPECT_DOUBLE_EQ(z[0], -1.5 / sd);
  EXPECT_DOUBLE_EQ(z[3], 1.5 / sd);
  EXPECT_EQ(z_normalise({3.0, 3.0, 3.0}), (std::vector<double>{0.0, 0.0, 0.0}));
  EXPECT_TRUE(z_normalise({}).empty());
  EXPECT_THROW(z_normalise({1.0, std::nan("")}), InputError);
}

TEST(Sax, BreakpointsAreGaussianQuantiles) {
  const std::vector<double> b4 = sax_breakpoints(4);
  ASSERT_EQ(b4.size(), 3u);
  EXPECT_NEAR(b4[0], -0.6744897501960817, 1e-13);
  EXPECT_EQ(b4[1], 0.0);
  EXPECT_NEAR(b4[2], 0.6744897501960817, 1e-13);
  // Python: statistics.NormalDist().inv_cdf(k / 5), k = 1..4.
  const std::vector<double> b5 = sax_breakpoints(5);
  const double expected[] = {-0.8416212335729142, -0.2533471031357998, 0.2533471031357998, 0.8416212335729144};
  for (int k = 0; k < 4; ++k) EXPECT_NEAR(b5[k], expected[k], 1e-13);
  EXPECT_NEAR(sax_breakpoints(10)[0], -1.2815515655446004, 1e-13);  // inv_cdf(0.1)
  EXPECT_THROW(sax_breakpoints(1), ConfigError);
}

TEST(Sax, HandComputedWord) {
  // Blocks of 4: means −1.0 (< −0.6745: 0), −0.1 (1), 0.0 exactly (on the
  // middle breakpoint: the upper symbol 2), and the partial block {0.7, 0.7}
  // with mean 0.7 (> 0.6745: 3).
  const std::vector<double> z{-1.0, -1.2, -0.9, -0.9, 0.1, -0.3, 0.2, -0.4, 0.5, -0.5, 0.25, -0.25, 0.7, 0.7};
  EXPECT_EQ(sax(z, 4, 4), (std::vector<int>{0, 1, 2, 3}));
  // One frame per symbol, alphabet 2 (breakpoint 0): the sign.
  EXPECT_EQ(sax({-0.1, 0.0, 2.0, -3.0}, 1, 2), (std::vector<int>{0, 1, 1, 0}));
  EXPECT_TRUE(sax({}, 4, 4).empty());
  EXPECT_THROW(sax(z, 0, 4), ConfigError);
  EXPECT_THROW(sax(z, 4, 1), ConfigError);
}

TEST(Acf, HandComputed) {
  // x = 1..5: mean 3, Σ(x − 3)² = 10.
  //   r1 = ((−2)(−1) + (−1)(0) + (0)(1) + (1)(2)) / 10 = 0.4
  //   r2 = ((−2)(0) + (−1)(1) + (0)(2)) / 10 = −0.1
  //   r3 = ((−2)(1) + (−1)(2)) / 10 = −0.4
  //   r4 = ((−2)(2)) / 10 = −0.4,   r5, r6: lag ≥ n → 0
  const std::vector<double> r = acf({1, 2, 3, 4, 5}, 6);
  const std::vector<double> expected{0.4, -0.1, -0.4, -0.4, 0.0, 0.0};
  ASSERT_EQ(r.size(), expected.size());
  for (std::size_t k = 0; k < r.size(); ++k) EXPECT_NEAR(r[k], expected[k], 1e-15) << "lag " << k + 1;

  // x = 0,1,3,2,0,1 — computed in Python with the same formula (statsmodels
  // acf, adjusted=False): 23/246, −164/246, −39/246, 50/246, 7/246.
  const std::vector<double> s = acf({0, 1, 3, 2, 0, 1}, 5);
  const std::vector<double> expected_s{0.09349593495934957, -0.6666666666666666, -0.15853658536585366,
                                       0.20325203252032525, 0.028455284552845538};
  for (std::size_t k = 0; k < s.size(); ++k) EXPECT_NEAR(s[k], expected_s[k], 1e-14) << "lag " << k + 1;

  EXPECT_EQ(acf({2.0, 2.0, 2.0}, 3), (std::vector<double>{0.0, 0.0, 0.0}));
  EXPECT_EQ(acf({}, 2), (std::vector<double>{0.0, 0.0}));
  EXPECT_THROW(acf({1.0, 2.0}, 0), ConfigError);
}

TEST(SaxAcf, HandComputedPipeline) {
  // v (18 frames): mean 4/3, population std 1.481365736219265; block means of
  // z: −0.0563, 1.2939, −1.4064, 0.4500, −0.5625 → symbols 1, 3, 0, 2, 1.
  // Symbols: mean 1.4, deviations −0.4, 1.6, −1.4, 0.6, −0.4, Σ² = 5.2;
  //   r1 = (−0.64 − 2.24 − 0.84 − 0.24) / 5.2 = −3.96 / 5.2
  //   r2 = (0.56 + 0.96 + 0.56) / 5.2 = 2.08 / 5.2
  //   r3 = (−0.24 − 0.64) / 5.2 = −0.88 / 5.2,  r4 = 0.16 / 5.2,  r5 = 0
  const std::vector<double> v{1.0, 2.0, 1.5, 0.5, 3.0, 4.0, 3.5, 2.5, -1.0,
                              0.0, -0.5, -1.5, 2.0, 2.0, 2.0, 2.0, 0.0, 1.0};
  EXPECT_EQ(sax(z_normalise(v), 4, 4), (std::vector<int>{1, 3, 0, 2, 1}));
  const std::vector<double> r = sax_acf(v, 4, 4, 5);
  const std::vector<double> expected{-3.96 / 5.2, 2.08 / 5.2, -0.88 / 5.2, 0.16 / 5.2, 0.0};
  ASSERT_EQ(r.size(), expected.size());
  for (std::size_t k = 0; k < r.size(); ++k) EXPECT_NEAR(r[k], expected[k], 1e-14) << "lag " << k + 1;
  EXPECT_EQ(sax_acf(v).size(), 13u);
}

// The same 18 frames make 5 symbols: lags 5..13 do not exist. Partial
// distances leave them out (NaN) instead of acf()'s 0; lags 1..4 stay.
TEST(SaxAcf, UndefinedLagsOfAShortSeriesAreMissing) {
  EXPECT_EQ(symbol_count(18, 4), 5u);
  EXPECT_EQ(symbol_count(20, 4), 5u);
  EXPECT_EQ(symbol_count(21, 4), 6u);
  EXPECT_EQ(symbol_count(56, 4), 14u);
  const std::vector<double> v{1.0, 2.0, 1.5, 0.5, 3.0, 4.0, 3.5, 2.5, -1.0,
                              0.0, -0.5, -1.5, 2.0, 2.0, 2.0, 2.0, 0.0, 1.0};
  std::vector<double> r = sax_acf(v, 4, 4, 13);
  mark_undefined_lags(r, symbol_count(v.size(), 4));
  EXPECT_NEAR(r[0], -3.96 / 5.2, 1e-14);
  EXPECT_NEAR(r[3], 0.16 / 5.2, 1e-14);
  for (std::size_t k = 4; k < r.size(); ++k) EXPECT_TRUE(std::isnan(r[k])) << "lag " << k + 1;
  // A complete 56-frame sample (14 symbols) has all 13 lags.
  std::vector<double> full(13, 0.5);
  mark_undefined_lags(full, 14);
  for (double x : full) EXPECT_EQ(x, 0.5);
}

TEST(PoolLengths, GreedyFromTheShortest) {
  // Distinct sorted: 17, 20, 23, 24, 30, 31, 56. Pools: {17, 20, 23} (≤ 23),
  // {24, 30} (≤ 30), {31} (≤ 37), {56}.
  const std::vector<int> lengths{56, 17, 24, 30, 20, 23, 31, 17, 56};
  const LengthPools p = pool_lengths(lengths, 6);
  EXPECT_EQ(p.pool, (std::vector<int>{3, 0, 1, 1, 0, 0, 2, 0, 3}));
  EXPECT_EQ(p.target_length, (std::vector<int>{56, 23, 30, 30, 23, 23, 31, 23, 56}));

  const LengthPools zero = pool_lengths({5, 5, 6}, 0);  // tolerance 0: equal lengths only
  EXPECT_EQ(zero.pool, (std::vector<int>{0, 0, 1}));
  EXPECT_EQ(zero.target_length, (std::vector<int>{5, 5, 6}));
  EXPECT_TRUE(pool_lengths({}).pool.empty());
  EXPECT_THROW(pool_lengths({3}, -1), ConfigError);
  EXPECT_THROW(pool_lengths({-3}), InputError);
}

TEST(PadWithNoise, KeepsThePrefixAndReachesTheTarget) {
  std::vector<double> x;
  for (int t = 0; t < 30; ++t) x.push_back(0.1 * t);
  Rng rng(5, Stream::test, 0);
  const std::vector<double> padded = pad_with_noise(x, 36, rng);
  ASSERT_EQ(padded.size(), 36u);
  for (std::size_t t = 0; t < x.size(); ++t) EXPECT_EQ(padded[t], x[t]);

  // The padding is N(μ, σ²) of the last 6 values (2.4..2.9: μ = 2.65,
  // σ = 0.1·sqrt(35/12) ≈ 0.1708): a long padding has that mean and spread.
  const std::vector<double> longer = pad_with_noise(x, 30 + 20000, rng);
  double mean = 0.0, ss = 0.0;
  for (std::size_t t = 30; t < longer.size(); ++t) mean += longer[t] / 20000.0;
  for (std::size_t t = 30; t < longer.size(); ++t) ss += (longer[t] - mean) * (longer[t] - mean);
  EXPECT_NEAR(mean, 2.65, 0.01);
  EXPECT_NEAR(std::sqrt(ss / 20000.0), 0.1 * std::sqrt(35.0 / 12.0), 0.005);

  // Same generator state, same padding.
  Rng a(5, Stream::test, 3), b(5, Stream::test, 3);
  EXPECT_EQ(pad_with_noise(x, 40, a), pad_with_noise(x, 40, b));
}

TEST(PadWithNoise, ConstantTailShortSeriesAndErrors) {
  Rng rng(5, Stream::test, 1);
  const std::vector<double> flat = pad_with_noise({9.0, 1.0, 1.0, 1.0, 1.0, 1.0, 1.0}, 10, rng);  // σ = 0
  EXPECT_EQ(flat, (std::vector<double>{9.0, 1.0, 1.0, 1.0, 1.0, 1.0, 1.0, 1.0, 1.0, 1.0}));
  const std::vector<double> same = pad_with_noise({4.0, 5.0}, 2, rng);  // already long enough
  EXPECT_EQ(same, (std::vector<double>{4.0, 5.0}));
  const std::vector<double> short_tail = pad_with_noise({2.0, 2.0}, 5, rng, 6);  // tail longer than x
  EXPECT_EQ(short_tail, (std::vector<double>{2.0, 2.0, 2.0, 2.0, 2.0}));
  EXPECT_THROW(pad_with_noise({1.0, 2.0, 3.0}, 2, rng), InputError);
  EXPECT_THROW(pad_with_noise({}, 2, rng), InputError);
  EXPECT_THROW(pad_with_noise({1.0}, 2, rng, 0), ConfigError);
}
