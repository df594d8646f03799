// Distributed principal component analysis of sharded feature matrices.
//
// Reduces CNN features of subtomograms (tomo paper: PCA before k-means
// subdivision), diffusional fingerprints and protrusion-series embeddings
// (DeepHACKS: PCA before the kNN graph) to a few components. N is large and
// d small (tens to a few thousand), so the fit is two allreduces — the column
// means, then the d × d covariance of the centred rows, both accumulated in
// double — followed by the same symmetric eigendecomposition on every rank
// (identical input, identical result; no broadcast needed).
//
// Conventions, chosen to agree with scikit-learn's PCA: covariance with the
// N − 1 denominator; components sorted by decreasing eigenvalue;
// singular_values = sqrt(explained_variance · (N − 1)); a variance target t in
// (0, 1) keeps the fewest components whose cumulative ratio exceeds t. Sign:
// within each component the loading of largest magnitude is positive (the
// lowest index wins ties) — scikit-learn ≥ 1.5's svd_flip(u_based_decision=False);
// older versions orient by the scores instead, so comparisons across
// versions must allow a sign per component.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "phenoscale/io/hdf5.hpp"
#include "phenoscale/ml/matrix.hpp"
#include "phenoscale/par/comm.hpp"

namespace phenoscale::ml {

struct PcaOptions {
  // Number of components; 0 = choose by variance_target.
  std::uint64_t components = 0;
  // Fraction of the total variance to keep, in (0, 1); used when components == 0.
  double variance_target = 0.95;
};

struct PcaModel {
  std::uint64_t samples = 0;                    // N the model was fitted on
  std::uint64_t features = 0;                   // d
  std::vector<double> mean;                     // d
  std::vector<double> components;               // n × d, row-major, orthonormal rows
  std::vector<double> explained_variance;       // n, eigenvalues of the covariance
  std::vector<double> explained_variance_ratio; // n, of the total variance (all d eigenvalues)
  std::vector<double> singular_values;          // n, of the centred data matrix
  std::uint64_t n_components() const { return explained_variance.size(); }
};

// Collective. Fits the model on all rows of `x`. Throws ConfigError for an
// out-of-range option and InputError for fewer than 2 rows.
PcaModel pca_fit(const ShardedMatrix& x, const PcaOptions& options, const par::Comm& comm);

// Local. Projects this rank's rows: local_rows × n_components, float32 (the
// first_row/global_rows of `x` are kept). Throws InputError on a width mismatch.
ShardedMatrix pca_transform(const PcaModel& model, const ShardedMatrix& x);

// Collective. Writes the model as datasets of `group` ("/pca"): mean [d],
// components [n, d], explained_variance [n], explained_variance_ratio [n],
// singular_values [n] (float64), with attributes samples and features.
void save_pca(io::H5File& file, const PcaModel& model, const std::string& group = "/pca");

// Collective. Reads a model written by save_pca; InputError naming the
// dataset when one is missing or inconsistent.
PcaModel load_pca(const io::H5File& file, const std::string& group = "/pca");

}  // namespace phenoscale::ml
