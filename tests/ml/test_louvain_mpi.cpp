// Community detection at 1, 2 and 3 ranks: the analytic two-triangle graph
// (Q = 5/14), planted Gaussian blobs recovered (ARI >= 0.95), modularity
// within 1% of igraph's multilevel and of the size-1 run, and our
// modularity equal to igraph_modularity on the same partition (1e-10).
// Leiden: a planted badly connected community that one-rank Louvain leaves
// disconnected is split (leidenalg's partition), every community connected,
// isolated vertices alone, k >= N rejected by the kNN search. min_size:
// a planted small community joins its best-connected neighbour.
#include <gtest/gtest.h>

#include <cmath>
#include <functional>
#include <map>
#include <numeric>
#include <set>
#include <tuple>

#include "phenoscale/core/error.hpp"
#include "phenoscale/core/rng.hpp"
#include "phenoscale/ml/graph.hpp"
#include "phenoscale/ml/knn.hpp"
#include "phenoscale/ml/louvain.hpp"
#include "phenoscale/ml/matrix.hpp"
#include "test_support.hpp"

using namespace phenoscale;
using phenoscale::testing::world;

namespace {

// Two triangles {0,1,2}, {3,4,5} joined by the edge 2–3; rank 0 supplies
// every arc, the exchange delivers them to their owners.
ml::DistGraph two_triangles(const par::Comm& comm) {
  std::vector<std::int64_t> s, t;
  std::vector<double> w;
  if (comm.is_root()) {
    const std::int64_t edges[][2] = {{0, 1}, {1, 2}, {0, 2}, {3, 4}, {4, 5}, {3, 5}, {2, 3}};
    for (const auto& e : edges) {
      s.insert(s.end(), {e[0], e[1]});
      t.insert(t.end(), {e[1], e[0]});
      w.insert(w.end(), {1.0, 1.0});
    }
  }
  return ml::graph_from_arcs(6, s, t, w, ml::Duplicates::sum, comm);
}

// 10 well-separated Gaussian blobs of 100 points in 10-D; blob of point i = i % 10.
constexpr std::uint64_t Blobs = 10, PerBlob = 100, N = Blobs * PerBlob, D = 10;
std::vector<float> blob_rows() {
  std::vector<double> centres(Blobs * D);
  for (std::uint64_t b = 0; b < Blobs; ++b) {
    core::Rng rng(3, core::Stream::init, b);
    for (std::uint64_t j = 0; j < D; ++j) centres[b * D + j] = rng.normal(0.0, 10.0);
  }
  std::vector<float> all(N * D);
  for (std::uint64_t i = 0; i < N; ++i) {
    core::Rng rng(3, core::Stream::test, i);
    for (std::uint64_t j = 0; j < D; ++j) all[i * D + j] = static_cast<float>(rng.normal(centres[(i % Blobs) * D + j], 1.0));
  }
  return all;
}

ml::DistGraph blob_graph(const par::Comm& comm) {
  return ml::symmetrise(ml::exact_knn(ml::shard_rows(blob_rows(), D, comm), 15, comm), {}, comm);
}


std::vector<std::int64_t> planted() {
  std::vector<std::int64_t> l(N);
  for (std::uint64_t i = 0; i < N; ++i) l[i] = static_cast<std::int64_t>(i % Blobs);
  return l;
}

ml::Communities run(const ml::DistGraph& g, const std::string& method, const par::Comm& comm) {
  ml::CommunityOptions o;
  o.method = method;
  return ml::detect_communities(g, o, comm);
}

TEST(Louvain, TwoTrianglesAnalytic) {
  const auto g = two_triangles(world());
  for (const std::string method : {"louvain", "leiden", "igraph-louvain", "igraph-leiden"}) {
    const auto c = run(g, method, world());
    EXPECT_EQ(c.count, 2u) << method;
    EXPECT_NEAR(c.modularity, 5.0 / 14.0, 1e-12) << method;
    const auto all = ml::gather_values(c.labels, world());
    EXPECT_EQ(all[0], all[1]);
    EXPECT_EQ(all[1], all[2]);
    EXPECT_EQ(all[3], all[4]);
    EXPECT_EQ(all[4], all[5]);
    EXPECT_NE(all[0], all[3]);
    EXPECT_EQ(all[0], 0);  // equal sizes: the community of the lower vertex ids comes first
  }
}

TEST(Louvain, ModularityMatchesIgraph) {
  const auto g = blob_graph(world());
  // A partition with no structure, the planted one, and a coarse merge of it.
  std::vector<std::int64_t> random(g.local_vertices()), blob(g.local_vertices()), halves(g.local_vertices());
  for (std::uint64_t v = 0; v < g.local_vertices(); ++v) {
    const std::uint64_t i = g.first_vertex + v;
    core::Rng rng(4, core::Stream::test, i);
    random[v] = static_cast<std::int64_t>(rng.below(7)) * 1000 - 3000;  // arbitrary ids, some negative
    blob[v] = static_cast<std::int64_t>(i % Blobs);
    halves[v] = blob[v] < 5 ? 0 : 1;
  }
  for (const auto* labels : {&random, &blob, &halves}) {
    const double ours = ml::modularity(g, *labels, 1.0, world());
    const double reference = ml::igraph_modularity(g, *labels, 1.0, world());
    EXPECT_NEAR(ours, reference, 1e-10);
    EXPECT_NEAR(ml::modularity(g, *labels, 0.5, world()), ml::igraph_modularity(g, *labels, 0.5, world()), 1e-10);
  }
}

TEST(Louvain, RecoversPlantedBlobs) {
  const auto g = blob_graph(world());
  const auto ours = run(g, "louvain", world());
  const auto labels = ml::gather_values(ours.labels, world());
  EXPECT_GE(phenoscale::testing::adjusted_rand(labels, planted()), 0.95);
  EXPECT_EQ(ours.count, Blobs);
  EXPECT_NEAR(ours.modularity, ml::igraph_modularity(g, ours.labels, 1.0, world()), 1e-10);
  // Labels are 0.. by decreasing size.
  std::vector<std::int64_t> sizes(ours.count, 0);
  for (auto l : labels) ++sizes.at(l);
  EXPECT_TRUE(std::is_sorted(sizes.rbegin(), sizes.rend()));

  const auto igraph = run(g, "igraph-louvain", world());
  EXPECT_NEAR(ours.modularity, igraph.modularity, 0.01 * igraph.modularity);

  // The same graph on one rank (each rank alone): modularity within 1%.
  const par::Comm alone = world().split(world().rank(), 0);
  const auto single = run(blob_graph(alone), "louvain", alone);
  EXPECT_NEAR(ours.modularity, single.modularity, 0.01 * single.modularity);
}

TEST(Louvain, IgraphReferenceMethodsRecoverBlobs) {
  const auto g = blob_graph(world());
  for (const std::string method : {"igraph-louvain", "igraph-leiden", "igraph-infomap"}) {
    const auto c = run(g, method, world());
    EXPECT_GE(phenoscale::testing::adjusted_rand(ml::gather_values(c.labels, world()), planted()), 0.95) << method;
    EXPECT_EQ(c.method, method);
  }
}

TEST(Louvain, UnknownMethodIsAConfigError) {
  const auto g = two_triangles(world());
  EXPECT_THROW(run(g, "walktrap", world()), ConfigError);
  const auto names = ml::community_methods();
  EXPECT_EQ(names, (std::vector<std::string>{"louvain", "leiden", "igraph-louvain", "igraph-leiden", "igraph-infomap",
                                             "spectral"}));
}

TEST(Louvain, GraphWithoutEdgesKeepsSingletons) {
  const auto g = ml::graph_from_arcs(5, {}, {}, {}, ml::Duplicates::sum, world());
  const auto c = run(g, "louvain", world());
  EXPECT_EQ(c.count, 5u);
  EXPECT_EQ(c.modularity, 0.0);
}

}  // namespace

namespace {

ml::DistGraph from_edges(std::uint64_t n, const std::vector<std::tuple<std::int64_t, std::int64_t, double>>& edges,
                         const par::Comm& comm) {
  std::vector<std::int64_t> s, t;
  std::vector<double> w;
  if (comm.is_root()) {
    for (const auto& [u, v, weight] : edges) {
      s.insert(s.end(), {u, v});
      t.insert(t.end(), {v, u});
      w.insert(w.end(), {weight, weight});
    }
  }
  return ml::graph_from_arcs(n, s, t, w, ml::Duplicates::sum, comm);
}

// How many communities of the labels induce a disconnected subgraph (BFS by
// union-find over the gathered intra-community edges).
int disconnected(const ml::DistGraph& g, const std::vector<std::int64_t>& local_labels, const par::Comm& comm) {
  const auto edges = ml::gather_edges(g, comm);
  const auto labels = ml::gather_values(local_labels, comm);
  std::vector<std::int64_t> parent(labels.size());
  std::iota(parent.begin(), parent.end(), 0);
  std::function<std::int64_t(std::int64_t)> find = [&](std::int64_t x) {
    return parent[x] == x ? x : parent[x] = find(parent[x]);
  };
  for (std::size_t e = 0; e < edges.from.size(); ++e) {
    if (labels[edges.from[e]] == labels[edges.to[e]]) parent[find(edges.from[e])] = find(edges.to[e]);
  }
  std::map<std::int64_t, std::set<std::int64_t>> components;
  for (std::size_t v = 0; v < labels.size(); ++v) components[labels[v]].insert(find(v));
  int bad = 0;
  for (const auto& c : components) bad += c.second.size() > 1 ? 1 : 0;
  return bad;
}

// A planted badly connected community (Traag et al. 2019, Fig. 2): bridge b = 0
// joins the pairs X = {1, 2} and Y = {3, 4} (weight 2 each) and the loose
// group Z = {5..14} (weight 0.5 inside, 3 to b). One-rank Louvain first puts
// X, b, Y together; once Z has formed, b moves to it and leaves X ∪ Y one
// disconnected community. leidenalg (seeds 0-4) and igraph's multilevel both
// find {b} ∪ Z, X, Y with Q = 0.050176.
ml::DistGraph bridge(const par::Comm& comm) {
  std::vector<std::tuple<std::int64_t, std::int64_t, double>> e = {{1, 2, 1.0}, {3, 4, 1.0}};
  for (std::int64_t v = 1; v <= 4; ++v) e.push_back({0, v, 2.0});
  for (std::int64_t u = 5; u < 15; ++u) {
    e.push_back({0, u, 3.0});
    for (std::int64_t v = u + 1; v < 15; ++v) e.push_back({u, v, 0.5});
  }
  return from_edges(15, e, comm);
}

TEST(Leiden, PlantedBadlyConnectedCommunityIsSplit) {
  // On one rank (each rank alone), where the sequential local moving plants
  // the flaw: Louvain's X ∪ Y is disconnected, Leiden finds leidenalg's partition.
  const par::Comm alone = world().split(world().rank(), 0);
  const auto g1 = bridge(alone);
  const auto louvain = run(g1, "louvain", alone);
  EXPECT_EQ(disconnected(g1, louvain.labels, alone), 1);
  const auto leiden = run(g1, "leiden", alone);
  EXPECT_EQ(disconnected(g1, leiden.labels, alone), 0);
  EXPECT_GT(leiden.modularity, louvain.modularity);
  EXPECT_NEAR(leiden.modularity, 0.050176, 1e-9);
  const auto& l = leiden.labels;
  EXPECT_EQ(l[1], l[2]);
  EXPECT_EQ(l[3], l[4]);
  EXPECT_NE(l[1], l[3]);
  for (int v = 5; v < 15; ++v) EXPECT_EQ(l[v], l[0]);
  // Distributed: local moving goes colour by colour (no two vertices joined
  // across ranks move at once); without that, the concurrent sweep merged all
  // 15 vertices at 2 and 3 ranks (Q = 0). Now the same partition at any rank
  // count, within leidenalg's quality.
  const auto g = bridge(world());
  const auto distributed = run(g, "leiden", world());
  EXPECT_EQ(disconnected(g, distributed.labels, world()), 0);
  EXPECT_NEAR(distributed.modularity, 0.050176, 1e-9) << "at " << world().size() << " ranks";
}

TEST(Leiden, OutOfLevelsSplitsIntoComponents) {
  // One level: no refinement; the local-moving communities (X ∪ Y without its
  // bridge on one rank) are split into connected components instead.
  ml::CommunityOptions o;
  o.method = "leiden";
  o.max_levels = 1;
  const par::Comm alone = world().split(world().rank(), 0);
  const auto g1 = bridge(alone);
  const auto one = ml::detect_communities(g1, o, alone);
  EXPECT_EQ(disconnected(g1, one.labels, alone), 0);
  EXPECT_EQ(one.count, 3u);
  EXPECT_NEAR(one.modularity, 0.050176, 1e-9);
  const auto g = bridge(world());
  EXPECT_EQ(disconnected(g, ml::detect_communities(g, o, world()).labels, world()), 0);
}

TEST(Leiden, RecoversPlantedBlobsConnected) {
  const auto g = blob_graph(world());
  const auto leiden = run(g, "leiden", world());
  const auto louvain = run(g, "louvain", world());
  EXPECT_EQ(leiden.method, "leiden");
  EXPECT_GE(phenoscale::testing::adjusted_rand(ml::gather_values(leiden.labels, world()), planted()), 0.95);
  EXPECT_EQ(leiden.count, Blobs);
  EXPECT_EQ(disconnected(g, leiden.labels, world()), 0);
  EXPECT_GE(leiden.modularity, louvain.modularity - 1e-12);
  EXPECT_NEAR(leiden.modularity, ml::igraph_modularity(g, leiden.labels, 1.0, world()), 1e-10);
  // Level counters: level 0 is the input graph, each level coarser, ghosts only with peers.
  ASSERT_GE(leiden.level_stats.size(), static_cast<std::size_t>(leiden.levels));
  EXPECT_EQ(leiden.level_stats[0].vertices, N);
  EXPECT_EQ(world().allreduce_sum(leiden.level_stats[0].local_vertices), N);
  EXPECT_EQ(world().allreduce_sum(leiden.level_stats[0].local_arcs), world().allreduce_sum(g.targets.size()));
  EXPECT_EQ(world().allreduce_sum(leiden.level_stats[0].ghosts) > 0, world().size() > 1);
  for (std::size_t i = 0; i < leiden.level_stats.size(); ++i) {
    EXPECT_GE(leiden.level_stats[i].sweeps, 1);
    if (i > 0) {
      EXPECT_LT(leiden.level_stats[i].vertices, leiden.level_stats[i - 1].vertices);
    }
  }
  // Local moving depends on the rank count (the refinement does not): the
  // one-rank run of the same graph within 1%.
  const par::Comm alone = world().split(world().rank(), 0);
  const auto single = run(blob_graph(alone), "leiden", alone);
  EXPECT_NEAR(leiden.modularity, single.modularity, 0.01 * single.modularity);
}

TEST(Leiden, IsolatedVerticesStayAlone) {
  // The two triangles plus isolated vertices 6, 7, 8: Q is still 5/14.
  std::vector<std::tuple<std::int64_t, std::int64_t, double>> e;
  for (const auto& [u, v] : std::vector<std::pair<int, int>>{{0, 1}, {1, 2}, {0, 2}, {3, 4}, {4, 5}, {3, 5}, {2, 3}}) {
    e.push_back({u, v, 1.0});
  }
  const auto g = from_edges(9, e, world());
  for (const std::string method : {"leiden", "louvain"}) {
    const auto c = run(g, method, world());
    EXPECT_EQ(c.count, 5u) << method;
    EXPECT_NEAR(c.modularity, 5.0 / 14.0, 1e-12) << method;
    const auto l = ml::gather_values(c.labels, world());
    EXPECT_EQ(std::set<std::int64_t>({l[0], l[3], l[6], l[7], l[8]}).size(), 5u) << method;
  }
  const auto none = run(ml::graph_from_arcs(5, {}, {}, {}, ml::Duplicates::sum, world()), "leiden", world());
  EXPECT_EQ(none.count, 5u);
  EXPECT_EQ(none.modularity, 0.0);
}

// CommunityOptions::min_size (PhenoGraph's min_cluster_size, Seurat's
// group.singletons). Cliques A = {0..5} and B = {6..11} (weight 1) and a
// tight triple S = {12, 13, 14} (weight 5 inside) that every method keeps
// apart: 12 has 0.2 into A; 13 has 0.2 into B and 0.1 into A; 14 has no edge
// out of S. With min_size 4, 12 joins A and 13 joins B in the first round;
// 14 then has weight 5 into each, a tie that goes to the lower label (A:
// equal sizes, lower ids). So A ∪ {12, 14} and B ∪ {13}; the reported
// modularity is the merged partition's.
TEST(MinSize, SmallCommunityJoinsBestConnectedNeighbour) {
  std::vector<std::tuple<std::int64_t, std::int64_t, double>> e;
  for (std::int64_t base : {0, 6})
    for (std::int64_t u = base; u < base + 6; ++u)
      for (std::int64_t v = u + 1; v < base + 6; ++v) e.push_back({u, v, 1.0});
  e.insert(e.end(), {{12, 13, 5.0}, {12, 14, 5.0}, {13, 14, 5.0}, {12, 0, 0.2}, {13, 6, 0.2}, {13, 1, 0.1}});
  const auto g = from_edges(15, e, world());
  for (const std::string method : {"louvain", "igraph-louvain", "igraph-infomap"}) {
    ml::CommunityOptions o;
    o.method = method;
    const auto kept = ml::detect_communities(g, o, world());
    ASSERT_EQ(kept.count, 3u) << method;  // the fixture's premise: S is its own community
    EXPECT_EQ(kept.merged, 0u) << method;
    o.min_size = 4;
    const auto merged = ml::detect_communities(g, o, world());
    EXPECT_EQ(merged.count, 2u) << method;
    EXPECT_EQ(merged.merged, 1u) << method;
    const auto l = ml::gather_values(merged.labels, world());
    const std::vector<std::int64_t> expected = {0, 0, 0, 0, 0, 0, 1, 1, 1, 1, 1, 1, 0, 1, 0};
    EXPECT_EQ(l, expected) << method;
    EXPECT_NEAR(merged.modularity, ml::modularity(g, merged.labels, 1.0, world()), 1e-12) << method;
    EXPECT_LT(merged.modularity, kept.modularity) << method;  // merging is not a modularity move
    o.min_size = 8;  // no community is large enough to join: nothing moves
    EXPECT_EQ(ml::detect_communities(g, o, world()).count, 3u) << method;
  }
  // Isolated vertices have no community to join and stay alone.
  ml::CommunityOptions o;
  o.min_size = 2;
  EXPECT_EQ(ml::detect_communities(ml::graph_from_arcs(5, {}, {}, {}, ml::Duplicates::sum, world()), o, world()).count, 5u);
}

// A deck error agreed by every rank: CollectiveError with the usage exit code.
TEST(Leiden, KAtLeastNIsAConfigError) {
  const auto x = ml::shard_rows(std::vector<float>(8 * 2, 1.0f), 2, world());  // N = 8
  for (const std::uint64_t k : {8u, 20u}) {
    try {
      ml::exact_knn(x, k, world());
      ADD_FAILURE() << "k = " << k;
    } catch (const CollectiveError& e) {
      EXPECT_EQ(e.exit_code(), exit_code::usage) << e.what();
      EXPECT_NE(std::string(e.what()).find("must be in [1, N-1] for N = 8"), std::string::npos) << e.what();
    }
  }
}

}  // namespace
