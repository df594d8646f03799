// t-SNE and UMAP on planted Gaussian blobs (separation, kNN preservation,
// reproducibility) and known answers for their parts: the perplexity
// bisection (entropy), Barnes–Hut at θ = 0 against the exact O(N²) sums, the
// UMAP kernel fit, exact kNN with ties, and the embed.max_points refusal;
// UMAP in 1 and 3 dimensions and the PCA scores it starts from.
#include <gtest/gtest.h>
#include <omp.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <limits>
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

// Fraction of points whose nearest other point in the embedding (N × dim) has their label.
double nearest_same_label(const std::vector<float>& y, const std::vector<int>& label, std::uint64_t dim = 2) {
  const std::uint64_t n = label.size();
  const auto nb = embedding_detail::exact_knn(y.data(), n, dim, 1);
  std::uint64_t same = 0;
  for (std::uint64_t i = 0; i < n; ++i) same += label[nb.index[i]] == label[i];
  return static_cast<double>(same) / static_cast<double>(n);
}

// Fraction of points nearer to the centroid of their own label (in the
// embedding, N × dim) than to any other label's centroid.
double nearest_centroid_purity(const std::vector<float>& y, const std::vector<int>& label, std::uint64_t dim) {
  const std::uint64_t n = label.size();
  const int labels = *std::max_element(label.begin(), label.end()) + 1;
  std::vector<double> centroid(labels * dim, 0.0), count(labels, 0.0);
  for (std::uint64_t i = 0; i < n; ++i) {
    count[label[i]] += 1;
    for (std::uint64_t c = 0; c < dim; ++c) centroid[label[i] * dim + c] += y[i * dim + c];
  }
  for (int l = 0; l < labels; ++l)
    for (std::uint64_t c = 0; c < dim; ++c) centroid[l * dim + c] /= count[l];
  std::uint64_t pure = 0;
  for (std::uint64_t i = 0; i < n; ++i) {
    int best = 0;
    double best_d2 = std::numeric_limits<double>::infinity();
    for (int l = 0; l < labels; ++l) {
      double d2 = 0.0;
      for (std::uint64_t c = 0; c < dim; ++c) d2 += std::pow(y[i * dim + c] - centroid[l * dim + c], 2);
      if (d2 < best_d2) {
        best_d2 = d2;
        best = l;
      }
    }
    pure += best == label[i];
  }
  return static_cast<double>(pure) / static_cast<double>(n);
}

// Range of column c of an N × dim layout.
// 150 points with one feature: three groups of 50 at 0, 50 and 100 (unit
// noise), so PCA has a single component to start an embedding from.
void three_groups_on_a_line(std::vector<float>& x, std::vector<int>& label) {
  for (std::uint64_t i = 0; i < 150; ++i) {
    core::Rng rng(9, core::Stream::test, i);
    label.push_back(static_cast<int>(i % 3));
    x.push_back(static_cast<float>(50.0 * (i % 3) + rng.normal()));
  }
}

double column_range(const std::vector<float>& y, std::uint64_t dim, std::uint64_t c) {
  double lo = y[c], hi = y[c];
  for (std::uint64_t i = 0; i < y.size() / dim; ++i) {
    lo = std::min<double>(lo, y[i * dim + c]);
    hi = std::max<double>(hi, y[i * dim + c]);
  }
  return hi - lo;
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

TEST(Umap, ThreeComponentsSeparateBlobs) {
  // DeepHACKS's 3-D UMAP: 10 neighbours, min_dist 0.1, on three blobs in 10-D.
  const Blobs b = make_blobs(150, 3, 10);
  for (const EmbeddingInit init : {EmbeddingInit::pca, EmbeddingInit::random, EmbeddingInit::spectral}) {
    UmapOptions o;
    o.n_components = 3;
    o.n_neighbors = 10;
    o.min_dist = 0.1;
    o.init = init;
    o.seed = 11;
    const EmbeddingResult r = umap(b.x, b.n, b.d, o);
    ASSERT_EQ(r.coordinates.size(), 3 * b.n);
    for (float v : r.coordinates) ASSERT_TRUE(std::isfinite(v));
    const double purity = nearest_centroid_purity(r.coordinates, b.label, 3);
    const double separated = nearest_same_label(r.coordinates, b.label, 3);
    const double preserved = knn_preservation(b.x, b.d, r.coordinates, 3, b.n, 10);
    std::printf("3-D UMAP (%s init): nearest-centroid purity %.4f, nearest neighbour in own blob %.4f, "
                "10-NN preservation %.4f\n",
                init == EmbeddingInit::pca ? "pca" : init == EmbeddingInit::random ? "random" : "spectral", purity,
                separated, preserved);
    EXPECT_GE(purity, 0.99);
    EXPECT_GE(separated, 0.99);
    // Isotropic noise within a blob: only part of the 10-NN survives, but far
    // more than chance (10 / 149 ≈ 0.07 within a blob).
    EXPECT_GT(preserved, 0.25);
    // No coordinate collapses: the layout is 3-D, not a plane in 3-D.
    for (std::uint64_t c = 0; c < 3; ++c) EXPECT_GT(column_range(r.coordinates, 3, c), 0.5) << "column " << c;
  }
}

TEST(Umap, SpectralInitialisationOnAConnectedGraph) {
  // Overlapping blobs: one connected fuzzy graph, so the spectral layout is
  // made of solved (not component) eigenvectors; the run is reproducible and
  // keeps the blobs apart as the PCA start does.
  Blobs b = make_blobs(100, 3, 3);
  for (std::uint64_t i = 0; i < b.n; ++i) b.x[i * b.d + b.label[i]] -= 9.0f;  // centres 3 apart, σ 1
  UmapOptions o;
  o.init = EmbeddingInit::spectral;
  o.epochs = 200;
  const auto r1 = umap(b.x, b.n, b.d, o), r2 = umap(b.x, b.n, b.d, o);
  EXPECT_EQ(r1.coordinates, r2.coordinates);
  for (float v : r1.coordinates) ASSERT_TRUE(std::isfinite(v));
  o.init = EmbeddingInit::pca;
  const auto p = umap(b.x, b.n, b.d, o);
  const double spectral = knn_preservation(b.x, b.d, r1.coordinates, 2, b.n, 15);
  const double pca = knn_preservation(b.x, b.d, p.coordinates, 2, b.n, 15);
  std::printf("UMAP on overlapping blobs, 15-NN preservation: spectral init %.4f, pca init %.4f\n", spectral, pca);
  EXPECT_GT(spectral, 0.8 * pca);
  EXPECT_THROW(parse_embedding_init("laplacian", "embed.initialisation"), ConfigError);
  EXPECT_EQ(parse_embedding_init("spectral", "embed.initialisation"), EmbeddingInit::spectral);
}

TEST(Umap, ThreeComponentsSameSeedSameCoordinates) {
  const Blobs b = make_blobs(80, 3, 10);
  UmapOptions o;
  o.n_components = 3;
  o.n_neighbors = 10;
  o.epochs = 100;
  const auto pca1 = umap(b.x, b.n, b.d, o), pca2 = umap(b.x, b.n, b.d, o);
  EXPECT_EQ(pca1.coordinates, pca2.coordinates);
  o.init = EmbeddingInit::random;
  o.seed = 5;
  const auto r1 = umap(b.x, b.n, b.d, o), r2 = umap(b.x, b.n, b.d, o);
  EXPECT_EQ(r1.coordinates, r2.coordinates);
  o.seed = 6;
  EXPECT_NE(umap(b.x, b.n, b.d, o).coordinates, r1.coordinates);
  // More components than the specialised 2 and 3 take the general layout code.
  o.n_components = 5;
  const auto g1 = umap(b.x, b.n, b.d, o), g2 = umap(b.x, b.n, b.d, o);
  ASSERT_EQ(g1.coordinates.size(), 5 * b.n);
  EXPECT_EQ(g1.coordinates, g2.coordinates);
  EXPECT_GE(nearest_centroid_purity(g1.coordinates, b.label, 5), 0.99);
}

TEST(Umap, OneComponent) {
  // Two blobs can be laid out on a line.
  const Blobs b = make_blobs(100, 2, 10);
  for (const EmbeddingInit init : {EmbeddingInit::pca, EmbeddingInit::random}) {
    UmapOptions o;
    o.n_components = 1;
    o.epochs = 200;
    o.init = init;
    const EmbeddingResult r = umap(b.x, b.n, b.d, o);
    ASSERT_EQ(r.coordinates.size(), b.n);
    for (float v : r.coordinates) ASSERT_TRUE(std::isfinite(v));
    EXPECT_GT(column_range(r.coordinates, 1, 0), 0.5);
    const double purity = nearest_centroid_purity(r.coordinates, b.label, 1);
    const double separated = nearest_same_label(r.coordinates, b.label, 1);
    std::printf("1-D UMAP (%s init): nearest-centroid purity %.4f, nearest neighbour in own blob %.4f\n",
                init == EmbeddingInit::pca ? "pca" : "random", purity, separated);
    // The PCA start already orders the blobs along the line. From a random
    // start a point cannot walk around the other blob in one dimension, so a
    // few stay stranded on the wrong side (measured: 4 of 200).
    EXPECT_GE(purity, init == EmbeddingInit::pca ? 0.99 : 0.95);
    EXPECT_GT(separated, 0.98);
    EXPECT_EQ(umap(b.x, b.n, b.d, o).coordinates, r.coordinates);
  }
}

TEST(Umap, MoreComponentsThanFeatures) {
  // One feature, three components: the two without a principal axis are drawn
  // at random, independently, so all three unfold.
  std::vector<float> x;
  std::vector<int> label;
  three_groups_on_a_line(x, label);
  UmapOptions o;
  o.n_components = 3;
  o.epochs = 100;
  const auto y = umap(x, 150, 1, o).coordinates;
  ASSERT_EQ(y.size(), 3u * 150);
  EXPECT_GT(nearest_same_label(y, label, 3), 0.98);
  for (std::uint64_t c = 0; c < 3; ++c) EXPECT_GT(column_range(y, 3, c), 0.1) << "column " << c;
  std::uint64_t equal = 0;
  for (std::uint64_t i = 0; i < 150; ++i) equal += y[3 * i + 1] == y[3 * i + 2];
  EXPECT_LT(equal, 150u);
}

TEST(Umap, RefusesZeroComponents) {
  const Blobs b = make_blobs(20, 2, 3);
  UmapOptions o;
  o.n_components = 0;
  try {
    umap(b.x, b.n, b.d, o);
    FAIL() << "no error";
  } catch (const ConfigError& e) {
    EXPECT_NE(std::string(e.what()).find("n_components"), std::string::npos) << e.what();
  }
}

TEST(Embedding, PcaScoresGeneraliseTheTwoDimensionalOnes) {
  const Blobs b = make_blobs(40, 4, 6);
  const auto two = embedding_detail::pca_scores_2d(b.x.data(), b.n, b.d);
  // UMAP's 2-D initialisation moved from pca_scores_2d to pca_scores: bit for bit the same.
  EXPECT_EQ(embedding_detail::pca_scores(b.x.data(), b.n, b.d, 2), two);
  const std::uint64_t k = 4;
  const auto s = embedding_detail::pca_scores(b.x.data(), b.n, b.d, k);
  ASSERT_EQ(s.size(), k * b.n);
  for (std::uint64_t i = 0; i < b.n; ++i)
    for (std::uint64_t c = 0; c < 2; ++c) EXPECT_EQ(s[k * i + c], two[2 * i + c]);
  // Principal component scores: centred, uncorrelated, variance non-increasing.
  std::vector<double> cov(k * k, 0.0);
  for (std::uint64_t i = 0; i < b.n; ++i)
    for (std::uint64_t p = 0; p < k; ++p)
      for (std::uint64_t q = 0; q < k; ++q) cov[p * k + q] += s[k * i + p] * s[k * i + q] / b.n;
  for (std::uint64_t p = 0; p < k; ++p) {
    double mean = 0.0;
    for (std::uint64_t i = 0; i < b.n; ++i) mean += s[k * i + p] / b.n;
    EXPECT_NEAR(mean, 0.0, 1e-9);
    if (p > 0) {
      EXPECT_LE(cov[p * k + p], cov[(p - 1) * k + p - 1] * (1 + 1e-12));
    }
    for (std::uint64_t q = 0; q < p; ++q) EXPECT_NEAR(cov[p * k + q], 0.0, 1e-8 * cov[0]);
  }
  // More components than features: the extra columns are zero.
  const auto wide = embedding_detail::pca_scores(b.x.data(), b.n, b.d, 8);
  for (std::uint64_t i = 0; i < b.n; ++i)
    for (std::uint64_t c = 6; c < 8; ++c) EXPECT_EQ(wide[8 * i + c], 0.0);
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
  three_groups_on_a_line(x, label);
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
