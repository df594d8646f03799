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
// on every rank (the tests and the benchmark export; the igraph bridge gathers
// the same order on one rank only).
struct EdgeList {
  std::vector<std::int64_t> from, to;
  std::vector<double> weight;
};
EdgeList gather_edges(const DistGraph& graph, const par::Comm& comm);

}  // namespace phenoscale::ml
