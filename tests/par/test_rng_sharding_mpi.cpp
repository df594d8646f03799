// RNG draws for global index i are identical at any rank count: each rank
// draws for its own block of a partition, the blocks are summed into one
// vector, and every rank compares it with the draws it makes itself for all i.
#include <gtest/gtest.h>

#include "phenoscale/core/rng.hpp"
#include "phenoscale/par/comm.hpp"
#include "phenoscale/par/partition.hpp"

using namespace phenoscale;

TEST(RngSharding, DrawsDependOnlyOnGlobalIndex) {
  par::Comm world(MPI_COMM_WORLD);
  const std::uint64_t n = 1001, draws = 7;
  const auto mine = par::BlockPartition::over(n, world).range(world.rank());
  std::vector<double> sharded(n * draws, 0.0);
  for (std::uint64_t i = mine.begin; i < mine.end; ++i) {
    core::Rng rng(99, core::Stream::noise, i);
    for (std::uint64_t k = 0; k < draws; ++k) sharded[i * draws + k] = rng.normal();
  }
  world.allreduce_sum_inplace(sharded);  // exactly one rank contributes each entry
  for (std::uint64_t i = 0; i < n; ++i) {
    core::Rng rng(99, core::Stream::noise, i);
    for (std::uint64_t k = 0; k < draws; ++k) ASSERT_EQ(sharded[i * draws + k], rng.normal()) << i;
  }
}
