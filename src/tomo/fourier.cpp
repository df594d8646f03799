// FFTW wrappers (see include/phenoscale/tomo/fourier.hpp).
#include "phenoscale/tomo/fourier.hpp"

#include <fftw3.h>

#include <cmath>
#include <cstring>
#include <mutex>

#include "phenoscale/core/error.hpp"

namespace phenoscale::tomo {

namespace {
// FFTW's planner keeps process-wide state: one lock for plan creation and
// destruction, the only FFTW calls that are not thread-safe.
std::mutex& planner_mutex() {
  static std::mutex m;
  return m;
}
}  // namespace

Spectrum::Spectrum(int nx_, int ny_, int nz_, double voxel_nm_) : nx(nx_), ny(ny_), nz(nz_), voxel_nm(voxel_nm_) {
  data.assign(static_cast<std::size_t>(nz) * ny * half_nx(), {0.0f, 0.0f});
}

struct RealFft3d::Impl {
  int nx, ny, nz;
  std::size_t real_count, complex_count;
  float* real = nullptr;
  fftwf_complex* complex = nullptr;
  fftwf_plan forward = nullptr, inverse = nullptr;
};

RealFft3d::RealFft3d(int nx, int ny, int nz) : impl_(std::make_unique<Impl>()) {
  auto& p = *impl_;
  p.nx = nx;
  p.ny = ny;
  p.nz = nz;
  p.real_count = static_cast<std::size_t>(nx) * ny * nz;
  p.complex_count = static_cast<std::size_t>(nz) * ny * (nx / 2 + 1);
  std::lock_guard<std::mutex> lock(planner_mutex());
  p.real = fftwf_alloc_real(p.real_count);
  p.complex = fftwf_alloc_complex(p.complex_count);
  p.forward = fftwf_plan_dft_r2c_3d(nz, ny, nx, p.real, p.complex, FFTW_ESTIMATE);
  p.inverse = fftwf_plan_dft_c2r_3d(nz, ny, nx, p.complex, p.real, FFTW_ESTIMATE);
  if (!p.real || !p.complex || !p.forward || !p.inverse)
    throw Error("tomo::RealFft3d: FFTW could not plan a " + std::to_string(nx) + "x" + std::to_string(ny) + "x" +
                std::to_string(nz) + " transform");
}

RealFft3d::~RealFft3d() {
  auto& p = *impl_;
  std::lock_guard<std::mutex> lock(planner_mutex());
  if (p.forward) fftwf_destroy_plan(p.forward);
  if (p.inverse) fftwf_destroy_plan(p.inverse);
  fftwf_free(p.real);
  fftwf_free(p.complex);
}

void RealFft3d::forward(const float* in, std::complex<float>* out) {
  auto& p = *impl_;
  std::memcpy(p.real, in, p.real_count * sizeof(float));
  fftwf_execute(p.forward);
  std::memcpy(static_cast<void*>(out), p.complex, p.complex_count * sizeof(fftwf_complex));
}

void RealFft3d::inverse(const std::complex<float>* in, float* out) {
  auto& p = *impl_;
  std::memcpy(p.complex, static_cast<const void*>(in), p.complex_count * sizeof(fftwf_complex));
  fftwf_execute(p.inverse);  // c2r overwrites its input: it works on the copy
  const float scale = 1.0f / static_cast<float>(p.real_count);
  for (std::size_t i = 0; i < p.real_count; ++i) out[i] = p.real[i] * scale;
}

Spectrum forward_fft(const Volume& v) {
  Spectrum s(v.nx, v.ny, v.nz, v.voxel_nm);
  RealFft3d(v.nx, v.ny, v.nz).forward(v.data.data(), s.data.data());
  return s;
}

Volume inverse_fft(const Spectrum& s) {
  Volume v(s.nx, s.ny, s.nz, s.voxel_nm);
  RealFft3d(s.nx, s.ny, s.nz).inverse(s.data.data(), v.data.data());
  return v;
}

void fourier_shift(Spectrum& s, const Vec3& shift) {
  const double two_pi = 2.0 * 3.14159265358979323846;
  for_each_frequency(s, [&](std::size_t i, int, double fx, double fy, double fz) {
    const double phase = -two_pi * (fx * shift[0] + fy * shift[1] + fz * shift[2]);
    s.data[i] *= std::complex<float>(static_cast<float>(std::cos(phase)), static_cast<float>(std::sin(phase)));
  });
}

Volume shift_fourier(const Volume& v, const Vec3& shift) {
  Spectrum s = forward_fft(v);
  fourier_shift(s, shift);
  return inverse_fft(s);
}

void lowpass(Spectrum& s, double cutoff) {
  const double c2 = cutoff * cutoff;
  for_each_frequency(s, [&](std::size_t i, int, double fx, double fy, double fz) {
    if (fx * fx + fy * fy + fz * fz > c2) s.data[i] = 0.0f;
  });
}

}  // namespace phenoscale::tomo
