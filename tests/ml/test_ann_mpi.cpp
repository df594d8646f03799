// Approximate (IVF) kNN at 1, 2 and 3 ranks: recall@15 against exact_knn on
// planted Gaussian blobs, far fewer distances than N², exact_knn's result bit
// for bit when every list is probed, the same result as a single-rank run,
// complete lists when the probed lists are small, and one-line ConfigErrors.
#include <gtest/gtest.h>

#include <set>

#include "phenoscale/core/error.hpp"
#include "phenoscale/core/rng.hpp"
#include "phenoscale/ml/ann.hpp"
#include "phenoscale/ml/knn.hpp"
#include "phenoscale/ml/matrix.hpp"
#include "test_support.hpp"

using namespace phenoscale;
using phenoscale::testing::world;

namespace {

constexpr std::uint64_t N = 5000, D = 13, K = 15, Blobs = 20;

// Row i: a Gaussian around one of `Blobs` centres (σ = 1, centres σ = 4); depends only on i.
std::vector<float> blobs(std::uint64_t n, std::uint64_t d) {
  std::vector<double> centres(Blobs * d);
  core::Rng c(5, core::Stream::test, 1u << 30);
  for (auto& v : centres) v = 4.0 * c.normal();
  std::vector<float> all(n * d);
  for (std::uint64_t i = 0; i < n; ++i) {
    core::Rng rng(5, core::Stream::test, i);
    const std::uint64_t b = rng.below(Blobs);
    for (std::uint64_t j = 0; j < d; ++j) all[i * d + j] = static_cast<float>(centres[b * d + j] + rng.normal());
  }
  return all;
}

// Fraction of exact neighbours found, over all ranks.
double recall(const ml::KnnResult& approx, const ml::KnnResult& exact, const par::Comm& comm) {
  std::uint64_t hits = 0;
  for (std::uint64_t i = 0; i < exact.local_rows; ++i) {
    const std::set<std::int64_t> want(exact.neighbours_of(i), exact.neighbours_of(i) + exact.k);
    for (std::uint64_t j = 0; j < approx.k; ++j) hits += want.count(approx.neighbours_of(i)[j]);
  }
  return static_cast<double>(comm.allreduce_sum(hits)) / static_cast<double>(exact.global_rows * exact.k);
}

void expect_identical(const ml::KnnResult& a, const ml::KnnResult& b) {
  ASSERT_EQ(a.local_rows, b.local_rows);
  ASSERT_EQ(a.k, b.k);
  EXPECT_EQ(a.neighbours, b.neighbours);
  EXPECT_EQ(a.distances, b.distances);
}

TEST(ApproximateKnn, RecallAtDefaultProbesWithFarFewerDistances) {
  const auto x = ml::shard_rows(blobs(N, D), D, world());
  const auto exact = ml::exact_knn(x, K, world());
  ml::ApproximateKnnStats st;
  const auto approx = ml::approximate_knn(x, K, {}, world(), &st);
  EXPECT_EQ(st.lists, 71u);  // round(sqrt(5000))
  EXPECT_EQ(st.probes, 8u);
  const double r = recall(approx, exact, world());
  EXPECT_GE(r, 0.95);
  EXPECT_LT(st.distances, N * N / 4);  // 8 of 71 lists: well under N²
  // The per-rank counters add up to the totals; rows only travel between ranks.
  EXPECT_EQ(world().allreduce_sum(st.local_rows), N);
  EXPECT_EQ(world().allreduce_sum(st.owned_list_rows), N);
  EXPECT_EQ(world().allreduce_sum(st.local_distances), st.distances);
  EXPECT_GE(world().allreduce_sum(st.queries_received), N);  // every query visits at least one owner
  EXPECT_EQ(world().allreduce_sum(st.bytes_sent) > 0, world().size() > 1);
  // One probe searches less and must find fewer (the index is not trivially exact).
  ml::ApproximateKnnOptions one;
  one.probes = 1;
  EXPECT_LT(recall(ml::approximate_knn(x, K, one, world()), exact, world()), r);
}

TEST(ApproximateKnn, ProbingEveryListIsTheExactSearchBitForBit) {
  const auto x = ml::shard_rows(blobs(N, D), D, world());
  ml::ApproximateKnnOptions all;
  all.lists = 30;
  all.probes = 30;
  expect_identical(ml::approximate_knn(x, K, all, world()), ml::exact_knn(x, K, world()));
}

TEST(ApproximateKnn, SameResultAtOneRank) {
  const auto data = blobs(N, D);
  ml::ApproximateKnnOptions o;
  o.seed = 42;
  const auto here = ml::approximate_knn(ml::shard_rows(data, D, world()), K, o, world());
  const par::Comm alone = world().split(world().rank(), 0);
  const auto single = ml::approximate_knn(ml::shard_rows(data, D, alone), K, o, alone);
  ASSERT_EQ(single.local_rows, N);
  for (std::uint64_t i = 0; i < here.local_rows; ++i) {
    for (std::uint64_t j = 0; j < K; ++j) {
      ASSERT_EQ(here.neighbours_of(i)[j], single.neighbours_of(here.first_row + i)[j]) << "row " << i;
      ASSERT_EQ(here.distances_of(i)[j], single.distances_of(here.first_row + i)[j]) << "row " << i;
    }
  }
}

TEST(ApproximateKnn, SmallListsAreExtendedUntilKNeighboursAreFound) {
  const std::uint64_t n = 600;
  const auto x = ml::shard_rows(blobs(n, D), D, world());
  ml::ApproximateKnnOptions o;
  o.lists = 300;  // about 2 rows per list: one probe can never hold 15 neighbours
  o.probes = 1;
  const auto r = ml::approximate_knn(x, K, o, world());
  for (std::uint64_t i = 0; i < r.local_rows; ++i) {
    const std::set<std::int64_t> distinct(r.neighbours_of(i), r.neighbours_of(i) + K);
    EXPECT_EQ(distinct.size(), K);
    EXPECT_EQ(distinct.count(static_cast<std::int64_t>(r.first_row + i)), 0u);  // self excluded
    for (std::uint64_t j = 1; j < K; ++j) EXPECT_LE(r.distances_of(i)[j - 1], r.distances_of(i)[j]);
  }
}

TEST(ApproximateKnn, RejectsBadOptions) {
  const auto x = ml::shard_rows(blobs(40, D), D, world());
  EXPECT_THROW(ml::approximate_knn(x, 40, {}, world()), ConfigError);
  EXPECT_THROW(ml::approximate_knn(x, 0, {}, world()), ConfigError);
  ml::ApproximateKnnOptions o;
  o.probes = 0;
  EXPECT_THROW(ml::approximate_knn(x, 5, o, world()), ConfigError);
  EXPECT_THROW(ml::parse_knn_method("ivf", "knn.method"), ConfigError);
  EXPECT_EQ(ml::parse_knn_method("approximate", "knn.method"), ml::KnnMethod::approximate);
}

}  // namespace
