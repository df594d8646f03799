// Minimum-cost assignment (ml/assignment.hpp) against known answers: the
// example of scipy.optimize.linear_sum_assignment's documentation, and the
// brute-force optimum over every injection on random square and
// rectangular matrices, with ties.
#include <gtest/gtest.h>

#include <algorithm>
#include <numeric>
#include <set>

#include "phenoscale/core/error.hpp"
#include "phenoscale/core/rng.hpp"
#include "phenoscale/ml/assignment.hpp"

using namespace phenoscale;
using namespace phenoscale::ml;

namespace {

double total(const std::vector<double>& cost, std::size_t cols, const std::vector<std::int64_t>& a) {
  double t = 0;
  for (std::size_t i = 0; i < a.size(); ++i)
    if (a[i] >= 0) t += cost[i * cols + static_cast<std::size_t>(a[i])];
  return t;
}

// The smallest total over every way of giving min(rows, cols) rows distinct columns.
double brute_force(const std::vector<double>& cost, std::size_t rows, std::size_t cols) {
  std::vector<std::size_t> slot(std::max(rows, cols));
  std::iota(slot.begin(), slot.end(), 0);
  double best = 1e300;
  do {  // rows <= cols: row i takes column slot[i]; rows > cols: column j takes row slot[j]
    double t = 0;
    if (rows <= cols)
      for (std::size_t i = 0; i < rows; ++i) t += cost[i * cols + slot[i]];
    else
      for (std::size_t j = 0; j < cols; ++j) t += cost[slot[j] * cols + j];
    best = std::min(best, t);
  } while (std::next_permutation(slot.begin(), slot.end()));
  return best;
}

void expect_valid(const std::vector<std::int64_t>& a, std::size_t rows, std::size_t cols) {
  ASSERT_EQ(a.size(), rows);
  std::set<std::int64_t> used;
  std::size_t pairs = 0;
  for (auto c : a) {
    if (c < 0) continue;
    ASSERT_LT(c, static_cast<std::int64_t>(cols));
    EXPECT_TRUE(used.insert(c).second) << "column " << c << " used twice";
    ++pairs;
  }
  EXPECT_EQ(pairs, std::min(rows, cols));
}

}  // namespace

TEST(MinCostAssignment, ScipyDocumentationExample) {
  // scipy: cost = [[4, 1, 3], [2, 0, 5], [3, 2, 2]] -> col_ind [1, 0, 2], total 5.
  const std::vector<double> cost{4, 1, 3, 2, 0, 5, 3, 2, 2};
  EXPECT_EQ(min_cost_assignment(cost, 3, 3), (std::vector<std::int64_t>{1, 0, 2}));
}

TEST(MinCostAssignment, MatchesBruteForceOnRandomSquareAndRectangularMatrices) {
  for (std::size_t rows = 1; rows <= 6; ++rows)
    for (std::size_t cols = 1; cols <= 6; ++cols)
      for (std::uint64_t trial = 0; trial < 5; ++trial) {
        core::Rng rng(42, core::Stream::test, rows * 100 + cols * 10 + trial);
        std::vector<double> cost(rows * cols);
        // Odd trials draw small integers, so that ties between assignments are common.
        for (auto& c : cost) c = trial % 2 ? static_cast<double>(rng.below(4)) : rng.uniform(-5, 20);
        const auto a = min_cost_assignment(cost, rows, cols);
        expect_valid(a, rows, cols);
        EXPECT_NEAR(total(cost, cols, a), brute_force(cost, rows, cols), 1e-9)
            << rows << " x " << cols << ", trial " << trial;
      }
}

TEST(MinCostAssignment, MoreRowsThanColumnsLeavesTheCostliestRowsOut) {
  // Rows 0 and 2 are cheap on columns 1 and 0; row 1 is expensive everywhere.
  const std::vector<double> cost{5, 1, 9, 9, 0.5, 7};
  EXPECT_EQ(min_cost_assignment(cost, 3, 2), (std::vector<std::int64_t>{1, -1, 0}));
}

TEST(MinCostAssignment, RejectsAWrongShapeOrNonFiniteCosts) {
  EXPECT_THROW(min_cost_assignment({1, 2, 3}, 2, 2), ConfigError);
  EXPECT_THROW(min_cost_assignment({1, std::numeric_limits<double>::infinity(), 3, 4}, 2, 2), ConfigError);
  EXPECT_TRUE(min_cost_assignment({}, 0, 3).empty());
}
