// Exact k-nearest-neighbour search over row-sharded feature matrices.
//
// DeepHACKS (Ma et al. 2024) clusters protrusion time series by community
// detection on a kNN graph of their distances; this is the graph's first
// half. Every rank keeps its row block and the blocks travel around a ring,
// so each local row meets every global row exactly once and the result is
// exact (no approximate index). Squared Euclidean distances come from the
// score kernel k-means assigns with (src/ml/score_kernel.hpp: float32
// ||y||² − 2x·y by FMA) on mean-shifted rows, used only as a
// filter whose margin exceeds its rounding bound: the k survivors of
// each row are re-measured directly, so the neighbour lists and distances are
// exact and bit-identical at any rank count. Ties go to the lower global
// index. SAX/ACF distances, which are not Euclidean, enter as a precomputed
// N × N distance matrix sharded by rows.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "phenoscale/ml/distance.hpp"
#include "phenoscale/ml/matrix.hpp"
#include "phenoscale/par/comm.hpp"

namespace phenoscale::ml {

// The k nearest neighbours (self excluded) of this rank's rows, nearest first.
struct KnnResult {
  std::uint64_t k = 0;
  std::uint64_t first_row = 0;    // global index of local row 0
  std::uint64_t local_rows = 0;
  std::uint64_t global_rows = 0;
  std::vector<std::int64_t> neighbours;  // local_rows × k global row indices
  std::vector<float> distances;          // local_rows × k, Euclidean (not squared)

  const std::int64_t* neighbours_of(std::uint64_t local) const { return neighbours.data() + local * k; }
  const float* distances_of(std::uint64_t local) const { return distances.data() + local * k; }
};

// Collective. Exact Euclidean kNN of the rows of `x`. Requires 1 <= k < N.
KnnResult exact_knn(const ShardedMatrix& x, std::uint64_t k, const par::Comm& comm);

// Collective. The same result as exact_knn, bit for bit, for data whose rows
// repeat (DeepHACKS' SAX/ACF vectors take few distinct values: ~14,000
// distinct among 10^5): every rank gathers all rows (N × d floats), searches
// once per distinct vector held locally among the distinct vectors, and
// expands the copies in (distance, index) order. Cost O(m_local · m · d) for
// m distinct rows instead of O(N² d / P); memory N × d per rank. Under
// Distance::nan_euclidean, NaN coordinates are missing (ml/distance.hpp;
// DeepHACKS' partial ACF distances); under euclidean they are an InputError.
KnnResult exact_knn_deduplicated(const ShardedMatrix& x, std::uint64_t k, const par::Comm& comm,
                                 Distance distance = Distance::euclidean);

// The first k ≤ knn.k neighbours of every row: because the order is strict
// (distance, then index), this is exactly the k-nearest-neighbour result, so
// a sweep over k searches once at its largest k.
KnnResult nearest_prefix(const KnnResult& knn, std::uint64_t k);

// Collective. kNN from a precomputed N × N distance matrix sharded by rows
// (row i holds d(i, ·)); distances must be finite and non-negative.
KnnResult knn_from_distances(const ShardedMatrix& distances, std::uint64_t k, const par::Comm& comm);

// The inputs the CLI accepts: feature rows (Euclidean, or nan-euclidean with
// NaN as a missing coordinate), or a precomputed distance matrix.
enum class KnnMetric { euclidean, nan_euclidean, precomputed };
KnnMetric parse_knn_metric(const std::string& name, const std::string& key);

// Collective. exact_knn, exact_knn_deduplicated under nan_euclidean, or
// knn_from_distances, as `metric` says.
KnnResult knn(const ShardedMatrix& x, std::uint64_t k, KnnMetric metric, const par::Comm& comm);

}  // namespace phenoscale::ml
