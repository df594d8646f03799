// Template-free particle picking by difference of Gaussians (Xu et al. 2017 §3.2).
//
// DoG = G(σ1) ∗ v − G(k σ1) ∗ v with σ1 ≈ 7 nm / voxel size and k = 1.1;
// candidates are the 18-connected local maxima (face and edge neighbours)
// above T = m + t(M − m)/20 with t = 3, where m and M are the mean and the
// maximum of the DoG map (the paper leaves m and M undefined; mean rather
// than minimum keeps the negative rings around particles from pulling T
// below the background). Greedy non-maximum suppression keeps the strongest
// peak and drops every other within σ1; boxes (40³) are cut around the kept
// peaks. Particles dark on a brighter background (real cryo-ET and our
// simulation: the CTF is negative below its first zero) are picked with
// `particles_dark` (the default), which inverts the contrast first.
#pragma once

#include <array>
#include <vector>

#include "phenoscale/tomo/volume.hpp"

namespace phenoscale::tomo {

struct PickingSettings {
  double sigma1_nm = 7.0;
  double sigma_ratio = 1.1;
  double threshold_t = 3.0;
  bool particles_dark = true;
  int box = 40;
  int max_particles = 0;  // 0: no limit
};

struct PickedParticle {
  std::array<int, 3> centre{0, 0, 0};  // voxel
  double dog_value = 0.0;
};

// Separable Gaussian filter (kernel cut at 4σ, edges clamped). OpenMP.
Volume gaussian_blur(const Volume& v, double sigma_voxels);
Volume difference_of_gaussians(const Volume& v, double sigma1_voxels, double ratio);
// Voxels strictly greater than their 18 face/edge neighbours (borders excluded).
std::vector<std::array<int, 3>> local_maxima_18(const Volume& v);
// Peaks sorted by DoG value, strongest first, after threshold and NMS.
std::vector<PickedParticle> pick_particles(const Volume& tomogram, const PickingSettings& s);
// box³ subtomograms centred on the peaks (zero outside the tomogram).
std::vector<Volume> extract_subtomograms(const Volume& tomogram, const std::vector<PickedParticle>& peaks, int box);

}  // namespace phenoscale::tomo
