// Cluster-quality measures over sharded feature matrices and labels.
//
// Internal measures (silhouette, Davies–Bouldin) choose between clusterings
// without ground truth — DeepHACKS picks the neighbour count K of its kNN
// graph by them, the tomo paper checks its k-means subdivisions of CNN
// features; external measures (adjusted Rand index, normalised mutual
// information) score a clustering against the planted labels of simulated
// data. All follow scikit-learn's definitions (Euclidean distances; NMI with
// the arithmetic mean of the entropies), so numbers compare directly.
//
// Labels are any int64 values, one per local row, in the row order of the
// matrix. Every measure is collective and its result does not depend on the
// rank count beyond rounding (reductions in double, fixed order within a rank).
// Silhouette is O(N² d): exact up to `exact_limit` rows (all rows gathered on
// every rank); above it, the silhouettes of a uniform random sample of about
// `sample_size` rows, each against ALL rows, estimate the mean, with its
// standard error std/√m stated.
#pragma once

#include <cstdint>
#include <vector>

#include "phenoscale/ml/distance.hpp"
#include "phenoscale/ml/matrix.hpp"
#include "phenoscale/par/comm.hpp"

namespace phenoscale::ml {

struct SilhouetteOptions {
  std::uint64_t exact_limit = 50000;  // N up to this: exact mean over all rows
  std::uint64_t sample_size = 10000;  // expected sample size m above it
  std::uint64_t seed = 0;             // run seed; draws use Stream::silhouette_sample
  Distance distance = Distance::euclidean;  // nan-euclidean: NaN coordinates are missing (ml/distance.hpp)
};

struct SilhouetteResult {
  double value = 0.0;           // mean silhouette (of the sample when sampled)
  double standard_error = 0.0;  // 0 when exact
  bool exact = true;
  std::uint64_t samples = 0;    // rows whose silhouette was computed (N when exact)
  // Each local row's silhouette (scikit-learn's silhouette_samples), in row
  // order; NaN for the rows outside the sample when sampled. Silhouette plots
  // draw these; the mean above is their mean.
  std::vector<double> local;
};

// Collective. Row i (global) enters the sample when
// Rng(seed, silhouette_sample, i).uniform() < sample_size / N, so the sample
// is the same at any rank count. Rows of singleton clusters count as 0.
// InputError unless 2 ≤ #labels ≤ N − 1 (scikit-learn's rule).
SilhouetteResult silhouette(const ShardedMatrix& x, const std::vector<std::int64_t>& labels,
                            const SilhouetteOptions& options, const par::Comm& comm);

// Collective. Mean over clusters of max_j (s_i + s_j) / d(c_i, c_j), where s_i
// is the mean distance of cluster i's rows to its centroid c_i. Lower is better.
// Under nan-euclidean a centroid coordinate is the mean over the rows that have it.
double davies_bouldin(const ShardedMatrix& x, const std::vector<std::int64_t>& labels, const par::Comm& comm,
                      Distance distance = Distance::euclidean);

// Collective. Adjusted Rand index of two labelings of the same rows (1 =
// identical partitions up to label names, about 0 for independent ones).
double adjusted_rand_index(const std::vector<std::int64_t>& reference, const std::vector<std::int64_t>& predicted,
                           const par::Comm& comm);

// Collective. Mutual information normalised by the arithmetic mean of the two
// entropies, in [0, 1].
double normalized_mutual_info(const std::vector<std::int64_t>& reference,
                              const std::vector<std::int64_t>& predicted, const par::Comm& comm);

// Collective. Reads the labels of `rows`' local block from an int64 dataset
// ("FILE.h5:/labels"; the dataset defaults to /labels). InputError naming the
// dataset when its length differs from rows.global_rows.
std::vector<std::int64_t> read_labels(const std::string& spec, const ShardedMatrix& rows, const par::Comm& comm);

}  // namespace phenoscale::ml
