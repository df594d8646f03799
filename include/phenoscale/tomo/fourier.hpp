// Fourier transforms of volumes for the Fourier-space physics of subtomograms
// (missing wedge, CTF, MTF: Xu et al. 2017) and for alignment, averaging and
// FSC (Xu et al. 2017).
//
// 3-D real-to-complex FFTs (FFTW, single precision, FFTW_ESTIMATE: plans are
// cheap to make and results do not depend on timing measurements, so runs
// are reproducible). FFTW's planner is not thread-safe; plan creation and
// destruction are serialised by one mutex, execution runs concurrently on
// per-plan buffers. The half spectrum keeps FFTW's layout: nz × ny × (nx/2+1),
// kx fastest. The forward transform is unnormalised; `inverse_fft` divides by
// the voxel count so inverse_fft(forward_fft(v)) == v.
#pragma once

#include <complex>
#include <cstddef>
#include <memory>
#include <vector>

#include "phenoscale/tomo/volume.hpp"

namespace phenoscale::tomo {

struct Spectrum {
  int nx = 0, ny = 0, nz = 0;  // the real-space shape
  double voxel_nm = 1.0;
  std::vector<std::complex<float>> data;  // nz × ny × (nx/2+1)

  Spectrum() = default;
  Spectrum(int nx_, int ny_, int nz_, double voxel_nm_ = 1.0);
  int half_nx() const { return nx / 2 + 1; }
  std::size_t size() const { return data.size(); }
  std::size_t index(int x, int y, int z) const {
    return (static_cast<std::size_t>(z) * static_cast<std::size_t>(ny) + static_cast<std::size_t>(y)) *
               static_cast<std::size_t>(half_nx()) +
           static_cast<std::size_t>(x);
  }
};

// The signed frequency index of array position i on an axis of n points.
inline int signed_frequency(int i, int n) { return i <= n / 2 ? i : i - n; }

// How often a half-spectrum column x stands for itself in the full spectrum:
// 1 for x = 0 and (even nx) x = nx/2, else 2 (its Hermitian mirror).
inline double hermitian_weight(int x, int nx) { return (x == 0 || (nx % 2 == 0 && x == nx / 2)) ? 1.0 : 2.0; }

// Calls f(flat_index, x_index, fx, fy, fz) for every half-spectrum point, with
// the frequency in cycles per voxel. Serial: the callers' work per point is a
// few flops, cheaper than a parallel region for subtomogram-sized spectra.
template <typename F>
void for_each_frequency(const Spectrum& s, F&& f) {
  std::size_t i = 0;
  for (int z = 0; z < s.nz; ++z) {
    const double fz = static_cast<double>(signed_frequency(z, s.nz)) / s.nz;
    for (int y = 0; y < s.ny; ++y) {
      const double fy = static_cast<double>(signed_frequency(y, s.ny)) / s.ny;
      for (int x = 0; x < s.half_nx(); ++x, ++i) f(i, x, static_cast<double>(x) / s.nx, fy, fz);
    }
  }
}

// An FFTW r2c/c2r plan pair for one shape, with its own aligned buffers.
class RealFft3d {
 public:
  RealFft3d(int nx, int ny, int nz);
  ~RealFft3d();
  RealFft3d(const RealFft3d&) = delete;
  RealFft3d& operator=(const RealFft3d&) = delete;

  void forward(const float* in, std::complex<float>* out);           // unnormalised
  void inverse(const std::complex<float>* in, float* out);           // divides by nx·ny·nz

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

Spectrum forward_fft(const Volume& v);
Volume inverse_fft(const Spectrum& s);

// Multiplies by exp(−2πi f·shift): moves the content by `shift_voxels` (periodic).
void fourier_shift(Spectrum& s, const Vec3& shift_voxels);
// Periodic sub-voxel shift of a volume through its spectrum.
Volume shift_fourier(const Volume& v, const Vec3& shift_voxels);
// Zeroes frequencies with |f| > cutoff (cycles per voxel, Nyquist = 0.5).
void lowpass(Spectrum& s, double cutoff_cycles_per_voxel);

}  // namespace phenoscale::tomo
