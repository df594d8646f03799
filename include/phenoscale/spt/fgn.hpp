// Exact fractional Gaussian noise (fGn) by circulant embedding — the
// Davies–Harte method (R. B. Davies & D. S. Harte, "Tests for Hurst effect",
// Biometrika 74:95–101, 1987; see also Dietrich & Newsam 1997).
//
// The subdiffusive class of the DeepSPT simulator (docs/methods.md §2.1) and the
// AnDi FBM model are fractional Brownian motion, whose increments are fGn.
// Davies–Harte draws them with exactly the fGn covariance (no truncation or
// spectral approximation) in O(n log n): the Toeplitz covariance of n samples is
// embedded in a circulant matrix of size 2m (m ≥ n a power of two), which the
// DFT diagonalises; for fGn every eigenvalue is ≥ 0 for all H in (0, 1)
// (Craigmile 2003), so the embedding is always valid.
//
// The FFT is our own radix-2 transform rather than FFTW: the sizes are small
// (≤ a few thousand), it keeps no planner state (safe from any thread), and its
// results are bit-identical on every machine, which the rank-independence of
// simulated data relies on.
#pragma once

#include <complex>
#include <cstdint>
#include <vector>

#include "phenoscale/core/rng.hpp"

namespace phenoscale::spt {

// H below this is clamped up to it by the simulators (α = 2H drawn from
// [0, 0.7] can be 0). At H = 0 the fGn formula needs |0|^0 = 0 where pow gives
// 1, the circulant spectrum touches zero, and the fBm "motion" is stationary
// noise whose MSD does not grow; a small positive H is the well-behaved limit.
constexpr double kMinHurst = 0.01;

// γ(k) = ½(|k+1|^{2H} − 2|k|^{2H} + |k−1|^{2H}): the autocovariance of
// unit-variance fGn at lag k (k may be negative; γ(−k) = γ(k)).
double fgn_autocovariance(std::int64_t k, double hurst);

// In-place complex DFT, X_k = Σ_j x_j exp(−2πi jk/n) (no normalisation);
// x.size() must be a power of two.
void fft_radix2(std::vector<std::complex<double>>& x);

// n samples of unit-variance fGn with Hurst exponent `hurst` in (0, 1): their
// cumulative sums are fBm with Var(B(t)) = t^{2H}. Throws ConfigError for
// hurst outside (0, 1) or n < 0. Draws 2·2m normals from `rng`, m the
// power of two ≥ n.
std::vector<double> fgn_davies_harte(std::int64_t n, double hurst, core::Rng& rng);

// `count` independent sequences of the same law (e.g. one per axis): the real
// and imaginary parts of one circulant transform are two independent samples,
// so this costs ⌈count/2⌉ transforms and one eigenvalue computation.
std::vector<std::vector<double>> fgn_davies_harte(std::int64_t n, double hurst, int count, core::Rng& rng);

}  // namespace phenoscale::spt
