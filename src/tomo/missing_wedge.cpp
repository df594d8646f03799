// Missing-wedge masks (see include/phenoscale/tomo/missing_wedge.hpp).
#include "phenoscale/tomo/missing_wedge.hpp"

#include <cmath>

#include "phenoscale/core/error.hpp"

namespace phenoscale::tomo {

bool observed_frequency(const Vec3& f, double tilt_max_deg) {
  if (tilt_max_deg >= 90.0) return true;
  const double t = std::tan(tilt_max_deg * 3.14159265358979323846 / 180.0);
  // The tiny tolerance keeps points on the boundary plane observed whatever the rounding.
  return std::abs(f[2]) <= t * std::abs(f[0]) + 1e-12;
}

std::vector<float> missing_wedge_mask(int nx, int ny, int nz, double tilt_max_deg, const Mat3& r) {
  if (!(tilt_max_deg > 0.0))
    throw Error("tomo::missing_wedge_mask: tilt_max_deg expected > 0, found " + std::to_string(tilt_max_deg));
  Spectrum shape;
  shape.nx = nx;
  shape.ny = ny;
  shape.nz = nz;
  std::vector<float> mask(static_cast<std::size_t>(nz) * ny * (nx / 2 + 1));
  const Mat3 rt = transpose(r);
  for_each_frequency(shape, [&](std::size_t i, int, double fx, double fy, double fz) {
    mask[i] = observed_frequency(rotate_vector(rt, {fx, fy, fz}), tilt_max_deg) ? 1.0f : 0.0f;
  });
  return mask;
}

double observed_fraction_analytic(double tilt_max_deg) { return tilt_max_deg >= 90.0 ? 1.0 : tilt_max_deg / 90.0; }

void apply_mask(Spectrum& s, const std::vector<float>& mask) {
  if (mask.size() != s.data.size())
    throw Error("tomo::apply_mask: mask has " + std::to_string(mask.size()) + " entries, spectrum " +
                std::to_string(s.data.size()));
  for (std::size_t i = 0; i < mask.size(); ++i) s.data[i] *= mask[i];
}

}  // namespace phenoscale::tomo
