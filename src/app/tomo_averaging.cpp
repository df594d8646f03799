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
#include "phenoscale/core/log.hpp"
#include "phenoscale/io/mrc.hpp"
#include "phenoscale/io/provenance.hpp"
#include "phenoscale/io/sample_array.hpp"
#include "phenoscale/par/agree.hpp"
#include "phenoscale/tomo/alignment.hpp"
#include "phenoscale/tomo/averaging.hpp"
#include "phenoscale/tomo/fsc.hpp"
#include "phenoscale/tomo/missing_wedge.hpp"

namespace phenoscale::app {
namespace {

using core::cat;

// Whether the input's /subtomograms attributes (written by simulate) describe
// a CTF, and the CTF they describe.
bool describes_ctf(const io::H5File& in) {
  for (const char* k : {"ctf_applied", "voltage_kv", "defocus_um", "cs_mm", "amplitude_contrast"})
    if (!in.has_attribute("/subtomograms", k)) return false;
  return true;
}

bool ctf_applied(const io::H5File& in) {
  return describes_ctf(in) && in.read_int_attribute("/subtomograms", "ctf_applied") != 0;
}

tomo::CtfParameters acquired_ctf(const io::H5File& in) {
  tomo::CtfParameters c;
  c.voltage_kv = in.read_double_attribute("/subtomograms", "voltage_kv");
  c.defocus_um = in.read_double_attribute("/subtomograms", "defocus_um");
  c.cs_mm = in.read_double_attribute("/subtomograms", "cs_mm");
  c.amplitude_contrast = in.read_double_attribute("/subtomograms", "amplitude_contrast");
  if (in.has_attribute("/subtomograms", "envelope_per_nm"))
    c.envelope_per_nm = in.read_double_attribute("/subtomograms", "envelope_per_nm");
  return c;
}

// Mean FSC over the shells past frequency k (1/nm); NaN when none lies past it.
double mean_fsc_past(const tomo::FscCurve& c, double k_per_nm) {
  double sum = 0.0;
  int shells = 0;
  for (std::size_t r = 0; r < c.fsc.size(); ++r)
    if (c.frequency_per_nm[r] > k_per_nm) sum += c.fsc[r], ++shells;
  return shells > 0 ? sum / shells : std::nan("");
}

// average.ctf_correction with the acquisition's CTF; "auto" corrects by phase
// flipping exactly when the input says a CTF was applied.
tomo::CtfCorrectionSettings ctf_correction(const core::Config& cfg, const io::H5File& in) {
  const std::string name = cfg.string("average.ctf_correction");
  const bool described = describes_ctf(in), applied = ctf_applied(in);
  tomo::CtfCorrectionSettings c;
  c.mode = name == "auto" ? (applied ? tomo::CtfCorrection::phase_flip : tomo::CtfCorrection::none)
                          : tomo::ctf_correction_from_name(name);
  if (c.mode == tomo::CtfCorrection::none) return c;
  par::check_all(in.comm(), applied,
                 cat(in.where("/subtomograms"), ": average.ctf_correction = \"", name,
                     "\" expects subtomograms acquired with a CTF (attributes ctf_applied = 1, voltage_kv, "
                     "defocus_um, cs_mm, amplitude_contrast); found ",
                     described ? "ctf_applied = 0" : "them missing"));
  c.ctf = acquired_ctf(in);
  c.wiener_snr = cfg.real("average.wiener_snr");
  return c;
}

void average(const StageContext& ctx) {
  const auto& cfg = ctx.config;
  const std::string input = input_or_output(cfg, "average.input", "simulate.output");
  const std::string reference = input_or_output(cfg, "average.reference", "structures.output");
  const ClassMaps classes = read_class_maps(reference, ctx.comm);
  const std::int64_t row = cfg.integer("average.class_id");
  par::check_all(ctx.comm, row < static_cast<std::int64_t>(classes.maps.size()),
                 cat(deck_label(cfg), ": average.class_id = ", row,
                     " but ", reference, " holds ", classes.maps.size(), " class maps"));
  const tomo::Volume& truth = classes.maps[row];
  io::H5File in = io::H5File::open(input, ctx.comm);
  const int n = truth.nx;
  const std::uint64_t un = static_cast<std::uint64_t>(n);
  const auto subs = io::read_samples<float>(in, "/subtomograms", {{un, un, un}, true});
  const auto rows = io::read_samples<std::int64_t>(in, "/class_rows", {{}, true});
  const auto rotations = io::read_samples<double>(in, "/rotations", {{3, 3}, true});
  const auto shifts = io::read_samples<double>(in, "/shifts_voxels", {{3}, true});
  const double tilt = in.read_double_attribute("/subtomograms", "tilt_max_deg");
  const bool search = cfg.string("average.alignment") == "search";
  tomo::AlignmentSettings as;
  as.coarse_step_deg = cfg.real("average.coarse_step_deg");
  as.max_shift_voxels = std::max(2.0, in.read_double_attribute("/subtomograms", "max_shift_voxels") + 2.0);
  const auto all_observed = tomo::missing_wedge_mask(n, n, n, 90.0);
  const tomo::CtfCorrectionSettings correction = ctf_correction(cfg, in);
  const auto definition = tomo::fsc_definition_from_name(cfg.string("fsc.definition"));
  // Gold-standard half sets: members numbered in global row order, so the
  // split is the same at any rank count (local members, then exscan).
  std::uint64_t local_members = 0;
  for (auto r : rows.data) local_members += r == row;
  std::uint64_t ordinal = ctx.comm.exscan_sum(local_members);
  std::vector<tomo::FourierAverager> halves(2, tomo::FourierAverager(n, truth.voxel_nm, correction));
  std::vector<double> angle_errors_deg;
  {
    core::ScopedTimer t(ctx.timers, "average");
    for (std::uint64_t i = 0; i < rows.data.size(); ++i) {
      if (rows.data[i] != row) continue;
      tomo::Volume v = tomo::Volume::cube(n, truth.voxel_nm);
      std::copy(subs.row(i), subs.row(i) + v.size(), v.data.begin());
      tomo::Mat3 r;
      std::copy(rotations.row(i), rotations.row(i) + 9, r.begin());
      // The true pose's inverse: rotation Rᵀ, shift −Rᵀs.
      const tomo::Mat3 inverse = tomo::transpose(r);
      const tomo::Vec3 back = tomo::rotate_vector(inverse, {shifts.row(i)[0], shifts.row(i)[1], shifts.row(i)[2]});
      tomo::AlignmentResult pose{inverse, {-back[0], -back[1], -back[2]}, 1.0, 0};
      if (search) {
        pose = tomo::align(truth, all_observed, v, tilt, as);
        angle_errors_deg.push_back(tomo::geodesic_distance_rad(pose.rotation, inverse) * 180.0 / 3.14159265358979323846);
      }
      halves[tomo::half_set_of(ordinal++)].add(v, tilt, pose);
    }
  }
  // Partial sums add up across ranks (double accumulators); the full average is the two halves merged.
  for (auto& h : halves) ctx.comm.allreduce_sum_inplace(h.accumulators());
  tomo::FourierAverager averager = halves[0];
  averager.merge(halves[1]);
  const double used = ctx.comm.allreduce_sum(static_cast<double>(averager.added()));
  double error_sum = std::accumulate(angle_errors_deg.begin(), angle_errors_deg.end(), 0.0);
  error_sum = ctx.comm.allreduce_sum(error_sum);
  const double min_count = cfg.real("average.min_count");
  const tomo::Volume avg = averager.average(min_count);
  const auto fsc = tomo::fourier_shell_correlation(avg, truth, definition);
  const double first_below_nm = tomo::fsc_resolution_nm(fsc.fsc, n, truth.voxel_nm, 0.5, tomo::FscDefinition::first_below);
  const auto gold = tomo::half_set_fsc(halves[0].average(min_count), halves[1].average(min_count), definition);
  // Past the first CTF zero an uncorrected average carries the inverted map:
  // the mean FSC against the class map there shows what the correction buys.
  const auto first_zero = ctf_applied(in) ? tomo::ctf_zeros_per_nm(acquired_ctf(in), 1) : std::vector<double>{};
  const double beyond = first_zero.empty() ? std::nan("") : mean_fsc_past(fsc, first_zero[0]);
  const std::string path = output_path(cfg, cfg.string("average.output"));
  make_parent_dir(ctx, path);
  io::H5File out = io::H5File::create(path, ctx.comm);
  const std::uint64_t root_rows = ctx.comm.is_root() ? 1 : 0;
  io::write_samples(out, "/average", avg.data.data(), root_rows, {un, un, un});
  io::write_samples(out, "/fsc", fsc.fsc.data(), root_rows, {fsc.fsc.size()});
  io::write_samples(out, "/fsc_frequency_per_nm", fsc.frequency_per_nm.data(), root_rows, {fsc.frequency_per_nm.size()});
  io::write_samples(out, "/half_set_fsc", gold.curve.fsc.data(), root_rows, {gold.curve.fsc.size()});
  out.write_attribute("/", "fsc_resolution_nm", fsc.resolution_nm);
  out.write_attribute("/", "fsc_definition", tomo::fsc_definition_name(definition));
  out.write_attribute("/", "fsc_resolution_first_below_nm", first_below_nm);
  out.write_attribute("/", "half_set_fsc_resolution_nm", gold.resolution_nm);
  out.write_attribute("/", "half_set_threshold", tomo::gold_standard_threshold);
  out.write_attribute("/", "half_set_1_size", static_cast<std::int64_t>(ctx.comm.allreduce_sum(halves[0].added())));
  out.write_attribute("/", "half_set_2_size", static_cast<std::int64_t>(ctx.comm.allreduce_sum(halves[1].added())));
  out.write_attribute("/", "ctf_correction", tomo::ctf_correction_name(correction.mode));
  if (!std::isnan(beyond)) {
    out.write_attribute("/", "ctf_first_zero_per_nm", first_zero[0]);
    out.write_attribute("/", "fsc_mean_beyond_first_ctf_zero", beyond);
  }
  if (correction.mode == tomo::CtfCorrection::wiener) out.write_attribute("/", "wiener_snr", correction.wiener_snr);
  out.write_attribute("/", "subtomograms_averaged", static_cast<std::int64_t>(used));
  out.write_attribute("/", "class_row", row);
  out.write_attribute("/", "alignment", cfg.string("average.alignment"));
  if (search) out.write_attribute("/", "mean_rotation_error_deg", used > 0 ? error_sum / used : 0.0);
  out.write_attribute("/average", "voxel_nm", truth.voxel_nm);
  io::write_provenance(out, stage_provenance(ctx, {input, reference}));
  out.commit();
  if (!cfg.string("average.mrc").empty()) {
    const std::string mrc = output_path(cfg, cfg.string("average.mrc"));
    par::collectively(ctx.comm, [&] {
      if (ctx.comm.is_root()) io::write_mrc(mrc, to_mrc(avg));
    });
  }
  core::Log::info(cat("tomo average: ", static_cast<std::int64_t>(used), " subtomograms of class row ", row,
                      ", CTF correction ", tomo::ctf_correction_name(correction.mode), "; FSC-0.5 resolution (",
                      tomo::fsc_definition_name(definition), ") against the class map ", fsc.resolution_nm,
                      " nm (first shell below 0.5: ", first_below_nm, " nm); half-set FSC-0.143 ", gold.resolution_nm,
                      " nm",
                      std::isnan(beyond) ? std::string()
                                         : cat("; mean FSC past the first CTF zero (", first_zero[0], "/nm) ", beyond),
                      search ? cat(", mean rotation error ", used > 0 ? error_sum / used : 0.0, " deg") : std::string()));
}

void classify(const StageContext& ctx) {
  const auto& cfg = ctx.config;
  const std::string input = input_or_output(cfg, "classify.input", "simulate.output");
  io::H5File in = io::H5File::open(input, ctx.comm);
  const SubtomogramBlock subs = read_subtomograms(in);
  const int n = subs.n;
  const std::uint64_t un = static_cast<std::uint64_t>(n);
  const auto labels = io::read_samples<std::int64_t>(in, "/labels", {{}, true});
  const double tilt = in.read_double_attribute("/subtomograms", "tilt_max_deg");
  const double voxel_nm = in.read_double_attribute("/subtomograms", "voxel_nm");
  const bool truth = cfg.string("classify.initial_alignment") == "truth";
  io::SampleBlock<double> rotations, shifts;
  if (truth) {
    rotations = io::read_samples<double>(in, "/rotations", {{3, 3}, true});
    shifts = io::read_samples<double>(in, "/shifts_voxels", {{3}, true});
  }
  const auto& wanted = cfg.integer_list("classify.label_ids");
  std::vector<tomo::Volume> local;
  std::vector<tomo::AlignmentResult> initial;
  std::vector<std::int64_t> rows, true_labels;
  for (std::uint64_t i = 0; i < labels.data.size(); ++i) {
    if (!wanted.empty() && std::find(wanted.begin(), wanted.end(), labels.data[i]) == wanted.end()) continue;
    tomo::Volume v = subs.volume(i, voxel_nm);
    tomo::AlignmentResult start;
    if (truth) {
      std::copy(rotations.row(i), rotations.row(i) + 9, start.rotation.begin());
      start.rotation = tomo::transpose(start.rotation);  // undo the simulated pose
      const tomo::Vec3 back = tomo::rotate_vector(start.rotation, {shifts.row(i)[0], shifts.row(i)[1], shifts.row(i)[2]});
      start.shift_voxels = {-back[0], -back[1], -back[2]};
    }
    local.push_back(std::move(v));
    initial.push_back(start);
    rows.push_back(static_cast<std::int64_t>(labels.rows.begin + i));
    true_labels.push_back(labels.data[i]);
  }
  const std::uint64_t total = ctx.comm.allreduce_sum(static_cast<std::uint64_t>(local.size()));
  par::check_all(ctx.comm, total >= static_cast<std::uint64_t>(cfg.integer("classify.classes")),
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
  s.seed = cfg.integer("run.seed");
  s.alignment.refine_steps_deg = cfg.real_list("classify.refine_steps_deg");
  s.alignment.max_shift_voxels = std::max(2.0, in.read_double_attribute("/subtomograms", "max_shift_voxels") + 2.0);
  core::Log::info(cat("tomo classify: ", total, " subtomograms of ", n, "^3 into ", s.classes, " classes, up to ",
                      s.iterations, " realignment passes, on ", ctx.comm.size(), " rank(s)"));
  tomo::ClassificationResult result;
  {
    core::ScopedTimer t(ctx.timers, "classify");
    result = tomo::classify(local, tilt, initial, s, ctx.comm);
  }
  // Purity against the true labels: Σ_k max_l n_kl / N (contingency summed over ranks).
  std::int64_t max_label = 0;
  for (auto l : true_labels) max_label = std::max(max_label, l);
  max_label = ctx.comm.allreduce_max(max_label);
  const std::size_t width = static_cast<std::size_t>(max_label + 1);
  std::vector<std::int64_t> contingency(static_cast<std::size_t>(s.classes) * width, 0);
  for (std::size_t i = 0; i < true_labels.size(); ++i)
    if (true_labels[i] >= 0) ++contingency[result.labels[i] * width + true_labels[i]];
  ctx.comm.allreduce_sum_inplace(contingency);
  std::int64_t majority = 0;
  for (int k = 0; k < s.classes; ++k)
    majority += *std::max_element(contingency.begin() + k * width, contingency.begin() + (k + 1) * width);
  const double purity = total > 0 ? double(majority) / double(total) : 0.0;
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
  out.write_attribute("/", "realignment_passes", static_cast<std::int64_t>(result.iterations_run));
  out.write_attribute("/class_averages", "voxel_nm", voxel_nm);
  io::write_provenance(out, stage_provenance(ctx, {input}));
  out.commit();
  core::Log::info(cat("tomo classify: purity ", purity, " after ", result.iterations_run, " realignment pass(es) -> ", path));
}

}  // namespace

void add_tomo_averaging_keys(core::Schema& s) {
  s.string("average.input", "", "Subtomograms; empty = run.output_dir/<simulate.output>")
      .string("average.reference", "", "Class maps for alignment and FSC; empty = run.output_dir/<structures.output>")
      .integer("average.class_id", 0, "Average the subtomograms of this row of the class maps", 0, 1e6)
      .string("average.alignment", "truth", "truth: the simulated poses; search: align each subtomogram to the class map",
              {"truth", "search"})
      .real("average.coarse_step_deg", 30.0, "Coarse rotation grid step of the alignment search", 1.0, 90.0)
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
      .integer_list("classify.label_ids", {}, "Classify only subtomograms with these /labels values; empty = all")
      .integer("classify.classes", 3, "Number of classes k", 1, 10000)
      .integer("classify.iterations", 5, "Realignment passes (stops early when no label changes)", 0, 1000)
      .integer("classify.pca_components", 5, "PCA components of the masked differences", 1, 1000)
      .real("classify.high_variance_fraction", 0.1, "Fraction of voxels (highest variance) fed to the PCA", 1e-6, 1.0)
      .integer("classify.max_high_variance_voxels", 500, "Cap on the PCA dimension (its d x d covariance is diagonalised)", 1, 100000)
      .string("classify.initial_alignment", "truth",
              "truth: the simulated poses; identity: subtomograms already in a common frame", {"truth", "identity"})
      .real_list("classify.refine_steps_deg", {4.0, 2.0}, "Local realignment steps, degrees (coarse to fine)", 0.01, 90.0)
      .real("classify.min_count", 2.0, "Fourier voxels observed by fewer subtomograms are set to 0", 1.0, 1e9)
      .string("classify.output", "classes.h5", "Output file name inside run.output_dir");
}

std::vector<Stage> tomo_averaging_stages() {
  return {
      {"average", "Missing-wedge-aware Fourier average of one class and its FSC", average},
      {"classify", "Reference-free classification: PCA of masked differences, k-means, realignment", classify},
  };
}

}  // namespace phenoscale::app
