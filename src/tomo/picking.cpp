// DoG particle picking (see include/phenoscale/tomo/picking.hpp).
#include "phenoscale/tomo/picking.hpp"

#include <algorithm>
#include <cmath>

#include "phenoscale/core/error.hpp"

namespace phenoscale::tomo {

namespace {

std::vector<double> gaussian_kernel(double sigma) {
  const int reach = std::max(1, static_cast<int>(std::ceil(4.0 * sigma)));
  std::vector<double> k(2 * reach + 1);
  double sum = 0;
  for (int i = -reach; i <= reach; ++i) sum += k[i + reach] = std::exp(-0.5 * i * i / (sigma * sigma));
  for (auto& w : k) w /= sum;
  return k;
}

// One pass of a 1-D filter along axis 0 (x), 1 (y) or 2 (z), edges clamped.
Volume filter_axis(const Volume& v, const std::vector<double>& k, int axis) {
  Volume out(v.nx, v.ny, v.nz, v.voxel_nm);
  const int reach = static_cast<int>(k.size() / 2);
  const int dims[3] = {v.nx, v.ny, v.nz};
#pragma omp parallel for schedule(static)
  for (int z = 0; z < v.nz; ++z)
    for (int y = 0; y < v.ny; ++y)
      for (int x = 0; x < v.nx; ++x) {
        int p[3] = {x, y, z};
        const int centre = p[axis];
        double acc = 0;
        for (int i = -reach; i <= reach; ++i) {
          p[axis] = std::clamp(centre + i, 0, dims[axis] - 1);
          acc += k[i + reach] * v.at(p[0], p[1], p[2]);
        }
        out.at(x, y, z) = static_cast<float>(acc);
      }
  return out;
}

}  // namespace

Volume gaussian_blur(const Volume& v, double sigma) {
  if (!(sigma > 0)) throw Error("tomo::gaussian_blur: sigma expected > 0, found " + std::to_string(sigma));
  const auto k = gaussian_kernel(sigma);
  return filter_axis(filter_axis(filter_axis(v, k, 0), k, 1), k, 2);
}

Volume difference_of_gaussians(const Volume& v, double sigma1, double ratio) {
  Volume a = gaussian_blur(v, sigma1);
  const Volume b = gaussian_blur(v, sigma1 * ratio);
  for (std::size_t i = 0; i < a.size(); ++i) a.data[i] -= b.data[i];
  return a;
}

std::vector<std::array<int, 3>> local_maxima_18(const Volume& v) {
  std::vector<std::array<int, 3>> out;
  for (int z = 1; z + 1 < v.nz; ++z)
    for (int y = 1; y + 1 < v.ny; ++y)
      for (int x = 1; x + 1 < v.nx; ++x) {
        const float c = v.at(x, y, z);
        bool is_max = true;
        for (int dz = -1; dz <= 1 && is_max; ++dz)
          for (int dy = -1; dy <= 1 && is_max; ++dy)
            for (int dx = -1; dx <= 1 && is_max; ++dx) {
              const int manhattan = std::abs(dx) + std::abs(dy) + std::abs(dz);
              if (manhattan == 0 || manhattan == 3) continue;  // 18-connectivity: no corners
              is_max = c > v.at(x + dx, y + dy, z + dz);
            }
        if (is_max) out.push_back({x, y, z});
      }
  return out;
}

std::vector<PickedParticle> pick_particles(const Volume& tomogram, const PickingSettings& s) {
  if (!(s.sigma1_nm > 0) || !(s.sigma_ratio > 1))
    throw Error("tomo::pick_particles: expected sigma1_nm > 0 and sigma_ratio > 1, found " + std::to_string(s.sigma1_nm) +
                " and " + std::to_string(s.sigma_ratio));
  const double sigma1 = s.sigma1_nm / tomogram.voxel_nm;
  Volume input = tomogram;
  if (s.particles_dark)
    for (auto& x : input.data) x = -x;
  const Volume dog = difference_of_gaussians(input, sigma1, s.sigma_ratio);
  const double m = mean(dog);
  const double big_m = *std::max_element(dog.data.begin(), dog.data.end());
  const double threshold = m + s.threshold_t * (big_m - m) / 20.0;
  std::vector<PickedParticle> candidates;
  for (const auto& p : local_maxima_18(dog)) {
    const double value = dog.at(p[0], p[1], p[2]);
    if (value > threshold) candidates.push_back({p, value});
  }
  // Strongest first; ties by position so the order is deterministic.
  std::sort(candidates.begin(), candidates.end(), [](const PickedParticle& a, const PickedParticle& b) {
    return a.dog_value > b.dog_value || (a.dog_value == b.dog_value && a.centre < b.centre);
  });
  std::vector<PickedParticle> kept;
  const double d2_min = sigma1 * sigma1;
  for (const auto& c : candidates) {
    bool clear = true;
    for (const auto& k : kept) {
      const double dx = c.centre[0] - k.centre[0], dy = c.centre[1] - k.centre[1], dz = c.centre[2] - k.centre[2];
      if (dx * dx + dy * dy + dz * dz < d2_min) {
        clear = false;
        break;
      }
    }
    if (!clear) continue;
    kept.push_back(c);
    if (s.max_particles > 0 && static_cast<int>(kept.size()) >= s.max_particles) break;
  }
  return kept;
}

std::vector<Volume> extract_subtomograms(const Volume& tomogram, const std::vector<PickedParticle>& peaks, int box) {
  std::vector<Volume> out;
  out.reserve(peaks.size());
  for (const auto& p : peaks) out.push_back(extract_box(tomogram, p.centre, box));
  return out;
}

}  // namespace phenoscale::tomo
