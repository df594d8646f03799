// `phenoscale ml sweep`: cluster at each value of k (k-means) or of the kNN
// neighbour count K (community detection), score every partition and keep
// the best by silhouette. Method options come from the [kmeans],
// [communities] and [quality] sections of the same deck.
#include <algorithm>
#include <cmath>
#include <filesystem>

#include "phenoscale/app/ml_stages.hpp"
#include "phenoscale/app/stage_io.hpp"
#include "phenoscale/core/error.hpp"
#include "phenoscale/core/log.hpp"
#include "phenoscale/io/csv.hpp"
#include "phenoscale/io/sample_array.hpp"
#include "phenoscale/ml/sweep.hpp"
#include "phenoscale/par/agree.hpp"

namespace phenoscale::app {
namespace {

using core::cat;

std::vector<std::int64_t> sorted_values(const core::Config& cfg, std::uint64_t rows) {
  std::vector<std::int64_t> values = cfg.integer_list("sweep.values");
  std::sort(values.begin(), values.end());
  values.erase(std::unique(values.begin(), values.end()), values.end());
  if (values.empty()) throw ConfigError("sweep.values is empty: give the values to try, e.g. [5, 10, 15, 20]");
  if (static_cast<std::uint64_t>(values.back()) >= rows) {
    throw ConfigError(cat("sweep.values: ", values.back(), " is not below the N = ", rows, " input rows"));
  }
  return values;
}

void write_sweep(const StageContext& ctx, const ml::SweepResult& result, const std::string& input) {
  const auto& cfg = ctx.config;
  const std::string path = output_path(cfg, cfg.string("sweep.output"));
  const std::string table = std::filesystem::path(path).replace_extension(".csv").string();  // beside it, same stem
  begin_outputs(ctx, {path, table});
  io::H5File out = io::H5File::create(path, ctx.comm);
  // The sweep table is global: rank 0 contributes every row, the others none.
  const std::size_t n = ctx.comm.is_root() ? result.points.size() : 0;
  std::vector<std::vector<double>> columns(8);
  for (const auto& p : result.points) {
    const double row[] = {double(p.parameter), double(p.clusters), p.silhouette, p.silhouette_stderr,
                          p.davies_bouldin, p.objective, p.adjusted_rand_index, p.nmi};
    for (std::size_t c = 0; c < columns.size(); ++c) columns[c].push_back(row[c]);
  }
  const std::vector<std::string> names = {"parameter", "clusters", "silhouette", "silhouette_stderr",
                                          "davies_bouldin", "objective", "adjusted_rand_index", "nmi"};
  for (std::size_t c = 0; c < names.size(); ++c) io::write_samples(out, "/" + names[c], columns[c].data(), n, {});
  io::write_samples(out, "/labels", result.best_labels(), {});
  const ml::SweepPoint& best = result.points[result.best];
  out.write_attribute("/", "method", cfg.string("sweep.method"));
  out.write_attribute("/", "best_parameter", best.parameter);
  out.write_attribute("/", "best_clusters", best.clusters);
  out.write_attribute("/", "best_silhouette", best.silhouette);
  out.write_attribute("/", "criterion", std::string("highest silhouette; ties: smaller parameter"));
  out.write_attribute("/", "distance", cfg.string("quality.distance"));
  io::write_provenance(out, stage_provenance(ctx, {input}));
  out.commit();

  par::collectively(ctx.comm, [&] {
    if (ctx.comm.is_root()) io::write_csv_table(table, names, columns);
  });
  core::Log::info(cat("ml sweep: best ", cfg.string("sweep.method") == "kmeans" ? "k" : "K", " = ",
                      best.parameter, " (", best.clusters, " clusters, silhouette ", best.silhouette,
                      "); wrote ", path, " and ", table));
}

void run_sweep(const StageContext& ctx) {
  const auto& cfg = ctx.config;
  require_setting(ctx, "sweep.input", "give the features with --input FILE.h5:/features");
  const auto spec = ml::parse_dataset_spec(cfg.string("sweep.input"));
  const ml::SilhouetteOptions quality = silhouette_options(cfg);
  const bool missing = quality.distance == ml::Distance::nan_euclidean;
  par::collectively(ctx.comm, [&] {  // one agreed error line
    if (missing && cfg.string("sweep.method") == "kmeans") {
      throw ConfigError("sweep.method = \"kmeans\" needs quality.distance = \"euclidean\" (k-means has no missing "
                        "coordinates); sweep.method = \"communities\" takes nan-euclidean");
    }
  });
  ml::ShardedMatrix x;
  std::vector<std::int64_t> reference, values;
  {
    core::ScopedTimer t(ctx.timers, "read");
    x = ml::read_matrix(spec, ctx.comm, missing);
    if (!cfg.string("sweep.reference").empty()) reference = ml::read_labels(cfg.string("sweep.reference"), x, ctx.comm);
  }
  par::collectively(ctx.comm, [&] { values = sorted_values(cfg, x.global_rows); });
  core::Log::info(cat("ml sweep: ", cfg.string("sweep.method"), " over ", values.size(), " value(s) on ",
                      x.global_rows, " x ", x.cols, " from ", spec.file, ":", spec.dataset));
  ml::SweepResult result;
  {
    core::ScopedTimer t(ctx.timers, "sweep");
    result = cfg.string("sweep.method") == "kmeans"
                 ? ml::sweep_kmeans(x, values, kmeans_options(cfg), quality, reference, ctx.comm)
                 : ml::sweep_communities(x, values, community_options(cfg), quality, reference, ctx.comm);
  }
  core::ScopedTimer t(ctx.timers, "write");
  write_sweep(ctx, result, spec.file);
}

}  // namespace

void add_ml_sweep_keys(core::Schema& s) {
  s.string("sweep.input", "", "Features FILE.h5:/dataset (N × d; /features when no dataset is named); required")
      .string("sweep.output", "sweep.h5", "Output file (inside run.output_dir unless absolute or ./-prefixed); "
              "a .csv table of the sweep is written next to it")
      .string("sweep.method", "kmeans",
              "What to sweep: kmeans (values are k; options from [kmeans]) or communities (values are the kNN "
              "neighbour count K; options from [communities])",
              {"kmeans", "communities"})
      .integer_list("sweep.values", {2, 3, 4, 5, 6, 7, 8, 9, 10}, "Values of k or K to try", 1, 100000)
      .string("sweep.reference", "", "Optional ground-truth labels FILE.h5:/dataset for ARI and NMI");
}

Stage ml_sweep_stage() {
  return {"sweep", "Choose k (k-means) or K (kNN communities) by silhouette, Davies-Bouldin, ARI/NMI", run_sweep,
          {{"input", "sweep.input"}, {"output", "sweep.output"}}};
}

}  // namespace phenoscale::app
