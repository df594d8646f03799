// Fourier shell correlation and resolution (Xu et al. 2017 §2.3, docs/methods.md
// §1.3; the gold-standard procedure of Scheres & Chen 2012, "Prevention of
// overfitting in cryo-EM structure determination", Nat. Methods 9, and the
// 0.143 threshold derived by Rosenthal & Henderson 2003, J. Mol. Biol. 333).
//
// FSC(r) = Re Σ F1 F2* / sqrt(Σ|F1|² Σ|F2|²) over the shell of frequency
// radius r (in Fourier voxels, rounded), summed over the full spectrum
// (Hermitian mirrors included). The resolution at a threshold t is read off
// the curve by one of two definitions:
//  - interpolated (the default): the spatial frequency where the curve
//    crosses t, linear in frequency between the last shell r−1 with
//    FSC ≥ t and the first shell r ≥ 1 with FSC < t; resolution = 1 / that
//    frequency. When shell 1 is already below t, the first-below value
//    N·voxel is used: FSC(0), the DC term, is 1 by convention (one real
//    coefficient, ±1 by rounding), nothing to interpolate from.
//  - first-below: N·voxel/r at the first shell r ≥ 1 with FSC < t, the
//    paper's "structural discrepancy" reading. It names a shell that has
//    already failed, so it is finer (optimistic) by up to one shell.
// Both give the last shell, N·voxel/⌊N/2⌋ (Nyquist, 2 voxels, for even N),
// when no shell drops below t.
//
// Gold-standard half-set FSC (Scheres & Chen 2012; Rosenthal & Henderson
// 2003): the members are split into two halves that are aligned and
// averaged independently; the FSC between the two half averages crosses
// 0.143 at the resolution of the full average (as RELION reports it). The
// split is by the member's global ordinal (even: half 1, odd: half 2), so it
// does not depend on the number of MPI ranks.
#pragma once

#include <string>
#include <vector>

#include "phenoscale/tomo/volume.hpp"

namespace phenoscale::tomo {

enum class FscDefinition { interpolated, first_below };
std::string fsc_definition_name(FscDefinition d);                  // "interpolated" | "first-below"
FscDefinition fsc_definition_from_name(const std::string& name);  // throws Error naming the accepted values

struct FscCurve {
  std::vector<double> fsc;              // index r = 0 .. N/2
  std::vector<double> frequency_per_nm; // r / (N · voxel_nm)
  double resolution_nm = 0.0;           // at the 0.5 threshold, by the definition asked for
};

// FSC of two cubes of the same size (voxel size from `a`); resolution_nm at
// 0.5 by `definition`.
FscCurve fourier_shell_correlation(const Volume& a, const Volume& b,
                                   FscDefinition definition = FscDefinition::interpolated);
// Resolution (nm) where `fsc` crosses `threshold`, by `definition` (see above).
double fsc_resolution_nm(const std::vector<double>& fsc, int n, double voxel_nm, double threshold = 0.5,
                         FscDefinition definition = FscDefinition::interpolated);
// Mean FSC over the shells whose frequency lies strictly between k_lo and
// k_hi (1/nm); NaN when none does. Below and past the first CTF zero, it
// shows the sign an uncorrected average carries there.
double mean_fsc_between(const FscCurve& c, double k_lo_per_nm, double k_hi_per_nm);

constexpr double gold_standard_threshold = 0.143;

// Half 0 or 1 of the member with global ordinal `ordinal` (0-based).
inline int half_set_of(unsigned long long ordinal) { return static_cast<int>(ordinal % 2); }

struct HalfSetFsc {
  FscCurve curve;            // FSC between the half averages (curve.resolution_nm: its 0.5 crossing)
  double resolution_nm = 0;  // its 0.143 crossing, by the same definition
};
HalfSetFsc half_set_fsc(const Volume& half1, const Volume& half2,
                        FscDefinition definition = FscDefinition::interpolated);

}  // namespace phenoscale::tomo
