// Distributed undirected weighted graphs in CSR shards, built from kNN lists.
//
// DeepHACKS (Ma et al. 2024) finds protrusion phenotypes as communities of the
// symmetrised kNN graph. Vertices are split into the same BlockPartition
// blocks as the data rows; each rank stores the adjacency rows of its own
// vertices with global column ids, both directions of every edge, so degree
// and neighbourhood queries never leave the rank. Self-loops appear only in
// coarsened graphs (community-internal weight, stored once, counted once in
// the degree — the convention the Louvain gains use).
#pragma once

#include <mpi.h>

#include <cstdint>
#include <string>
#include <vector>

#include "phenoscale/ml/knn.hpp"
#include "phenoscale/par/comm.hpp"
#include "phenoscale/par/partition.hpp"

namespace phenoscale::ml {

struct DistGraph {
  std::uint64_t global_vertices = 0;
  std::uint64_t first_vertex = 0;          // global id of local vertex 0
  std::vector<std::uint64_t> offsets{0};   // local_vertices + 1
  std::vector<std::int64_t> targets;       // global vertex ids, sorted within a row
  std::vector<double> weights;

  std::uint64_t local_vertices() const { return offsets.size() - 1; }
  std::uint64_t local_edges() const { return targets.size(); }
};

// How kNN edges are weighted: 1, or the similarity exp(−d²/σ²).
struct EdgeWeighting {
  bool gaussian = false;
  double sigma = 1.0;
};

// Collective. The union-symmetrised kNN graph: i–j is an edge when j ∈ kNN(i)
// or i ∈ kNN(j); a pair found from both sides is one edge.
DistGraph symmetrise(const KnnResult& knn, const EdgeWeighting& weighting, const par::Comm& comm);

// Collective. Builds the shards from directed arcs (source, target, weight)
// held on any rank; both directions of each edge must be present. Repeated
// arcs are summed (coarsening) or merged to their largest weight (union).
enum class Duplicates { sum, max };
DistGraph graph_from_arcs(std::uint64_t global_vertices, const std::vector<std::int64_t>& sources,
                          const std::vector<std::int64_t>& targets, const std::vector<double>& weights,
                          Duplicates duplicates, const par::Comm& comm);

// Collective. Every edge once (u < v, plus self-loops u == v) in global order
// on every rank: the layout igraph and the benchmark export want.
struct EdgeList {
  std::vector<std::int64_t> from, to;
  std::vector<double> weight;
};
EdgeList gather_edges(const DistGraph& graph, const par::Comm& comm);

// Collective. Personalised all-to-all: `outgoing[r]` goes to rank r; returns
// what every rank sent here, concatenated in source-rank order (per-source
// counts in `received_counts` when given, for replying in the same order).
template <typename T>
std::vector<T> all_to_all(const std::vector<std::vector<T>>& outgoing, const par::Comm& comm,
                        std::vector<int>* received_counts = nullptr) {
  const int ranks = comm.size();
  std::vector<int> send_counts(ranks), send_displs(ranks, 0), recv_counts(ranks), recv_displs(ranks, 0);
  for (int r = 0; r < ranks; ++r) send_counts[r] = static_cast<int>(outgoing[r].size());
  MPI_Alltoall(send_counts.data(), 1, MPI_INT, recv_counts.data(), 1, MPI_INT, comm.raw());
  for (int r = 1; r < ranks; ++r) {
    send_displs[r] = send_displs[r - 1] + send_counts[r - 1];
    recv_displs[r] = recv_displs[r - 1] + recv_counts[r - 1];
  }
  std::vector<T> send(send_displs.back() + send_counts.back());
  for (int r = 0; r < ranks; ++r) std::copy(outgoing[r].begin(), outgoing[r].end(), send.begin() + send_displs[r]);
  std::vector<T> received(recv_displs.back() + recv_counts.back());
  MPI_Alltoallv(send.data(), send_counts.data(), send_displs.data(), par::mpi_type<T>(), received.data(),
                recv_counts.data(), recv_displs.data(), par::mpi_type<T>(), comm.raw());
  if (received_counts) *received_counts = recv_counts;
  return received;
}

}  // namespace phenoscale::ml
