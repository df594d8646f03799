#include "phenoscale/ml/graph.hpp"

#include <algorithm>
#include <cmath>
#include <numeric>

#include "phenoscale/core/error.hpp"
#include "phenoscale/core/log.hpp"
#include "graph_detail.hpp"

namespace phenoscale::ml {

using core::cat;

namespace {

// Directed arcs bucketed by the rank that owns their source vertex.
struct ArcBuckets {
  std::vector<std::vector<std::int64_t>> source, target;
  std::vector<std::vector<double>> weight;
  // Sized once from the counts per owner: growing by doubling would hold up
  // to twice the arcs, and the process keeps its high-water mark.
  explicit ArcBuckets(const std::vector<std::size_t>& counts)
      : source(counts.size()), target(counts.size()), weight(counts.size()) {
    for (std::size_t r = 0; r < counts.size(); ++r) {
      source[r].reserve(counts[r]);
      target[r].reserve(counts[r]);
      weight[r].reserve(counts[r]);
    }
  }
  void add(int owner, std::int64_t from, std::int64_t to, double w) {
    source[owner].push_back(from);
    target[owner].push_back(to);
    weight[owner].push_back(w);
  }
};

// The all-to-all, then the sent buckets are freed: at the paper's K (2560
// neighbours of 37,000 samples) the arcs are GBs a rank, and keeping what was
// sent beside what arrived doubled the peak.
template <typename T>
std::vector<T> exchange_and_free(std::vector<std::vector<T>>& outgoing, const par::Comm& comm) {
  auto received = comm.alltoallv(outgoing);
  std::vector<std::vector<T>>().swap(outgoing);
  return received;
}

DistGraph graph_from_buckets(std::uint64_t global_vertices, ArcBuckets buckets, Duplicates duplicates,
                             const par::Comm& comm) {
  const par::BlockPartition partition(global_vertices, comm.size());
  const auto src = exchange_and_free(buckets.source, comm);
  const auto dst = exchange_and_free(buckets.target, comm);
  const auto w = exchange_and_free(buckets.weight, comm);

  // Sorting by (source, target) gives CSR order; the order of arrival must not
  // matter, so equal arcs are combined by a commutative rule.
  std::vector<std::size_t> order(src.size());
  std::iota(order.begin(), order.end(), 0);
  std::sort(order.begin(), order.end(), [&](std::size_t a, std::size_t b) {
    return src[a] != src[b] ? src[a] < src[b] : dst[a] != dst[b] ? dst[a] < dst[b] : w[a] < w[b];
  });
  const auto mine = partition.range(comm.rank());
  DistGraph g;
  g.global_vertices = global_vertices;
  g.first_vertex = mine.begin;
  g.offsets.assign(mine.size() + 1, 0);
  const auto repeats = [&](std::size_t p) {
    return p > 0 && src[order[p - 1]] == src[order[p]] && dst[order[p - 1]] == dst[order[p]];
  };
  // Sized once: growing by doubling would briefly hold 1.5× the edges.
  std::size_t distinct = 0;
  for (std::size_t p = 0; p < order.size(); ++p) distinct += !repeats(p);
  g.targets.reserve(distinct);
  g.weights.reserve(distinct);
  for (std::size_t p = 0; p < order.size(); ++p) {
    const std::size_t a = order[p];
    if (repeats(p)) {
      double& last = g.weights.back();
      last = duplicates == Duplicates::sum ? last + w[a] : std::max(last, w[a]);
      continue;
    }
    g.targets.push_back(dst[a]);
    g.weights.push_back(w[a]);
    ++g.offsets[src[a] - mine.begin + 1];
  }
  std::partial_sum(g.offsets.begin(), g.offsets.end(), g.offsets.begin());
  return g;
}

}  // namespace

DistGraph graph_from_arcs(std::uint64_t global_vertices, const std::vector<std::int64_t>& sources,
                          const std::vector<std::int64_t>& targets, const std::vector<double>& weights,
                          Duplicates duplicates, const par::Comm& comm) {
  const par::BlockPartition partition(global_vertices, comm.size());
  const auto owner = [&](std::size_t e) { return partition.owner(static_cast<std::uint64_t>(sources[e])); };
  std::vector<std::size_t> counts(comm.size(), 0);
  for (std::size_t e = 0; e < sources.size(); ++e) ++counts[owner(e)];
  ArcBuckets buckets(counts);
  for (std::size_t e = 0; e < sources.size(); ++e) buckets.add(owner(e), sources[e], targets[e], weights[e]);
  return graph_from_buckets(global_vertices, std::move(buckets), duplicates, comm);
}

DistGraph symmetrise(const KnnResult& knn, const EdgeWeighting& weighting, const par::Comm& comm) {
  if (weighting.gaussian && !(weighting.sigma > 0.0)) {
    throw ConfigError(cat("kNN graph: the Gaussian similarity needs sigma > 0, found ", weighting.sigma));
  }
  // The arcs go straight into their owners' buckets (no flat copy first).
  const par::BlockPartition partition(knn.global_rows, comm.size());
  const auto owner = [&](std::int64_t vertex) { return partition.owner(static_cast<std::uint64_t>(vertex)); };
  std::vector<std::size_t> counts(comm.size(), 0);
  for (std::uint64_t i = 0; i < knn.local_rows; ++i) {
    counts[owner(static_cast<std::int64_t>(knn.first_row + i))] += knn.k;
    for (std::uint64_t j = 0; j < knn.k; ++j) ++counts[owner(knn.neighbours_of(i)[j])];
  }
  ArcBuckets buckets(counts);
  for (std::uint64_t i = 0; i < knn.local_rows; ++i) {
    const auto self = static_cast<std::int64_t>(knn.first_row + i);
    for (std::uint64_t j = 0; j < knn.k; ++j) {
      const std::int64_t other = knn.neighbours_of(i)[j];
      const double d = knn.distances_of(i)[j];
      const double w = weighting.gaussian ? std::exp(-d * d / (weighting.sigma * weighting.sigma)) : 1.0;
      // Both directions: the reverse arc reaches the owner of `other` through the exchange.
      buckets.add(owner(self), self, other, w);
      buckets.add(owner(other), other, self, w);
    }
  }
  return graph_from_buckets(knn.global_rows, std::move(buckets), Duplicates::max, comm);
}

namespace {
// Every rank's `local` concatenated in rank order on the root (empty
// elsewhere); `local` is freed once sent.
template <typename T>
std::vector<T> gather_and_free(std::vector<T>& local, const par::Comm& comm) {
  auto all = comm.gatherv(local);
  std::vector<T>().swap(local);
  return all;
}

// Calls visit(u, v, weight) for this rank's edges, once each (u < v, plus self-loops).
template <typename Visit>
void for_each_local_edge(const DistGraph& graph, Visit&& visit) {
  for (std::uint64_t v = 0; v < graph.local_vertices(); ++v) {
    const auto u = static_cast<std::int64_t>(graph.first_vertex + v);
    for (std::uint64_t e = graph.offsets[v]; e < graph.offsets[v + 1]; ++e)
      if (graph.targets[e] >= u) visit(u, graph.targets[e], graph.weights[e]);
  }
}
}  // namespace

EdgeList gather_edges(const DistGraph& graph, const par::Comm& comm) {
  EdgeList local;
  for_each_local_edge(graph, [&](std::int64_t u, std::int64_t v, double w) {
    local.from.push_back(u);
    local.to.push_back(v);
    local.weight.push_back(w);
  });
  return {comm.allgatherv(local.from), comm.allgatherv(local.to), comm.allgatherv(local.weight)};
}

namespace detail {
RootEdges gather_edges_on_root(const DistGraph& graph, const par::Comm& comm) {
  RootEdges local;
  for_each_local_edge(graph, [&](std::int64_t u, std::int64_t v, double w) {
    local.ends.push_back(u);
    local.ends.push_back(v);
    local.weight.push_back(w);
  });
  RootEdges all;
  all.ends = gather_and_free(local.ends, comm);
  all.weight = gather_and_free(local.weight, comm);
  return all;
}
}  // namespace detail

}  // namespace phenoscale::ml
