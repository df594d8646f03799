// `phenoscale ml pca`: principal components of a sharded feature matrix —
// the reduction of CNN features (tomo paper) and diffusional fingerprints
// (DeepHACKS) before clustering. Writes the embedding and the model, so new
// data can be projected later with the same mean and components.
#include "phenoscale/app/ml_stages.hpp"
#include "phenoscale/app/stage_io.hpp"
#include "phenoscale/core/error.hpp"
#include "phenoscale/core/log.hpp"
#include "phenoscale/io/provenance.hpp"
#include "phenoscale/io/sample_array.hpp"
#include "phenoscale/ml/matrix.hpp"
#include "phenoscale/ml/pca.hpp"
#include "phenoscale/par/agree.hpp"

namespace phenoscale::app {
namespace {

using core::cat;

void run_pca(const StageContext& ctx) {
  const auto& cfg = ctx.config;
  require_setting(ctx, "pca.input", "give the features with --input FILE.h5:/features");
  const auto spec = ml::parse_dataset_spec(cfg.string("pca.input"));
  ml::ShardedMatrix x;
  {
    core::ScopedTimer t(ctx.timers, "read");
    x = ml::read_matrix(spec, ctx.comm);
  }
  ml::PcaOptions options;
  options.components = static_cast<std::uint64_t>(cfg.integer("pca.components"));
  options.variance_target = cfg.real("pca.variance_target");
  par::check_all(ctx.comm, x.global_rows >= 2,
                 cat(spec.file, ":", spec.dataset, ": ", x.global_rows, " row(s); PCA needs at least 2"));
  par::collectively(ctx.comm, [&] {
    if (options.components > std::min(x.cols, x.global_rows)) {
      throw ConfigError(cat("pca.components = ", options.components, " exceeds min(N, d) = ",
                            std::min(x.cols, x.global_rows), " of ", spec.file, ":", spec.dataset, " [",
                            x.global_rows, ", ", x.cols, "]"));
    }
  });
  core::Log::info(cat("ml pca: ", x.global_rows, " x ", x.cols, " from ", spec.file, ":", spec.dataset, " on ",
                      ctx.comm.size(), " rank(s)"));
  ml::PcaModel model;
  ml::ShardedMatrix embedding;
  {
    core::ScopedTimer t(ctx.timers, "fit");
    model = ml::pca_fit(x, options, ctx.comm);
  }
  {
    core::ScopedTimer t(ctx.timers, "transform");
    embedding = ml::pca_transform(model, x);
  }
  double kept = 0.0;
  for (double r : model.explained_variance_ratio) kept += r;
  core::Log::info(cat("ml pca: ", model.n_components(), " components explain ", kept, " of the variance"));

  core::ScopedTimer t(ctx.timers, "write");
  const std::string path = output_path(cfg, cfg.string("pca.output"));
  make_parent_dir(ctx, path);
  io::H5File out = io::H5File::create(path, ctx.comm);
  io::write_samples(out, "/embedding", embedding.data, {embedding.cols});
  ml::save_pca(out, model);
  out.write_attribute("/", "explained_variance_ratio_total", kept);
  out.write_attribute("/", "components", static_cast<std::int64_t>(model.n_components()));
  io::write_provenance(out, stage_provenance(ctx, {spec.file}));
  out.commit();
  core::Log::info("ml pca: wrote " + path);
}

}  // namespace

void add_ml_pca_keys(core::Schema& s) {
  s.string("pca.input", "", "Features FILE.h5:/dataset (N x d float32/float64; dataset defaults to /features); required")
      .string("pca.output", "pca.h5", "Output file (inside run.output_dir unless absolute or ./-prefixed)")
      .integer("pca.components", 0, "Number of principal components; 0 = the fewest reaching pca.variance_target", 0,
               1e6)
      .real("pca.variance_target", 0.95, "Fraction of the total variance to keep when pca.components = 0", 1e-6,
            0.999999);
}

Stage ml_pca_stage() {
  return {"pca", "Principal component analysis: embedding and model (mean, components, explained variance)", run_pca,
          {{"input", "pca.input"}, {"output", "pca.output"}}};
}

}  // namespace phenoscale::app
