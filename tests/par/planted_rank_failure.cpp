// A test of the test harness (tests/mpi_test_main.cpp), not of phenoscale:
// the last rank fails an ASSERT and returns while the other ranks enter a
// collective. The harness must abort every rank at once, naming the rank and
// the failure, instead of leaving the others waiting until ctest's timeout.
// Registered by tests/CMakeLists.txt at 2 and 3 ranks; it passes only when
// the harness prints its abort line.
#include <gtest/gtest.h>

#include "test_support.hpp"

namespace {

using phenoscale::testing::world;

TEST(Harness, AFatalFailureOnOneRankAbortsEveryRank) {
  const bool last = world().rank() == world().size() - 1;
  ASSERT_FALSE(last) << "planted failure on the last rank";
  world().barrier();  // the other ranks wait here for the last one
}

}  // namespace
