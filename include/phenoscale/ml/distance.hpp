// The distances between feature rows that the kNN search and the cluster-
// quality measures know, chosen by name.
//
// `euclidean` is the plain one. `nan-euclidean` is scikit-learn's
// nan_euclidean_distances: coordinates missing (NaN) in either row are
// skipped and the sum over the q coordinates present in both is scaled by
// d / q, so rows with few shared coordinates are not made artificially close.
// DeepHACKS (Ma et al. 2024, §2 "ACF-based clustering") compares the ACF
// vectors of series of different lengths by "pooled partial distances": a
// short series has no autocorrelation at lags beyond its length, and filling
// those lags with 0 would split one phenotype by length (docs/methods.md §3.2).
#pragma once

#include <cmath>
#include <cstdint>
#include <limits>
#include <string>

namespace phenoscale::ml {

enum class Distance { euclidean, nan_euclidean };

// "euclidean" or "nan-euclidean" (the name written to output attributes).
const char* distance_name(Distance distance);

// The inverse of distance_name; ConfigError naming `key` otherwise.
Distance parse_distance(const std::string& name, const std::string& key);

// d / q · Σ over the q coordinates finite in both rows of (a − b)², in double
// with a fixed summation order. Rows that share no coordinate (q = 0; NaN in
// scikit-learn) are infinitely far apart here, so every order stays strict.
template <typename A, typename B>
inline double nan_squared_distance(const A* a, const B* b, std::uint64_t d) {
  double s = 0.0;
  std::uint64_t present = 0;
  for (std::uint64_t c = 0; c < d; ++c) {
    if (std::isnan(a[c]) || std::isnan(b[c])) continue;
    const double e = static_cast<double>(a[c]) - static_cast<double>(b[c]);
    s += e * e;
    ++present;
  }
  if (present == 0) return std::numeric_limits<double>::infinity();
  return s * static_cast<double>(d) / static_cast<double>(present);
}

}  // namespace phenoscale::ml
