// `phenoscale ml quality`: silhouette and Davies–Bouldin of a clustering of
// a feature matrix (choice of K in DeepHACKS, of k in the tomo paper's
// k-means), and, given reference labels (simulated ground truth), the
// adjusted Rand index and normalised mutual information.
#include <algorithm>

#include "phenoscale/app/ml_stages.hpp"
#include "phenoscale/app/stage_io.hpp"
#include "phenoscale/core/error.hpp"
#include "phenoscale/core/log.hpp"
#include "phenoscale/io/provenance.hpp"
#include "phenoscale/ml/matrix.hpp"
#include "phenoscale/ml/quality.hpp"
#include "phenoscale/par/agree.hpp"

namespace phenoscale::app {
namespace {

using core::cat;

void run_quality(const StageContext& ctx) {
  const auto& cfg = ctx.config;
  require_setting(ctx, "quality.input", "give the features with --input FILE.h5:/features");
  require_setting(ctx, "quality.labels", "give the cluster labels with --set quality.labels=FILE.h5:/labels");
  const auto spec = ml::parse_dataset_spec(cfg.string("quality.input"));
  const std::string reference_spec = cfg.string("quality.reference");
  const ml::SilhouetteOptions options = silhouette_options(cfg);
  ml::ShardedMatrix x;
  std::vector<std::int64_t> labels, reference;
  {
    core::ScopedTimer t(ctx.timers, "read");
    x = ml::read_matrix(spec, ctx.comm, options.distance == ml::Distance::nan_euclidean);
    labels = ml::read_labels(cfg.string("quality.labels"), x, ctx.comm);
    if (!reference_spec.empty()) reference = ml::read_labels(reference_spec, x, ctx.comm);
  }
  const std::uint64_t clusters = ml::LabelIndex(labels, ctx.comm).size();
  par::check_all(ctx.comm, clusters >= 2 && clusters + 1 <= x.global_rows,
                 cat(cfg.string("quality.labels"), ": ", clusters, " distinct label(s) over ", x.global_rows,
                     " rows; the silhouette and Davies-Bouldin need between 2 and N - 1"));
  core::Log::info(cat("ml quality: ", x.global_rows, " x ", x.cols, " from ", spec.file, ":", spec.dataset,
                      ", labels ", cfg.string("quality.labels"), " on ", ctx.comm.size(), " rank(s)"));

  ml::SilhouetteResult s;
  double db = 0.0, ari = 0.0, nmi = 0.0;
  {
    core::ScopedTimer t(ctx.timers, "silhouette");
    s = ml::silhouette(x, labels, options, ctx.comm);
  }
  {
    core::ScopedTimer t(ctx.timers, "davies_bouldin");
    db = ml::davies_bouldin(x, labels, ctx.comm, options.distance);
  }
  const char* mode = s.exact ? "exact" : "sampled";
  core::Log::info(cat("ml quality: silhouette = ", s.value, " (", mode, ", ", s.samples, " rows, ",
                      ml::distance_name(options.distance),
                      s.exact ? std::string() : cat(", standard error ", s.standard_error), "); Davies-Bouldin = ",
                      db));
  if (!reference.empty()) {
    core::ScopedTimer t(ctx.timers, "external");
    ari = ml::adjusted_rand_index(reference, labels, ctx.comm);
    nmi = ml::normalized_mutual_info(reference, labels, ctx.comm);
    core::Log::info(cat("ml quality: against ", reference_spec, ": adjusted Rand index = ", ari, "; NMI = ", nmi));
  }

  core::ScopedTimer t(ctx.timers, "write");
  const std::string path = output_path(cfg, cfg.string("quality.output"));
  make_parent_dir(ctx, path);
  io::H5File out = io::H5File::create(path, ctx.comm);
  out.write_attribute("/", "silhouette", s.value);
  out.write_attribute("/", "silhouette_stderr", s.standard_error);
  out.write_attribute("/", "silhouette_mode", std::string(mode));
  out.write_attribute("/", "silhouette_samples", static_cast<std::int64_t>(s.samples));
  out.write_attribute("/", "davies_bouldin", db);
  out.write_attribute("/", "distance", std::string(ml::distance_name(options.distance)));
  if (!reference.empty()) {
    out.write_attribute("/", "adjusted_rand_index", ari);
    out.write_attribute("/", "nmi", nmi);
  }
  std::vector<std::string> inputs{spec.file, ml::parse_dataset_spec(cfg.string("quality.labels")).file};
  if (!reference_spec.empty()) inputs.push_back(ml::parse_dataset_spec(reference_spec).file);
  std::sort(inputs.begin(), inputs.end());
  inputs.erase(std::unique(inputs.begin(), inputs.end()), inputs.end());
  io::write_provenance(out, stage_provenance(ctx, inputs));
  out.commit();
  core::Log::info("ml quality: wrote " + path);
}

}  // namespace

ml::SilhouetteOptions silhouette_options(const core::Config& cfg) {
  ml::SilhouetteOptions options;
  options.exact_limit = static_cast<std::uint64_t>(cfg.integer("quality.exact_limit"));
  options.sample_size = static_cast<std::uint64_t>(cfg.integer("quality.sample_size"));
  options.seed = static_cast<std::uint64_t>(cfg.integer("run.seed"));
  options.distance = ml::parse_distance(cfg.string("quality.distance"), "quality.distance");
  return options;
}

void check_precomputed(const std::string& where, const ml::ShardedMatrix& x, const par::Comm& comm) {
  par::check_all(comm, x.cols == x.global_rows,
                 cat(where, ": ", x.global_rows, " x ", x.cols, "; a precomputed distance matrix must be N x N"));
  std::uint64_t first_negative = x.global_rows * x.cols;
  for (std::uint64_t i = 0; i < x.local_rows && first_negative == x.global_rows * x.cols; ++i)
    for (std::uint64_t j = 0; j < x.cols; ++j)
      if (x.row(i)[j] < 0.0f) {
        first_negative = (x.first_row + i) * x.cols + j;
        break;
      }
  first_negative = comm.allreduce_min(first_negative);
  par::check_all(comm, first_negative == x.global_rows * x.cols,
                 cat(where, ": distance d(", first_negative / std::max<std::uint64_t>(x.cols, 1), ", ",
                     first_negative % std::max<std::uint64_t>(x.cols, 1), ") is negative; expected distances >= 0"));
}

void add_ml_quality_keys(core::Schema& s) {
  s.string("quality.input", "",
           "Features FILE.h5:/dataset (N x d float32/float64; dataset defaults to /features); required")
      .string("quality.output", "quality.h5", "Output file (inside run.output_dir unless absolute or ./-prefixed)")
      .string("quality.labels", "", "Cluster labels FILE.h5:/dataset (int64 [N]; dataset defaults to /labels); required")
      .string("quality.reference", "",
              "Reference labels FILE.h5:/dataset (int64 [N]) for ARI and NMI; empty = internal measures only")
      .integer("quality.exact_limit", 50000, "Exact silhouette up to this many rows; sampled above", 2, 1e12)
      .integer("quality.sample_size", 10000, "Expected number of sampled rows of the sampled silhouette", 2, 1e9)
      .string("quality.distance", "euclidean",
              "Distance of the silhouette and Davies-Bouldin (and of ml sweep's kNN graph): euclidean, or "
              "nan-euclidean with NaN coordinates missing (centroid coordinates averaged over the rows that have "
              "them)",
              {"euclidean", "nan-euclidean"});
}

Stage ml_quality_stage() {
  return {"quality", "Cluster quality: silhouette, Davies-Bouldin, and ARI/NMI against reference labels",
          run_quality, {{"input", "quality.input"}, {"output", "quality.output"}}};
}

}  // namespace phenoscale::app
