// Graph pieces shared by graph.cpp and the igraph bridge in louvain.cpp, not
// part of the public ml interface.
#pragma once

#include "phenoscale/ml/graph.hpp"

namespace phenoscale::ml::detail {

// Collective. gather_edges' list on the root only (empty elsewhere): igraph
// runs on one rank, so the other ranks need not hold the whole graph (at the
// paper's teacher K, 24 bytes × tens of millions of edges on every rank).
EdgeList gather_edges_on_root(const DistGraph& graph, const par::Comm& comm);

}  // namespace phenoscale::ml::detail
