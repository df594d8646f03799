// The rolling-MSD baseline segmentation that DeepSPT is compared against
// (Kæstel-Hansen et al. 2024; docs/methods.md §2.4 "Baselines").
//
// Each frame is labelled from the anomalous exponent α of the MSD of a short
// window around it: α ≤ lo → subdiffusive (3), α ≥ hi → directed (1), else
// normal (0). The baseline has no confined class (2 is never returned): it
// exists to show what a per-window power-law fit can and cannot see.
//
// Window of frame t (window length w, default 20): frames
// [t − ⌊w/2⌋, t − ⌊w/2⌋ + w), i.e. ⌊w/2⌋ frames before t and ⌈w/2⌉ − 1 after,
// shifted (not shrunk) to lie inside the track at its ends, so that every
// window has the same length and hence the same estimator noise. A track with
// fewer than w frames is one window: all its frames get the α of the whole
// track. Within a window of n frames the time-averaged MSD is fitted in log–log
// on lags 1..max(2, min(max_lag, n − 1)) (spt/msd.hpp). Frames whose α is undefined
// (tracks of fewer than 3 frames, motionless windows) are labelled normal, the
// "no evidence of anomaly" class.
#pragma once

#include <cstdint>
#include <vector>

#include "phenoscale/spt/track.hpp"

namespace phenoscale::spt {

struct RollingMsdOptions {
  std::int64_t window = 20;  // frames per window (≥ 3)
  // Largest MSD lag fitted in each window. Few short lags keep α's variance low
  // in a 20-frame window (long lags average few, strongly correlated pairs):
  // on 2-D Brownian motion the fraction of frames labelled normal is 0.79 with
  // lags 1..3 or 1..4 but 0.70 with 1..10 (the window's N/2), in 3-D 0.89 vs
  // 0.73. Even so ≈ 20 % of Brownian frames in 2-D fall outside [lo, hi]:
  // that is the baseline's inherent noise on 20 frames.
  std::int64_t max_lag = 4;
  double lo = 0.7;           // α ≤ lo → subdiffusive
  double hi = 1.3;           // α ≥ hi → directed
  double dt = 1.0;
};

// α of the window around each frame (NaN where undefined); frames values.
std::vector<double> rolling_msd_alpha(const TrackView& track, const RollingMsdOptions& options = {});

// Per-frame states (0 normal, 1 directed, 3 subdiffusive); frames values.
// Throws ConfigError on window < 3, max_lag < 1, lo > hi or dt ≤ 0, and
// InputError on a dimensionality other than 2 or 3.
std::vector<std::int64_t> rolling_msd_states(const TrackView& track, const RollingMsdOptions& options = {});

}  // namespace phenoscale::spt
