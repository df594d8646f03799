// Features of the ACF-based pre-clustering ("teacher") of protrusion velocity
// series (DeepHACKS, Ma et al. 2024, §Methods "Unsupervised Learning Using ACF
// feature" and Fig. 1a.5, 1b.7-8; docs/methods.md §3.2):
//  - series of similar length are pooled and the shorter ones padded with
//    Gaussian noise to the pool's longest length, so that series within a
//    pool can be compared;
//  - each series is z-normalised, reduced to a SAX word (Lin et al. 2003:
//    piecewise aggregate approximation, then equiprobable Gaussian
//    breakpoints) and described by the autocorrelation of its symbols.
#pragma once

#include <cstddef>
#include <vector>

#include "phenoscale/core/rng.hpp"

namespace phenoscale::edge {

// (x − mean) / std with the population std (n denominator); a constant
// series (std 0) gives all zeros. InputError on non-finite values.
std::vector<double> z_normalise(const std::vector<double>& x);

// The alphabet − 1 SAX breakpoints: standard-normal quantiles at
// k / alphabet, k = 1..alphabet−1 (alphabet 4: −0.6745, 0, 0.6745).
// ConfigError unless alphabet >= 2.
std::vector<double> sax_breakpoints(int alphabet);

// SAX word of a z-normalised series: the means of consecutive blocks of
// frames_per_symbol values (a last partial block is the mean of what is
// there), each mapped to the number of breakpoints ≤ the mean (symbols
// 0..alphabet−1; a mean exactly on a breakpoint takes the upper symbol).
// ConfigError on frames_per_symbol < 1 or alphabet < 2; InputError on
// non-finite values.
std::vector<int> sax(const std::vector<double>& z, int frames_per_symbol = 4, int alphabet = 4);

// Sample autocorrelation at lags 1..max_lag (statsmodels acf default, biased):
// r_k = Σ_{t<n−k} (x_t − m)(x_{t+k} − m) / Σ_t (x_t − m)². Lags ≥ n give 0; a
// constant series gives all zeros. ConfigError on max_lag < 1; InputError on
// non-finite values.
std::vector<double> acf(const std::vector<double>& x, int max_lag = 13);

// The teacher feature of one velocity series: acf(sax(z_normalise(v))) with
// the symbols taken as numbers.
std::vector<double> sax_acf(const std::vector<double>& velocity, int frames_per_symbol = 4, int alphabet = 4,
                            int max_lag = 13);

struct LengthPools {
  std::vector<int> pool;           // per series: its pool id (0 = the pool of the shortest lengths)
  std::vector<int> target_length;  // per series: the longest length in its pool
};

// The number of SAX symbols of a series of `frames` frames: ⌈frames / frames_per_symbol⌉.
std::size_t symbol_count(std::size_t frames, int frames_per_symbol = 4);

// Sets the lags an ACF of `symbols` symbols does not have (lag ≥ symbols) to
// NaN: missing, for the teacher's partial distances (ml::Distance::nan_euclidean),
// instead of acf()'s 0.
void mark_undefined_lags(std::vector<double>& acf_lags_from_1, std::size_t symbols);

// Groups series lengths that differ by at most `tolerance` frames (the paper:
// 6 frames = 30 s). Over the sorted distinct lengths, greedily: a pool starts
// at the shortest length L not yet pooled and takes every length ≤ L + tolerance.
// InputError on a negative length; ConfigError on tolerance < 0.
LengthPools pool_lengths(const std::vector<int>& lengths, int tolerance = 6);

// x followed by target_length − x.size() draws of N(μ, σ²), μ and σ the mean
// and population std of the last `tail` values of x (all of x when shorter;
// σ = 0 is allowed and pads with μ). The draws come from rng in order.
// InputError on an empty x, non-finite values or target_length < x.size();
// ConfigError on tail < 1.
std::vector<double> pad_with_noise(const std::vector<double>& x, int target_length, core::Rng& rng, int tail = 6);

}  // namespace phenoscale::edge
