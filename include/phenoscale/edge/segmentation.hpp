// Per-frame cell masks of a live-cell movie with a fluorescent membrane
// marker: the first step of the DeepHACKS edge tracking (Ma et al. 2024,
// "Methods: cell edge tracking"; docs/methods.md §3.1): smoothing, an
// Otsu-type global threshold, the largest connected component, hole filling.
//
// Images are row-major float arrays of height × width pixels.
#pragma once

#include <cstddef>
#include <cstdint>
#include <vector>

namespace phenoscale::edge {

// Separable Gaussian blur with a kernel of radius ceil(4σ), normalised, and
// half-sample symmetric ("reflect": d c b a | a b c d) borders. σ ≤ 0 returns
// a copy.
std::vector<float> gaussian_blur(const float* image, int height, int width, double sigma);

// Otsu's threshold (Otsu 1979) of n values: a histogram of `bins` equal bins
// over [min, max], and the bin edge t maximising the between-class variance
// of the values below t and those above it (the first maximum; classes are
// whole bins, and the variance uses the values themselves, not bin centres,
// so it is exact for that split). Returns min when all values are
// equal. If `separability` is given it receives Otsu's goodness measure
// η = σ_B²/σ_T² ∈ [0, 1] of that split (0 for constant data): ≈ 1 for two
// well-separated modes, 2/π ≈ 0.64 for Gaussian noise.
// InputError for n = 0, bins < 2 or a non-finite value.
double otsu_threshold(const float* image, std::size_t n, int bins = 256, double* separability = nullptr);

// A frame with fewer than this Otsu separability holds no cell: it is
// unimodal (noise or an empty field), and any "cell" found in it would be noise.
inline constexpr double kMinSeparability = 0.75;

struct Mask {
  int height = 0, width = 0;
  std::vector<std::uint8_t> inside;  // row-major, 1 = cell
  std::size_t area() const;          // pixels inside
};

// The cell of an already blurred image: pixels > threshold, their largest
// 4-connected component (ties: the first in raster order), and holes filled
// (background not 4-connected to the image border becomes cell).
// InputError "no cell found (...)" when no pixel exceeds the threshold.
Mask mask_from_threshold(const float* blurred, int height, int width, double threshold);

// blur(σ) → Otsu threshold → mask_from_threshold. The threshold used is
// written to *threshold_out if given. InputError "no cell found (...)" when
// the frame has no foreground or its Otsu separability is below
// kMinSeparability.
Mask segment_cell(const float* image, int height, int width, double sigma, double* threshold_out = nullptr);

}  // namespace phenoscale::edge
