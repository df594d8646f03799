// Graph pieces shared by graph.cpp and the igraph bridge in louvain.cpp, not
// part of the public ml interface.
#pragma once

#include "phenoscale/ml/graph.hpp"

namespace phenoscale::ml::detail {

// Every edge once, in gather_edges' order, as igraph takes them: `ends` is
// u0, v0, u1, v1, ... (igraph_create reads it in place).
struct RootEdges {
  std::vector<std::int64_t> ends;
  std::vector<double> weight;
};

// Collective. The edges on the root only (empty elsewhere): igraph runs on
// one rank, so the other ranks need not hold the whole graph (at the paper's
// teacher K, tens of millions of edges).
RootEdges gather_edges_on_root(const DistGraph& graph, const par::Comm& comm);

}  // namespace phenoscale::ml::detail
