// What the tomo stages share (src/app/tomo_common.cpp): the class maps
// written by `tomo structures` (every rank holds all of them), the simulated
// subtomograms of one rank's row block, MRC output and STAR particle files.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "phenoscale/app/registry.hpp"
#include "phenoscale/io/hdf5.hpp"
#include "phenoscale/io/mrc.hpp"
#include "phenoscale/io/sample_array.hpp"
#include "phenoscale/par/comm.hpp"
#include "phenoscale/tomo/averaging.hpp"
#include "phenoscale/tomo/fsc.hpp"
#include "phenoscale/tomo/recovery.hpp"
#include "phenoscale/tomo/volume.hpp"

namespace phenoscale::app {

struct ClassMaps {
  std::vector<tomo::Volume> maps;        // row r = class row r of the datasets
  std::vector<std::int64_t> class_ids;   // procedural class id, -1 for a PDB/mmCIF file
  std::vector<std::string> names;        // "cluster_8", "empty", file name
  double voxel_nm = 1.0;
};

// Collective. Reads /maps, /class_ids and the class names of a structures file.
ClassMaps read_class_maps(const std::string& path, const par::Comm& comm);

// Collective. The RELION-style STAR particle file of a stage (`pick.star`,
// `subdivide.star`, `recover.star`: a name inside run.output_dir, "" for
// none): rank 0 writes the header of `columns`, every rank its own rows
// (formatted with io::star_row), in rank order, atomically. Returns the path
// ("" when the key is empty). Columns and conventions: docs/file-formats.md.
std::string write_star_particles(const StageContext& ctx, const std::string& key, const std::vector<std::string>& columns,
                                 const std::string& local_rows);

// Collective. This rank's rows of `in`:/subtomograms, checked to be
// N × n × n × n; `n` is the box edge.
struct SubtomogramBlock {
  io::SampleBlock<float> block;
  int n = 0;
  tomo::Volume volume(std::uint64_t local_row, double voxel_nm) const;  // one row as a Volume
};
SubtomogramBlock read_subtomograms(const io::H5File& in);

// The subtomograms of this rank's rows whose label in `selector` (a dataset
// of N labels, e.g. subdivide's /labels: a cluster; or the simulated
// /class_rows: an oracle selection) equals `wanted`, with their true class
// rows (for scoring only) and, when `simulated_poses`, the inverse of each
// simulated pose (oracle alignment).
struct Selection {
  std::string file, dataset;
  std::int64_t wanted = 0;
};
struct SelectedSubtomograms {
  std::vector<tomo::Volume> volumes;
  std::vector<std::int64_t> rows;        // global rows in the subtomogram file
  std::vector<std::int64_t> class_rows;  // their true classes
  std::vector<tomo::AlignmentResult> simulated_poses;  // empty unless asked for
  double tilt_max_deg = 60.0;
  double max_shift_voxels = 0.0;  // of the simulation
  std::uint64_t total = 0;        // selected over all ranks
};
// Collective; an empty selection is one error line.
SelectedSubtomograms read_selected(const std::string& subtomograms, const Selection& selection, bool simulated_poses,
                                   const par::Comm& comm);

// The cluster of a subdivision most enriched in class row `row` (its
// /most_enriched_cluster entry: the evaluation protocol of Xu et al. 2017
// §2.4, which picks the cluster with the simulated labels), and the fraction
// of its members of that class. Collective; one error line when no cluster
// holds the class.
struct EnrichedCluster {
  std::int64_t cluster = 0;
  double fraction = 0.0;
};
EnrichedCluster most_enriched_cluster(const std::string& subdivide_path, std::int64_t row, const par::Comm& comm);

// The global reference-free alignment of a stage (Xu et al. 2017 §2.4; as
// `tomo recover`): keys <stage>.alignment_iterations, <stage>.coarse_step_deg
// and <stage>.global_refine_steps_deg, for average and classify.
void add_reference_free_keys(core::Schema& s, const std::string& stage);
tomo::RecoverySettings reference_free_settings(const core::Config& cfg, const std::string& stage,
                                               double max_shift_voxels, double min_count);

// CTF correction of an average (<stage>.ctf_correction and
// <stage>.wiener_snr; stage = average or recover) for the acquisition the
// /subtomograms attributes of `in` describe. "auto" phase-flips exactly when
// they say a CTF was applied; naming a correction for data without a CTF is
// one error line.
tomo::CtfCorrectionSettings ctf_correction(const core::Config& cfg, const std::string& stage, const io::H5File& in);
// The first zero (1/nm) of the CTF the subtomograms of `in` were acquired
// with; NaN when they carry none.
double first_ctf_zero_per_nm(const io::H5File& in);
// The CTF the subtomograms of `in` carry; none when they carry none.
std::optional<tomo::CtfParameters> member_ctf(const io::H5File& in);
// The CTF an average made with `mode` still carries: the members' when it
// was not corrected, else none (what tomo::structural_discrepancy takes).
std::optional<tomo::CtfParameters> uncorrected_ctf(const io::H5File& in, tomo::CtfCorrection mode);
// The root attributes both averaging stages (tomo average, tomo sweep) write
// about an average: its gold-standard half sets (resolution at their
// threshold, sizes), the CTF correction, and — when the data carry a CTF
// (first_zero_per_nm not NaN) — where its first zero lies and the mean of
// `fsc` (the average against the truth) below and beyond it.
void write_half_set_attributes(io::H5File& out, const tomo::HalfSetAverages& gold, tomo::CtfCorrection correction,
                               double first_zero_per_nm, const tomo::FscCurve& fsc);

// True when class row `row` holds no density (the "no particle" class).
bool is_empty_map(const tomo::Volume& map);

// A volume as an MRC map (voxel size in Å).
io::MrcVolume to_mrc(const tomo::Volume& v);

}  // namespace phenoscale::app
