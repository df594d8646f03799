// Clustering a uniform sample of the rows ("landmarks") and giving every other
// row the majority label of its nearest landmarks — the sketch-and-project
// scheme of Seurat v5 (Hao et al. 2024, "Dictionary learning for integrative,
// multimodal and scalable single-cell analysis", sketch-based analysis; there
// by leverage score, here uniform).
//
// Why: communities of kNN graphs of DeepHACKS' ACF vectors depend on K as a
// fraction of N (docs/methods.md §3.2): a grid chosen for ~5,000 samples
// fragments ~37,000, and the K that works there (≈ 7 % of N) costs 6 GB and
// splits phenotypes by length. Clustered at a fixed size and projected, the
// teacher sees the same graph at any N (docs/methods.md §3.2, "landmarks").
#pragma once

#include <algorithm>
#include <cstdint>
#include <vector>

#include "phenoscale/ml/distance.hpp"
#include "phenoscale/ml/matrix.hpp"
#include "phenoscale/par/comm.hpp"

namespace phenoscale::ml {

// The landmarks: the rows whose global index i draws
// Rng(seed, landmarks, i).uniform() < m / N (about m rows in all, the same
// rows at any rank count), in global order, sharded in BlockPartition blocks
// like any matrix; `source_row` is every landmark's global row in the source
// (on every rank).
struct Landmarks {
  ShardedMatrix rows;
  std::vector<std::uint64_t> source_row;
};

// Collective. Requires 1 <= m; m >= N takes every row.
Landmarks draw_landmarks(const ShardedMatrix& x, std::uint64_t m, std::uint64_t seed, const par::Comm& comm);

// One value per local row of `x` (the matrix the landmarks were drawn from):
// a landmark's from `all` (every landmark's, in landmark order), `fill` for
// the other rows.
template <typename T>
std::vector<T> at_source_rows(const ShardedMatrix& x, const Landmarks& landmarks, const std::vector<T>& all, T fill) {
  std::vector<T> out(x.local_rows, fill);
  const auto& source = landmarks.source_row;  // ascending
  for (auto it = std::lower_bound(source.begin(), source.end(), x.first_row);
       it != source.end() && *it < x.first_row + x.local_rows; ++it)
    out[*it - x.first_row] = all[static_cast<std::size_t>(it - source.begin())];
  return out;
}

// Collective. A label for every local row of `x` (the matrix the landmarks
// were drawn from): a landmark keeps its own (`landmark_labels`, >= 0: local
// rows of `landmarks.rows`); any other row takes the
// label most frequent among its `k` nearest landmarks under `distance`
// (ordered by distance, then global landmark index; a tie between labels goes
// to the one whose first member comes first). Every rank gathers the
// landmarks (m × d floats and m labels), so the result does not depend on
// the rank count.
std::vector<std::int64_t> project_landmark_labels(const ShardedMatrix& x, const Landmarks& landmarks,
                                                  const std::vector<std::int64_t>& landmark_labels, std::uint64_t k,
                                                  Distance distance, const par::Comm& comm);

}  // namespace phenoscale::ml
