// Sweeps over k and over the kNN neighbour count (Louvain and Leiden) pick the
// planted number of clusters, and the k-means sweep gives the same table at
// any rank count.
#include <gtest/gtest.h>

#include <cmath>
#include <string>

#include "phenoscale/core/rng.hpp"
#include "phenoscale/ml/sweep.hpp"
#include "test_support.hpp"

using namespace phenoscale;
using phenoscale::testing::world;

namespace {

constexpr std::int64_t kPlanted = 4;

// 4 well-separated Gaussian blobs in 5-D, 100 rows each; row i's draws depend on i only.
ml::ShardedMatrix blobs(const par::Comm& comm, std::vector<std::int64_t>& truth) {
  const std::uint64_t n = 400, d = 5;
  std::vector<float> all(n * d);
  std::vector<std::int64_t> labels(n);
  for (std::uint64_t i = 0; i < n; ++i) {
    core::Rng rng(3, core::Stream::test, i);
    labels[i] = static_cast<std::int64_t>(i % kPlanted);
    for (std::uint64_t j = 0; j < d; ++j) {
      const double centre = (j == static_cast<std::uint64_t>(labels[i]) ? 12.0 : 0.0);
      all[i * d + j] = static_cast<float>(rng.normal(centre, 1.0));
    }
  }
  ml::ShardedMatrix x = ml::shard_rows(all, d, comm);
  truth.assign(labels.begin() + x.first_row, labels.begin() + x.first_row + x.local_rows);
  return x;
}

}  // namespace

TEST(Sweep, KMeansPicksThePlantedK) {
  std::vector<std::int64_t> truth;
  const ml::ShardedMatrix x = blobs(world(), truth);
  ml::KMeansOptions base;
  base.seed = 11;
  const auto result = ml::sweep_kmeans(x, {2, 3, 4, 5, 6}, base, {}, truth, world());
  ASSERT_EQ(result.points.size(), 5u);
  const auto& best = result.points[result.best];
  EXPECT_EQ(best.parameter, kPlanted);
  EXPECT_EQ(best.clusters, kPlanted);
  EXPECT_NEAR(best.adjusted_rand_index, 1.0, 1e-12);
  EXPECT_NEAR(best.nmi, 1.0, 1e-12);
  // Davies–Bouldin (lower is better) agrees with the silhouette here.
  for (const auto& p : result.points) EXPECT_GE(p.davies_bouldin, best.davies_bouldin - 1e-12);
  // Inertia falls as k grows.
  for (std::size_t i = 1; i < result.points.size(); ++i) {
    EXPECT_LT(result.points[i].objective, result.points[i - 1].objective);
  }
  EXPECT_EQ(result.best_labels().size(), x.local_rows);
  // Every point keeps each local row's silhouette, in row order: those of
  // its labels, and their mean is the point's.
  ASSERT_EQ(result.point_silhouettes.size(), result.points.size());
  for (std::size_t j = 0; j < result.points.size(); ++j) {
    ASSERT_EQ(result.point_silhouettes[j].size(), x.local_rows);
    EXPECT_EQ(result.point_silhouettes[j], ml::silhouette(x, result.point_labels[j], {}, world()).local);
    double sum = 0.0;
    for (double v : result.point_silhouettes[j]) sum += v;
    EXPECT_NEAR(world().allreduce_sum(sum) / static_cast<double>(x.global_rows), result.points[j].silhouette, 1e-12);
  }
}

TEST(Sweep, CommunitiesSweepChoosesANeighbourCountThatRecoversThePlantedClusters) {
  // A sparse graph (K = 5 on 100-row blobs) splits blobs into several
  // communities; the sweep must prefer a K that recovers the 4 planted ones.
  std::vector<std::int64_t> truth;
  const ml::ShardedMatrix x = blobs(world(), truth);
  for (const std::string method : {"louvain", "leiden"}) {
    ml::CommunityOptions options;
    options.method = method;
    const auto result = ml::sweep_communities(x, {5, 10, 15}, options, {}, truth, world());
    ASSERT_EQ(result.points.size(), 3u);
    const auto& best = result.points[result.best];
    // The premise: K = 5 does split the blobs, so the choice is a real one.
    EXPECT_GT(result.points.front().clusters, kPlanted) << method;
    EXPECT_NE(result.best, 0u) << method;
    EXPECT_EQ(best.clusters, kPlanted) << method;
    EXPECT_NEAR(best.adjusted_rand_index, 1.0, 1e-12) << method;
    EXPECT_EQ(result.points.back().clusters, kPlanted) << method;  // K = 15: dense enough
    for (const auto& p : result.points) {
      EXPECT_GT(p.objective, 0.5) << method << ": modularity at K = " << p.parameter;
      EXPECT_LE(p.silhouette, best.silhouette) << method;
      // Davies–Bouldin (lower is better) agrees with the silhouette here.
      EXPECT_GE(p.davies_bouldin, best.davies_bouldin - 1e-12) << method;
    }
  }
}

TEST(Sweep, TableIsTheSameOnOneRank) {
  std::vector<std::int64_t> truth;
  const ml::ShardedMatrix x = blobs(world(), truth);
  ml::KMeansOptions base;
  base.seed = 11;
  const auto here = ml::sweep_kmeans(x, {3, 4, 5}, base, {}, truth, world());
  par::Comm self = world().split(world().rank(), 0);
  std::vector<std::int64_t> truth1;
  const ml::ShardedMatrix x1 = blobs(self, truth1);
  const auto one = ml::sweep_kmeans(x1, {3, 4, 5}, base, {}, truth1, self);
  ASSERT_EQ(here.best, one.best);
  for (std::size_t i = 0; i < here.points.size(); ++i) {
    EXPECT_EQ(here.points[i].clusters, one.points[i].clusters);
    EXPECT_NEAR(here.points[i].silhouette, one.points[i].silhouette, 1e-12);
    EXPECT_NEAR(here.points[i].objective, one.points[i].objective, 1e-9 * one.points[i].objective);
  }
}

// Another criterion than the silhouette chooses among the same points: the
// lowest finite Davies–Bouldin index, the first of equals, else `best`.
TEST(Sweep, LowestDaviesBouldinSkipsUndefinedPointsAndKeepsTheFirstOfEquals) {
  const double nan = std::nan("");
  ml::SweepResult result;
  for (double db : {nan, 1.3, 1.1, 1.1, 2.0}) {
    ml::SweepPoint p;
    p.davies_bouldin = db;
    result.points.push_back(p);
  }
  result.best = 4;
  EXPECT_EQ(result.lowest_davies_bouldin(), 2u);
  for (auto& p : result.points) p.davies_bouldin = nan;
  EXPECT_EQ(result.lowest_davies_bouldin(), 4u);
}
