// Phenotypes across paired experiments (edge/phenotyping.hpp): label clouds
// against hand-computed centroids and radii, the join of partial phenotypes
// on planted 2-D clouds, and the numbering and names of deep phenotypes.
#include <gtest/gtest.h>

#include <cmath>
#include <cstdint>
#include <vector>

#include "phenoscale/edge/phenotyping.hpp"

using namespace phenoscale::edge;
using Labels = std::vector<std::int64_t>;

TEST(LabelClouds, CentroidRadiusAndOwner) {
  // Label 0: (0,0), (2,0), (0,2), (2,2) -> centroid (1,1), every row √2 away.
  // Label 1: (10,0), (14,0) -> centroid (12,0), radius 2. The −1 row is left out.
  const std::vector<float> rows{0, 0, 2, 0, 0, 2, 2, 2, 10, 0, 14, 0, 100, 100};
  const Clouds c = label_clouds(rows, 2, {3, 3, 3, 3, 5, 5, 5}, {0, 0, 0, 0, 1, 1, -1});
  ASSERT_EQ(c.radius.size(), 2u);
  EXPECT_DOUBLE_EQ(c.centroid[0], 1.0);
  EXPECT_DOUBLE_EQ(c.centroid[1], 1.0);
  EXPECT_DOUBLE_EQ(c.centroid[2], 12.0);
  EXPECT_DOUBLE_EQ(c.radius[0], std::sqrt(2.0));
  EXPECT_DOUBLE_EQ(c.radius[1], 2.0);
  EXPECT_EQ(c.count, (std::vector<double>{4, 2}));
  EXPECT_EQ(c.owner, (Labels{3, 5}));
  EXPECT_DOUBLE_EQ(c.distance(0, 1), std::sqrt(121.0 + 1.0));
  EXPECT_FALSE(c.overlap(0, 1));  // √122 ≈ 11.05 > √2 + 2
}

namespace {

// A square of four rows of half-side 0.5 around (x, y): RMS radius √0.5.
void square(std::vector<float>& rows, Labels& group, Labels& coarse, Labels& deep, float x, float y,
            std::int64_t g, std::int64_t p, std::int64_t d) {
  for (float dx : {-0.5f, 0.5f})
    for (float dy : {-0.5f, 0.5f}) {
      rows.insert(rows.end(), {x + dx, y + dy});
      group.push_back(g), coarse.push_back(p), deep.push_back(d);
    }
}

// Phenotype 0 in paired experiments 0 and 1, split into deep 0 at (0,0) and
// deep 1 at (4,0): rows 0..7 experiment 0's, 8..15 experiment 1's.
void split_phenotype_in_both(std::vector<float>& rows, Labels& group, Labels& coarse, Labels& deep) {
  for (std::int64_t g : {0, 1}) {
    square(rows, group, coarse, deep, 0, 0, g, 0, 0);
    square(rows, group, coarse, deep, 4, 0, g, 0, 1);
  }
}

}  // namespace

// Two paired experiments. Phenotype 0 (both experiments) is split into deep
// 0 at (0,0) and deep 1 at (4,0); phenotype 1 (both, left whole) is deep 5 at
// (0,10). Phenotype 2, found in experiment 1 only, lies at (4.5,0): it
// overlaps deep 1 (distance 0.5 ≤ 2·√0.5) and joins it. Phenotype 3
// (experiment 0 only) at (0,10.8) overlaps only phenotype 1, which is whole:
// it stays, renumbered 2. Phenotype 4 (experiment 1 only) far away stays, 3.
TEST(JoinPartialPhenotypes, JoinsTheOverlappedSubClusterOnly) {
  std::vector<float> rows;
  Labels group, coarse, deep;
  split_phenotype_in_both(rows, group, coarse, deep);
  for (std::int64_t g : {0, 1}) square(rows, group, coarse, deep, 0, 10, g, 1, 5);  // rows 16..23
  square(rows, group, coarse, deep, 4.5f, 0, 1, 2, 10);
  square(rows, group, coarse, deep, 0, 10.8f, 0, 3, 15);
  square(rows, group, coarse, deep, 40, 40, 1, 4, 20);
  rows.insert(rows.end(), {4.5f, 0.0f});  // not phenotyped: untouched
  group.push_back(-1), coarse.push_back(-1), deep.push_back(-1);
  const auto joins = join_partial_phenotypes(rows, 2, group, coarse, deep);
  ASSERT_EQ(joins.size(), 1u);
  EXPECT_EQ(joins[0].phenotype, 2);
  EXPECT_EQ(joins[0].deep, 10);
  EXPECT_EQ(joins[0].into_phenotype, 0);
  EXPECT_EQ(joins[0].into_deep, 1);
  EXPECT_NEAR(joins[0].distance, 0.5, 1e-6);
  EXPECT_NEAR(joins[0].gate, 2 * std::sqrt(0.5), 1e-6);
  EXPECT_EQ(joins[0].experiments, (Labels{1}));
  // Rows 24..27 (phenotype 2) are now deep 1 of phenotype 0; 3 -> 2, 4 -> 3.
  for (std::size_t i = 24; i < 28; ++i) EXPECT_EQ(coarse[i], 0) << i;
  for (std::size_t i = 24; i < 28; ++i) EXPECT_EQ(deep[i], 1) << i;
  for (std::size_t i = 28; i < 32; ++i) EXPECT_EQ(coarse[i], 2) << i;
  for (std::size_t i = 32; i < 36; ++i) EXPECT_EQ(coarse[i], 3) << i;
  EXPECT_EQ(coarse[36], -1);
  EXPECT_EQ(deep[36], -1);
  EXPECT_EQ(coarse[16], 1);  // phenotype 1 keeps its number
  // Deep 1 now holds 12 rows, deep 0 eight: 1 is named 0-1, 0 is 0-2.
  const auto names = name_deep_phenotypes(coarse, deep);
  EXPECT_EQ(names[4], "0-1");
  EXPECT_EQ(names[24], "0-1");
  EXPECT_EQ(names[0], "0-2");
  EXPECT_EQ(names[16], "1-1");
  EXPECT_EQ(names[28], "2-1");
  EXPECT_EQ(names[32], "3-1");
  EXPECT_EQ(names[36], "-1");
  EXPECT_EQ(deep[4], 0);
  EXPECT_EQ(deep[0], 1);
  EXPECT_EQ(deep[16], 2);
  EXPECT_EQ(deep[32], 4);
  EXPECT_EQ(deep[36], -1);
}

TEST(JoinPartialPhenotypes, NothingIsPartialInOneExperiment) {
  std::vector<float> rows;
  Labels group, coarse, deep;
  square(rows, group, coarse, deep, 0, 0, 7, 0, 0);
  square(rows, group, coarse, deep, 4, 0, 7, 0, 1);
  square(rows, group, coarse, deep, 4.5f, 0, 7, 1, 5);
  const Labels coarse_before = coarse, deep_before = deep;
  EXPECT_TRUE(join_partial_phenotypes(rows, 2, group, coarse, deep).empty());
  EXPECT_EQ(coarse, coarse_before);
  EXPECT_EQ(deep, deep_before);
}

// Each deep phenotype of a partial phenotype joins on its own: one overlaps a
// sub-cluster and moves, the other overlaps none and stays in its phenotype.
TEST(JoinPartialPhenotypes, DeepPhenotypesOfAPartialOneJoinApart) {
  std::vector<float> rows;
  Labels group, coarse, deep;
  split_phenotype_in_both(rows, group, coarse, deep);
  square(rows, group, coarse, deep, 0.3f, 0, 0, 1, 5);  // -> deep 0
  square(rows, group, coarse, deep, 0, -20, 0, 1, 6);   // stays
  const auto joins = join_partial_phenotypes(rows, 2, group, coarse, deep);
  ASSERT_EQ(joins.size(), 1u);
  EXPECT_EQ(joins[0].deep, 5);
  EXPECT_EQ(joins[0].into_deep, 0);
  for (std::size_t i = 16; i < 20; ++i) EXPECT_EQ(coarse[i], 0) << i;
  for (std::size_t i = 20; i < 24; ++i) EXPECT_EQ(coarse[i], 1) << i;
  for (std::size_t i = 20; i < 24; ++i) EXPECT_EQ(deep[i], 6) << i;
}
