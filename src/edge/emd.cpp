// Empirical mode decomposition, the Hurst-type exponent of an IMF and the EMD
// denoiser of protrusion velocities (DeepHACKS, Ma et al. 2024;
// docs/methods.md §3.1). The rules are stated in edge/emd.hpp.
#include "phenoscale/edge/emd.hpp"

#include <algorithm>
#include <cmath>
#include <cstddef>
#include <limits>
#include <string>

#include "phenoscale/core/error.hpp"
#include "phenoscale/core/log.hpp"
#include "phenoscale/edge/series.hpp"

namespace phenoscale::edge {
namespace {

constexpr int kMirrored = 2;  // extrema reflected at each end for the envelopes

void check_finite(const std::vector<double>& x, const char* what) {
  for (double v : x)
    if (!std::isfinite(v)) throw InputError(std::string(what) + ": the series holds a non-finite value");
}

struct Extrema {
  std::vector<std::size_t> maxima, minima;
  std::size_t count() const { return maxima.size() + minima.size(); }
};

// Strict interior extrema; a plateau bounded by lower (higher) values on both
// sides is one maximum (minimum) at its middle.
Extrema find_extrema(const std::vector<double>& x) {
  Extrema e;
  std::size_t i = 1;
  while (i + 1 < x.size()) {
    std::size_t j = i;
    while (j + 1 < x.size() && x[j + 1] == x[i]) ++j;
    if (j + 1 >= x.size()) break;  // a plateau running into the end is no extremum
    const std::size_t middle = (i + j) / 2;
    if (x[i] > x[i - 1] && x[i] > x[j + 1]) e.maxima.push_back(middle);
    if (x[i] < x[i - 1] && x[i] < x[j + 1]) e.minima.push_back(middle);
    i = j + 1;
  }
  return e;
}

// Sign changes, exact zeros skipped.
std::size_t zero_crossings(const std::vector<double>& x) {
  std::size_t crossings = 0;
  int previous = 0;
  for (double v : x) {
    const int sign = (v > 0.0) - (v < 0.0);
    if (sign == 0) continue;
    if (previous != 0 && sign != previous) ++crossings;
    previous = sign;
  }
  return crossings;
}

// Natural cubic spline through (t, y) (t strictly increasing, ≥ 2 knots)
// evaluated at 0, 1, ..., n−1.
std::vector<double> natural_spline(const std::vector<double>& t, const std::vector<double>& y, std::size_t n) {
  const std::size_t k = t.size();
  std::vector<double> m(k, 0.0);  // second derivatives; 0 at both ends
  if (k > 2) {
    // Thomas algorithm on the interior equations
    // h_{i−1} M_{i−1} + 2(h_{i−1} + h_i) M_i + h_i M_{i+1} = 6 (slope_i − slope_{i−1}).
    std::vector<double> c(k, 0.0), d(k, 0.0);
    for (std::size_t i = 1; i + 1 < k; ++i) {
      const double h0 = t[i] - t[i - 1], h1 = t[i + 1] - t[i];
      const double rhs = 6.0 * ((y[i + 1] - y[i]) / h1 - (y[i] - y[i - 1]) / h0);
      const double denom = 2.0 * (h0 + h1) - h0 * c[i - 1];
      c[i] = h1 / denom;
      d[i] = (rhs - h0 * d[i - 1]) / denom;
    }
    for (std::size_t i = k - 1; i-- > 1;) m[i] = d[i] - c[i] * m[i + 1];
  }
  std::vector<double> out(n);
  std::size_t seg = 0;
  for (std::size_t s = 0; s < n; ++s) {
    const double x = static_cast<double>(s);
    while (seg + 2 < k && x > t[seg + 1]) ++seg;
    const double h = t[seg + 1] - t[seg];
    const double a = (t[seg + 1] - x) / h, b = (x - t[seg]) / h;
    out[s] = a * y[seg] + b * y[seg + 1] + ((a * a * a - a) * m[seg] + (b * b * b - b) * m[seg + 1]) * h * h / 6.0;
  }
  return out;
}

// Knots of one envelope: the interior extrema `idx`, the kMirrored nearest
// to each end reflected about the end sample, and the end samples that are
// extrema of the even extension (`left_end` / `right_end`).
std::vector<double> envelope(const std::vector<double>& x, const std::vector<std::size_t>& idx, bool left_end,
                             bool right_end) {
  const double last = static_cast<double>(x.size() - 1);
  const std::size_t mirrored = std::min<std::size_t>(kMirrored, idx.size());
  std::vector<double> t, y;
  for (std::size_t k = mirrored; k-- > 0;) {
    t.push_back(-static_cast<double>(idx[k]));
    y.push_back(x[idx[k]]);
  }
  if (left_end) {
    t.push_back(0.0);
    y.push_back(x.front());
  }
  for (std::size_t i : idx) {
    t.push_back(static_cast<double>(i));
    y.push_back(x[i]);
  }
  if (right_end) {
    t.push_back(last);
    y.push_back(x.back());
  }
  for (std::size_t k = 0; k < mirrored; ++k) {
    const std::size_t i = idx[idx.size() - 1 - k];
    t.push_back(2.0 * last - static_cast<double>(i));
    y.push_back(x[i]);
  }
  return natural_spline(t, y, x.size());
}

// One sifting step's envelopes: their mean and half-distance.
struct Envelopes {
  std::vector<double> mean, amplitude;
};

Envelopes envelopes(const std::vector<double>& x, const Extrema& e) {
  const std::size_t n = x.size();
  const std::vector<double> upper = envelope(x, e.maxima, x[0] > x[1], x[n - 1] > x[n - 2]);
  const std::vector<double> lower = envelope(x, e.minima, x[0] < x[1], x[n - 1] < x[n - 2]);
  Envelopes env{std::vector<double>(n), std::vector<double>(n)};
  for (std::size_t i = 0; i < n; ++i) {
    env.mean[i] = 0.5 * (upper[i] + lower[i]);
    env.amplitude[i] = 0.5 * std::abs(upper[i] - lower[i]);
  }
  return env;
}

// Rilling et al. 2003: σ = |mean| / amplitude ≤ sd1 on all but a fraction
// `tolerance` of the samples and ≤ sd2 everywhere.
bool mean_negligible(const Envelopes& env, const EmdOptions& o) {
  std::size_t above = 0;
  for (std::size_t i = 0; i < env.mean.size(); ++i) {
    const double m = std::abs(env.mean[i]), a = env.amplitude[i];
    const double sigma = a > 0.0 ? m / a : (m > 0.0 ? std::numeric_limits<double>::infinity() : 0.0);
    if (sigma > o.sd2) return false;
    if (sigma > o.sd1) ++above;
  }
  return static_cast<double>(above) <= o.tolerance * static_cast<double>(env.mean.size());
}

// Sifts r into one IMF; counts the iterations in *sifts.
std::vector<double> sift(const std::vector<double>& r, const EmdOptions& o, int* sifts) {
  std::vector<double> h = r;
  *sifts = 0;
  for (;;) {
    const Extrema e = find_extrema(h);
    if (e.count() < 3) break;  // too few extrema for two envelopes: h is as sifted as it gets
    const Envelopes env = envelopes(h, e);
    const std::size_t zc = zero_crossings(h);
    const std::size_t ne = e.count();
    const bool is_imf = (zc > ne ? zc - ne : ne - zc) <= 1;
    if (is_imf && mean_negligible(env, o)) break;
    if (*sifts >= o.max_sifts) break;
    for (std::size_t i = 0; i < h.size(); ++i) h[i] -= env.mean[i];
    ++*sifts;
  }
  return h;
}

double sample_std(const std::vector<double>& v) {
  double mean = 0.0;
  for (double x : v) mean += x;
  mean /= static_cast<double>(v.size());
  double ss = 0.0;
  for (double x : v) ss += (x - mean) * (x - mean);
  return std::sqrt(ss / static_cast<double>(v.size() - 1));
}

}  // namespace

void check_options(const EmdOptions& o, const std::string& what) {
  if (!(o.sd1 > 0.0 && o.sd2 >= o.sd1 && o.tolerance >= 0.0 && o.tolerance <= 1.0))
    throw ConfigError(core::cat(what, ": expected 0 < sd1 <= sd2 and a tolerance in [0, 1] (Rilling et al. 2003: "
                                "[0.05, 0.5, 0.05]), found sd1 = ", o.sd1, ", sd2 = ", o.sd2, ", tolerance = ",
                                o.tolerance));
  if (o.max_sifts < 1 || o.max_imfs < 1)
    throw ConfigError(core::cat(what, ": expected max_sifts and max_imfs >= 1, found ", o.max_sifts, " and ",
                                o.max_imfs));
}

EmdResult emd(const std::vector<double>& x, const EmdOptions& o) {
  check_options(o, "edge EMD");
  check_finite(x, "edge EMD");
  EmdResult result;
  std::vector<double> r = x;
  while (static_cast<int>(result.imfs.size()) < o.max_imfs && find_extrema(r).count() >= 3) {
    int sifts = 0;
    std::vector<double> imf = sift(r, o, &sifts);
    for (std::size_t i = 0; i < r.size(); ++i) r[i] -= imf[i];
    result.imfs.push_back(std::move(imf));
    result.sifts_per_imf.push_back(sifts);
    result.sifts += sifts;
  }
  result.residue = std::move(r);
  return result;
}

double hurst_exponent(const std::vector<double>& x) {
  check_finite(x, "edge Hurst exponent");
  const std::size_t n = x.size();
  std::vector<double> log_m, log_s;
  for (std::size_t m = 1; n / m >= 4; m *= 2) {
    const std::size_t bins = n / m;
    std::vector<double> means(bins, 0.0);
    for (std::size_t b = 0; b < bins; ++b) {
      for (std::size_t i = b * m; i < (b + 1) * m; ++i) means[b] += x[i];
      means[b] /= static_cast<double>(m);
    }
    const double s = sample_std(means);
    if (!(s > 0.0)) return std::numeric_limits<double>::quiet_NaN();
    log_m.push_back(std::log(static_cast<double>(m)));
    log_s.push_back(std::log(static_cast<double>(m) * s));
  }
  if (log_m.size() < 2) return std::numeric_limits<double>::quiet_NaN();
  const double k = static_cast<double>(log_m.size());
  double mx = 0.0, my = 0.0;
  for (std::size_t i = 0; i < log_m.size(); ++i) {
    mx += log_m[i] / k;
    my += log_s[i] / k;
  }
  double sxx = 0.0, sxy = 0.0;
  for (std::size_t i = 0; i < log_m.size(); ++i) {
    sxx += (log_m[i] - mx) * (log_m[i] - mx);
    sxy += (log_m[i] - mx) * (log_s[i] - my);
  }
  return sxy / sxx;
}

DenoiseResult denoise_velocity(const std::vector<double>& velocity, double frame_s, double hurst_threshold,
                               const EmdOptions& o) {
  check_options(o, "edge EMD denoising");
  check_finite(velocity, "edge EMD denoising");
  std::vector<double> d = cumulative_displacement(velocity, frame_s);  // checks frame_s
  DenoiseResult result;
  if (velocity.empty()) return result;

  const EmdResult parts = emd(d, o);
  result.imfs = static_cast<int>(parts.imfs.size());
  for (const std::vector<double>& imf : parts.imfs) {
    const double h = hurst_exponent(imf);
    result.hurst.push_back(h);
    if (!(h < hurst_threshold)) continue;  // NaN (not estimable) is kept
    for (std::size_t i = 0; i < d.size(); ++i) d[i] -= imf[i];
    ++result.removed;
  }
  // Differentiate back; the position before frame 0 is the untouched 0.
  result.velocity.resize(d.size());
  result.velocity[0] = d[0] / frame_s;
  for (std::size_t t = 1; t < d.size(); ++t) result.velocity[t] = (d[t] - d[t - 1]) / frame_s;
  return result;
}

}  // namespace phenoscale::edge
