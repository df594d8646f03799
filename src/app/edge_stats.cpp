// edge stats / cells (docs/cli.md "edge"; docs/methods.md §3.4).
//   mpirun -n 2 phenoscale edge stats -c inputs/edge/demo.toml   → stats.csv
//   mpirun -n 2 phenoscale edge cells -c inputs/edge/demo.toml   → cells.csv, cells_groups.csv
// stats: drug effects on phenotype proportions by the bootstrap of cells
// (ml::bootstrap; Ma et al. 2024, §2 "statistics"), per paired experiment,
// every treatment against the control over the phenotypes the experiment
// has. Both p definitions are printed: the
// seed's fraction of replicates in the opposite direction, #{d_r ≤ 0}/R
// ("p_greater_fraction"), and the add-one estimate (1 + #{d_r ≤ 0})/(1 + R)
// ("p_greater"), which is never 0 and is the one we report. The last two
// columns are those p-values Holm-adjusted over one contrast's table (every
// phenotype, both directions), for a reader who scans the rows for p < 0.05;
// the four after them are each pooled proportion's own percentile interval
// (the error bars of the report's proportion bars).
// cells: single-cell phenotypes (§2 "single-cell phenotypes"): per-cell
// proportions of the phenotypes for cells with enough samples, z-scored, a
// 3-D UMAP (10 neighbours, min_dist 0.1), kNN-graph communities on it with K
// by silhouette, and the composition of each condition by cell group.
#include <algorithm>
#include <cmath>
#include <functional>
#include <map>
#include <tuple>

#include "phenoscale/app/edge_common.hpp"
#include "phenoscale/app/edge_stages.hpp"
#include "phenoscale/app/stage_io.hpp"
#include "phenoscale/core/error.hpp"
#include "phenoscale/core/log.hpp"
#include "phenoscale/io/csv.hpp"
#include "phenoscale/io/provenance.hpp"
#include "phenoscale/io/sample_array.hpp"
#include "phenoscale/ml/bootstrap.hpp"
#include "phenoscale/ml/embedding.hpp"
#include "phenoscale/ml/louvain.hpp"
#include "phenoscale/ml/matrix.hpp"
#include "phenoscale/ml/sweep.hpp"
#include "phenoscale/par/agree.hpp"

namespace phenoscale::app {
namespace {

using core::cat;

struct Phenotyped {
  EdgeSamples samples;
  std::vector<std::int64_t> labels;  // local, the deck's stats.labels column
};

Phenotyped read_phenotyped(const core::Config& cfg, const std::string& path, const par::Comm& comm) {
  Phenotyped p;
  p.samples = read_edge_samples(path, comm);
  const std::string column = "/" + cfg.string("stats.labels");
  io::H5File in = io::H5File::open(path, comm);
  par::check_all(comm, in.has(column), cat(in.where(column), ": missing; expected the labels written by edge phenotype"));
  p.labels = io::read_samples<std::int64_t>(in, column, io::one_value_per_row()).data;
  par::check_all(comm, all_have_cells(p.samples, comm),
                 cat(path, ": some samples have no cell_id; the bootstrap resamples cells, so edge stats and edge cells "
                           "need a cell_id column at import"));
  return p;
}

std::int64_t control_index(const core::Config& cfg, const EdgeSamples& s) {
  const std::string name = cfg.string("stats.control").empty() ? s.conditions.front() : cfg.string("stats.control");
  return find_condition(s.conditions, name, "stats.control", "the data");
}

// The seed's fraction-of-replicates p (#/R) from ours, (1 + #)/(1 + R): the same count.
double seed_p(double p, std::uint64_t replicates) {
  const double r = static_cast<double>(replicates);
  return std::round(p * (1.0 + r) - 1.0) / r;
}

// Every rank's rows: label (−1: left out, e.g. shorter than
// phenotype.min_frames), cell, condition and paired experiment.
struct Labelled {
  const std::vector<std::int64_t>& labels;
  const std::vector<std::int64_t>& cells;
  const std::vector<std::int64_t>& conditions;
  const std::vector<std::int64_t>& experiments;
};

struct ExperimentObservations {
  ml::Observations obs;                 // labels 0..phenotypes.size()-1
  std::vector<std::int64_t> phenotypes;  // the original label of each renumbered one
};

// Keeps the observations of `eo` that `keep` accepts, with the labels
// renumbered over the phenotypes they still have. Collective.
void keep_observations(ExperimentObservations& eo, const std::function<bool(std::size_t)>& keep, const par::Comm& comm) {
  std::vector<double> present(eo.phenotypes.size(), 0.0);
  for (std::size_t i = 0; i < eo.obs.labels.size(); ++i)
    if (keep(i)) present[static_cast<std::size_t>(eo.obs.labels[i])] = 1;
  comm.allreduce_sum_inplace(present);
  std::vector<std::int64_t> renumbered(present.size(), -1), phenotypes;
  for (std::size_t c = 0; c < present.size(); ++c)
    if (present[c] > 0) {
      renumbered[c] = static_cast<std::int64_t>(phenotypes.size());
      phenotypes.push_back(eo.phenotypes[c]);
    }
  ml::Observations kept;
  for (std::size_t i = 0; i < eo.obs.labels.size(); ++i) {
    if (!keep(i)) continue;
    kept.labels.push_back(renumbered[static_cast<std::size_t>(eo.obs.labels[i])]);
    kept.groups.push_back(eo.obs.groups[i]);
    kept.conditions.push_back(eo.obs.conditions[i]);
  }
  eo.obs = std::move(kept);
  eo.phenotypes = std::move(phenotypes);
}

// Experiment e's labelled observations, with labels renumbered over those
// the experiment has: one found only in other experiments would be a 0 → 0
// row, and would widen the Holm family.
ExperimentObservations experiment_observations(const Labelled& x, std::int64_t e, std::int64_t clusters,
                                               const par::Comm& comm) {
  ExperimentObservations out;
  for (std::int64_t c = 0; c < clusters; ++c) out.phenotypes.push_back(c);
  for (std::size_t i = 0; i < x.labels.size(); ++i)
    if (x.experiments[i] == e && x.labels[i] >= 0) {
      out.obs.labels.push_back(x.labels[i]);
      out.obs.groups.push_back(x.cells[i]);
      out.obs.conditions.push_back(x.conditions[i]);
    }
  keep_observations(out, [](std::size_t) { return true; }, comm);
  return out;
}

// The cell table of `eo` without the conditions of fewer than `min_cells`
// cells (they cannot be resampled meaningfully), each skip warned and
// counted. A phenotype found only in a skipped condition leaves `eo` too: it
// would be a 0 → 0 row and widen the Holm family. An empty table when
// nothing is left.
ml::CellTable table_without_small_conditions(ExperimentObservations& eo, std::int64_t min_cells, const std::string& e,
                                             const std::vector<std::string>& names, const std::string& stage,
                                             std::size_t& skipped, const par::Comm& comm) {
  ml::CellTable table = ml::build_cell_table(eo.obs, eo.phenotypes.size(), comm);
  std::vector<std::int64_t> small;
  for (std::size_t k = 0; k < table.conditions.size(); ++k) {
    if (static_cast<std::int64_t>(table.cells_in(k)) >= min_cells) continue;
    small.push_back(table.conditions[k]);
    core::Log::warn(cat(stage, ": experiment ", e, ": condition ", names[static_cast<std::size_t>(table.conditions[k])],
                        " has ", table.cells_in(k), " cell(s), fewer than stats.min_cells = ", min_cells, "; skipped"));
  }
  skipped += small.size();
  if (small.empty()) return table;
  keep_observations(
      eo,
      [&](std::size_t i) { return std::find(small.begin(), small.end(), eo.obs.conditions[i]) == small.end(); },
      comm);
  if (eo.phenotypes.empty()) return {};
  return ml::build_cell_table(eo.obs, eo.phenotypes.size(), comm);
}

// Below this many cells in a condition the bootstrap of cells understates the
// spread of its pooled proportion (the resampled variance shrinks by
// (n − 1)/n, and n cells give few distinct resamples), so its p-values are
// anti-conservative. Measured on null experiments by
// tests/bench/bench_bootstrap_size.cpp (docs/methods.md §3.4): P(p < 0.05)
// 0.11–0.13 at 3 cells per condition, 0.08–0.10 at 5, 0.07 at 10;
// P(p < 0.01) 0.07–0.09 at 3, 0.04 at 5, 0.02 at 10 and 0.01–0.02 at 15.
constexpr std::size_t kFewCells = 10;

void warn_few_cells(const ml::CellTable& table, const std::string& e, const std::vector<std::string>& names,
                    const std::string& stage) {
  for (std::size_t k = 0; k < table.conditions.size(); ++k) {
    if (table.cells_in(k) >= kFewCells) continue;
    core::Log::warn(cat(stage, ": experiment ", e, ": condition ", names[static_cast<std::size_t>(table.conditions[k])],
                        " has ", table.cells_in(k), " cells; with fewer than ", kFewCells,
                        " the bootstrap p-values are anti-conservative (in null experiments p < 0.01 in about 8 % "
                        "at 3 cells, 4 % at 5, 2 % at 10; docs/methods.md §3.4)"));
  }
}

std::size_t condition_position(const ml::BootstrapResult& b, std::int64_t condition) {
  return static_cast<std::size_t>(std::find(b.conditions.begin(), b.conditions.end(), condition) - b.conditions.begin());
}

// The rows of stats.csv (and of cells_contrasts.csv): per paired experiment,
// every condition against the control, per label the experiment has.
struct ContrastTable {
  std::vector<std::string> experiment, control, treatment;
  std::vector<std::vector<double>> cols = std::vector<std::vector<double>>(21);
  std::size_t skipped = 0;  // conditions with fewer than stats.min_cells cells
};

const std::vector<std::string>& contrast_columns() {
  static const std::vector<std::string> names{
      "control_cells", "treatment_cells", "control_proportion", "treatment_proportion", "difference", "ci_low",
      "ci_high", "p_greater", "p_less", "p_greater_fraction", "p_less_fraction", "p_two_sided", "cohens_d",
      "replicates", "p_greater_holm", "p_less_holm", "control_ci_low", "control_ci_high", "treatment_ci_low",
      "treatment_ci_high"};
  return names;
}

// The bootstrap of cells (ml::bootstrap) for every experiment of `x`; `s`
// names the conditions and experiments, `control` is the control's index
// into s.conditions.
ContrastTable bootstrap_contrasts(const core::Config& cfg, const Labelled& x, const EdgeSamples& s,
                                  std::int64_t control, const std::string& stage, const par::Comm& comm) {
  const std::vector<std::string>& names = s.conditions;
  std::int64_t clusters = 0;
  for (auto label : x.labels) clusters = std::max(clusters, label + 1);
  clusters = comm.allreduce_max(clusters);
  ContrastTable t;
  // Paired-experiment ids need not be 0..E−1 (a lab may number them by date).
  const ml::LabelIndex experiments(x.experiments, comm);
  for (const std::int64_t e : experiments.values()) {
    ExperimentObservations eo = experiment_observations(x, e, clusters, comm);
    if (eo.phenotypes.empty()) continue;
    const std::string experiment = s.experiment_text(e);
    const ml::CellTable table =
        table_without_small_conditions(eo, cfg.integer("stats.min_cells"), experiment, names, stage, t.skipped, comm);
    const bool has_control = std::find(table.conditions.begin(), table.conditions.end(), control) != table.conditions.end();
    if (!has_control || table.conditions.size() < 2) continue;
    warn_few_cells(table, experiment, names, stage);
    ml::BootstrapOptions options;
    options.replicates = static_cast<std::uint64_t>(cfg.integer("stats.replicates"));
    options.confidence = cfg.real("stats.confidence");
    options.control = control;
    options.seed = static_cast<std::uint64_t>(cfg.integer("run.seed"));
    options.progress_interval_s = cfg.real("run.progress_interval_s");
    const ml::BootstrapResult b = ml::bootstrap(table, options, comm);
    const std::size_t C = b.clusters, ci = condition_position(b, control);
    for (std::size_t m = 0; m < b.treatments.size(); ++m) {
      const std::size_t ti = condition_position(b, b.treatments[m]);
      for (std::size_t c = 0; c < C; ++c) {
        const std::size_t mc = m * C + c;
        t.experiment.push_back(experiment);
        t.control.push_back(names[static_cast<std::size_t>(control)]);
        t.treatment.push_back(names[static_cast<std::size_t>(b.treatments[m])]);
        const double row[] = {double(eo.phenotypes[c]), double(table.cells_in(ci)), double(table.cells_in(ti)),
                              b.proportions[ci * C + c], b.proportions[ti * C + c], b.difference[mc],
                              b.ci_percentile[2 * mc], b.ci_percentile[2 * mc + 1], b.p_greater[mc], b.p_less[mc],
                              seed_p(b.p_greater[mc], b.replicates), seed_p(b.p_less[mc], b.replicates),
                              b.p_two_sided[mc], b.cohens_d[mc], double(b.replicates), b.p_greater_holm[mc],
                              b.p_less_holm[mc], b.ci_proportion[2 * (ci * C + c)],
                              b.ci_proportion[2 * (ci * C + c) + 1], b.ci_proportion[2 * (ti * C + c)],
                              b.ci_proportion[2 * (ti * C + c) + 1]};
        for (std::size_t j = 0; j < t.cols.size(); ++j) t.cols[j].push_back(row[j]);
      }
    }
  }
  return t;
}

// Writes the table (rank 0) and prints it as the paper does: one line per contrast and label.
void write_contrasts(const std::string& path, const std::string& label, const ContrastTable& t, const std::string& stage,
                     const core::Config& cfg, const par::Comm& comm) {
  par::collectively(comm, [&] {
    if (!comm.is_root()) return;
    std::vector<std::string> header{label};
    header.insert(header.end(), contrast_columns().begin(), contrast_columns().end());
    io::write_csv_table(path, {"experiment", "control", "treatment"}, {t.experiment, t.control, t.treatment}, header,
                        t.cols);
  });
  core::Log::info(cat(stage, ": bootstrap of cells, ", cfg.integer("stats.replicates"),
                      " replicates; p = (1 + #)/(1 + R) reported, the seed's #/R in brackets, Holm-adjusted over "
                      "the contrast after 'holm'"));
  const auto& c = t.cols;
  for (std::size_t r = 0; r < t.experiment.size(); ++r)
    core::Log::info(cat("  exp ", t.experiment[r], "  ", t.treatment[r], " vs ", t.control[r], "  ", label, " ", c[0][r],
                        ": ", c[3][r], " -> ", c[4][r], " (diff ", c[5][r], ", CI [", c[6][r], ", ", c[7][r],
                        "]), p_greater ", c[8][r], " [", c[10][r], "], p_less ", c[9][r], " [", c[11][r], "], d ",
                        c[13][r], ", holm ", c[15][r], " / ", c[16][r]));
  core::Log::info(cat(stage, ": ", t.experiment.size(), " rows, ", t.skipped, " condition(s) skipped -> ", path));
}

}  // namespace

void add_edge_stats_keys(core::Schema& s) {
  s.string("stats.input", "", "Phenotyped samples (default: phenotype.h5)")
      .string("stats.output", "stats.csv", "One row per experiment, treatment and phenotype, inside run.output_dir")
      .string("stats.labels", "phenotype", "Which labels to test", {"phenotype", "deep_phenotype", "teacher_cluster"})
      .string("stats.control", "", "Control condition (default: the first condition of the data)")
      .integer("stats.replicates", 10000, "Bootstrap replicates (cells resampled within each condition)", 100, 1e9)
      .real("stats.confidence", 0.95, "Confidence of the percentile intervals", 0.5, 0.9999)
      .integer("stats.min_cells", 2, "Conditions with fewer cells in an experiment are skipped (counted)", 2, 1e6)
      .string("cells.input", "", "Phenotyped samples (default: phenotype.h5)")
      .string("cells.output", "cells.csv", "Per cell: proportions, UMAP, cell group, inside run.output_dir")
      .integer("cells.min_samples", 10, "Cells with fewer samples are left out (counted)", 1, 1e9)
      .integer("cells.n_neighbors", 10, "UMAP neighbours (the point included)", 2, 1000)
      .real("cells.min_dist", 0.1, "UMAP min_dist", 0, 10)
      .integer("cells.components", 3, "UMAP dimensions", 1, 10)
      .integer_list("cells.neighbours", {5, 8, 10, 15}, "Neighbour counts K of the cells' kNN graph (K by silhouette)",
                    1)
      .string("cells.method", "igraph-leiden",
              "Community detection of cell groups (igraph methods: the same partition at any rank count)",
              ml::community_methods())
      .integer("cells.min_community_size", 1,
               "Cell groups with fewer cells join the group they have the most kNN edges into, before the "
               "partition is scored (PhenoGraph's min_cluster_size; 1: keep every group)",
               1, 1e9);
}

void edge_stats(const StageContext& ctx) {
  const auto& cfg = ctx.config;
  const std::string input = input_or_output(cfg, "stats.input", "phenotype.h5");
  const Phenotyped p = read_phenotyped(cfg, input, ctx.comm);
  const auto& s = p.samples;
  std::int64_t control = 0;
  par::collectively(ctx.comm, [&] { control = control_index(cfg, s); });  // every rank alike: one error line
  const ContrastTable t = bootstrap_contrasts(cfg, {p.labels, s.cell_id, s.condition, s.experiment}, s,
                                              control, "edge stats", ctx.comm);
  par::check_all(ctx.comm, !t.experiment.empty(),
                 cat(input, ": no contrast to test (needs a control '", s.conditions[static_cast<std::size_t>(control)],
                     "' and another condition with at least stats.min_cells cells in one experiment; ", t.skipped,
                     " condition(s) skipped)"));
  const std::string path = output_path(cfg, cfg.string("stats.output"));
  make_parent_dir(ctx, path);
  write_contrasts(path, cfg.string("stats.labels"), t, "edge stats", cfg, ctx.comm);
}

namespace {

// A cell is its id within its condition and paired experiment (as edge
// stats' bootstrap keys it): ids numbered 1..n in each condition stay apart.
// Ordered by id first, so unique ids keep their order.
using CellKey = std::tuple<std::int64_t, std::int64_t, std::int64_t>;  // (cell_id, condition, experiment)

// Cell-group contrasts: the fraction of a condition's cells in each cell
// group, treatment against control per paired experiment, by the same
// bootstrap of cells as edge stats (one observation per cell, so the pooled
// proportion is the fraction of cells). Rank 0 holds the (few) cells.
ContrastTable cell_group_contrasts(const StageContext& ctx, const EdgeSamples& s, const std::vector<CellKey>& ids,
                                   const std::vector<std::int64_t>& groups, const std::string& path) {
  const auto& cfg = ctx.config;
  std::int64_t control = 0;
  par::collectively(ctx.comm, [&] { control = control_index(cfg, s); });
  std::vector<std::int64_t> labels, cells, conditions, experiments;
  if (ctx.comm.is_root())
    for (std::size_t i = 0; i < ids.size(); ++i) {
      const auto& [cell, condition, experiment] = ids[i];
      labels.push_back(groups[i]);
      cells.push_back(cell);
      conditions.push_back(condition);
      experiments.push_back(experiment);
    }
  ContrastTable t =
      bootstrap_contrasts(cfg, {labels, cells, conditions, experiments}, s, control, "edge cells", ctx.comm);
  if (t.experiment.empty())
    core::Log::info(cat("edge cells: no cell-group contrast (needs a control '",
                        s.conditions[static_cast<std::size_t>(control)], "' and another condition with at least "
                        "stats.min_cells cells in one experiment); ", path, " will not be written"));
  return t;
}

}  // namespace

void edge_cells(const StageContext& ctx) {
  const auto& cfg = ctx.config;
  const std::string input = input_or_output(cfg, "cells.input", "phenotype.h5");
  const Phenotyped p = read_phenotyped(cfg, input, ctx.comm);
  const auto& s = p.samples;
  // Per-cell counts, gathered (cells are few: hundreds).
  const auto cells = ml::gather_values(s.cell_id, ctx.comm), labels = ml::gather_values(p.labels, ctx.comm),
             conditions = ml::gather_values(s.condition, ctx.comm), experiments = ml::gather_values(s.experiment, ctx.comm);
  std::int64_t clusters = 0;
  for (auto l : labels) clusters = std::max(clusters, l + 1);
  std::map<CellKey, std::vector<double>> counts;
  for (std::size_t i = 0; i < cells.size(); ++i) {
    if (labels[i] < 0) continue;  // not phenotyped (shorter than phenotype.min_frames)
    auto& c = counts[{cells[i], conditions[i], experiments[i]}];
    c.resize(static_cast<std::size_t>(clusters), 0.0);
    c[static_cast<std::size_t>(labels[i])] += 1;
  }
  std::vector<CellKey> ids;
  std::vector<double> totals;
  std::vector<float> z;
  std::size_t dropped = 0;
  for (auto& [key, c] : counts) {
    double n = 0;
    for (double v : c) n += v;
    if (n < static_cast<double>(cfg.integer("cells.min_samples"))) {
      ++dropped;
      continue;
    }
    ids.push_back(key);
    totals.push_back(n);
    for (double v : c) z.push_back(static_cast<float>(v / n));
  }
  const auto n = static_cast<std::uint64_t>(ids.size()), d = static_cast<std::uint64_t>(clusters);
  par::check_all(ctx.comm, n > static_cast<std::uint64_t>(cfg.integer("cells.n_neighbors")),
                 cat(input, ": ", n, " cells with at least cells.min_samples = ", cfg.integer("cells.min_samples"),
                     " samples (", dropped, " dropped); UMAP needs more than cells.n_neighbors = ",
                     cfg.integer("cells.n_neighbors")));
  std::vector<float> proportions = z;
  for (std::uint64_t j = 0; j < d; ++j) {  // z-score each phenotype's proportion over cells
    double mean = 0, var = 0;
    for (std::uint64_t i = 0; i < n; ++i) mean += z[i * d + j];
    mean /= double(n);
    for (std::uint64_t i = 0; i < n; ++i) var += (z[i * d + j] - mean) * (z[i * d + j] - mean);
    const double sd = std::sqrt(var / double(n));
    for (std::uint64_t i = 0; i < n; ++i) z[i * d + j] = sd > 0 ? static_cast<float>((z[i * d + j] - mean) / sd) : 0.0f;
  }
  ml::UmapOptions uo;
  uo.n_neighbors = static_cast<std::uint64_t>(cfg.integer("cells.n_neighbors"));
  uo.min_dist = cfg.real("cells.min_dist");
  uo.n_components = static_cast<std::uint64_t>(cfg.integer("cells.components"));
  uo.seed = static_cast<std::uint64_t>(cfg.integer("run.seed"));
  uo.progress_interval_s = cfg.real("run.progress_interval_s");
  const auto embedding = ml::umap(z, n, d, uo);  // deterministic: the same on every rank
  par::stop_point(ctx.comm, "edge cells: UMAP");  // a stop signal leaves the UMAP without a layout
  const ml::ShardedMatrix coords = ml::shard_rows(embedding.coordinates, uo.n_components, ctx.comm);
  const auto ks = neighbour_counts(cfg, "cells.neighbours", static_cast<std::int64_t>(n), "cells", ctx.comm);
  ml::CommunityOptions co;
  co.method = cfg.string("cells.method");
  co.min_size = static_cast<std::uint64_t>(cfg.integer("cells.min_community_size"));
  co.seed = uo.seed;
  ml::SilhouetteOptions quality;
  quality.seed = uo.seed;
  const auto sweep = ml::sweep_communities(coords, ks, co, quality, {}, ctx.comm);
  const auto groups = ml::gather_values(sweep.best_labels(), ctx.comm);
  const std::string path = output_path(cfg, cfg.string("cells.output"));
  const std::string contrasts_path = without_suffix(path, ".csv") + "_contrasts.csv";
  const ContrastTable contrasts = cell_group_contrasts(ctx, s, ids, groups, contrasts_path);
  const std::string groups_path = without_suffix(path, ".csv") + "_groups.csv";
  // Everything above computed, everything below written. A contrasts table of
  // an earlier run would otherwise be reported beside this one when this run
  // has none.
  begin_outputs(ctx, {path, groups_path, contrasts_path});
  par::collectively(ctx.comm, [&] {
    if (!ctx.comm.is_root()) return;
    std::vector<std::string> cond_names, cell_names, experiment_names;
    std::vector<std::vector<double>> cols(2 + uo.n_components + d);
    std::vector<std::string> header{"samples", "cell_group"};
    for (std::uint64_t c = 0; c < uo.n_components; ++c) header.push_back(cat("umap_", c + 1));
    for (std::uint64_t j = 0; j < d; ++j) header.push_back(cat("proportion_", j));
    for (std::uint64_t i = 0; i < n; ++i) {
      const auto& [cell, cond, exp] = ids[i];
      cond_names.push_back(s.conditions[static_cast<std::size_t>(cond)]);
      cell_names.push_back(s.cell_text(cell));
      experiment_names.push_back(s.experiment_text(exp));
      std::vector<double> row{totals[i], double(groups[i])};
      for (std::uint64_t c = 0; c < uo.n_components; ++c) row.push_back(embedding.coordinates[i * uo.n_components + c]);
      for (std::uint64_t j = 0; j < d; ++j) row.push_back(proportions[i * d + j]);
      for (std::size_t k = 0; k < row.size(); ++k) cols[k].push_back(row[k]);
    }
    io::write_csv_table(path, {"condition", "cell_id", "experiment"}, {cond_names, cell_names, experiment_names}, header,
                        cols);
    // Composition of each condition by cell group.
    std::map<std::pair<std::string, std::int64_t>, double> table;
    std::map<std::string, double> per_condition;
    for (std::uint64_t i = 0; i < n; ++i) {
      table[{cond_names[i], groups[i]}] += 1;
      per_condition[cond_names[i]] += 1;
    }
    std::vector<std::string> tc;
    std::vector<double> tg, tn, tf;
    for (const auto& [key, count] : table) {
      tc.push_back(key.first);
      tg.push_back(double(key.second));
      tn.push_back(count);
      tf.push_back(count / per_condition[key.first]);
    }
    io::write_csv_table(groups_path, {"condition"}, {tc}, {"cell_group", "cells", "fraction"}, {tg, tn, tf});
  });
  const auto& best = sweep.points[sweep.best];
  core::Log::info(cat("edge cells: ", n, " cells (", dropped, " with fewer than ", cfg.integer("cells.min_samples"),
                      " samples left out), UMAP ", uo.n_components, "-D, K = ", best.parameter, ": ", best.clusters,
                      " cell groups, silhouette ", best.silhouette, " -> ", path));
  if (!contrasts.experiment.empty()) write_contrasts(contrasts_path, "cell_group", contrasts, "edge cells", cfg, ctx.comm);
}

}  // namespace phenoscale::app
