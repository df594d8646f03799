// Philox4x32-10 against the Random123 known-answer vectors, and the
// properties the rest of phenoscale relies on: draws depend only on
// (seed, stream, index), and the derived distributions have the right moments.
#include <gtest/gtest.h>

#include <cmath>
#include <set>

#include "phenoscale/core/rng.hpp"

using phenoscale::core::philox4x32_10;
using phenoscale::core::Rng;
using phenoscale::core::Stream;

TEST(Philox, KnownAnswerZero) {
  const auto out = philox4x32_10({0, 0, 0, 0}, {0, 0});
  EXPECT_EQ(out[0], 0x6627e8d5u);
  EXPECT_EQ(out[1], 0xe169c58du);
  EXPECT_EQ(out[2], 0xbc57ac4cu);
  EXPECT_EQ(out[3], 0x9b00dbd8u);
}

TEST(Philox, KnownAnswerOnes) {
  const auto out = philox4x32_10({~0u, ~0u, ~0u, ~0u}, {~0u, ~0u});
  EXPECT_EQ(out[0], 0x408f276du);
  EXPECT_EQ(out[1], 0x41c83b0eu);
  EXPECT_EQ(out[2], 0xa20bc7c6u);
  EXPECT_EQ(out[3], 0x6d5451fdu);
}

TEST(Philox, KnownAnswerPi) {
  const auto out = philox4x32_10({0x243f6a88, 0x85a308d3, 0x13198a2e, 0x03707344},
                                 {0xa4093822, 0x299f31d0});
  EXPECT_EQ(out[0], 0xd16cfe09u);
  EXPECT_EQ(out[1], 0x94fdccebu);
  EXPECT_EQ(out[2], 0x5001e420u);
  EXPECT_EQ(out[3], 0x24126ea1u);
}

TEST(Rng, SameKeySameSequenceWhateverWasDrawnBefore) {
  // A rank that owns samples 10..19 must produce for sample 17 exactly what a
  // rank owning 0..99 produces, regardless of other samples drawn before.
  Rng busy(42, Stream::noise, 3);
  for (int i = 0; i < 1000; ++i) busy.next_u32();
  Rng a(42, Stream::noise, 17), b(42, Stream::noise, 17);
  for (int i = 0; i < 100; ++i) ASSERT_EQ(a.next_u32(), b.next_u32());
}

TEST(Rng, SeedStreamAndIndexAllChangeTheSequence) {
  const auto first = [](std::uint64_t seed, Stream s, std::uint64_t i) { return Rng(seed, s, i).next_u64(); };
  std::set<std::uint64_t> values = {first(1, Stream::noise, 0), first(2, Stream::noise, 0),
                                    first(1, Stream::rotation, 0), first(1, Stream::noise, 1),
                                    first(1, Stream::noise, std::uint64_t(1) << 32)};
  EXPECT_EQ(values.size(), 5u);
}

TEST(Rng, UniformMoments) {
  Rng rng(7, Stream::test, 0);
  const int n = 200000;
  double sum = 0, sq = 0;
  for (int i = 0; i < n; ++i) {
    const double u = rng.uniform();
    ASSERT_GE(u, 0.0);
    ASSERT_LT(u, 1.0);
    sum += u;
    sq += u * u;
  }
  const double mean = sum / n, var = sq / n - mean * mean;
  // Standard error of the mean is sqrt(1/12/n) ~ 6.5e-4; allow 5 sigma.
  EXPECT_NEAR(mean, 0.5, 3.3e-3);
  EXPECT_NEAR(var, 1.0 / 12.0, 2e-3);
}

TEST(Rng, NormalMoments) {
  Rng rng(11, Stream::test, 5);
  const int n = 200000;
  double sum = 0, sq = 0, quart = 0;
  for (int i = 0; i < n; ++i) {
    const double z = rng.normal();
    sum += z;
    sq += z * z;
    quart += z * z * z * z;
  }
  EXPECT_NEAR(sum / n, 0.0, 0.012);        // 5 standard errors
  EXPECT_NEAR(sq / n, 1.0, 0.016);
  EXPECT_NEAR(quart / n, 3.0, 0.1);        // kurtosis of a Gaussian
}

TEST(Rng, BelowIsUniformOverSmallRange) {
  Rng rng(3, Stream::test, 9);
  std::vector<int> counts(7, 0);
  const int n = 70000;
  for (int i = 0; i < n; ++i) counts[rng.below(7)]++;
  double chi2 = 0;
  for (int c : counts) chi2 += (c - n / 7.0) * (c - n / 7.0) / (n / 7.0);
  EXPECT_LT(chi2, 22.5);  // chi-square, 6 degrees of freedom, p = 0.001
}

// SplitMix64's first output from state 0 (Steele et al. 2014; the reference
// C code of Vigna's xoshiro page gives the same), and mix_bytes as the fold of
// little-endian words, the last one zero-padded. Checkpoint and λ-row digests
// written by one build must match those of the next.
TEST(Mix, KnownAnswers) {
  EXPECT_EQ(phenoscale::core::mix64(0), 0xE220A8397B1DCDAFull);
  const char text[] = "abcdefghij";
  EXPECT_EQ(phenoscale::core::mix_bytes(0, text, 10), 0x1BC4F35F6BD34A54ull);
  EXPECT_EQ(phenoscale::core::mix_bytes(7, text, 0), 7u);  // nothing to fold
}
