#include "phenoscale/ml/knn.hpp"

#include <Eigen/Dense>
#include <algorithm>
#include <cmath>
#include <limits>
#include <string_view>
#include <unordered_map>

#include "phenoscale/core/error.hpp"
#include "phenoscale/core/log.hpp"
#include "phenoscale/core/progress.hpp"
#include "phenoscale/par/agree.hpp"
#include "phenoscale/par/partition.hpp"
#include "knn_detail.hpp"
#include "score_kernel.hpp"

namespace phenoscale::ml {
namespace {

using core::cat;
using RowMatrix = Eigen::Matrix<float, Eigen::Dynamic, Eigen::Dynamic, Eigen::RowMajor>;

using detail::Candidate;
using detail::nearer;
using detail::result_distance;
using detail::squared_distance;
using detail::TopK;

// Rows minus a common shift (the global mean), so that the norms in the GEMM
// identity are of the spread of the data rather than of its offset; the
// difference is exact in double and rounded once to float.
struct Shifted {
  RowMatrix rows;
  Eigen::VectorXd norms;  // squared, of the float rows, in double
};
Shifted shifted(const float* data, std::uint64_t rows, std::uint64_t cols, const std::vector<double>& shift) {
  Shifted s{RowMatrix(rows, cols), Eigen::VectorXd::Zero(rows)};
  for (std::uint64_t i = 0; i < rows; ++i) {
    for (std::uint64_t c = 0; c < cols; ++c) {
      const float v = static_cast<float>(static_cast<double>(data[i * cols + c]) - shift[c]);
      s.rows(i, c) = v;
      s.norms[i] += static_cast<double>(v) * v;
    }
  }
  return s;
}

// Collective: every rank knows N and k, so every rank refuses alike (one error line).
void check_k(std::uint64_t k, std::uint64_t n, const par::Comm& comm) {
  par::collectively(comm, [&] {
    if (k < 1 || k >= n) throw ConfigError(cat("kNN: k = ", k, " must be in [1, N-1] for N = ", n, " rows"));
  });
}

using detail::finish;

// Offers one local row the block rows (global index first + j) whose kernel
// score s[j] passes its filter limit; the limit tightens as its heap fills.
// The score only filters (the margin covers its rounding, so no true
// neighbour is lost); the kept value is the direct distance.
template <typename Limit>
void offer_passing(const float* s, std::size_t count, const float* row, const float* block, std::uint64_t d,
                   std::int64_t first, std::int64_t self, TopK& top, Limit&& limit_of) {
  float limit = limit_of(top.worst_d2());
  for (std::size_t j = detail::next_at_most(s, 0, count, limit); j < count;
       j = detail::next_at_most(s, j + 1, count, limit)) {
    const auto gj = first + static_cast<std::int64_t>(j);
    if (gj == self) continue;
    top.offer({squared_distance(row, block + j * d, d), gj});
    limit = limit_of(top.worst_d2());
  }
}

// Offers every row of one block (global rows [block_first, ...)) to every local row.
void scan_block(const ShardedMatrix& x, const Shifted& mine, const std::vector<double>& shift,
                const float* block, std::uint64_t block_rows, std::uint64_t block_first,
                std::vector<TopK>& best) {
  const std::uint64_t d = x.cols;
  const Shifted theirs = shifted(block, block_rows, d, shift);
  const RowMatrix& xd = mine.rows;
  const RowMatrix& bd = theirs.rows;
  const Eigen::VectorXd& xnorm = mine.norms;
  const Eigen::VectorXd& bnorm = theirs.norms;
  // The score's float rounding (FMA dot product) and that of the shifted rows stay below
  // (d + 4)·2⁻²⁴·(‖x‖² + ‖y‖²); the filter margin is four times that.
  const double margin = 4.0 * (static_cast<double>(d) + 4.0) * std::ldexp(1.0, -24);
  // The filter `approx > threshold + margin·scale`, rearranged as the shared
  // score kernel's key(c) − 2 x·c <= limit(x) (the float rounding of key and
  // limit is far inside the fourfold margin): key = ‖y‖²(1 − margin) per
  // block row, limit = threshold − ‖x‖²(1 − margin) per local row.
  std::vector<float> column_key(block_rows);
  for (std::uint64_t j = 0; j < block_rows; ++j) column_key[j] = static_cast<float>(bnorm[j] * (1.0 - margin));
  auto row_limit = [&](std::uint64_t li, double threshold) {
    return static_cast<float>(threshold - xnorm[li] * (1.0 - margin));
  };
  // Column tiles small enough for a tile (d × 1000 floats) and its scores to
  // stay in L2 while a chunk of local rows runs over it. Not 1024: the kernel
  // reads the d rows of a packed tile kp floats apart, and a 4 KiB stride puts
  // them all in one L1 set (11.3 s against 6.9 s for 10^5 × 15 on one core).
  constexpr std::uint64_t row_chunk = 128, col_tile = 1000;
  std::vector<detail::Packed> tiles;
  for (std::uint64_t c0 = 0; c0 < block_rows; c0 += col_tile) {
    const std::uint64_t nc = std::min(col_tile, block_rows - c0);
    tiles.push_back(detail::pack(bd.data() + c0 * d, column_key.data() + c0, nc, d));
  }
  const auto local_rows = static_cast<std::int64_t>(x.local_rows);
#pragma omp parallel
  {
    std::vector<float> scores(detail::kRows * ((col_tile + detail::kTile - 1) / detail::kTile * detail::kTile));
    std::vector<float> padded;
#pragma omp for schedule(dynamic)
    for (std::int64_t r0 = 0; r0 < local_rows; r0 += static_cast<std::int64_t>(row_chunk)) {
      const auto nr = static_cast<std::uint64_t>(std::min<std::int64_t>(row_chunk, local_rows - r0));
      for (std::size_t t = 0; t < tiles.size(); ++t) {
        const detail::Packed& tile = tiles[t];
        const std::uint64_t c0 = t * col_tile;
        for (std::uint64_t i0 = 0; i0 < nr; i0 += detail::kRows) {
          const std::uint64_t n = std::min<std::uint64_t>(detail::kRows, nr - i0);
          detail::scores_block(xd.data() + (r0 + i0) * d, n, tile, scores.data(), padded);
          for (std::uint64_t i = 0; i < n; ++i) {
            const std::uint64_t li = r0 + i0 + i;
            offer_passing(scores.data() + i * tile.kp, tile.k, x.row(li), block + c0 * d, d,
                          static_cast<std::int64_t>(block_first + c0), static_cast<std::int64_t>(x.first_row + li),
                          best[li], [&](double threshold) { return row_limit(li, threshold); });
          }
        }
      }
    }
  }
}

}  // namespace

KnnResult exact_knn(const ShardedMatrix& x, std::uint64_t k, const par::Comm& comm) {
  check_k(k, x.global_rows, comm);
  const int ranks = comm.size(), rank = comm.rank();
  const auto partition = par::BlockPartition::over(x.global_rows, comm);
  std::uint64_t max_rows = 0;
  for (int r = 0; r < ranks; ++r) max_rows = std::max(max_rows, partition.range(r).size());

  // The shift only moves the GEMM filter, never the kept distances, so its
  // rank-count-dependent rounding cannot change the result.
  std::vector<double> shift(x.cols, 0.0);
  for (std::uint64_t i = 0; i < x.local_rows; ++i) {
    for (std::uint64_t c = 0; c < x.cols; ++c) shift[c] += x.row(i)[c];
  }
  comm.allreduce_sum_inplace(shift);
  for (auto& s : shift) s /= static_cast<double>(x.global_rows);
  const Shifted mine = shifted(x.data.data(), x.local_rows, x.cols, shift);
  std::vector<TopK> best(x.local_rows, TopK(k));
  std::vector<float> current(max_rows * x.cols), next(max_rows * x.cols);
  std::copy(x.data.begin(), x.data.end(), current.begin());

  // Ring: at step s this rank holds the block of rank (rank - s) mod P and
  // passes it on to rank + 1 while scanning it, so communication overlaps compute.
  core::Progress progress("ml knn (rows x ring steps)", x.global_rows * ranks, ranks);
  const int to = (rank + 1) % ranks, from = (rank + ranks - 1) % ranks;
  for (int step = 0; step < ranks; ++step) {
    const int holder = (rank - step + ranks) % ranks;
    const auto held = partition.range(holder);
    par::Comm::Requests requests;
    const bool pass = step + 1 < ranks;
    if (pass) {
      const auto incoming = partition.range((holder - 1 + ranks) % ranks);
      comm.post_receive(next.data(), incoming.size() * x.cols, from, requests);
      comm.post_send(current.data(), held.size() * x.cols, to, requests);
    }
    scan_block(x, mine, shift, current.data(), held.size(), held.begin, best);
    progress.advance(x.local_rows);
    if (pass) {
      par::Comm::wait_all(requests);
      std::swap(current, next);
    }
  }
  progress.finish();
  return finish(best, k, x.first_row, x.global_rows);
}

namespace {

// Every rank holds the same gathered rows, so every rank throws together.
void check_finite_rows(const std::vector<float>& all, std::uint64_t d, const char* what) {
  for (std::size_t i = 0; i < all.size(); ++i)
    if (!std::isfinite(all[i]))
      throw InputError(cat(what, ": row ", i / d, " holds ", all[i], " at column ", i % d,
                           "; missing coordinates (NaN) need the nan-euclidean distance"));
}

// Distinct rows of the gathered matrix, in order of first occurrence, with the
// global indices of their copies (ascending).
struct DistinctRows {
  std::vector<std::uint64_t> first;                 // row index of each distinct vector's first copy
  std::vector<std::vector<std::int64_t>> members;   // per distinct vector
  std::vector<std::uint32_t> of_row;                // distinct id of every row
};

DistinctRows distinct_rows(const std::vector<float>& all, std::uint64_t n, std::uint64_t d) {
  DistinctRows out;
  out.of_row.resize(n);
  std::unordered_map<std::string_view, std::uint32_t> seen;
  const auto* bytes = reinterpret_cast<const char*>(all.data());
  for (std::uint64_t i = 0; i < n; ++i) {
    const std::string_view key(bytes + i * d * sizeof(float), d * sizeof(float));
    auto [it, fresh] = seen.emplace(key, static_cast<std::uint32_t>(out.first.size()));
    if (fresh) {
      out.first.push_back(i);
      out.members.emplace_back();
    }
    out.of_row[i] = it->second;
    out.members[it->second].push_back(static_cast<std::int64_t>(i));
  }
  return out;
}

// The k + 1 nearest rows (the query's own copies included) of one distinct
// vector, in the strict (distance, index) order of exact_knn: distinct vectors
// ordered by squared distance, and the copies of vectors at the same distance
// merged by row index.
std::vector<Candidate> nearest_rows(const std::vector<float>& all, std::uint64_t d, const DistinctRows& rows,
                                    std::uint32_t query, std::uint64_t want, Distance distance) {
  const float* q = all.data() + rows.first[query] * d;
  std::vector<std::pair<double, std::uint32_t>> by_distance(rows.first.size());
  for (std::uint32_t u = 0; u < by_distance.size(); ++u) {
    const float* r = all.data() + rows.first[u] * d;
    by_distance[u] = {distance == Distance::euclidean ? squared_distance(q, r, d) : nan_squared_distance(q, r, d), u};
  }
  std::sort(by_distance.begin(), by_distance.end());
  std::vector<Candidate> out;
  out.reserve(want);
  for (std::size_t a = 0; a < by_distance.size() && out.size() < want;) {
    std::size_t b = a;
    std::vector<std::int64_t> level;
    while (b < by_distance.size() && by_distance[b].first == by_distance[a].first) {
      const auto& m = rows.members[by_distance[b].second];
      level.insert(level.end(), m.begin(), m.end());
      ++b;
    }
    std::sort(level.begin(), level.end());
    for (auto index : level) {
      if (out.size() == want) break;
      out.push_back({by_distance[a].first, index});
    }
    a = b;
  }
  return out;
}

}  // namespace

KnnResult exact_knn_deduplicated(const ShardedMatrix& x, std::uint64_t k, const par::Comm& comm, Distance distance) {
  check_k(k, x.global_rows, comm);
  const std::vector<float> all = gather_rows(x, comm);
  if (distance == Distance::euclidean) check_finite_rows(all, x.cols, "kNN (euclidean)");
  const DistinctRows rows = distinct_rows(all, x.global_rows, x.cols);
  // One search per distinct vector held here (k + 1 rows: the query's own copy
  // is among them and is then left out of its own list).
  std::vector<std::uint32_t> queries;
  for (std::uint64_t i = 0; i < x.local_rows; ++i) queries.push_back(rows.of_row[x.first_row + i]);
  std::sort(queries.begin(), queries.end());
  queries.erase(std::unique(queries.begin(), queries.end()), queries.end());
  std::vector<std::vector<Candidate>> found(queries.size());
#pragma omp parallel for schedule(dynamic, 16)
  for (std::int64_t j = 0; j < static_cast<std::int64_t>(queries.size()); ++j)
    found[static_cast<std::size_t>(j)] = nearest_rows(all, x.cols, rows, queries[static_cast<std::size_t>(j)], k + 1, distance);
  // Each list is in the strict (distance, index) order already, so a row's k
  // nearest are its query's first k entries other than itself: no per-row
  // heap (at the paper's K, 16 bytes × k × rows and many small blocks).
  KnnResult r = detail::sized_result(k, x.first_row, x.local_rows, x.global_rows);
  for (std::uint64_t i = 0; i < x.local_rows; ++i) {
    const auto self = static_cast<std::int64_t>(x.first_row + i);
    const auto j = std::lower_bound(queries.begin(), queries.end(), rows.of_row[self]) - queries.begin();
    std::uint64_t taken = 0;
    for (const auto& c : found[static_cast<std::size_t>(j)]) {
      if (taken == k) break;
      if (c.index == self) continue;
      r.neighbours[i * k + taken] = c.index;
      r.distances[i * k + taken] = result_distance(c.d2);
      ++taken;
    }
  }
  return r;
}

KnnResult nearest_prefix(const KnnResult& knn, std::uint64_t k) {
  if (k < 1 || k > knn.k) throw ConfigError(cat("kNN prefix: k = ", k, " must be in [1, ", knn.k, "]"));
  // Only the metadata is copied: a copy of the whole result, resized down,
  // would keep the largest K's allocation (a resize never frees capacity).
  KnnResult r = detail::sized_result(k, knn.first_row, knn.local_rows, knn.global_rows);
  for (std::uint64_t i = 0; i < knn.local_rows; ++i)
    for (std::uint64_t j = 0; j < k; ++j) {
      r.neighbours[i * k + j] = knn.neighbours[i * knn.k + j];
      r.distances[i * k + j] = knn.distances[i * knn.k + j];
    }
  return r;
}

KnnResult knn_from_distances(const ShardedMatrix& distances, std::uint64_t k, const par::Comm& comm) {
  const std::uint64_t n = distances.global_rows;
  par::collectively(comm, [&] {
    if (distances.cols != n)
      throw InputError(cat("kNN: a precomputed distance matrix must be N × N, found ", n, " × ", distances.cols));
  });
  check_k(k, n, comm);
  std::vector<TopK> best(distances.local_rows, TopK(k));
  par::collectively(comm, [&] {
    for (std::uint64_t i = 0; i < distances.local_rows; ++i) {
      const float* row = distances.row(i);
      const std::uint64_t self = distances.first_row + i;
      for (std::uint64_t j = 0; j < n; ++j) {
        if (row[j] < 0.0f) {
          throw InputError(cat("kNN: precomputed distance d(", self, ", ", j, ") = ", row[j], " is negative"));
        }
        if (j == self) continue;
        const double d = row[j];
        best[i].offer({d * d, static_cast<std::int64_t>(j)});
      }
    }
  });
  return finish(best, k, distances.first_row, n);
}

KnnMetric parse_knn_metric(const std::string& name, const std::string& key) {
  if (name == distance_name(Distance::euclidean)) return KnnMetric::euclidean;
  if (name == distance_name(Distance::nan_euclidean)) return KnnMetric::nan_euclidean;
  if (name == "precomputed") return KnnMetric::precomputed;
  throw ConfigError(cat(key, " = \"", name, "\" is not one of euclidean, nan-euclidean, precomputed"));
}

KnnResult knn(const ShardedMatrix& x, std::uint64_t k, KnnMetric metric, const par::Comm& comm) {
  switch (metric) {
    case KnnMetric::euclidean:
      return exact_knn(x, k, comm);
    case KnnMetric::nan_euclidean:
      return exact_knn_deduplicated(x, k, comm, Distance::nan_euclidean);
    case KnnMetric::precomputed:
      break;
  }
  return knn_from_distances(x, k, comm);
}

}  // namespace phenoscale::ml
