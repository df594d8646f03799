// `phenoscale ml communities`: phenotype communities of the symmetrised kNN
// graph (DeepHACKS, Ma et al. 2024) by our distributed Louvain or Leiden,
// spectral clustering (ml/spectral.hpp) or an igraph reference method
// (ml/louvain.hpp); builds the kNN graph itself or reuses
// the /neighbours of an `ml knn` output.
#include "phenoscale/app/ml_stages.hpp"
#include "phenoscale/app/stage_io.hpp"
#include "phenoscale/core/error.hpp"
#include "phenoscale/core/log.hpp"
#include "phenoscale/io/provenance.hpp"
#include "phenoscale/io/sample_array.hpp"
#include "phenoscale/ml/graph.hpp"
#include "phenoscale/ml/knn.hpp"
#include "phenoscale/ml/louvain.hpp"
#include "phenoscale/ml/matrix.hpp"
#include "phenoscale/par/agree.hpp"

namespace phenoscale::app {
namespace {

using core::cat;

// The /neighbours and /distances of an `ml knn` output, checked against N.
ml::KnnResult read_knn(const std::string& path, const par::Comm& comm) {
  io::H5File in = io::H5File::open(path, comm);
  const auto neighbours = io::read_samples<std::int64_t>(in, "/neighbours");
  const auto distances = io::read_samples<float>(in, "/distances");
  ml::KnnResult r;
  r.k = neighbours.sample_shape.empty() ? 1 : neighbours.sample_shape[0];
  r.first_row = neighbours.rows.begin;
  r.local_rows = neighbours.rows.size();
  r.global_rows = neighbours.global_rows;
  par::check_all(comm, distances.global_rows == r.global_rows && distances.sample_size() == r.k,
                 cat(in.where("/distances"), ": expected shape [", r.global_rows, ", ", r.k,
                     "] like /neighbours, found ", distances.global_rows, " rows of ", distances.sample_size()));
  par::collectively(comm, [&] {
    for (std::size_t i = 0; i < neighbours.data.size(); ++i) {
      const auto j = neighbours.data[i];
      if (j < 0 || static_cast<std::uint64_t>(j) >= r.global_rows) {
        throw InputError(cat(in.where("/neighbours"), ": neighbour ", j, " of row ", r.first_row + i / r.k,
                             " is outside [0, ", r.global_rows, ")"));
      }
    }
  });
  r.neighbours = neighbours.data;
  r.distances = distances.data;
  return r;
}

void run_communities(const StageContext& ctx) {
  const auto& cfg = ctx.config;
  const std::string graph_file = cfg.string("communities.graph");
  if (graph_file.empty()) {
    require_setting(ctx, "communities.input",
                    "give the features with --input FILE.h5:/features (or a kNN output with "
                    "--set communities.graph=knn.h5)");
  }
  const ml::CommunityOptions options = community_options(cfg);
  ml::EdgeWeighting weighting;
  weighting.gaussian = cfg.string("communities.weights") == "gaussian";
  weighting.sigma = cfg.real("communities.sigma");

  ml::KnnResult knn;
  std::string input;
  if (!graph_file.empty()) {
    core::ScopedTimer t(ctx.timers, "read");
    input = graph_file;
    knn = read_knn(graph_file, ctx.comm);
  } else {
    const auto spec = ml::parse_dataset_spec(cfg.string("communities.input"));
    const auto metric = ml::parse_knn_metric(cfg.string("communities.metric"), "communities.metric");
    input = spec.file;
    ml::ShardedMatrix x;
    {
      core::ScopedTimer t(ctx.timers, "read");
      x = ml::read_matrix(spec, ctx.comm, metric == ml::KnnMetric::nan_euclidean);
    }
    const auto k = static_cast<std::uint64_t>(cfg.integer("communities.k"));
    par::check_all(ctx.comm, k < x.global_rows,
                   cat("communities.k = ", k, " must be below N = ", x.global_rows, " rows of ",
                       cfg.string("communities.input")));
    if (metric == ml::KnnMetric::precomputed) check_precomputed(cfg.string("communities.input"), x, ctx.comm);
    core::ScopedTimer t(ctx.timers, "knn");
    knn = ml::knn(x, k, metric, ctx.comm);
  }
  ml::DistGraph graph;
  {
    core::ScopedTimer t(ctx.timers, "graph");
    graph = ml::symmetrise(knn, weighting, ctx.comm);
  }
  par::check_all(ctx.comm, options.method != "spectral" || options.clusters <= graph.global_vertices,
                 cat("communities.clusters = ", options.clusters, " exceeds the ", graph.global_vertices,
                     " vertices of the graph of ", input));
  const auto edges = ctx.comm.allreduce_sum(static_cast<std::uint64_t>(graph.local_edges())) / 2;
  core::Log::info(cat("ml communities: ", graph.global_vertices, " vertices, ", edges, " edges (k = ", knn.k,
                      "), method ", options.method, ", on ", ctx.comm.size(), " rank(s)"));
  ml::Communities found;
  {
    core::ScopedTimer t(ctx.timers, "communities");
    found = ml::detect_communities(graph, options, ctx.comm);
  }
  core::Log::info(cat("ml communities: ", found.count, " communities, modularity ", found.modularity, ", ",
                      found.levels, " level(s)"));
  core::ScopedTimer t(ctx.timers, "write");
  const std::string path = output_path(cfg, cfg.string("communities.output"));
  make_parent_dir(ctx, path);
  io::H5File out = io::H5File::create(path, ctx.comm);
  io::write_samples(out, "/labels", found.labels, {});
  for (const std::string object : {"/", "/labels"}) {
    out.write_attribute(object, "modularity", found.modularity);
    out.write_attribute(object, "communities", static_cast<std::int64_t>(found.count));
    out.write_attribute(object, "method", found.method);
    out.write_attribute(object, "levels", static_cast<std::int64_t>(found.levels));
    out.write_attribute(object, "min_size", static_cast<std::int64_t>(options.min_size));
    out.write_attribute(object, "merged_communities", static_cast<std::int64_t>(found.merged));
  }
  io::write_provenance(out, stage_provenance(ctx, {input}));
  out.commit();
  core::Log::info("ml communities: wrote " + path);
}

}  // namespace

ml::CommunityOptions community_options(const core::Config& cfg) {
  ml::CommunityOptions options;
  options.method = cfg.string("communities.method");
  options.resolution = cfg.real("communities.resolution");
  options.tolerance = cfg.real("communities.tolerance");
  options.max_iterations = static_cast<int>(cfg.integer("communities.max_iterations"));
  options.max_levels = static_cast<int>(cfg.integer("communities.max_levels"));
  options.seed = static_cast<std::uint64_t>(cfg.integer("run.seed"));
  options.clusters = static_cast<std::uint64_t>(cfg.integer("communities.clusters"));
  options.max_clusters = static_cast<std::uint64_t>(cfg.integer("communities.max_clusters"));
  options.min_size = static_cast<std::uint64_t>(cfg.integer("communities.min_size"));
  return options;
}

void add_ml_communities_keys(core::Schema& s) {
  s.string("communities.input", "",
           "Features FILE.h5:/dataset (N × d; /features when no dataset is named); required unless "
           "communities.graph is set")
      .string("communities.output", "communities.h5",
              "Output file (inside run.output_dir unless absolute or ./-prefixed)")
      .string("communities.graph", "",
              "An `ml knn` output whose /neighbours and /distances define the graph; empty = build it from the input")
      .integer("communities.k", 15, "Neighbours per vertex of the kNN graph (when it is built here)", 1, 100000)
      .string("communities.metric", "euclidean",
              "euclidean: rows are feature vectors; nan-euclidean: NaN coordinates are missing (as knn.metric); "
              "precomputed: rows are an N × N distance matrix (SAX/ACF)",
              {"euclidean", "nan-euclidean", "precomputed"})
      .string("communities.weights", "unit", "Edge weights of the symmetrised kNN graph: unit (1) or gaussian "
              "(exp(-d²/σ²))", {"unit", "gaussian"})
      .real("communities.sigma", 1.0, "σ of the gaussian edge weights", 1e-300)
      .string("communities.method", "louvain",
              "louvain, leiden (distributed, ours; leiden's communities are connected), igraph-louvain, "
              "igraph-leiden, igraph-infomap (rank 0 over the gathered graph), spectral (distributed: SLEPc "
              "eigenvectors of D^-1/2 W D^-1/2, then k-means)",
              {"louvain", "leiden", "igraph-louvain", "igraph-leiden", "igraph-infomap", "spectral"})
      .real("communities.resolution", 1.0, "Modularity resolution γ", 0.0)
      .real("communities.tolerance", 1e-6, "A Louvain/Leiden sweep gaining less modularity than this ends a level",
            0.0)
      .integer("communities.max_iterations", 100, "Louvain/Leiden sweeps per level at most", 1, 1e6)
      .integer("communities.max_levels", 32, "Louvain/Leiden coarsening levels at most", 1, 1000)
      .integer("communities.clusters", 0,
               "spectral: number of k-means clusters; 0 = the largest eigengap among the first "
               "communities.max_clusters + 1 eigenvalues", 0, 1e6)
      .integer("communities.max_clusters", 10, "spectral: most clusters the eigengap may choose", 1, 1000)
      .integer("communities.min_size", 1,
               "Communities with fewer vertices join the community they have the most kNN edges into, before "
               "the partition is scored (PhenoGraph's min_cluster_size; 1: keep every community)", 1, 1e12);
}

Stage ml_communities_stage() {
  return {"communities",
          "Communities of the symmetrised kNN graph (distributed Louvain or spectral, or igraph) -> /labels",
          run_communities, {{"input", "communities.input"}, {"output", "communities.output"}}};
}

}  // namespace phenoscale::app
