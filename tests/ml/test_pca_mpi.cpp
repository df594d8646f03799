// Distributed PCA: against scikit-learn's PCA on a committed fixture
// (tests/ml/fixtures/make_quality.py), against an exactly planted low-rank
// subspace, the same model from a 1-rank sub-communicator (rank-count
// independence), transform and HDF5 save/load.
// Tolerances: principal angles < 1e-4 rad (float64 accumulation: in practice
// ~1e-12), explained variance 1e-8 relative, rank-count independence 1e-12
// relative on variances and 1e-10 on components (eigenvector rounding
// ~ eps·λ_max / eigengap).
#include <gtest/gtest.h>
#include <unistd.h>

#include <Eigen/Dense>
#include <cmath>
#include <cstdlib>
#include <filesystem>

#include "phenoscale/core/error.hpp"
#include "phenoscale/core/rng.hpp"
#include "phenoscale/io/hdf5.hpp"
#include "phenoscale/io/sample_array.hpp"
#include "phenoscale/ml/matrix.hpp"
#include "phenoscale/ml/pca.hpp"
#include "test_support.hpp"

using namespace phenoscale;
using phenoscale::testing::world;
namespace fs = std::filesystem;

namespace {

std::string fixture() { return phenoscale::testing::source_path("ml/fixtures/quality.h5"); }

std::string shared_dir() { return phenoscale::testing::shared_temp_dir("phenoscale-pca"); }

std::vector<double> read_all(const std::string& dataset, const par::Comm& comm) {
  io::H5File f = io::H5File::open(fixture(), comm);
  const auto info = f.info(dataset);
  std::vector<std::uint64_t> shape(info.shape.begin() + 1, info.shape.end());
  return io::read_sample_rows<double>(f, dataset, {0, info.shape[0]}, {shape, true}).data;
}

// Largest principal angle between the row spaces of a (k × d) and b (k × d),
// orthonormal rows: asin of the largest singular value of (I − AᵀA) Bᵀ —
// accurate for small angles, unlike acos of the cosines.
double largest_principal_angle(const std::vector<double>& a, const std::vector<double>& b, std::uint64_t k,
                               std::uint64_t d) {
  using M = Eigen::Matrix<double, Eigen::Dynamic, Eigen::Dynamic, Eigen::RowMajor>;
  const Eigen::Map<const M> A(a.data(), k, d), B(b.data(), k, d);
  const Eigen::MatrixXd residual = B.transpose() - A.transpose() * (A * B.transpose());
  const double s = Eigen::JacobiSVD<Eigen::MatrixXd>(residual).singularValues()(0);
  return std::asin(std::min(1.0, s));
}

ml::ShardedMatrix fixture_features(const par::Comm& comm) { return ml::read_matrix({fixture(), "/features"}, comm); }

TEST(Pca, MatchesScikitLearnOnFixture) {
  const auto x = fixture_features(world());
  const auto model = ml::pca_fit(x, {5, 0.95}, world());
  ASSERT_EQ(model.n_components(), 5u);
  ASSERT_EQ(model.features, 10u);
  const auto variance = read_all("/pca/explained_variance", world());
  const auto ratio = read_all("/pca/explained_variance_ratio", world());
  const auto singular = read_all("/pca/singular_values", world());
  const auto mean = read_all("/pca/mean", world());
  const auto components = read_all("/pca/components", world());
  for (std::size_t k = 0; k < 5; ++k) {
    EXPECT_NEAR(model.explained_variance[k], variance[k], 1e-8 * variance[k]) << k;
    EXPECT_NEAR(model.explained_variance_ratio[k], ratio[k], 1e-8 * ratio[k]) << k;
    EXPECT_NEAR(model.singular_values[k], singular[k], 1e-8 * singular[k]) << k;
  }
  for (std::size_t j = 0; j < 10; ++j) EXPECT_NEAR(model.mean[j], mean[j], 1e-10);
  EXPECT_LT(largest_principal_angle(model.components, components, 5, 10), 1e-4);
  // The fixture applies the same sign convention, so components agree entrywise.
  for (std::size_t i = 0; i < components.size(); ++i) EXPECT_NEAR(model.components[i], components[i], 1e-6) << i;
  // The 3 leading components span the planted subspace up to the 0.05 noise.
  const auto basis = read_all("/planted_basis", world());  // d × 3
  std::vector<double> planted(3 * 10);
  for (std::size_t r = 0; r < 3; ++r) {
    for (std::size_t j = 0; j < 10; ++j) planted[r * 10 + j] = basis[j * 3 + r];
  }
  std::vector<double> leading(model.components.begin(), model.components.begin() + 30);
  EXPECT_LT(largest_principal_angle(leading, planted, 3, 10), 0.02);
}

// Rows with an exactly rank-3 centred structure in R^8: x_i = m + Σ z_ik u_k.
std::vector<float> planted_rows(std::uint64_t n, std::vector<double>& basis_rows) {
  const std::uint64_t d = 8, r = 3;
  Eigen::MatrixXd g(d, r);
  core::Rng basis_rng(11, core::Stream::test, 1u << 30);
  for (Eigen::Index i = 0; i < g.size(); ++i) g.data()[i] = basis_rng.normal();
  const Eigen::MatrixXd q = Eigen::HouseholderQR<Eigen::MatrixXd>(g).householderQ() * Eigen::MatrixXd::Identity(d, r);
  basis_rows.assign(r * d, 0.0);
  for (std::uint64_t k = 0; k < r; ++k) {
    for (std::uint64_t j = 0; j < d; ++j) basis_rows[k * d + j] = q(j, k);
  }
  std::vector<float> rows(n * d);
  const double scale[3] = {5.0, 3.0, 1.0};
  for (std::uint64_t i = 0; i < n; ++i) {
    core::Rng rng(11, core::Stream::test, i);
    Eigen::VectorXd v = Eigen::VectorXd::Constant(d, 1.5);
    for (std::uint64_t k = 0; k < r; ++k) v += scale[k] * rng.normal() * q.col(k);
    for (std::uint64_t j = 0; j < d; ++j) rows[i * d + j] = static_cast<float>(v(j));
  }
  return rows;
}

TEST(Pca, RecoversPlantedSubspaceAndVarianceTarget) {
  std::vector<double> basis;
  const auto x = ml::shard_rows(planted_rows(3000, basis), 8, world());
  const auto model = ml::pca_fit(x, {0, 0.999}, world());
  ASSERT_EQ(model.n_components(), 3u);  // the rest is float32 rounding
  EXPECT_LT(largest_principal_angle(model.components, basis, 3, 8), 1e-4);
  double kept = 0.0;
  for (double r : model.explained_variance_ratio) kept += r;
  EXPECT_GT(kept, 1.0 - 1e-9);
  // Variances near the planted 25, 9, 1 (sampling error ~ λ·sqrt(2/N)).
  EXPECT_NEAR(model.explained_variance[0], 25.0, 25.0 * 0.1);
  EXPECT_NEAR(model.explained_variance[1], 9.0, 9.0 * 0.1);
  EXPECT_NEAR(model.explained_variance[2], 1.0, 0.1);
  // A lower target keeps fewer components: 25/35 ≈ 0.71 < 0.75 needs two.
  EXPECT_EQ(ml::pca_fit(x, {0, 0.5}, world()).n_components(), 1u);
  EXPECT_EQ(ml::pca_fit(x, {0, 0.75}, world()).n_components(), 2u);
}

TEST(Pca, SameModelOnOneRank) {
  const auto x = fixture_features(world());
  const auto here = ml::pca_fit(x, {6, 0.95}, world());
  const bool member = world().rank() == 0;
  par::Comm sub = world().split(member ? 0 : 1, world().rank());
  if (!member) return;
  const auto alone = ml::pca_fit(fixture_features(sub), {6, 0.95}, sub);
  for (std::size_t k = 0; k < 6; ++k) {
    EXPECT_NEAR(here.explained_variance[k], alone.explained_variance[k], 1e-12 * alone.explained_variance[k]);
  }
  for (std::size_t i = 0; i < here.components.size(); ++i) {
    EXPECT_NEAR(here.components[i], alone.components[i], 1e-10) << i;
  }
}

TEST(Pca, TransformScoresHaveTheExplainedVariance) {
  const auto x = fixture_features(world());
  const auto model = ml::pca_fit(x, {4, 0.95}, world());
  const auto scores = ml::pca_transform(model, x);
  ASSERT_EQ(scores.cols, 4u);
  ASSERT_EQ(scores.local_rows, x.local_rows);
  ASSERT_EQ(scores.first_row, x.first_row);
  // Scores are centred, uncorrelated, with variance = explained variance.
  std::vector<double> moments(4 + 16, 0.0);
  for (std::uint64_t i = 0; i < scores.local_rows; ++i) {
    for (std::size_t a = 0; a < 4; ++a) {
      moments[a] += scores.row(i)[a];
      for (std::size_t b = 0; b < 4; ++b) moments[4 + a * 4 + b] += double(scores.row(i)[a]) * scores.row(i)[b];
    }
  }
  world().allreduce_sum_inplace(moments);
  const double n = double(x.global_rows);
  for (std::size_t a = 0; a < 4; ++a) {
    EXPECT_NEAR(moments[a] / n, 0.0, 1e-5);
    for (std::size_t b = 0; b < 4; ++b) {
      const double cov = moments[4 + a * 4 + b] / (n - 1);
      const double expected = a == b ? model.explained_variance[a] : 0.0;
      EXPECT_NEAR(cov, expected, 1e-5 * model.explained_variance[0]) << a << "," << b;
    }
  }
  auto narrow = x;
  narrow.cols = 9;
  EXPECT_THROW(ml::pca_transform(model, narrow), InputError);
}

TEST(Pca, SaveLoadRoundTrip) {
  const auto x = fixture_features(world());
  const auto model = ml::pca_fit(x, {3, 0.95}, world());
  const std::string path = shared_dir() + "/model.h5";
  {
    io::H5File f = io::H5File::create(path, world());
    ml::save_pca(f, model);
    f.commit();
  }
  io::H5File f = io::H5File::open(path, world());
  const auto back = ml::load_pca(f);
  EXPECT_EQ(back.samples, model.samples);
  EXPECT_EQ(back.features, model.features);
  EXPECT_EQ(back.mean, model.mean);
  EXPECT_EQ(back.components, model.components);
  EXPECT_EQ(back.explained_variance, model.explained_variance);
  EXPECT_EQ(back.explained_variance_ratio, model.explained_variance_ratio);
  EXPECT_EQ(back.singular_values, model.singular_values);
  EXPECT_THROW(ml::load_pca(f, "/nothing"), InputError);
}

TEST(Pca, RejectsBadOptions) {
  const auto x = fixture_features(world());
  EXPECT_THROW(ml::pca_fit(x, {11, 0.95}, world()), Error);
  EXPECT_THROW(ml::pca_fit(x, {0, 1.0}, world()), Error);
  EXPECT_THROW(ml::pca_fit(x, {0, 0.0}, world()), Error);
}

}  // namespace
