// Spectral methods (PETSc/SLEPc) at 1, 2 and 3 ranks: eigenpairs of the
// normalised adjacency of a 300-point kNN graph against SciPy's eigsh
// (tests/ml/fixtures/make_spectral.py: eigenvalues to 1e-6, principal angles
// below 1e-4 rad), the analytic spectrum of two triangles (a disconnected
// graph: μ = 1 twice, −1/2), the degree-0 error, spectral clustering of
// planted clusters with K from the eigengap (six separated blobs, six
// components; the connected fixture's three blobs: ARI ≥ 0.99) and the same
// eigenpairs (1e-12 / 1e-8) and clusters (exactly) on a one-rank
// communicator (rank-count independence).
#include <gtest/gtest.h>

#include <Eigen/Dense>
#include <cmath>
#include <cstdio>
#include <map>

#include "phenoscale/core/error.hpp"
#include "phenoscale/core/rng.hpp"
#include "phenoscale/io/hdf5.hpp"
#include "phenoscale/io/sample_array.hpp"
#include "phenoscale/ml/graph.hpp"
#include "phenoscale/ml/knn.hpp"
#include "phenoscale/ml/matrix.hpp"
#include "phenoscale/ml/spectral.hpp"
#include "phenoscale/ml/sweep.hpp"
#include "test_support.hpp"

using namespace phenoscale;
using phenoscale::testing::world;

namespace {

std::string fixture() { return phenoscale::testing::source_path("ml/fixtures/spectral.h5"); }

ml::DistGraph fixture_graph(const par::Comm& comm) {
  const auto x = ml::read_matrix({fixture(), "/features"}, comm);
  return ml::symmetrise(ml::exact_knn(x, 10, comm), {}, comm);
}

// All rows of a local rows × cols double matrix, in global order.
Eigen::MatrixXd gather_columns(const std::vector<double>& local, std::uint64_t cols, const par::Comm& comm) {
  const auto all = comm.allgatherv(local);
  Eigen::MatrixXd m(all.size() / cols, cols);
  for (Eigen::Index i = 0; i < m.rows(); ++i) {
    for (Eigen::Index j = 0; j < m.cols(); ++j) m(i, j) = all[i * cols + j];
  }
  return m;
}

// Sines of the principal angles between span(P) and span(Q) (orthonormal
// columns): the singular values of (I − QQᵀ)P, accurate for small angles.
double largest_angle(const Eigen::MatrixXd& p, const Eigen::MatrixXd& q) {
  const Eigen::MatrixXd r = p - q * (q.transpose() * p);
  const double s = Eigen::JacobiSVD<Eigen::MatrixXd>(r).singularValues()(0);
  return std::asin(std::min(1.0, s));
}


// Two triangles {0,1,2}, {3,4,5}, optionally with an isolated vertex 6.
ml::DistGraph two_triangles(const par::Comm& comm, std::uint64_t vertices = 6) {
  std::vector<std::int64_t> s, t;
  std::vector<double> w;
  if (comm.is_root()) {
    const std::int64_t edges[][2] = {{0, 1}, {1, 2}, {0, 2}, {3, 4}, {4, 5}, {3, 5}};
    for (const auto& e : edges) {
      s.insert(s.end(), {e[0], e[1]});
      t.insert(t.end(), {e[1], e[0]});
      w.insert(w.end(), {1.0, 1.0});
    }
  }
  return ml::graph_from_arcs(vertices, s, t, w, ml::Duplicates::sum, comm);
}

// 6 Gaussian blobs of 60 points in 8-D, blob of point i = i % 6; close
// enough (σ 1, centres ~N(0, 3²)) that some kNN edges join blobs.
constexpr std::uint64_t Blobs = 6, PerBlob = 60, N = Blobs * PerBlob, D = 8;
std::vector<float> blob_rows() {
  std::vector<double> centres(Blobs * D);
  for (std::uint64_t b = 0; b < Blobs; ++b) {
    core::Rng rng(5, core::Stream::init, b);
    for (std::uint64_t j = 0; j < D; ++j) centres[b * D + j] = rng.normal(0.0, 3.0);
  }
  std::vector<float> all(N * D);
  for (std::uint64_t i = 0; i < N; ++i) {
    core::Rng rng(5, core::Stream::test, i);
    for (std::uint64_t j = 0; j < D; ++j) {
      all[i * D + j] = static_cast<float>(rng.normal(centres[(i % Blobs) * D + j], 1.0));
    }
  }
  return all;
}

ml::DistGraph blob_graph(const par::Comm& comm) {
  return ml::symmetrise(ml::exact_knn(ml::shard_rows(blob_rows(), D, comm), 15, comm), {}, comm);
}

}  // namespace

TEST(Spectral, GraphIsTheFixtureGraph) {
  const auto edges = ml::gather_edges(fixture_graph(world()), world());
  io::H5File f = io::H5File::open(fixture(), world());
  const auto stored = io::read_samples<std::int64_t>(f, "/edges");
  const auto all = world().allgatherv(stored.data);
  ASSERT_EQ(all.size(), 2 * edges.from.size());
  for (std::size_t e = 0; e < edges.from.size(); ++e) {
    EXPECT_EQ(edges.from[e], all[2 * e]);
    EXPECT_EQ(edges.to[e], all[2 * e + 1]);
  }
}

TEST(Spectral, MatchesScipyEigshOnFixture) {
  const ml::SlepcSession session(world());
  const auto graph = fixture_graph(world());
  ml::SpectralOptions o;
  o.eigenpairs = 8;
  const auto ours = ml::spectral_decomposition(graph, o, world());
  io::H5File f = io::H5File::open(fixture(), world());
  const auto values = io::read_samples<double>(f, "/eigenvalues");
  const auto reference = world().allgatherv(values.data);
  const auto vectors = io::read_samples<double>(f, "/eigenvectors");
  ASSERT_EQ(ours.components, 1u);
  ASSERT_EQ(ours.eigenvalues.size(), reference.size());
  double worst = 0;
  for (std::size_t k = 0; k < reference.size(); ++k) {
    EXPECT_NEAR(ours.eigenvalues[k], reference[k], 1e-6) << k;
    worst = std::max(worst, std::fabs(ours.eigenvalues[k] - reference[k]));
  }
  const auto p = gather_columns(ours.vectors, 8, world());
  const auto q = gather_columns(vectors.data, 8, world());
  if (world().is_root()) {
    std::printf("spectral vs eigsh: max |Δμ| %.2e, largest principal angle %.2e rad, %d restarts\n", worst,
                largest_angle(p, q), ours.iterations);
  }
  // Orthonormal columns, and the same subspaces: the 3 cluster vectors, all 8.
  EXPECT_LT((p.transpose() * p - Eigen::MatrixXd::Identity(8, 8)).cwiseAbs().maxCoeff(), 1e-10);
  EXPECT_LT(largest_angle(p.leftCols(3), q.leftCols(3)), 1e-4);
  EXPECT_LT(largest_angle(p, q), 1e-4);
  // Each eigenvalue here is simple: every vector matches up to sign.
  for (int k = 0; k < 8; ++k) EXPECT_LT(largest_angle(p.col(k), q.col(k)), 1e-4) << k;
  // Sign convention: the largest-magnitude entry is positive.
  for (int k = 0; k < 8; ++k) {
    Eigen::Index at = 0;
    p.col(k).cwiseAbs().maxCoeff(&at);
    EXPECT_GT(p(at, k), 0.0) << k;
  }
}

TEST(Spectral, TwoTrianglesAreTwoComponents) {
  // S of a triangle is (J − I)/2: eigenvalues 1, −1/2, −1/2. Two disjoint
  // triangles: 1 twice (one per component, set exactly), then −1/2.
  const auto graph = two_triangles(world());
  std::uint64_t count = 0;
  const auto labels = ml::connected_components(graph, count, world());
  EXPECT_EQ(count, 2u);
  for (std::uint64_t v = 0; v < graph.local_vertices(); ++v) {
    EXPECT_EQ(labels[v], graph.first_vertex + v < 3 ? 0 : 3);
  }
  ml::SpectralOptions o;
  o.eigenpairs = 3;
  const auto d = ml::spectral_decomposition(graph, o, world());
  EXPECT_EQ(d.components, 2u);
  ASSERT_EQ(d.eigenvalues.size(), 3u);
  EXPECT_EQ(d.eigenvalues[0], 1.0);
  EXPECT_EQ(d.eigenvalues[1], 1.0);
  EXPECT_NEAR(d.eigenvalues[2], -0.5, 1e-10);
  const auto v = gather_columns(d.vectors, 3, world());
  for (int i = 0; i < 6; ++i) {
    EXPECT_NEAR(v(i, 0), i < 3 ? 1 / std::sqrt(3.0) : 0.0, 1e-15);
    EXPECT_NEAR(v(i, 1), i < 3 ? 0.0 : 1 / std::sqrt(3.0), 1e-15);
  }
  // The third vector lies in the −1/2 eigenspace: orthogonal to both components.
  EXPECT_NEAR(v.col(2).head(3).sum(), 0.0, 1e-8);
  EXPECT_NEAR(v.col(2).tail(3).sum(), 0.0, 1e-8);
  EXPECT_EQ(ml::eigengap_clusters(d.eigenvalues, 2), 2u);
}

TEST(Spectral, IsolatedVertexIsAnInputError) {
  const auto graph = two_triangles(world(), 7);
  const auto message = phenoscale::testing::message_of<CollectiveError>(
      [&] { ml::spectral_decomposition(graph, ml::SpectralOptions{2}, world()); });
  EXPECT_NE(message.find("1 of 7 graph vertices have weighted degree 0 (first: vertex 6)"), std::string::npos)
      << message;
}

TEST(Spectral, PetscErrorsBecomeOneAgreedLine) {
  // A tolerance SLEPc rejects: its own message comes back through the
  // session's error handler as one line, on every rank, and PETSc is left
  // finalised (the next test initialises it again).
  ml::SpectralOptions o;
  o.eigenpairs = 4;
  o.tolerance = -5.0;
  const auto graph = fixture_graph(world());
  const auto message = phenoscale::testing::message_of<CollectiveError>(
      [&] { ml::spectral_decomposition(graph, o, world()); });
  EXPECT_NE(message.find("PETSc/SLEPc EPSSetTolerances failed: "), std::string::npos) << message;
  EXPECT_NE(message.find("tol"), std::string::npos) << message;
  EXPECT_EQ(message.find('\n'), std::string::npos) << message;
  if (world().is_root()) std::printf("PETSc error as reported: %s\n", message.c_str());
}

TEST(Spectral, EigengapPicksTheLargestGap) {
  EXPECT_EQ(ml::eigengap_clusters({1.0, 0.99, 0.98, 0.5, 0.45}, 4), 3u);
  EXPECT_EQ(ml::eigengap_clusters({1.0, 0.2, 0.19}, 2), 1u);
  // Only gaps among the first max_clusters + 1 eigenvalues count.
  EXPECT_EQ(ml::eigengap_clusters({1.0, 0.9, 0.85, 0.1}, 2), 1u);
}

TEST(Spectral, ClustersSeparatedBlobs) {
  // Six far-apart blobs: six components of the kNN graph, K = 6 from the
  // eigengap (μ = 1 six times, then a drop).
  const auto graph = blob_graph(world());
  ml::SpectralClusteringOptions o;
  o.max_clusters = 10;
  const auto found = ml::spectral_clustering(graph, o, world());
  EXPECT_EQ(found.clusters, Blobs);
  EXPECT_EQ(found.components, Blobs);
  const auto labels = ml::gather_values(found.labels, world());
  std::vector<std::int64_t> truth(N);
  for (std::uint64_t i = 0; i < N; ++i) truth[i] = static_cast<std::int64_t>(i % Blobs);
  const double ari = phenoscale::testing::adjusted_rand(labels, truth);
  EXPECT_GE(ari, 0.99);
  if (world().is_root()) std::printf("spectral clustering, separated blobs: K = %llu, %llu components, ARI %.4f\n",
                                     static_cast<unsigned long long>(found.clusters),
                                     static_cast<unsigned long long>(found.components), ari);
}

TEST(Spectral, IsACommunityMethodThatSweepsOverK) {
  // communities.method = "spectral" through the method table, and `ml sweep`
  // over the neighbour count K with it: six clusters at every K, ARI 1.
  ml::CommunityOptions o;
  o.method = "spectral";
  const auto found = ml::detect_communities(blob_graph(world()), o, world());
  EXPECT_EQ(found.method, "spectral");
  EXPECT_EQ(found.count, Blobs);
  EXPECT_GT(found.modularity, 0.8);  // six equal components: 1 − 1/6
  const auto x = ml::shard_rows(blob_rows(), D, world());
  std::vector<std::int64_t> truth(x.local_rows);
  for (std::uint64_t i = 0; i < x.local_rows; ++i) truth[i] = static_cast<std::int64_t>((x.first_row + i) % Blobs);
  const auto sweep = ml::sweep_communities(x, {5, 10, 15}, o, {}, truth, world());
  ASSERT_EQ(sweep.points.size(), 3u);
  for (const auto& p : sweep.points) {
    EXPECT_EQ(p.clusters, static_cast<std::int64_t>(Blobs)) << "K = " << p.parameter;
    EXPECT_NEAR(p.adjusted_rand_index, 1.0, 1e-12) << "K = " << p.parameter;
    EXPECT_GT(p.silhouette, 0.5) << "K = " << p.parameter;
  }
}

TEST(Spectral, ClustersConnectedFixtureAtAnyRankCount) {
  const ml::SlepcSession session(world());
  const auto graph = fixture_graph(world());
  ml::SpectralClusteringOptions o;
  o.max_clusters = 10;
  const auto found = ml::spectral_clustering(graph, o, world());
  EXPECT_EQ(found.clusters, 3u);
  EXPECT_EQ(found.components, 1u);
  const auto labels = ml::gather_values(found.labels, world());
  io::H5File f = io::H5File::open(fixture(), world());
  const auto truth_block = io::read_samples<std::int64_t>(f, "/labels_true");
  const auto truth = world().allgatherv(truth_block.data);
  std::vector<std::int64_t> planted, predicted;  // the 270 blob points (background: −1)
  for (std::size_t i = 0; i < truth.size(); ++i) {
    if (truth[i] >= 0) {
      planted.push_back(truth[i]);
      predicted.push_back(labels[i]);
    }
  }
  const double ari = phenoscale::testing::adjusted_rand(predicted, planted);
  EXPECT_GE(ari, 0.99);

  // The same computations on one rank: eigenvalues and sign-fixed vectors
  // agree to the solver's accuracy, the clusters exactly.
  const auto self = world().split(world().rank(), 0);
  ml::SpectralDecomposition ours;
  const auto y = ml::spectral_embedding(graph, 3, {}, world(), &ours);
  EXPECT_EQ(y.cols, 3u);
  const auto all_v = gather_columns(ours.vectors, 4, world());
  if (world().is_root()) {
    const auto one = fixture_graph(self);
    ml::SpectralDecomposition alone;
    ml::spectral_embedding(one, 3, {}, self, &alone);
    ASSERT_EQ(alone.eigenvalues.size(), ours.eigenvalues.size());
    double dmu = 0, dv = 0;
    for (std::size_t k = 0; k < alone.eigenvalues.size(); ++k) {
      dmu = std::max(dmu, std::fabs(alone.eigenvalues[k] - ours.eigenvalues[k]));
    }
    for (Eigen::Index i = 0; i < all_v.rows(); ++i) {
      for (int c = 0; c < 4; ++c) dv = std::max(dv, std::fabs(alone.vectors[i * 4 + c] - all_v(i, c)));
    }
    EXPECT_LT(dmu, 1e-12);
    EXPECT_LT(dv, 1e-8);
    const auto single = ml::spectral_clustering(one, o, self);
    EXPECT_EQ(single.labels, labels);
    std::printf("spectral, connected fixture: K = %llu, ARI %.4f; one rank vs %d: max |Δμ| %.1e, max |Δv| %.1e\n",
                static_cast<unsigned long long>(found.clusters), ari, world().size(), dmu, dv);
  }
}
