// Fourier shell correlation (see include/phenoscale/tomo/fsc.hpp).
#include "phenoscale/tomo/fsc.hpp"

#include <cmath>

#include "phenoscale/core/error.hpp"
#include "phenoscale/tomo/fourier.hpp"

namespace phenoscale::tomo {

FscCurve fourier_shell_correlation(const Volume& a, const Volume& b) {
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
    curve.fsc.push_back(d > 0 ? cross[r] / d : 0.0);
    curve.frequency_per_nm.push_back(r / (n * a.voxel_nm));
  }
  curve.resolution_nm = fsc_resolution_nm(curve.fsc, n, a.voxel_nm);
  return curve;
}

double fsc_resolution_nm(const std::vector<double>& fsc, int n, double voxel_nm, double threshold) {
  for (std::size_t r = 1; r < fsc.size(); ++r)
    if (fsc[r] < threshold) return n * voxel_nm / static_cast<double>(r);
  return 2.0 * voxel_nm;
}

}  // namespace phenoscale::tomo
