// Community detection at 1, 2 and 3 ranks: the analytic two-triangle graph
// (Q = 5/14), planted Gaussian blobs recovered (ARI >= 0.95), modularity
// within 1% of igraph's multilevel and of the size-1 run, and our
// modularity equal to igraph_modularity on the same partition (1e-10).
#include <gtest/gtest.h>

#include <cmath>
#include <map>

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

// Adjusted Rand index of two labelings of the same points (Hubert & Arabie).
double adjusted_rand(const std::vector<std::int64_t>& a, const std::vector<std::int64_t>& b) {
  std::map<std::pair<std::int64_t, std::int64_t>, double> joint;
  std::map<std::int64_t, double> ra, rb;
  for (std::size_t i = 0; i < a.size(); ++i) {
    joint[{a[i], b[i]}] += 1;
    ra[a[i]] += 1;
    rb[b[i]] += 1;
  }
  auto pairs = [](double n) { return n * (n - 1) / 2; };
  double sj = 0, sa = 0, sb = 0;
  for (const auto& j : joint) sj += pairs(j.second);
  for (const auto& x : ra) sa += pairs(x.second);
  for (const auto& x : rb) sb += pairs(x.second);
  const double expected = sa * sb / pairs(double(a.size()));
  return (sj - expected) / (0.5 * (sa + sb) - expected);
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
  for (const std::string method : {"louvain", "igraph-louvain", "igraph-leiden"}) {
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
  EXPECT_GE(adjusted_rand(labels, planted()), 0.95);
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
    EXPECT_GE(adjusted_rand(ml::gather_values(c.labels, world()), planted()), 0.95) << method;
    EXPECT_EQ(c.method, method);
  }
}

TEST(Louvain, UnknownMethodIsAConfigError) {
  const auto g = two_triangles(world());
  EXPECT_THROW(run(g, "walktrap", world()), ConfigError);
  const auto names = ml::community_methods();
  EXPECT_EQ(names, (std::vector<std::string>{"louvain", "igraph-louvain", "igraph-leiden", "igraph-infomap",
                                             "spectral"}));
}

TEST(Louvain, GraphWithoutEdgesKeepsSingletons) {
  const auto g = ml::graph_from_arcs(5, {}, {}, {}, ml::Duplicates::sum, world());
  const auto c = run(g, "louvain", world());
  EXPECT_EQ(c.count, 5u);
  EXPECT_EQ(c.modularity, 0.0);
}

}  // namespace
