// tomo average / classify: subtomogram averaging and reference-free
// classification of the tomo pipeline (Xu et al. 2017; see
// tomo_averaging.hpp).
//
//   mpirun -n 2 phenoscale tomo average  -c inputs/tomo/demo.toml --set average.class_id=9
//   mpirun -n 2 phenoscale tomo classify -c inputs/tomo/demo.toml
#include "phenoscale/app/tomo_averaging.hpp"

#include <algorithm>
#include <cmath>
#include <numeric>

#include "phenoscale/app/stage_io.hpp"
#include "phenoscale/app/tomo_common.hpp"
#include "phenoscale/core/error.hpp"
#include "phenoscale/core/first_repeat.hpp"
#include "phenoscale/core/log.hpp"
#include "phenoscale/core/stop_signal.hpp"
#include "phenoscale/io/mrc.hpp"
#include "phenoscale/io/provenance.hpp"
#include "phenoscale/io/sample_array.hpp"
#include "phenoscale/par/agree.hpp"
#include "phenoscale/par/check_deck.hpp"
#include "phenoscale/tomo/alignment.hpp"
#include "phenoscale/tomo/averaging.hpp"
#include "phenoscale/tomo/fsc.hpp"
#include "phenoscale/tomo/missing_wedge.hpp"
#include "phenoscale/tomo/procedural.hpp"
#include "phenoscale/tomo/recovery.hpp"

namespace phenoscale::app {
namespace {

// The point group of class map row `row` (procedural classes; the identity
// for a PDB/mmCIF class, whose symmetry the structures file does not record).
std::vector<tomo::Mat3> class_symmetry(const ClassMaps& classes, std::int64_t row) {
  if (row < 0 || row >= static_cast<std::int64_t>(classes.class_ids.size())) return {};
  const std::int64_t id = classes.class_ids[static_cast<std::size_t>(row)];
  if (id < 0 || id > tomo::empty_class_id) return {};
  return tomo::procedural_symmetry_group(static_cast<int>(id));
}

using core::cat;

// The subtomograms an average takes: a subdivision cluster (average.cluster:
// an id, or "most-enriched[:<row>]" for evaluation), or with average.members
// = oracle the simulated class rows. Returns the selection and, for the
// headline, how it was made.
std::pair<Selection, std::string> average_selection(const core::Config& cfg, const std::string& input,
                                                    const ClassMaps& maps, std::int64_t row, const par::Comm& comm) {
  if (cfg.string("average.members") == "oracle")
    return {{input, "/class_rows", row}, cat("the simulated members of ", maps.names[row], " (oracle)")};
  const std::string subdivide = input_or_output(cfg, "average.subdivide_input", "subdivide.output");
  const std::string spec = cfg.string("average.cluster");
  const std::string prefix = "most-enriched";
  const bool enriched = spec.rfind(prefix, 0) == 0;
  // The digits: the whole spec (a cluster id) or what follows "most-enriched:" (a class row), if anything.
  const std::string digits = !enriched ? spec : spec.size() > prefix.size() ? spec.substr(prefix.size() + 1) : "0";
  par::check_deck(comm,
                  (!enriched || spec.size() == prefix.size() || spec[prefix.size()] == ':') && !digits.empty() &&
                      digits.size() <= 18 && digits.find_first_not_of("0123456789") == std::string::npos,
                  cat(deck_label(cfg), ": average.cluster = \"", spec,
                      "\": expected a cluster id, \"most-enriched\" or \"most-enriched:<class row>\""));
  if (enriched) {
    const std::int64_t enriched_row = spec.size() > prefix.size() ? std::stoll(digits) : row;
    const EnrichedCluster c = most_enriched_cluster(subdivide, enriched_row, comm);
    return {{subdivide, "/labels", c.cluster},
            cat("cluster ", c.cluster, " (chosen as the most enriched in class row ", enriched_row,
                " with the simulated labels: evaluation protocol)")};
  }
  const std::int64_t id = std::stoll(spec);
  return {{subdivide, "/labels", id}, cat("cluster ", id)};
}

// Poses of the members: reference-free (the alignment of `tomo recover`,
// Xu et al. 2017 §2.4), aligned to the class map as the members' CTF
// transmits it (reference), or the simulated poses (oracle).
std::vector<tomo::AlignmentResult> average_poses(const core::Config& cfg, const SelectedSubtomograms& m,
                                                 const tomo::Volume& map, const std::optional<tomo::CtfParameters>& ctf,
                                                 const par::Comm& comm) {
  const std::string mode = cfg.string("average.alignment");
  if (mode == "oracle") return m.simulated_poses;
  const tomo::RecoverySettings s =
      reference_free_settings(cfg, "average", std::max(2.0, m.max_shift_voxels + 2.0), cfg.real("average.min_count"));
  if (mode == "reference-free") return tomo::reference_free_alignment(m.volumes, m.tilt_max_deg, s, comm);
  const auto all_observed = tomo::missing_wedge_mask(map.nx, map.ny, map.nz, 90.0);
  const tomo::Volume reference = ctf ? tomo::ctf_filtered(map, *ctf) : map;
  std::vector<tomo::AlignmentResult> poses;
  for (const auto& v : m.volumes) {
    if (core::StopSignal::received() != 0) break;  // a global search per member: the stop point below ends the stage
    poses.push_back(tomo::align(reference, all_observed, v, m.tilt_max_deg, s.alignment));
  }
  par::stop_point(comm, "the alignment to the class map");
  return poses;
}

// Whether the average reads simulated poses or labels beyond scoring.
bool average_uses_oracle(const core::Config& cfg) {
  return cfg.string("average.alignment") == "oracle" || cfg.string("average.members") == "oracle";
}

// What the average's headline says about the truth it used.
std::string average_headline(const core::Config& cfg, const std::string& members) {
  const std::string mode = cfg.string("average.alignment");
  const bool oracle = average_uses_oracle(cfg);
  const std::string how = mode == "reference-free" ? "reference-free average"
                          : mode == "reference"    ? "average aligned to the simulated class map (reference-based)"
                                                   : "average at the simulated poses";
  return cat(oracle ? "oracle (upper bound, uses simulated poses or labels): " : "", how, " of ", members);
}

void average(const StageContext& ctx) {
  const auto& cfg = ctx.config;
  const std::string input = input_or_output(cfg, "average.input", "simulate.output");
  const std::string reference = input_or_output(cfg, "average.reference", "structures.output");
  const ClassMaps classes = read_class_maps(reference, ctx.comm);
  const std::int64_t row = cfg.integer("average.class_id");
  par::check_deck(ctx.comm, row < static_cast<std::int64_t>(classes.maps.size()),
                  cat(deck_label(cfg), ": average.class_id = ", row,
                      " but ", reference, " holds ", classes.maps.size(), " class maps"));
  const tomo::Volume& truth = classes.maps[row];
  const auto [selection, members] = average_selection(cfg, input, classes, row, ctx.comm);
  const bool frame_of_truth = cfg.string("average.alignment") != "reference-free";
  // Simulated poses are read for the oracle alignment, and to score the reference-based one.
  const SelectedSubtomograms m = read_selected(input, selection, frame_of_truth, ctx.comm);
  const std::string headline = average_headline(cfg, members);
  core::Log::info(cat("tomo average: ", headline, ": ", m.total, " subtomograms"));
  io::H5File in = io::H5File::open(input, ctx.comm);
  const tomo::CtfCorrectionSettings correction = ctf_correction(cfg, "average", in);
  const auto definition = tomo::fsc_definition_from_name(cfg.string("fsc.definition"));
  const double min_count = cfg.real("average.min_count");
  std::vector<tomo::AlignmentResult> poses;
  tomo::HalfSetAverages gold;
  {
    core::ScopedTimer t(ctx.timers, "average");
    poses = average_poses(cfg, m, truth, member_ctf(in), ctx.comm);
    // Reference-free: each half realigned to its own average (gold standard);
    // other modes keep the poses they were given.
    tomo::AlignmentSettings local;
    local.refine_steps_deg = cfg.real_list("average.realign_steps_deg");
    local.max_shift_voxels = std::max(2.0, m.max_shift_voxels + 2.0);
    const int passes = frame_of_truth ? 0 : static_cast<int>(cfg.integer("average.half_set_realign_passes"));
    gold = tomo::half_set_averages(m.volumes, m.tilt_max_deg, poses, std::vector<std::int64_t>(m.volumes.size(), 0), 0,
                                   min_count, local, passes, ctx.comm, definition, correction);
  }
  // Scoring against the simulated map: in its frame already, or aligned onto the average's own frame.
  tomo::AlignmentSettings score_alignment;
  score_alignment.coarse_step_deg = cfg.real("average.coarse_step_deg");
  score_alignment.max_shift_voxels = std::max(2.0, m.max_shift_voxels + 2.0);
  tomo::Discrepancy d;
  if (frame_of_truth)
    d.fsc = tomo::fourier_shell_correlation(gold.full, truth, definition);
  else
    d = tomo::structural_discrepancy(gold.full, truth, score_alignment, definition, uncorrected_ctf(in, correction.mode));
  const double resolution_nm = d.fsc.resolution_nm;
  const int n = truth.nx;
  const std::uint64_t un = static_cast<std::uint64_t>(n);
  const double first_below_nm = tomo::fsc_resolution_nm(d.fsc.fsc, n, truth.voxel_nm, 0.5, tomo::FscDefinition::first_below);
  std::int64_t of_class = 0;
  for (auto r : m.class_rows) of_class += r == row;
  const double purity = double(ctx.comm.allreduce_sum(of_class)) / double(m.total);
  // Geodesic distance to the simulated pose (reference mode), modulo each
  // member's own class symmetry: a C7 ring aligned 360/7° off is aligned.
  // The mean counts a top-bottom swap of a pseudo-symmetric barrel in full;
  // the median shows whether most members are aligned.
  double rotation_error_deg = 0.0, median_rotation_error_deg = 0.0;
  if (cfg.string("average.alignment") == "reference") {
    std::vector<double> errors;
    for (std::size_t i = 0; i < poses.size(); ++i)
      errors.push_back(tomo::geodesic_distance_modulo_rad(poses[i].rotation, m.simulated_poses[i].rotation,
                                                          class_symmetry(classes, m.class_rows[i])) *
                       180.0 / 3.14159265358979323846);
    std::vector<double> all = ctx.comm.allgatherv(errors);
    rotation_error_deg = std::accumulate(all.begin(), all.end(), 0.0) / double(all.size());
    std::sort(all.begin(), all.end());
    const std::size_t h = all.size() / 2;
    median_rotation_error_deg = all.size() % 2 ? all[h] : 0.5 * (all[h - 1] + all[h]);
  }
  // Below the first CTF zero an uncorrected average carries the inverted map
  // (and again in every second band past it): the mean FSC against the class
  // map on either side of the zero shows what the correction buys.
  const double first_zero = first_ctf_zero_per_nm(in);
  const std::string path = output_path(cfg, cfg.string("average.output"));
  const std::string mrc = optional_output(cfg, "average.mrc");
  begin_outputs(ctx, {path, mrc});
  io::H5File out = io::H5File::create(path, ctx.comm);
  const std::uint64_t root_rows = ctx.comm.is_root() ? 1 : 0;
  io::write_samples(out, "/average", gold.full.data.data(), root_rows, {un, un, un});
  io::write_samples(out, "/fsc", d.fsc.fsc.data(), root_rows, {d.fsc.fsc.size()});
  io::write_samples(out, "/fsc_frequency_per_nm", d.fsc.frequency_per_nm.data(), root_rows, {d.fsc.frequency_per_nm.size()});
  io::write_samples(out, "/half_set_fsc", gold.fsc.curve.fsc.data(), root_rows, {gold.fsc.curve.fsc.size()});
  io::write_samples(out, "/members", m.rows, {});
  if (!frame_of_truth) {
    const tomo::Volume posed = tomo::apply_alignment(truth, d.pose);
    io::write_samples(out, "/truth_in_average_frame", posed.data.data(), root_rows, {un, un, un});
  }
  out.write_attribute("/", "headline", headline);
  out.write_attribute("/", "oracle", static_cast<std::int64_t>(average_uses_oracle(cfg)));
  out.write_attribute("/", "members", cfg.string("average.members"));
  out.write_attribute("/", "alignment", cfg.string("average.alignment"));
  out.write_attribute("/", "selection", cat(selection.file, ":", selection.dataset, " = ", selection.wanted));
  out.write_attribute("/", "purity", purity);
  out.write_attribute("/", "fsc_resolution_nm", resolution_nm);
  out.write_attribute("/", "fsc_definition", tomo::fsc_definition_name(definition));
  out.write_attribute("/", "fsc_resolution_first_below_nm", first_below_nm);
  write_half_set_attributes(out, gold, correction.mode, first_zero, d.fsc);
  if (correction.mode == tomo::CtfCorrection::wiener) out.write_attribute("/", "wiener_snr", correction.wiener_snr);
  out.write_attribute("/", "subtomograms_averaged", static_cast<std::int64_t>(gold.used));
  out.write_attribute("/", "class_row", row);
  if (cfg.string("average.alignment") == "reference") {
    out.write_attribute("/", "mean_rotation_error_deg", rotation_error_deg);
    out.write_attribute("/", "median_rotation_error_deg", median_rotation_error_deg);
  }
  out.write_attribute("/average", "voxel_nm", truth.voxel_nm);
  io::write_provenance(out, stage_provenance(ctx, {input, reference, selection.file}));
  out.commit();
  if (!mrc.empty()) {
    par::collectively(ctx.comm, [&] {
      if (ctx.comm.is_root()) io::write_mrc(mrc, to_mrc(gold.full));
    });
  }
  core::Log::info(cat("tomo average: ", headline, ": ", gold.used, " subtomograms, ",
                      static_cast<int>(100 * purity + 0.5), "% of them ", classes.names[row], ", CTF correction ",
                      tomo::ctf_correction_name(correction.mode), "; FSC-0.5 against the class map (",
                      tomo::fsc_definition_name(definition), ") ", resolution_nm, " nm (first shell below 0.5: ",
                      first_below_nm, " nm); half-set FSC-0.143 ", gold.fsc.resolution_nm, " nm -> ", path));
}

void classify(const StageContext& ctx) {
  const auto& cfg = ctx.config;
  const auto& wanted = cfg.integer_list("classify.label_ids");
  par::collectively(ctx.comm, [&] {  // a deck error: exit 2, one line
    if (const auto i = core::first_repeat(wanted); i < wanted.size())
      throw ConfigError(cat(deck_label(cfg), ": classify.label_ids names label ", wanted[i],
                            " twice; expected distinct labels"));
  });
  const std::string input = input_or_output(cfg, "classify.input", "simulate.output");
  io::H5File in = io::H5File::open(input, ctx.comm);
  const SubtomogramBlock subs = read_subtomograms(in);
  const int n = subs.n;
  const std::uint64_t un = static_cast<std::uint64_t>(n);
  const auto labels = io::read_samples<std::int64_t>(in, "/labels", io::one_value_per_row());
  // Purity is scored against the class map rows where the file has them:
  // every PDB/mmCIF class has label −1, a row of its own.
  const bool by_rows = in.has("/class_rows");
  const auto class_rows = by_rows ? io::read_samples<std::int64_t>(in, "/class_rows", io::one_value_per_row()).data : labels.data;
  const double tilt = in.read_double_attribute("/subtomograms", "tilt_max_deg");
  const double voxel_nm = in.read_double_attribute("/subtomograms", "voxel_nm");
  const std::string start_mode = cfg.string("classify.initial_alignment");
  const bool oracle = start_mode == "oracle";
  io::SampleBlock<double> rotations, shifts;
  if (oracle) {
    rotations = io::read_samples<double>(in, "/rotations", {{3, 3}, true});
    shifts = io::read_samples<double>(in, "/shifts_voxels", {{3}, true});
  }
  std::vector<tomo::Volume> local;
  std::vector<tomo::AlignmentResult> initial;
  std::vector<std::int64_t> rows, true_labels, true_classes;
  std::vector<std::uint64_t> per_id(wanted.size(), 0);  // this rank's kept subtomograms per listed id
  for (std::uint64_t i = 0; i < labels.data.size(); ++i) {
    if (!wanted.empty()) {
      const auto listed = std::find(wanted.begin(), wanted.end(), labels.data[i]);
      if (listed == wanted.end()) continue;
      per_id[static_cast<std::size_t>(listed - wanted.begin())] += 1;
    }
    tomo::Volume v = subs.volume(i, voxel_nm);
    tomo::AlignmentResult start;
    if (oracle) {
      std::copy(rotations.row(i), rotations.row(i) + 9, start.rotation.begin());
      start.rotation = tomo::transpose(start.rotation);  // undo the simulated pose
      const tomo::Vec3 back = tomo::rotate_vector(start.rotation, {shifts.row(i)[0], shifts.row(i)[1], shifts.row(i)[2]});
      start.shift_voxels = {-back[0], -back[1], -back[2]};
    }
    local.push_back(std::move(v));
    initial.push_back(start);
    rows.push_back(static_cast<std::int64_t>(labels.rows.begin + i));
    true_labels.push_back(labels.data[i]);
    true_classes.push_back(class_rows[i]);
  }
  const std::uint64_t total = ctx.comm.allreduce_sum(static_cast<std::uint64_t>(local.size()));
  // A wanted id no subtomogram carries (a typo, or a deck for another data set) selects nothing: say so.
  ctx.comm.allreduce_sum_inplace(per_id);
  for (std::size_t j = 0; j < wanted.size(); ++j)
    if (per_id[j] == 0 && total > 0)
      core::Log::warn(cat(deck_label(cfg), ": classify.label_ids names label ", wanted[j], ", but no subtomogram of ",
                          input, " has it"));
  par::check_deck(ctx.comm, total >= static_cast<std::uint64_t>(cfg.integer("classify.classes")),
                  cat(deck_label(cfg), ": classify.classes = ",
                      cfg.integer("classify.classes"), " but only ", total, " subtomograms of ", input,
                      " match classify.label_ids"));
  tomo::ClassificationSettings s;
  s.classes = static_cast<int>(cfg.integer("classify.classes"));
  s.iterations = static_cast<int>(cfg.integer("classify.iterations"));
  s.pca_components = static_cast<int>(cfg.integer("classify.pca_components"));
  s.high_variance_fraction = cfg.real("classify.high_variance_fraction");
  s.max_high_variance_voxels = cfg.integer("classify.max_high_variance_voxels");
  s.min_count = cfg.real("classify.min_count");
  // A start the user vouches for (identity, oracle) is refined only.
  if (start_mode == "reference-free")
    s.global_realign_passes = static_cast<int>(cfg.integer("classify.global_realign_passes"));
  s.seed = cfg.integer("run.seed");
  s.alignment.refine_steps_deg = cfg.real_list("classify.refine_steps_deg");
  s.alignment.max_shift_voxels = std::max(2.0, in.read_double_attribute("/subtomograms", "max_shift_voxels") + 2.0);
  // One search for both the reference-free alignment and the global realignment.
  const tomo::RecoverySettings reference_free =
      reference_free_settings(cfg, "classify", s.alignment.max_shift_voxels, s.min_count);
  s.global_alignment = reference_free.alignment;
  core::Log::info(cat("tomo classify: ", oracle ? "oracle (upper bound, uses simulated poses): " : "", total,
                      " subtomograms of ", n, "^3 from the ", start_mode, " initial alignment into ", s.classes,
                      " classes, up to ",
                      s.iterations, " realignment passes",
                      s.global_realign_passes > 0 ? cat(" (the first ", s.global_realign_passes, " a global search)") : "",
                      ", on ", ctx.comm.size(), " rank(s)"));
  tomo::ClassificationResult result;
  {
    core::ScopedTimer t(ctx.timers, "classify");
    if (start_mode == "reference-free") {
      // Global reference-free alignment first (as `tomo recover`, Xu et al. 2017 §2.4).
      initial = tomo::reference_free_alignment(local, tilt, reference_free, ctx.comm);
    }
    result = tomo::classify(local, tilt, initial, s, ctx.comm);
  }
  // Purity against the true classes (map rows; else labels): Σ_k max_l n_kl / N (contingency summed over ranks).
  std::int64_t max_label = 0;
  for (auto l : true_classes) max_label = std::max(max_label, l);
  max_label = ctx.comm.allreduce_max(max_label);
  const std::size_t width = static_cast<std::size_t>(max_label + 1);
  std::vector<std::int64_t> contingency(static_cast<std::size_t>(s.classes) * width, 0);
  for (std::size_t i = 0; i < true_classes.size(); ++i)
    if (true_classes[i] >= 0) ++contingency[result.labels[i] * width + true_classes[i]];
  ctx.comm.allreduce_sum_inplace(contingency);
  std::int64_t majority = 0;
  for (int k = 0; k < s.classes; ++k)
    majority += *std::max_element(contingency.begin() + k * width, contingency.begin() + (k + 1) * width);
  // Over the members with a true class (PDB classes of files without
  // /class_rows have none): an unlabelled member is not a wrong one.
  const std::int64_t labelled = std::accumulate(contingency.begin(), contingency.end(), std::int64_t{0});
  const double purity = labelled > 0 ? double(majority) / double(labelled) : 0.0;
  std::vector<double> rot, shift;
  std::vector<float> averages;
  for (const auto& a : result.alignments) {
    rot.insert(rot.end(), a.rotation.begin(), a.rotation.end());
    shift.insert(shift.end(), a.shift_voxels.begin(), a.shift_voxels.end());
  }
  for (const auto& v : result.class_averages) averages.insert(averages.end(), v.data.begin(), v.data.end());
  const std::string path = output_path(cfg, cfg.string("classify.output"));
  make_parent_dir(ctx, path);
  io::H5File out = io::H5File::create(path, ctx.comm);
  io::write_samples(out, "/predicted_labels", result.labels, {});
  io::write_samples(out, "/rows", rows, {});
  io::write_samples(out, "/true_labels", true_labels, {});
  io::write_samples(out, "/rotations", rot, {3, 3});
  io::write_samples(out, "/shifts_voxels", shift, {3});
  io::write_samples(out, "/class_averages", averages.data(), ctx.comm.is_root() ? result.class_averages.size() : 0,
                    {un, un, un});
  io::write_samples(out, "/class_sizes", result.class_sizes.data(), ctx.comm.is_root() ? result.class_sizes.size() : 0, {});
  out.write_attribute("/", "purity", purity);
  out.write_attribute("/", "initial_alignment", start_mode);
  out.write_attribute("/", "global_realign_passes",
                      static_cast<std::int64_t>(std::min(s.global_realign_passes, result.iterations_run)));
  // A selection by simulated labels is an oracle too: the classes to tell
  // apart were picked with the truth (an evaluation, not a method run).
  const bool label_selected = !wanted.empty();
  out.write_attribute("/", "headline",
                      cat(oracle           ? "oracle (upper bound, uses simulated poses): classification started at the simulated poses"
                          : label_selected ? cat("oracle (uses simulated labels to select the subtomograms): classification from the ",
                                                 start_mode, " initial alignment")
                                           : cat("classification from the ", start_mode, " initial alignment"),
                          label_selected ? " of the subtomograms with the listed simulated labels (classify.label_ids)" : ""));
  out.write_attribute("/", "oracle", static_cast<std::int64_t>(oracle || label_selected));
  out.write_attribute("/", "realignment_passes", static_cast<std::int64_t>(result.iterations_run));
  out.write_attribute("/class_averages", "voxel_nm", voxel_nm);
  io::write_provenance(out, stage_provenance(ctx, {input}));
  out.commit();
  core::Log::info(cat("tomo classify: purity ", purity, " after ", result.iterations_run, " realignment pass(es) -> ", path));
}

}  // namespace

void add_tomo_averaging_keys(core::Schema& s) {
  s.string("average.input", "", "Subtomograms; empty = run.output_dir/<simulate.output>")
      .string("average.reference", "", "Class maps for scoring (and reference mode); empty = run.output_dir/<structures.output>")
      .integer("average.class_id", 0, "Class row the average is scored against (and most-enriched picks by)", 0, 1e6)
      .string("average.members", "cluster",
              "cluster: the members of one subdivision cluster (average.cluster); oracle: the subtomograms simulated "
              "from class row average.class_id (upper bound, uses simulated labels)",
              {"cluster", "oracle"})
      .string("average.cluster", "most-enriched",
              "Cluster id of average.subdivide_input, or most-enriched[:<class row>]: the cluster most enriched in "
              "that class (default average.class_id; evaluation protocol: picked with the simulated labels)")
      .string("average.subdivide_input", "", "k-means subdivision; empty = run.output_dir/<subdivide.output>")
      .string("average.alignment", "reference-free",
              "reference-free: align the members to each other (as tomo recover); reference: align each to the class "
              "map (reference-based, model bias possible); oracle: the simulated poses (upper bound)",
              {"reference-free", "reference", "oracle"})
      .real_list("average.realign_steps_deg", {4.0, 2.0},
                 "Local realignment steps of each half set to its own average, degrees", 0.01, 90.0)
      .integer("average.half_set_realign_passes", 1,
               "Reference-free: gold-standard half sets, local realignment passes of each half to its own average", 0,
               100)
      .real("average.min_count", 2.0, "Fourier voxels observed by fewer subtomograms are set to 0", 1.0, 1e9)
      .string("average.ctf_correction", "auto",
              "auto: phase-flip when the input carries a CTF (ctf_applied), else none; none; phase-flip: F times "
              "sign(CTF); wiener: sum CTF F / (sum CTF^2 + 1/wiener_snr)",
              {"auto", "none", "phase-flip", "wiener"})
      .real("average.wiener_snr", 1.0, "SNR constant of the Wiener-filtered average (its 1/SNR term)", 1e-9, 1e12)
      .string("fsc.definition", "interpolated",
              "How a resolution is read off an FSC curve (average, recover, sweep): interpolated: linear in frequency "
              "between the last shell >= threshold and the first below; first-below: the first shell below (the "
              "paper's reading)",
              {"interpolated", "first-below"})
      .string("average.output", "average.h5", "Output file name inside run.output_dir")
      .string("average.mrc", "average.mrc", "Average as MRC inside run.output_dir; empty = none")
      .string("classify.input", "", "Subtomograms; empty = run.output_dir/<simulate.output>")
      .integer_list("classify.label_ids", {}, "Classify only subtomograms with these simulated /labels values (an evaluation selection; the headline says so); empty = all")
      .integer("classify.classes", 3, "Number of classes k", 1, 10000)
      .integer("classify.iterations", 5, "Realignment passes (stops early when no label changes)", 0, 1000)
      .integer("classify.pca_components", 5, "PCA components of the masked differences", 1, 1000)
      .real("classify.high_variance_fraction", 0.1, "Fraction of voxels (highest variance) fed to the PCA", 1e-6, 1.0)
      .integer("classify.max_high_variance_voxels", 500, "Cap on the PCA dimension (its d x d covariance is diagonalised)", 1, 100000)
      .string("classify.initial_alignment", "reference-free",
              "reference-free: a global reference-free alignment first (as tomo recover); identity: subtomograms "
              "already in a common frame; oracle: the simulated poses (upper bound)",
              {"reference-free", "identity", "oracle"})
      .real_list("classify.refine_steps_deg", {4.0, 2.0}, "Local realignment steps, degrees (coarse to fine)", 0.01, 90.0)
      .real("classify.min_count", 2.0, "Fourier voxels observed by fewer subtomograms are set to 0", 1.0, 1e9)
      .integer("classify.global_realign_passes", 1,
               "With the reference-free start: the first this many realignment passes search every pose against "
               "every class average (classify.coarse_step_deg, classify.global_refine_steps_deg) instead of "
               "refining the current one; identity and oracle starts are refined only",
               0, 1000)
      .string("classify.output", "classes.h5", "Output file name inside run.output_dir");
  add_reference_free_keys(s, "average");
  add_reference_free_keys(s, "classify");
}

std::vector<Stage> tomo_averaging_stages() {
  return {
      {"average", "Missing-wedge-aware Fourier average of one class and its FSC", average},
      {"classify", "Reference-free classification: PCA of masked differences, k-means, realignment", classify},
  };
}

}  // namespace phenoscale::app
