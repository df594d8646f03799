// The CLI's last-resort vote among failing ranks (par/failure_vote.hpp), at
// 1, 2 and 3 ranks: all ranks failing agree on rank 0's exit code; a rank
// failing alone loses the vote after its grace time instead of waiting.
#include <gtest/gtest.h>

#include <chrono>

#include "phenoscale/par/failure_vote.hpp"
#include "test_support.hpp"

using namespace phenoscale;
using phenoscale::testing::world;

TEST(FailureVote, EveryRankFailingAgreesOnRankZerosCode) {
  par::FailureVote vote(world());
  int code = 10 + world().rank();
  EXPECT_TRUE(vote.everyone_failed(30.0, code));
  EXPECT_EQ(code, 10);
}

TEST(FailureVote, ALoneFailureLosesTheVoteAfterItsGrace) {
  if (world().size() < 2) GTEST_SKIP() << "needs 2 ranks";
  par::FailureVote vote(world());
  const bool last = world().rank() == world().size() - 1;
  if (last) {
    int code = 2;
    const auto t0 = std::chrono::steady_clock::now();
    EXPECT_FALSE(vote.everyone_failed(0.2, code));  // the others have not failed
    const double waited = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    EXPECT_GE(waited, 0.2);
    EXPECT_LT(waited, 5.0);
    EXPECT_EQ(code, 2);
  }
  world().barrier();
  // The CLI aborts after a lost vote; here the other ranks vote late, which
  // completes the open vote so that every rank can go on.
  if (!last) {
    int code = 1;
    EXPECT_TRUE(vote.everyone_failed(30.0, code));
  }
}
