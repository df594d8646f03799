// Constrained rigid alignment (see include/phenoscale/tomo/alignment.hpp).
#include "phenoscale/tomo/alignment.hpp"

#include <algorithm>
#include <cmath>
#include <numeric>

#include "phenoscale/core/error.hpp"
#include "phenoscale/tomo/fourier.hpp"
#include "phenoscale/tomo/missing_wedge.hpp"

namespace phenoscale::tomo {

namespace {
constexpr double pi = 3.14159265358979323846;

// What every candidate rotation reuses: the reference spectrum and mask.
struct Reference {
  Spectrum spectrum;
  const std::vector<float>& mask;
};

// Parabolic peak offset from three samples (|offset| ≤ 0.5).
double parabolic_offset(double left, double centre, double right) {
  const double d = left - 2 * centre + right;
  if (d >= 0) return 0.0;
  return std::clamp(0.5 * (left - right) / d, -0.5, 0.5);
}

AlignmentResult score_with(const Reference& ref, const Volume& sub, double tilt2, const Mat3& r, double lowpass,
                           double max_shift, RealFft3d& fft) {
  const int n = sub.nx;
  const Volume rotated = rotate(sub, r);
  Spectrum fb(n, n, n, sub.voxel_nm);
  fft.forward(rotated.data.data(), fb.data.data());
  const auto wedge = missing_wedge_mask(n, n, n, tilt2, r);
  Spectrum product(n, n, n, sub.voxel_nm);
  double norm_a = 0, norm_b = 0;
  const double cut2 = lowpass * lowpass;
  for_each_frequency(fb, [&](std::size_t i, int x, double fx, double fy, double fz) {
    if (i == 0 || fx * fx + fy * fy + fz * fz > cut2) return;  // Ω excludes DC: zero-mean correlation
    const float omega = ref.mask[i] * wedge[i];
    if (omega == 0.0f) return;
    const std::complex<double> a = std::complex<double>(ref.spectrum.data[i]) * double(omega);
    const std::complex<double> b = std::complex<double>(fb.data[i]) * double(omega);
    const double w = hermitian_weight(x, n);
    norm_a += w * std::norm(a);
    norm_b += w * std::norm(b);
    product.data[i] = std::complex<float>(a * std::conj(b));
  });
  AlignmentResult result;
  result.rotation = r;
  result.rotations_scored = 1;
  if (norm_a <= 0 || norm_b <= 0) return result;
  Volume c(n, n, n);
  fft.inverse(product.data.data(), c.data.data());
  const double scale = static_cast<double>(c.size()) / std::sqrt(norm_a * norm_b);
  const int reach = std::min(n / 2 - 1, static_cast<int>(std::floor(max_shift)));
  const auto wrap = [n](int i) { return ((i % n) + n) % n; };
  double best = -2;
  int bx = 0, by = 0, bz = 0;
  for (int dz = -reach; dz <= reach; ++dz)
    for (int dy = -reach; dy <= reach; ++dy)
      for (int dx = -reach; dx <= reach; ++dx) {
        const double v = c.at(wrap(dx), wrap(dy), wrap(dz));
        if (v > best) {
          best = v;
          bx = dx;
          by = dy;
          bz = dz;
        }
      }
  const auto at = [&](int x, int y, int z) { return double(c.at(wrap(x), wrap(y), wrap(z))); };
  // Sub-voxel peak: a parabola per axis. The score is the interpolated peak
  // height, not the value at the integer shift: otherwise the rotation
  // search trades a few degrees of rotation for the fractional part of the
  // translation (seen as a 4° bias on noise-free data).
  double height = best;
  const int peak[3] = {bx, by, bz};
  for (int axis = 0; axis < 3; ++axis) {
    int lo[3] = {bx, by, bz}, hi[3] = {bx, by, bz};
    --lo[axis];
    ++hi[axis];
    const double left = at(lo[0], lo[1], lo[2]), right = at(hi[0], hi[1], hi[2]);
    const double offset = parabolic_offset(left, best, right);
    result.shift_voxels[axis] = peak[axis] + offset;
    height += 0.25 * (right - left) * offset;  // parabola maximum: c + (right − left)·offset/4
  }
  result.score = height * scale;
  return result;
}

// Scores all rotations in parallel; per-thread FFT plans.
std::vector<AlignmentResult> score_all(const Reference& ref, const Volume& sub, double tilt2,
                                       const std::vector<Mat3>& rotations, double lowpass, double max_shift) {
  std::vector<AlignmentResult> out(rotations.size());
  const int n = sub.nx;
#pragma omp parallel
  {
    RealFft3d fft(n, n, n);
#pragma omp for schedule(dynamic)
    for (long i = 0; i < static_cast<long>(rotations.size()); ++i)
      out[i] = score_with(ref, sub, tilt2, rotations[i], lowpass, max_shift, fft);
  }
  return out;
}

// Index of the best score; ties go to the lower index (thread-count independent).
std::size_t best_index(const std::vector<AlignmentResult>& r) {
  std::size_t best = 0;
  for (std::size_t i = 1; i < r.size(); ++i)
    if (r[i].score > r[best].score) best = i;
  return best;
}

void check_shapes(const Volume& reference, const std::vector<float>& mask, const Volume& sub) {
  if (!reference.is_cube() || !reference.same_shape(sub))
    throw Error("tomo::align: expected a cubic reference and subtomogram of one size, found " +
                std::to_string(reference.nx) + "x" + std::to_string(reference.ny) + "x" + std::to_string(reference.nz) +
                " and " + std::to_string(sub.nx) + "x" + std::to_string(sub.ny) + "x" + std::to_string(sub.nz));
  const std::size_t expected = static_cast<std::size_t>(reference.nx) * reference.nx * (reference.nx / 2 + 1);
  if (mask.size() != expected)
    throw Error("tomo::align: reference mask expected " + std::to_string(expected) + " half-spectrum entries, found " +
                std::to_string(mask.size()));
}

// From `start`, moves to the best of the 27 rotations Rx(a)Ry(b)Rz(c)·R
// (a, b, c ∈ {−s, 0, s}) until the centre is best, for each step s.
AlignmentResult hill_climb(const Reference& ref, const Volume& sub, double tilt2, const Mat3& start,
                           const AlignmentSettings& s) {
  Mat3 current = start;
  AlignmentResult current_result;
  int scored = 0;
  for (double step_deg : s.refine_steps_deg) {
    const double st = step_deg * pi / 180.0;
    for (int iteration = 0; iteration < 8; ++iteration) {
      std::vector<Mat3> neighbours;
      for (int a = -1; a <= 1; ++a)
        for (int b = -1; b <= 1; ++b)
          for (int d = -1; d <= 1; ++d)
            neighbours.push_back(multiply(multiply(rotation_about_axis({1, 0, 0}, a * st), rotation_about_axis({0, 1, 0}, b * st)),
                                          multiply(rotation_about_axis({0, 0, 1}, d * st), current)));
      const auto scores = score_all(ref, sub, tilt2, neighbours, s.fine_lowpass, s.max_shift_voxels);
      scored += static_cast<int>(neighbours.size());
      const std::size_t b = best_index(scores);
      current_result = scores[b];
      current = neighbours[b];
      if (b == 13) break;  // the centre (a = b = d = 0) is best: next, finer step
    }
  }
  current_result.rotations_scored = scored;
  return current_result;
}

}  // namespace

std::vector<Mat3> rotation_grid(double step_deg) {
  if (!(step_deg > 0 && step_deg <= 180)) throw Error("tomo::rotation_grid: step_deg expected in (0, 180], found " + std::to_string(step_deg));
  std::vector<Mat3> grid;
  const int n_theta = static_cast<int>(std::lround(180.0 / step_deg));
  const int n_phi = static_cast<int>(std::lround(360.0 / step_deg));
  for (int t = 0; t <= n_theta; ++t) {
    const double theta = pi * t / n_theta;
    const bool pole = t == 0 || t == n_theta;  // only φ ± ψ matters there
    for (int p = 0; p < n_phi; ++p)
      for (int s = 0; s < (pole ? 1 : n_phi); ++s)
        grid.push_back(rotation_zyz({2 * pi * p / n_phi, theta, 2 * pi * s / n_phi}));
  }
  return grid;
}

AlignmentResult score_rotation(const Volume& reference, const std::vector<float>& reference_mask,
                               const Volume& subtomogram, double tilt2, const Mat3& rotation, double lowpass,
                               double max_shift) {
  check_shapes(reference, reference_mask, subtomogram);
  const Reference ref{forward_fft(reference), reference_mask};
  RealFft3d fft(subtomogram.nx, subtomogram.ny, subtomogram.nz);
  return score_with(ref, subtomogram, tilt2, rotation, lowpass, max_shift, fft);
}

AlignmentResult align(const Volume& reference, const std::vector<float>& reference_mask, const Volume& subtomogram,
                      double tilt2, const AlignmentSettings& s) {
  check_shapes(reference, reference_mask, subtomogram);
  const Reference ref{forward_fft(reference), reference_mask};
  int scored = 0;
  // 1. Coarse grid on low-passed data.
  const auto grid = rotation_grid(s.coarse_step_deg);
  const auto coarse = score_all(ref, subtomogram, tilt2, grid, s.coarse_lowpass, s.max_shift_voxels);
  scored += static_cast<int>(grid.size());
  std::vector<std::size_t> order(grid.size());
  std::iota(order.begin(), order.end(), 0);
  std::stable_sort(order.begin(), order.end(), [&](std::size_t a, std::size_t b) { return coarse[a].score > coarse[b].score; });
  // 2. Hill climb from the best few grid points with shrinking steps.
  AlignmentResult best;
  const int candidates = std::min<int>(s.refine_candidates, static_cast<int>(order.size()));
  for (int c = 0; c < candidates; ++c) {
    const AlignmentResult r = hill_climb(ref, subtomogram, tilt2, grid[order[c]], s);
    scored += r.rotations_scored;
    if (r.score > best.score) best = r;
  }
  best.rotations_scored = scored;
  return best;
}

AlignmentResult refine_alignment(const Volume& reference, const std::vector<float>& reference_mask,
                                 const Volume& subtomogram, double tilt2, const Mat3& start, const AlignmentSettings& s) {
  check_shapes(reference, reference_mask, subtomogram);
  const Reference ref{forward_fft(reference), reference_mask};
  return hill_climb(ref, subtomogram, tilt2, start, s);
}

Volume apply_alignment(const Volume& v, const AlignmentResult& r) { return rotate(v, r.rotation, r.shift_voxels); }

}  // namespace phenoscale::tomo
