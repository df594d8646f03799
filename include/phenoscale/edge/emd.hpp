// Empirical mode decomposition and the EMD denoising of protrusion velocity
// series (DeepHACKS, Ma et al. 2024, "we denoised the time series velocity
// profile using Empirical Mode Decomposition"; docs/methods.md §3.1).
//
// EMD (Huang et al. 1998) splits a signal into intrinsic mode functions
// (IMFs, fastest first) and a residue by sifting: subtract the mean of the
// upper and lower envelopes until the mean is negligible against the
// envelope amplitude. The stop rule is Rilling, Flandrin & Gonçalves 2003
// ("On empirical mode decomposition and its algorithms"): with
// σ(t) = |mean(t)| / amplitude(t), sifting stops when σ ≤ sd1 on all but a
// fraction `tolerance` of the samples and σ ≤ sd2 everywhere, and the numbers
// of extrema and zero crossings differ by at most one.
//
// The denoiser integrates the velocity to a displacement, decomposes it,
// estimates a Hurst-type exponent for every IMF and drops the IMFs that
// behave like noise (H below a threshold) before differentiating back.
#pragma once

#include <string>
#include <vector>

namespace phenoscale::edge {

struct EmdOptions {
  double sd1 = 0.05;       // Rilling's θ1: σ threshold on most of the samples
  double sd2 = 0.5;        // Rilling's θ2: σ threshold everywhere
  double tolerance = 0.05;  // Rilling's α: fraction of samples allowed above sd1
  int max_sifts = 2000;    // sifting iterations per IMF
  int max_imfs = 10;
};

struct EmdResult {
  std::vector<std::vector<double>> imfs;  // fastest first
  std::vector<double> residue;            // x − Σ imfs
  int sifts = 0;                          // sifting iterations, all IMFs together
  std::vector<int> sifts_per_imf;         // each ≤ EmdOptions::max_sifts
};

// Throws ConfigError "<what>: expected 0 < sd1 <= sd2 and a tolerance in
// [0, 1] ..." (or max_sifts, max_imfs >= 1) for options emd() cannot run
// with; `what` names where they came from (the deck key for the CLI).
void check_options(const EmdOptions& o, const std::string& what);

// EMD of x (uniform sampling).
//  - Extrema: strict local maxima/minima; a plateau counts once at its middle.
//  - Envelopes: natural cubic splines through the maxima (minima). At each
//    end the signal is mirrored about its end sample (even extension): the
//    two extrema nearest the end are reflected to the other side, and the end
//    sample itself joins the maxima when it is above its neighbour, the
//    minima when below — so the envelopes are interpolated, not extrapolated,
//    over the whole series.
//  - Decomposition stops after max_imfs IMFs or when the residue has fewer
//    than 3 extrema (monotonic, or a single hump).
// Σ imfs + residue reproduces x up to rounding. InputError on non-finite x;
// ConfigError on sd1 ≤ 0, sd2 < sd1, tolerance outside [0, 1],
// max_sifts < 1 or max_imfs < 1.
EmdResult emd(const std::vector<double>& x, const EmdOptions& o = {});

// Hurst-type exponent by dyadic aggregation: for bin sizes m = 1, 2, 4, ...
// while the series holds at least 4 whole bins, s(m) = the standard
// deviation (n − 1 denominator) of the means of the non-overlapping bins
// (a trailing partial bin is dropped); H is the least-squares slope of
// log(m · s(m)) against log m. White noise gives 0.5, a random walk 1, a
// fast oscillation (period ≪ bins) close to 0. NaN when fewer than two bin
// sizes fit (n < 8) or some s(m) is 0. InputError on non-finite x.
double hurst_exponent(const std::vector<double>& x);

struct DenoiseResult {
  std::vector<double> velocity;  // same length as the input
  int imfs = 0;                  // IMFs of the displacement
  int removed = 0;               // IMFs dropped as noise
  std::vector<double> hurst;     // exponent of each IMF (NaN: not estimable, kept)
};

// EMD denoising of one velocity series (docs/methods.md §3.1):
// d = cumulative_displacement(velocity, frame_s); emd(d); every IMF with
// H < hurst_threshold is subtracted from d — all of them, not only the leading
// run of noisy IMFs as in the paper's reference code; the denoised velocity is
// d'[0]/frame_s, (d'[t] − d'[t−1])/frame_s, so with nothing removed the input
// is recovered up to rounding.
// InputError on non-finite velocity; ConfigError on frame_s ≤ 0 (and the
// EmdOptions checks). An empty series gives an empty result.
DenoiseResult denoise_velocity(const std::vector<double>& velocity, double frame_s, double hurst_threshold = 0.33,
                               const EmdOptions& o = {});

}  // namespace phenoscale::edge
