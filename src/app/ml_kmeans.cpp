// `phenoscale ml kmeans`: distributed k-means of a feature matrix (the tomo
// pipeline's CNN-feature subdivision, k = 100; DeepHACKS clustering).
#include <chrono>

#include "phenoscale/app/ml_stages.hpp"
#include "phenoscale/app/stage_io.hpp"
#include "phenoscale/core/error.hpp"
#include "phenoscale/core/log.hpp"
#include "phenoscale/io/hdf5.hpp"
#include "phenoscale/io/provenance.hpp"
#include "phenoscale/io/sample_array.hpp"
#include "phenoscale/ml/kmeans.hpp"
#include "phenoscale/ml/matrix.hpp"
#include "phenoscale/par/agree.hpp"

namespace phenoscale::app {
namespace {

using core::cat;

void run_kmeans(const StageContext& ctx) {
  const auto& cfg = ctx.config;
  require_setting(ctx, "kmeans.input", "give the feature matrix as --input FILE.h5:/dataset");
  const ml::DatasetSpec spec = ml::parse_dataset_spec(cfg.string("kmeans.input"));
  ml::ShardedMatrix x;
  {
    core::ScopedTimer t(ctx.timers, "read");
    x = ml::read_matrix(spec, ctx.comm);
  }

  ml::KMeansOptions opt = kmeans_options(cfg);
  opt.on_restart = [&](const ml::KMeansRestart& r) {
    core::Log::info(cat("ml kmeans: restart ", r.restart + 1, "/", opt.n_init, ": inertia ", r.inertia, " after ",
                        r.iterations, " iteration(s)", r.converged ? "" : " (max_iter reached)", ", ",
                        r.seconds, " s"));
  };
  core::Log::info(cat("ml kmeans: ", x.global_rows, " rows x ", x.cols, " features from ", spec.file, ":",
                      spec.dataset, ", k = ", opt.k, ", init ", opt.init, ", ", opt.n_init, " restart(s), on ",
                      ctx.comm.size(), " rank(s)"));

  ml::KMeansResult result;
  {
    core::ScopedTimer t(ctx.timers, "fit");
    result = ml::kmeans_fit(x, opt, ctx.comm);
  }
  core::Log::info(cat("ml kmeans: kept restart ", result.best_restart + 1, ": inertia ", result.inertia, ", ",
                      result.iterations, " iteration(s)", result.converged ? "" : " (not converged)", ", ",
                      result.k - result.empty_clusters, " non-empty clusters"));
  if (result.empty_clusters > 0) {
    core::Log::warn(cat("ml kmeans: ", result.empty_clusters,
                        " cluster(s) are empty: the data have fewer distinct rows than k = ", result.k));
  }

  core::ScopedTimer t(ctx.timers, "write");
  const std::string path = output_path(cfg, cfg.string("kmeans.output"));
  make_parent_dir(ctx, path);
  io::H5File out = io::H5File::create(path, ctx.comm);
  io::write_samples(out, "/labels", result.labels, {});
  // Global arrays: rank 0 contributes every row, the others none.
  const std::uint64_t rows = ctx.comm.is_root() ? static_cast<std::uint64_t>(result.k) : 0;
  io::write_samples(out, "/centroids", result.centroids.data(), rows, {static_cast<std::uint64_t>(result.d)});
  io::write_samples(out, "/cluster_sizes", result.cluster_sizes.data(), rows, {});
  out.write_attribute("/", "inertia", result.inertia);
  out.write_attribute("/", "iterations", static_cast<std::int64_t>(result.iterations));
  out.write_attribute("/", "converged", static_cast<std::int64_t>(result.converged));
  out.write_attribute("/", "k", result.k);
  out.write_attribute("/", "seed", cfg.integer("run.seed"));
  out.write_attribute("/", "init", opt.init);
  out.write_attribute("/", "n_init", static_cast<std::int64_t>(opt.n_init));
  out.write_attribute("/", "best_restart", static_cast<std::int64_t>(result.best_restart));
  io::write_provenance(out, stage_provenance(ctx, {spec.file}));
  out.commit();
  core::Log::info("ml kmeans: wrote " + path);
}

}  // namespace

ml::KMeansOptions kmeans_options(const core::Config& cfg) {
  ml::KMeansOptions opt;
  opt.k = cfg.integer("kmeans.k");
  opt.n_init = static_cast<int>(cfg.integer("kmeans.n_init"));
  opt.max_iter = static_cast<int>(cfg.integer("kmeans.max_iter"));
  opt.tol = cfg.real("kmeans.tol");
  opt.init = cfg.string("kmeans.init");
  opt.oversampling = cfg.real("kmeans.oversampling");
  opt.rounds = static_cast<int>(cfg.integer("kmeans.rounds"));
  opt.seed = static_cast<std::uint64_t>(cfg.integer("run.seed"));
  return opt;
}

void add_ml_kmeans_keys(core::Schema& s) {
  s.string("kmeans.input", "", "Feature matrix FILE.h5:/dataset (N×d float32/float64; dataset defaults to /features)")
      .string("kmeans.output", "kmeans.h5", "Output file (/labels, /centroids, /cluster_sizes) inside run.output_dir")
      .integer("kmeans.k", 100, "Number of clusters k (at most the number of rows)", 1, 2147483647.0)
      .integer("kmeans.n_init", 3, "Restarts with different seeds; the lowest inertia is kept", 1, 1000)
      .integer("kmeans.max_iter", 300, "Lloyd iterations per restart", 1, 1e7)
      .real("kmeans.tol", 1e-4,
            "Convergence: total squared centroid shift ≤ tol × mean per-feature variance (scikit-learn)", 0.0)
      .string("kmeans.init", "k-means||",
              "Seeding: parallel k-means (Bahmani et al. 2012; the default), greedy k-means++, or random rows",
              {"k-means||", "k-means++", "random"})
      .real("kmeans.oversampling", 2.0, "Parallel seeding: expected candidates per round = oversampling × k", 1e-3, 1e3)
      .integer("kmeans.rounds", 5, "Parallel seeding: sampling rounds", 1, 8);
}

Stage ml_kmeans_stage() {
  return {"kmeans", "Distributed k-means (k-means|| seeding, Lloyd iterations, restarts)", run_kmeans,
          {{"input", "kmeans.input"}, {"output", "kmeans.output"}}};
}

}  // namespace phenoscale::app
