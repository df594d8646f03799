// Spherical-harmonic rotation-invariant features (see rotation_invariant.hpp).
#include "phenoscale/tomo/rotation_invariant.hpp"

#include <cmath>
#include <complex>

#include "phenoscale/core/error.hpp"
#include "phenoscale/core/log.hpp"
#include "phenoscale/tomo/fourier.hpp"

namespace phenoscale::tomo {
namespace {

using core::cat;
constexpr double pi = 3.14159265358979323846;

// Gauss–Legendre nodes and weights on [−1, 1] (Newton on P_n from the
// Chebyshev guesses; converges to machine precision in a few steps).
void gauss_legendre(int n, std::vector<double>& nodes, std::vector<double>& weights) {
  nodes.assign(n, 0.0);
  weights.assign(n, 0.0);
  for (int i = 0; i < (n + 1) / 2; ++i) {
    double x = std::cos(pi * (i + 0.75) / (n + 0.5));
    double dp = 1.0;
    for (int iter = 0; iter < 100; ++iter) {
      double p0 = 1.0, p1 = x;
      for (int k = 2; k <= n; ++k) {
        const double p2 = ((2.0 * k - 1.0) * x * p1 - (k - 1.0) * p0) / k;
        p0 = p1;
        p1 = p2;
      }
      const double pn = n == 1 ? x : p1, pn1 = n == 1 ? 1.0 : p0;
      dp = n * (x * pn - pn1) / (x * x - 1.0);
      const double dx = pn / dp;
      x -= dx;
      if (std::fabs(dx) < 1e-15) break;
    }
    nodes[i] = x;
    nodes[n - 1 - i] = -x;
    weights[i] = weights[n - 1 - i] = 2.0 / ((1.0 - x * x) * dp * dp);
  }
}

// Orthonormal associated Legendre functions P̄_l^m(cos θ) for 0 ≤ m ≤ l ≤ L,
// index l(l+1)/2 + m, such that Y_l0 = P̄_l^0 and the real Y_l±m carry √2
// cos/sin(mφ) (∫ Y_lm² dΩ = 1). Standard three-term recurrence in l at fixed
// m, stable to high degree.
std::vector<double> normalised_legendre(int degree, double x) {
  const double s = std::sqrt(std::max(0.0, 1.0 - x * x));
  std::vector<double> p(static_cast<std::size_t>((degree + 1) * (degree + 2) / 2), 0.0);
  auto at = [&](int l, int m) -> double& { return p[static_cast<std::size_t>(l * (l + 1) / 2 + m)]; };
  double pmm = std::sqrt(1.0 / (4.0 * pi));
  for (int m = 0; m <= degree; ++m) {
    if (m > 0) pmm *= -std::sqrt((2.0 * m + 1.0) / (2.0 * m)) * s;
    at(m, m) = pmm;
    if (m + 1 <= degree) at(m + 1, m) = x * std::sqrt(2.0 * m + 3.0) * pmm;
    for (int l = m + 2; l <= degree; ++l) {
      const double a = std::sqrt((4.0 * l * l - 1.0) / (double(l) * l - double(m) * m));
      const double b = std::sqrt((double(l - 1) * (l - 1) - double(m) * m) / (4.0 * (l - 1) * (l - 1) - 1.0));
      at(l, m) = a * (x * at(l - 1, m) - b * at(l - 2, m));
    }
  }
  return p;
}

// |F| on the full periodic DFT grid (x fastest), from the half spectrum
// through Hermitian symmetry |F(−k)| = |F(k)|.
std::vector<float> full_amplitude(const std::vector<std::complex<float>>& half, int n, double scale) {
  const int hx = n / 2 + 1;
  std::vector<float> a(static_cast<std::size_t>(n) * n * n);
  for (int z = 0; z < n; ++z)
    for (int y = 0; y < n; ++y)
      for (int x = 0; x < n; ++x) {
        std::size_t src;
        if (x < hx) {
          src = (static_cast<std::size_t>(z) * n + y) * hx + x;
        } else {
          const int mx = n - x, my = (n - y) % n, mz = (n - z) % n;
          src = (static_cast<std::size_t>(mz) * n + my) * hx + mx;
        }
        a[(static_cast<std::size_t>(z) * n + y) * n + x] = static_cast<float>(std::abs(half[src]) * scale);
      }
  return a;
}

// Trilinear interpolation on the periodic grid at a signed frequency position.
double periodic_trilinear(const std::vector<float>& a, int n, double kx, double ky, double kz) {
  const double fx = std::floor(kx), fy = std::floor(ky), fz = std::floor(kz);
  const double tx = kx - fx, ty = ky - fy, tz = kz - fz;
  auto wrap = [n](long i) { return static_cast<std::size_t>(((i % n) + n) % n); };
  const std::size_t x0 = wrap(static_cast<long>(fx)), x1 = wrap(static_cast<long>(fx) + 1);
  const std::size_t y0 = wrap(static_cast<long>(fy)), y1 = wrap(static_cast<long>(fy) + 1);
  const std::size_t z0 = wrap(static_cast<long>(fz)), z1 = wrap(static_cast<long>(fz) + 1);
  const std::size_t un = static_cast<std::size_t>(n);
  auto v = [&](std::size_t x, std::size_t y, std::size_t z) { return static_cast<double>(a[(z * un + y) * un + x]); };
  const double c00 = v(x0, y0, z0) * (1 - tx) + v(x1, y0, z0) * tx;
  const double c10 = v(x0, y1, z0) * (1 - tx) + v(x1, y1, z0) * tx;
  const double c01 = v(x0, y0, z1) * (1 - tx) + v(x1, y0, z1) * tx;
  const double c11 = v(x0, y1, z1) * (1 - tx) + v(x1, y1, z1) * tx;
  return (c00 * (1 - ty) + c10 * ty) * (1 - tz) + (c01 * (1 - ty) + c11 * ty) * tz;
}

}  // namespace

RotationInvariantFeatures::RotationInvariantFeatures(int box, const RotationInvariantSettings& settings)
    : box_(box), degree_(settings.degree), shells_(settings.shells), oversampling_(settings.oversampling) {
  if (oversampling_ < 1 || oversampling_ > 4)
    throw InputError(cat("rotation-invariant features: oversampling ", oversampling_, "; expected 1..4"));
  if (box < 4) throw InputError(cat("rotation-invariant features: box of ", box, " voxels; need at least 4"));
  const int max_shells = (box - 1) / 2;
  if (shells_ == 0) shells_ = max_shells;
  if (degree_ < 0 || degree_ > 64)
    throw InputError(cat("rotation-invariant features: degree L = ", degree_, "; expected 0..64"));
  if (shells_ < 0 || shells_ > max_shells)
    throw InputError(cat("rotation-invariant features: ", shells_, " shells do not fit a ", box,
                         "^3 box (at most (n - 1)/2 = ", max_shells, ")"));
  const int n_theta = 2 * (degree_ + 1), n_phi = 4 * (degree_ + 1);
  std::vector<double> nodes, gl_weights;
  gauss_legendre(n_theta, nodes, gl_weights);
  const int coefficients = (degree_ + 1) * (degree_ + 1);
  const std::size_t n_points = static_cast<std::size_t>(n_theta) * n_phi;
  directions_.reserve(3 * n_points);
  weights_.reserve(n_points);
  basis_.assign(n_points * coefficients, 0.0);
  std::size_t point = 0;
  for (int i = 0; i < n_theta; ++i) {
    const double x = nodes[i], s = std::sqrt(std::max(0.0, 1.0 - x * x));
    const std::vector<double> p = normalised_legendre(degree_, x);
    for (int j = 0; j < n_phi; ++j, ++point) {
      const double phi = 2.0 * pi * j / n_phi;
      directions_.insert(directions_.end(), {s * std::cos(phi), s * std::sin(phi), x});
      const double w = gl_weights[i] * 2.0 * pi / n_phi;
      weights_.push_back(w);
      double* row = basis_.data() + point * coefficients;
      for (int l = 0; l <= degree_; ++l) {
        const std::size_t base = static_cast<std::size_t>(l * (l + 1) / 2);
        row[l * l + l] = w * p[base];
        for (int m = 1; m <= l; ++m) {
          row[l * l + l + m] = w * std::sqrt(2.0) * p[base + m] * std::cos(m * phi);
          row[l * l + l - m] = w * std::sqrt(2.0) * p[base + m] * std::sin(m * phi);
        }
      }
    }
  }
}

std::vector<double> RotationInvariantFeatures::degree_energies(const std::vector<double>& values) const {
  if (values.size() != points())
    throw InputError(cat("rotation-invariant features: ", values.size(), " shell values for ", points(),
                         " quadrature points"));
  const int coefficients = (degree_ + 1) * (degree_ + 1);
  std::vector<double> a(static_cast<std::size_t>(coefficients), 0.0);
  for (std::size_t p = 0; p < values.size(); ++p) {
    const double* row = basis_.data() + p * coefficients;
    for (int c = 0; c < coefficients; ++c) a[c] += values[p] * row[c];
  }
  std::vector<double> energy(static_cast<std::size_t>(degree_ + 1), 0.0);
  for (int l = 0; l <= degree_; ++l)
    for (int m = -l; m <= l; ++m) energy[l] += a[l * l + l + m] * a[l * l + l + m];
  return energy;
}

std::vector<double> RotationInvariantFeatures::compute(const Volume& subtomogram) const {
  if (!subtomogram.is_cube() || subtomogram.nx != box_)
    throw InputError(cat("rotation-invariant features: a ", subtomogram.nx, "x", subtomogram.ny, "x", subtomogram.nz,
                         " volume given to features built for ", box_, "^3 boxes"));
  Volume v = subtomogram;
  normalise(v);
  const int n = box_, m = oversampling_ * box_;
  // The background level (mean over the box's faces) goes to 0 before the
  // zero padding, so that the box edge adds no step that rings across the
  // spectrum and beats with the particle's (shift-dependent) phase.
  double border = 0;
  std::size_t border_count = 0;
  for (int z = 0; z < n; ++z)
    for (int y = 0; y < n; ++y)
      for (int x = 0; x < n; ++x)
        if (x == 0 || y == 0 || z == 0 || x == n - 1 || y == n - 1 || z == n - 1) border += v.at(x, y, z), ++border_count;
  border /= double(border_count);
  std::vector<float> padded(static_cast<std::size_t>(m) * m * m, 0.0f);
  for (int z = 0; z < n; ++z)
    for (int y = 0; y < n; ++y)
      for (int x = 0; x < n; ++x)
        padded[(static_cast<std::size_t>(z) * m + y) * m + x] = static_cast<float>(v.at(x, y, z) - border);
  std::vector<std::complex<float>> half(static_cast<std::size_t>(m) * m * (m / 2 + 1));
  RealFft3d(m, m, m).forward(padded.data(), half.data());
  // Orthonormal scaling for the n³ voxels: mean |F|² over the original grid
  // frequencies = mean v² = 1, whatever the box size and the padding.
  const std::vector<float> amplitude = full_amplitude(half, m, 1.0 / std::sqrt(double(n) * n * n));
  std::vector<double> features;
  features.reserve(static_cast<std::size_t>(dimension()));
  std::vector<double> values(points());
  for (int r = 1; r <= shells_; ++r) {
    const double radius = double(r) * oversampling_;  // in padded-grid units
    for (std::size_t p = 0; p < points(); ++p)
      values[p] = periodic_trilinear(amplitude, m, radius * directions_[3 * p], radius * directions_[3 * p + 1],
                                     radius * directions_[3 * p + 2]);
    const std::vector<double> e = degree_energies(values);
    // Odd degrees vanish: |F(−k)| = |F(k)| makes every shell function even.
    for (int l = 0; l <= degree_; l += 2) features.push_back(std::log1p(e[l]));
  }
  return features;
}

std::vector<double> rotation_invariant_features(const float* voxels, std::size_t count, int box,
                                                const RotationInvariantSettings& settings) {
  const RotationInvariantFeatures extractor(box, settings);
  const std::size_t d = static_cast<std::size_t>(extractor.dimension());
  const std::size_t cube = static_cast<std::size_t>(box) * box * box;
  std::vector<double> out(count * d, 0.0);
  // Every cube is independent and written to its own row: the result does
  // not depend on the thread count or the schedule.
#pragma omp parallel for schedule(dynamic, 4)
  for (std::int64_t i = 0; i < static_cast<std::int64_t>(count); ++i) {
    Volume v = Volume::cube(box);
    std::copy(voxels + i * cube, voxels + (i + 1) * cube, v.data.begin());
    const std::vector<double> f = extractor.compute(v);
    std::copy(f.begin(), f.end(), out.begin() + static_cast<std::ptrdiff_t>(i * d));
  }
  return out;
}

}  // namespace phenoscale::tomo
