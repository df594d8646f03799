// Length pooling, noise padding, z-normalisation, SAX and the ACF of the
// symbols: the features of DeepHACKS' ACF-based pre-clustering (Ma et al.
// 2024; docs/methods.md §3.2). The rules are stated in edge/sax.hpp.
#include "phenoscale/edge/sax.hpp"

#include <algorithm>
#include <cmath>
#include <cstddef>
#include <limits>
#include <string>

#include "phenoscale/core/error.hpp"
#include "phenoscale/ml/bootstrap.hpp"  // ml::normal_quantile

namespace phenoscale::edge {
namespace {

void check_finite(const std::vector<double>& x, const char* what) {
  for (double v : x)
    if (!std::isfinite(v)) throw InputError(std::string(what) + ": the series holds a non-finite value");
}

double mean_of(const std::vector<double>& x, std::size_t begin, std::size_t end) {
  double s = 0.0;
  for (std::size_t i = begin; i < end; ++i) s += x[i];
  return s / static_cast<double>(end - begin);
}

}  // namespace

std::vector<double> z_normalise(const std::vector<double>& x) {
  check_finite(x, "edge z-normalisation");
  std::vector<double> z(x.size(), 0.0);
  if (x.empty()) return z;
  const double m = mean_of(x, 0, x.size());
  double ss = 0.0;
  for (double v : x) ss += (v - m) * (v - m);
  const double sd = std::sqrt(ss / static_cast<double>(x.size()));
  if (!(sd > 0.0)) return z;
  for (std::size_t i = 0; i < x.size(); ++i) z[i] = (x[i] - m) / sd;
  return z;
}

std::vector<double> sax_breakpoints(int alphabet) {
  if (alphabet < 2) throw ConfigError("edge SAX: alphabet must be >= 2 symbols, got " + std::to_string(alphabet));
  std::vector<double> beta(static_cast<std::size_t>(alphabet - 1));
  for (int k = 1; k < alphabet; ++k) {
    // Exact 0 for the middle breakpoint of an even alphabet (symmetry).
    const double p = static_cast<double>(k) / alphabet;
    beta[static_cast<std::size_t>(k - 1)] = 2 * k == alphabet ? 0.0 : ml::normal_quantile(p);
  }
  return beta;
}

std::vector<int> sax(const std::vector<double>& z, int frames_per_symbol, int alphabet) {
  if (frames_per_symbol < 1)
    throw ConfigError("edge SAX: frames_per_symbol must be >= 1, got " + std::to_string(frames_per_symbol));
  const std::vector<double> beta = sax_breakpoints(alphabet);
  check_finite(z, "edge SAX");
  const auto w = static_cast<std::size_t>(frames_per_symbol);
  std::vector<int> word;
  for (std::size_t begin = 0; begin < z.size(); begin += w) {
    const double paa = mean_of(z, begin, std::min(z.size(), begin + w));
    word.push_back(static_cast<int>(std::upper_bound(beta.begin(), beta.end(), paa) - beta.begin()));
  }
  return word;
}

std::vector<double> acf(const std::vector<double>& x, int max_lag) {
  if (max_lag < 1) throw ConfigError("edge ACF: max_lag must be >= 1, got " + std::to_string(max_lag));
  check_finite(x, "edge ACF");
  std::vector<double> r(static_cast<std::size_t>(max_lag), 0.0);
  const std::size_t n = x.size();
  if (n == 0) return r;
  const double m = mean_of(x, 0, n);
  double denom = 0.0;
  for (double v : x) denom += (v - m) * (v - m);
  if (!(denom > 0.0)) return r;
  for (std::size_t k = 1; k <= r.size() && k < n; ++k) {
    double num = 0.0;
    for (std::size_t t = 0; t + k < n; ++t) num += (x[t] - m) * (x[t + k] - m);
    r[k - 1] = num / denom;
  }
  return r;
}

std::vector<double> sax_acf(const std::vector<double>& velocity, int frames_per_symbol, int alphabet, int max_lag) {
  const std::vector<int> word = sax(z_normalise(velocity), frames_per_symbol, alphabet);
  return acf(std::vector<double>(word.begin(), word.end()), max_lag);
}

std::size_t symbol_count(std::size_t frames, int frames_per_symbol) {
  if (frames_per_symbol < 1)
    throw ConfigError("edge SAX: frames_per_symbol must be >= 1, got " + std::to_string(frames_per_symbol));
  const auto w = static_cast<std::size_t>(frames_per_symbol);
  return (frames + w - 1) / w;
}

void mark_undefined_lags(std::vector<double>& acf_lags_from_1, std::size_t symbols) {
  for (std::size_t k = 1; k <= acf_lags_from_1.size(); ++k)
    if (k >= symbols) acf_lags_from_1[k - 1] = std::numeric_limits<double>::quiet_NaN();
}

LengthPools pool_lengths(const std::vector<int>& lengths, int tolerance) {
  if (tolerance < 0)
    throw ConfigError("edge length pools: tolerance must be >= 0 frames, got " + std::to_string(tolerance));
  for (int l : lengths)
    if (l < 0) throw InputError("edge length pools: a series length is negative (" + std::to_string(l) + ")");
  std::vector<int> distinct = lengths;
  std::sort(distinct.begin(), distinct.end());
  distinct.erase(std::unique(distinct.begin(), distinct.end()), distinct.end());

  // Per distinct length: its pool and that pool's longest length.
  std::vector<int> pool_of(distinct.size()), target_of(distinct.size());
  int pool = 0;
  for (std::size_t start = 0; start < distinct.size(); ++pool) {
    std::size_t stop = start;
    // Compare as differences so that L + tolerance cannot overflow.
    while (stop < distinct.size() && distinct[stop] - distinct[start] <= tolerance) ++stop;
    for (std::size_t i = start; i < stop; ++i) {
      pool_of[i] = pool;
      target_of[i] = distinct[stop - 1];
    }
    start = stop;
  }
  LengthPools out;
  for (int l : lengths) {
    const auto i = static_cast<std::size_t>(std::lower_bound(distinct.begin(), distinct.end(), l) - distinct.begin());
    out.pool.push_back(pool_of[i]);
    out.target_length.push_back(target_of[i]);
  }
  return out;
}

std::vector<double> pad_with_noise(const std::vector<double>& x, int target_length, core::Rng& rng, int tail) {
  if (tail < 1) throw ConfigError("edge noise padding: tail must be >= 1 value, got " + std::to_string(tail));
  if (x.empty()) throw InputError("edge noise padding: cannot pad an empty series (no end to estimate the noise from)");
  check_finite(x, "edge noise padding");
  if (target_length < 0 || static_cast<std::size_t>(target_length) < x.size())
    throw InputError("edge noise padding: target length " + std::to_string(target_length) +
                     " is shorter than the series (" + std::to_string(x.size()) + " frames)");
  const std::size_t begin = x.size() > static_cast<std::size_t>(tail) ? x.size() - static_cast<std::size_t>(tail) : 0;
  const double mu = mean_of(x, begin, x.size());
  double ss = 0.0;
  for (std::size_t i = begin; i < x.size(); ++i) ss += (x[i] - mu) * (x[i] - mu);
  const double sigma = std::sqrt(ss / static_cast<double>(x.size() - begin));

  std::vector<double> out = x;
  out.reserve(static_cast<std::size_t>(target_length));
  while (out.size() < static_cast<std::size_t>(target_length)) out.push_back(rng.normal(mu, sigma));
  return out;
}

}  // namespace phenoscale::edge
