#include "phenoscale/ml/graph.hpp"

#include <algorithm>
#include <cmath>
#include <numeric>

#include "phenoscale/core/error.hpp"
#include "phenoscale/core/log.hpp"

namespace phenoscale::ml {

using core::cat;

DistGraph graph_from_arcs(std::uint64_t global_vertices, const std::vector<std::int64_t>& sources,
                          const std::vector<std::int64_t>& targets, const std::vector<double>& weights,
                          Duplicates duplicates, const par::Comm& comm) {
  const int ranks = comm.size();
  const par::BlockPartition partition(global_vertices, ranks);
  std::vector<std::vector<std::int64_t>> out_source(ranks), out_target(ranks);
  std::vector<std::vector<double>> out_weight(ranks);
  for (std::size_t e = 0; e < sources.size(); ++e) {
    const int owner = partition.owner(static_cast<std::uint64_t>(sources[e]));
    out_source[owner].push_back(sources[e]);
    out_target[owner].push_back(targets[e]);
    out_weight[owner].push_back(weights[e]);
  }
  const auto src = all_to_all(out_source, comm);
  const auto dst = all_to_all(out_target, comm);
  const auto w = all_to_all(out_weight, comm);

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
  for (std::size_t p = 0; p < order.size(); ++p) {
    const std::size_t a = order[p];
    if (p > 0 && src[order[p - 1]] == src[a] && dst[order[p - 1]] == dst[a]) {
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

DistGraph symmetrise(const KnnResult& knn, const EdgeWeighting& weighting, const par::Comm& comm) {
  if (weighting.gaussian && !(weighting.sigma > 0.0)) {
    throw ConfigError(cat("kNN graph: the Gaussian similarity needs sigma > 0, found ", weighting.sigma));
  }
  std::vector<std::int64_t> sources, targets;
  std::vector<double> weights;
  sources.reserve(2 * knn.neighbours.size());
  targets.reserve(2 * knn.neighbours.size());
  weights.reserve(2 * knn.neighbours.size());
  for (std::uint64_t i = 0; i < knn.local_rows; ++i) {
    const auto self = static_cast<std::int64_t>(knn.first_row + i);
    for (std::uint64_t j = 0; j < knn.k; ++j) {
      const std::int64_t other = knn.neighbours_of(i)[j];
      const double d = knn.distances_of(i)[j];
      const double w = weighting.gaussian ? std::exp(-d * d / (weighting.sigma * weighting.sigma)) : 1.0;
      // Both directions: the reverse arc reaches the owner of `other` through the exchange.
      sources.push_back(self);
      targets.push_back(other);
      weights.push_back(w);
      sources.push_back(other);
      targets.push_back(self);
      weights.push_back(w);
    }
  }
  return graph_from_arcs(knn.global_rows, sources, targets, weights, Duplicates::max, comm);
}

namespace {
template <typename T>
std::vector<T> allgather_vector(const std::vector<T>& local, const par::Comm& comm) {
  const auto counts = comm.allgather(static_cast<int>(local.size()));
  std::vector<int> displs(counts.size(), 0);
  for (std::size_t r = 1; r < counts.size(); ++r) displs[r] = displs[r - 1] + counts[r - 1];
  std::vector<T> all(displs.back() + counts.back());
  MPI_Allgatherv(local.data(), static_cast<int>(local.size()), par::mpi_type<T>(), all.data(), counts.data(),
                 displs.data(), par::mpi_type<T>(), comm.raw());
  return all;
}
}  // namespace

EdgeList gather_edges(const DistGraph& graph, const par::Comm& comm) {
  EdgeList local;
  for (std::uint64_t v = 0; v < graph.local_vertices(); ++v) {
    const auto u = static_cast<std::int64_t>(graph.first_vertex + v);
    for (std::uint64_t e = graph.offsets[v]; e < graph.offsets[v + 1]; ++e) {
      if (graph.targets[e] < u) continue;
      local.from.push_back(u);
      local.to.push_back(graph.targets[e]);
      local.weight.push_back(graph.weights[e]);
    }
  }
  return {allgather_vector(local.from, comm), allgather_vector(local.to, comm),
          allgather_vector(local.weight, comm)};
}

}  // namespace phenoscale::ml
