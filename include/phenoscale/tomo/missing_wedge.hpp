// The missing wedge of single-axis tilt tomography (Xu et al. 2017).
//
// With the tilt axis along y and the beam along z, a tilt series over
// ±θmax samples the Fourier region |k_z| ≤ tan(θmax)·|k_x| (plus the k_y axis
// and the origin); the unobserved wedge has half-angle 90° − θmax around k_z.
// Masks are binary on the half spectrum of `Spectrum`. A rotated
// subtomogram's mask is the mask evaluated at Rᵀk (a rotation about the box
// centre rotates the Fourier amplitudes by the same R), which the alignment
// (Ω = M1·R(M2)) and averaging (Σ R_i(M_i)) need.
#pragma once

#include <vector>

#include "phenoscale/tomo/fourier.hpp"
#include "phenoscale/tomo/volume.hpp"

namespace phenoscale::tomo {

// Whether frequency f (any units) is inside the observed region.
bool observed_frequency(const Vec3& f, double tilt_max_deg);
// Binary half-spectrum mask (nz × ny × (nx/2+1)) of the observed region of a
// volume rotated by `r` (identity: as acquired). tilt_max_deg ≥ 90: all ones.
std::vector<float> missing_wedge_mask(int nx, int ny, int nz, double tilt_max_deg,
                                      const Mat3& r = identity_rotation());
// Fraction of directions observed: 2θmax/π = θmax/90° (azimuth about y is uniform on the sphere).
double observed_fraction_analytic(double tilt_max_deg);
// Multiplies a spectrum by a mask of the same half-spectrum shape.
void apply_mask(Spectrum& s, const std::vector<float>& mask);

}  // namespace phenoscale::tomo
