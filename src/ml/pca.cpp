#include "phenoscale/ml/pca.hpp"

#include <omp.h>

#include <Eigen/Dense>
#include <algorithm>
#include <cmath>

#include "phenoscale/core/error.hpp"
#include "phenoscale/core/log.hpp"
#include "phenoscale/io/sample_array.hpp"
#include "phenoscale/par/agree.hpp"

namespace phenoscale::ml {

using core::cat;

namespace {

using RowMatrix = Eigen::Matrix<double, Eigen::Dynamic, Eigen::Dynamic, Eigen::RowMajor>;
using FloatRows = Eigen::Map<const Eigen::Matrix<float, Eigen::Dynamic, Eigen::Dynamic, Eigen::RowMajor>>;

std::vector<double> column_means(const ShardedMatrix& x, const par::Comm& comm) {
  std::vector<double> sums(x.cols, 0.0);
  for (std::uint64_t i = 0; i < x.local_rows; ++i) {
    const float* r = x.row(i);
    for (std::uint64_t j = 0; j < x.cols; ++j) sums[j] += r[j];
  }
  comm.allreduce_sum_inplace(sums);
  for (auto& s : sums) s /= static_cast<double>(x.global_rows);
  return sums;
}

// Σ (x_i − mean)(x_i − mean)ᵀ over the local rows. Row blocks of a fixed size
// turn the rank-one updates into GEMMs; each thread keeps its own d × d sum,
// added in thread order (static schedule: reproducible for a thread count).
Eigen::MatrixXd local_scatter(const ShardedMatrix& x, const std::vector<double>& mean) {
  const auto d = static_cast<Eigen::Index>(x.cols);
  const Eigen::Map<const Eigen::RowVectorXd> mu(mean.data(), d);
  const std::int64_t block = 2048;
  const std::int64_t blocks = (static_cast<std::int64_t>(x.local_rows) + block - 1) / block;
  std::vector<Eigen::MatrixXd> partial(omp_get_max_threads(), Eigen::MatrixXd::Zero(d, d));
#pragma omp parallel
  {
    Eigen::MatrixXd& acc = partial[omp_get_thread_num()];
    RowMatrix centred;
#pragma omp for schedule(static)
    for (std::int64_t b = 0; b < blocks; ++b) {
      const std::int64_t first = b * block;
      const std::int64_t rows = std::min<std::int64_t>(block, x.local_rows - first);
      const FloatRows raw(x.row(first), rows, d);
      centred = raw.cast<double>().rowwise() - mu;
      acc.selfadjointView<Eigen::Lower>().rankUpdate(centred.transpose());
    }
  }
  Eigen::MatrixXd total = Eigen::MatrixXd::Zero(d, d);
  for (const auto& p : partial) total += p;
  total.triangularView<Eigen::StrictlyUpper>() = total.transpose();
  return total;
}

std::uint64_t components_for_target(const std::vector<double>& ratio, double target) {
  double cumulative = 0.0;
  for (std::uint64_t k = 0; k < ratio.size(); ++k) {
    cumulative += ratio[k];
    if (cumulative > target) return k + 1;
  }
  return ratio.size();
}

}  // namespace

PcaModel pca_fit(const ShardedMatrix& x, const PcaOptions& options, const par::Comm& comm) {
  const std::uint64_t d = x.cols;
  const std::uint64_t max_components = std::min<std::uint64_t>(x.global_rows, d);
  // Every rank sees the same options and sizes: agree so the error is reported once.
  par::collectively(comm, [&] {
    if (options.components == 0 && !(options.variance_target > 0.0 && options.variance_target < 1.0)) {
      throw ConfigError(cat("PCA: variance target must lie in (0, 1), found ", options.variance_target));
    }
    if (x.global_rows < 2) throw InputError(cat("PCA: needs at least 2 rows, found ", x.global_rows));
    if (options.components > max_components) {
      throw ConfigError(cat("PCA: components = ", options.components, " exceeds min(N, d) = ", max_components,
                            " (N = ", x.global_rows, ", d = ", d, ")"));
    }
  });
  PcaModel model;
  model.samples = x.global_rows;
  model.features = d;
  model.mean = column_means(x, comm);
  Eigen::MatrixXd scatter = local_scatter(x, model.mean);
  std::vector<double> flat(scatter.data(), scatter.data() + scatter.size());
  comm.allreduce_sum_inplace(flat);
  const Eigen::Map<const Eigen::MatrixXd> covariance_sum(flat.data(), d, d);
  const Eigen::MatrixXd covariance = covariance_sum / static_cast<double>(x.global_rows - 1);

  const Eigen::SelfAdjointEigenSolver<Eigen::MatrixXd> solver(covariance);
  if (solver.info() != Eigen::Success) throw Error("PCA: the eigendecomposition of the covariance did not converge");
  // Eigen sorts ascending; rounding can make the smallest eigenvalues slightly negative.
  std::vector<double> values(d);
  for (std::uint64_t k = 0; k < d; ++k) values[k] = std::max(0.0, solver.eigenvalues()(d - 1 - k));
  double total = 0.0;
  for (double v : values) total += v;
  std::vector<double> ratio(d, 0.0);
  if (total > 0.0) {
    for (std::uint64_t k = 0; k < d; ++k) ratio[k] = values[k] / total;
  }
  const std::uint64_t n = options.components ? options.components
                                             : std::min(max_components, components_for_target(ratio, options.variance_target));

  model.components.resize(n * d);
  for (std::uint64_t k = 0; k < n; ++k) {
    const Eigen::VectorXd v = solver.eigenvectors().col(d - 1 - k);
    Eigen::Index largest = 0;
    for (Eigen::Index j = 1; j < v.size(); ++j) {
      if (std::abs(v(j)) > std::abs(v(largest))) largest = j;
    }
    const double sign = v(largest) < 0 ? -1.0 : 1.0;
    for (std::uint64_t j = 0; j < d; ++j) model.components[k * d + j] = sign * v(j);
    model.explained_variance.push_back(values[k]);
    model.explained_variance_ratio.push_back(ratio[k]);
    model.singular_values.push_back(std::sqrt(values[k] * static_cast<double>(x.global_rows - 1)));
  }
  return model;
}

ShardedMatrix pca_transform(const PcaModel& model, const ShardedMatrix& x) {
  if (x.cols != model.features) {
    throw InputError(cat("PCA transform: the model has ", model.features, " features, the data has ", x.cols));
  }
  const auto d = static_cast<Eigen::Index>(model.features);
  const auto n = static_cast<Eigen::Index>(model.n_components());
  const Eigen::Map<const RowMatrix> w(model.components.data(), n, d);
  const Eigen::Map<const Eigen::RowVectorXd> mu(model.mean.data(), d);
  ShardedMatrix out;
  out.cols = n;
  out.local_rows = x.local_rows;
  out.global_rows = x.global_rows;
  out.first_row = x.first_row;
  out.data.resize(x.local_rows * n);
  const std::int64_t block = 4096;
  const std::int64_t blocks = (static_cast<std::int64_t>(x.local_rows) + block - 1) / block;
#pragma omp parallel for schedule(static)
  for (std::int64_t b = 0; b < blocks; ++b) {
    const std::int64_t first = b * block;
    const std::int64_t rows = std::min<std::int64_t>(block, x.local_rows - first);
    const FloatRows raw(x.row(first), rows, d);
    const RowMatrix scores = (raw.cast<double>().rowwise() - mu) * w.transpose();
    Eigen::Map<Eigen::Matrix<float, Eigen::Dynamic, Eigen::Dynamic, Eigen::RowMajor>>(
        out.data.data() + first * n, rows, n) = scores.cast<float>();
  }
  return out;
}

void save_pca(io::H5File& file, const PcaModel& model, const std::string& group) {
  file.create_group(group);
  // The model is global: rank 0 contributes every row, the others none.
  const bool root = file.comm().is_root();
  const std::uint64_t n = model.n_components(), d = model.features;
  io::write_samples(file, group + "/mean", model.mean.data(), root ? d : 0, {});
  io::write_samples(file, group + "/components", model.components.data(), root ? n : 0, {d});
  io::write_samples(file, group + "/explained_variance", model.explained_variance.data(), root ? n : 0, {});
  io::write_samples(file, group + "/explained_variance_ratio", model.explained_variance_ratio.data(),
                    root ? n : 0, {});
  io::write_samples(file, group + "/singular_values", model.singular_values.data(), root ? n : 0, {});
  file.write_attribute(group, "samples", static_cast<std::int64_t>(model.samples));
  file.write_attribute(group, "features", static_cast<std::int64_t>(model.features));
}

PcaModel load_pca(const io::H5File& file, const std::string& group) {
  PcaModel model;
  const auto comps = file.info(group + "/components");
  if (comps.shape.size() != 2) {
    throw InputError(cat(file.where(group + "/components"), ": expected shape [n, d], found ",
                         io::shape_string(comps.shape)));
  }
  const std::uint64_t n = comps.shape[0], d = comps.shape[1];
  auto read_vector = [&](const std::string& name, std::uint64_t length) {
    const std::string ds = group + "/" + name;
    const auto info = file.info(ds);
    if (info.shape != std::vector<std::uint64_t>{length}) {
      throw InputError(cat(file.where(ds), ": expected shape [", length, "], found ", io::shape_string(info.shape)));
    }
    return io::read_sample_rows<double>(file, ds, {0, length}, {{}, true}).data;
  };
  model.mean = read_vector("mean", d);
  model.explained_variance = read_vector("explained_variance", n);
  model.explained_variance_ratio = read_vector("explained_variance_ratio", n);
  model.singular_values = read_vector("singular_values", n);
  model.components = io::read_sample_rows<double>(file, group + "/components", {0, n}, {{d}, true}).data;
  model.features = d;
  model.samples = static_cast<std::uint64_t>(file.read_int_attribute(group, "samples"));
  return model;
}

}  // namespace phenoscale::ml
