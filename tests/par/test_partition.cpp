// Block partitions: cover [0, n) exactly once, sizes differ by at most one,
// ranks beyond n get empty blocks, owner() inverts range().
#include <gtest/gtest.h>

#include "phenoscale/par/partition.hpp"

using phenoscale::par::BlockPartition;

TEST(BlockPartition, CoversEveryIndexOnceWithBalancedSizes) {
  for (std::uint64_t n : {0ull, 1ull, 2ull, 3ull, 7ull, 10ull, 1001ull}) {
    for (int parts : {1, 2, 3, 4, 8}) {
      BlockPartition p(n, parts);
      std::uint64_t next = 0, smallest = n, largest = 0;
      for (int r = 0; r < parts; ++r) {
        const auto range = p.range(r);
        ASSERT_EQ(range.begin, next) << "n=" << n << " parts=" << parts << " r=" << r;
        next = range.end;
        smallest = std::min(smallest, range.size());
        largest = std::max(largest, range.size());
        for (std::uint64_t i = range.begin; i < range.end; ++i) ASSERT_EQ(p.owner(i), r);
      }
      EXPECT_EQ(next, n);
      EXPECT_LE(largest - std::min(smallest, largest), 1u);
    }
  }
}

TEST(BlockPartition, UnevenAndEmptyBlocks) {
  BlockPartition p(10, 3);  // 4, 3, 3
  EXPECT_EQ(p.range(0).size(), 4u);
  EXPECT_EQ(p.range(1).begin, 4u);
  EXPECT_EQ(p.range(2).end, 10u);
  BlockPartition q(2, 3);  // 1, 1, 0
  EXPECT_TRUE(q.range(2).empty());
  EXPECT_EQ(q.range(2).begin, 2u);
  EXPECT_THROW(q.owner(2), std::out_of_range);
  EXPECT_THROW(BlockPartition(5, 0), std::invalid_argument);
}
