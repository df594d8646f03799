// Edge velocities per probing window (edge/windows.hpp; DeepHACKS, Ma et al.
// 2024, Methods; docs/methods.md §3.1).
#include "phenoscale/edge/windows.hpp"

#include <algorithm>
#include <cmath>
#include <exception>
#include <limits>
#include <sstream>
#include <string>

#include "phenoscale/core/error.hpp"
#include "phenoscale/edge/segmentation.hpp"
#include "phenoscale/par/parallel_for.hpp"

namespace phenoscale::edge {

namespace {

constexpr double kPi = 3.14159265358979323846;
constexpr double kNaN = std::numeric_limits<double>::quiet_NaN();
constexpr double kStep = 0.25;       // px between samples along a ray
constexpr int kRefineSteps = 8;      // search ±2 px around the mask crossing
constexpr int kPerimeterRays = 720;  // rays of the frame-0 boundary length

template <typename T>
[[noreturn]] void bad_option(const char* field, const T& value, const std::string& expected) {
  std::ostringstream msg;
  msg << "windows." << field << " = " << value << ": expected " << expected;
  throw ConfigError(msg.str());
}

// One segmented frame: the blurred image, its Otsu threshold and the cell mask.
struct Frame {
  std::vector<float> blurred;
  double threshold = 0.0;
  Mask mask;
};

Frame segment_frame(const io::ImageStack& movie, int t, double sigma) {
  Frame f;
  const float* image = movie.data.data() + movie.index(t, 0, 0);
  f.blurred = gaussian_blur(image, movie.height, movie.width, sigma);
  double eta = 0.0;
  f.threshold = otsu_threshold(f.blurred.data(), f.blurred.size(), 256, &eta);
  if (eta < kMinSeparability) {
    std::ostringstream msg;
    msg << "no cell found (intensities not bimodal: Otsu separability " << eta << ", expected >= " << kMinSeparability
        << ")";
    throw InputError(msg.str());
  }
  f.mask = mask_from_threshold(f.blurred.data(), movie.height, movie.width, f.threshold);
  return f;
}

// Bilinear sample of the blurred frame at (x, y) px, clamped to the image.
double bilinear(const Frame& f, double x, double y) {
  const int w = f.mask.width, h = f.mask.height;
  x = std::clamp(x, 0.0, static_cast<double>(w - 1));
  y = std::clamp(y, 0.0, static_cast<double>(h - 1));
  // Images are at least 3 x 3 (check_movie), so x0 + 1 and y0 + 1 are inside.
  const int x0 = std::min(static_cast<int>(x), w - 2), y0 = std::min(static_cast<int>(y), h - 2);
  const int x1 = x0 + 1, y1 = y0 + 1;
  const double fx = x - x0, fy = y - y0;
  const auto px = [&](int r, int c) {
    return static_cast<double>(
        f.blurred[static_cast<std::size_t>(r) * static_cast<std::size_t>(w) + static_cast<std::size_t>(c)]);
  };
  return (1 - fy) * ((1 - fx) * px(y0, x0) + fx * px(y0, x1)) + fy * ((1 - fx) * px(y1, x0) + fx * px(y1, x1));
}

// The mask's outermost inside → outside crossing along the ray: the sample
// index k (position k·kStep) of its last inside sample; -1 if none, or if the
// ray leaves the image still inside (the edge is out of view there).
int mask_crossing(const Frame& f, double cx, double cy, double ux, double uy) {
  const int w = f.mask.width, h = f.mask.height;
  int crossing = -1;
  bool previous = false;
  for (int k = 0;; ++k) {
    const double x = cx + k * kStep * ux, y = cy + k * kStep * uy;
    const long col = std::lround(x), row = std::lround(y);
    if (col < 0 || col >= w || row < 0 || row >= h) return previous ? -1 : crossing;
    const bool inside =
        f.mask.inside[static_cast<std::size_t>(row) * static_cast<std::size_t>(w) + static_cast<std::size_t>(col)] != 0;
    if (previous && !inside) crossing = k - 1;
    previous = inside;
  }
}

// Distance (px) from the centre to the boundary along the ray at angle θ, NaN if none.
double boundary_radius(const Frame& f, double cx, double cy, double theta) {
  const double ux = std::cos(theta), uy = std::sin(theta);
  const int k = mask_crossing(f, cx, cy, ux, uy);
  if (k < 0) return kNaN;
  // The blurred image's downward crossing of the threshold nearest the mask crossing.
  const int first = std::max(0, k - kRefineSteps), last = k + kRefineSteps + 1;
  double best = kNaN, best_distance = std::numeric_limits<double>::infinity();
  double b0 = bilinear(f, cx + first * kStep * ux, cy + first * kStep * uy) - f.threshold;
  for (int s = first; s < last; ++s) {
    const double b1 = bilinear(f, cx + (s + 1) * kStep * ux, cy + (s + 1) * kStep * uy) - f.threshold;
    if (b0 >= 0.0 && b1 < 0.0) {
      const double position = s + b0 / (b0 - b1);
      const double distance = std::abs(position - (k + 0.5));
      if (distance < best_distance) {
        best_distance = distance;
        best = position;
      }
    }
    b0 = b1;
  }
  return kStep * (std::isnan(best) ? k + 0.5 : best);
}

// Outward unit normals of the closed boundary polygon given by the ray radii
// (ray j at angle 2π(j + ½)/J): central differences of the neighbouring
// points, one-sided where a neighbour is missing, radial where both are.
std::vector<double> boundary_normals(const std::vector<double>& radius, double cx, double cy) {
  const auto n = static_cast<int>(radius.size());
  std::vector<double> px(radius.size()), py(radius.size()), normal(2 * radius.size());
  for (int j = 0; j < n; ++j) {
    const double theta = 2.0 * kPi * (j + 0.5) / n;
    px[static_cast<std::size_t>(j)] = cx + radius[static_cast<std::size_t>(j)] * std::cos(theta);
    py[static_cast<std::size_t>(j)] = cy + radius[static_cast<std::size_t>(j)] * std::sin(theta);
  }
  for (int j = 0; j < n; ++j) {
    const auto at = static_cast<std::size_t>(j);
    auto prev = static_cast<std::size_t>((j + n - 1) % n), next = static_cast<std::size_t>((j + 1) % n);
    if (std::isnan(radius[prev])) prev = at;
    if (std::isnan(radius[next])) next = at;
    const double tx = px[next] - px[prev], ty = py[next] - py[prev];
    const double length = std::hypot(tx, ty);
    if (std::isnan(radius[at]) || !(length > 0.0)) {
      const double theta = 2.0 * kPi * (j + 0.5) / n;
      normal[2 * at] = std::cos(theta);
      normal[2 * at + 1] = std::sin(theta);
    } else {
      normal[2 * at] = ty / length;
      normal[2 * at + 1] = -tx / length;
    }
  }
  return normal;
}

std::vector<double> ray_radii(const Frame& f, double cx, double cy, int rays) {
  std::vector<double> r(static_cast<std::size_t>(rays));
  for (int j = 0; j < rays; ++j)
    r[static_cast<std::size_t>(j)] = boundary_radius(f, cx, cy, 2.0 * kPi * (j + 0.5) / rays);
  return r;
}

// Length (px) of the boundary polygon, over the edges whose ends both exist.
double perimeter_px(const std::vector<double>& radius) {
  const auto n = radius.size();
  double length = 0.0;
  for (std::size_t j = 0; j < n; ++j) {
    const std::size_t k = (j + 1) % n;
    if (std::isnan(radius[j]) || std::isnan(radius[k])) continue;
    const double a = 2.0 * kPi * (static_cast<double>(j) + 0.5) / static_cast<double>(n);
    const double b = 2.0 * kPi * (static_cast<double>(k) + 0.5) / static_cast<double>(n);
    length += std::hypot(radius[k] * std::cos(b) - radius[j] * std::cos(a),
                         radius[k] * std::sin(b) - radius[j] * std::sin(a));
  }
  return length;
}

void check_movie(const io::ImageStack& movie) {
  if (movie.frames < 1 || movie.height < 3 || movie.width < 3) {
    std::ostringstream msg;
    msg << "movie: expected at least 1 frame of 3 x 3 pixels, found " << movie.frames << " frames of " << movie.height
        << " x " << movie.width;
    throw InputError(msg.str());
  }
  if (movie.data.size() != movie.pixel_count()) {
    std::ostringstream msg;
    msg << "movie: expected " << movie.pixel_count() << " pixel values, found " << movie.data.size();
    throw InputError(msg.str());
  }
}

// The message of a failed segmentation of frame t.
std::string frame_message(int t, const std::exception& e) { return "frame " + std::to_string(t) + ": " + e.what(); }

// Frame 0's mask centroid (column, row).
void centroid(const Mask& m, double& cx, double& cy) {
  double sx = 0.0, sy = 0.0, count = 0.0;
  for (int r = 0; r < m.height; ++r) {
    for (int c = 0; c < m.width; ++c) {
      if (!m.inside[static_cast<std::size_t>(r) * static_cast<std::size_t>(m.width) + static_cast<std::size_t>(c)])
        continue;
      sx += c;
      sy += r;
      count += 1.0;
    }
  }
  cx = sx / count;
  cy = sy / count;
}

// Window centres on the frame-0 boundary: the boundary point at the centre
// angle (the middle ray, or the mean radius of the two middle rays), the mean
// radius of the window's rays if those are missing.
void window_centres(const std::vector<double>& radius0, int rays_per_window, VelocityMap& map) {
  for (int w = 0; w < map.windows; ++w) {
    const std::size_t first = static_cast<std::size_t>(w) * static_cast<std::size_t>(rays_per_window);
    const std::size_t lo = first + static_cast<std::size_t>((rays_per_window - 1) / 2);
    const std::size_t hi = first + static_cast<std::size_t>(rays_per_window / 2);
    double r = 0.5 * (radius0[lo] + radius0[hi]);
    if (std::isnan(r)) {
      double sum = 0.0;
      int count = 0;
      for (int j = 0; j < rays_per_window; ++j) {
        const double v = radius0[first + static_cast<std::size_t>(j)];
        if (!std::isnan(v)) {
          sum += v;
          ++count;
        }
      }
      r = count > 0 ? sum / count : kNaN;
    }
    map.x.push_back(map.cx + r * std::cos(map.angle[static_cast<std::size_t>(w)]));
    map.y.push_back(map.cy + r * std::sin(map.angle[static_cast<std::size_t>(w)]));
  }
}

// Mean normal displacement (px) of a window's rays between frames t − 1 and t.
double window_step(const std::vector<std::vector<double>>& radius, const std::vector<std::vector<double>>& normal,
                   int window, int rays_per_window, int rays, int t) {
  double sum = 0.0;
  int count = 0;
  const auto now = static_cast<std::size_t>(t), before = static_cast<std::size_t>(t - 1);
  for (int r = 0; r < rays_per_window; ++r) {
    const int j = window * rays_per_window + r;
    const auto at = static_cast<std::size_t>(j);
    const double r1 = radius[now][at], r0 = radius[before][at];
    if (std::isnan(r0) || std::isnan(r1)) continue;
    const double nx = normal[now][2 * at] + normal[before][2 * at];
    const double ny = normal[now][2 * at + 1] + normal[before][2 * at + 1];
    const double length = std::hypot(nx, ny);
    const double theta = 2.0 * kPi * (j + 0.5) / rays;
    // (p_t − p_{t−1})·n with both points on ray j: (r1 − r0)·(u·n).
    const double cosine = length > 0.0 ? (std::cos(theta) * nx + std::sin(theta) * ny) / length : 1.0;
    sum += (r1 - r0) * cosine;
    ++count;
  }
  return count > 0 ? sum / count : kNaN;
}

}  // namespace

void validate(const WindowOptions& o) {
  if (!(o.width_nm > 0.0) || !std::isfinite(o.width_nm)) bad_option("width_nm", o.width_nm, "a finite value > 0 nm");
  if (!(o.pixel_nm > 0.0) || !std::isfinite(o.pixel_nm)) bad_option("pixel_nm", o.pixel_nm, "a finite value > 0 nm");
  if (!(o.frame_s > 0.0) || !std::isfinite(o.frame_s)) bad_option("frame_s", o.frame_s, "a finite value > 0 s");
  if (!(o.sigma_px >= 0.0) || !std::isfinite(o.sigma_px)) bad_option("sigma_px", o.sigma_px, "a finite value >= 0 px");
  if (o.rays_per_window < 1 || o.rays_per_window > 1024) {
    bad_option("rays_per_window", o.rays_per_window, "an integer in [1, 1024]");
  }
  if (o.windows < 0 || o.windows > 100000) {
    bad_option("windows", o.windows, "0 (from the perimeter) or a count in [1, 100000]");
  }
}

VelocityMap window_velocities(const io::ImageStack& movie, const WindowOptions& o) {
  validate(o);
  check_movie(movie);
  VelocityMap map;
  map.frames = movie.frames;
  try {
    const Frame first = segment_frame(movie, 0, o.sigma_px);
    centroid(first.mask, map.cx, map.cy);
    if (o.windows > 0) {
      map.windows = o.windows;
    } else {
      const double perimeter_nm = perimeter_px(ray_radii(first, map.cx, map.cy, kPerimeterRays)) * o.pixel_nm;
      map.windows = std::max(4, static_cast<int>(std::lround(perimeter_nm / o.width_nm)));
    }
  } catch (const InputError& e) {
    throw InputError(frame_message(0, e));
  }
  const int rays = map.windows * o.rays_per_window;

  std::vector<std::vector<double>> radius(static_cast<std::size_t>(movie.frames));
  std::vector<std::vector<double>> normal(static_cast<std::size_t>(movie.frames));
  par::parallel_for(movie.frames, 1, [&](std::int64_t i) {
    const int t = static_cast<int>(i);
    const auto at = static_cast<std::size_t>(t);
    try {
      const Frame f = segment_frame(movie, t, o.sigma_px);
      radius[at] = ray_radii(f, map.cx, map.cy, rays);
      normal[at] = boundary_normals(radius[at], map.cx, map.cy);
    } catch (const InputError& e) {
      throw InputError(frame_message(t, e));
    }
  });

  for (int w = 0; w < map.windows; ++w) map.angle.push_back(2.0 * kPi * (w + 0.5) / map.windows);
  window_centres(radius[0], o.rays_per_window, map);
  const double scale = o.pixel_nm / o.frame_s;
  map.velocity.assign(static_cast<std::size_t>(map.windows) * static_cast<std::size_t>(map.frames), kNaN);
  for (int w = 0; w < map.windows; ++w) {
    for (int t = 1; t < map.frames; ++t) {
      map.velocity[static_cast<std::size_t>(w) * static_cast<std::size_t>(map.frames) + static_cast<std::size_t>(t)] =
          scale * window_step(radius, normal, w, o.rays_per_window, rays, t);
    }
  }
  return map;
}

}  // namespace phenoscale::edge
