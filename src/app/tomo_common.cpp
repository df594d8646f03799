// Helpers shared by the tomo stages (Xu et al. 2017; declared in
// tomo_common.hpp): reading the class maps of `tomo structures` and the
// subtomograms of `tomo simulate`, the empty-class test, MRC conversion and
// the STAR particle files (io/star.hpp; the columns each stage writes are
// listed in docs/file-formats.md).
#include "phenoscale/app/tomo_common.hpp"

#include <algorithm>
#include <cmath>
#include <limits>
#include <sstream>

#include "phenoscale/app/stage_io.hpp"
#include "phenoscale/core/error.hpp"
#include "phenoscale/core/log.hpp"
#include "phenoscale/io/sharded_text.hpp"
#include "phenoscale/io/star.hpp"
#include "phenoscale/par/agree.hpp"
#include "phenoscale/tomo/ctf.hpp"

namespace phenoscale::app {

namespace {

// The class names, one per line (since 2026-12-07; file paths may hold
// commas); files written before joined them with commas.
std::vector<std::string> class_names(const io::H5File& in, std::uint64_t count) {
  if (!in.has_attribute("/maps", "class_names")) return std::vector<std::string>(count);
  const std::string text = in.read_string_attribute("/maps", "class_names");
  std::vector<std::string> names;
  if (text.find('\n') != std::string::npos || count == 1) {
    names = io::parse_name_list(text);
  } else {
    std::stringstream list(text);
    for (std::string name; std::getline(list, name, ',');) names.push_back(name);
  }
  names.resize(count);
  return names;
}

}  // namespace

ClassMaps read_class_maps(const std::string& path, const par::Comm& comm) {
  using core::cat;
  io::H5File in = io::H5File::open(path, comm);
  const auto info = in.info("/maps");
  par::check_all(comm, info.shape.size() == 4 && info.shape[1] == info.shape[2] && info.shape[2] == info.shape[3],
                 cat(in.where("/maps"), ": expected N x n x n x n class maps, found shape ", io::shape_string(info.shape)));
  const std::uint64_t count = info.shape[0], n = info.shape[1];
  const auto maps = io::read_sample_rows<float>(in, "/maps", {0, count}, {{n, n, n}, true});
  const auto ids = io::read_sample_rows<std::int64_t>(in, "/class_ids", {0, count}, io::one_value_per_row());
  ClassMaps out;
  out.voxel_nm = in.read_double_attribute("/maps", "voxel_nm");
  out.class_ids = ids.data;
  out.names = class_names(in, count);
  for (std::uint64_t c = 0; c < count; ++c) {
    if (out.names[c].empty()) out.names[c] = cat("class_row_", c);
    tomo::Volume v = tomo::Volume::cube(static_cast<int>(n), out.voxel_nm);
    std::copy(maps.row(c), maps.row(c) + v.size(), v.data.begin());
    out.maps.push_back(std::move(v));
  }
  return out;
}

SubtomogramBlock read_subtomograms(const io::H5File& in) {
  using core::cat;
  const auto info = in.info("/subtomograms");
  par::check_all(in.comm(), info.shape.size() == 4 && info.shape[1] == info.shape[2] && info.shape[2] == info.shape[3],
                 cat(in.where("/subtomograms"), ": expected N x n x n x n subtomograms, found shape ",
                     io::shape_string(info.shape)));
  const std::uint64_t n = info.shape[1];
  return {io::read_samples<float>(in, "/subtomograms", {{n, n, n}, true}), static_cast<int>(n)};
}

tomo::Volume SubtomogramBlock::volume(std::uint64_t local_row, double voxel_nm) const {
  tomo::Volume v = tomo::Volume::cube(n, voxel_nm);
  std::copy(block.row(local_row), block.row(local_row) + v.size(), v.data.begin());
  return v;
}

SelectedSubtomograms read_selected(const std::string& subtomograms, const Selection& selection, bool simulated_poses,
                                   const par::Comm& comm) {
  using core::cat;
  io::H5File in = io::H5File::open(subtomograms, comm);
  const SubtomogramBlock subs = read_subtomograms(in);
  const auto truth = io::read_samples<std::int64_t>(in, "/class_rows", io::one_value_per_row());
  io::H5File sel = io::H5File::open(selection.file, comm);
  const auto labels = io::read_samples<std::int64_t>(sel, selection.dataset, io::one_value_per_row());
  par::check_all(comm, labels.global_rows == subs.block.global_rows,
                 cat(sel.where(selection.dataset), ": ", labels.global_rows, " labels for ", subs.block.global_rows,
                     " subtomograms in ", in.where("/subtomograms")));
  io::SampleBlock<double> rotations, shifts;
  if (simulated_poses) {
    rotations = io::read_samples<double>(in, "/rotations", {{3, 3}, true});
    shifts = io::read_samples<double>(in, "/shifts_voxels", {{3}, true});
  }
  SelectedSubtomograms m;
  m.tilt_max_deg = in.read_double_attribute("/subtomograms", "tilt_max_deg");
  m.max_shift_voxels = in.read_double_attribute("/subtomograms", "max_shift_voxels");
  const double voxel_nm = in.read_double_attribute("/subtomograms", "voxel_nm");
  for (std::uint64_t i = 0; i < labels.data.size(); ++i) {
    if (labels.data[i] != selection.wanted) continue;
    m.volumes.push_back(subs.volume(i, voxel_nm));
    m.rows.push_back(static_cast<std::int64_t>(subs.block.rows.begin + i));
    m.class_rows.push_back(truth.data[i]);
    if (!simulated_poses) continue;
    // The simulated pose's inverse: rotation Rᵀ, shift −Rᵀs.
    tomo::Mat3 r;
    std::copy(rotations.row(i), rotations.row(i) + 9, r.begin());
    const tomo::Mat3 inverse = tomo::transpose(r);
    const tomo::Vec3 back = tomo::rotate_vector(inverse, {shifts.row(i)[0], shifts.row(i)[1], shifts.row(i)[2]});
    m.simulated_poses.push_back({inverse, {-back[0], -back[1], -back[2]}, 1.0, 0});
  }
  m.total = comm.allreduce_sum(static_cast<std::uint64_t>(m.volumes.size()));
  par::check_all(comm, m.total > 0, cat(sel.where(selection.dataset), ": no subtomogram has label ", selection.wanted));
  return m;
}

EnrichedCluster most_enriched_cluster(const std::string& subdivide_path, std::int64_t row, const par::Comm& comm) {
  io::H5File sd = io::H5File::open(subdivide_path, comm);
  const std::uint64_t classes = sd.info("/most_enriched_cluster").shape[0];
  const auto best = io::read_sample_rows<std::int64_t>(sd, "/most_enriched_cluster", {0, classes}, io::one_value_per_row());
  const auto fraction = io::read_sample_rows<double>(sd, "/most_enriched_fraction", {0, classes}, io::one_value_per_row());
  par::check_all(comm, row >= 0 && static_cast<std::uint64_t>(row) < classes && best.data[row] >= 0,
                 core::cat(sd.where("/most_enriched_cluster"), ": no cluster holds class row ", row));
  return {best.data[row], fraction.data[row]};
}

namespace {

// Whether the /subtomograms attributes (written by simulate) describe a CTF.
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

}  // namespace

void add_reference_free_keys(core::Schema& s, const std::string& stage) {
  s.integer(stage + ".alignment_iterations", 2, "Reference-free global alignment passes (as tomo recover)", 1, 100)
      .real(stage + ".coarse_step_deg", 30.0,
            "Rotation grid step of the global search (the reference-free alignment; in classify also its global "
            "realignment), degrees",
            1.0, 90.0)
      .real_list(stage + ".global_refine_steps_deg", {10.0, 5.0, 2.5},
                 "Local refinement steps of the global search (the reference-free alignment; in classify also its "
                 "global realignment), degrees", 0.01, 90.0);
}

tomo::RecoverySettings reference_free_settings(const core::Config& cfg, const std::string& stage,
                                               double max_shift_voxels, double min_count) {
  tomo::RecoverySettings r;
  r.alignment_iterations = static_cast<int>(cfg.integer(stage + ".alignment_iterations"));
  r.alignment.coarse_step_deg = cfg.real(stage + ".coarse_step_deg");
  r.alignment.refine_steps_deg = cfg.real_list(stage + ".global_refine_steps_deg");
  r.alignment.max_shift_voxels = max_shift_voxels;
  r.classification.min_count = min_count;
  return r;
}

tomo::CtfCorrectionSettings ctf_correction(const core::Config& cfg, const std::string& stage, const io::H5File& in) {
  using core::cat;
  const std::string key = stage + ".ctf_correction";
  const std::string name = cfg.string(key);
  const bool described = describes_ctf(in), applied = ctf_applied(in);
  tomo::CtfCorrectionSettings c;
  c.mode = name == "auto" ? (applied ? tomo::CtfCorrection::phase_flip : tomo::CtfCorrection::none)
                          : tomo::ctf_correction_from_name(name);
  if (c.mode == tomo::CtfCorrection::none) return c;
  par::check_all(in.comm(), applied,
                 cat(in.where("/subtomograms"), ": ", key, " = \"", name,
                     "\" expects subtomograms acquired with a CTF (attributes ctf_applied = 1, voltage_kv, "
                     "defocus_um, cs_mm, amplitude_contrast); found ",
                     described ? "ctf_applied = 0" : "them missing"));
  c.ctf = acquired_ctf(in);
  c.wiener_snr = cfg.real(stage + ".wiener_snr");
  return c;
}

std::optional<tomo::CtfParameters> member_ctf(const io::H5File& in) {
  if (!ctf_applied(in)) return std::nullopt;
  return acquired_ctf(in);
}

std::optional<tomo::CtfParameters> uncorrected_ctf(const io::H5File& in, tomo::CtfCorrection mode) {
  return mode == tomo::CtfCorrection::none ? member_ctf(in) : std::nullopt;
}

double first_ctf_zero_per_nm(const io::H5File& in) {
  const auto ctf = member_ctf(in);
  const auto zeros = ctf ? tomo::ctf_zeros_per_nm(*ctf, 1) : std::vector<double>{};
  return zeros.empty() ? std::nan("") : zeros[0];
}

void write_half_set_attributes(io::H5File& out, const tomo::HalfSetAverages& gold, tomo::CtfCorrection correction,
                               double first_zero_per_nm, const tomo::FscCurve& fsc) {
  out.write_attribute("/", "half_set_fsc_resolution_nm", gold.fsc.resolution_nm);
  out.write_attribute("/", "half_set_threshold", tomo::gold_standard_threshold);
  out.write_attribute("/", "half_set_1_size", static_cast<std::int64_t>(gold.sizes[0]));
  out.write_attribute("/", "half_set_2_size", static_cast<std::int64_t>(gold.sizes[1]));
  out.write_attribute("/", "ctf_correction", tomo::ctf_correction_name(correction));
  if (!std::isnan(first_zero_per_nm)) {
    out.write_attribute("/", "ctf_first_zero_per_nm", first_zero_per_nm);
    // Below the first zero the CTF is negative (an uncorrected average is the
    // inverted map there); past it, its sign alternates band by band.
    const double inf = std::numeric_limits<double>::infinity();
    out.write_attribute("/", "fsc_mean_below_first_ctf_zero", tomo::mean_fsc_between(fsc, 0.0, first_zero_per_nm));
    out.write_attribute("/", "fsc_mean_beyond_first_ctf_zero", tomo::mean_fsc_between(fsc, first_zero_per_nm, inf));
  }
}

bool is_empty_map(const tomo::Volume& map) {
  return std::all_of(map.data.begin(), map.data.end(), [](float v) { return v == 0.0f; });
}

io::MrcVolume to_mrc(const tomo::Volume& v) {
  io::MrcVolume m;
  m.nx = v.nx;
  m.ny = v.ny;
  m.nz = v.nz;
  m.data = v.data;
  for (double& s : m.voxel_size_angstrom) s = v.voxel_nm * 10.0;
  return m;
}

std::string write_star_particles(const StageContext& ctx, const std::string& key, const std::vector<std::string>& columns,
                                 const std::string& local_rows) {
  const std::string path = optional_output(ctx.config, key);
  if (path.empty()) return "";
  create_parent_dir(ctx, path);  // no stop point: written before or after a stage's main output
  const std::string header = ctx.comm.is_root() ? io::star_loop_header("particles", columns) : std::string();
  io::write_text_in_rank_order(path, header + local_rows, ctx.comm);
  return path;
}

}  // namespace phenoscale::app
