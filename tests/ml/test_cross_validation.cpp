// Cross-validation building blocks (ml/cross_validation.hpp) with known
// answers: stratified folds hold each class's share to within one row,
// group folds follow the sorted groups, oversampling balances the classes
// from their own rows only, standardisation ignores and imputes missing
// values, and macro-F1 matches scikit-learn's f1_score(average="macro").
#include <gtest/gtest.h>

#include <cmath>
#include <map>
#include <set>

#include "phenoscale/core/error.hpp"
#include "phenoscale/core/rng.hpp"
#include "phenoscale/ml/cross_validation.hpp"

using namespace phenoscale;
using namespace phenoscale::ml;

namespace {
constexpr double kNaN = std::numeric_limits<double>::quiet_NaN();
}

TEST(StratifiedFolds, EveryFoldHoldsEachClassShareToWithinOneRow) {
  // 23 rows of class 0, 7 of class 1, 12 of class 2 (interleaved), 5 folds:
  // class 0 gives folds 5,5,5,4,4 rows; class 1 2,2,1,1,1; class 2 3,3,2,2,2.
  std::vector<int> classes;
  for (int i = 0; i < 42; ++i) classes.push_back(i < 23 ? 0 : i < 30 ? 1 : 2);
  const auto fold = stratified_folds(classes, 3, 5, 11, 0);
  std::map<std::pair<int, int>, int> count;  // (class, fold) -> rows
  for (std::size_t i = 0; i < classes.size(); ++i) {
    ASSERT_GE(fold[i], 0);
    ASSERT_LT(fold[i], 5);
    ++count[{classes[i], fold[i]}];
  }
  const std::vector<std::vector<int>> expected = {{5, 5, 5, 4, 4}, {2, 2, 1, 1, 1}, {3, 3, 2, 2, 2}};
  for (int k = 0; k < 3; ++k)
    for (int f = 0; f < 5; ++f) EXPECT_EQ((count[{k, f}]), expected[k][f]) << "class " << k << " fold " << f;
  // Seeded: the same call gives the same folds; another seed or salt another order.
  EXPECT_EQ(stratified_folds(classes, 3, 5, 11, 0), fold);
  EXPECT_NE(stratified_folds(classes, 3, 5, 12, 0), fold);
  EXPECT_NE(stratified_folds(classes, 3, 5, 11, 100), fold);
}

TEST(StratifiedFolds, FollowsTheSeededPermutationOfEachClass) {
  // Class k's rows are shuffled by Fisher–Yates with Rng(seed, split, salt + k)
  // and dealt round-robin: recompute that by hand for one class.
  const std::vector<int> classes(9, 0);
  std::vector<std::size_t> rows = {0, 1, 2, 3, 4, 5, 6, 7, 8};
  core::Rng rng(5, core::Stream::split, 40);
  for (std::size_t i = rows.size(); i > 1; --i) std::swap(rows[i - 1], rows[rng.below(i)]);
  std::vector<int> expected(9);
  for (std::size_t i = 0; i < rows.size(); ++i) expected[rows[i]] = static_cast<int>(i % 4);
  EXPECT_EQ(stratified_folds(classes, 1, 4, 5, 40), expected);
}

TEST(StratifiedFolds, RejectsBadClassesAndFolds) {
  EXPECT_THROW(stratified_folds({0, 1, 2}, 2, 2, 0, 0), InputError);
  EXPECT_THROW(stratified_folds({0, 1}, 2, 0, 0, 0), InputError);
}

TEST(GroupFolds, OneFoldPerGroupInSortedOrder) {
  EXPECT_EQ(group_folds({7, 3, 7, 5, 3, -1}), (std::vector<int>{3, 1, 3, 2, 1, 0}));
  EXPECT_TRUE(group_folds({}).empty());
}

TEST(Oversample, TopsEveryClassUpToTheLargestFromItsOwnRows) {
  // Rows 0..8 with classes 0,0,0,0,0,0,1,1,2; the training set leaves row 5 out.
  const std::vector<int> classes = {0, 0, 0, 0, 0, 0, 1, 1, 2};
  const std::vector<std::size_t> rows = {0, 1, 2, 3, 4, 6, 7, 8};
  core::Rng rng(3, core::Stream::test, 0);
  const auto out = oversample(rows, classes, 3, rng);
  ASSERT_EQ(out.size(), 15u);  // 5 of each class
  for (std::size_t i = 0; i < rows.size(); ++i) EXPECT_EQ(out[i], rows[i]) << "originals first, in order";
  std::map<int, int> per_class;
  for (std::size_t r : out) {
    ++per_class[classes[r]];
    EXPECT_NE(r, 5u) << "a held-out row was drawn";
  }
  EXPECT_EQ(per_class[0], 5);
  EXPECT_EQ(per_class[1], 5);
  EXPECT_EQ(per_class[2], 5);
  for (std::size_t i = 8; i < 11; ++i) EXPECT_EQ(classes[out[i]], 1) << "class 1's extras come next";
  for (std::size_t i = 11; i < 15; ++i) EXPECT_EQ(out[i], 8u) << "class 2 has one row to repeat";
  core::Rng again(3, core::Stream::test, 0);
  EXPECT_EQ(oversample(rows, classes, 3, again), out);
}

TEST(Oversample, LeavesBalancedAndMissingClassesAlone) {
  const std::vector<int> classes = {0, 1, 0, 1, 2};
  core::Rng rng(1, core::Stream::test, 0);
  // Class 2 is not in the training rows: it stays absent; 0 and 1 are balanced.
  EXPECT_EQ(oversample({0, 1, 2, 3}, classes, 3, rng), (std::vector<std::size_t>{0, 1, 2, 3}));
  EXPECT_TRUE(oversample({}, classes, 3, rng).empty());
}

TEST(Standardiser, UsesTrainingRowsOnlyAndImputesMissingValues) {
  // 4 rows × 3 columns; training rows 0, 1, 2. Column 0: 1, 2, 3 → mean 2,
  // sd sqrt(2/3). Column 1: NaN, 4, 8 → mean 6, sd 2 over its 2 finite values.
  // Column 2: no finite training value → zeroed everywhere.
  const std::vector<double> x = {1, kNaN, kNaN,  //
                                 2, 4, kNaN,     //
                                 3, 8, kNaN,     //
                                 100, 10, 5};
  const auto s = Standardiser::fit(x, 3, {0, 1, 2});
  EXPECT_DOUBLE_EQ(s.mean[0], 2.0);
  EXPECT_DOUBLE_EQ(s.mean[1], 6.0);
  EXPECT_NEAR(1.0 / s.scale[0], std::sqrt(2.0 / 3.0), 1e-15);
  EXPECT_DOUBLE_EQ(s.scale[1], 0.5);
  EXPECT_FALSE(s.present[2]);
  const auto z = s.apply(x);
  EXPECT_NEAR(z[0], -1.0 / std::sqrt(2.0 / 3.0), 1e-12);
  EXPECT_EQ(z[1], 0.0) << "a missing value becomes the training mean";
  EXPECT_EQ(z[2], 0.0);
  EXPECT_DOUBLE_EQ(z[7], 1.0);  // (8 - 6) / 2
  EXPECT_NEAR(z[9], 98.0 / std::sqrt(2.0 / 3.0), 1e-9) << "test rows are scaled, not used";
  EXPECT_DOUBLE_EQ(z[10], 2.0);
  EXPECT_EQ(z[11], 0.0) << "a column absent from training carries nothing";
}

TEST(Standardiser, ConstantColumnsAreCentredNotScaled) {
  const auto s = Standardiser::fit({5, 1, 5, 2, 5, 3}, 2, {0, 1, 2});
  EXPECT_EQ(s.scale[0], 1.0);
  EXPECT_EQ(s.apply({5, 2, 6, 2})[2], 1.0);
  EXPECT_THROW(Standardiser::fit({1, 2, 3}, 2, {0}), InputError);
}

TEST(ConfusionMatrix, MacroF1MatchesScikitLearn) {
  // sklearn.metrics.f1_score([0, 1, 2, 0, 1, 2], [0, 2, 1, 0, 0, 1], average="macro") = 0.26666...
  ConfusionMatrix c(3);
  const int truth[] = {0, 1, 2, 0, 1, 2}, predicted[] = {0, 2, 1, 0, 0, 1};
  for (int i = 0; i < 6; ++i) c.add(truth[i], predicted[i]);
  EXPECT_EQ(c.total(), 6);
  EXPECT_NEAR(c.f1(0), 0.8, 1e-15);
  EXPECT_EQ(c.f1(1), 0.0);
  EXPECT_NEAR(c.macro_f1(), 0.8 / 3.0, 1e-15);
  EXPECT_NEAR(c.accuracy(), 2.0 / 6.0, 1e-15);
  // A class absent from truth and prediction does not count (labels = their union).
  ConfusionMatrix d(3);
  d.add(0, 0), d.add(1, 1), d.add(1, 0);
  EXPECT_TRUE(std::isnan(d.f1(2)));
  EXPECT_NEAR(d.macro_f1(), (2.0 / 3.0 + 2.0 / 3.0) / 2.0, 1e-15);
  EXPECT_TRUE(std::isnan(ConfusionMatrix(2).macro_f1()));
  EXPECT_THROW(d.add(3, 0), Error);
}
