// GoogleTest main for every test executable: initialises MPI (tests run
// under mpiexec at 1, 2 and 3 ranks) and lets only rank 0 print results,
// while a failure on any rank fails the test process on every rank.
#include <gtest/gtest.h>

#include "phenoscale/par/environment.hpp"

int main(int argc, char** argv) {
  phenoscale::par::Environment environment(argc, argv);
  ::testing::InitGoogleTest(&argc, argv);
  auto& listeners = ::testing::UnitTest::GetInstance()->listeners();
  if (environment.world().rank() != 0) delete listeners.Release(listeners.default_result_printer());
  const int local = RUN_ALL_TESTS();
  // Any rank failing fails everywhere, so ctest sees one verdict.
  const int global = environment.world().allreduce_max(local);
  if (local != 0 && environment.world().rank() != 0) {
    std::fprintf(stderr, "[rank %d] had failing tests\n", environment.world().rank());
  }
  return global;
}
