// Approximate kNN: IVF-Flat (Jégou, Douze & Schmid 2011) on distributed
// k-means centroids; see include/phenoscale/ml/ann.hpp for the scheme.
//
// Every distance that decides anything (a row's nearest centroids, a query's
// neighbours) is the double distance of knn_detail.hpp with ties to the lower
// index. Float GEMMs of mean-shifted rows only filter, with the rounding
// margin of exact_knn, so they never change a decision.
#include "phenoscale/ml/ann.hpp"

#include <Eigen/Dense>
#include <algorithm>
#include <chrono>
#include <cmath>
#include <numeric>

#include "knn_detail.hpp"
#include "phenoscale/core/error.hpp"
#include "phenoscale/core/log.hpp"
#include "phenoscale/core/rng.hpp"
#include "phenoscale/ml/kmeans.hpp"
#include "phenoscale/par/agree.hpp"
#include "phenoscale/par/partition.hpp"

namespace phenoscale::ml {
namespace {

using core::cat;
using detail::Candidate;
using detail::TopK;
using RowMatrix = Eigen::Matrix<float, Eigen::Dynamic, Eigen::Dynamic, Eigen::RowMajor>;

// A set of rows with their global ids: the raw values the result is measured
// on, and the shifted float copy with squared norms the filter works on.
struct Rows {
  std::uint64_t d = 0;
  std::vector<float> raw;          // n × d
  std::vector<std::int64_t> ids;   // n
  RowMatrix shifted;
  Eigen::VectorXd norms;
  std::size_t size() const { return ids.size(); }
  const float* row(std::size_t i) const { return raw.data() + i * d; }
};

// Fills `shifted` and `norms` from `raw`.
void prepare(Rows& r, const std::vector<double>& shift) {
  const std::size_t n = r.size();
  r.shifted.resize(static_cast<Eigen::Index>(n), static_cast<Eigen::Index>(r.d));
  r.norms = Eigen::VectorXd::Zero(static_cast<Eigen::Index>(n));
  for (std::size_t i = 0; i < n; ++i) {
    for (std::uint64_t c = 0; c < r.d; ++c) {
      const float v = static_cast<float>(static_cast<double>(r.raw[i * r.d + c]) - shift[c]);
      r.shifted(static_cast<Eigen::Index>(i), static_cast<Eigen::Index>(c)) = v;
      r.norms[static_cast<Eigen::Index>(i)] += static_cast<double>(v) * v;
    }
  }
}

// Offers every candidate row to every query row's heap (tops[q]), skipping a
// candidate with the query's own id. The float GEMM value only filters: the
// margin (as exact_knn's) exceeds its rounding, so no true neighbour is lost.
std::uint64_t filtered_scan(const Rows& q, const Rows& c, TopK* const* tops) {
  const std::uint64_t d = q.d;
  const double margin = 4.0 * (static_cast<double>(d) + 4.0) * std::ldexp(1.0, -24);
  const auto nq = static_cast<std::int64_t>(q.size()), nc_all = static_cast<std::int64_t>(c.size());
  Eigen::VectorXf key(nc_all);
  for (std::int64_t j = 0; j < nc_all; ++j) key[j] = static_cast<float>(c.norms[j] * (1.0 - margin));
  auto row_limit = [&](std::int64_t i, double threshold) {
    return static_cast<float>(threshold - q.norms[i] * (1.0 - margin));
  };
  constexpr std::int64_t row_chunk = 128, col_tile = 1024;
  RowMatrix gram;
  for (std::int64_t r0 = 0; r0 < nq; r0 += row_chunk) {
    const std::int64_t nr = std::min(row_chunk, nq - r0);
    for (std::int64_t c0 = 0; c0 < nc_all; c0 += col_tile) {
      const std::int64_t nc = std::min(col_tile, nc_all - c0);
      gram.noalias() = q.shifted.middleRows(r0, nr) * c.shifted.middleRows(c0, nc).transpose();
      for (std::int64_t i = 0; i < nr; ++i) {
        const std::int64_t qi = r0 + i;
        const std::int64_t self = q.ids[static_cast<std::size_t>(qi)];
        TopK& top = *tops[qi];
        float limit = row_limit(qi, top.worst_d2());
        const float* g = gram.data() + i * nc;
        for (std::int64_t j = 0; j < nc; ++j) {
          if (key[c0 + j] - 2.0f * g[j] > limit) continue;
          const std::int64_t cj = c.ids[static_cast<std::size_t>(c0 + j)];
          if (cj == self) continue;
          top.offer({detail::squared_distance(q.row(static_cast<std::size_t>(qi)), c.row(static_cast<std::size_t>(c0 + j)), d), cj});
          limit = row_limit(qi, top.worst_d2());
        }
      }
    }
  }
  return static_cast<std::uint64_t>(nq) * static_cast<std::uint64_t>(nc_all);
}

// Bytes of an all-to-all's payload that leave this rank (counts per peer, in
// elements of `size` bytes; the part sent to itself is a local copy).
std::uint64_t bytes_to_others(const std::vector<std::uint64_t>& counts, std::size_t size, int self) {
  std::uint64_t n = 0;
  for (int r = 0; r < static_cast<int>(counts.size()); ++r)
    if (r != self) n += counts[static_cast<std::size_t>(r)] * size;
  return n;
}

double seconds_since(std::chrono::steady_clock::time_point start) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
}

void check_options(std::uint64_t k, std::uint64_t n, const ApproximateKnnOptions& o) {
  if (k < 1 || k >= n) throw ConfigError(cat("knn.k = ", k, " must be in [1, N-1] for N = ", n, " rows"));
  if (o.probes < 1) throw ConfigError(cat("knn.probes = ", o.probes, " must be at least 1"));
  if (o.train_rows_per_list < 1) throw ConfigError("approximate kNN: train_rows_per_list must be at least 1");
  if (o.kmeans_iterations < 1) throw ConfigError("approximate kNN: kmeans_iterations must be at least 1");
}

std::uint64_t list_count(std::uint64_t n, const ApproximateKnnOptions& o) {
  const std::uint64_t auto_lists = static_cast<std::uint64_t>(std::llround(std::sqrt(static_cast<double>(n))));
  return std::clamp<std::uint64_t>(o.lists == 0 ? auto_lists : o.lists, 1, n);
}

std::vector<double> global_mean(const ShardedMatrix& x, const par::Comm& comm) {
  std::vector<double> shift(x.cols, 0.0);
  for (std::uint64_t i = 0; i < x.local_rows; ++i)
    for (std::uint64_t c = 0; c < x.cols; ++c) shift[c] += x.row(i)[c];
  comm.allreduce_sum_inplace(shift);
  for (auto& s : shift) s /= static_cast<double>(x.global_rows);
  return shift;
}

// The k-means training rows: each row kept with a probability drawn from its
// global index, in global order (so the sample does not depend on the ranks).
ShardedMatrix training_sample(const ShardedMatrix& x, std::uint64_t want, std::uint64_t seed,
                              const par::Comm& comm) {
  const double keep = static_cast<double>(want) / static_cast<double>(x.global_rows);
  if (keep >= 1.0) return x;
  ShardedMatrix s;
  s.cols = x.cols;
  for (std::uint64_t i = 0; i < x.local_rows; ++i) {
    if (core::Rng(seed, core::Stream::knn, x.first_row + i).uniform() >= keep) continue;
    s.data.insert(s.data.end(), x.row(i), x.row(i) + x.cols);
    ++s.local_rows;
  }
  s.first_row = comm.exscan_sum(s.local_rows);
  s.global_rows = comm.allreduce_sum(s.local_rows);
  return s;
}

// The inverted-list centroids as rows with ids 0..lists-1.
Rows fit_centroids(const ShardedMatrix& x, std::uint64_t lists, const ApproximateKnnOptions& o,
                   const std::vector<double>& shift, const par::Comm& comm, std::uint64_t& train_rows) {
  ShardedMatrix sample = training_sample(x, lists * o.train_rows_per_list, o.seed, comm);
  if (sample.global_rows < lists) sample = x;  // too few drawn: train on everything
  train_rows = sample.global_rows;
  KMeansOptions km;
  km.k = static_cast<std::int64_t>(lists);
  km.n_init = 1;
  km.max_iter = o.kmeans_iterations;
  km.seed = o.seed;
  const KMeansResult fit = kmeans_fit(sample, km, comm);
  Rows c;
  c.d = x.cols;
  c.raw.assign(fit.centroids.begin(), fit.centroids.end());  // double -> float once, same on every rank
  c.ids.resize(lists);
  std::iota(c.ids.begin(), c.ids.end(), 0);
  prepare(c, shift);
  return c;
}

// Local rows [first, first + n) of x with global ids.
Rows local_block(const ShardedMatrix& x, std::uint64_t first, std::uint64_t n, const std::vector<double>& shift) {
  Rows r;
  r.d = x.cols;
  r.raw.assign(x.row(first), x.row(first) + n * x.cols);
  r.ids.resize(n);
  std::iota(r.ids.begin(), r.ids.end(), static_cast<std::int64_t>(x.first_row + first));
  prepare(r, shift);
  return r;
}

// Every local row's `want` nearest centroids, nearest first (local_rows × want).
std::vector<std::int32_t> nearest_centroids(const ShardedMatrix& x, const Rows& centroids, std::uint64_t want,
                                            const std::vector<double>& shift) {
  std::vector<std::int32_t> out(x.local_rows * want);
  constexpr std::int64_t chunk = 2048;
  const auto n = static_cast<std::int64_t>(x.local_rows);
#pragma omp parallel for schedule(dynamic)
  for (std::int64_t r0 = 0; r0 < n; r0 += chunk) {
    const std::int64_t nr = std::min(chunk, n - r0);
    Rows q = local_block(x, static_cast<std::uint64_t>(r0), static_cast<std::uint64_t>(nr), shift);
    std::fill(q.ids.begin(), q.ids.end(), -1);  // a row is never a centroid: nothing to skip
    std::vector<TopK> best(static_cast<std::size_t>(nr), TopK(want));
    std::vector<TopK*> tops(best.size());
    for (std::size_t i = 0; i < best.size(); ++i) tops[i] = &best[i];
    filtered_scan(q, centroids, tops.data());
    for (std::int64_t i = 0; i < nr; ++i) {
      const auto sorted = best[static_cast<std::size_t>(i)].sorted();
      for (std::uint64_t j = 0; j < want; ++j)
        out[static_cast<std::size_t>(r0 + i) * want + j] = static_cast<std::int32_t>(sorted[j].index);
    }
  }
  return out;
}

// The lists one local row searches: its `probes` nearest, then further lists
// in order of distance until they hold at least k other rows.
std::vector<std::int32_t> probe_lists(const float* row, const std::int32_t* nearest, std::uint64_t probes,
                                      const Rows& centroids, const std::vector<std::int64_t>& sizes,
                                      std::uint64_t k) {
  std::vector<std::int32_t> out(nearest, nearest + probes);
  std::uint64_t members = 0;
  for (auto l : out) members += static_cast<std::uint64_t>(sizes[static_cast<std::size_t>(l)]);
  if (members >= k + 1) return out;
  std::vector<Candidate> all(centroids.size());
  for (std::size_t l = 0; l < all.size(); ++l)
    all[l] = {detail::squared_distance(row, centroids.row(l), centroids.d), static_cast<std::int64_t>(l)};
  std::sort(all.begin(), all.end(), detail::nearer);
  for (std::size_t j = probes; j < all.size() && members < k + 1; ++j) {
    out.push_back(static_cast<std::int32_t>(all[j].index));
    members += static_cast<std::uint64_t>(sizes[static_cast<std::size_t>(all[j].index)]);
  }
  return out;
}

// The inverted lists this rank owns (lists block-distributed by id), filled
// by one all-to-all of every row to the owner of its nearest centroid.
struct OwnedLists {
  par::Range range;
  std::vector<Rows> lists;  // range.size() of them
};

OwnedLists build_lists(const ShardedMatrix& x, const std::vector<std::int32_t>& assignment,
                       const par::BlockPartition& owners, const std::vector<double>& shift, const par::Comm& comm,
                       std::uint64_t& bytes_sent) {
  const int ranks = comm.size();
  std::vector<std::vector<std::uint64_t>> to(static_cast<std::size_t>(ranks));
  for (std::uint64_t i = 0; i < x.local_rows; ++i) to[static_cast<std::size_t>(owners.owner(assignment[i]))].push_back(i);
  std::vector<std::int64_t> meta;
  std::vector<float> rows;
  std::vector<std::uint64_t> meta_counts(ranks), row_counts(ranks);
  for (int r = 0; r < ranks; ++r) {
    for (auto i : to[static_cast<std::size_t>(r)]) {
      meta.push_back(static_cast<std::int64_t>(x.first_row + i));
      meta.push_back(assignment[i]);
      rows.insert(rows.end(), x.row(i), x.row(i) + x.cols);
    }
    meta_counts[r] = 2 * to[static_cast<std::size_t>(r)].size();
    row_counts[r] = x.cols * to[static_cast<std::size_t>(r)].size();
  }
  bytes_sent += bytes_to_others(meta_counts, sizeof(std::int64_t), comm.rank()) +
                bytes_to_others(row_counts, sizeof(float), comm.rank());
  std::vector<std::uint64_t> recv_counts;
  const auto got_meta = comm.alltoallv(meta, meta_counts, recv_counts);
  const auto got_rows = comm.alltoallv(rows, row_counts, recv_counts);
  OwnedLists own{owners.range(comm.rank()), {}};
  own.lists.resize(own.range.size());
  for (auto& l : own.lists) l.d = x.cols;
  for (std::size_t m = 0; m < got_meta.size() / 2; ++m) {
    Rows& l = own.lists[static_cast<std::size_t>(got_meta[2 * m + 1]) - own.range.begin];
    l.ids.push_back(got_meta[2 * m]);
    l.raw.insert(l.raw.end(), got_rows.begin() + static_cast<std::ptrdiff_t>(m * x.cols),
                 got_rows.begin() + static_cast<std::ptrdiff_t>((m + 1) * x.cols));
  }
  for (auto& l : own.lists) prepare(l, shift);
  return own;
}

// Queries as they travel to list owners: per query its global id, the number
// of lists it probes at the receiver, those list ids; its row separately.
struct QueryBatch {
  std::vector<std::int64_t> meta;
  std::vector<float> rows;
  std::vector<std::uint64_t> meta_counts, row_counts;  // per peer rank
};

QueryBatch route_queries(const ShardedMatrix& x, const std::vector<std::vector<std::int32_t>>& probes,
                         const par::BlockPartition& owners, int ranks) {
  QueryBatch b;
  b.meta_counts.assign(ranks, 0);
  b.row_counts.assign(ranks, 0);
  std::vector<std::vector<std::int32_t>> at(static_cast<std::size_t>(ranks));
  for (int r = 0; r < ranks; ++r) {
    const std::size_t meta_before = b.meta.size(), rows_before = b.rows.size();
    for (std::uint64_t i = 0; i < x.local_rows; ++i) {
      std::vector<std::int64_t> here;
      for (auto l : probes[i])
        if (owners.owner(static_cast<std::uint64_t>(l)) == r) here.push_back(l);
      if (here.empty()) continue;
      b.meta.push_back(static_cast<std::int64_t>(x.first_row + i));
      b.meta.push_back(static_cast<std::int64_t>(here.size()));
      b.meta.insert(b.meta.end(), here.begin(), here.end());
      b.rows.insert(b.rows.end(), x.row(i), x.row(i) + x.cols);
    }
    b.meta_counts[r] = b.meta.size() - meta_before;
    b.row_counts[r] = b.rows.size() - rows_before;
  }
  return b;
}

// A received query: where its meta record starts and which rank sent it.
struct Received {
  std::size_t meta_at;
  int source;
};

// The answers to received queries, in their (source-rank) order: per query
// its global id and k neighbour ids (k + 1 values), and k squared distances.
struct Replies {
  std::vector<std::int64_t> ids;
  std::vector<double> d2;
};

// Searches the owned lists for queries [q0, q0 + nq); writes each query's
// k best (index −1 / d² ∞ where fewer) into `out` at its position.
std::uint64_t search_chunk(const std::vector<Received>& queries, std::size_t q0, std::size_t nq,
                           const std::vector<std::int64_t>& meta, const std::vector<float>& rows,
                           const OwnedLists& own, std::uint64_t k, std::uint64_t d,
                           const std::vector<double>& shift, Replies& out) {
  std::vector<std::vector<std::size_t>> by_list(own.lists.size());
  for (std::size_t q = q0; q < q0 + nq; ++q) {
    const std::size_t at = queries[q].meta_at;
    for (std::int64_t j = 0; j < meta[at + 1]; ++j)
      by_list[static_cast<std::size_t>(meta[at + 2 + static_cast<std::size_t>(j)]) - own.range.begin].push_back(q);
  }
  std::vector<TopK> best(nq, TopK(k));
  std::uint64_t pairs = 0;
  for (std::size_t l = 0; l < by_list.size(); ++l) {
    if (by_list[l].empty() || own.lists[l].size() == 0) continue;
    Rows q;
    q.d = d;
    std::vector<TopK*> tops;
    for (auto qi : by_list[l]) {
      q.ids.push_back(meta[queries[qi].meta_at]);
      q.raw.insert(q.raw.end(), rows.begin() + static_cast<std::ptrdiff_t>(qi * d),
                   rows.begin() + static_cast<std::ptrdiff_t>((qi + 1) * d));
      tops.push_back(&best[qi - q0]);
    }
    prepare(q, shift);
    pairs += filtered_scan(q, own.lists[l], tops.data());
  }
  for (std::size_t i = 0; i < nq; ++i) {
    auto sorted = best[i].sorted();
    sorted.resize(k, {std::numeric_limits<double>::infinity(), -1});
    const std::size_t q = q0 + i;
    out.ids[q * (k + 1)] = meta[queries[q].meta_at];
    for (std::uint64_t j = 0; j < k; ++j) {
      out.ids[q * (k + 1) + 1 + j] = sorted[j].index;
      out.d2[q * k + j] = sorted[j].d2;
    }
  }
  return pairs;
}

// Answers the queries this rank received: per query its k best among the
// owned lists it probes, sent back to the query's rank.
std::vector<Received> index_queries(const std::vector<std::int64_t>& meta,
                                    const std::vector<std::uint64_t>& meta_counts) {
  std::vector<Received> out;
  std::size_t at = 0;
  for (int r = 0; r < static_cast<int>(meta_counts.size()); ++r) {
    const std::size_t end = at + meta_counts[static_cast<std::size_t>(r)];
    while (at < end) {
      out.push_back({at, r});
      at += 2 + static_cast<std::size_t>(meta[at + 1]);
    }
  }
  return out;
}

}  // namespace

KnnResult approximate_knn(const ShardedMatrix& x, std::uint64_t k, const ApproximateKnnOptions& options,
                          const par::Comm& comm, ApproximateKnnStats* stats) {
  check_options(k, x.global_rows, options);
  const int ranks = comm.size();
  const std::uint64_t lists = list_count(x.global_rows, options);
  const std::uint64_t probes = std::min(options.probes, lists);
  const std::uint64_t d = x.cols;
  const std::vector<double> shift = global_mean(x, comm);
  ApproximateKnnStats st;
  st.lists = lists;
  st.probes = probes;
  st.local_rows = x.local_rows;

  // 1. Index: centroids, every row's nearest centroids, list sizes, the lists.
  auto start = std::chrono::steady_clock::now();
  const Rows centroids = fit_centroids(x, lists, options, shift, comm, st.train_rows);
  st.train_seconds = seconds_since(start);
  start = std::chrono::steady_clock::now();
  const std::vector<std::int32_t> nearest = nearest_centroids(x, centroids, probes, shift);
  st.assign_seconds = seconds_since(start);
  std::vector<std::int32_t> assignment(x.local_rows);
  std::vector<std::int64_t> sizes(lists, 0);
  for (std::uint64_t i = 0; i < x.local_rows; ++i) {
    assignment[i] = nearest[i * probes];
    ++sizes[static_cast<std::size_t>(assignment[i])];
  }
  comm.allreduce_sum_inplace(sizes);
  st.largest_list = static_cast<std::uint64_t>(*std::max_element(sizes.begin(), sizes.end()));
  const auto owners = par::BlockPartition(lists, ranks);
  OwnedLists own = build_lists(x, assignment, owners, shift, comm, st.bytes_sent);
  for (const auto& l : own.lists) st.owned_list_rows += l.size();

  // 2. Queries to the owners of their probed lists.
  std::vector<std::vector<std::int32_t>> probed(x.local_rows);
  for (std::uint64_t i = 0; i < x.local_rows; ++i)
    probed[i] = probe_lists(x.row(i), nearest.data() + i * probes, probes, centroids, sizes, k);
  std::vector<std::uint64_t> meta_counts, row_counts;
  std::vector<std::int64_t> meta;
  std::vector<float> rows;
  {
    const QueryBatch sent = route_queries(x, probed, owners, ranks);
    st.bytes_sent += bytes_to_others(sent.meta_counts, sizeof(std::int64_t), comm.rank()) +
                     bytes_to_others(sent.row_counts, sizeof(float), comm.rank());
    meta = comm.alltoallv(sent.meta, sent.meta_counts, meta_counts);
    rows = comm.alltoallv(sent.rows, sent.row_counts, row_counts);
  }
  std::vector<std::vector<std::int32_t>>().swap(probed);

  // 3. Search the owned lists, in chunks of queries (one heap per query in a chunk).
  const std::vector<Received> queries = index_queries(meta, meta_counts);
  Replies back{std::vector<std::int64_t>(queries.size() * (k + 1)), std::vector<double>(queries.size() * k)};
  constexpr std::size_t chunk = 8192;
  std::uint64_t pairs = 0;
  st.queries_received = queries.size();
  start = std::chrono::steady_clock::now();
  const auto n_chunks = static_cast<std::int64_t>((queries.size() + chunk - 1) / chunk);
#pragma omp parallel for schedule(dynamic) reduction(+ : pairs)
  for (std::int64_t c = 0; c < n_chunks; ++c) {
    const std::size_t q0 = static_cast<std::size_t>(c) * chunk;
    pairs += search_chunk(queries, q0, std::min(chunk, queries.size() - q0), meta, rows, own, k, d, shift, back);
  }
  st.search_seconds = seconds_since(start);
  st.local_distances = pairs;
  st.distances = comm.allreduce_sum(pairs);
  std::vector<float>().swap(rows);
  std::vector<std::int64_t>().swap(meta);
  std::vector<Rows>().swap(own.lists);

  // 4. Partial lists back to the query's rank and merged there.
  std::vector<std::uint64_t> id_counts(ranks, 0), d2_counts(ranks, 0);
  for (const auto& q : queries) {
    id_counts[q.source] += k + 1;
    d2_counts[q.source] += k;
  }
  st.bytes_sent += bytes_to_others(id_counts, sizeof(std::int64_t), comm.rank()) +
                   bytes_to_others(d2_counts, sizeof(double), comm.rank());
  std::vector<std::uint64_t> got_id_counts, got_d2_counts;
  const auto got_ids = comm.alltoallv(back.ids, id_counts, got_id_counts);
  const auto got_d2 = comm.alltoallv(back.d2, d2_counts, got_d2_counts);
  back = {};
  std::vector<TopK> best(x.local_rows, TopK(k));
  for (std::size_t m = 0; m < got_d2.size() / k; ++m) {
    TopK& top = best[static_cast<std::size_t>(got_ids[m * (k + 1)]) - x.first_row];
    for (std::uint64_t j = 0; j < k; ++j) {
      const std::int64_t index = got_ids[m * (k + 1) + 1 + j];
      if (index >= 0) top.offer({got_d2[m * k + j], index});
    }
  }
  bool complete = true;
  for (const auto& top : best) complete = complete && top.full();
  par::check_all(comm, complete, "approximate kNN: a query found fewer than k neighbours (internal error)");
  if (stats) *stats = st;
  return detail::finish(best, k, x.first_row, x.global_rows);
}

KnnMethod parse_knn_method(const std::string& name, const std::string& key) {
  if (name == "exact") return KnnMethod::exact;
  if (name == "approximate") return KnnMethod::approximate;
  throw ConfigError(cat(key, " = \"", name, "\" is not one of exact, approximate"));
}

}  // namespace phenoscale::ml
