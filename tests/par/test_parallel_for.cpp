// par::parallel_for: every index runs once on the OpenMP threads, and an
// exception thrown by the body reaches the caller (the lowest index's) instead
// of terminating the process, as one escaping an OpenMP region would.
#include <gtest/gtest.h>
#include <omp.h>

#include <atomic>
#include <stdexcept>
#include <string>
#include <vector>

#include "phenoscale/par/parallel_for.hpp"

using phenoscale::par::parallel_for;

TEST(ParallelFor, RunsEveryIndexOnce) {
  omp_set_num_threads(2);
  for (std::int64_t n : {0, 1, 7, 1000}) {
    std::vector<std::atomic<int>> runs(static_cast<std::size_t>(n));
    parallel_for(n, 3, [&](std::int64_t i) { ++runs[static_cast<std::size_t>(i)]; });
    for (std::int64_t i = 0; i < n; ++i) EXPECT_EQ(runs[static_cast<std::size_t>(i)].load(), 1) << "n=" << n;
  }
}

TEST(ParallelFor, RethrowsTheLowestIndexException) {
  omp_set_num_threads(2);
  std::atomic<int> ran{0};
  try {
    parallel_for(100, 1, [&](std::int64_t i) {
      ++ran;
      if (i == 71 || i == 13) throw std::runtime_error("index " + std::to_string(i));
    });
    FAIL() << "no exception reached the caller";
  } catch (const std::runtime_error& e) {
    EXPECT_EQ(std::string(e.what()), "index 13");
  }
  EXPECT_EQ(ran.load(), 100);  // the other iterations still ran
}
