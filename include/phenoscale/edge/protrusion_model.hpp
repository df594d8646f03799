// Planted protrusion velocity series of one probing window: the ground truth
// behind the simulated cell movies of the edge pipeline (DeepHACKS, Ma et al.
// 2024, §2 "cluster signatures" and Fig. 2; docs/methods.md §3).
//
// A window's edge alternates between retraction phases and protrusion events.
// Each event draws one phenotype and follows that phenotype's mean velocity
// profile (nm/s; t = frames since the onset), scaled by one amplitude factor
// per event. The profiles are chosen to reproduce the paper's cluster
// signatures (typical denoised velocities: median ≈ 1.2 nm/s, events 17–56+
// frames at 5 s per frame):
//   steady          0.8                                   flat ≈ 0.8
//   bursting        0.4 + 2.3·exp(−((t − 20)/6)²)         peak ≈ 2.7 at +20, then falls
//   periodic        1.2 + 1.0·sin(2π t / P), P ∈ [18, 28]  ACF peak at 18–28 frames (90–140 s)
//   accelerating    0.3 + 2.7·min(t/42, 1)^1.5            rises to ≈ 3.0 by +42
//   bursting_early  0.4 + 3.0·exp(−((t − 10)/5)²)         rare early burst at +10 (sub-phenotype of II:
//                                                         a burst like II's, ten frames sooner)
// Every profile stays > 0, so without noise the edge advances monotonically
// through an event and retreats through a retraction: every onset is a strict
// minimum of the cumulative displacement.
//
// Onset convention: an event's onset is the index of its first protrusion
// velocity sample, so the displacement accumulated before sample t,
// d[t] = Σ_{s<t} velocity[s] (the boundary positions b of edge/series.hpp), is
// minimal at the onset — the minimum edge/series.hpp's detect_onsets looks for.
// How samples map to movie frames is the movie's business (edge/movie.hpp:
// sample t moves the edge from frame t − 1 to frame t, as in the velocity map).
#pragma once

#include <vector>

#include "phenoscale/core/rng.hpp"
#include "phenoscale/edge/phenotype.hpp"

namespace phenoscale::edge {

// Periods of the periodic phenotype are drawn uniformly from this range (frames).
inline constexpr double kMinPeriodFrames = 18.0;
inline constexpr double kMaxPeriodFrames = 28.0;

// The mean velocity profile (nm/s) of phenotype p, t_frames after the onset
// (t < 0 is treated as 0). period_frames is used by periodic only and must be
// > 0 there (ConfigError).
double event_velocity(Phenotype p, double t_frames, double period_frames);

struct ProtrusionModel {
  double frame_s = 5.0;                         // frame interval, s (paper: 5 s)
  int frames = 200;                             // frames per series (paper: 200-frame blocks)
  int min_event = 30, max_event = 56;           // protrusion event length, frames, uniform inclusive
  int min_retraction = 6, max_retraction = 12;  // retraction phase length, frames, uniform inclusive
  double retraction_velocity = 2.0;             // nm/s; a phase retracts at −this × U[0.75, 1.25]
  double amplitude_jitter = 0.2;                // j: each event's profile × U[1 − j, 1 + j]
  double velocity_scale = 1.0;                  // every profile and the retraction velocity × this
  double noise_sd = 0.3;                        // stationary sd of the AR(1) velocity noise, nm/s
  double noise_phi = 0.5;                       // lag-1 coefficient of the AR(1) noise
};

// One planted drug effect: `delta` added to one phenotype's event proportion
// (DeepHACKS' contrasts, e.g. "+10 points of accelerating protrusions").
struct ProportionEffect {
  Phenotype phenotype = Phenotype::steady;
  double delta = 0.0;
};

// A condition's event proportions: `base` (kPhenotypes values) with every
// effect's delta added to its phenotype (deltas on one phenotype add up) and
// the phenotypes no effect names rescaled together so that the proportions
// sum as before. Applied jointly, so each named phenotype moves by exactly its
// delta; applied one after another, a second effect's rescaling would shrink
// the first one's (+0.10 accelerating, then +0.05 early bursts, gave
// accelerating +0.084). Values are not validated here: a delta can make one
// negative (the caller reports it); when every phenotype is named nothing is
// rescaled.
std::vector<double> apply_effects(std::vector<double> base, const std::vector<ProportionEffect>& effects);

// Throws ConfigError naming the first invalid field ("protrusion.<field> = <value>: expected ...").
void validate(const ProtrusionModel& m);

struct PlantedEvent {
  int onset = 0;  // first frame of the event
  int end = 0;    // one past its last frame: the next retraction onset, or the series length
  Phenotype phenotype = Phenotype::steady;
  double period = 0.0;  // periodic: P in frames; 0 otherwise
};

struct PlantedSeries {
  std::vector<double> velocity;      // nm/s, one per frame (mean profiles + AR(1) noise)
  std::vector<PlantedEvent> events;  // in frame order; the last may be cut by the series end
};

// One window's series of m.frames frames. It starts inside a retraction phase
// (a full phase length drawn, then a uniform remaining part of it), so onsets
// are not aligned across windows, and then alternates events and retractions
// until the series is full. Each event's phenotype is drawn with the weights
// `proportions` (kPhenotypes values ≥ 0 in Phenotype order, summing to 1 within
// 1e-6; ConfigError otherwise). The AR(1) noise starts in its stationary law.
PlantedSeries simulate_window_series(const ProtrusionModel& m, const std::vector<double>& proportions, core::Rng& rng);

}  // namespace phenoscale::edge
