// Fourier shell correlation (see include/phenoscale/tomo/fsc.hpp).
#include "phenoscale/tomo/fsc.hpp"

#include <cmath>

#include "phenoscale/core/error.hpp"
#include "phenoscale/tomo/fourier.hpp"

namespace phenoscale::tomo {

std::string fsc_definition_name(FscDefinition d) {
  return d == FscDefinition::interpolated ? "interpolated" : "first-below";
}

FscDefinition fsc_definition_from_name(const std::string& name) {
  if (name == "interpolated") return FscDefinition::interpolated;
  if (name == "first-below") return FscDefinition::first_below;
  throw Error("tomo: FSC definition expected \"interpolated\" or \"first-below\", found \"" + name + "\"");
}

FscCurve fourier_shell_correlation(const Volume& a, const Volume& b, FscDefinition definition) {
  if (!a.is_cube() || !a.same_shape(b))
    throw Error("tomo::fourier_shell_correlation: expected two cubes of one size, found " + std::to_string(a.nx) + "x" +
                std::to_string(a.ny) + "x" + std::to_string(a.nz) + " and " + std::to_string(b.nx) + "x" +
                std::to_string(b.ny) + "x" + std::to_string(b.nz));
  const int n = a.nx;
  const Spectrum fa = forward_fft(a), fb = forward_fft(b);
  const int shells = n / 2 + 1;
  std::vector<double> cross(shells, 0.0), pa(shells, 0.0), pb(shells, 0.0);
  for_each_frequency(fa, [&](std::size_t i, int x, double fx, double fy, double fz) {
    const int r = static_cast<int>(std::lround(std::sqrt(fx * fx + fy * fy + fz * fz) * n));
    if (r >= shells) return;
    const double w = hermitian_weight(x, n);
    const std::complex<double> ca(fa.data[i]), cb(fb.data[i]);
    cross[r] += w * (ca * std::conj(cb)).real();
    pa[r] += w * std::norm(ca);
    pb[r] += w * std::norm(cb);
  });
  FscCurve curve;
  for (int r = 0; r < shells; ++r) {
    const double d = std::sqrt(pa[r] * pb[r]);
    // FSC(0) = 1 by convention: the DC shell is one real coefficient, whose
    // correlation is ±1 (or 0) by the rounding of the maps' means, not by the data.
    curve.fsc.push_back(r == 0 ? 1.0 : d > 0 ? cross[r] / d : 0.0);
    curve.frequency_per_nm.push_back(r / (n * a.voxel_nm));
  }
  curve.resolution_nm = fsc_resolution_nm(curve.fsc, n, a.voxel_nm, 0.5, definition);
  return curve;
}

double mean_fsc_between(const FscCurve& c, double k_lo_per_nm, double k_hi_per_nm) {
  double sum = 0.0;
  int shells = 0;
  for (std::size_t r = 0; r < c.fsc.size(); ++r)
    if (c.frequency_per_nm[r] > k_lo_per_nm && c.frequency_per_nm[r] < k_hi_per_nm) sum += c.fsc[r], ++shells;
  return shells > 0 ? sum / shells : std::nan("");
}

double fsc_resolution_nm(const std::vector<double>& fsc, int n, double voxel_nm, double threshold,
                         FscDefinition definition) {
  for (std::size_t r = 1; r < fsc.size(); ++r) {
    if (fsc[r] >= threshold) continue;
    const double first_below = n * voxel_nm / static_cast<double>(r);
    const double above = fsc[r - 1];
    // Below t already at shell 1: no crossing is measured above the DC term,
    // whatever FSC(0) holds; the box size, N·voxel.
    if (definition == FscDefinition::first_below || r == 1 || !(above >= threshold)) return first_below;
    // Linear in frequency between shells r−1 (≥ t) and r (< t); above > fsc[r], so no division by 0.
    const double shell = static_cast<double>(r - 1) + (above - threshold) / (above - fsc[r]);
    return n * voxel_nm / shell;
  }
  // Never below t: the last measured shell, ⌊N/2⌋ (Nyquist, 2 voxels, for even N).
  return fsc.size() > 1 ? n * voxel_nm / static_cast<double>(fsc.size() - 1) : n * voxel_nm;
}

HalfSetFsc half_set_fsc(const Volume& half1, const Volume& half2, FscDefinition definition) {
  HalfSetFsc h;
  h.curve = fourier_shell_correlation(half1, half2, definition);
  h.resolution_nm = fsc_resolution_nm(h.curve.fsc, half1.nx, half1.voxel_nm, gold_standard_threshold, definition);
  return h;
}

}  // namespace phenoscale::tomo
