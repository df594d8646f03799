// Per-frame input of DeepSPT's event-timing network (Kæstel-Hansen et al.
// 2024; docs/methods.md §2.6): features of a
// sliding window around every frame, the per-frame before/after labels a
// bidirectional GRU learns from, and the event time read off its output.
//
// Window of frame t (window length w, default 20), as the rolling-MSD
// baseline places it (spt/rolling_msd.hpp): frames [t − ⌊w/2⌋, t − ⌊w/2⌋ + w),
// shifted (not shrunk) to lie inside the track, so every window has the same
// length; a track of fewer than w frames is one window. With m frames in the
// window, x_b its first and x_e its last position and s_k the m − 1 steps
// inside it, frame t gets kEventFeatureChannels values, all scale-free (the
// same for a track multiplied by any length) and the same count in 2D and 3D:
//   0 log_step_ratio  ln(⟨|s_k|²⟩_window / ⟨|s|²⟩_track): the window's speed
//                     relative to the whole track's (0 for a motionless track;
//                     a motionless window: −10, the floor of the channel)
//   1 alpha           MSD exponent α of the window, log–log fit on lags
//                     1..max(2, min(max_lag, m − 1)) (spt/msd.hpp), clamped to
//                     [−1, 3]; 1 ("no evidence of anomaly") when undefined
//                     (m < 3 or a motionless window)
//   2 mean_cosine     mean over consecutive step pairs in the window of
//                     s_k·s_{k−1} / (|s_k| |s_{k−1}|); pairs with a zero step
//                     are left out; 0 when no pair remains. 1 for a straight
//                     run, ≈ 0 for Brownian motion, < 0 for back-and-forth
//   3 straightness    |x_e − x_b| / Σ|s_k| in [0, 1]; 0 when the path length is 0
//   4 log_step        ln(|x_t − x_{t−1}|² / ⟨|s|²⟩_track), the frame's own
//                     step (no window: it places the switch to the frame),
//                     floored at −10; 0 at t = 0 and for a motionless track
// Computed in double, stored as float32 by append_event_features.
#pragma once

#include <array>
#include <cstdint>
#include <string>
#include <vector>

#include "phenoscale/spt/track.hpp"

namespace phenoscale::spt {

constexpr int kEventFeatureChannels = 5;
inline const std::array<std::string, kEventFeatureChannels>& event_feature_names() {
  static const std::array<std::string, kEventFeatureChannels> names = {"log_step_ratio", "alpha", "mean_cosine",
                                                                        "straightness", "log_step"};
  return names;
}

struct EventFeatureOptions {
  std::int64_t window = 20;  // frames per window (≥ 3)
  std::int64_t max_lag = 4;  // largest MSD lag of the α fit (≥ 1; at least 2 lags are fitted)
};

// frames × kEventFeatureChannels values, row-major. Throws ConfigError on
// window < 3 or max_lag < 1, InputError on a dimensionality other than 2/3.
std::vector<double> event_features(const TrackView& track, const EventFeatureOptions& options = {});

// Appends event_features(track, options) as float32 to `out`.
void append_event_features(const TrackView& track, const EventFeatureOptions& options, std::vector<float>& out);

// Per-frame before/after labels from per-frame states: 0 before the first
// changepoint (the first frame whose state differs from frame 0's), 1 from
// it on. A track without a changepoint is all 0 (no event).
std::vector<std::int64_t> event_labels(const std::int64_t* states, std::int64_t frames);

// Index of the first frame labelled 1 ("after"), or −1 when there is none.
std::int64_t first_after(const std::int64_t* labels, std::int64_t frames);

}  // namespace phenoscale::spt
