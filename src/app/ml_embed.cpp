// `phenoscale ml embed`: 2-D t-SNE or UMAP embeddings in embed.components
// dimensions (2 by default) for figures — t-SNE maps of CNN features (tomo
// paper) and UMAPs (McInnes, Healy & Melville 2018) of phenotypes, 3-D in
// DeepHACKS (methods in include/phenoscale/ml/embedding.hpp). Figure-sized
// data only: the rows are gathered to rank 0, which computes; the other
// ranks wait. Laplacian eigenmaps (Belkin & Niyogi 2003; ml/spectral.hpp)
// run distributed on the kNN graph instead: every rank keeps its rows.
#include "phenoscale/app/ml_stages.hpp"
#include "phenoscale/app/stage_io.hpp"
#include "phenoscale/core/error.hpp"
#include "phenoscale/core/log.hpp"
#include "phenoscale/io/provenance.hpp"
#include "phenoscale/io/sample_array.hpp"
#include "phenoscale/ml/embedding.hpp"
#include "phenoscale/ml/graph.hpp"
#include "phenoscale/ml/knn.hpp"
#include "phenoscale/ml/matrix.hpp"
#include "phenoscale/ml/spectral.hpp"
#include "phenoscale/par/agree.hpp"

namespace phenoscale::app {
namespace {

using core::cat;

struct Computed {
  ml::EmbeddingResult result;
  double knn_preservation = 0.0;
};

// "auto" is each method's usual start: PCA for t-SNE (scikit-learn's
// default), the spectral layout for UMAP (umap-learn's).
std::string initialisation(const core::Config& cfg) {
  const std::string init = cfg.string("embed.initialisation");
  if (init != "auto") return init;
  return cfg.string("embed.method") == "umap" ? "spectral" : "pca";
}

Computed compute(const core::Config& cfg, const std::vector<float>& all, std::uint64_t n, std::uint64_t d,
                 std::uint64_t components) {
  const auto init = ml::parse_embedding_init(initialisation(cfg), "embed.initialisation");
  const auto seed = static_cast<std::uint64_t>(cfg.integer("run.seed"));
  const auto max_points = static_cast<std::uint64_t>(cfg.integer("embed.max_points"));
  Computed c;
  if (cfg.string("embed.method") == "tsne") {
    ml::TsneOptions o;
    o.perplexity = cfg.real("embed.perplexity");
    o.iterations = static_cast<std::uint64_t>(cfg.integer("embed.iterations"));
    o.theta = cfg.real("embed.theta");
    o.init = init;
    o.seed = seed;
    o.max_points = max_points;
    o.progress_interval_s = cfg.real("run.progress_interval_s");
    c.result = ml::tsne(all, n, d, o);
  } else {
    ml::UmapOptions o;
    o.n_components = components;
    o.n_neighbors = static_cast<std::uint64_t>(cfg.integer("embed.n_neighbors"));
    o.min_dist = cfg.real("embed.min_dist");
    o.epochs = static_cast<std::uint64_t>(cfg.integer("embed.epochs"));
    o.init = init;
    o.seed = seed;
    o.max_points = max_points;
    o.progress_interval_s = cfg.real("run.progress_interval_s");
    c.result = ml::umap(all, n, d, o);
  }
  if (c.result.coordinates.empty()) return c;  // stopped by a signal: the stop point ends the stage
  c.knn_preservation = ml::knn_preservation(all, d, c.result.coordinates, components, n, 15);
  return c;
}

// Laplacian eigenmaps of the union-symmetrised, unit-weight kNN graph with
// embed.n_neighbors − 1 other points per vertex (UMAP's count, the point
// itself included), distributed: rows stay on their ranks.
void run_spectral_embed(const StageContext& ctx, const ml::ShardedMatrix& x, const std::string& input,
                        std::uint64_t components) {
  const auto& cfg = ctx.config;
  const auto k = static_cast<std::uint64_t>(cfg.integer("embed.n_neighbors")) - 1;
  par::check_all(ctx.comm, k >= 1 && k < x.global_rows && components < x.global_rows,
                 cat(deck_label(cfg), ": spectral embedding of ", x.global_rows, " rows needs embed.n_neighbors - 1 = ",
                     k, " and embed.components = ", components, " below the row count"));
  ml::DistGraph graph;
  {
    core::ScopedTimer t(ctx.timers, "graph");
    graph = ml::symmetrise(ml::exact_knn(x, k, ctx.comm), {}, ctx.comm);
  }
  ml::SpectralOptions o;
  o.seed = static_cast<std::uint64_t>(cfg.integer("run.seed"));
  ml::SpectralDecomposition d;
  ml::ShardedMatrix y;
  {
    core::ScopedTimer t(ctx.timers, "embed");
    y = ml::spectral_embedding(graph, components, o, ctx.comm, &d);
  }
  if (d.components > 1) {
    core::Log::warn(cat("ml embed: the kNN graph has ", d.components, " connected components; the first ",
                        std::min<std::uint64_t>(d.components, components + 1) - 1,
                        " coordinate(s) are component indicators (scaled by D^-1/2)"));
  }
  std::vector<double> laplacian(d.eigenvalues.size());
  for (std::size_t i = 0; i < laplacian.size(); ++i) laplacian[i] = 1.0 - d.eigenvalues[i];
  core::ScopedTimer t(ctx.timers, "write");
  const std::string path = output_path(cfg, cfg.string("embed.output"));
  make_parent_dir(ctx, path);
  io::H5File out = io::H5File::create(path, ctx.comm);
  io::write_samples(out, "/embedding", y.data.data(), y.local_rows, {components});
  out.write_attribute("/embedding", "method", std::string("spectral"));
  out.write_attribute("/embedding", "n_neighbors", cfg.integer("embed.n_neighbors"));
  out.write_attribute("/embedding", "laplacian_eigenvalues", laplacian);
  out.write_attribute("/embedding", "graph_components", static_cast<std::int64_t>(d.components));
  out.write_attribute("/embedding", "iterations", static_cast<std::int64_t>(d.iterations));
  out.write_attribute("/embedding", "seed", cfg.integer("run.seed"));
  io::write_provenance(out, stage_provenance(ctx, {input}));
  out.commit();
  core::Log::info(cat("ml embed: Laplacian eigenmaps of the ", k, "-NN graph, eigenvalues of L_sym ",
                      laplacian.size() > 1 ? laplacian[1] : 0.0, " … ", laplacian.back(), "; wrote ", path));
}

void run_embed(const StageContext& ctx) {
  const auto& cfg = ctx.config;
  require_setting(ctx, "embed.input", "give the features with --input FILE.h5:/dataset");
  const auto spec = ml::parse_dataset_spec(cfg.string("embed.input"));
  const std::string method = cfg.string("embed.method");
  const auto components = static_cast<std::uint64_t>(cfg.integer("embed.components"));
  // Checked collectively: an exception outside agreement would end the job
  // through MPI_Abort instead of one clean error line.
  par::collectively(ctx.comm, [&] {
    // The Barnes–Hut quadtree is two-dimensional (van der Maaten 2014).
    if (method == "tsne" && cfg.string("embed.initialisation") == "spectral") {
      throw ConfigError(cat(deck_label(cfg), ": embed.initialisation = \"spectral\" is UMAP's; t-SNE starts "
                            "from \"pca\" or \"random\""));
    }
    if (method == "tsne" && components != 2) {
      throw ConfigError(cat(deck_label(cfg), ": embed.components = ", components,
                            ", but t-SNE embeds in 2 dimensions only; set embed.components = 2 or "
                            "embed.method = \"umap\""));
    }
  });
  ml::ShardedMatrix x;
  {
    core::ScopedTimer t(ctx.timers, "read");
    x = ml::read_matrix(spec, ctx.comm);
  }
  if (method == "spectral") return run_spectral_embed(ctx, x, spec.file, components);
  // Every rank knows N, so every rank refuses alike before anything is gathered.
  par::collectively(ctx.comm, [&] {
    ml::check_embedding_size(x.global_rows, static_cast<std::uint64_t>(cfg.integer("embed.max_points")));
  });
  const std::uint64_t n = x.global_rows, d = x.cols;
  core::Log::info(cat("ml embed: ", components, "-D ", method, " of ", n, " × ", d, " ", spec.file, ":",
                      spec.dataset, " on rank 0 of ", ctx.comm.size()));
  std::vector<float> all;  // on rank 0 only: the other ranks need not hold N × d
  {
    core::ScopedTimer t(ctx.timers, "gather");
    all = ctx.comm.gatherv(x.data);
  }
  x = ml::ShardedMatrix{};
  Computed c;
  {
    core::ScopedTimer t(ctx.timers, "embed");
    par::collectively(ctx.comm, [&] {
      if (ctx.comm.is_root()) c = compute(cfg, all, n, d, components);
    });
  }
  std::vector<double> scalars{c.result.kl_divergence, c.knn_preservation, c.result.learning_rate, c.result.a,
                              c.result.b, static_cast<double>(c.result.iterations)};
  ctx.comm.broadcast(scalars);

  core::ScopedTimer t(ctx.timers, "write");
  const std::string path = output_path(cfg, cfg.string("embed.output"));
  make_parent_dir(ctx, path);
  io::H5File out = io::H5File::create(path, ctx.comm);
  io::write_samples(out, "/embedding", c.result.coordinates.data(), ctx.comm.is_root() ? n : 0, {components});
  out.write_attribute("/embedding", "method", method);
  out.write_attribute("/embedding", "knn_preservation", scalars[1]);
  out.write_attribute("/embedding", "knn_preservation_k", std::int64_t{15});
  out.write_attribute("/embedding", "iterations", static_cast<std::int64_t>(scalars[5]));
  out.write_attribute("/embedding", "initialisation", initialisation(cfg));
  out.write_attribute("/embedding", "seed", cfg.integer("run.seed"));
  if (method == "tsne") {
    out.write_attribute("/embedding", "kl_divergence", scalars[0]);
    out.write_attribute("/embedding", "perplexity", cfg.real("embed.perplexity"));
    out.write_attribute("/embedding", "theta", cfg.real("embed.theta"));
    out.write_attribute("/embedding", "learning_rate", scalars[2]);
  } else {
    out.write_attribute("/embedding", "n_neighbors", cfg.integer("embed.n_neighbors"));
    out.write_attribute("/embedding", "min_dist", cfg.real("embed.min_dist"));
    out.write_attribute("/embedding", "a", scalars[3]);
    out.write_attribute("/embedding", "b", scalars[4]);
  }
  io::write_provenance(out, stage_provenance(ctx, {spec.file}));
  out.commit();
  core::Log::info(cat("ml embed: kNN preservation (k = 15) ", scalars[1],
                      method == "tsne" ? cat(", KL divergence ", scalars[0]) : std::string(), "; wrote ", path));
}

}  // namespace

void add_ml_embed_keys(core::Schema& s) {
  s.string("embed.input", "", "Features to embed, FILE.h5:/dataset (N × d; /features when omitted); required")
      .string("embed.output", "embed.h5", "Output file (inside run.output_dir unless absolute or ./-prefixed)")
      .string("embed.method", "tsne",
              "Barnes-Hut t-SNE, UMAP (both on rank 0), or spectral: Laplacian eigenmaps of the kNN graph "
              "(embed.n_neighbors, unit weights; distributed, PETSc/SLEPc)",
              {"tsne", "umap", "spectral"})
      .real("embed.perplexity", 30.0, "t-SNE perplexity (uses the 3·perplexity + 1 nearest neighbours)", 1.0, 1e4)
      .integer("embed.iterations", 1000, "t-SNE iterations, including 250 of early exaggeration 12", 1, 1e7)
      .real("embed.theta", 0.5, "t-SNE Barnes-Hut opening angle (0 = exact, O(N^2) per iteration)", 0.0, 10.0)
      .integer("embed.components", 2,
               "Output dimensions (N × components); UMAP takes 1 to 10 (3 for DeepHACKS), t-SNE only 2", 1, 10)
      .integer("embed.n_neighbors", 15,
               "UMAP and spectral: neighbours per point, the point itself included", 2, 10000)
      .real("embed.min_dist", 0.1, "UMAP minimum distance of the low-dimensional kernel (spread 1)", 0.0, 10.0)
      .integer("embed.epochs", 0, "UMAP epochs; 0 = 500 for N <= 10^4, 200 above", 0, 1e7)
      .integer("embed.max_points", 100000, "Largest N accepted (embeddings run on one rank)", 3, 1e9)
      .string("embed.initialisation", "auto",
              "Initial layout: first embed.components principal components (t-SNE: std 1e-4; UMAP: "
              "rescaled to [0, 10]; components beyond the input features random), random from run.seed, "
              "spectral (UMAP only: Laplacian eigenvectors of the fuzzy graph, rescaled to [0, 10]), or auto "
              "(t-SNE: pca as scikit-learn, UMAP: spectral as umap-learn)",
              {"auto", "pca", "random", "spectral"});
}

Stage ml_embed_stage() {
  return {"embed",
          "2-D t-SNE (Barnes-Hut), UMAP or Laplacian-eigenmap (embed.components-D) embedding for figures",
          run_embed,
          {{"input", "embed.input"}, {"output", "embed.output"}}};
}

}  // namespace phenoscale::app
