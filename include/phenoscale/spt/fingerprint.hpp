// Per-track "fingerprint" features of DeepSPT (Kæstel-Hansen et al. 2024;
// docs/methods.md §2.3): ≈40 numbers summarising how a particle moved, the input
// of the downstream classifiers (§2.4). The same function applied to a
// sub-range of frames (track_segment) fingerprints one segment of a
// segmentation.
//
// Notation: N frames x_0..x_{N−1} in dim = 2 or 3 dimensions, frame interval
// dt; steps s_t = |x_{t+1} − x_t| (N − 1 of them); displacements
// d_t = x_{t+1} − x_t; MSD lags 1..L with L = max(2, ⌊N/2⌋) (Kæstel-Hansen et al. 2024: "lags
// 1..N/2"; two lags at least so that a 3-frame track has a slope);
// d_max = largest distance between any two positions; P = Σ s_t, the path
// length. Columns, in order (LD = length-dependent, see below):
//
//  msd_alpha, msd_diffusion, msd_fit_r2   log–log fit of MSD = 2·dim·D·t^α on
//                                         lags 1..L (spt/msd.hpp; R² in log space)
//  efficiency_log     ln(|x_{N−1} − x_0|² / ((N − 1) Σ s_t²))
//  efficiency         the plain ratio inside that logarithm (1 for a straight line)
//  fractal_dimension  ln n / (ln n + ln(d_max / P)) with n = N − 1 steps
//                     (Katz & George 1985: n counts steps; 1 for a straight
//                     line, ≈ 2 for Brownian motion)
//  gaussianity        dim·⟨r⁴⟩ / ((dim + 2)·⟨r²⟩²) over lag-1 displacements r:
//                     DeepSPT's ⟨r⁴⟩/(2⟨r²⟩²) in 2-D, generalised so that
//                     Gaussian displacements give 1 in any dimension
//                     (⟨r⁴⟩/⟨r²⟩² = (dim + 2)/dim for them)
//  kurtosis           Pearson kurtosis m4/m2² (3 for a Gaussian, not excess) of
//                     the positions projected on the dominant eigenvector of
//                     their covariance
//  msd_ratio          mean over lag pairs 1 ≤ n1 < n2 ≤ L of
//                     MSD(n1)/MSD(n2) − n1/n2 (0 Brownian, > 0 confined,
//                     < 0 directed)
//  trappedness        1 − exp(0.2045 − 0.25117·D·N·dt / r0²), D = msd_diffusion,
//                     r0 = d_max / 2 (Saxton 1993's probability of being
//                     trapped, with DeepSPT's N for the duration; negative
//                     values mean "clearly not trapped")
//  hmm_fraction_0..3  4-state Gaussian HMM on the step lengths (spt/hmm.hpp,
//                     states by ascending mean): fraction of steps in each
//                     Viterbi state
//  hmm_dwell_0..3     mean length of the Viterbi runs of each state, × dt
//                     (0 for a state never visited, or absent because the
//                     track has fewer than 4 distinct step lengths)
//  mean_step          ⟨s⟩
//  mean_msd      LD   mean of MSD(1..L)
//  mean_dot           mean of d_t·d_{t+1} (N − 2 values)
//  fraction_same_sign_dots   fraction of consecutive pairs (d_t·d_{t+1},
//                     d_{t+1}·d_{t+2}) with equal sign (needs N ≥ 4)
//  fraction_positive_dots    fraction of d_t·d_{t+1} > 0
//  step_sum      LD   P;  step_min, step_max, step_range (max − min)
//  speed              ⟨s⟩ / dt
//  step_cv            standard deviation / mean of s (population s.d.)
//  fraction_small_steps, fraction_large_steps   s < small_step (0.1), s > large_step (0.4)
//  hull_measure  LD   convex hull area (2-D) or volume (3-D) (spt/convex_hull.hpp)
//  frames        LD   N
//  instant_diffusion  MSD(1) / (2·dim·dt)
//  seg_fraction_normal, _directed, _confined, _subdiffusive   fraction of frames per class
//  seg_segments  LD   number of runs of equal state
//  seg_switch_rate    (seg_segments − 1) / (N − 1): changes per frame transition
//  seg_distinct_states  number of classes present
//  seg_longest_run_fraction  longest run / N
//
// Undefined values are NaN: every column but `frames` and the seg_* ones for
// tracks of fewer than 3 frames; seg_* without a segmentation (states null);
// ratios whose denominator vanishes (a motionless track: efficiency,
// gaussianity, kurtosis, step_cv, ...; efficiency_log also when the track ends
// where it started); fraction_same_sign_dots for N = 3.
//
// Length-dependent columns (fingerprint_length_dependent): values that grow
// with the number of frames for one and the same motion — docs/methods.md §2.3 drops
// them for classification so that classes are not told apart by track length.
//
// Deterministic: no feature draws random numbers (the HMM starts from a
// quantile k-means), so the result depends on the track alone. `seed` and the
// global track `index` are part of the signature so that callers key every
// track by its global index already, and a stochastic feature can be added
// later as core::Rng(seed, <stream>, index) without an API change.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "phenoscale/spt/hmm.hpp"
#include "phenoscale/spt/track.hpp"

namespace phenoscale::spt {

constexpr int kFingerprintHmmStates = 4;

struct FingerprintOptions {
  double dt = 1.0;
  double small_step = 0.1;   // fraction_small_steps threshold (position units)
  double large_step = 0.4;   // fraction_large_steps threshold
  HmmOptions hmm = {};       // states must stay kFingerprintHmmStates (fixed columns)
};

// Column names, in the order fingerprint() returns values.
std::vector<std::string> fingerprint_columns();

// true for the columns that depend on track length (drop for classification).
std::vector<bool> fingerprint_length_dependent();

// The fingerprint of one track (or segment). `states` is null or points to
// track.frames per-frame states in 0..3. Throws InputError on a dim other than
// 2/3, non-finite coordinates or out-of-range states; ConfigError on bad options.
std::vector<double> fingerprint(const TrackView& track, const std::int64_t* states, const FingerprintOptions& options,
                                std::uint64_t seed, std::uint64_t index);

// Frames [begin, end) of a track as a track of its own (for segment fingerprints).
// Throws InputError unless 0 ≤ begin ≤ end ≤ track.frames.
TrackView track_segment(const TrackView& track, std::int64_t begin, std::int64_t end);

}  // namespace phenoscale::spt
