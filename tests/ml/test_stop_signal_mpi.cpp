// A stop signal (Slurm's warning before the time limit) ends the long ml
// loops at once: the community sweep over neighbour counts stops at its next
// count on every rank, even when only rank 0 got the signal, and t-SNE and
// UMAP leave their descent with no layout (EmbeddingResult::iterations).
// Its own executable: the signal flag is never reset within a process.
#include <gtest/gtest.h>

#include <csignal>

#include "phenoscale/core/error.hpp"
#include "phenoscale/core/stop_signal.hpp"
#include "phenoscale/ml/embedding.hpp"
#include "phenoscale/ml/sweep.hpp"
#include "test_support.hpp"

using namespace phenoscale;
using phenoscale::testing::world;

namespace {

constexpr std::uint64_t kRows = 180, kCols = 4;

std::vector<float> blobs() { return phenoscale::testing::gaussian_blobs(kRows, kCols, 3, 10.0); }  // 3 blobs of 60 rows

ml::SweepResult sweep(const par::Comm& comm) {
  ml::CommunityOptions options;
  options.method = "louvain";
  return ml::sweep_communities(ml::shard_rows(blobs(), kCols, comm), {5, 10, 15}, options, {}, {}, comm);
}

}  // namespace

// Declared first, so it runs before the signal: every count and iteration runs.
TEST(StopSignal, WithoutASignalEverythingRuns) {
  ASSERT_EQ(core::StopSignal::received(), 0);
  EXPECT_EQ(sweep(world()).points.size(), 3u);
  ml::TsneOptions t;
  t.iterations = 60;
  t.exaggeration_iterations = 20;
  const auto x = blobs();
  const auto tsne = ml::tsne(x, kRows, kCols, t);
  EXPECT_EQ(tsne.iterations, 60u);
  EXPECT_EQ(tsne.coordinates.size(), kRows * 2);
  ml::UmapOptions u;
  u.epochs = 30;
  const auto umap = ml::umap(x, kRows, kCols, u);
  EXPECT_EQ(umap.iterations, 30u);
  EXPECT_EQ(umap.coordinates.size(), kRows * 2);
}

TEST(StopSignal, ASignalOnRankZeroStopsTheSweepOnEveryRank) {
  core::StopSignal handler;
  if (world().rank() == 0) std::raise(SIGUSR1);
  ASSERT_EQ(core::StopSignal::received() != 0, world().rank() == 0);
  // The stop point after the first count agrees over the ranks: all throw.
  const std::string message = phenoscale::testing::message_of<Preempted>([] { sweep(world()); });
  EXPECT_NE(message.find("during the community sweep (neighbour count 5);"), std::string::npos) << message;
}

TEST(StopSignal, EmbeddingsLeaveTheirDescentWithNoLayout) {
  if (world().rank() != 0) GTEST_SKIP() << "the signal was raised on rank 0";
  const auto x = blobs();
  ml::TsneOptions t;
  t.iterations = 60;
  const auto tsne = ml::tsne(x, kRows, kCols, t);
  EXPECT_EQ(tsne.iterations, 0u);
  EXPECT_TRUE(tsne.coordinates.empty());
  ml::UmapOptions u;
  u.epochs = 30;
  const auto umap = ml::umap(x, kRows, kCols, u);
  EXPECT_EQ(umap.iterations, 0u);
  EXPECT_TRUE(umap.coordinates.empty());
}
