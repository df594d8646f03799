// Missing-wedge-aware rigid alignment of subtomograms (Xu et al. 2017 §2.3;
// Xu, Beck & Alber 2012, "fast volumetric matching").
//
// For a candidate rotation R of subtomogram 2, the comparison is restricted
// to the Fourier region both volumes observed, Ω = M1·R(M2) (DC removed), and
// the translation and score come from the peak of the constrained, normalised
// cross-correlation Re IFFT( F1Ω/‖F1Ω‖ · conj(R(F2)Ω/‖R(F2)Ω‖) ).
// The rotational search is a coarse-to-fine rotation grid (the option
// the paper allows instead of spherical harmonics): a ZYZ Euler grid at
// `coarse_step_deg` scored on low-passed data, then, from the best
// `refine_candidates` grid points, a hill climb over the 27 rotations
// Rx(a)Ry(b)Rz(c)·R with a, b, c ∈ {−s, 0, s} for s in `refine_steps_deg`.
// Rotations are scored in parallel (OpenMP); the winner is picked by
// (score, candidate index), so the result does not depend on thread count.
#pragma once

#include <vector>

#include "phenoscale/tomo/volume.hpp"

namespace phenoscale::tomo {

struct AlignmentSettings {
  double coarse_step_deg = 30.0;
  double coarse_lowpass = 0.2;  // cycles/voxel used by the coarse grid (Nyquist 0.5)
  double fine_lowpass = 0.5;    // cycles/voxel used by the refinement
  std::vector<double> refine_steps_deg = {10.0, 5.0, 2.5, 1.25, 0.6};
  int refine_candidates = 5;
  double max_shift_voxels = 8.0;  // search |t_i| ≤ this
};

// subtomogram aligned = rotate(subtomogram, rotation, shift_voxels) ≈ reference.
struct AlignmentResult {
  Mat3 rotation = identity_rotation();
  Vec3 shift_voxels{0, 0, 0};
  double score = -1.0;  // constrained correlation at the peak, in [−1, 1]
  int rotations_scored = 0;
};

// The ZYZ grid: θ in [0, 180] and φ, ψ in [0, 360) at `step_deg` (one ψ at the poles).
std::vector<Mat3> rotation_grid(double step_deg);

// Scores one rotation: best translation and its constrained correlation.
// `reference_mask`: the half-spectrum observed region of the reference (all
// ones for a map, a wedge or count mask for subtomograms and averages).
AlignmentResult score_rotation(const Volume& reference, const std::vector<float>& reference_mask,
                               const Volume& subtomogram, double subtomogram_tilt_max_deg, const Mat3& rotation,
                               double lowpass_cycles_per_voxel, double max_shift_voxels);

// Full search: aligns `subtomogram` (acquired over ±subtomogram_tilt_max_deg) to `reference`.
AlignmentResult align(const Volume& reference, const std::vector<float>& reference_mask, const Volume& subtomogram,
                      double subtomogram_tilt_max_deg, const AlignmentSettings& settings = {});

// Local search only: the hill climb of `align` started from `start` (for
// realignment in iterative classification, where the pose is roughly known).
AlignmentResult refine_alignment(const Volume& reference, const std::vector<float>& reference_mask,
                                 const Volume& subtomogram, double subtomogram_tilt_max_deg, const Mat3& start,
                                 const AlignmentSettings& settings = {});

// The subtomogram in the reference frame: rotate(v, r.rotation, r.shift_voxels).
Volume apply_alignment(const Volume& v, const AlignmentResult& r);

}  // namespace phenoscale::tomo
