// Community detection on distributed graphs: distributed Louvain and the
// igraph reference methods.
//
// DeepHACKS (Ma et al. 2024) groups protrusion time series into phenotypes as
// modularity communities of their kNN graph. Our Louvain follows the
// distributed scheme of vite (ECP ExaGraph): vertices stay in their 1-D
// blocks, each rank moves its own vertices greedily (fixed order, lowest-id
// tie-break), colour by colour (a Jones-Plassmann colouring of the cross-rank
// edges, ghosts' community ids refreshed after each colour: docs/methods.md
// §3.5),
// community totals live with the rank owning the community id and are updated
// by exchanged deltas, and communities are coarsened into the vertices of the
// next level until modularity stops improving. Our Leiden (Traag, Waltman &
// van Eck 2019, Algorithms A.1-A.2) adds the refinement phase to the same
// distributed levels: each community is refined, on the rank owning its id,
// into well-connected sub-communities (the greedy, deterministic variant), the
// refined partition is aggregated and the unrefined one is the aggregate's
// starting partition, so every final community is connected. igraph's
// multilevel, Leiden and Infomap run on rank 0 over the gathered graph as
// single-node references.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "phenoscale/ml/graph.hpp"
#include "phenoscale/par/comm.hpp"

namespace phenoscale::ml {

struct CommunityOptions {
  std::string method = "louvain";  // see community_methods()
  double resolution = 1.0;         // γ of the modularity
  double tolerance = 1e-6;         // a sweep gaining less than this ends the level
  int max_iterations = 100;        // sweeps per level
  int max_levels = 32;
  std::uint64_t seed = 1;          // igraph's random choices (Leiden, Infomap); spectral's start vector and k-means
  std::uint64_t clusters = 0;      // spectral: k-means clusters; 0 = from the eigengap
  std::uint64_t max_clusters = 10; // spectral: the eigengap looks at the first max_clusters + 1 eigenvalues
  std::uint64_t min_size = 1;      // communities smaller than this join their best-connected neighbour (1: none)
};

// One level of distributed Louvain/Leiden as seen by this rank (work and
// traffic counters for cost models, tests/bench/run_graph_scaling.sh).
struct CommunityLevel {
  std::uint64_t vertices = 0;        // vertices of the level's graph, all ranks
  std::uint64_t local_vertices = 0;  // this rank's
  std::uint64_t local_arcs = 0;      // arcs stored on this rank (each undirected edge twice)
  std::uint64_t ghosts = 0;          // remote vertices this rank's arcs touch, refreshed per sweep
  int sweeps = 0;                    // local-moving sweeps (each one ghost refresh and one delta exchange)
  double seconds = 0.0;              // this rank's wall time of the level: moving, refinement, aggregation
};

struct Communities {
  std::vector<std::int64_t> labels;  // per local vertex; 0 = largest community
  std::uint64_t count = 0;
  double modularity = 0.0;           // of `labels` on the input graph, at `resolution`
  std::uint64_t merged = 0;          // communities under CommunityOptions::min_size merged into others
  int levels = 0;                    // coarsening levels (1 for flat methods)
  std::vector<CommunityLevel> level_stats;  // distributed louvain and leiden only, one per level run
  std::string method;
};

// The names accepted by CommunityOptions::method.
std::vector<std::string> community_methods();

// Collective. Runs the method named by `options.method`; then, when
// `options.min_size` > 1, every community smaller than it joins the community
// its vertices have the most edge weight into (Seurat's group.singletons,
// PhenoGraph's min_cluster_size), round by round until none can move. Labels
// are renumbered by size afterwards and the modularity is the merged one's.
Communities detect_communities(const DistGraph& graph, const CommunityOptions& options, const par::Comm& comm);

// Collective. Modularity of a partition given as per-local-vertex labels
// (any int64 ids), accumulated in double.
double modularity(const DistGraph& graph, const std::vector<std::int64_t>& labels, double resolution,
                  const par::Comm& comm);

// Collective. The same quantity computed by igraph_modularity on the
// gathered graph (rank 0, broadcast): the independent check of ours.
double igraph_modularity(const DistGraph& graph, const std::vector<std::int64_t>& labels, double resolution,
                         const par::Comm& comm);

}  // namespace phenoscale::ml
