#include "phenoscale/ml/quality.hpp"

#include <Eigen/Dense>
#include <algorithm>
#include <cmath>
#include <cstring>
#include <limits>
#include <numeric>
#include <string>
#include <unordered_map>

#include "phenoscale/core/error.hpp"
#include "phenoscale/core/log.hpp"
#include "phenoscale/core/rng.hpp"
#include "phenoscale/io/sample_array.hpp"
#include "phenoscale/par/agree.hpp"

namespace phenoscale::ml {

using core::cat;

namespace {

void check_labels(const ShardedMatrix& x, const std::vector<std::int64_t>& labels, const par::Comm& comm,
                  const char* measure) {
  par::check_all(comm, labels.size() == x.local_rows,
                 cat(measure, ": expected one label per row (", x.local_rows, " local rows), found ", labels.size(),
                     " labels on some rank"));
}

void check_cluster_count(std::uint64_t clusters, std::uint64_t rows, const char* measure) {
  if (clusters < 2 || clusters + 1 > rows) {
    throw InputError(cat(measure, ": needs between 2 and N - 1 = ", rows > 0 ? rows - 1 : 0,
                         " distinct labels, found ", clusters));
  }
}

std::vector<double> cluster_sizes(const std::vector<std::int32_t>& dense, std::uint64_t clusters,
                                  const par::Comm& comm) {
  std::vector<double> sizes(clusters, 0.0);
  for (auto c : dense) sizes[c] += 1.0;
  comm.allreduce_sum_inplace(sizes);
  return sizes;
}

using RowMatrix = Eigen::Matrix<double, Eigen::Dynamic, Eigen::Dynamic, Eigen::RowMajor>;

// Query rows against target rows, both with global row ids (targets
// contiguous from target_first) so a row's distance to itself is exactly 0.
struct DistanceJob {
  const float* queries;
  const std::uint64_t* query_ids;
  std::uint64_t m;
  const float* targets;
  std::uint64_t target_first;
  const std::int32_t* target_labels;
  std::uint64_t n;
  std::uint64_t d;
  std::uint64_t clusters;
  std::vector<double> shift;  // subtracted from every row: distances are unchanged, rounding smaller
  const double* weights = nullptr;  // per target row (collapsed repeats); null: 1
  bool self_in_targets = true;      // query ids index the targets (false once they are collapsed)
  Distance distance = Distance::euclidean;
};

// Target rows that repeat with the same label — SAX/ACF vectors take a few
// thousand distinct values among 10^5 rows — enter the distance sums once,
// weighted by their count: the same sums (up to rounding), far fewer
// distances. Used only when it at least halves the targets.
struct CollapsedTargets {
  std::vector<float> rows;
  std::vector<std::int32_t> labels;
  std::vector<double> weights;
};

// Points `job` at the collapsed copy of its targets (kept in `out`) when
// that at least halves them; otherwise leaves the job as it is.
void collapse_targets(DistanceJob& job, CollapsedTargets& out) {
  const std::uint64_t d = job.d;
  std::unordered_map<std::string, std::uint32_t> seen;
  std::string key(d * sizeof(float) + sizeof(std::int32_t), '\0');
  for (std::uint64_t i = 0; i < job.n; ++i) {
    std::memcpy(key.data(), job.targets + i * d, d * sizeof(float));
    std::memcpy(key.data() + d * sizeof(float), job.target_labels + i, sizeof(std::int32_t));
    auto [it, fresh] = seen.emplace(key, static_cast<std::uint32_t>(out.labels.size()));
    if (fresh) {
      out.rows.insert(out.rows.end(), job.targets + i * d, job.targets + (i + 1) * d);
      out.labels.push_back(job.target_labels[i]);
      out.weights.push_back(0.0);
      if (2 * out.labels.size() > job.n) return;  // too few repeats to pay
    }
    out.weights[it->second] += 1.0;
  }
  job.targets = out.rows.data();
  job.target_labels = out.labels.data();
  job.n = out.labels.size();
  job.weights = out.weights.data();
  job.self_in_targets = false;
}

// Rows [first, first + rows) of `data`, shifted, in double.
void load_shifted(const float* data, std::uint64_t first, std::uint64_t rows, const DistanceJob& job, RowMatrix& out) {
  out.resize(rows, job.d);
  for (std::uint64_t i = 0; i < rows; ++i) {
    const float* r = data + (first + i) * job.d;
    for (std::uint64_t j = 0; j < job.d; ++j) out(i, j) = static_cast<double>(r[j]) - job.shift[j];
  }
}

// distance_sums under nan-euclidean (missing coordinates, ml/distance.hpp):
// one pair at a time, since the missing pattern differs per pair.
void nan_distance_sums(const DistanceJob& job, std::vector<double>& sums) {
#pragma omp parallel for schedule(dynamic, 16)
  for (std::int64_t q = 0; q < static_cast<std::int64_t>(job.m); ++q) {
    const float* row = job.queries + q * job.d;
    double* out = sums.data() + q * job.clusters;
    const std::uint64_t id = job.query_ids[q];
    for (std::uint64_t t = 0; t < job.n; ++t) {
      if (job.self_in_targets && job.target_first + t == id) continue;
      const double d2 = nan_squared_distance(row, job.targets + t * job.d, job.d);
      const double w = job.weights ? job.weights[t] : 1.0;
      if (d2 > 0.0) out[job.target_labels[t]] += w * std::sqrt(d2);
    }
  }
}

// sums[q·K + c] += Σ over target rows t of cluster c of ‖query_q − x_t‖: the
// O(m · n · d) core of the silhouette. Tiles of ‖q‖² + ‖t‖² − 2 q·t turn it
// into GEMMs (as scikit-learn's euclidean_distances does); the shift to the
// data mean keeps the cancellation small. Threads split the query tiles.
void distance_sums(const DistanceJob& job, std::vector<double>& sums) {
  if (job.distance == Distance::nan_euclidean) return nan_distance_sums(job, sums);
  const std::uint64_t query_tile = 64, target_tile = 1024;
  const auto tiles = static_cast<std::int64_t>((job.m + query_tile - 1) / query_tile);
#pragma omp parallel
  {
    RowMatrix q, t, g;
    Eigen::VectorXd qn, tn;
#pragma omp for schedule(dynamic)
    for (std::int64_t b = 0; b < tiles; ++b) {
      const std::uint64_t first = b * query_tile, rows = std::min(query_tile, job.m - first);
      load_shifted(job.queries, first, rows, job, q);
      qn = q.rowwise().squaredNorm();
      for (std::uint64_t t0 = 0; t0 < job.n; t0 += target_tile) {
        const std::uint64_t cols = std::min(target_tile, job.n - t0);
        load_shifted(job.targets, t0, cols, job, t);
        tn = t.rowwise().squaredNorm();
        g.noalias() = q * t.transpose();
        for (std::uint64_t r = 0; r < rows; ++r) {
          double* out = sums.data() + (first + r) * job.clusters;
          const std::uint64_t id = job.query_ids[first + r], tile_first = job.target_first + t0;
          std::uint64_t self = id >= tile_first && id < tile_first + cols ? id - tile_first : cols;
          if (!job.self_in_targets) self = cols;
          for (std::uint64_t c = 0; c < cols; ++c) {
            const double d2 = qn(r) + tn(c) - 2.0 * g(r, c);
            const double w = job.weights ? job.weights[t0 + c] : 1.0;
            out[job.target_labels[t0 + c]] += (c == self || d2 <= 0.0) ? 0.0 : w * std::sqrt(d2);
          }
        }
      }
    }
  }
}

std::vector<double> column_mean(const std::vector<float>& rows, std::uint64_t d) {
  std::vector<double> mean(d, 0.0);
  const std::uint64_t n = d ? rows.size() / d : 0;
  for (std::uint64_t i = 0; i < n; ++i) {
    for (std::uint64_t j = 0; j < d; ++j) mean[j] += rows[i * d + j];
  }
  for (auto& v : mean) v /= std::max<std::uint64_t>(n, 1);
  return mean;
}

// scikit-learn's s = (b − a) / max(a, b), 0 for singletons and for a = b = 0.
double silhouette_of(const double* sums, std::int32_t own, const std::vector<double>& sizes) {
  if (sizes[own] <= 1.0) return 0.0;
  const double a = sums[own] / (sizes[own] - 1.0);
  double b = std::numeric_limits<double>::infinity();
  for (std::size_t c = 0; c < sizes.size(); ++c) {
    if (static_cast<std::int32_t>(c) != own && sizes[c] > 0) b = std::min(b, sums[c] / sizes[c]);
  }
  const double scale = std::max(a, b);
  return scale > 0.0 ? (b - a) / scale : 0.0;
}

SilhouetteResult exact_silhouette(const ShardedMatrix& x, const std::vector<std::int32_t>& dense,
                                  const std::vector<double>& sizes, Distance distance, const par::Comm& comm) {
  const std::vector<float> all = gather_rows(x, comm);
  std::vector<std::int64_t> wide(dense.begin(), dense.end());
  const std::vector<std::int64_t> all_wide = gather_values(wide, comm);
  const std::vector<std::int32_t> all_labels(all_wide.begin(), all_wide.end());
  const std::uint64_t k = sizes.size();
  std::vector<double> sums(x.local_rows * k, 0.0);
  std::vector<std::uint64_t> ids(x.local_rows);
  for (std::uint64_t i = 0; i < x.local_rows; ++i) ids[i] = x.first_row + i;
  DistanceJob job{x.data.data(), ids.data(), x.local_rows, all.data(), 0, all_labels.data(), x.global_rows, x.cols, k,
                  column_mean(all, x.cols)};
  job.distance = distance;
  CollapsedTargets collapsed;
  collapse_targets(job, collapsed);
  distance_sums(job, sums);
  SilhouetteResult result{0.0, 0.0, true, x.global_rows, std::vector<double>(x.local_rows)};
  double total = 0.0;
  for (std::uint64_t i = 0; i < x.local_rows; ++i) {
    result.local[i] = silhouette_of(sums.data() + i * k, dense[i], sizes);
    total += result.local[i];
  }
  result.value = comm.allreduce_sum(total) / static_cast<double>(x.global_rows);
  return result;
}

SilhouetteResult sampled_silhouette(const ShardedMatrix& x, const std::vector<std::int32_t>& dense,
                                    const std::vector<double>& sizes, const SilhouetteOptions& options,
                                    const par::Comm& comm) {
  const double fraction = static_cast<double>(options.sample_size) / static_cast<double>(x.global_rows);
  ShardedMatrix picked;
  picked.cols = x.cols;
  std::vector<std::int64_t> picked_labels, picked_ids;
  for (std::uint64_t i = 0; i < x.local_rows; ++i) {
    core::Rng rng(options.seed, core::Stream::silhouette_sample, x.first_row + i);
    if (rng.uniform() >= fraction) continue;
    picked.data.insert(picked.data.end(), x.row(i), x.row(i) + x.cols);
    picked_labels.push_back(dense[i]);
    picked_ids.push_back(static_cast<std::int64_t>(x.first_row + i));
  }
  // Every rank holds the whole sample (global row order) and adds the
  // distances to its own rows; the allreduce completes them.
  const std::vector<float> sample = gather_rows(picked, comm);
  const std::vector<std::int64_t> sample_labels = gather_values(picked_labels, comm);
  const std::vector<std::int64_t> gathered_ids = gather_values(picked_ids, comm);
  const std::vector<std::uint64_t> sample_ids(gathered_ids.begin(), gathered_ids.end());
  const std::uint64_t m = sample_labels.size(), k = sizes.size();
  par::collectively(comm, [&] {
    if (m < 2) {
      throw InputError(cat("silhouette: the sample of about ", options.sample_size, " rows of ", x.global_rows,
                           " drew only ", m, "; raise quality.sample_size"));
    }
  });
  std::vector<double> sums(m * k, 0.0);
  DistanceJob job{sample.data(), sample_ids.data(), m, x.data.data(), x.first_row, dense.data(), x.local_rows, x.cols, k,
                  column_mean(sample, x.cols)};
  job.distance = options.distance;
  CollapsedTargets collapsed;
  collapse_targets(job, collapsed);
  distance_sums(job, sums);
  comm.allreduce_sum_inplace(sums);
  std::vector<double> s(m);
  double mean = 0.0;
  for (std::uint64_t q = 0; q < m; ++q) {
    s[q] = silhouette_of(sums.data() + q * k, static_cast<std::int32_t>(sample_labels[q]), sizes);
    mean += s[q];
  }
  mean /= static_cast<double>(m);
  double squares = 0.0;
  for (double v : s) squares += (v - mean) * (v - mean);
  const double stddev = std::sqrt(squares / static_cast<double>(m - 1));
  // Every rank computed the whole sample; it keeps its own rows' values.
  std::vector<double> local(x.local_rows, std::numeric_limits<double>::quiet_NaN());
  for (std::uint64_t q = 0; q < m; ++q) {
    const std::uint64_t row = sample_ids[q];
    if (row >= x.first_row && row < x.first_row + x.local_rows) local[row - x.first_row] = s[q];
  }
  return {mean, stddev / std::sqrt(static_cast<double>(m)), false, m, std::move(local)};
}

// The contingency table n_ij (reference class i, predicted cluster j): its
// non-zero cells, ascending by (i, j), summed over ranks in int64 so it is
// exact. Sparse, as scikit-learn's: a dense classes × clusters table of two
// fragmented labelings would not fit in memory.
struct Contingency {
  std::uint64_t rows = 0, cols = 0;
  std::vector<std::uint64_t> cells;  // i · cols + j of every non-zero n_ij
  std::vector<std::int64_t> counts;  // n_ij of cells
  std::int64_t total = 0;
};

Contingency contingency(const std::vector<std::int64_t>& reference, const std::vector<std::int64_t>& predicted,
                        const par::Comm& comm, const char* measure) {
  par::check_all(comm, reference.size() == predicted.size(),
                 cat(measure, ": the two labelings differ in length (", reference.size(), " vs ", predicted.size(),
                     " local rows on some rank)"));
  const LabelIndex classes(reference, comm), clusters(predicted, comm);
  const auto r = classes.dense(reference), p = clusters.dense(predicted);
  Contingency table;
  table.rows = classes.size();
  table.cols = clusters.size();
  // This rank's cells as (cell, count) runs, then every rank's, merged.
  const auto runs = [](std::vector<std::uint64_t> keys, std::vector<std::uint64_t>& cells,
                       std::vector<std::int64_t>& counts, const std::vector<std::int64_t>* weights) {
    std::vector<std::size_t> order(keys.size());
    std::iota(order.begin(), order.end(), std::size_t{0});
    std::stable_sort(order.begin(), order.end(), [&](std::size_t a, std::size_t b) { return keys[a] < keys[b]; });
    for (auto k : order) {
      const std::int64_t w = weights ? (*weights)[k] : 1;
      if (!cells.empty() && cells.back() == keys[k]) {
        counts.back() += w;
      } else {
        cells.push_back(keys[k]);
        counts.push_back(w);
      }
    }
  };
  std::vector<std::uint64_t> keys(r.size()), local_cells;
  std::vector<std::int64_t> local_counts;
  for (std::size_t i = 0; i < r.size(); ++i)
    keys[i] = static_cast<std::uint64_t>(r[i]) * table.cols + static_cast<std::uint64_t>(p[i]);
  runs(std::move(keys), local_cells, local_counts, nullptr);
  const auto all_counts = comm.allgatherv(local_counts);
  runs(comm.allgatherv(local_cells), table.cells, table.counts, &all_counts);
  table.total = comm.allreduce_sum(static_cast<std::int64_t>(reference.size()));
  return table;
}

std::vector<std::int64_t> marginal(const Contingency& t, bool over_rows) {
  std::vector<std::int64_t> m(over_rows ? t.rows : t.cols, 0);
  for (std::size_t c = 0; c < t.cells.size(); ++c)
    m[over_rows ? t.cells[c] / t.cols : t.cells[c] % t.cols] += t.counts[c];
  return m;
}

}  // namespace

SilhouetteResult silhouette(const ShardedMatrix& x, const std::vector<std::int64_t>& labels,
                            const SilhouetteOptions& options, const par::Comm& comm) {
  check_labels(x, labels, comm, "silhouette");
  const LabelIndex index(labels, comm);
  par::collectively(comm, [&] { check_cluster_count(index.size(), x.global_rows, "silhouette"); });
  const auto dense = index.dense(labels);
  const auto sizes = cluster_sizes(dense, index.size(), comm);
  if (x.global_rows <= options.exact_limit) return exact_silhouette(x, dense, sizes, options.distance, comm);
  return sampled_silhouette(x, dense, sizes, options, comm);
}

double davies_bouldin(const ShardedMatrix& x, const std::vector<std::int64_t>& labels, const par::Comm& comm,
                      Distance distance) {
  check_labels(x, labels, comm, "Davies-Bouldin");
  const LabelIndex index(labels, comm);
  par::collectively(comm, [&] { check_cluster_count(index.size(), x.global_rows, "Davies-Bouldin"); });
  const auto dense = index.dense(labels);
  const std::uint64_t k = index.size(), d = x.cols;
  const bool partial = distance == Distance::nan_euclidean;
  // Centroids: means over the rows present in each coordinate (all rows under euclidean).
  std::vector<double> centroids(k * d, 0.0), present(k * d, 0.0);
  for (std::uint64_t i = 0; i < x.local_rows; ++i) {
    for (std::uint64_t j = 0; j < d; ++j) {
      const float v = x.row(i)[j];
      if (partial && std::isnan(v)) continue;
      centroids[dense[i] * d + j] += v;
      present[dense[i] * d + j] += 1.0;
    }
  }
  comm.allreduce_sum_inplace(centroids);
  comm.allreduce_sum_inplace(present);
  for (std::uint64_t c = 0; c < k * d; ++c)
    centroids[c] = present[c] > 0 ? centroids[c] / present[c] : std::numeric_limits<double>::quiet_NaN();
  auto between = [&](const auto* a, const double* b) {
    if (partial) return std::sqrt(nan_squared_distance(a, b, d));
    double s = 0.0;
    for (std::uint64_t j = 0; j < d; ++j) {
      const double diff = a[j] - b[j];
      s += diff * diff;
    }
    return std::sqrt(s);
  };
  const auto sizes = cluster_sizes(dense, k, comm);
  std::vector<double> scatter(k, 0.0);
  for (std::uint64_t i = 0; i < x.local_rows; ++i) scatter[dense[i]] += between(x.row(i), &centroids[dense[i] * d]);
  comm.allreduce_sum_inplace(scatter);
  for (std::uint64_t c = 0; c < k; ++c) scatter[c] /= sizes[c];

  // Centroid separations row by row (memory O(k), not k × k: k may be ~N).
  auto near_zero = [](double v) { return std::abs(v) <= 1e-8; };
  bool all_coincide = true;
  double total = 0.0;
  for (std::uint64_t a = 0; a < k; ++a) {
    double worst = 0.0;
    for (std::uint64_t b = 0; b < k; ++b) {
      const double separation = between(&centroids[a * d], &centroids[b * d]);
      all_coincide = all_coincide && near_zero(separation);
      if (separation == 0.0) continue;  // coincident centroids: scikit-learn divides by inf
      worst = std::max(worst, (scatter[a] + scatter[b]) / separation);
    }
    total += worst;
  }
  // scikit-learn returns 0 when all clusters are points or all centroids coincide (np.allclose to 0).
  if (std::all_of(scatter.begin(), scatter.end(), near_zero) || all_coincide) return 0.0;
  return total / static_cast<double>(k);
}

double adjusted_rand_index(const std::vector<std::int64_t>& reference, const std::vector<std::int64_t>& predicted,
                           const par::Comm& comm) {
  const Contingency t = contingency(reference, predicted, comm, "adjusted Rand index");
  // Ordered pair counts (scikit-learn's pair_confusion_matrix) in 128-bit
  // integers: exact for any N that fits in memory.
  __extension__ typedef __int128 Wide;
  Wide squares = 0, row_squares = 0, col_squares = 0;
  for (auto v : t.counts) squares += Wide(v) * v;
  for (auto v : marginal(t, true)) row_squares += Wide(v) * v;
  for (auto v : marginal(t, false)) col_squares += Wide(v) * v;
  const Wide n = t.total;
  const Wide tp = squares - n, fp = col_squares - squares, fn = row_squares - squares;
  const Wide tn = n * n - fp - fn - squares;
  if (fn == 0 && fp == 0) return 1.0;
  const Wide numerator = 2 * (tp * tn - fn * fp);
  const Wide denominator = (tp + fn) * (fn + tn) + (tp + fp) * (fp + tn);
  return static_cast<double>(static_cast<long double>(numerator) / static_cast<long double>(denominator));
}

double normalized_mutual_info(const std::vector<std::int64_t>& reference,
                              const std::vector<std::int64_t>& predicted, const par::Comm& comm) {
  const Contingency t = contingency(reference, predicted, comm, "normalized mutual information");
  if (t.rows == t.cols && t.rows <= 1) return 1.0;  // neither labeling splits the data: a perfect match
  if (t.rows == 1 || t.cols == 1) return 0.0;
  const auto pi = marginal(t, true), pj = marginal(t, false);
  const double n = static_cast<double>(t.total), log_n = std::log(n);
  double mi = 0.0;
  for (std::size_t c = 0; c < t.cells.size(); ++c) {  // the non-zero n_ij, ascending by (i, j)
    const std::uint64_t i = t.cells[c] / t.cols, j = t.cells[c] % t.cols;
    const auto nij = t.counts[c];
    const double p = nij / n;
    const double term = p * (std::log(double(nij)) - log_n) +
                        p * (-std::log(double(pi[i]) * double(pj[j])) + log_n + log_n);
    if (std::abs(term) >= std::numeric_limits<double>::epsilon()) mi += term;
  }
  mi = std::max(mi, 0.0);
  if (mi == 0.0) return 0.0;
  auto entropy = [&](const std::vector<std::int64_t>& counts) {
    double h = 0.0;
    for (auto c : counts) {
      if (c > 0) h -= (c / n) * (std::log(double(c)) - log_n);
    }
    return h;
  };
  return mi / (0.5 * (entropy(pi) + entropy(pj)));
}

std::vector<std::int64_t> read_labels(const std::string& spec, const ShardedMatrix& rows, const par::Comm& comm) {
  DatasetSpec where = parse_dataset_spec(spec);
  if (spec.rfind(":/") == std::string::npos) where.dataset = "/labels";
  io::H5File file = io::H5File::open(where.file, comm);
  par::collectively(comm, [&] {
    const auto info = file.info(where.dataset);
    if (info.shape.size() != 1 || info.shape[0] != rows.global_rows) {
      throw InputError(cat(file.where(where.dataset), ": expected ", rows.global_rows,
                           " labels (one per row of the features, shape [", rows.global_rows, "]), found shape ",
                           io::shape_string(info.shape)));
    }
  });
  return io::read_sample_rows<std::int64_t>(file, where.dataset, {rows.first_row, rows.first_row + rows.local_rows},
                                            {{}, true})
      .data;
}

}  // namespace phenoscale::ml
