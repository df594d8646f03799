// t-SNE and UMAP on planted Gaussian blobs (separation, kNN preservation,
// reproducibility) and known answers for their parts: the perplexity
// bisection (entropy), Barnes–Hut at θ = 0 against the exact O(N²) sums, the
// UMAP kernel fit, exact kNN with ties, and the embed.max_points refusal.
#include <gtest/gtest.h>
#include <omp.h>

#include <cmath>
#include <cstdio>
#include <cstdlib>

#include "phenoscale/core/error.hpp"
#include "phenoscale/core/rng.hpp"
#include "phenoscale/io/hdf5.hpp"
#include "phenoscale/io/sample_array.hpp"
#include "phenoscale/ml/embedding.hpp"
#include "phenoscale/ml/matrix.hpp"

using namespace phenoscale;
using namespace phenoscale::ml;

namespace {

struct Blobs {
  std::vector<float> x;
  std::vector<int> label;
  std::uint64_t n = 0, d = 0;
};

// `blobs` unit-variance Gaussian clusters in d dimensions whose centres lie
// 12 apart on the coordinate axes: separated by ~8 standard deviations.
Blobs make_blobs(std::uint64_t per_blob, int blobs, std::uint64_t d) {
  Blobs b;
  b.n = per_blob * blobs;
  b.d = d;
  for (std::uint64_t i = 0; i < b.n; ++i) {
    const int c = static_cast<int>(i % blobs);
    core::Rng rng(7, core::Stream::test, i);
    for (std::uint64_t j = 0; j < d; ++j)
      b.x.push_back(static_cast<float>(rng.normal() + (j == static_cast<std::uint64_t>(c) ? 12.0 : 0.0)));
    b.label.push_back(c);
  }
  return b;
}

// Fraction of points whose nearest other point in the embedding has their label.
double nearest_same_label(const std::vector<float>& y, const std::vector<int>& label) {
  const std::uint64_t n = label.size();
  const auto nb = embedding_detail::exact_knn(y.data(), n, 2, 1);
  std::uint64_t same = 0;
  for (std::uint64_t i = 0; i < n; ++i) same += label[nb.index[i]] == label[i];
  return static_cast<double>(same) / static_cast<double>(n);
}

TEST(Tsne, SeparatesBlobsAndPreservesNeighbours) {
  const Blobs b = make_blobs(200, 4, 10);
  TsneOptions o;
  const EmbeddingResult r = tsne(b.x, b.n, b.d, o);
  ASSERT_EQ(r.coordinates.size(), 2 * b.n);
  EXPECT_DOUBLE_EQ(r.learning_rate, 50.0);  // "auto": max(800 / 12 / 4, 50)
  const double separated = nearest_same_label(r.coordinates, b.label);
  const double preserved = knn_preservation(b.x, b.d, r.coordinates, 2, b.n, 15);
  std::printf("t-SNE: nearest neighbour in own blob %.4f, 15-NN preservation %.4f, KL %.4f\n", separated,
              preserved, r.kl_divergence);
  EXPECT_GT(separated, 0.98);
  // Within a blob the points are isotropic noise, so only part of the 15-NN
  // survives; 0.3 is far above chance (15 / 199 ≈ 0.075 within a blob).
  EXPECT_GT(preserved, 0.3);
  // KL: the history holds every 50th iteration; after the exaggeration phase
  // it must decrease and end low.
  ASSERT_EQ(r.kl_history.size(), 20u);
  EXPECT_LT(r.kl_history.back(), r.kl_history[5]);  // iteration 1000 vs 300
  EXPECT_LT(r.kl_history.back(), r.kl_history[4]);  // vs the end of the exaggeration
  EXPECT_LT(r.kl_divergence, 1.5);
  EXPECT_DOUBLE_EQ(r.kl_divergence, r.kl_history.back());
}

TEST(Tsne, SameSeedSameCoordinates) {
  const Blobs b = make_blobs(100, 3, 10);
  TsneOptions o;
  o.iterations = 300;
  o.init = EmbeddingInit::random;
  o.seed = 42;
  const auto r1 = tsne(b.x, b.n, b.d, o);
  // Per-point force sums make the result independent of the thread count too.
  const int threads = omp_get_max_threads();
  omp_set_num_threads(2);
  const auto r2 = tsne(b.x, b.n, b.d, o);
  omp_set_num_threads(threads);
  EXPECT_EQ(r1.coordinates, r2.coordinates);
  o.seed = 43;
  EXPECT_NE(tsne(b.x, b.n, b.d, o).coordinates, r1.coordinates);
}

TEST(Tsne, PerplexityBisectionHitsTheEntropy) {
  const std::uint64_t n = 5, k = 10;
  std::vector<double> sq(n * k);
  for (std::uint64_t i = 0; i < n; ++i)
    for (std::uint64_t m = 0; m < k; ++m) sq[i * k + m] = 0.3 * (i + 1) * (m + 1) + 0.01 * m * m;
  for (double perplexity : {2.0, 5.0, 9.5}) {
    std::vector<double> beta;
    const auto P = embedding_detail::conditional_affinities(sq, n, k, perplexity, &beta);
    for (std::uint64_t i = 0; i < n; ++i) {
      double sum = 0.0, entropy = 0.0;
      for (std::uint64_t m = 0; m < k; ++m) {
        const double p = P[i * k + m];
        sum += p;
        entropy -= p > 0 ? p * std::log(p) : 0.0;
        // The row is the Gibbs distribution at the returned precision.
        EXPECT_NEAR(p / P[i * k], std::exp(-beta[i] * (sq[i * k + m] - sq[i * k])), 1e-12);
      }
      EXPECT_NEAR(sum, 1.0, 1e-12);
      EXPECT_NEAR(entropy, std::log(perplexity), 1e-5) << "row " << i << " perplexity " << perplexity;
    }
  }
  // Two neighbours at squared distances 0 and 1: p = 1 / (1 + e^{-β}) must
  // have entropy log 1.5, i.e. β = log(p / (1 − p)) for the p solving it.
  const auto P = embedding_detail::conditional_affinities({0.0, 1.0}, 1, 2, 1.5);
  const double p = P[0];
  EXPECT_NEAR(-p * std::log(p) - (1 - p) * std::log(1 - p), std::log(1.5), 1e-10);
  EXPECT_GT(p, 0.5);
}

TEST(Tsne, JointAffinitiesMatchScikitLearn) {
  // tests/ml/fixtures/make_embedding.py: scikit-learn's P at perplexity 8 for 80 points in 6-D.
  const char* src = std::getenv("PHENOSCALE_SOURCE_DIR");
  const std::string path = std::string(src ? src : ".") + "/tests/ml/fixtures/embedding_affinities.h5";
  const par::Comm comm(MPI_COMM_WORLD);
  const ShardedMatrix x = read_matrix({path, "/features"}, comm);
  io::H5File in = io::H5File::open(path, comm);
  const auto expected = io::read_samples<double>(in, "/joint_p");
  const std::uint64_t n = x.global_rows, k = 25;
  ASSERT_EQ(expected.data.size(), n * n);
  const auto nb = embedding_detail::exact_knn(x.data.data(), n, x.cols, k);
  std::vector<double> sq(n * k);
  for (std::uint64_t m = 0; m < n * k; ++m) sq[m] = nb.distance[m] * nb.distance[m];
  const auto cond = embedding_detail::conditional_affinities(sq, n, k, in.read_double_attribute("/", "perplexity"));
  std::vector<double> P(n * n, 0.0);
  for (std::uint64_t i = 0; i < n; ++i)
    for (std::uint64_t m = 0; m < k; ++m) {
      P[i * n + nb.index[i * k + m]] += cond[i * k + m] / (2.0 * n);
      P[nb.index[i * k + m] * n + i] += cond[i * k + m] / (2.0 * n);
    }
  // scikit-learn bisects in float32 to an entropy tolerance of 1e-5: agreement
  // to ~1e-5 relative is all that can be asked (measured: max |Δ| / max P below 1e-5).
  double pmax = 0.0, diff = 0.0;
  for (std::uint64_t e = 0; e < n * n; ++e) {
    pmax = std::max(pmax, expected.data[e]);
    diff = std::max(diff, std::abs(P[e] - expected.data[e]));
    ASSERT_EQ(P[e] == 0.0, expected.data[e] == 0.0) << "sparsity pattern differs at " << e;
  }
  std::printf("joint P vs scikit-learn: max |difference| / max P = %.3g\n", diff / pmax);
  EXPECT_LT(diff / pmax, 1e-4);
}

TEST(Tsne, BarnesHutAtThetaZeroIsExact) {
  const std::uint64_t n = 300;
  std::vector<double> y(2 * n);
  for (std::uint64_t i = 0; i < n; ++i) {
    core::Rng rng(3, core::Stream::test, i);
    y[2 * i] = rng.normal() * (i % 3 ? 1.0 : 5.0);
    y[2 * i + 1] = rng.normal();
  }
  // Coincident points share a leaf at the depth limit.
  y[2 * 10] = y[2 * 11];
  y[2 * 10 + 1] = y[2 * 11 + 1];
  const embedding_detail::QuadTree tree(y);
  double zmax_rel = 0.0, z_exact = 0.0, z_tree = 0.0;
  for (std::uint64_t i = 0; i < n; ++i) {
    double ex = 0, ey = 0, ez = 0;
    for (std::uint64_t j = 0; j < n; ++j) {
      if (j == i) continue;
      const double dx = y[2 * i] - y[2 * j], dy = y[2 * i + 1] - y[2 * j + 1];
      const double q = 1.0 / (1.0 + dx * dx + dy * dy);
      ez += q;
      ex += q * q * dx;
      ey += q * q * dy;
    }
    double f[2] = {0, 0};
    const double z = tree.repulsion(i, 0.0, f);
    EXPECT_NEAR(z, ez, 1e-10);
    EXPECT_NEAR(f[0], ex, 1e-10);
    EXPECT_NEAR(f[1], ey, 1e-10);
    double g[2] = {0, 0};
    const double zt = tree.repulsion(i, 0.5, g);
    zmax_rel = std::max(zmax_rel, std::abs(zt - ez) / ez);
    z_exact += ez;
    z_tree += zt;
  }
  // θ = 0.5 is an approximation, but a close one (measured: 2.0 % per point at worst).
  EXPECT_LT(zmax_rel, 0.05);
  EXPECT_LT(std::abs(z_tree - z_exact) / z_exact, 0.01);
}

TEST(Umap, SeparatesBlobsAndPreservesNeighbours) {
  const Blobs b = make_blobs(200, 4, 10);
  UmapOptions o;
  const EmbeddingResult r = umap(b.x, b.n, b.d, o);
  ASSERT_EQ(r.coordinates.size(), 2 * b.n);
  EXPECT_EQ(r.iterations, 500u);
  const double separated = nearest_same_label(r.coordinates, b.label);
  const double preserved = knn_preservation(b.x, b.d, r.coordinates, 2, b.n, 15);
  std::printf("UMAP: nearest neighbour in own blob %.4f, 15-NN preservation %.4f\n", separated, preserved);
  EXPECT_GT(separated, 0.98);
  EXPECT_GT(preserved, 0.25);
  for (float v : r.coordinates) ASSERT_TRUE(std::isfinite(v));
}

TEST(Umap, SameSeedSameCoordinates) {
  const Blobs b = make_blobs(100, 3, 10);
  UmapOptions o;
  o.epochs = 100;
  o.init = EmbeddingInit::random;
  o.seed = 5;
  const auto r1 = umap(b.x, b.n, b.d, o), r2 = umap(b.x, b.n, b.d, o);
  EXPECT_EQ(r1.coordinates, r2.coordinates);
  o.seed = 6;
  EXPECT_NE(umap(b.x, b.n, b.d, o).coordinates, r1.coordinates);
}

TEST(Umap, KernelFitMatchesUmapLearn) {
  // umap-learn's find_ab_params(1.0, 0.1) (scipy curve_fit): a = 1.576943, b = 0.895061.
  double a = 0, b = 0;
  embedding_detail::fit_ab(0.1, 1.0, a, b);
  EXPECT_NEAR(a, 1.576943, 1e-4);
  EXPECT_NEAR(b, 0.895061, 1e-5);
}

TEST(Embedding, ExactKnnBreaksTiesToTheLowerIndex) {
  // Points on a line at 0, 1, 2, ..., with index 5 duplicating index 2.
  std::vector<float> x{0, 1, 2, 3, 4, 2, 6};
  const auto nb = embedding_detail::exact_knn(x.data(), 7, 1, 3);
  // Point 2: the duplicate 5 (distance 0), then 1 and 3 at distance 1: 1 first.
  EXPECT_EQ(nb.index[2 * 3 + 0], 5u);
  EXPECT_EQ(nb.index[2 * 3 + 1], 1u);
  EXPECT_EQ(nb.index[2 * 3 + 2], 3u);
  EXPECT_DOUBLE_EQ(nb.distance[2 * 3 + 0], 0.0);
  // Point 3: 2 and 4 and 5 at distance 1 → 2, 4, 5.
  EXPECT_EQ(nb.index[3 * 3 + 0], 2u);
  EXPECT_EQ(nb.index[3 * 3 + 1], 4u);
  EXPECT_EQ(nb.index[3 * 3 + 2], 5u);
  // An embedding equal to the data (padded to 2-D) preserves every neighbour.
  std::vector<float> y;
  for (float v : x) {
    y.push_back(v);
    y.push_back(0.0f);
  }
  EXPECT_DOUBLE_EQ(knn_preservation(x, 1, y, 2, 7, 3), 1.0);
}

TEST(Embedding, OneFeatureStillUnfoldsIntoTwoDimensions) {
  // Three groups on a line: PCA has no second component, which is drawn at random.
  std::vector<float> x;
  std::vector<int> label;
  for (std::uint64_t i = 0; i < 150; ++i) {
    core::Rng rng(9, core::Stream::test, i);
    label.push_back(static_cast<int>(i % 3));
    x.push_back(static_cast<float>(50.0 * (i % 3) + rng.normal()));
  }
  TsneOptions t;
  t.perplexity = 10;
  t.iterations = 400;
  UmapOptions u;
  u.epochs = 100;
  for (const auto& y : {tsne(x, 150, 1, t).coordinates, umap(x, 150, 1, u).coordinates}) {
    EXPECT_GT(nearest_same_label(y, label), 0.98);
    double lo = y[1], hi = y[1];
    for (std::uint64_t i = 0; i < 150; ++i) {
      lo = std::min<double>(lo, y[2 * i + 1]);
      hi = std::max<double>(hi, y[2 * i + 1]);
    }
    EXPECT_GT(hi - lo, 0.1);
  }
}

TEST(Embedding, RefusesMorePointsThanMaxPoints) {
  const Blobs b = make_blobs(30, 2, 3);
  TsneOptions t;
  t.max_points = 59;
  try {
    tsne(b.x, b.n, b.d, t);
    FAIL() << "no error";
  } catch (const ConfigError& e) {
    const std::string m = e.what();
    EXPECT_NE(m.find("embed.max_points"), std::string::npos) << m;
    EXPECT_NE(m.find("60"), std::string::npos) << m;
    EXPECT_EQ(m.find('\n'), std::string::npos) << m;
  }
  UmapOptions u;
  u.max_points = 59;
  EXPECT_THROW(umap(b.x, b.n, b.d, u), ConfigError);
  u.max_points = 60;
  u.epochs = 10;
  EXPECT_NO_THROW(umap(b.x, b.n, b.d, u));
}

}  // namespace
