// Cell segmentation (edge/segmentation.hpp): Gaussian blur moments and
// borders, Otsu's threshold against a brute-force maximiser and its
// separability on known distributions, largest component and hole filling,
// frames without a cell.
#include <gtest/gtest.h>

#include <cmath>
#include <string>
#include <vector>

#include "phenoscale/core/error.hpp"
#include "phenoscale/core/rng.hpp"
#include "phenoscale/edge/segmentation.hpp"
#include "test_support.hpp"

using namespace phenoscale::edge;
using phenoscale::InputError;
using phenoscale::core::Rng;
using phenoscale::core::Stream;
using phenoscale::testing::message_of;

namespace {

constexpr double kPi = 3.14159265358979323846;

// The between-class variance of splitting `v` at t (classes v < t and v ≥ t),
// computed directly from the values.
double between_class_variance(const std::vector<float>& v, double t) {
  double n0 = 0, s0 = 0, n1 = 0, s1 = 0;
  for (float x : v) {
    if (x < t) {
      n0 += 1;
      s0 += x;
    } else {
      n1 += 1;
      s1 += x;
    }
  }
  if (n0 == 0 || n1 == 0) return -1.0;
  const double n = n0 + n1, d = s0 / n0 - s1 / n1;
  return n0 * n1 * d * d / (n * n);
}

// An image: `level` inside the disks (centre col, row, radius), `background` elsewhere.
struct Disk {
  double cx, cy, r;
};
std::vector<float> disks(int h, int w, const std::vector<Disk>& inside, const std::vector<Disk>& holes, float level,
                         float background) {
  std::vector<float> img(static_cast<std::size_t>(h * w), background);
  for (int r = 0; r < h; ++r) {
    for (int c = 0; c < w; ++c) {
      bool in = false;
      for (const Disk& d : inside) in = in || std::hypot(c - d.cx, r - d.cy) <= d.r;
      for (const Disk& d : holes) in = in && std::hypot(c - d.cx, r - d.cy) > d.r;
      if (in) img[static_cast<std::size_t>(r * w + c)] = level;
    }
  }
  return img;
}

bool inside(const Mask& m, int row, int col) { return m.inside[static_cast<std::size_t>(row * m.width + col)] != 0; }

}  // namespace

TEST(GaussianBlur, ImpulseHasUnitMassAndVarianceSigmaSquared) {
  const int n = 41;
  std::vector<float> img(n * n, 0.0f);
  img[20 * n + 20] = 1.0f;
  const double sigma = 1.7;
  const std::vector<float> b = gaussian_blur(img.data(), n, n, sigma);
  double mass = 0, vr = 0, vc = 0;
  for (int r = 0; r < n; ++r) {
    for (int c = 0; c < n; ++c) {
      mass += b[r * n + c];
      vr += b[r * n + c] * (r - 20) * (r - 20);
      vc += b[r * n + c] * (c - 20) * (c - 20);
    }
  }
  EXPECT_NEAR(mass, 1.0, 1e-5);
  // The kernel is sampled at integers and truncated at 4σ: its variance is σ² to < 0.1 %.
  EXPECT_NEAR(vr, sigma * sigma, 0.003 * sigma * sigma);
  EXPECT_NEAR(vc, sigma * sigma, 0.003 * sigma * sigma);
  EXPECT_FLOAT_EQ(b[19 * n + 20], b[21 * n + 20]);
  EXPECT_FLOAT_EQ(b[20 * n + 17], b[20 * n + 23]);
}

TEST(GaussianBlur, ReflectBordersKeepConstantsAndMirrorAtTheEdge) {
  std::vector<float> flat(7 * 5, 3.25f);
  for (float v : gaussian_blur(flat.data(), 7, 5, 2.0)) EXPECT_NEAR(v, 3.25f, 1e-5);
  // An impulse at the corner: half-sample reflection folds the kernel back,
  // so the corner pixel receives k0 + k1 per axis (its mirror image is the pixel itself).
  const int n = 20;
  std::vector<float> img(n * n, 0.0f);
  img[0] = 1.0f;
  const double sigma = 1.0;
  const std::vector<float> b = gaussian_blur(img.data(), n, n, sigma);
  double k0 = 1.0, k1 = std::exp(-0.5), sum = 0.0;
  for (int i = -4; i <= 4; ++i) sum += std::exp(-0.5 * i * i);
  const double per_axis = (k0 + k1) / sum;
  EXPECT_NEAR(b[0], per_axis * per_axis, 1e-6);
  double mass = 0;
  for (float v : b) mass += v;
  EXPECT_NEAR(mass, 1.0, 1e-5);  // reflection conserves mass
  // σ ≤ 0 copies.
  EXPECT_EQ(gaussian_blur(img.data(), n, n, 0.0), img);
}

TEST(Otsu, BimodalLandsBetweenModesAndMatchesBruteForce) {
  Rng rng(11, Stream::test, 0);
  std::vector<float> v;
  for (int i = 0; i < 3000; ++i) v.push_back(static_cast<float>(rng.normal(100.0, 10.0)));
  for (int i = 0; i < 1000; ++i) v.push_back(static_cast<float>(rng.normal(400.0, 20.0)));
  double eta = 0.0;
  const double t = otsu_threshold(v.data(), v.size(), 256, &eta);
  EXPECT_GT(t, 140.0);
  EXPECT_LT(t, 340.0);
  // Brute force over the same candidate thresholds (the bin edges).
  float lo = v[0], hi = v[0];
  for (float x : v) {
    lo = std::min(lo, x);
    hi = std::max(hi, x);
  }
  double best = -1.0, best_t = 0.0;
  for (int k = 1; k < 256; ++k) {
    const double edge = lo + k * (static_cast<double>(hi) - lo) / 256.0;
    const double var = between_class_variance(v, edge);
    if (var > best) {
      best = var;
      best_t = edge;
    }
  }
  EXPECT_NEAR(t, best_t, 1e-9 * (hi - lo));
  // η = σ_B² / σ_T² with the modes' spread: σ_T² ≈ 0.75·0.25·300² + 0.75·100 + 0.25·400.
  const double expected_eta = 0.1875 * 90000.0 / (0.1875 * 90000.0 + 75.0 + 100.0);
  std::printf("Otsu: threshold %.2f (brute force %.2f), separability %.4f (expected ~%.4f)\n", t, best_t, eta,
              expected_eta);
  EXPECT_NEAR(eta, expected_eta, 0.01);
}

TEST(Otsu, SeparabilityOfGaussianNoiseIsTwoOverPi) {
  // Splitting N(0,1) at its mean: class means ±sqrt(2/π), so η = 2/π.
  Rng rng(12, Stream::test, 0);
  std::vector<float> v(200000);
  for (float& x : v) x = static_cast<float>(rng.normal());
  double eta = 0.0;
  const double t = otsu_threshold(v.data(), v.size(), 256, &eta);
  EXPECT_NEAR(t, 0.0, 0.05);
  EXPECT_NEAR(eta, 2.0 / kPi, 0.005);
  EXPECT_LT(eta, kMinSeparability);
}

TEST(Otsu, DegenerateInputs) {
  std::vector<float> same(10, 7.0f);
  double eta = 1.0;
  EXPECT_EQ(otsu_threshold(same.data(), same.size(), 256, &eta), 7.0);
  EXPECT_EQ(eta, 0.0);
  EXPECT_THROW(otsu_threshold(same.data(), 0), InputError);
  EXPECT_THROW(otsu_threshold(same.data(), same.size(), 1), InputError);
  same[3] = std::nanf("");
  EXPECT_NE(message_of<InputError>([&] { otsu_threshold(same.data(), same.size()); }).find("finite"),
            std::string::npos);
}

TEST(SegmentCell, FillsHoleAndKeepsLargestComponent) {
  const int h = 64, w = 80;
  // A ring (disk with a hole) plus a smaller separate blob.
  const std::vector<float> img = disks(h, w, {{30, 32, 20}, {68, 12, 6}}, {{30, 32, 8}}, 1000.0f, 100.0f);
  double threshold = 0.0;
  const Mask m = segment_cell(img.data(), h, w, 1.0, &threshold);
  EXPECT_GT(threshold, 100.0);
  EXPECT_LT(threshold, 1000.0);
  EXPECT_EQ(m.height, h);
  EXPECT_EQ(m.width, w);
  EXPECT_TRUE(inside(m, 32, 30));   // the hole is filled
  EXPECT_TRUE(inside(m, 32, 45));   // the ring
  EXPECT_FALSE(inside(m, 12, 68));  // the smaller blob is dropped
  EXPECT_FALSE(inside(m, 2, 2));
  // Area of the filled disk of radius 20 (blur moves the edge little at Otsu's level).
  const double disk = kPi * 20.0 * 20.0;
  std::printf("filled ring: area %zu px, disk %.1f px\n", m.area(), disk);
  EXPECT_NEAR(static_cast<double>(m.area()), disk, 0.05 * disk);
}

TEST(SegmentCell, HoleOpenToTheBorderStaysBackground) {
  // A C-shaped cell whose gap reaches the image border through a channel: not a hole.
  const int n = 48;
  std::vector<float> img = disks(n, n, {{24, 24, 18}}, {{24, 24, 6}}, 1000.0f, 100.0f);
  for (int r = 22; r <= 26; ++r) {
    for (int c = 24; c < n; ++c) img[r * n + c] = 100.0f;
  }
  const Mask m = segment_cell(img.data(), n, n, 0.5);
  EXPECT_FALSE(inside(m, 24, 24));
  EXPECT_TRUE(inside(m, 24, 12));
}

TEST(SegmentCell, FrameWithoutCellThrows) {
  const int n = 32;
  std::vector<float> flat(n * n, 150.0f);
  EXPECT_NE(message_of<InputError>([&] { segment_cell(flat.data(), n, n, 1.0); }).find("no cell found"),
            std::string::npos);
  // Pure camera noise is unimodal: no cell either.
  Rng rng(3, Stream::test, 0);
  std::vector<float> noise(n * n);
  for (float& x : noise) x = static_cast<float>(std::round(rng.normal(150.0, 13.0)));
  EXPECT_NE(message_of<InputError>([&] { segment_cell(noise.data(), n, n, 1.0); }).find("not bimodal"),
            std::string::npos);
  EXPECT_NE(message_of<InputError>([&] { mask_from_threshold(flat.data(), n, n, 200.0); }).find("no cell found"),
            std::string::npos);
}
