// Synthetic live-cell movies (edge/movie.hpp; DeepHACKS, Ma et al. 2024;
// docs/methods.md §3.1).
#include "phenoscale/edge/movie.hpp"

#include <algorithm>
#include <cmath>
#include <sstream>
#include <string>

#include "phenoscale/core/error.hpp"

namespace phenoscale::edge {

namespace {

constexpr double kPi = 3.14159265358979323846;
// Angular samples of the edge radius per frame: at a 60 px radius neighbouring
// samples are 0.18 px apart along the edge, far below the PSF.
constexpr int kRadiusSamples = 2048;

template <typename T>
[[noreturn]] void bad_option(const char* field, const T& value, const std::string& expected) {
  std::ostringstream msg;
  msg << "movie." << field << " = " << value << ": expected " << expected;
  throw ConfigError(msg.str());
}

bool finite_at_least(double v, double lo) { return std::isfinite(v) && v >= lo; }

double normal_cdf(double x) { return 0.5 * std::erfc(-x / std::sqrt(2.0)); }

// The fluorescence (before bleaching) at signed depth d inside the edge.
double fluorescence(const MovieOptions& mo, double d, double sigma) {
  const double z = d / sigma;
  if (z < -8.0) return 0.0;
  const double inside = normal_cdf(z);
  const double below_rim = normal_cdf((d - mo.rim_width_px) / sigma);
  return mo.cell_level * inside + mo.rim_level * (inside - below_rim);
}

// Periodic linear interpolation of the radius table at angle θ (rad).
double radius_at(const std::vector<double>& radius_px, double theta) {
  const auto n = static_cast<int>(radius_px.size());
  double u = theta / (2.0 * kPi) * n;
  if (u < 0.0) u += n;
  int i = static_cast<int>(std::floor(u));
  const double f = u - i;
  i = ((i % n) + n) % n;
  return (1.0 - f) * radius_px[static_cast<std::size_t>(i)] + f * radius_px[static_cast<std::size_t>((i + 1) % n)];
}

// Periodic Catmull–Rom interpolation of per-sector values (sector k centred at
// 2π(k + ½)/S) at angle θ.
double catmull_rom(const std::vector<double>& v, double theta) {
  const auto s = static_cast<int>(v.size());
  const double u = theta / (2.0 * kPi) * s - 0.5;
  const int k = static_cast<int>(std::floor(u));
  const double f = u - k;
  const auto at = [&](int i) { return v[static_cast<std::size_t>(((i % s) + s) % s)]; };
  const double p0 = at(k - 1), p1 = at(k), p2 = at(k + 1), p3 = at(k + 2);
  return 0.5 * (2.0 * p1 + (p2 - p0) * f + (2.0 * p0 - 5.0 * p1 + 4.0 * p2 - p3) * f * f +
                (3.0 * p1 - p0 - 3.0 * p2 + p3) * f * f * f);
}

struct CellShape {
  double r0_px = 0.0, a2 = 0.0, a3 = 0.0, phi2 = 0.0, phi3 = 0.0;
  double radius(double theta) const {
    return r0_px * (1.0 + a2 * std::cos(2.0 * theta + phi2) + a3 * std::cos(3.0 * theta + phi3));
  }
};

// displacement[k][t] in px: frame_s · Σ_{s=1..t} v_k[s] / pixel_nm.
std::vector<std::vector<double>> sector_displacements(const std::vector<PlantedSeries>& sectors, double frame_s,
                                                      double pixel_nm, int frames) {
  std::vector<std::vector<double>> d(sectors.size(), std::vector<double>(static_cast<std::size_t>(frames), 0.0));
  for (std::size_t k = 0; k < sectors.size(); ++k) {
    for (int t = 1; t < frames; ++t) {
      d[k][static_cast<std::size_t>(t)] =
          d[k][static_cast<std::size_t>(t - 1)] + sectors[k].velocity[static_cast<std::size_t>(t)] * frame_s / pixel_nm;
    }
  }
  return d;
}

}  // namespace

void validate(const MovieOptions& mo) {
  if (mo.size < 8 || mo.size > 8192) bad_option("size", mo.size, "an integer in [8, 8192] pixels");
  if (!finite_at_least(mo.pixel_nm, 0.0) || mo.pixel_nm == 0.0) bad_option("pixel_nm", mo.pixel_nm, "a value > 0 nm");
  if (!finite_at_least(mo.radius_nm, 0.0) || mo.radius_nm == 0.0) {
    bad_option("radius_nm", mo.radius_nm, "a value > 0 nm");
  }
  // a2 + a3 ≤ 1.5·shape_amplitude must stay well below 1 for a star-shaped cell.
  if (!(mo.shape_amplitude >= 0.0 && mo.shape_amplitude <= 0.3)) {
    bad_option("shape_amplitude", mo.shape_amplitude, "a value in [0, 0.3]");
  }
  if (!finite_at_least(mo.cell_level, 0.0)) bad_option("cell_level", mo.cell_level, "a finite value >= 0");
  if (!finite_at_least(mo.rim_level, 0.0)) bad_option("rim_level", mo.rim_level, "a finite value >= 0");
  if (!finite_at_least(mo.background, 0.0)) bad_option("background", mo.background, "a finite value >= 0");
  if (!finite_at_least(mo.rim_width_px, 0.0)) bad_option("rim_width_px", mo.rim_width_px, "a finite value >= 0");
  if (!finite_at_least(mo.psf_sigma_px, 0.0)) bad_option("psf_sigma_px", mo.psf_sigma_px, "a finite value >= 0");
  if (!finite_at_least(mo.read_noise, 0.0)) bad_option("read_noise", mo.read_noise, "a finite value >= 0");
  if (!finite_at_least(mo.gain, 0.0)) bad_option("gain", mo.gain, "a finite value >= 0 counts per photon");
  if (!finite_at_least(mo.bleach_tau_frames, 0.0)) {
    bad_option("bleach_tau_frames", mo.bleach_tau_frames, "a finite value >= 0 (0: no bleaching)");
  }
}

void render_frame(const MovieOptions& mo, double cx, double cy, const std::vector<double>& radius_px, int frame,
                  core::Rng& rng, float* out) {
  if (radius_px.empty()) throw ConfigError("movie radius table: expected at least one angle, found none");
  const double sigma = std::sqrt(mo.psf_sigma_px * mo.psf_sigma_px + 1.0 / 12.0);
  const double bleach = mo.bleach_tau_frames > 0.0 ? std::exp(-frame / mo.bleach_tau_frames) : 1.0;
  const double read_var = mo.read_noise * mo.read_noise;
  for (int row = 0; row < mo.size; ++row) {
    for (int col = 0; col < mo.size; ++col) {
      const double dx = col - cx, dy = row - cy;
      const double depth = radius_at(radius_px, std::atan2(dy, dx)) - std::hypot(dx, dy);
      const double signal = mo.background + bleach * fluorescence(mo, depth, sigma);
      const double noisy = signal + std::sqrt(mo.gain * signal + read_var) * rng.normal();
      out[static_cast<std::size_t>(row) * static_cast<std::size_t>(mo.size) + static_cast<std::size_t>(col)] =
          static_cast<float>(std::round(std::clamp(noisy, 0.0, 65535.0)));
    }
  }
}

// Perimeter of the frame-0 outline r0(θ) (polygon of kRadiusSamples points), pixels.
static double shape_perimeter_px(const CellShape& shape) {
  double length = 0;
  for (int i = 0; i < kRadiusSamples; ++i) {
    const double a = 2.0 * kPi * i / kRadiusSamples, b = 2.0 * kPi * (i + 1) / kRadiusSamples;
    const double ra = shape.radius(a), rb = shape.radius(b);
    length += std::hypot(rb * std::cos(b) - ra * std::cos(a), rb * std::sin(b) - ra * std::sin(a));
  }
  return length;
}

SimulatedCell simulate_cell(const MovieOptions& mo, const ProtrusionModel& pm, const std::vector<double>& proportions,
                            double window_nm, core::Rng& rng) {
  validate(mo);
  validate(pm);
  if (!(window_nm > 0.0) || !std::isfinite(window_nm)) bad_option("window_nm", window_nm, "a finite value > 0 nm");
  SimulatedCell cell;
  cell.cx = 0.5 * (mo.size - 1) + rng.uniform(-0.5, 0.5);
  cell.cy = 0.5 * (mo.size - 1) + rng.uniform(-0.5, 0.5);
  CellShape shape;
  shape.r0_px = mo.radius_nm / mo.pixel_nm;
  shape.a2 = mo.shape_amplitude * rng.uniform(0.5, 1.0);
  shape.a3 = 0.5 * shape.a2;
  shape.phi2 = rng.uniform(0.0, 2.0 * kPi);
  shape.phi3 = rng.uniform(0.0, 2.0 * kPi);

  // Sectors of one window width along the cell's own (shaped) edge, so that
  // a windowing of the movie at that width finds as many windows as there
  // are planted sectors.
  const int sectors = std::max(4, static_cast<int>(std::lround(shape_perimeter_px(shape) * mo.pixel_nm / window_nm)));
  for (int k = 0; k < sectors; ++k) {
    cell.sector_angle.push_back(2.0 * kPi * (k + 0.5) / sectors);
    cell.sectors.push_back(simulate_window_series(pm, proportions, rng));
  }
  const auto displacement = sector_displacements(cell.sectors, pm.frame_s, mo.pixel_nm, pm.frames);

  io::ImageStack& movie = cell.movie;
  movie.frames = pm.frames;
  movie.height = movie.width = mo.size;
  movie.bits_per_sample = 16;
  movie.data.resize(movie.pixel_count());
  std::vector<double> base(kRadiusSamples), radius(kRadiusSamples), at_frame(static_cast<std::size_t>(sectors));
  for (int i = 0; i < kRadiusSamples; ++i)
    base[static_cast<std::size_t>(i)] = shape.radius(2.0 * kPi * i / kRadiusSamples);
  for (int t = 0; t < pm.frames; ++t) {
    for (int k = 0; k < sectors; ++k) {
      at_frame[static_cast<std::size_t>(k)] = displacement[static_cast<std::size_t>(k)][static_cast<std::size_t>(t)];
    }
    for (int i = 0; i < kRadiusSamples; ++i) {
      radius[static_cast<std::size_t>(i)] =
          base[static_cast<std::size_t>(i)] + catmull_rom(at_frame, 2.0 * kPi * i / kRadiusSamples);
    }
    render_frame(mo, cell.cx, cell.cy, radius, t, rng, &movie.at(t, 0, 0));
  }
  return cell;
}

}  // namespace phenoscale::edge
