// Typed collectives, collective error agreement and the allreduce backends,
// run at 1, 2 and 3 ranks.
#include <gtest/gtest.h>

#include <chrono>
#include <cmath>
#include <cstdint>
#include <numeric>
#include <thread>
#include <vector>

#include "phenoscale/core/error.hpp"
#include "phenoscale/par/agree.hpp"
#include "phenoscale/par/allreducer.hpp"
#include "phenoscale/par/comm.hpp"
#include "phenoscale/par/exact_sum.hpp"
#include "phenoscale/par/partition.hpp"
#include "test_support.hpp"

using namespace phenoscale;
using phenoscale::testing::world;

namespace {
// Rank r holds r + 2 values, except rank 1, which holds none (an empty block
// between two others); value = 1000 · rank + position.
std::vector<double> block_of(int rank) {
  std::vector<double> v(rank == 1 ? 0 : static_cast<std::size_t>(rank + 2));
  for (std::size_t i = 0; i < v.size(); ++i) v[i] = 1000.0 * rank + static_cast<double>(i);
  return v;
}

std::vector<double> concatenated_blocks(int ranks) {
  std::vector<double> all;
  for (int r = 0; r < ranks; ++r) {
    const auto b = block_of(r);
    all.insert(all.end(), b.begin(), b.end());
  }
  return all;
}

// What rank `from` sends rank `to`: (from + 2·to) mod 4 values (some empty),
// each naming its sender, receiver and position.
std::vector<std::int64_t> bucket(int from, int to, int round) {
  std::vector<std::int64_t> v(static_cast<std::size_t>((from + 2 * to) % 4));
  for (std::size_t i = 0; i < v.size(); ++i) v[i] = 100000 * round + 1000 * from + 10 * to + static_cast<std::int64_t>(i);
  return v;
}

// The message sizes under test: MPI's own v-collectives (1 GiB) and chunks of
// one and of three elements, so that every block travels as several messages.
const std::size_t kMessageBytes[] = {std::size_t{1} << 30, 1, 3 * sizeof(double)};

par::Comm world_with_messages(std::size_t bytes) {
  par::Comm c = world().duplicate();
  c.set_message_bytes(bytes);
  return c;
}
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

TEST(Comm, MessageLimitIsInElementsAndAtLeastOne) {
  par::Comm c = world().duplicate();
  EXPECT_EQ(c.message_limit<char>(), std::size_t{1} << 30);
  EXPECT_EQ(c.message_limit<double>(), std::size_t{1} << 27);
  c.set_message_bytes(20);
  EXPECT_EQ(c.message_limit<double>(), 2u);
  EXPECT_EQ(c.message_limit<char>(), 20u);
  c.set_message_bytes(1);
  EXPECT_EQ(c.message_limit<double>(), 1u);
}

TEST(Comm, AllgathervAndGathervConcatenateInRankOrderAtAnyMessageSize) {
  for (const std::size_t bytes : kMessageBytes) {
    const par::Comm c = world_with_messages(bytes);
    const auto expected = concatenated_blocks(c.size());
    EXPECT_EQ(c.allgatherv(block_of(c.rank())), expected) << bytes << " bytes";
    for (const int root : {0, c.size() - 1}) {
      const auto on_root = c.gatherv(block_of(c.rank()), root);
      if (c.rank() == root) {
        EXPECT_EQ(on_root, expected) << bytes << " bytes, root " << root;
      } else {
        EXPECT_TRUE(on_root.empty());
      }
    }
  }
}

TEST(Comm, AlltoallvDeliversEveryBucketInSourceOrderAtAnyMessageSize) {
  for (const std::size_t bytes : kMessageBytes) {
    const par::Comm c = world_with_messages(bytes);
    // Two rounds back to back: the second's messages must not match the first's receives.
    for (int round = 0; round < 2; ++round) {
      std::vector<std::vector<std::int64_t>> buckets(c.size());
      std::vector<std::int64_t> flat, expected;
      std::vector<std::uint64_t> flat_counts, expected_counts;
      for (int to = 0; to < c.size(); ++to) {
        buckets[to] = bucket(c.rank(), to, round);
        flat.insert(flat.end(), buckets[to].begin(), buckets[to].end());
        flat_counts.push_back(buckets[to].size());
      }
      for (int from = 0; from < c.size(); ++from) {
        const auto b = bucket(from, c.rank(), round);
        expected.insert(expected.end(), b.begin(), b.end());
        expected_counts.push_back(b.size());
      }
      std::vector<std::uint64_t> counts, flat_received_counts;
      EXPECT_EQ(c.alltoallv(buckets, &counts), expected) << bytes << " bytes, round " << round;
      EXPECT_EQ(counts, expected_counts);
      EXPECT_EQ(c.alltoallv(flat, flat_counts, flat_received_counts), expected);
      EXPECT_EQ(flat_received_counts, expected_counts);
    }
  }
}

TEST(Comm, BroadcastAndAllreduceOfVectorsAtAnyMessageSize) {
  for (const std::size_t bytes : kMessageBytes) {
    const par::Comm c = world_with_messages(bytes);
    std::vector<double> values = c.is_root() ? concatenated_blocks(c.size() + 2) : std::vector<double>{};
    c.broadcast(values);
    EXPECT_EQ(values, concatenated_blocks(c.size() + 2)) << bytes << " bytes";
    std::vector<double> sums(values.size());
    for (std::size_t i = 0; i < sums.size(); ++i) sums[i] = static_cast<double>(i * (c.rank() + 1));
    c.allreduce_sum_inplace(sums);
    const double ranks = c.size(), rank_sum = ranks * (ranks + 1) / 2;
    for (std::size_t i = 0; i < sums.size(); ++i) ASSERT_EQ(sums[i], static_cast<double>(i) * rank_sum) << i;
  }
}

// Values of both signs over twelve orders of magnitude, so that a double
// allreduce of partial sums would change with the rank count.
std::vector<double> mixed_values(std::size_t n) {
  std::vector<double> v(n);
  for (std::size_t i = 0; i < n; ++i) v[i] = std::sin(0.7 * static_cast<double>(i)) * std::pow(10.0, static_cast<double>(i % 13) - 6.0);
  return v;
}

TEST(ExactSum, CancellationThatADoubleSumLosesIsKept) {
  // Left to right in double: 1e16 + 1 rounds to 1e16, so the sum is 1.
  // Rounded to 2^-8 (62 bits for |1e16| < 2^54) every term is exact: 2.
  const par::Comm& c = world();
  const std::vector<double> all{1e16, 1.0, -1e16, 1.0};
  const auto part = par::BlockPartition::over(all.size(), c).range(c.rank());
  const std::vector<double> mine(all.begin() + part.begin, all.begin() + part.end);
  EXPECT_EQ(par::exact_sum(mine, c), 2.0);
  EXPECT_EQ(par::exact_sum(std::vector<double>{}, c), 0.0);
  // A value that is not finite (on the last rank only) gives the plain sum's NaN or infinity on every rank.
  const bool last = c.rank() == c.size() - 1;
  EXPECT_TRUE(std::isnan(par::exact_sum(last ? std::vector<double>{1.0, NAN} : std::vector<double>{2.0}, c)));
  EXPECT_EQ(par::exact_sum(last ? std::vector<double>{INFINITY} : std::vector<double>{-2.0}, c), INFINITY);
}

TEST(ExactSum, TheSameBitsAtAnyRankCountAndWithinRoundingOfTheTrueSum) {
  const par::Comm& c = world();
  const std::vector<double> all = mixed_values(1001);
  const auto part = par::BlockPartition::over(all.size(), c).range(c.rank());
  const std::vector<double> mine(all.begin() + part.begin, all.begin() + part.end);
  const double distributed = par::exact_sum(mine, c);
  const par::Comm self(MPI_COMM_SELF);
  std::vector<double> reversed(all.rbegin(), all.rend());
  EXPECT_EQ(distributed, par::exact_sum(all, self));
  EXPECT_EQ(distributed, par::exact_sum(reversed, self));
  long double reference = 0;
  for (double x : all) reference += x;
  // Each of 1001 terms rounded to 2^-(62 - 7) of |max| < 10^6 < 2^20.
  EXPECT_NEAR(distributed, static_cast<double>(reference), 1001 * std::ldexp(1.0, -36));
}

// The inline quantisation is llround(ldexp(v, shift)) bit for bit: halves
// away from zero, the largest double below a half, values that are integers
// already, shifts whose power of two is not a normal double, and random
// values at every scale the k-means++ seeding meets.
TEST(ExactSum, QuantiseIsLlroundOfLdexp) {
  const auto reference = [](const par::FixedPoint& fp, double v) {
    return static_cast<std::int64_t>(std::llround(std::ldexp(v, fp.shift)));
  };
  // 0x1p-970: shift 1031, above a normal double's exponent (the ldexp path) with fractional results.
  for (double max_abs : {1.0, 3.0e-300, 0x1p-970, 1e-310, 7.5e300, 1e6, 0.0}) {
    const par::FixedPoint fp(max_abs);
    const double unit = std::ldexp(1.0, -fp.shift);  // one quantum
    std::vector<double> values{0.0, -0.0, max_abs, -max_abs};
    for (double frac : {0.5, 1.5, 2.5, -0.5, -2.5, std::nextafter(0.5, 0.0), -std::nextafter(0.5, 0.0), 0.25, 3.75})
      values.push_back(frac * unit);
    std::uint64_t state = 12345;
    for (int i = 0; i < 20000; ++i) {
      state = state * 6364136223846793005ull + 1442695040888963407ull;
      const double u = static_cast<double>(state >> 11) * 0x1.0p-53;  // [0, 1)
      values.push_back((2 * u - 1) * max_abs * std::ldexp(1.0, -(i % 70)));
    }
    for (double v : values)
      ASSERT_EQ(fp.quantise(v), reference(fp, v)) << "v = " << v << ", max_abs = " << max_abs << ", shift " << fp.shift;
  }
  // Not finite (callers sum those apart): a defined value, not an undefined conversion.
  EXPECT_EQ(par::FixedPoint(1.0).quantise(NAN), INT64_MIN);
  EXPECT_EQ(par::FixedPoint(1.0).quantise(-INFINITY), INT64_MIN);
}

TEST(ExactSum, Int128SumsCarryAcrossLimbsAndSigns) {
  const par::Comm& c = world();
  const par::Int128 big = static_cast<par::Int128>(1) << 100;
  std::vector<par::Int128> v{big + c.rank(), -big - 3 * c.rank(), static_cast<par::Int128>(0xffffffffu)};
  par::allreduce_sum_int128(v, c);
  const par::Int128 n = c.size(), ranks = n * (n - 1) / 2;
  EXPECT_TRUE(v[0] == n * big + ranks);
  EXPECT_TRUE(v[1] == -n * big - 3 * ranks);
  EXPECT_TRUE(v[2] == n * static_cast<par::Int128>(0xffffffffu));
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

TEST(Agree, AFailedRankWaitsForRanksStillWorking) {
  // The failed rank polls the agreement within its grace (30 s): ranks that
  // arrive 1.5 s later, still within it, end in the same clean agreed error.
  // A guard against a grace too short for ranks still at work (a failed rank
  // that gave up would abort the job instead); the planted
  // par.one_rank_error_inside_collective_work_aborts tests the grace's end.
  const int failing = world().size() - 1;
  const std::string message = phenoscale::testing::message_of<CollectiveError>([&] {
    par::collectively(world(), [&] {
      if (world().rank() == failing) throw InputError("movie_17.tif: frame 3 has 512 x 500 pixels");
      std::this_thread::sleep_for(std::chrono::milliseconds(1500));
    });
  });
  EXPECT_EQ(message, "movie_17.tif: frame 3 has 512 x 500 pixels");
}

TEST(Agree, AFailedMpiCallThrowsAndIsAgreed) {
  // A broadcast whose receiver expects fewer elements than the root sends:
  // MPI returns MPI_ERR_TRUNCATE on the receiver (world's error handler
  // returns codes). par::Comm throws it, and the agreement reports it on
  // both ranks; before, the code was ignored and the receiver went on with a
  // buffer MPI had not written. Ranks 0 and 1 only: beyond two, a receiver
  // that failed would not forward the message down the broadcast's tree.
  if (world().size() < 2) GTEST_SKIP() << "needs a sender and a receiver";
  const par::Comm pair = world().split(world().rank() < 2 ? 0 : 1, world().rank());
  if (world().rank() >= 2) return;
  const std::string message = phenoscale::testing::message_of<CollectiveError>([&] {
    par::collectively(pair, [&] {
      std::vector<std::int32_t> values(pair.is_root() ? 4 : 2, 7);
      pair.broadcast_span(values.data(), values.size(), 0);
    });
  });
  // Open MPI 4.1 (Debian 12) says "MPI_ERR_TRUNCATE: message truncated".
  EXPECT_EQ(message.rfind("MPI: MPI_Bcast failed: ", 0), 0u) << message;
}

TEST(Agree, APreemptionInsideAnAgreementStaysAPreemption) {
  // A stage stopped by a signal inside `collectively` (a trainer on one rank's
  // own communicator) must still leave as Preempted: exit 75 and a
  // "preempted" line, not an error line.
  const std::string message = phenoscale::testing::message_of<Preempted>([] {
    par::collectively(world(), [] {
      if (world().rank() == 0) throw Preempted("stop signal at step 3; checkpoint written to c.pt");
    });
  });
  EXPECT_EQ(message, "stop signal at step 3; checkpoint written to c.pt");
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
  // At 1 and 24 bytes a message every buffer is reduced in many pieces.
  for (const std::size_t bytes : kMessageBytes) {
    const par::Comm c = world_with_messages(bytes);
    auto reducer = par::make_allreducer("mpi", c);
    ASSERT_EQ(reducer->name(), "mpi");
    std::vector<float> grads(1000);
    std::iota(grads.begin(), grads.end(), float(world().rank()));
    reducer->sum(grads.data(), grads.size());
    const int n = world().size();
    for (int i = 0; i < 1000; ++i) ASSERT_FLOAT_EQ(grads[i], float(n * i + n * (n - 1) / 2)) << bytes;

    std::vector<double> bucket_a(257, 1.0), bucket_b(513, 2.0);
    auto pending_a = reducer->start_sum(bucket_a.data(), bucket_a.size(), par::ReduceType::float64);
    auto pending_b = reducer->start_sum(bucket_b.data(), bucket_b.size(), par::ReduceType::float64);
    pending_b->wait();
    pending_a->wait();
    EXPECT_EQ(bucket_a, std::vector<double>(257, n * 1.0)) << bytes;
    EXPECT_EQ(bucket_b, std::vector<double>(513, n * 2.0)) << bytes;
  }
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
