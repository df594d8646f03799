#include "phenoscale/spt/fgn.hpp"

#include <algorithm>
#include <cmath>
#include <sstream>
#include <utility>

#include "phenoscale/core/error.hpp"

namespace phenoscale::spt {

namespace {

std::size_t next_power_of_two(std::size_t n) {
  std::size_t p = 1;
  while (p < n) p <<= 1;
  return p;
}

// |k|^{2H} with 0^{2H} = 0 (std::pow(0, 0) would be 1).
double abs_pow(std::int64_t k, double two_h) {
  return k == 0 ? 0.0 : std::pow(std::fabs(static_cast<double>(k)), two_h);
}

// Eigenvalues of the circulant embedding (size 2m) of the n ≤ m fGn covariance:
// the DFT of its first row γ(0), γ(1), …, γ(m), γ(m−1), …, γ(1). They are real
// (the row is symmetric) and ≥ 0 up to rounding, which is clamped.
std::vector<double> circulant_eigenvalues(std::size_t m, double hurst) {
  const std::size_t size = 2 * m;
  std::vector<std::complex<double>> row(size);
  for (std::size_t j = 0; j <= m; ++j) {
    const double g = fgn_autocovariance(static_cast<std::int64_t>(j), hurst);
    row[j] = g;
    if (j > 0 && j < m) row[size - j] = g;
  }
  fft_radix2(row);
  std::vector<double> lambda(size);
  for (std::size_t k = 0; k < size; ++k) {
    const double v = row[k].real();
    if (v < -1e-9) {
      // Cannot happen for fGn (Craigmile 2003); an exception beats a silently wrong covariance.
      std::ostringstream msg;
      msg << "fgn_davies_harte: negative circulant eigenvalue " << v << " for hurst = " << hurst;
      throw Error(msg.str());
    }
    lambda[k] = v > 0.0 ? v : 0.0;
  }
  return lambda;
}

}  // namespace

double fgn_autocovariance(std::int64_t k, double hurst) {
  const double two_h = 2.0 * hurst;
  const std::int64_t a = k < 0 ? -k : k;
  return 0.5 * (abs_pow(a + 1, two_h) - 2.0 * abs_pow(a, two_h) + abs_pow(a - 1, two_h));
}

void fft_radix2(std::vector<std::complex<double>>& x) {
  const std::size_t n = x.size();
  if (n <= 1) return;
  // Bit-reversal permutation, then iterative Cooley–Tukey butterflies.
  for (std::size_t i = 1, j = 0; i < n; ++i) {
    std::size_t bit = n >> 1;
    for (; j & bit; bit >>= 1) j ^= bit;
    j ^= bit;
    if (i < j) std::swap(x[i], x[j]);
  }
  for (std::size_t len = 2; len <= n; len <<= 1) {
    const double angle = -2.0 * M_PI / static_cast<double>(len);
    for (std::size_t k = 0; k < len / 2; ++k) {
      // Each twiddle from cos/sin directly (not by recurrence): rounding stays at 1 ulp.
      const std::complex<double> w(std::cos(angle * static_cast<double>(k)), std::sin(angle * static_cast<double>(k)));
      for (std::size_t start = 0; start < n; start += len) {
        const std::complex<double> u = x[start + k];
        const std::complex<double> v = x[start + k + len / 2] * w;
        x[start + k] = u + v;
        x[start + k + len / 2] = u - v;
      }
    }
  }
}

std::vector<std::vector<double>> fgn_davies_harte(std::int64_t n, double hurst, int count, core::Rng& rng) {
  if (!(hurst > 0.0 && hurst < 1.0)) {
    std::ostringstream msg;
    msg << "fgn_davies_harte: hurst = " << hurst << ": expected a value in (0, 1)";
    throw ConfigError(msg.str());
  }
  if (n < 0) throw ConfigError("fgn_davies_harte: n = " + std::to_string(n) + ": expected n >= 0");
  std::vector<std::vector<double>> out(static_cast<std::size_t>(std::max(count, 0)));
  if (n == 0) return out;
  // Embedding of a power-of-two m ≥ n samples: the first n of an exact fGn
  // sample of length m are an exact sample of length n.
  const std::size_t m = next_power_of_two(static_cast<std::size_t>(n));
  const std::size_t size = 2 * m;
  const std::vector<double> lambda = circulant_eigenvalues(m, hurst);

  // V_j = Σ_k sqrt(λ_k / 2m) ξ_k e^{−2πi jk/2m} with ξ_k = a_k + i b_k, a, b ~ N(0, 1)
  // independent: E[V_j conj(V_l)] = 2 c_{j−l} and E[V_j V_l] = 0, so Re V and
  // Im V are independent, each with exactly the circulant covariance c — for
  // |j − l| < m the fGn covariance. One transform gives two sequences.
  std::vector<std::complex<double>> w(size);
  for (std::size_t s = 0; s < out.size(); s += 2) {
    for (std::size_t k = 0; k < size; ++k) {
      const double scale = std::sqrt(lambda[k] / static_cast<double>(size));
      const double a = rng.normal();
      const double b = rng.normal();
      w[k] = std::complex<double>(scale * a, scale * b);
    }
    fft_radix2(w);
    out[s].resize(static_cast<std::size_t>(n));
    for (std::size_t j = 0; j < out[s].size(); ++j) out[s][j] = w[j].real();
    if (s + 1 < out.size()) {
      out[s + 1].resize(static_cast<std::size_t>(n));
      for (std::size_t j = 0; j < out[s + 1].size(); ++j) out[s + 1][j] = w[j].imag();
    }
  }
  return out;
}

std::vector<double> fgn_davies_harte(std::int64_t n, double hurst, core::Rng& rng) {
  return std::move(fgn_davies_harte(n, hurst, 1, rng).front());
}

}  // namespace phenoscale::spt
