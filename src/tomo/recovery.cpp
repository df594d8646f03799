// Structure recovery from subtomograms with unknown poses
// (see include/phenoscale/tomo/recovery.hpp).
#include "phenoscale/tomo/recovery.hpp"

#include <algorithm>
#include <cmath>
#include <string>

#include "phenoscale/core/log.hpp"
#include "phenoscale/core/stop_signal.hpp"
#include "phenoscale/par/agree.hpp"
#include "phenoscale/tomo/fourier.hpp"
#include "phenoscale/tomo/missing_wedge.hpp"

namespace phenoscale::tomo {
namespace {

// Global row 0's subtomogram on every rank, with its own wedge as the
// observed region: the seed reference of the reference-free alignment.
FourierAverager seed_reference(const std::vector<Volume>& subs, double tilt, int n, double voxel_nm,
                               const par::Comm& comm) {
  const int owner = comm.allreduce_min(subs.empty() ? comm.size() : comm.rank());
  std::vector<float> voxels;
  if (comm.rank() == owner) voxels = subs.front().data;
  comm.broadcast(voxels, owner);
  Volume first = Volume::cube(n, voxel_nm);
  first.data = std::move(voxels);
  FourierAverager seed(n, voxel_nm);
  seed.add(first, tilt, identity_rotation(), {0, 0, 0});
  return seed;
}

}  // namespace

std::vector<AlignmentResult> reference_free_alignment(const std::vector<Volume>& subs, double tilt,
                                                      const RecoverySettings& s, const par::Comm& comm) {
  const int n = comm.allreduce_max(subs.empty() ? 0 : subs.front().nx);
  const double voxel_nm = comm.allreduce_max(subs.empty() ? 0.0 : subs.front().voxel_nm);
  bool ok = n > 0;
  for (const auto& v : subs) ok = ok && v.is_cube() && v.nx == n;
  par::check_all(comm, ok,
                 "tomo::reference_free_alignment: expected at least one subtomogram, all cubes of one size; found " +
                     std::to_string(comm.allreduce_sum(static_cast<std::uint64_t>(subs.size()))));
  // The seed holds one subtomogram: count 1 is "observed" for it.
  FourierAverager reference = seed_reference(subs, tilt, n, voxel_nm, comm);
  double min_count = 1.0;
  std::vector<AlignmentResult> poses(subs.size());
  for (int pass = 0; pass < s.alignment_iterations; ++pass) {
    const Volume ref = reference.average(min_count);
    const auto mask = reference.observed_mask(min_count);
    FourierAverager next(n, voxel_nm);
    for (std::size_t i = 0; i < subs.size(); ++i) {
      // A pass (and classify's, a global one above all) can outlast Slurm's
      // warning before the time limit: on a stop signal leave it at once.
      if (core::StopSignal::received() != 0) break;  // the stop point below ends the stage
      poses[i] = align(ref, mask, subs[i], tilt, s.alignment);
      next.add(subs[i], tilt, poses[i]);
    }
    comm.allreduce_sum_inplace(next.accumulators());
    reference = std::move(next);
    min_count = s.classification.min_count;
    par::stop_point(comm, "reference-free alignment pass " + std::to_string(pass + 1));
    core::Log::debug("reference-free alignment: pass " + std::to_string(pass + 1) + " of " +
                     std::to_string(s.alignment_iterations) + " done");
  }
  return poses;
}

ClassificationResult recover_classes(const std::vector<Volume>& subs, double tilt, const RecoverySettings& s,
                                     const par::Comm& comm) {
  const auto poses = reference_free_alignment(subs, tilt, s, comm);
  return classify(subs, tilt, poses, s.classification, comm);
}

Discrepancy structural_discrepancy(const Volume& average, const Volume& truth, const AlignmentSettings& settings,
                                   FscDefinition definition, const std::optional<CtfParameters>& uncorrected_ctf) {
  // The average's observed region: where its spectrum is non-zero (relative
  // to its peak: the FFT round trip leaves ~1e-7 in the zeroed frequencies).
  const Spectrum f = forward_fft(average);
  float peak = 0.0f;
  for (const auto& c : f.data) peak = std::max(peak, std::abs(c));
  std::vector<float> mask(f.size());
  for (std::size_t i = 0; i < mask.size(); ++i) mask[i] = std::abs(f.data[i]) > 1e-4f * peak ? 1.0f : 0.0f;
  Discrepancy d;
  d.pose = align(average, mask, uncorrected_ctf ? ctf_filtered(truth, *uncorrected_ctf) : truth, 90.0, settings);
  d.fsc = fourier_shell_correlation(average, apply_alignment(truth, d.pose), definition);
  d.resolution_nm = d.fsc.resolution_nm;
  return d;
}

}  // namespace phenoscale::tomo
