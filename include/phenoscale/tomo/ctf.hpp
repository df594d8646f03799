// Contrast transfer function of the microscope and MTF of the detector
// (Xu et al. 2017, §3.1).
//
// CTF(k) = −sin(χ(k) + φ_A), χ(k) = π λ Δf k² − (π/2) Cs λ³ k⁴ (the standard
// form, e.g. Mindell & Grigorieff 2003, eq. 1) with Δf = −Δz the underfocus:
// the deck's defocus Δz is negative for underfocus (the paper's −5 µm), so
// Δf > 0 there and a positive Cs works against it (Scherzer). λ is the
// relativistic electron wavelength 12.26426 / sqrt(V(1 + 0.978476e-6 V)) Å
// (1.9687 pm at 300 kV), φ_A = asin(A) for an amplitude-contrast fraction A
// (A = 0 gives the paper's pure phase contrast; CTF(0) = −A: particles
// are dark at low frequency, as in real data), times an optional
// envelope exp(−(k/k_env)²). The detector MTF is sinc(π ω / 2), ω = |k| / Nyquist.
#pragma once

#include <vector>

#include "phenoscale/tomo/fourier.hpp"

namespace phenoscale::tomo {

struct CtfParameters {
  double voltage_kv = 300.0;
  double defocus_um = -5.0;        // negative: underfocus
  double cs_mm = 2.0;              // spherical aberration
  double amplitude_contrast = 0.0; // fraction A in [0, 1); 0.07 is typical for ice
  double envelope_per_nm = 0.0;    // k_env in 1/nm; 0 switches the envelope off
};

// Relativistic electron wavelength in nm (≈ 0.00197 nm at 300 kV).
double electron_wavelength_nm(double voltage_kv);
// CTF at spatial frequency k (1/nm).
double ctf_value(double k_per_nm, const CtfParameters& p);
// The first `count` zeros of the CTF at k > 0, in 1/nm, from the quadratic in k².
std::vector<double> ctf_zeros_per_nm(const CtfParameters& p, int count);
// Detector MTF at ω = fraction of Nyquist (0..1; corners of the cube reach √3).
double mtf_value(double fraction_of_nyquist);

// Multiplies a spectrum by the CTF (frequencies from its voxel_nm).
void apply_ctf(Spectrum& s, const CtfParameters& p);
// Multiplies a spectrum by the detector MTF.
void apply_mtf(Spectrum& s);
// A map as the CTF transmits it (no wedge, MTF or noise): what uncorrected
// subtomograms and averages correlate with. Below the first zero it is the
// inverted map, so a signed correlation with the map itself would seek the
// wrong pose.
Volume ctf_filtered(const Volume& v, const CtfParameters& p);

}  // namespace phenoscale::tomo
