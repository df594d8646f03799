// CTF and MTF (see include/phenoscale/tomo/ctf.hpp).
#include "phenoscale/tomo/ctf.hpp"

#include <algorithm>
#include <cmath>

#include "phenoscale/core/error.hpp"

namespace phenoscale::tomo {

namespace {
constexpr double pi = 3.14159265358979323846;

// χ(u) = c1 u − c2 u², u = k² (1/nm²), with c1 = π λ Δf for the underfocus
// Δf = −Δz (positive when underfocused) and c2 = (π/2) Cs λ³: positive Cs
// works against underfocus (Scherzer), so the two terms have opposite signs.
struct Aberration {
  double c1, c2;
};
Aberration aberration(const CtfParameters& p) {
  const double lambda = electron_wavelength_nm(p.voltage_kv);
  const double underfocus_nm = -p.defocus_um * 1e3, cs_nm = p.cs_mm * 1e6;
  return {pi * lambda * underfocus_nm, 0.5 * pi * cs_nm * lambda * lambda * lambda};
}
double amplitude_phase(const CtfParameters& p) {
  if (!(p.amplitude_contrast >= 0.0 && p.amplitude_contrast < 1.0))
    throw Error("tomo::ctf: amplitude_contrast expected in [0, 1), found " + std::to_string(p.amplitude_contrast));
  return std::asin(p.amplitude_contrast);
}
}  // namespace

double electron_wavelength_nm(double voltage_kv) {
  const double v = voltage_kv * 1e3;
  // h / sqrt(2 m0 e V (1 + e V / (2 m0 c²))): 12.26426 Å V^½ and e/(2 m0 c²) = 1/(2 · 510998.95 V).
  return 12.26426 / std::sqrt(v * (1.0 + 0.978476e-6 * v)) * 0.1;  // Å → nm
}

double ctf_value(double k, const CtfParameters& p) {
  const auto a = aberration(p);
  const double u = k * k;
  const double chi = a.c1 * u - a.c2 * u * u;
  // The minus sign: positive density is imaged dark below the first zero
  // (CTF(0) = −A), the convention of real cryo-EM (Mindell & Grigorieff 2003).
  double value = -std::sin(chi + amplitude_phase(p));
  if (p.envelope_per_nm > 0) value *= std::exp(-u / (p.envelope_per_nm * p.envelope_per_nm));
  return value;
}

std::vector<double> ctf_zeros_per_nm(const CtfParameters& p, int count) {
  // Zeros: χ(u) + φ = mπ for integers m, i.e. c2 u² − c1 u + (mπ − φ) = 0.
  // χ is a downward parabola in u, so a window of m around the range χ spans
  // up to the wanted count of zeros holds them all.
  const auto a = aberration(p);
  const double phi = amplitude_phase(p);
  std::vector<double> roots;
  if (a.c2 == 0) {  // Cs = 0: χ = c1 u is linear, its zeros u = (mπ − φ)/c1 (none in focus)
    for (int m = -2 * count - 2; a.c1 != 0 && m <= 2 * count + 2; ++m) {
      const double u = (m * pi - phi) / a.c1;
      if (u > 1e-12) roots.push_back(std::sqrt(u));
    }
    std::sort(roots.begin(), roots.end());
    if (static_cast<int>(roots.size()) > count) roots.resize(count);
    return roots;
  }
  const int m_max = 4 * count + 8 + static_cast<int>(std::abs(a.c1 * a.c1 / (4 * a.c2)) / pi);
  for (int m = -m_max; m <= m_max; ++m) {
    const double qa = a.c2, qb = -a.c1, qc = m * pi - phi;
    const double disc = qb * qb - 4 * qa * qc;
    if (disc < 0) continue;
    // Numerically stable roots (the two terms of c1 and c2 differ by 10⁴).
    const double q = -0.5 * (qb + std::copysign(std::sqrt(disc), qb));
    for (double u : {q / qa, q != 0 ? qc / q : 0.0})
      if (u > 1e-12) roots.push_back(std::sqrt(u));
  }
  std::sort(roots.begin(), roots.end());
  roots.erase(std::unique(roots.begin(), roots.end(), [](double x, double y) { return std::abs(x - y) < 1e-12; }),
              roots.end());
  if (static_cast<int>(roots.size()) > count) roots.resize(count);
  return roots;
}

double mtf_value(double w) {
  const double x = pi * w / 2.0;
  return x == 0.0 ? 1.0 : std::sin(x) / x;
}

void apply_ctf(Spectrum& s, const CtfParameters& p) {
  const double per_nm = 1.0 / s.voxel_nm;
  for_each_frequency(s, [&](std::size_t i, int, double fx, double fy, double fz) {
    const double k = std::sqrt(fx * fx + fy * fy + fz * fz) * per_nm;
    s.data[i] *= static_cast<float>(ctf_value(k, p));
  });
}

void apply_mtf(Spectrum& s) {
  for_each_frequency(s, [&](std::size_t i, int, double fx, double fy, double fz) {
    const double w = std::sqrt(fx * fx + fy * fy + fz * fz) / 0.5;
    s.data[i] *= static_cast<float>(mtf_value(w));
  });
}

Volume ctf_filtered(const Volume& v, const CtfParameters& p) {
  Spectrum s = forward_fft(v);
  apply_ctf(s, p);
  return inverse_fft(s);
}

}  // namespace phenoscale::tomo
