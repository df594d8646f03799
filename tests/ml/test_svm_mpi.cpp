// RBF SVM (ml/svm, libsvm C-SVC): planted problems no linear classifier can
// solve (three concentric rings, XOR of two Gaussian blobs per class), the
// cross-validated choice of (C, γ) identical at any rank count, and clear
// errors on bad training data.
#include <gtest/gtest.h>
#include <sys/resource.h>
#include <unistd.h>

#include <cmath>
#include <fstream>
#include <limits>
#include <optional>

#include "phenoscale/core/error.hpp"
#include "phenoscale/core/rng.hpp"
#include "phenoscale/ml/svm.hpp"
#include "test_support.hpp"

using phenoscale::InputError;
using phenoscale::core::Rng;
using phenoscale::core::Stream;
using phenoscale::ml::RbfSvmClassifier;
using phenoscale::ml::SvmGrid;
using phenoscale::testing::message_of;
using phenoscale::testing::world;

namespace {
constexpr double pi = 3.14159265358979323846;

struct Planted {
  std::vector<double> x;
  std::vector<std::int64_t> y;
};

// Class k on a ring of radius 1 + 1.5k with radial noise 0.2, plus a third
// feature of pure noise (standardisation must not let it dominate).
Planted rings(std::size_t per_class, std::uint64_t seed) {
  Planted p;
  Rng rng(seed, Stream::test, 0);
  for (std::size_t i = 0; i < per_class; ++i)
    for (int k = 0; k < 3; ++k) {
      const double angle = rng.uniform(0, 2 * pi), r = 1.0 + 1.5 * k + rng.normal(0, 0.2);
      p.x.insert(p.x.end(), {r * std::cos(angle), r * std::sin(angle), rng.normal(0, 5.0)});
      p.y.push_back(10 * k + 7);  // labels need not be 0..K-1
    }
  return p;
}

// XOR: class 1 where sign(x0) != sign(x1).
Planted exclusive_or(std::size_t n, std::uint64_t seed) {
  Planted p;
  Rng rng(seed, Stream::test, 1);
  for (std::size_t i = 0; i < n; ++i) {
    const double a = rng.uniform(-1, 1), b = rng.uniform(-1, 1);
    if (std::fabs(a) < 0.1 || std::fabs(b) < 0.1) continue;  // a margin around the axes
    p.x.insert(p.x.end(), {a, b});
    p.y.push_back((a > 0) != (b > 0) ? 1 : 0);
  }
  return p;
}

// Lowers this process's address-space limit to what it maps now plus
// `margin` bytes while it lives: a planted out-of-memory on one rank.
// applied() is false when the limit could not be set (a hard limit below).
class AddressSpaceLimit {
 public:
  explicit AddressSpaceLimit(std::size_t margin) {
    if (getrlimit(RLIMIT_AS, &saved_) != 0) return;
    std::ifstream statm("/proc/self/statm");
    std::size_t pages = 0;
    if (!(statm >> pages)) return;
    rlimit lowered = saved_;
    lowered.rlim_cur = pages * static_cast<std::size_t>(sysconf(_SC_PAGESIZE)) + margin;
    if (lowered.rlim_cur > saved_.rlim_max) return;
    applied_ = setrlimit(RLIMIT_AS, &lowered) == 0;
  }
  ~AddressSpaceLimit() {
    if (applied_) setrlimit(RLIMIT_AS, &saved_);
  }
  AddressSpaceLimit(const AddressSpaceLimit&) = delete;
  AddressSpaceLimit& operator=(const AddressSpaceLimit&) = delete;
  bool applied() const { return applied_; }

 private:
  rlimit saved_{};
  bool applied_ = false;
};

// Sanitizers reserve address space (shadow memory) beyond any such limit.
#if defined(__SANITIZE_ADDRESS__) || defined(__SANITIZE_THREAD__)
constexpr bool kSanitized = true;
#elif defined(__has_feature)
#if __has_feature(address_sanitizer) || __has_feature(thread_sanitizer) || __has_feature(memory_sanitizer)
constexpr bool kSanitized = true;
#else
constexpr bool kSanitized = false;
#endif
#else
constexpr bool kSanitized = false;
#endif

double accuracy(const std::vector<std::int64_t>& predicted, const std::vector<std::int64_t>& truth) {
  std::size_t right = 0;
  for (std::size_t i = 0; i < truth.size(); ++i) right += predicted[i] == truth[i];
  return double(right) / double(truth.size());
}
}  // namespace

TEST(RbfSvm, SeparatesConcentricRingsWithCrossValidatedParameters) {
  const Planted train = rings(100, 1), test = rings(100, 2);
  RbfSvmClassifier svm;
  SvmGrid grid;
  grid.seed = 3;
  svm.fit_cross_validated(train.x, 3, train.y, grid, &world());
  const double acc = accuracy(svm.predict(test.x), test.y);
  if (world().is_root())
    std::printf("rings: C = %g, gamma = %g, %zu support vectors, CV %.3f, test accuracy %.3f\n", svm.c(),
                svm.gamma(), svm.support_vectors(), [&] {
                  double best = 0;
                  for (const auto& p : svm.cross_validation()) best = std::max(best, p.accuracy);
                  return best;
                }(), acc);
  EXPECT_GE(acc, 0.95);
  EXPECT_EQ(svm.cross_validation().size(), 15u);
  EXPECT_EQ(svm.folds_used(), 5);
  // The choice is the same on every rank and at every rank count: the grid's
  // fits are spread over ranks into fixed slots.
  EXPECT_EQ(world().allreduce_max(svm.c()), world().allreduce_min(svm.c()));
  EXPECT_EQ(world().allreduce_max(svm.gamma()), world().allreduce_min(svm.gamma()));
  RbfSvmClassifier alone;
  alone.fit_cross_validated(train.x, 3, train.y, grid, nullptr);
  EXPECT_EQ(alone.c(), svm.c());
  EXPECT_EQ(alone.gamma(), svm.gamma());
  for (std::size_t g = 0; g < svm.cross_validation().size(); ++g)
    EXPECT_EQ(alone.cross_validation()[g].accuracy, svm.cross_validation()[g].accuracy);
}

TEST(RbfSvm, SolvesExclusiveOrAtFixedParameters) {
  const Planted train = exclusive_or(400, 4), test = exclusive_or(400, 5);
  RbfSvmClassifier svm;
  svm.fit(train.x, 2, train.y, 8.0, 0.5);
  EXPECT_GE(accuracy(svm.predict(test.x), test.y), 0.95);
}

TEST(RbfSvm, BadTrainingDataGivesClearErrors) {
  RbfSvmClassifier svm;
  const std::vector<double> x = {0, 1, 1, 0, 2, 2, 3, 1};
  EXPECT_NE(message_of<InputError>([&] { svm.fit(x, 2, {0, 1, 0}, 1, 1); }).find("3 labels for 4 feature rows"),
            std::string::npos);
  EXPECT_NE(message_of<InputError>([&] { svm.fit(x, 2, {5, 5, 5, 5}, 1, 1); }).find("1 class(es) (label 5)"),
            std::string::npos);
  EXPECT_NE(message_of<InputError>([&] { svm.fit(x, 2, {0, 1, 0, 1}, -1, 1); }).find("positive"),
            std::string::npos);
  std::vector<double> bad = x;
  bad[5] = std::numeric_limits<double>::quiet_NaN();
  EXPECT_NE(message_of<InputError>([&] { svm.fit(bad, 2, {0, 1, 0, 1}, 1, 1); }).find("feature 1 of training row 2"),
            std::string::npos);
  EXPECT_NE(message_of<InputError>([&] { svm.fit_cross_validated(x, 2, {0, 1, 1, 1}, SvmGrid{}); })
                .find("single row"),
            std::string::npos);
  EXPECT_FALSE(svm.fitted());
  EXPECT_THROW(svm.predict(x), phenoscale::Error);
}

TEST(RbfSvm, ARankOutOfMemoryPreparingTheFoldsFailsEveryRankAlike) {
  // Rank 1 cannot hold the folds' standardised copies (3 of 1,200 × 1,000
  // values, 9.6 MB each, under a limit of 16 MB more than it maps): it must
  // still join the fold reduction, so that every rank ends with an error
  // (before, rank 1 threw past the reduction and the others waited in it).
  if (kSanitized) GTEST_SKIP() << "a sanitizer's shadow memory ignores an address-space limit";
  if (world().size() < 2) GTEST_SKIP() << "needs a second rank to fail alone";
  const std::size_t n = 1200, d = 1000;
  std::vector<double> x(n * d);
  std::vector<std::int64_t> y(n);
  Rng rng(4, Stream::test, 2);
  for (std::size_t i = 0; i < n; ++i) {
    y[i] = static_cast<std::int64_t>(i % 2);
    for (std::size_t j = 0; j < d; ++j) x[i * d + j] = rng.normal(y[i] == 0 ? 0.0 : 0.5, 1.0);
  }
  SvmGrid grid;
  grid.log2_c = {0.0};
  grid.gamma_scales = {1.0};
  grid.folds = 3;
  RbfSvmClassifier svm;
  std::string message;
  {
    std::optional<AddressSpaceLimit> limit;
    if (world().rank() == 1) limit.emplace(std::size_t{16} << 20);
    // Every rank skips together (one skipping alone would leave the others in the reduction).
    if (world().allreduce_min(static_cast<int>(!limit || limit->applied())) == 0)
      GTEST_SKIP() << "rank 1 could not lower its address-space limit";
    message = message_of<InputError>([&] { svm.fit_cross_validated(x, d, y, grid, &world()); });
  }
  if (world().rank() == 1) {
    EXPECT_EQ(message.rfind("SVM: preparing the cross-validation folds: ", 0), 0u) << message;
  } else {
    EXPECT_EQ(message, "SVM: cross-validation failed on another rank");
  }
  EXPECT_FALSE(svm.fitted());
}
