// `phenoscale ml knn`: k-nearest neighbours of feature rows (or of a
// precomputed distance matrix) — the kNN graph behind DeepHACKS' protrusion
// phenotype communities (Ma et al. 2024; the exact search is in ml/knn.hpp,
// the approximate IVF search of Jégou, Douze & Schmid 2011 in ml/ann.hpp).
#include "phenoscale/app/ml_stages.hpp"
#include "phenoscale/app/stage_io.hpp"
#include "phenoscale/core/error.hpp"
#include "phenoscale/core/log.hpp"
#include "phenoscale/io/provenance.hpp"
#include "phenoscale/io/sample_array.hpp"
#include "phenoscale/ml/ann.hpp"
#include "phenoscale/ml/knn.hpp"
#include "phenoscale/ml/matrix.hpp"
#include "phenoscale/par/agree.hpp"

namespace phenoscale::app {
namespace {

using core::cat;

// knn.method, checked against knn.metric on every rank alike (one agreed error line).
ml::KnnMethod knn_method(const StageContext& ctx, ml::KnnMetric metric) {
  const auto& cfg = ctx.config;
  ml::KnnMethod method = ml::KnnMethod::exact;
  par::collectively(ctx.comm, [&] {
    method = ml::parse_knn_method(cfg.string("knn.method"), "knn.method");
    if (method == ml::KnnMethod::approximate && metric != ml::KnnMetric::euclidean) {
      throw ConfigError(cat("knn.method = \"approximate\" needs knn.metric = \"euclidean\", found \"",
                            cfg.string("knn.metric"), "\""));
    }
  });
  return method;
}

// Exact (features or precomputed distances) or approximate (IVF, features only).
ml::KnnResult search(const StageContext& ctx, const ml::ShardedMatrix& x, std::uint64_t k, ml::KnnMetric metric,
                     ml::KnnMethod method) {
  const auto& cfg = ctx.config;
  if (method == ml::KnnMethod::exact) return ml::knn(x, k, metric, ctx.comm);
  ml::ApproximateKnnOptions o;
  o.lists = static_cast<std::uint64_t>(cfg.integer("knn.lists"));
  o.probes = static_cast<std::uint64_t>(cfg.integer("knn.probes"));
  o.seed = static_cast<std::uint64_t>(cfg.integer("run.seed"));
  ml::ApproximateKnnStats st;
  auto r = ml::approximate_knn(x, k, o, ctx.comm, &st);
  if (o.lists > st.lists)
    core::Log::warn(cat(deck_label(cfg), ": knn.lists = ", o.lists, " is more than the ", x.global_rows, " rows; ",
                        st.lists, " lists used"));
  core::Log::info(cat("ml knn: IVF index of ", st.lists, " lists (k-means on ", st.train_rows,
                      " sampled rows, largest list ", st.largest_list, "), ", st.probes, " probes, ",
                      st.distances, " candidate distances (", static_cast<double>(st.distances) /
                      (static_cast<double>(x.global_rows) * static_cast<double>(x.global_rows)), " of N^2)"));
  return r;
}

void run_knn(const StageContext& ctx) {
  const auto& cfg = ctx.config;
  require_setting(ctx, "knn.input", "give the features with --input FILE.h5:/features");
  const auto metric = ml::parse_knn_metric(cfg.string("knn.metric"), "knn.metric");
  const auto method = knn_method(ctx, metric);
  const auto spec = ml::parse_dataset_spec(cfg.string("knn.input"));
  const auto k = static_cast<std::uint64_t>(cfg.integer("knn.k"));
  ml::ShardedMatrix x;
  {
    core::ScopedTimer t(ctx.timers, "read");
    x = ml::read_matrix(spec, ctx.comm, metric == ml::KnnMetric::nan_euclidean);
  }
  par::collectively(ctx.comm, [&] {
    if (k >= x.global_rows) {
      throw ConfigError(cat("knn.k = ", k, " must be below N = ", x.global_rows, " rows of ", cfg.string("knn.input")));
    }
  });
  if (metric == ml::KnnMetric::precomputed) check_precomputed(cfg.string("knn.input"), x, ctx.comm);
  core::Log::info(cat("ml knn: ", x.global_rows, " rows x ", x.cols, " columns (", cfg.string("knn.metric"),
                      "), k = ", k, ", on ", ctx.comm.size(), " rank(s)"));
  ml::KnnResult result;
  {
    core::ScopedTimer t(ctx.timers, "knn");
    result = search(ctx, x, k, metric, method);
  }
  core::ScopedTimer t(ctx.timers, "write");
  const std::string path = output_path(cfg, cfg.string("knn.output"));
  make_parent_dir(ctx, path);
  io::H5File out = io::H5File::create(path, ctx.comm);
  io::write_samples(out, "/neighbours", result.neighbours, {k});
  io::write_samples(out, "/distances", result.distances, {k});
  out.write_attribute("/", "k", static_cast<std::int64_t>(k));
  out.write_attribute("/", "metric", cfg.string("knn.metric"));
  out.write_attribute("/", "method", cfg.string("knn.method"));
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
              "euclidean: rows are feature vectors; nan-euclidean: feature vectors whose NaN coordinates are "
              "missing (scikit-learn's nan_euclidean_distances; DeepHACKS' partial ACF distances; every rank "
              "holds all rows); precomputed: rows are an N × N distance matrix (SAX/ACF)",
              {"euclidean", "nan-euclidean", "precomputed"})
      .string("knn.method", "exact",
              "exact: every pair (ring-exchanged blocks); approximate: IVF-Flat index on distributed k-means "
              "centroids, probing knn.probes lists (euclidean only; rank-count independent for a fixed run.seed)",
              {"exact", "approximate"})
      .integer("knn.lists", 0, "approximate: inverted lists (k-means centroids); 0 = round(sqrt(N))", 0, 100000000)
      .integer("knn.probes", 8,
               "approximate: nearest lists searched per row (more if they hold fewer than k rows); "
               "8 gives recall@15 >= 0.95 on the benchmark data, probes = lists is exact",
               1, 100000000);
}

Stage ml_knn_stage() {
  return {"knn", "k-nearest neighbours, exact (ring-exchanged blocks) or approximate (IVF) -> /neighbours, /distances",
          run_knn, {{"input", "knn.input"}, {"output", "knn.output"}}};
}

}  // namespace phenoscale::app
