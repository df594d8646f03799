// `phenoscale ml knn`: exact k-nearest neighbours of feature rows (or of a
// precomputed distance matrix) — the kNN graph behind DeepHACKS' protrusion
// phenotype communities (Ma et al. 2024; the search is in ml/knn.hpp).
#include "phenoscale/app/ml_stages.hpp"
#include "phenoscale/app/stage_io.hpp"
#include "phenoscale/core/error.hpp"
#include "phenoscale/core/log.hpp"
#include "phenoscale/io/provenance.hpp"
#include "phenoscale/io/sample_array.hpp"
#include "phenoscale/ml/knn.hpp"
#include "phenoscale/ml/matrix.hpp"

namespace phenoscale::app {
namespace {

using core::cat;

void run_knn(const StageContext& ctx) {
  const auto& cfg = ctx.config;
  require_setting(ctx, "knn.input", "give the features with --input FILE.h5:/features");
  const auto metric = ml::parse_knn_metric(cfg.string("knn.metric"), "knn.metric");
  const auto spec = ml::parse_dataset_spec(cfg.string("knn.input"));
  const auto k = static_cast<std::uint64_t>(cfg.integer("knn.k"));
  ml::ShardedMatrix x;
  {
    core::ScopedTimer t(ctx.timers, "read");
    x = ml::read_matrix(spec, ctx.comm);
  }
  if (k >= x.global_rows) {
    throw ConfigError(cat("knn.k = ", k, " must be below N = ", x.global_rows, " rows of ", cfg.string("knn.input")));
  }
  core::Log::info(cat("ml knn: ", x.global_rows, " rows x ", x.cols, " columns (", cfg.string("knn.metric"),
                      "), k = ", k, ", on ", ctx.comm.size(), " rank(s)"));
  ml::KnnResult result;
  {
    core::ScopedTimer t(ctx.timers, "knn");
    result = ml::knn(x, k, metric, ctx.comm);
  }
  core::ScopedTimer t(ctx.timers, "write");
  const std::string path = output_path(cfg, cfg.string("knn.output"));
  make_parent_dir(ctx, path);
  io::H5File out = io::H5File::create(path, ctx.comm);
  io::write_samples(out, "/neighbours", result.neighbours, {k});
  io::write_samples(out, "/distances", result.distances, {k});
  out.write_attribute("/", "k", static_cast<std::int64_t>(k));
  out.write_attribute("/", "metric", cfg.string("knn.metric"));
  io::write_provenance(out, stage_provenance(ctx, {spec.file}));
  out.commit();
  core::Log::info("ml knn: wrote " + path);
}

}  // namespace

void add_ml_knn_keys(core::Schema& s) {
  s.string("knn.input", "", "Features FILE.h5:/dataset (N × d; /features when no dataset is named); required")
      .string("knn.output", "knn.h5", "Output file (inside run.output_dir unless absolute or ./-prefixed)")
      .integer("knn.k", 15, "Neighbours per row k (self excluded); must be below N", 1, 100000)
      .string("knn.metric", "euclidean",
              "euclidean: rows are feature vectors; precomputed: rows are an N × N distance matrix (SAX/ACF)",
              {"euclidean", "precomputed"});
}

Stage ml_knn_stage() {
  return {"knn", "Exact k-nearest neighbours (ring-exchanged blocks, GEMM distances) -> /neighbours, /distances",
          run_knn, {{"input", "knn.input"}, {"output", "knn.output"}}};
}

}  // namespace phenoscale::app
