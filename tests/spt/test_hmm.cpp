// Gaussian HMM (spt/hmm.hpp): recovery of a planted 4-state chain, EM
// monotonicity, the scaled forward and Viterbi against brute force over all
// paths, canonical state order, short and degenerate sequences.
#include <gtest/gtest.h>

#include <cmath>
#include <cstdio>
#include <vector>

#include "phenoscale/core/error.hpp"
#include "phenoscale/core/rng.hpp"
#include "phenoscale/spt/hmm.hpp"

using namespace phenoscale::spt;
using phenoscale::ConfigError;
using phenoscale::InputError;
using phenoscale::core::Rng;
using phenoscale::core::Stream;

namespace {
constexpr double kPi = 3.14159265358979323846;

// A Markov chain that stays with probability `stay` and otherwise jumps to a
// uniformly chosen other state, with Gaussian emissions.
void sample_chain(const std::vector<double>& means, double sd, double stay, std::size_t n, Rng& rng,
                  std::vector<double>& x, std::vector<std::int64_t>& truth) {
  const auto k = static_cast<std::uint64_t>(means.size());
  std::int64_t s = static_cast<std::int64_t>(rng.below(k));
  for (std::size_t t = 0; t < n; ++t) {
    if (t > 0 && rng.uniform() >= stay) s = static_cast<std::int64_t>((static_cast<std::uint64_t>(s) + 1 + rng.below(k - 1)) % k);
    truth.push_back(s);
    x.push_back(rng.normal(means[static_cast<std::size_t>(s)], sd));
  }
}

double density(const GaussianHmm& m, int i, double x) {
  const double d = x - m.means[i];
  return std::exp(-0.5 * d * d / m.variances[i]) / std::sqrt(2 * kPi * m.variances[i]);
}

GaussianHmm tiny_model() {
  GaussianHmm m;
  m.states = 3;
  m.means = {0.0, 1.0, 2.5};
  m.variances = {0.3, 0.5, 0.2};
  m.transitions = {0.8, 0.15, 0.05, 0.1, 0.7, 0.2, 0.25, 0.25, 0.5};
  m.initial = {0.5, 0.3, 0.2};
  return m;
}
const std::vector<double> kTinyX = {0.1, 1.2, 0.9, 2.4, 2.6, -0.2};

}  // namespace

TEST(Hmm, RecoversPlantedStatesAndPath) {
  const std::vector<double> means = {1.0, 2.5, 4.0, 5.5};
  Rng rng(2024, Stream::test, 0);
  std::vector<double> x;
  std::vector<std::int64_t> truth;
  sample_chain(means, 0.25, 0.97, 5000, rng, x, truth);
  const HmmFit fit = hmm_fit(x);
  ASSERT_EQ(fit.model.states, 4);
  for (int i = 0; i < 4; ++i) {
    EXPECT_NEAR(fit.model.means[i], means[i], 0.05 * means[i]) << "state " << i;
    EXPECT_NEAR(std::sqrt(fit.model.variances[i]), 0.25, 0.025) << "state " << i;
    EXPECT_NEAR(fit.model.transitions[i * 4 + i], 0.97, 0.02) << "state " << i;
  }
  std::size_t correct = 0;
  for (std::size_t t = 0; t < x.size(); ++t) correct += fit.path[t] == truth[t];
  const double accuracy = static_cast<double>(correct) / static_cast<double>(x.size());
  std::printf("planted: means %.4f %.4f %.4f %.4f, Viterbi accuracy %.4f, %d iterations\n", fit.model.means[0],
              fit.model.means[1], fit.model.means[2], fit.model.means[3], accuracy, fit.iterations);
  EXPECT_GE(accuracy, 0.95);
  EXPECT_TRUE(fit.converged);
}

TEST(Hmm, LogLikelihoodNeverDecreases) {
  // Overlapping states: EM needs many iterations, each must not lose likelihood.
  Rng rng(7, Stream::test, 1);
  std::vector<double> x;
  std::vector<std::int64_t> truth;
  sample_chain({1.0, 1.6, 2.2, 2.8}, 0.4, 0.9, 2000, rng, x, truth);
  HmmOptions o;
  o.tol = 0.0;      // run to the cap: the whole trajectory is checked
  o.max_iter = 60;
  const HmmFit fit = hmm_fit(x, o);
  ASSERT_EQ(fit.log_likelihood_history.size(), 61u);
  for (std::size_t i = 1; i < fit.log_likelihood_history.size(); ++i)
    EXPECT_GE(fit.log_likelihood_history[i], fit.log_likelihood_history[i - 1] - 1e-9 * std::abs(fit.log_likelihood))
        << "iteration " << i;
  EXPECT_GT(fit.log_likelihood_history.back(), fit.log_likelihood_history.front() + 1.0);
  // The reported likelihood is that of the returned (re-ordered) model.
  EXPECT_NEAR(hmm_log_likelihood(fit.model, x), fit.log_likelihood, 1e-8 * std::abs(fit.log_likelihood));
}

TEST(Hmm, ScaledForwardMatchesBruteForce) {
  const GaussianHmm m = tiny_model();
  const std::size_t n = kTinyX.size(), k = 3;
  // Unscaled forward recursion.
  std::vector<double> alpha(k);
  for (std::size_t i = 0; i < k; ++i) alpha[i] = m.initial[i] * density(m, static_cast<int>(i), kTinyX[0]);
  const ScaledForward f = hmm_forward(m, kTinyX);
  for (std::size_t t = 0; t < n; ++t) {
    if (t > 0) {
      std::vector<double> next(k, 0.0);
      for (std::size_t j = 0; j < k; ++j) {
        for (std::size_t i = 0; i < k; ++i) next[j] += alpha[i] * m.transitions[i * k + j];
        next[j] *= density(m, static_cast<int>(j), kTinyX[t]);
      }
      alpha = next;
    }
    const double total = alpha[0] + alpha[1] + alpha[2];
    for (std::size_t i = 0; i < k; ++i) EXPECT_NEAR(f.alpha_hat[t * k + i], alpha[i] / total, 1e-12);
  }
  // Sum over all 3^6 state paths.
  double p = 0.0;
  for (int code = 0; code < 729; ++code) {
    int c = code, prev = -1;
    double q = 1.0;
    for (std::size_t t = 0; t < n; ++t, c /= 3) {
      const int s = c % 3;
      q *= (prev < 0 ? m.initial[s] : m.transitions[prev * 3 + s]) * density(m, s, kTinyX[t]);
      prev = s;
    }
    p += q;
  }
  EXPECT_NEAR(f.log_likelihood, std::log(p), 1e-12);
  EXPECT_NEAR(f.log_likelihood, std::log(alpha[0] + alpha[1] + alpha[2]), 1e-12);
}

TEST(Hmm, ViterbiIsTheMostProbablePath) {
  const GaussianHmm m = tiny_model();
  double best = -1.0;
  std::vector<std::int64_t> best_path;
  for (int code = 0; code < 729; ++code) {
    int c = code, prev = -1;
    double q = 1.0;
    std::vector<std::int64_t> path;
    for (std::size_t t = 0; t < kTinyX.size(); ++t, c /= 3) {
      const int s = c % 3;
      q *= (prev < 0 ? m.initial[s] : m.transitions[prev * 3 + s]) * density(m, s, kTinyX[t]);
      prev = s;
      path.push_back(s);
    }
    if (q > best) {
      best = q;
      best_path = path;
    }
  }
  EXPECT_EQ(hmm_viterbi(m, kTinyX), best_path);
}

TEST(Hmm, FarOutlierDoesNotUnderflow) {
  // x = 1e4 is ~1e8 standard deviations from every state: unshifted emission
  // densities would all be 0.
  const GaussianHmm m = tiny_model();
  std::vector<double> x = kTinyX;
  x.push_back(1e4);
  const double ll = hmm_log_likelihood(m, x);
  EXPECT_TRUE(std::isfinite(ll));
  EXPECT_EQ(hmm_viterbi(m, x).back(), 1);  // the widest state (variance 0.5) is the least improbable
}

TEST(Hmm, StatesAreOrderedByMean) {
  // Data whose k-means clusters would come out in any order: result ascending.
  Rng rng(3, Stream::test, 2);
  std::vector<double> x;
  std::vector<std::int64_t> truth;
  sample_chain({9.0, 1.0, 5.0}, 0.3, 0.9, 600, rng, x, truth);
  HmmOptions o;
  o.states = 3;
  const HmmFit fit = hmm_fit(x, o);
  ASSERT_EQ(fit.model.states, 3);
  EXPECT_LT(fit.model.means[0], fit.model.means[1]);
  EXPECT_LT(fit.model.means[1], fit.model.means[2]);
  std::size_t agree = 0;  // truth state 1 (mean 1) is fitted state 0, etc.
  const std::int64_t map[3] = {2, 0, 1};
  for (std::size_t t = 0; t < x.size(); ++t) agree += fit.path[t] == map[truth[t]];
  EXPECT_GE(static_cast<double>(agree) / static_cast<double>(x.size()), 0.99);
  for (int i = 0; i < 3; ++i) {
    double row = 0.0;
    for (int j = 0; j < 3; ++j) row += fit.model.transitions[i * 3 + j];
    EXPECT_NEAR(row, 1.0, 1e-12);
  }
}

TEST(Hmm, ShortAndDegenerateSequences) {
  // Fewer points than states: one state per distinct value.
  const HmmFit two = hmm_fit({0.7, 0.2});
  EXPECT_EQ(two.model.states, 2);
  EXPECT_EQ(two.path, (std::vector<std::int64_t>{1, 0}));
  EXPECT_TRUE(std::isfinite(two.log_likelihood));
  // Constant sequence: a single state at that value.
  const HmmFit flat = hmm_fit(std::vector<double>(10, 0.5));
  EXPECT_EQ(flat.model.states, 1);
  EXPECT_DOUBLE_EQ(flat.model.means[0], 0.5);
  EXPECT_EQ(flat.path, std::vector<std::int64_t>(10, 0));
  // Five points, three distinct values.
  const HmmFit few = hmm_fit({1.0, 1.0, 2.0, 3.0, 3.0});
  EXPECT_EQ(few.model.states, 3);
  EXPECT_EQ(few.path, (std::vector<std::int64_t>{0, 0, 1, 2, 2}));
  // Deterministic: the same input gives the same fit, bit for bit.
  Rng rng(5, Stream::test, 0);
  std::vector<double> x;
  std::vector<std::int64_t> truth;
  sample_chain({1.0, 2.0}, 0.5, 0.8, 300, rng, x, truth);
  const HmmFit a = hmm_fit(x), b = hmm_fit(x);
  EXPECT_EQ(a.model.means, b.model.means);
  EXPECT_EQ(a.path, b.path);
  EXPECT_THROW(hmm_fit({}), InputError);
  EXPECT_THROW(hmm_fit({1.0, std::nan("")}), InputError);
  HmmOptions bad;
  bad.states = 0;
  EXPECT_THROW(hmm_fit({1.0}, bad), ConfigError);
}

TEST(Hmm, KMeans1dSplitsObviousClusters) {
  std::vector<double> centres;
  const auto labels = kmeans_1d({10.0, 0.1, 5.0, 0.0, 10.2, 5.2, 9.8, -0.1}, 3, 100, centres);
  ASSERT_EQ(centres.size(), 3u);
  EXPECT_NEAR(centres[0], 0.0, 1e-12);
  EXPECT_NEAR(centres[1], 5.1, 1e-12);
  EXPECT_NEAR(centres[2], 10.0, 1e-12);
  EXPECT_EQ(labels, (std::vector<std::int64_t>{2, 0, 1, 0, 2, 1, 2, 0}));
}
