// `phenoscale ml bootstrap`: cell-level bootstrap of phenotype-cluster
// proportions between drug conditions (DeepHACKS, Ma et al. 2024; the
// statistics are defined in include/phenoscale/ml/bootstrap.hpp).
#include <algorithm>
#include <filesystem>

#include "phenoscale/app/ml_stages.hpp"
#include "phenoscale/app/stage_io.hpp"
#include "phenoscale/core/error.hpp"
#include "phenoscale/core/log.hpp"
#include "phenoscale/io/csv.hpp"
#include "phenoscale/io/provenance.hpp"
#include "phenoscale/io/sample_array.hpp"
#include "phenoscale/ml/bootstrap.hpp"
#include "phenoscale/ml/matrix.hpp"
#include "phenoscale/par/agree.hpp"

namespace phenoscale::app {
namespace {

using core::cat;

void write_outputs(const StageContext& ctx, const std::string& path, const std::string& input,
                   const ml::BootstrapResult& res) {
  io::H5File out = io::H5File::create(path, ctx.comm);
  // Every rank holds the whole (small) result: rank 0 writes all rows.
  const bool root = ctx.comm.is_root();
  const std::uint64_t K = res.conditions.size(), M = res.treatments.size(), C = res.clusters;
  io::write_samples(out, "/conditions", res.conditions.data(), root ? K : 0, {});
  io::write_samples(out, "/treatments", res.treatments.data(), root ? M : 0, {});
  io::write_samples(out, "/proportions", res.proportions.data(), root ? K : 0, {C});
  io::write_samples(out, "/difference", res.difference.data(), root ? M : 0, {C});
  io::write_samples(out, "/ci_percentile", res.ci_percentile.data(), root ? M : 0, {C, 2});
  io::write_samples(out, "/ci_proportion", res.ci_proportion.data(), root ? K : 0, {C, 2});
  io::write_samples(out, "/ci_bca", res.ci_bca.data(), root ? M : 0, {C, 2});
  io::write_samples(out, "/p_greater", res.p_greater.data(), root ? M : 0, {C});
  io::write_samples(out, "/p_less", res.p_less.data(), root ? M : 0, {C});
  io::write_samples(out, "/p_two_sided", res.p_two_sided.data(), root ? M : 0, {C});
  io::write_samples(out, "/p_greater_holm", res.p_greater_holm.data(), root ? M : 0, {C});
  io::write_samples(out, "/p_less_holm", res.p_less_holm.data(), root ? M : 0, {C});
  io::write_samples(out, "/cohens_d", res.cohens_d.data(), root ? M : 0, {C});
  io::write_samples(out, "/bca_bias_correction", res.bias_correction.data(), root ? M : 0, {C});
  io::write_samples(out, "/bca_acceleration", res.acceleration.data(), root ? M : 0, {C});
  io::write_samples(out, "/replicates", res.replicate_proportions.data(), root ? res.replicates : 0, {K, C});
  out.write_attribute("/", "replicates", static_cast<std::int64_t>(res.replicates));
  out.write_attribute("/", "confidence", res.confidence);
  out.write_attribute("/", "control", res.control);
  out.write_attribute("/", "seed", ctx.config.integer("run.seed"));
  out.write_attribute("/", "p_value_definition",
                      std::string("p_greater = (1 + #{d_r <= 0}) / (1 + R), p_less = (1 + #{d_r >= 0}) / (1 + R), "
                                  "p_two_sided = min(1, 2 min(p_greater, p_less)), d_r = treatment - control; "
                                  "*_holm: Holm step-down over one treatment's p_greater and p_less of every "
                                  "cluster"));
  io::write_provenance(out, stage_provenance(ctx, {input}));
  out.commit();
}

void write_table(const StageContext& ctx, const std::string& path, const ml::BootstrapResult& res) {
  par::collectively(ctx.comm, [&] {
    if (!ctx.comm.is_root()) return;
    const std::vector<std::string> header{
        "cluster",        "condition",          "control",         "proportion",       "control_proportion",
        "difference",     "ci_percentile_low",  "ci_percentile_high", "ci_bca_low",    "ci_bca_high",
        "p_greater",      "p_less",             "p_two_sided",     "cohens_d",         "p_greater_holm",
        "p_less_holm",    "proportion_ci_low",  "proportion_ci_high", "control_proportion_ci_low",
        "control_proportion_ci_high"};
    std::vector<std::vector<double>> col(header.size());
    const std::uint64_t C = res.clusters;
    const auto control_index = static_cast<std::uint64_t>(
        std::find(res.conditions.begin(), res.conditions.end(), res.control) - res.conditions.begin());
    for (std::uint64_t m = 0; m < res.treatments.size(); ++m) {
      const auto k = static_cast<std::uint64_t>(
          std::find(res.conditions.begin(), res.conditions.end(), res.treatments[m]) - res.conditions.begin());
      for (std::uint64_t c = 0; c < C; ++c) {
        const std::uint64_t at = m * C + c;
        const double row[] = {double(c), double(res.treatments[m]), double(res.control),
                              res.proportions[k * C + c], res.proportions[control_index * C + c],
                              res.difference[at], res.ci_percentile[2 * at], res.ci_percentile[2 * at + 1],
                              res.ci_bca[2 * at], res.ci_bca[2 * at + 1], res.p_greater[at], res.p_less[at],
                              res.p_two_sided[at], res.cohens_d[at], res.p_greater_holm[at],
                              res.p_less_holm[at], res.ci_proportion[2 * (k * C + c)],
                              res.ci_proportion[2 * (k * C + c) + 1], res.ci_proportion[2 * (control_index * C + c)],
                              res.ci_proportion[2 * (control_index * C + c) + 1]};
        for (std::size_t j = 0; j < header.size(); ++j) col[j].push_back(row[j]);
      }
    }
    io::write_csv_table(path, header, col);
  });
}

void run_bootstrap(const StageContext& ctx) {
  const auto& cfg = ctx.config;
  require_setting(ctx, "bootstrap.input", "give the observations file with --input FILE.h5");
  // FILE.h5:/dataset names the labels dataset, like the other ml tools' inputs.
  std::string input = cfg.string("bootstrap.input");
  std::string labels = cfg.string("bootstrap.labels");
  if (input.find(":/") != std::string::npos) {
    const auto spec = ml::parse_dataset_spec(input);
    input = spec.file;
    labels = spec.dataset;
  }
  ml::BootstrapOptions options;
  options.replicates = static_cast<std::uint64_t>(cfg.integer("bootstrap.replicates"));
  options.confidence = cfg.real("bootstrap.confidence");
  options.control = cfg.integer("bootstrap.control");
  options.seed = static_cast<std::uint64_t>(cfg.integer("run.seed"));
  options.progress_interval_s = cfg.real("run.progress_interval_s");

  ml::CellTable table;
  {
    core::ScopedTimer t(ctx.timers, "read");
    const auto obs = ml::read_observations(input, labels, cfg.string("bootstrap.groups"),
                                           cfg.string("bootstrap.conditions"), ctx.comm);
    const bool labelled = std::all_of(obs.labels.begin(), obs.labels.end(), [](auto l) { return l >= 0; });
    par::check_all(ctx.comm, labelled, cat(input, ":", labels, ": a negative cluster label; expected labels >= 0"));
    table = ml::build_cell_table(obs, static_cast<std::uint64_t>(cfg.integer("bootstrap.clusters")), ctx.comm);
  }
  par::check_all(ctx.comm, table.conditions.size() >= 2,
                 cat(input, ":", cfg.string("bootstrap.conditions"), ": ", table.conditions.size(),
                     " condition(s); the bootstrap compares the control with at least one other"));
  core::Log::info(cat("ml bootstrap: ", table.cells(), " cells in ", table.conditions.size(),
                      " conditions, ", table.clusters, " clusters; ", options.replicates,
                      " replicates on ", ctx.comm.size(), " rank(s)"));
  ml::BootstrapResult res;
  {
    core::ScopedTimer t(ctx.timers, "bootstrap");
    res = ml::bootstrap(table, options, ctx.comm);
  }
  core::ScopedTimer t(ctx.timers, "write");
  const std::string path = output_path(cfg, cfg.string("bootstrap.output"));
  const std::string csv = std::filesystem::path(path).replace_extension(".csv").string();
  begin_outputs(ctx, {path, csv});
  write_outputs(ctx, path, input, res);
  write_table(ctx, csv, res);
  core::Log::info("ml bootstrap: wrote " + path + " and " + csv);
}

}  // namespace

void add_ml_bootstrap_keys(core::Schema& s) {
  s.string("bootstrap.input", "", "Observations file (HDF5; FILE.h5:/dataset also sets the labels dataset); required")
      .string("bootstrap.labels", "/labels", "int64 dataset [N]: phenotype cluster label of each observation")
      .string("bootstrap.groups", "/cells", "int64 dataset [N]: cell id (the resampling unit) of each observation")
      .string("bootstrap.conditions", "/conditions", "int64 dataset [N]: drug condition id of each observation")
      .string("bootstrap.output", "bootstrap.h5",
              "Output file (inside run.output_dir unless absolute or ./-prefixed); a CSV table is written next to it")
      .integer("bootstrap.replicates", 10000, "Bootstrap replicates R (cells resampled within each condition)", 1, 1e8)
      .real("bootstrap.confidence", 0.95, "Confidence level of the percentile and BCa intervals", 1e-6, 0.999999)
      .integer("bootstrap.control", 0, "Condition id of the control; every other condition is compared with it",
               -9.2e18, 9.2e18)
      .integer("bootstrap.clusters", 0, "Number of clusters C; 0 = largest label + 1", 0, 1e6);
}

Stage ml_bootstrap_stage() {
  return {"bootstrap",
          "Cell-level bootstrap of cluster proportions between conditions (CIs, p-values, Cohen's d)",
          run_bootstrap,
          {{"input", "bootstrap.input"}, {"output", "bootstrap.output"}}};
}

}  // namespace phenoscale::app
