// Landmark (sketch) clustering: the draw is the stated rule at any rank count,
// and the projection gives every row its nearest landmarks' majority label
// with the stated tie rule, landmarks keeping their own.
#include <gtest/gtest.h>

#include <cmath>
#include <limits>
#include <vector>

#include "phenoscale/core/error.hpp"
#include "phenoscale/core/rng.hpp"
#include "phenoscale/ml/landmarks.hpp"
#include "test_support.hpp"

using namespace phenoscale;
using phenoscale::testing::world;

namespace {

// 1000 rows in 3-D: 4 well-separated blobs (row i in blob i % 4); draws depend on i only.
std::vector<float> blob_rows(std::uint64_t n, std::uint64_t d) {
  std::vector<float> all(n * d);
  for (std::uint64_t i = 0; i < n; ++i) {
    core::Rng rng(5, core::Stream::test, i);
    for (std::uint64_t j = 0; j < d; ++j) all[i * d + j] = static_cast<float>(rng.normal(20.0 * ((i % 4) == j), 1.0));
  }
  return all;
}

std::vector<std::int64_t> local_block(const std::vector<std::int64_t>& all, const ml::ShardedMatrix& x) {
  return {all.begin() + static_cast<std::ptrdiff_t>(x.first_row),
          all.begin() + static_cast<std::ptrdiff_t>(x.first_row + x.local_rows)};
}

}  // namespace

TEST(Landmarks, DrawIsTheStatedRuleAtAnyRankCount) {
  const std::uint64_t n = 1000, d = 3, m = 200, seed = 17;
  const auto all = blob_rows(n, d);
  const ml::ShardedMatrix x = ml::shard_rows(all, d, world());
  const auto l = ml::draw_landmarks(x, m, seed, world());
  std::vector<std::uint64_t> expected;
  for (std::uint64_t i = 0; i < n; ++i) {
    core::Rng rng(seed, core::Stream::landmarks, i);
    if (rng.uniform() < double(m) / double(n)) expected.push_back(i);
  }
  EXPECT_EQ(l.source_row, expected);
  // Binomial(1000, 0.2): sd 12.6; the count is within 4 sd of m.
  EXPECT_NEAR(double(expected.size()), double(m), 51.0);
  // Sharded like any matrix: this rank's block of the landmarks, in global order.
  std::vector<float> rows;
  for (auto i : expected) rows.insert(rows.end(), all.begin() + i * d, all.begin() + (i + 1) * d);
  const auto block = ml::shard_rows(rows, d, world());
  EXPECT_EQ(l.rows.global_rows, expected.size());
  EXPECT_EQ(l.rows.first_row, block.first_row);
  EXPECT_EQ(l.rows.local_rows, block.local_rows);
  EXPECT_EQ(l.rows.data, block.data);
  // m at or above N takes every row.
  EXPECT_EQ(ml::draw_landmarks(x, n, seed, world()).rows.global_rows, n);
  EXPECT_THROW(ml::draw_landmarks(x, 0, seed, world()), ConfigError);
}

TEST(Landmarks, ProjectionRecoversPlantedBlobsAndLandmarksKeepTheirLabels) {
  const std::uint64_t n = 1000, d = 3;
  const auto all = blob_rows(n, d);
  const ml::ShardedMatrix x = ml::shard_rows(all, d, world());
  const auto l = ml::draw_landmarks(x, 60, 3, world());
  // Landmarks labelled by their blob (a perfect clustering), but the first one wrongly.
  std::vector<std::int64_t> landmark_labels(l.source_row.size());
  for (std::size_t j = 0; j < l.source_row.size(); ++j) landmark_labels[j] = std::int64_t(l.source_row[j] % 4) + 10;
  landmark_labels[0] = 99;
  const auto labels = ml::project_landmark_labels(x, l, local_block(landmark_labels, l.rows), 5,
                                                  ml::Distance::euclidean, world());
  ASSERT_EQ(labels.size(), x.local_rows);
  for (std::uint64_t i = 0; i < x.local_rows; ++i) {
    const std::uint64_t row = x.first_row + i;
    const std::int64_t expected = row == l.source_row[0] ? 99 : std::int64_t(row % 4) + 10;
    EXPECT_EQ(labels[i], expected) << "row " << row;
  }
  EXPECT_THROW(ml::project_landmark_labels(x, l, local_block(landmark_labels, l.rows), l.source_row.size() + 1,
                                           ml::Distance::euclidean, world()),
               ConfigError);
}

TEST(Landmarks, VoteTiesGoToTheNearerFirstMemberAndMissingCoordinatesAreSkipped) {
  // Rows 0–2 are the landmarks (labels 7, 3, 3); rows 3 and 4 are voted.
  const float nan = std::numeric_limits<float>::quiet_NaN();
  const std::vector<float> all = {0.0f, 0.0f, 1.0f, 1.0f, 10.0f, 10.0f, 0.4f, nan, nan, 9.0f};
  const ml::ShardedMatrix x = ml::shard_rows(all, 2, world());
  ml::Landmarks l;
  l.source_row = {0, 1, 2};
  l.rows = ml::shard_rows({all.begin(), all.begin() + 6}, 2, world());
  const auto labels_of = [&](std::uint64_t k) {
    const auto local = ml::project_landmark_labels(x, l, local_block({7, 3, 3}, l.rows), k,
                                                   ml::Distance::nan_euclidean, world());
    return ml::gather_values(local, world());
  };
  // k = 2: row 3 (0.4, ·) meets 0 (label 7) then 1 (label 3): one vote each,
  // 7's member is nearer. Row 4 (·, 9) meets 2 then 1: label 3.
  EXPECT_EQ(labels_of(2), (std::vector<std::int64_t>{7, 3, 3, 7, 3}));
  // k = 3: two votes for 3.
  EXPECT_EQ(labels_of(3), (std::vector<std::int64_t>{7, 3, 3, 3, 3}));
}

TEST(Landmarks, VoteTiesDoNotFavourALabelByItsValue) {
  // The mirror of the case above (the nearer member's label is now the
  // smaller one), and a row at equal distances from landmarks 0 and 1, which
  // are taken in landmark order.
  const std::vector<float> all = {0.0f, 0.0f, 1.0f, 1.0f, 10.0f, 10.0f, 0.4f, 0.4f, 0.5f, 0.5f};
  const ml::ShardedMatrix x = ml::shard_rows(all, 2, world());
  ml::Landmarks l;
  l.source_row = {0, 1, 2};
  l.rows = ml::shard_rows({all.begin(), all.begin() + 6}, 2, world());
  const auto labels_of = [&](std::uint64_t k, const std::vector<std::int64_t>& landmark_labels) {
    const auto local = ml::project_landmark_labels(x, l, local_block(landmark_labels, l.rows), k,
                                                   ml::Distance::euclidean, world());
    return ml::gather_values(local, world());
  };
  EXPECT_EQ(labels_of(2, {3, 7, 7}), (std::vector<std::int64_t>{3, 7, 7, 3, 3}));
  EXPECT_EQ(labels_of(1, {3, 7, 7}), (std::vector<std::int64_t>{3, 7, 7, 3, 3}));
  EXPECT_EQ(labels_of(1, {8, 2, 2}), (std::vector<std::int64_t>{8, 2, 2, 8, 8}));
  // A negative label is refused, not taken for "unlabelled".
  EXPECT_ANY_THROW(labels_of(1, {-1, 2, 2}));
}
