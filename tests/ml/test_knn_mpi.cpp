// Exact kNN and the symmetrised kNN graph at 1, 2 and 3 ranks: neighbour
// lists equal a brute-force search done here (recall 1.0, same distances),
// equal the size-1 run bit for bit, the precomputed-distance path agrees with
// the feature path, and the union graph is symmetric and holds every kNN edge.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <limits>
#include <set>
#include <utility>

#include "phenoscale/core/error.hpp"
#include "phenoscale/core/rng.hpp"
#include "phenoscale/ml/graph.hpp"
#include "phenoscale/ml/knn.hpp"
#include "phenoscale/ml/matrix.hpp"
#include "partial_fixture.hpp"
#include "test_support.hpp"

using namespace phenoscale;
using phenoscale::testing::world;

namespace {

// Row i depends only on i (counter-based RNG), whichever rank holds it.
std::vector<float> gaussian_rows(std::uint64_t n, std::uint64_t d) {
  std::vector<float> all(n * d);
  for (std::uint64_t i = 0; i < n; ++i) {
    core::Rng rng(11, core::Stream::test, i);
    for (std::uint64_t j = 0; j < d; ++j) all[i * d + j] = static_cast<float>(rng.normal());
  }
  return all;
}

// The k nearest of row i by sorting all N distances (double, lower index first on ties).
std::vector<std::pair<double, std::int64_t>> brute_force(const std::vector<float>& all, std::uint64_t n,
                                                         std::uint64_t d, std::uint64_t i, std::uint64_t k) {
  std::vector<std::pair<double, std::int64_t>> all_d;
  for (std::uint64_t j = 0; j < n; ++j) {
    if (j == i) continue;
    double s = 0;
    for (std::uint64_t c = 0; c < d; ++c) {
      const double e = double(all[i * d + c]) - double(all[j * d + c]);
      s += e * e;
    }
    all_d.push_back({s, static_cast<std::int64_t>(j)});
  }
  std::partial_sort(all_d.begin(), all_d.begin() + k, all_d.end());
  all_d.resize(k);
  return all_d;
}

constexpr std::uint64_t N = 2000, D = 15, K = 15;

TEST(Knn, RecallOneAgainstBruteForce) {
  const auto all = gaussian_rows(N, D);
  const auto x = ml::shard_rows(all, D, world());
  const auto r = ml::exact_knn(x, K, world());
  ASSERT_EQ(r.local_rows, x.local_rows);
  ASSERT_EQ(r.first_row, x.first_row);
  std::uint64_t hits = 0;
  for (std::uint64_t i = 0; i < r.local_rows; ++i) {
    const auto expected = brute_force(all, N, D, r.first_row + i, K);
    for (std::uint64_t j = 0; j < K; ++j) {
      hits += r.neighbours_of(i)[j] == expected[j].second ? 1 : 0;
      // Distances are stored as float: equal to the double sqrt rounded once.
      EXPECT_EQ(r.distances_of(i)[j], static_cast<float>(std::sqrt(expected[j].first)));
    }
  }
  EXPECT_EQ(world().allreduce_sum(hits), N * K);  // recall 1.0, same order
}

TEST(Knn, SameNeighboursAtOneRank) {
  const auto all = gaussian_rows(N, D);
  const auto here = ml::exact_knn(ml::shard_rows(all, D, world()), K, world());
  // Each rank repeats the whole search alone and compares its own block.
  const par::Comm alone = world().split(world().rank(), 0);
  const auto single = ml::exact_knn(ml::shard_rows(all, D, alone), K, alone);
  ASSERT_EQ(single.local_rows, N);
  for (std::uint64_t i = 0; i < here.local_rows; ++i) {
    for (std::uint64_t j = 0; j < K; ++j) {
      ASSERT_EQ(here.neighbours_of(i)[j], single.neighbours_of(here.first_row + i)[j]);
      ASSERT_EQ(here.distances_of(i)[j], single.distances_of(here.first_row + i)[j]);
    }
  }
}

TEST(Knn, PrecomputedDistancesGiveTheSameGraph) {
  constexpr std::uint64_t n = 300, d = 4, k = 7;
  const auto all = gaussian_rows(n, d);
  std::vector<float> dist(n * n);
  for (std::uint64_t i = 0; i < n; ++i) {
    for (std::uint64_t j = 0; j < n; ++j) {
      double s = 0;
      for (std::uint64_t c = 0; c < d; ++c) {
        const double e = double(all[i * d + c]) - double(all[j * d + c]);
        s += e * e;
      }
      dist[i * n + j] = static_cast<float>(std::sqrt(s));
    }
  }
  const auto from_features = ml::knn(ml::shard_rows(all, d, world()), k, ml::KnnMetric::euclidean, world());
  const auto from_matrix = ml::knn(ml::shard_rows(dist, n, world()), k, ml::KnnMetric::precomputed, world());
  EXPECT_EQ(from_features.neighbours, from_matrix.neighbours);
  EXPECT_EQ(from_features.distances, from_matrix.distances);
}

// Rows that repeat, as SAX/ACF vectors do: few distinct values on a coarse
// grid, so many exact distance ties between different vectors as well.
std::vector<float> repeated_rows(std::uint64_t n, std::uint64_t d) {
  std::vector<float> all(n * d);
  for (std::uint64_t i = 0; i < n; ++i) {
    core::Rng rng(12, core::Stream::test, i % 37);  // 37 distinct vectors at most
    for (std::uint64_t j = 0; j < d; ++j) all[i * d + j] = static_cast<float>(rng.below(3)) * 0.5f;
  }
  return all;
}

TEST(Knn, DeduplicatedSearchIsTheExactSearchBitForBit) {
  const std::uint64_t n = 400, d = 5;
  const auto all = repeated_rows(n, d);
  const auto x = ml::shard_rows(all, d, world());
  for (std::uint64_t k : {1u, 7u, 30u, 120u}) {
    const auto ring = ml::exact_knn(x, k, world());
    const auto dedup = ml::exact_knn_deduplicated(x, k, world());
    EXPECT_EQ(ring.neighbours, dedup.neighbours) << "k = " << k;
    EXPECT_EQ(ring.distances, dedup.distances) << "k = " << k;
    // And against the brute force done here (ties to the lower index).
    for (std::uint64_t li = 0; li < x.local_rows; li += 17) {
      const auto expected = brute_force(all, n, d, x.first_row + li, k);
      for (std::uint64_t j = 0; j < k; ++j) EXPECT_EQ(dedup.neighbours_of(li)[j], expected[j].second);
    }
  }
}

// nan-euclidean (ml/distance.hpp) against scikit-learn's
// nan_euclidean_distances: the sklearn documentation's example by hand, then
// the fixture's rows with missing trailing coordinates: the deduplicated
// search's distances equal scikit-learn's (float32 rounding), its neighbours
// a brute force over the same distances here, at any rank count.
TEST(Knn, NanEuclideanMatchesScikitLearn) {
  const float nan = std::numeric_limits<float>::quiet_NaN();
  const float a[] = {0.0f, 1.0f}, b[] = {1.0f, nan}, c[] = {3.0f, nan, 5.0f}, e[] = {1.0f, 0.0f, 0.0f};
  EXPECT_NEAR(std::sqrt(ml::nan_squared_distance(a, b, 2)), 1.41421356, 1e-8);
  EXPECT_NEAR(ml::nan_squared_distance(c, e, 3), 1.5 * (4.0 + 25.0), 1e-12);
  const float none[] = {nan, 1.0f}, other[] = {2.0f, nan};
  EXPECT_TRUE(std::isinf(ml::nan_squared_distance(none, other, 2)));

  const std::string path = phenoscale::testing::source_path("ml/fixtures/partial.h5");
  const auto x = phenoscale::testing::read_partial_rows(path, world());
  const auto head = ml::read_matrix({path, "/distances_head"}, world());
  const std::vector<float> all = ml::gather_rows(x, world()), sklearn = ml::gather_rows(head, world());
  const std::uint64_t n = x.global_rows, d = x.cols, k = 9;
  const auto knn = ml::exact_knn_deduplicated(x, k, world(), ml::Distance::nan_euclidean);
  for (std::uint64_t li = 0; li < x.local_rows; ++li) {
    const std::uint64_t i = x.first_row + li;
    std::vector<std::pair<double, std::int64_t>> expected;
    for (std::uint64_t j = 0; j < n; ++j)
      if (j != i) expected.push_back({ml::nan_squared_distance(&all[i * d], &all[j * d], d), std::int64_t(j)});
    std::sort(expected.begin(), expected.end());
    for (std::uint64_t m = 0; m < k; ++m) {
      EXPECT_EQ(knn.neighbours_of(li)[m], expected[m].second) << "row " << i;
      if (i < 20) {
        EXPECT_NEAR(knn.distances_of(li)[m], sklearn[i * n + expected[m].second], 1e-5) << "row " << i;
      }
    }
  }
  // Plain Euclidean refuses the NaN rows with a one-line error.
  try {
    ml::exact_knn_deduplicated(x, k, world());
    ADD_FAILURE() << "NaN rows accepted under euclidean";
  } catch (const InputError& err) {
    EXPECT_NE(std::string(err.what()).find("nan-euclidean"), std::string::npos) << err.what();
  }
}

TEST(Knn, PrefixOfTheLargestKIsTheSmallerSearch) {
  const std::uint64_t n = 300, d = 4;
  const auto x = ml::shard_rows(gaussian_rows(n, d), d, world());
  const auto big = ml::exact_knn(x, 40, world());
  for (std::uint64_t k : {1u, 5u, 40u}) {
    const auto small = ml::exact_knn(x, k, world());
    const auto prefix = ml::nearest_prefix(big, k);
    EXPECT_EQ(small.neighbours, prefix.neighbours);
    EXPECT_EQ(small.distances, prefix.distances);
    EXPECT_EQ(prefix.k, k);
    EXPECT_EQ(prefix.first_row, small.first_row);
    EXPECT_EQ(prefix.local_rows, small.local_rows);
    EXPECT_EQ(prefix.global_rows, n);
    // A prefix holds only its own k columns, not the larger search's allocation.
    if (k < big.k && big.local_rows > 0) {
      EXPECT_LT(prefix.neighbours.capacity(), big.neighbours.size());
    }
  }
  EXPECT_THROW(ml::nearest_prefix(big, 41), ConfigError);
}

// Refused on every rank alike (a CollectiveError, so the CLI prints one line),
// with the exit code of the error behind it: 2 for a bad k, 1 for bad input.
TEST(Knn, RejectsBadK) {
  const auto x = ml::shard_rows(gaussian_rows(10, 3), 3, world());
  const auto refused = [](auto&& call, int code, const std::string& what) {
    try {
      call();
      ADD_FAILURE() << "no error for " << what;
    } catch (const CollectiveError& e) {
      EXPECT_EQ(e.exit_code(), code) << e.what();
      EXPECT_NE(std::string(e.what()).find(what), std::string::npos) << e.what();
    }
  };
  refused([&] { ml::exact_knn(x, 10, world()); }, exit_code::usage, "k = 10 must be in [1, N-1] for N = 10");
  refused([&] { ml::exact_knn(x, 0, world()); }, exit_code::usage, "k = 0 must be in [1, N-1]");
  refused([&] { ml::knn(x, 2, ml::KnnMetric::precomputed, world()); }, exit_code::error,
          "must be N × N, found 10 × 3");
}

TEST(KnnGraph, UnionIsSymmetricAndHoldsEveryKnnEdge) {
  const auto all = gaussian_rows(N, D);
  const auto r = ml::exact_knn(ml::shard_rows(all, D, world()), K, world());
  const auto g = ml::symmetrise(r, {}, world());
  ASSERT_EQ(g.first_vertex, r.first_row);
  ASSERT_EQ(g.local_vertices(), r.local_rows);
  std::vector<std::int64_t> sources, targets;
  for (std::uint64_t v = 0; v < g.local_vertices(); ++v) {
    for (auto e = g.offsets[v]; e < g.offsets[v + 1]; ++e) {
      sources.push_back(static_cast<std::int64_t>(g.first_vertex + v));
      targets.push_back(g.targets[e]);
      EXPECT_EQ(g.weights[e], 1.0);
      if (e > g.offsets[v]) {
        EXPECT_LT(g.targets[e - 1], g.targets[e]);  // sorted, no duplicates
      }
    }
  }
  const auto s = ml::gather_values(sources, world()), t = ml::gather_values(targets, world());
  std::set<std::pair<std::int64_t, std::int64_t>> arcs;
  for (std::size_t e = 0; e < s.size(); ++e) arcs.insert({s[e], t[e]});
  ASSERT_EQ(arcs.size(), s.size());
  std::set<std::pair<std::int64_t, std::int64_t>> expected;
  for (std::uint64_t i = 0; i < N; ++i) {
    for (const auto& nb : brute_force(all, N, D, i, K)) {
      expected.insert({static_cast<std::int64_t>(i), nb.second});
      expected.insert({nb.second, static_cast<std::int64_t>(i)});
    }
  }
  EXPECT_EQ(arcs, expected);
  for (const auto& a : arcs) EXPECT_NE(a.first, a.second);
}

TEST(KnnGraph, GaussianWeightsAreSymmetricSimilarities) {
  const auto all = gaussian_rows(500, 5);
  const auto r = ml::exact_knn(ml::shard_rows(all, 5, world()), 6, world());
  ml::EdgeWeighting w;
  w.gaussian = true;
  w.sigma = 1.5;
  const auto g = ml::symmetrise(r, w, world());
  const auto edges = ml::gather_edges(g, world());
  ASSERT_FALSE(edges.from.empty());
  for (std::size_t e = 0; e < edges.from.size(); ++e) {
    double s = 0;
    for (std::uint64_t c = 0; c < 5; ++c) {
      const double x = double(all[edges.from[e] * 5 + c]) - double(all[edges.to[e] * 5 + c]);
      s += x * x;
    }
    const double d = static_cast<float>(std::sqrt(s));  // distances travel as float
    EXPECT_NEAR(edges.weight[e], std::exp(-d * d / (1.5 * 1.5)), 1e-12);
  }
  w.sigma = 0.0;
  EXPECT_THROW(ml::symmetrise(r, w, world()), ConfigError);
}

}  // namespace
