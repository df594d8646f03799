// Typed collectives, collective error agreement and the allreduce backends,
// run at 1, 2 and 3 ranks.
#include <gtest/gtest.h>

#include <numeric>

#include "phenoscale/core/error.hpp"
#include "phenoscale/par/agree.hpp"
#include "phenoscale/par/allreducer.hpp"
#include "test_support.hpp"

using namespace phenoscale;
using phenoscale::testing::world;

namespace {
}  // namespace

TEST(Comm, ExscanAndAllreduce) {
  const auto& c = world();
  const std::uint64_t mine = c.rank() + 1;  // rank r holds r + 1 items
  EXPECT_EQ(c.exscan_sum(mine), std::uint64_t(c.rank()) * (c.rank() + 1) / 2);
  EXPECT_EQ(c.allreduce_sum(mine), std::uint64_t(c.size()) * (c.size() + 1) / 2);
  EXPECT_EQ(c.allreduce_max(c.rank()), c.size() - 1);
  const auto all = c.allgather(c.rank() * 10);
  for (int r = 0; r < c.size(); ++r) EXPECT_EQ(all[r], r * 10);
}

TEST(Comm, BroadcastString) {
  std::string text = world().is_root() ? "deck text from rank 0\nline 2" : "";
  world().broadcast(text);
  EXPECT_EQ(text, "deck text from rank 0\nline 2");
}

TEST(Agree, NoFailureMeansNoThrow) {
  EXPECT_NO_THROW(par::collectively(world(), [] {}));
}

TEST(Agree, FailureOnOneRankIsReportedOnAllRanks) {
  // The last rank fails (rank 1 at np = 2), the others succeed; nobody hangs
  // and everybody sees the failing rank's message and exit code.
  const int failing = world().size() - 1;
  try {
    par::collectively(world(), [&] {
      if (world().rank() == failing) throw InputError("data.h5:/x: NaN value in sample 7");
    });
    FAIL() << "expected CollectiveError";
  } catch (const CollectiveError& e) {
    EXPECT_STREQ(e.what(), "data.h5:/x: NaN value in sample 7");
    EXPECT_EQ(e.failed_rank(), failing);
    EXPECT_EQ(e.exit_code(), exit_code::error);
  }
}

TEST(Agree, LowestFailingRankWinsAndConfigErrorsKeepTheirCode) {
  try {
    par::collectively(world(), [&] { throw ConfigError("rank " + std::to_string(world().rank())); });
    FAIL();
  } catch (const CollectiveError& e) {
    EXPECT_STREQ(e.what(), "rank 0");
    EXPECT_EQ(e.exit_code(), exit_code::usage);
  }
}

TEST(Allreducer, MpiSumBlockingAndOverlapped) {
  auto reducer = par::make_allreducer("mpi", world());
  ASSERT_EQ(reducer->name(), "mpi");
  std::vector<float> grads(1000);
  std::iota(grads.begin(), grads.end(), float(world().rank()));
  reducer->sum(grads.data(), grads.size());
  const int n = world().size();
  for (int i = 0; i < 1000; ++i) ASSERT_FLOAT_EQ(grads[i], float(n * i + n * (n - 1) / 2));

  std::vector<double> bucket_a(257, 1.0), bucket_b(513, 2.0);
  auto pending_a = reducer->start_sum(bucket_a.data(), bucket_a.size(), par::ReduceType::float64);
  auto pending_b = reducer->start_sum(bucket_b.data(), bucket_b.size(), par::ReduceType::float64);
  pending_b->wait();
  pending_a->wait();
  EXPECT_DOUBLE_EQ(bucket_a[256], n * 1.0);
  EXPECT_DOUBLE_EQ(bucket_b[0], n * 2.0);
}

TEST(Allreducer, UnknownBackendNamesTheAvailableOnes) {
  try {
    par::make_allreducer("gloo", world());
    FAIL();
  } catch (const ConfigError& e) {
    EXPECT_NE(std::string(e.what()).find("available: mpi"), std::string::npos) << e.what();
  }
}

#ifdef PHENOSCALE_HAVE_NCCL
TEST(Allreducer, NcclWithoutGpuFailsCleanlyOnAllRanks) {
  // Our CI machines have the CUDA toolkit but no GPU: the backend must say
  // so in one line on every rank instead of hanging in ncclCommInitRank.
  try {
    auto reducer = par::make_allreducer("nccl", world());
    EXPECT_TRUE(reducer->device_memory());
    GTEST_SKIP() << "a GPU is present: the no-GPU error path cannot be exercised here";
  } catch (const CollectiveError& e) {
    EXPECT_NE(std::string(e.what()).find("needs a CUDA GPU"), std::string::npos) << e.what();
  }
}
#endif
