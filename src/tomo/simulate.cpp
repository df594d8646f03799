// Subtomogram and tomogram simulation (see include/phenoscale/tomo/simulate.hpp).
#include "phenoscale/tomo/simulate.hpp"

#include <algorithm>
#include <cmath>
#include <limits>

#include "phenoscale/core/error.hpp"
#include "phenoscale/tomo/fourier.hpp"
#include "phenoscale/tomo/missing_wedge.hpp"

namespace phenoscale::tomo {

namespace {
constexpr double pi = 3.14159265358979323846;

std::vector<double> tilt_angles_deg(const AcquisitionSettings& a) {
  if (!(a.tilt_step_deg > 0)) throw Error("tomo::simulate: tilt_step_deg expected > 0, found " + std::to_string(a.tilt_step_deg));
  std::vector<double> angles;
  const int steps = static_cast<int>(std::floor(a.tilt_max_deg / a.tilt_step_deg + 1e-9));
  for (int i = -steps; i <= steps; ++i) angles.push_back(i * a.tilt_step_deg);
  return angles;
}

// Projection along the beam (z) of v tilted by r about the tilt axis y: an
// nx × ny × 1 image. Voxel-driven: voxel x lands at p = R(x − c) + c and is
// shared linearly between the two image columns around p_x, so this is the
// adjoint of the back-projection below. Every voxel of any box shape is
// projected: rotating the volume inside its own box and summing along z
// would lose what the tilt carries out through the top and bottom of a slab
// tomogram (nz < nx).
Volume project(const Volume& v, const Mat3& r) {
  Volume image(v.nx, v.ny, 1, v.voxel_nm);
  const double cx = v.nx / 2, cz = v.nz / 2;
#pragma omp parallel for schedule(static)
  for (int y = 0; y < v.ny; ++y)  // each thread writes its own image rows
    for (int z = 0; z < v.nz; ++z)
      for (int x = 0; x < v.nx; ++x) {
        const double px = r[0] * (x - cx) + r[2] * (z - cz) + cx;
        const double floor_px = std::floor(px);
        const int i = static_cast<int>(floor_px);
        const double w = px - floor_px;
        const double value = v.at(x, y, z);
        if (i >= 0 && i < v.nx) image.at(i, y, 0) += static_cast<float>((1.0 - w) * value);
        if (i + 1 >= 0 && i + 1 < v.nx) image.at(i + 1, y, 0) += static_cast<float>(w * value);
      }
  return image;
}

void add_gaussian(Volume& v, double sd, core::Rng& rng) {
  if (sd <= 0) return;
  for (float& x : v.data) x += static_cast<float>(rng.normal(0.0, sd));
}

// The tilt-series path: projections → noise/2 → CTF → noise/2 → MTF → WBP.
// `rng` null: noise-free.
Volume tilt_series_reconstruction(const Volume& v, const AcquisitionSettings& a, core::Rng* rng) {
  const auto angles = tilt_angles_deg(a);
  std::vector<Volume> projections;
  std::vector<Mat3> rotations;
  double signal_var = 0;
  for (double angle : angles) {
    rotations.push_back(rotation_about_axis({0, 1, 0}, angle * pi / 180.0));
    projections.push_back(project(v, rotations.back()));
    signal_var += variance(projections.back());
  }
  signal_var /= static_cast<double>(angles.size());
  if (signal_var == 0) signal_var = a.empty_signal_variance;  // the empty class: noise only
  const double half_sd = (rng && std::isfinite(a.snr)) ? std::sqrt(signal_var / a.snr / 2.0) : 0.0;
  for (auto& p : projections) {
    if (rng) add_gaussian(p, half_sd, *rng);
    Spectrum s = forward_fft(p);
    if (a.apply_ctf) apply_ctf(s, a.ctf);
    if (rng) {  // second half of the noise after the CTF, before the MTF
      Volume q = inverse_fft(s);
      add_gaussian(q, half_sd, *rng);
      s = forward_fft(q);
    }
    if (a.apply_mtf) apply_mtf(s);
    // Weighted back-projection: ramp |k| across the tilt axis.
    for_each_frequency(s, [&](std::size_t i, int, double fx, double, double) {
      s.data[i] *= static_cast<float>(std::abs(fx) * 2.0);
    });
    p = inverse_fft(s);
  }
  Volume rec(v.nx, v.ny, v.nz, v.voxel_nm);
  const double cx = v.nx / 2, cz = v.nz / 2;
  const double scale = 1.0 / static_cast<double>(angles.size());
#pragma omp parallel for schedule(static)
  for (int z = 0; z < v.nz; ++z)
    for (std::size_t t = 0; t < projections.size(); ++t) {
      const Mat3& r = rotations[t];
      for (int y = 0; y < v.ny; ++y)
        for (int x = 0; x < v.nx; ++x) {
          // Voxel x lands at p = R(x − c) + c in the tilted frame.
          const double px = r[0] * (x - cx) + r[2] * (z - cz) + cx;
          rec.at(x, y, z) += static_cast<float>(scale * sample_trilinear(projections[t], px, y, 0));
        }
    }
  return rec;
}

}  // namespace

std::string method_name(SimulationMethod m) { return m == SimulationMethod::fourier ? "fourier" : "tilt_series"; }

SimulationMethod method_from_name(const std::string& name) {
  if (name == "fourier") return SimulationMethod::fourier;
  if (name == "tilt_series") return SimulationMethod::tilt_series;
  throw ConfigError("simulation method: expected \"fourier\" or \"tilt_series\", found \"" + name + "\"");
}

Volume acquire(const Volume& v, const AcquisitionSettings& a) {
  if (a.method == SimulationMethod::tilt_series) return tilt_series_reconstruction(v, a, nullptr);
  Spectrum s = forward_fft(v);
  apply_mask(s, missing_wedge_mask(v.nx, v.ny, v.nz, a.tilt_max_deg));
  if (a.apply_ctf) apply_ctf(s, a.ctf);
  if (a.apply_mtf) apply_mtf(s);
  return inverse_fft(s);
}

double add_noise(Volume& v, double snr, core::Rng& rng, double empty_variance) {
  if (!(snr > 0)) throw Error("tomo::add_noise: snr expected > 0, found " + std::to_string(snr));
  if (!std::isfinite(snr)) return 0.0;
  double var = variance(v);
  if (var == 0) var = empty_variance;
  const double sd = std::sqrt(var / snr);
  add_gaussian(v, sd, rng);
  return sd;
}

SimulatedSubtomogram simulate_subtomogram(const Volume& class_map, const AcquisitionSettings& a, std::uint64_t seed,
                                          std::uint64_t sample_index, double max_shift_voxels) {
  SimulatedSubtomogram out;
  core::Rng pose_rng(seed, core::Stream::rotation, sample_index);
  out.pose.rotation = random_rotation(pose_rng);
  for (auto& s : out.pose.shift_voxels) s = pose_rng.uniform(-max_shift_voxels, max_shift_voxels);
  const Volume placed = rotate(class_map, out.pose.rotation, out.pose.shift_voxels);
  core::Rng noise_rng(seed, core::Stream::noise, sample_index);
  if (a.method == SimulationMethod::tilt_series) {
    out.volume = tilt_series_reconstruction(placed, a, &noise_rng);
    out.noise_sd = std::numeric_limits<double>::quiet_NaN();  // set per projection
  } else {
    out.volume = acquire(placed, a);
    out.noise_sd = add_noise(out.volume, a.snr, noise_rng, a.empty_signal_variance);
  }
  return out;
}

double signal_variance(const Volume& map, const AcquisitionSettings& a) {
  // The mean over poses: how much of a map the wedge (or the tilt range)
  // keeps depends on its orientation. Fixed draws (seed 0): the same
  // reference for any deck seed.
  constexpr int kPoses = 8;
  double total = 0;
  for (int k = 0; k < kPoses; ++k) {
    core::Rng rng(0, core::Stream::rotation, static_cast<std::uint64_t>(k));
    const Volume placed = rotate(map, random_rotation(rng), {0, 0, 0});
    if (a.method == SimulationMethod::fourier) {
      total += variance(acquire(placed, a));
      continue;
    }
    const auto angles = tilt_angles_deg(a);
    double projections = 0;
    for (double angle : angles)
      projections += variance(project(placed, rotation_about_axis({0, 1, 0}, angle * pi / 180.0)));
    total += projections / static_cast<double>(angles.size());
  }
  return total / kPoses;
}

double bounding_radius_voxels(const Volume& map, double fraction) {
  float peak = 0;
  for (float x : map.data) peak = std::max(peak, x);
  const double cut = fraction * peak, cx = map.nx / 2, cy = map.ny / 2, cz = map.nz / 2;
  double r2 = 0;
  for (int z = 0; z < map.nz; ++z)
    for (int y = 0; y < map.ny; ++y)
      for (int x = 0; x < map.nx; ++x)
        if (map.at(x, y, z) > cut)
          r2 = std::max(r2, (x - cx) * (x - cx) + (y - cy) * (y - cy) + (z - cz) * (z - cz));
  return std::sqrt(r2);
}

SimulatedTomogram simulate_tomogram(const std::vector<Volume>& maps, const std::vector<double>& radius_voxels,
                                    const TomogramSettings& t, const AcquisitionSettings& a, std::uint64_t seed,
                                    std::uint64_t tomogram_index) {
  if (maps.empty() || maps.size() != radius_voxels.size())
    throw Error("tomo::simulate_tomogram: expected one bounding radius per class map, found " +
                std::to_string(maps.size()) + " maps and " + std::to_string(radius_voxels.size()) + " radii");
  const double voxel_nm = maps.front().voxel_nm;
  SimulatedTomogram out;
  out.tomogram = Volume(t.nx, t.ny, t.nz, voxel_nm);
  core::Rng rng(seed, core::Stream::placement, tomogram_index);
  const double gap = t.min_gap_nm / voxel_nm;
  std::vector<double> radii;
  for (int p = 0; p < t.particle_count; ++p) {
    const int c = static_cast<int>(rng.below(maps.size()));
    const double r = radius_voxels[c];
    for (int attempt = 0; attempt < t.max_attempts_per_particle; ++attempt) {
      // The whole particle inside the volume, clear of every other one.
      const Vec3 centre{rng.uniform(r, t.nx - 1 - r), rng.uniform(r, t.ny - 1 - r), rng.uniform(r, t.nz - 1 - r)};
      bool clear = centre[0] >= r && centre[1] >= r && centre[2] >= r && centre[0] <= t.nx - 1 - r &&
                   centre[1] <= t.ny - 1 - r && centre[2] <= t.nz - 1 - r;
      for (std::size_t q = 0; clear && q < out.particles.size(); ++q) {
        const Vec3& o = out.particles[q].centre_voxel;
        const double d = std::sqrt((centre[0] - o[0]) * (centre[0] - o[0]) + (centre[1] - o[1]) * (centre[1] - o[1]) +
                                   (centre[2] - o[2]) * (centre[2] - o[2]));
        clear = d >= r + radii[q] + gap;
      }
      if (!clear) continue;
      PlacedParticle particle{c, centre, random_rotation(rng)};
      // Rotate about the map centre with the sub-voxel part of the position,
      // then paste at the integer part.
      const std::array<int, 3> whole{static_cast<int>(std::floor(centre[0])), static_cast<int>(std::floor(centre[1])),
                                     static_cast<int>(std::floor(centre[2]))};
      const Volume rot = rotate(maps[c], particle.rotation,
                                {centre[0] - whole[0], centre[1] - whole[1], centre[2] - whole[2]});
      const int h = rot.nx / 2;
      for (int z = 0; z < rot.nz; ++z)
        for (int y = 0; y < rot.ny; ++y)
          for (int x = 0; x < rot.nx; ++x) {
            const int tx = whole[0] - h + x, ty = whole[1] - h + y, tz = whole[2] - h + z;
            if (tx >= 0 && ty >= 0 && tz >= 0 && tx < t.nx && ty < t.ny && tz < t.nz)
              out.tomogram.at(tx, ty, tz) += rot.at(x, y, z);
          }
      out.particles.push_back(particle);
      radii.push_back(r);
      break;
    }
  }
  core::Rng noise_rng(seed, core::Stream::noise, tomogram_index);
  if (a.method == SimulationMethod::tilt_series) {
    out.tomogram = tilt_series_reconstruction(out.tomogram, a, &noise_rng);
  } else {
    out.tomogram = acquire(out.tomogram, a);
    add_noise(out.tomogram, a.snr, noise_rng);
  }
  return out;
}

}  // namespace phenoscale::tomo
