// Fourier shell correlation and resolution (seed 002 §2.3, METHODS §1.3).
//
// FSC(r) = Re Σ F1 F2* / sqrt(Σ|F1|² Σ|F2|²) over the shell of frequency
// radius r (in Fourier voxels, rounded), summed over the full spectrum
// (Hermitian mirrors included). The resolution is N·voxel/r at the first
// shell r ≥ 1 with FSC < threshold (0.5); Nyquist (2 voxels) if none does.
// This is the paper's "structural discrepancy" between an average and the
// true map.
#pragma once

#include <vector>

#include "phenoscale/tomo/volume.hpp"

namespace phenoscale::tomo {

struct FscCurve {
  std::vector<double> fsc;              // index r = 0 .. N/2
  std::vector<double> frequency_per_nm; // r / (N · voxel_nm)
  double resolution_nm = 0.0;           // at the 0.5 threshold
};

// FSC of two cubes of the same size (voxel size from `a`).
FscCurve fourier_shell_correlation(const Volume& a, const Volume& b);
// N·voxel/r at the first r ≥ 1 where fsc[r] < threshold; 2·voxel if none.
double fsc_resolution_nm(const std::vector<double>& fsc, int n, double voxel_nm, double threshold = 0.5);

}  // namespace phenoscale::tomo
