// tomo recover / sweep / sweep-report: the leave-one-class-out structure
// discovery study of Xu et al. 2017 (§2.4, §3.3; the paper's Table 3).
//
//   recover      the k-means cluster most enriched in one class → reference-
//                free alignment and classification (3 classes, 5 iterations)
//                → the class most enriched in it, C_pred → its average against
//                the true map: the FSC-0.5 "structural discrepancy" in nm,
//                recovered when < recover.success_nm (7 nm in the paper)
//                and (recover.closer_than_others) closer to its own map
//                than to any other class map.
//   sweep        for each repeat r < sweep.repeats and left-out class C (all,
//                or the one (r, C) pair `sweep.task` picks: a Slurm array
//                task): train without C → extract → subdivide → recover with
//                run.seed + r, in run.output_dir/<sweep.dir>/class-<C>/
//                (sweep.repeats = 1) or <sweep.dir>/repeat-<r>/class-<C>/.
//                A task whose recover.h5 exists is skipped, so a killed
//                sweep resumes where it stopped.
//   sweep-report gathers every task's recover.h5 into sweep.h5 + sweep.csv:
//                per-repeat recovered counts and their range, per-class
//                recovery rate and discrepancy mean/min/max.
#include "phenoscale/app/tomo_sweep.hpp"

#include <algorithm>
#include <cmath>
#include <filesystem>
#include <fstream>
#include <iomanip>
#include <limits>
#include <sstream>

#include "phenoscale/app/stage_io.hpp"
#include "phenoscale/app/tomo_common.hpp"
#include "phenoscale/app/tomo_learning.hpp"
#include "phenoscale/core/error.hpp"
#include "phenoscale/core/log.hpp"
#include "phenoscale/core/stop_signal.hpp"
#include "phenoscale/io/atomic_file.hpp"
#include "phenoscale/io/csv.hpp"
#include "phenoscale/io/sample_array.hpp"
#include "phenoscale/io/star.hpp"
#include "phenoscale/par/agree.hpp"
#include "phenoscale/par/check_deck.hpp"
#include "phenoscale/tomo/recovery.hpp"

namespace phenoscale::app {
namespace {

using core::cat;

tomo::RecoverySettings recovery_settings(const core::Config& cfg, std::uint64_t members) {
  tomo::RecoverySettings s;
  s.alignment_iterations = static_cast<int>(cfg.integer("recover.alignment_iterations"));
  s.alignment.coarse_step_deg = cfg.real("recover.coarse_step_deg");
  s.alignment.refine_steps_deg = cfg.real_list("recover.refine_steps_deg");
  s.alignment.max_shift_voxels = cfg.real("recover.max_shift_voxels");
  s.alignment.refine_candidates = static_cast<int>(cfg.integer("recover.refine_candidates"));
  // A cluster smaller than the class count is averaged as one class.
  s.classification.classes = static_cast<int>(std::min<std::uint64_t>(cfg.integer("recover.classes"), members));
  s.classification.iterations = static_cast<int>(cfg.integer("recover.iterations"));
  s.classification.seed = static_cast<std::uint64_t>(cfg.integer("run.seed"));
  s.classification.alignment.refine_steps_deg = cfg.real_list("recover.realign_steps_deg");
  s.classification.alignment.max_shift_voxels = s.alignment.max_shift_voxels;
  return s;
}

// The non-empty class map (other than `row`) closest to `average`: how far a
// failed recovery landed. Each comparison is a full alignment, so the maps
// are dealt round-robin over the ranks and the discrepancies summed (each
// entry is computed by exactly one rank, so the sum is exact and every rank
// picks the same nearest class).
std::pair<std::int64_t, double> nearest_other_class(const tomo::Volume& average, const ClassMaps& maps, std::int64_t row,
                                                    const tomo::AlignmentSettings& as, tomo::FscDefinition definition,
                                                    const std::optional<tomo::CtfParameters>& uncorrected,
                                                    const par::Comm& comm) {
  const auto scored = [&](std::size_t c) {
    return static_cast<std::int64_t>(c) != row && !is_empty_map(maps.maps[c]);
  };
  std::vector<double> nm(maps.maps.size(), 0.0);
  par::collectively(comm, [&] {
    for (std::size_t c = static_cast<std::size_t>(comm.rank()); c < nm.size(); c += static_cast<std::size_t>(comm.size())) {
      if (core::StopSignal::received() != 0) break;  // a full alignment per map: the stop point below ends the stage
      if (scored(c)) nm[c] = tomo::structural_discrepancy(average, maps.maps[c], as, definition, uncorrected).resolution_nm;
    }
  });
  par::stop_point(comm, "the comparison with the other class maps");
  comm.allreduce_sum_inplace(nm);
  std::pair<std::int64_t, double> best{-1, 0.0};
  for (std::size_t c = 0; c < nm.size(); ++c)
    if (scored(c) && (best.first < 0 || nm[c] < best.second)) best = {static_cast<std::int64_t>(c), nm[c]};
  return best;
}

// The STAR rows of the recovered cluster's members: class from 1, RELION's
// Euler angles of each member's alignment to its class average, and the
// origin o = −Rᵀs (Å) of the alignment's shift s (docs/file-formats.md).
std::string recover_star_rows(const SelectedSubtomograms& m, const tomo::ClassificationResult& result, double voxel_nm) {
  std::string rows;
  for (std::size_t i = 0; i < m.rows.size(); ++i) {
    const auto& pose = result.alignments[i];
    const auto angles = tomo::relion_angles_deg(pose.rotation);
    const tomo::Vec3 origin = tomo::rotate_vector(tomo::transpose(pose.rotation), pose.shift_voxels);
    rows += io::star_row({std::to_string(m.rows[i]), std::to_string(result.labels[i] + 1), io::star_number(angles[0]),
                          io::star_number(angles[1]), io::star_number(angles[2]),
                          io::star_number(-origin[0] * voxel_nm * 10.0), io::star_number(-origin[1] * voxel_nm * 10.0),
                          io::star_number(-origin[2] * voxel_nm * 10.0)},
                         8);
  }
  return rows;
}

void recover(const StageContext& ctx) {
  const auto& cfg = ctx.config;
  const std::string input = input_or_output(cfg, "recover.input", "simulate.output");
  const std::string subdivide_path = input_or_output(cfg, "recover.subdivide_input", "subdivide.output");
  const std::string reference = input_or_output(cfg, "recover.reference", "structures.output");
  const ClassMaps maps = read_class_maps(reference, ctx.comm);
  const std::int64_t row = cfg.integer("recover.class_row");
  par::check_deck(ctx.comm, row < static_cast<std::int64_t>(maps.maps.size()),
                  cat(deck_label(cfg), ": recover.class_row = ", row, " but ", reference, " holds ", maps.maps.size(),
                      " class maps"));
  const EnrichedCluster chosen = most_enriched_cluster(subdivide_path, row, ctx.comm);
  const std::int64_t cluster = chosen.cluster;
  const double cluster_fraction = chosen.fraction;
  const SelectedSubtomograms m = read_selected(input, {subdivide_path, "/labels", cluster}, false, ctx.comm);
  const std::uint64_t members = m.total;
  const io::H5File in = io::H5File::open(input, ctx.comm);  // its acquisition attributes: CTF correction, first zero
  const tomo::CtfCorrectionSettings correction = ctf_correction(cfg, "recover", in);
  const tomo::RecoverySettings settings = recovery_settings(cfg, members);
  core::Log::info(cat("tomo recover: class row ", row, " (", maps.names[row], "): cluster ", cluster, " of ", members,
                      " subtomograms (", static_cast<int>(100 * cluster_fraction + 0.5), "% of them of this class); ",
                      settings.alignment_iterations, " reference-free alignment pass(es), then ",
                      settings.classification.classes, " classes x ", settings.classification.iterations,
                      " iterations"));
  tomo::ClassificationResult result;
  {
    core::ScopedTimer t(ctx.timers, "recover");
    result = tomo::recover_classes(m.volumes, m.tilt_max_deg, settings, ctx.comm);
  }
  // C_pred: the class with the highest fraction of the left-out class (ties: the larger).
  const int k = settings.classification.classes;
  std::vector<std::int64_t> hits(k, 0);
  for (std::size_t i = 0; i < m.class_rows.size(); ++i) hits[result.labels[i]] += m.class_rows[i] == row;
  ctx.comm.allreduce_sum_inplace(hits);
  std::vector<double> fraction(k, 0.0);
  int predicted = 0;
  for (int c = 0; c < k; ++c) {
    fraction[c] = result.class_sizes[c] ? double(hits[c]) / double(result.class_sizes[c]) : 0.0;
    if (fraction[c] > fraction[predicted] ||
        (fraction[c] == fraction[predicted] && result.class_sizes[c] > result.class_sizes[predicted]))
      predicted = c;
  }
  // C_pred's final map: gold-standard half sets (each half realigned to its
  // own average only), CTF-corrected, merged.
  const auto definition = tomo::fsc_definition_from_name(cfg.string("fsc.definition"));
  tomo::HalfSetAverages gold;
  {
    core::ScopedTimer t(ctx.timers, "half sets");
    gold = tomo::half_set_averages(m.volumes, m.tilt_max_deg, result.alignments, result.labels, predicted,
                                   settings.classification.min_count, settings.classification.alignment,
                                   static_cast<int>(cfg.integer("recover.half_set_realign_passes")), ctx.comm,
                                   definition, correction);
  }
  // The discrepancy to the true map is the same computation on every rank (rank 0's is written);
  // the comparisons with the other class maps are shared out over the ranks.
  tomo::AlignmentSettings score_alignment;
  score_alignment.coarse_step_deg = cfg.real("recover.coarse_step_deg");
  score_alignment.max_shift_voxels = cfg.real("recover.max_shift_voxels");
  const auto uncorrected = uncorrected_ctf(in, correction.mode);  // C_pred's map still carries the CTF
  const tomo::Discrepancy d =
      tomo::structural_discrepancy(gold.full, maps.maps[row], score_alignment, definition, uncorrected);
  core::Log::debug(cat("tomo recover: structural discrepancy to ", maps.names[row], " ", d.resolution_nm,
                       " nm; comparing with the other class maps"));
  const auto nearest = nearest_other_class(gold.full, maps, row, score_alignment, definition, uncorrected, ctx.comm);
  const double first_below_nm =
      tomo::fsc_resolution_nm(d.fsc.fsc, maps.maps[row].nx, maps.voxel_nm, 0.5, tomo::FscDefinition::first_below);
  const double first_zero = first_ctf_zero_per_nm(in);
  const double success_nm = cfg.real("recover.success_nm");
  // With recover.closer_than_others, a map that merely resembles the true
  // one at low resolution (as any compact assembly of similar size does in a
  // small box) does not count: the average must also match its own class
  // better than every other class map.
  const bool recovered = d.resolution_nm < success_nm &&
                         (!cfg.boolean("recover.closer_than_others") || nearest.first < 0 || d.resolution_nm < nearest.second);

  const std::string path = output_path(cfg, cfg.string("recover.output"));
  begin_outputs(ctx, {path, optional_output(cfg, "recover.star")});
  io::H5File out = io::H5File::create(path, ctx.comm);
  const std::uint64_t n = static_cast<std::uint64_t>(maps.maps[row].nx), root = ctx.comm.is_root() ? 1 : 0;
  std::vector<float> averages;
  for (const auto& v : result.class_averages) averages.insert(averages.end(), v.data.begin(), v.data.end());
  io::write_samples(out, "/class_averages", averages.data(), root ? k : 0, {n, n, n});
  io::write_samples(out, "/class_sizes", result.class_sizes.data(), root ? k : 0, {});
  io::write_samples(out, "/class_fraction_left_out", fraction.data(), root ? k : 0, {});
  io::write_samples(out, "/average", gold.full.data.data(), root, {n, n, n});
  const tomo::Volume truth_posed = tomo::apply_alignment(maps.maps[row], d.pose);
  io::write_samples(out, "/truth_in_average_frame", truth_posed.data.data(), root, {n, n, n});
  io::write_samples(out, "/fsc", d.fsc.fsc.data(), root, {d.fsc.fsc.size()});
  io::write_samples(out, "/fsc_frequency_per_nm", d.fsc.frequency_per_nm.data(), root, {d.fsc.frequency_per_nm.size()});
  io::write_samples(out, "/half_set_fsc", gold.fsc.curve.fsc.data(), root, {gold.fsc.curve.fsc.size()});
  io::write_samples(out, "/members", m.rows, {});
  io::write_samples(out, "/member_class_rows", m.class_rows, {});
  io::write_samples(out, "/member_classes", result.labels, {});
  out.write_attribute("/", "class_row", row);
  out.write_attribute("/", "class_name", maps.names[row]);
  out.write_attribute("/", "cluster", cluster);
  out.write_attribute("/", "cluster_size", static_cast<std::int64_t>(members));
  out.write_attribute("/", "cluster_fraction", cluster_fraction);
  out.write_attribute("/", "predicted_class", static_cast<std::int64_t>(predicted));
  out.write_attribute("/", "predicted_class_size", result.class_sizes[predicted]);
  out.write_attribute("/", "predicted_class_fraction", fraction[predicted]);
  out.write_attribute("/", "discrepancy_nm", d.resolution_nm);
  out.write_attribute("/", "fsc_definition", tomo::fsc_definition_name(definition));
  out.write_attribute("/", "discrepancy_first_below_nm", first_below_nm);
  write_half_set_attributes(out, gold, correction.mode, first_zero, d.fsc);
  out.write_attribute("/", "alignment", std::string("reference-free"));
  out.write_attribute("/", "headline",
                      cat("reference-free average of cluster ", cluster, " (", static_cast<int>(100 * cluster_fraction + 0.5),
                          "% ", maps.names[row], "; cluster chosen as the most enriched in it, the evaluation protocol), ",
                          "class ", predicted, " of ", k, " after reference-free classification (C_pred: the class ",
                          "richest in it, also chosen with the simulated labels)"));
  out.write_attribute("/", "success_nm", success_nm);
  out.write_attribute("/", "recovered", static_cast<std::int64_t>(recovered));
  out.write_attribute("/", "nearest_other_class_row", nearest.first);
  out.write_attribute("/", "nearest_other_class_nm", nearest.second);
  out.write_attribute("/average", "voxel_nm", maps.voxel_nm);
  io::write_provenance(out, stage_provenance(ctx, {input, subdivide_path, reference}));
  // The STAR file first: recover.h5 under its final name marks the task done
  // (tomo sweep skips it), so a task killed between the two reruns whole.
  write_star_particles(ctx, "recover.star",
                       {"phenoscaleRow", "rlnClassNumber", "rlnAngleRot", "rlnAngleTilt", "rlnAnglePsi", "rlnOriginXAngst",
                        "rlnOriginYAngst", "rlnOriginZAngst"},
                       recover_star_rows(m, result, maps.voxel_nm));
  out.commit();
  core::Log::info(cat("tomo recover: ", maps.names[row], ": C_pred = class ", predicted, " (",
                      result.class_sizes[predicted], " subtomograms, ", static_cast<int>(100 * fraction[predicted] + 0.5),
                      "% ", maps.names[row], "), CTF correction ", tomo::ctf_correction_name(correction.mode),
                      ", structural discrepancy (FSC-0.5, ", tomo::fsc_definition_name(definition), ") ",
                      d.resolution_nm, " nm (first shell below 0.5: ", first_below_nm, " nm), half-set FSC-0.143 ",
                      gold.fsc.resolution_nm, " nm -> ",
                      recovered ? "recovered" : "not recovered", " (< ", success_nm, " nm); nearest other class ",
                      nearest.first >= 0 ? maps.names[nearest.first] : std::string("-"), " at ", nearest.second,
                      " nm -> ", path));
}

// The class rows a sweep leaves out: sweep.class_rows, else every class row with density.
std::vector<std::int64_t> sweep_rows(const core::Config& cfg, const ClassMaps& maps) {
  std::vector<std::int64_t> rows = cfg.integer_list("sweep.class_rows");
  if (rows.empty())
    for (std::size_t c = 0; c < maps.maps.size(); ++c)
      if (!is_empty_map(maps.maps[c])) rows.push_back(static_cast<std::int64_t>(c));
  return rows;
}

// One leave-one-out task: left-out class row `row` in repeat `repeat`.
struct SweepTask {
  std::int64_t repeat = 0, row = 0;
};

// The seed of repeat r: run.seed + r (repeat 0 is the deck's own seed).
std::int64_t repeat_seed(const core::Config& cfg, std::int64_t repeat) { return cfg.integer("run.seed") + repeat; }

// run.output_dir/<sweep.dir>/class-<row>/ with one repeat (the layout of a
// single sweep), <sweep.dir>/repeat-<r>/class-<row>/ with several.
std::string class_dir(const core::Config& cfg, const SweepTask& t) {
  const std::string repeat = cfg.integer("sweep.repeats") > 1 ? cat("/repeat-", t.repeat) : std::string();
  return output_path(cfg, cat(cfg.string("sweep.dir"), repeat, "/class-", t.row));
}

// The flattened task list: repeat-major, so task i is repeat i / C, class
// entry i % C (C = the number of class rows); the Slurm array covers it.
std::vector<SweepTask> sweep_tasks(const core::Config& cfg, const std::vector<std::int64_t>& rows) {
  std::vector<SweepTask> tasks;
  for (std::int64_t r = 0; r < cfg.integer("sweep.repeats"); ++r)
    for (const std::int64_t row : rows) tasks.push_back({r, row});
  return tasks;
}

// The deck of one leave-one-out task: the same keys, outputs in the task's
// directory, run.seed + repeat (training split, initial weights and batch
// order, k-means, classification), the shared inputs (class maps,
// subtomograms: the same data in every repeat) by absolute path.
core::Config class_config(const core::Config& cfg, const core::Schema& schema, const SweepTask& t) {
  namespace fs = std::filesystem;
  auto absolute = [](const std::string& p) { return fs::absolute(p).lexically_normal().string(); };
  const std::string data = absolute(input_or_output(cfg, "train.input", "simulate.output"));
  const std::string features_data = absolute(input_or_output(cfg, "predict.input", "simulate.output"));
  const std::string maps = absolute(input_or_output(cfg, "recover.reference", "structures.output"));
  const std::vector<std::string> overrides = {
      cat("run.output_dir=", absolute(class_dir(cfg, t))),
      cat("run.seed=", repeat_seed(cfg, t.repeat)),
      cat("train.exclude_classes=[", t.row, "]"),
      cat("train.input=", data),
      cat("predict.input=", features_data),
      cat("subdivide.labels_input=", data),
      "subdivide.input=",
      cat("recover.input=", features_data),
      cat("recover.reference=", maps),
      "recover.subdivide_input=",
      cat("recover.class_row=", t.row),
  };
  return core::Config::resolve(schema, cfg.to_toml(), cfg.deck_name(), overrides);
}

void sweep(const StageContext& ctx) {
  const auto& cfg = ctx.config;
  const std::string reference = input_or_output(cfg, "recover.reference", "structures.output");
  const ClassMaps maps = read_class_maps(reference, ctx.comm);
  std::vector<std::int64_t> rows = sweep_rows(cfg, maps);
  bool rows_ok = !rows.empty();
  for (auto r : rows) rows_ok = rows_ok && r >= 0 && r < static_cast<std::int64_t>(maps.maps.size());
  par::check_deck(ctx.comm, rows_ok,
                  cat(deck_label(cfg), ": sweep.class_rows must name rows 0..", maps.maps.size() - 1, " of ",
                      reference));
  std::vector<SweepTask> tasks = sweep_tasks(cfg, rows);
  const std::int64_t task = cfg.integer("sweep.task");
  par::check_deck(ctx.comm, task < static_cast<std::int64_t>(tasks.size()),
                  cat(deck_label(cfg), ": sweep.task = ", task, " but the sweep has ", rows.size(), " classes x ",
                      cfg.integer("sweep.repeats"), " repeat(s) (array tasks 0..", tasks.size() - 1, ")"));
  if (task >= 0) tasks = {tasks[task]};
  // One leave-one-out task is these stages of this pipeline, in this order.
  const Pipeline tomo = tomo_pipeline();
  const core::Schema schema = tomo.schema();
  std::vector<const Stage*> chain;
  for (const std::string name : {"train", "extract", "subdivide", "recover"}) {
    const auto it = std::find_if(tomo.stages.begin(), tomo.stages.end(), [&](const Stage& s) { return s.name == name; });
    if (it == tomo.stages.end()) throw Error("tomo sweep: the tomo pipeline has no stage \"" + name + "\"");
    chain.push_back(&*it);
  }
  const bool repeated = cfg.integer("sweep.repeats") > 1;
  for (const SweepTask& t : tasks) {
    const std::int64_t row = t.row;
    const core::Config one = class_config(cfg, schema, t);
    const std::string done = output_path(one, one.string("recover.output"));
    const std::string which = cat(maps.names[row], " (class row ", row,
                                  repeated ? cat(", repeat ", t.repeat, ", seed ", one.integer("run.seed")) : "", ")");
    // Agreed on every rank: a task already recovered is not redone.
    if (ctx.comm.allreduce_min<int>(std::filesystem::exists(done) ? 1 : 0)) {
      core::Log::info(cat("tomo sweep: ", which, " already done: ", done));
      continue;
    }
    core::Log::info(cat("tomo sweep: leaving out ", which, " -> ", class_dir(cfg, t)));
    for (const Stage* stage : chain) {
      const StageContext sub{one, ctx.comm,
                             cat("tomo ", stage->name, " (sweep, class row ", row,
                                 repeated ? cat(", repeat ", t.repeat) : "", ")"),
                             ctx.command_line, ctx.timers};
      stage->run(sub);
    }
  }
}

// A sweep-report row, read from one task's recover.h5.
struct SweepRow {
  std::int64_t repeat = 0, seed = 0, class_row = 0, cluster = 0, cluster_size = 0, predicted_size = 0, recovered = 0,
               nearest_row = -1;
  std::string name, nearest_name;
  double cluster_fraction = 0, predicted_fraction = 0, discrepancy_nm = 0, nearest_nm = 0, half_set_nm = 0;
};

// One left-out class over the repeats.
struct ClassOutcome {
  std::int64_t class_row = 0, recovered = 0, repeats = 0;
  std::string name;
  double rate = 0, mean_nm = 0, min_nm = 0, max_nm = 0, half_set_mean_nm = 0;
};

SweepRow read_sweep_row(const std::string& path, const SweepTask& t, const core::Config& cfg, const ClassMaps& maps,
                        const par::Comm& comm) {
  io::H5File in = io::H5File::open(path, comm);
  SweepRow r;
  r.repeat = t.repeat;
  r.seed = repeat_seed(cfg, t.repeat);
  r.class_row = in.read_int_attribute("/", "class_row");
  r.name = in.read_string_attribute("/", "class_name");
  r.cluster = in.read_int_attribute("/", "cluster");
  r.cluster_size = in.read_int_attribute("/", "cluster_size");
  r.cluster_fraction = in.read_double_attribute("/", "cluster_fraction");
  r.predicted_size = in.read_int_attribute("/", "predicted_class_size");
  r.predicted_fraction = in.read_double_attribute("/", "predicted_class_fraction");
  r.discrepancy_nm = in.read_double_attribute("/", "discrepancy_nm");
  r.recovered = in.read_int_attribute("/", "recovered");
  r.nearest_row = in.read_int_attribute("/", "nearest_other_class_row");
  r.nearest_nm = in.read_double_attribute("/", "nearest_other_class_nm");
  // recover.h5 files written before the gold-standard half sets lack it: NaN.
  r.half_set_nm = in.has_attribute("/", "half_set_fsc_resolution_nm")
                      ? in.read_double_attribute("/", "half_set_fsc_resolution_nm")
                      : std::numeric_limits<double>::quiet_NaN();
  r.nearest_name = r.nearest_row >= 0 && r.nearest_row < static_cast<std::int64_t>(maps.names.size())
                       ? maps.names[r.nearest_row] : std::string("-");
  par::check_all(comm, r.class_row == t.row,
                 cat(path, ": holds class row ", r.class_row, ", expected ", t.row, " (a file from another sweep?)"));
  // The provenance records the seed the task ran with: run.seed + repeat.
  const std::int64_t seed = in.has_attribute("/", "seed") ? in.read_int_attribute("/", "seed") : r.seed;
  par::check_all(comm, seed == r.seed,
                 cat(path, ": ran with seed ", seed, ", expected ", r.seed, " (run.seed + repeat ", t.repeat,
                     "; was run.seed changed since the sweep?)"));
  return r;
}

std::string fixed(double v, int digits = 2) {
  std::ostringstream s;
  s << std::fixed << std::setprecision(digits) << v;
  return s.str();
}

std::string padded(const std::string& s, std::size_t width) {
  return s.size() >= width ? s + " " : s + std::string(width - s.size(), ' ');
}

void sweep_report(const StageContext& ctx) {
  const auto& cfg = ctx.config;
  const std::string reference = input_or_output(cfg, "recover.reference", "structures.output");
  const ClassMaps maps = read_class_maps(reference, ctx.comm);
  const std::vector<std::int64_t> rows = sweep_rows(cfg, maps);
  const std::vector<SweepTask> tasks = sweep_tasks(cfg, rows);
  const std::int64_t repeats = cfg.integer("sweep.repeats");
  std::vector<SweepRow> table;
  std::vector<std::string> inputs, missing;
  for (std::size_t i = 0; i < tasks.size(); ++i) {
    const SweepTask& t = tasks[i];
    const std::string path = cat(class_dir(cfg, t), "/", cfg.string("recover.output"));
    if (ctx.comm.allreduce_min<int>(std::filesystem::exists(path) ? 1 : 0) == 0) {
      missing.push_back(cat("task ", i, " (repeat ", t.repeat, ", class row ", t.row, "): ", path));
      continue;
    }
    table.push_back(read_sweep_row(path, t, cfg, maps, ctx.comm));
    inputs.push_back(path);
  }
  std::string list;  // the same on every rank: existence was agreed above
  for (const auto& p : missing) list += (list.empty() ? "" : "; ") + p;
  par::check_all(ctx.comm, missing.empty(),
                 cat("tomo sweep-report: ", missing.size(), " of ", tasks.size(), " sweep tasks (", rows.size(),
                     " classes x ", repeats, " repeat(s)) have no result yet (run `tomo sweep` for them, or "
                     "--set sweep.task=i): ", list));
  // Per repeat: the recovered count; its range over the repeats is the sweep's outcome.
  std::vector<std::int64_t> repeat_recovered(repeats, 0), repeat_seeds(repeats);
  for (std::int64_t r = 0; r < repeats; ++r) repeat_seeds[r] = repeat_seed(cfg, r);
  std::int64_t recovered = 0;
  for (const auto& r : table) repeat_recovered[r.repeat] += r.recovered, recovered += r.recovered;
  const std::int64_t recovered_min = *std::min_element(repeat_recovered.begin(), repeat_recovered.end());
  const std::int64_t recovered_max = *std::max_element(repeat_recovered.begin(), repeat_recovered.end());
  const double recovered_mean = double(recovered) / double(repeats);
  // Per class: recovered repeats / repeats and the discrepancy over the repeats.
  std::vector<ClassOutcome> classes;
  for (const std::int64_t row : rows) {
    ClassOutcome c;
    c.class_row = row;
    c.name = maps.names[row];
    double sum = 0, half_sum = 0;
    for (const auto& r : table) {
      if (r.class_row != row) continue;
      c.min_nm = c.repeats ? std::min(c.min_nm, r.discrepancy_nm) : r.discrepancy_nm;
      c.max_nm = c.repeats ? std::max(c.max_nm, r.discrepancy_nm) : r.discrepancy_nm;
      ++c.repeats;
      c.recovered += r.recovered;
      sum += r.discrepancy_nm;
      half_sum += r.half_set_nm;
    }
    c.rate = double(c.recovered) / double(c.repeats);
    c.mean_nm = sum / double(c.repeats);
    c.half_set_mean_nm = half_sum / double(c.repeats);
    classes.push_back(c);
  }
  const auto outcome = [&](std::int64_t row) -> const ClassOutcome& {
    return *std::find_if(classes.begin(), classes.end(), [&](const ClassOutcome& c) { return c.class_row == row; });
  };

  const std::string h5 = output_path(cfg, cfg.string("sweep.output"));
  const std::string csv = output_path(cfg, cfg.string("sweep.csv"));
  begin_outputs(ctx, {h5, csv});
  {
    io::H5File out = io::H5File::create(h5, ctx.comm);
    const bool root = ctx.comm.is_root();
    const std::uint64_t count = root ? table.size() : 0;
    std::vector<std::int64_t> ints;
    std::vector<double> reals;
    for (const auto& r : table) {
      ints.insert(ints.end(), {r.class_row, r.cluster, r.cluster_size, r.predicted_size, r.recovered, r.nearest_row,
                               r.repeat, r.seed});
      reals.insert(reals.end(),
                   {r.discrepancy_nm, r.cluster_fraction, r.predicted_fraction, r.nearest_nm, r.half_set_nm});
    }
    io::write_samples(out, "/table_int", ints.data(), count, {8});
    io::write_samples(out, "/table_real", reals.data(), count, {5});
    out.write_attribute("/table_int", "columns",
                        std::string("class_row,cluster,cluster_size,predicted_class_size,recovered,"
                                    "nearest_other_class_row,repeat,seed"));
    out.write_attribute("/table_real", "columns",
                        std::string("discrepancy_nm,cluster_fraction,predicted_class_fraction,nearest_other_class_nm,"
                                    "half_set_fsc_nm"));
    const std::uint64_t nr = root ? static_cast<std::uint64_t>(repeats) : 0, nc = root ? classes.size() : 0;
    io::write_samples(out, "/repeat_recovered", repeat_recovered.data(), nr, {});
    io::write_samples(out, "/repeat_seed", repeat_seeds.data(), nr, {});
    std::vector<std::int64_t> class_rows, class_recovered;
    std::vector<double> rate, mean_nm, min_nm, max_nm;
    for (const auto& c : classes) {
      class_rows.push_back(c.class_row), class_recovered.push_back(c.recovered), rate.push_back(c.rate);
      mean_nm.push_back(c.mean_nm), min_nm.push_back(c.min_nm), max_nm.push_back(c.max_nm);
    }
    io::write_samples(out, "/class_rows", class_rows.data(), nc, {});
    io::write_samples(out, "/class_recovered", class_recovered.data(), nc, {});
    io::write_samples(out, "/class_recovery_rate", rate.data(), nc, {});
    io::write_samples(out, "/class_discrepancy_mean_nm", mean_nm.data(), nc, {});
    io::write_samples(out, "/class_discrepancy_min_nm", min_nm.data(), nc, {});
    io::write_samples(out, "/class_discrepancy_max_nm", max_nm.data(), nc, {});
    out.write_attribute("/", "recovered", recovered);
    out.write_attribute("/", "classes", static_cast<std::int64_t>(classes.size()));
    out.write_attribute("/", "repeats", repeats);
    out.write_attribute("/", "recovered_min", recovered_min);
    out.write_attribute("/", "recovered_max", recovered_max);
    out.write_attribute("/", "recovered_mean", recovered_mean);
    out.write_attribute("/", "success_nm", cfg.real("recover.success_nm"));
    io::write_provenance(out, stage_provenance(ctx, inputs));
    out.commit();
  }
  par::collectively(ctx.comm, [&] {
    if (!ctx.comm.is_root()) return;
    std::ostringstream text;
    text << "class_row,class_name,cluster,cluster_size,cluster_fraction,predicted_class_size,predicted_class_fraction,"
            "discrepancy_nm,recovered,nearest_other_class,nearest_other_class_nm,half_set_fsc_nm,repeat,seed,"
            "repeat_recovered,class_recovery_rate,class_discrepancy_mean_nm,class_discrepancy_min_nm,"
            "class_discrepancy_max_nm\n";
    for (const auto& r : table) {
      const ClassOutcome& c = outcome(r.class_row);
      text << r.class_row << ',' << io::csv_field(r.name) << ',' << r.cluster << ',' << r.cluster_size << ',' << r.cluster_fraction
           << ',' << r.predicted_size << ',' << r.predicted_fraction << ',' << r.discrepancy_nm << ','
           << (r.recovered ? "yes" : "no") << ',' << io::csv_field(r.nearest_name) << ',' << r.nearest_nm << ',' << r.half_set_nm
           << ',' << r.repeat << ',' << r.seed << ',' << repeat_recovered[r.repeat] << ',' << c.rate << ','
           << c.mean_nm << ',' << c.min_nm << ',' << c.max_nm << '\n';
    }
    io::AtomicFile file(csv);
    {
      std::ofstream f(file.path());
      f << text.str();
      if (!f.flush()) throw IoError(cat(csv, ": cannot write the sweep table"));
    }
    file.commit();
  });
  const double success_nm = cfg.real("recover.success_nm");
  core::Log::info(cat("tomo sweep-report: ", classes.size(), " left-out classes x ", repeats, " repeat(s) (seeds ",
                      repeat_seeds.front(), "..", repeat_seeds.back(), "); discrepancy (FSC-0.5) in nm"));
  core::Log::info(cat("  ", padded("class", 16), padded("recovered", 11), padded("rate", 6),
                      padded("discrepancy mean [min, max]", 29), "half-set FSC-0.143 mean"));
  for (const auto& c : classes)
    core::Log::info(cat("  ", padded(c.name, 16), padded(cat(c.recovered, "/", c.repeats), 11), padded(fixed(c.rate), 6),
                        padded(cat(fixed(c.mean_nm), " [", fixed(c.min_nm), ", ", fixed(c.max_nm), "]"), 29),
                        fixed(c.half_set_mean_nm)));
  for (std::int64_t r = 0; r < repeats; ++r)
    core::Log::info(cat("  repeat ", r, " (seed ", repeat_seeds[r], "): ", repeat_recovered[r], "/", classes.size(),
                        " recovered"));
  if (repeats == 1)
    core::Log::info(cat("tomo sweep-report: ", recovered, "/", classes.size(), " left-out classes recovered at < ",
                        success_nm, " nm -> ", h5, ", ", csv));
  else
    core::Log::info(cat("tomo sweep-report: ", recovered_min, "..", recovered_max, " of ", classes.size(),
                        " left-out classes recovered per repeat (mean ", fixed(recovered_mean), " over ", repeats,
                        " repeats) at < ", success_nm, " nm -> ", h5, ", ", csv));
}

}  // namespace

void add_tomo_sweep_keys(core::Schema& s) {
  s.string("recover.input", "", "Subtomograms; empty = run.output_dir/<simulate.output>")
      .string("recover.subdivide_input", "", "k-means subdivision; empty = run.output_dir/<subdivide.output>")
      .string("recover.reference", "", "True class maps; empty = run.output_dir/<structures.output>")
      .integer("recover.class_row", 0, "Class (row of the class maps) whose most enriched cluster is recovered", 0, 1e6)
      .integer("recover.alignment_iterations", 2, "Reference-free global alignment passes before classification", 1, 100)
      .real("recover.coarse_step_deg", 30.0, "Rotation grid step of the global alignment, degrees", 1.0, 90.0)
      .real_list("recover.refine_steps_deg", {10.0, 5.0, 2.5}, "Its local refinement steps, degrees", 0.01, 90.0)
      .integer("recover.refine_candidates", 3, "Best grid rotations refined by the global alignment", 1, 100)
      .real_list("recover.realign_steps_deg", {4.0, 2.0}, "Local realignment steps during classification, degrees",
                 0.01, 90.0)
      .real("recover.max_shift_voxels", 4.0, "Translation search range, voxels", 0.0, 1e3)
      .integer("recover.classes", 3, "Reference-free classes (the paper: 3)", 1, 100)
      .integer("recover.iterations", 5, "Classification iterations (the paper: 5)", 0, 100)
      .real("recover.success_nm", 7.0,
            "Recovered when the FSC-0.5 discrepancy (read by fsc.definition) is below this (the paper: 7 nm)", 0.0, 1e6)
      .string("recover.ctf_correction", "auto",
              "CTF correction of C_pred's final map (its half sets): as average.ctf_correction",
              {"auto", "none", "phase-flip", "wiener"})
      .real("recover.wiener_snr", 1.0, "SNR constant of the Wiener-filtered final map (its 1/SNR term)", 1e-9, 1e12)
      .integer("recover.half_set_realign_passes", 1,
               "Gold-standard half sets of C_pred: local realignment passes of each half to its own average", 0, 100)
      .boolean("recover.closer_than_others", true,
               "Recovered also requires a smaller discrepancy to the own map than to any other class map")
      .string("recover.output", "recover.h5", "Output file name inside run.output_dir")
      .string("recover.star", "recover.star",
              "RELION-style STAR file of the cluster's members: row, class, Euler angles, origin (docs/file-formats.md) "
              "inside run.output_dir; empty = none")
      .integer_list("sweep.class_rows", {}, "Classes left out one at a time; empty = every class row with density", 0)
      .integer("sweep.repeats", 1,
               "Repeats of the whole sweep; repeat r trains, clusters and classifies with run.seed + r (same data)",
               1, 1e4)
      .integer("sweep.task", -1,
               "Run only entry `task` of the (repeat, class) list, repeat-major: repeat task / C, class entry "
               "task % C (a Slurm array task id); -1 = all in turn",
               -1, 1e6)
      .string("sweep.dir", "sweep",
              "Directory inside run.output_dir holding class-<row>/ per left-out class (repeat-<r>/class-<row>/ "
              "when sweep.repeats > 1)")
      .string("sweep.output", "sweep.h5",
              "sweep-report: the per-task table, per-repeat counts, per-class rates (HDF5) inside run.output_dir")
      .string("sweep.csv", "sweep.csv", "sweep-report: the same table as CSV inside run.output_dir");
}

std::vector<Stage> tomo_sweep_stages() {
  return {
      {"recover", "Reference-free alignment/classification of a class's most enriched cluster; FSC vs truth", recover},
      {"sweep", "Leave-one-class-out: train without C, extract, subdivide, recover (one class or all)", sweep},
      {"sweep-report", "Table of the sweep: discrepancy (nm), recovered or not; over repeats the recovered-count "
                       "range and per-class recovery rate", sweep_report},
  };
}

}  // namespace phenoscale::app
