// Per-frame cell masks (edge/segmentation.hpp; DeepHACKS, Ma et al. 2024,
// cell edge tracking; docs/methods.md §3.1).
#include "phenoscale/edge/segmentation.hpp"

#include <algorithm>
#include <cmath>
#include <sstream>
#include <string>

#include "phenoscale/core/error.hpp"

namespace phenoscale::edge {

namespace {

// Half-sample symmetric reflection of index i into [0, n): ... 1 0 | 0 1 ... n-1 | n-1 n-2 ...
int reflect(int i, int n) {
  const int period = 2 * n;
  i %= period;
  if (i < 0) i += period;
  return i < n ? i : period - 1 - i;
}

std::vector<double> gaussian_kernel(double sigma) {
  const int radius = static_cast<int>(std::ceil(4.0 * sigma));
  std::vector<double> k(static_cast<std::size_t>(2 * radius + 1));
  double sum = 0.0;
  for (int i = -radius; i <= radius; ++i) {
    const double z = i / sigma;
    k[static_cast<std::size_t>(i + radius)] = std::exp(-0.5 * z * z);
    sum += k[static_cast<std::size_t>(i + radius)];
  }
  for (double& v : k) v /= sum;
  return k;
}

void check_image(const float* image, int height, int width) {
  if (height < 1 || width < 1 || image == nullptr) {
    std::ostringstream msg;
    msg << "image: expected at least 1 x 1 pixels, found " << height << " x " << width;
    throw InputError(msg.str());
  }
}

std::size_t pixels(int height, int width) { return static_cast<std::size_t>(height) * static_cast<std::size_t>(width); }

// Labels the 4-connected component of `seed` within pixels where in[p] == 1,
// setting label[p] = id; returns its size.
std::size_t flood(const std::vector<std::uint8_t>& in, int height, int width, std::size_t seed, int id,
                  std::vector<int>& label, std::vector<std::size_t>& stack) {
  std::size_t size = 0;
  stack.clear();
  stack.push_back(seed);
  label[seed] = id;
  while (!stack.empty()) {
    const std::size_t p = stack.back();
    stack.pop_back();
    ++size;
    const int row = static_cast<int>(p / static_cast<std::size_t>(width));
    const int col = static_cast<int>(p % static_cast<std::size_t>(width));
    const auto visit = [&](int r, int c) {
      if (r < 0 || r >= height || c < 0 || c >= width) return;
      const std::size_t q = static_cast<std::size_t>(r) * static_cast<std::size_t>(width) + static_cast<std::size_t>(c);
      if (in[q] && label[q] == 0) {
        label[q] = id;
        stack.push_back(q);
      }
    };
    visit(row - 1, col);
    visit(row + 1, col);
    visit(row, col - 1);
    visit(row, col + 1);
  }
  return size;
}

// Keeps only the largest 4-connected component of `fg` (ties: the first found
// in raster order). Returns false if fg is empty.
bool keep_largest_component(std::vector<std::uint8_t>& fg, int height, int width) {
  std::vector<int> label(fg.size(), 0);
  std::vector<std::size_t> stack;
  int id = 0, best_id = 0;
  std::size_t best_size = 0;
  for (std::size_t p = 0; p < fg.size(); ++p) {
    if (!fg[p] || label[p] != 0) continue;
    const std::size_t size = flood(fg, height, width, p, ++id, label, stack);
    if (size > best_size) {
      best_size = size;
      best_id = id;
    }
  }
  if (best_size == 0) return false;
  for (std::size_t p = 0; p < fg.size(); ++p) fg[p] = label[p] == best_id ? 1 : 0;
  return true;
}

// Background pixels not 4-connected to the image border become foreground.
void fill_holes(std::vector<std::uint8_t>& fg, int height, int width) {
  std::vector<std::uint8_t> background(fg.size());
  for (std::size_t p = 0; p < fg.size(); ++p) background[p] = fg[p] ? 0 : 1;
  std::vector<int> label(fg.size(), 0);
  std::vector<std::size_t> stack;
  const auto seed = [&](int r, int c) {
    const std::size_t p = static_cast<std::size_t>(r) * static_cast<std::size_t>(width) + static_cast<std::size_t>(c);
    if (background[p] && label[p] == 0) flood(background, height, width, p, 1, label, stack);
  };
  for (int c = 0; c < width; ++c) {
    seed(0, c);
    seed(height - 1, c);
  }
  for (int r = 0; r < height; ++r) {
    seed(r, 0);
    seed(r, width - 1);
  }
  for (std::size_t p = 0; p < fg.size(); ++p) fg[p] = label[p] == 1 ? 0 : 1;
}

}  // namespace

std::size_t Mask::area() const {
  return static_cast<std::size_t>(std::count(inside.begin(), inside.end(), std::uint8_t{1}));
}

std::vector<float> gaussian_blur(const float* image, int height, int width, double sigma) {
  check_image(image, height, width);
  const std::size_t n = pixels(height, width);
  std::vector<float> out(image, image + n);
  if (!(sigma > 0.0)) return out;
  const std::vector<double> k = gaussian_kernel(sigma);
  const int radius = static_cast<int>(k.size() / 2);
  const auto w = static_cast<std::size_t>(width);
  // Horizontal pass through a reflect-padded copy of each row.
  std::vector<double> tmp(n);
  std::vector<double> padded(w + 2 * static_cast<std::size_t>(radius));
  for (int r = 0; r < height; ++r) {
    const float* row = image + static_cast<std::size_t>(r) * w;
    for (int i = -radius; i < width + radius; ++i)
      padded[static_cast<std::size_t>(i + radius)] = row[reflect(i, width)];
    for (std::size_t c = 0; c < w; ++c) {
      double s = 0.0;
      for (std::size_t j = 0; j < k.size(); ++j) s += k[j] * padded[c + j];
      tmp[static_cast<std::size_t>(r) * w + c] = s;
    }
  }
  // Vertical pass, row by row (cache-friendly): out row r = Σ_j k_j · tmp row reflect(r + j − radius).
  std::vector<double> acc(w);
  for (int r = 0; r < height; ++r) {
    std::fill(acc.begin(), acc.end(), 0.0);
    for (int j = -radius; j <= radius; ++j) {
      const double kj = k[static_cast<std::size_t>(j + radius)];
      const double* src = tmp.data() + static_cast<std::size_t>(reflect(r + j, height)) * w;
      for (std::size_t c = 0; c < w; ++c) acc[c] += kj * src[c];
    }
    for (std::size_t c = 0; c < w; ++c) out[static_cast<std::size_t>(r) * w + c] = static_cast<float>(acc[c]);
  }
  return out;
}

double otsu_threshold(const float* image, std::size_t n, int bins, double* separability) {
  if (n == 0 || image == nullptr) throw InputError("Otsu threshold: expected at least one value, found none");
  if (bins < 2) {
    std::ostringstream msg;
    msg << "Otsu threshold: expected at least 2 histogram bins, found " << bins;
    throw InputError(msg.str());
  }
  double lo = image[0], hi = image[0], mean = 0.0;
  for (std::size_t i = 0; i < n; ++i) {
    if (!std::isfinite(image[i])) {
      std::ostringstream msg;
      msg << "Otsu threshold: expected finite values, found " << image[i] << " at pixel " << i;
      throw InputError(msg.str());
    }
    lo = std::min(lo, static_cast<double>(image[i]));
    hi = std::max(hi, static_cast<double>(image[i]));
    mean += image[i];
  }
  mean /= static_cast<double>(n);
  if (separability != nullptr) *separability = 0.0;
  if (hi <= lo) return lo;
  // Per bin: count and sum of the values, so the between-class variance of a
  // split at a bin edge is exact for the values in the bins (not bin centres).
  std::vector<double> count(static_cast<std::size_t>(bins), 0.0), sum(static_cast<std::size_t>(bins), 0.0);
  double total_var = 0.0;
  const double scale = bins / (hi - lo);
  for (std::size_t i = 0; i < n; ++i) {
    const double v = image[i];
    const auto b = static_cast<std::size_t>(std::min(static_cast<double>(bins - 1), std::floor((v - lo) * scale)));
    count[b] += 1.0;
    sum[b] += v;
    total_var += (v - mean) * (v - mean);
  }
  const double total = static_cast<double>(n);
  const double total_sum = mean * total;
  double w0 = 0.0, s0 = 0.0, best = -1.0;
  int best_bin = 0;
  for (int b = 0; b + 1 < bins; ++b) {
    w0 += count[static_cast<std::size_t>(b)];
    s0 += sum[static_cast<std::size_t>(b)];
    const double w1 = total - w0;
    if (w0 == 0.0 || w1 == 0.0) continue;
    const double d = s0 / w0 - (total_sum - s0) / w1;
    const double between = w0 * w1 * d * d / (total * total);
    if (between > best) {
      best = between;
      best_bin = b;
    }
  }
  if (separability != nullptr && total_var > 0.0) {
    *separability = std::min(1.0, std::max(0.0, best / (total_var / total)));
  }
  return lo + (best_bin + 1) / scale;
}

Mask mask_from_threshold(const float* blurred, int height, int width, double threshold) {
  check_image(blurred, height, width);
  Mask m;
  m.height = height;
  m.width = width;
  m.inside.resize(pixels(height, width));
  for (std::size_t p = 0; p < m.inside.size(); ++p) m.inside[p] = blurred[p] > threshold ? 1 : 0;
  if (!keep_largest_component(m.inside, height, width)) {
    std::ostringstream msg;
    msg << "no cell found (no pixel above the threshold " << threshold << ")";
    throw InputError(msg.str());
  }
  fill_holes(m.inside, height, width);
  return m;
}

Mask segment_cell(const float* image, int height, int width, double sigma, double* threshold_out) {
  const std::vector<float> blurred = gaussian_blur(image, height, width, sigma);
  double eta = 0.0;
  const double threshold = otsu_threshold(blurred.data(), blurred.size(), 256, &eta);
  if (eta < kMinSeparability) {
    std::ostringstream msg;
    msg << "no cell found (intensities not bimodal: Otsu separability " << eta << ", expected >= " << kMinSeparability
        << ")";
    throw InputError(msg.str());
  }
  if (threshold_out != nullptr) *threshold_out = threshold;
  return mask_from_threshold(blurred.data(), height, width, threshold);
}

}  // namespace phenoscale::edge
