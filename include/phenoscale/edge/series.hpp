// Protrusion velocity series of one probing window: gap filling, the smoothing
// spline of the cumulative displacement, protrusion onset detection and the
// alignment of protrusion events at their onset (DeepHACKS, Ma et al. 2024,
// §"Time series data generation" and Fig. 1a.3-4; docs/methods.md §3.1).
//
// Conventions used throughout:
//  - velocity[t] (nm/s) is the edge motion during frame t, i.e. between the
//    edge at frame t and the edge at frame t+1; frame_s is the frame interval.
//  - The edge position at the frame boundaries is b[0] = 0 and
//    b[t+1] = frame_s * Σ_{i<=t} velocity[i]; cumulative_displacement returns
//    b[1..n] (the position *after* each frame).
//  - A protrusion event [onset, end) is a half-open range of frames: onset is
//    the first frame of forward motion after a retraction, end the first frame
//    after the protrusion (the retraction onset) or the series length.
#pragma once

#include <cstddef>
#include <vector>

namespace phenoscale::edge {

// Fills interior NaN in place: a NaN with a non-NaN somewhere before and after
// it becomes the mean of the original (unfilled) non-NaN values within
// ±half_width frames; when that window holds none, it is linearly
// interpolated between the nearest non-NaN neighbours. Leading and trailing
// NaN runs are left alone (nothing to anchor them). Returns the number of
// values filled. ConfigError when half_width < 0.
std::size_t fill_gaps(std::vector<double>& v, int half_width = 4);

// The blocks a movie is cut into before onset detection (movies are cut into
// blocks of 200 frames, docs/methods.md §3.1): block b holds frames
// [b·block_frames, (b+1)·block_frames) of a movie of `frames` frames, and so
// the motions between its consecutive frames, velocity[t] for t in
// [b·block_frames, min((b+1)·block_frames, frames) − 1). The motion into a
// block's first frame crosses the cut and belongs to no block: every block is
// analysed as a movie of its own, and an event ends at its block's end.
// block_frames = 0: one block, the whole movie. A last block of one frame
// holds no motion and is left out. ConfigError when block_frames is negative
// or 1; InputError when frames < 0.
struct FrameRange {
  int begin = 0;  // first velocity index of the block
  int end = 0;    // one past its last
};
std::vector<FrameRange> velocity_blocks(int frames, int block_frames);

// d[t] = frame_s * Σ_{i<=t} velocity[i]: the edge position after frame t
// relative to its position before frame 0 (so d[0] = frame_s * velocity[0]
// and the velocity is recovered exactly by d[0]/frame_s, (d[t]-d[t-1])/frame_s).
// NaN propagates. ConfigError unless frame_s > 0.
std::vector<double> cumulative_displacement(const std::vector<double>& velocity, double frame_s);

// Cubic smoothing spline of unit-spaced samples y (MATLAB csaps convention):
// the natural cubic spline f minimising
//     p Σ_i (y_i − f(i))² + (1 − p) ∫ f''(t)² dt,   p = smoothing ∈ (0, 1],
// evaluated at the samples. p = 1 interpolates; every p reproduces a
// straight line. Reinsch's algorithm: (R + λ QᵀQ) γ = Qᵀy with λ = (1−p)/p,
// f = y − λ Q γ, one banded (pentadiagonal) LDLᵀ solve, O(n).
// Series of fewer than 3 samples are returned unchanged.
// ConfigError unless 0 < p ≤ 1; InputError on non-finite samples.
std::vector<double> smoothing_spline(const std::vector<double>& y, double smoothing);

struct OnsetOptions {
  int min_separation = 10;      // frames between kept maxima of the displacement
  double rise_threshold = 20.0;  // nm of (smoothed) displacement
  double smoothing = 0.1;        // csaps p of the displacement spline
  double frame_s = 5.0;          // frame interval (s)
};

struct ProtrusionEvent {
  int onset = 0;  // first protruding frame
  int end = 0;    // exclusive: the next retraction onset (next maximum) or the series end
};

// Protrusion onsets of one velocity block (DeepHACKS §Methods; docs/methods.md §3.1).
//
// Each run of finite velocities is analysed on its own (NaN splits a series
// into independent blocks; runs shorter than 3 frames are ignored):
//  1. b = edge position at the frame boundaries (see above, b[0] = 0),
//     s = smoothing_spline(b, o.smoothing); boundary index k of s is frame k.
//  2. Local maxima of s at interior boundaries (plateaus count once, at their
//     first index). Maxima closer than min_separation boundaries are thinned
//     like MATLAB findpeaks(MinPeakDistance): in order of decreasing height a
//     maximum is kept and every other one within min_separation − 1 of it is
//     dropped, so the larger one survives.
//  3. Retraction onsets only: a kept maximum whose fall to the lowest point
//     before the next anchor, or whose rise from the lowest point since the
//     previous anchor, is at most rise_threshold is dropped (smallest first,
//     repeated): noise-made maxima inside a protrusion neither end the event
//     nor hide its onset.
//  4. Anchors: the block start, the remaining maxima, the block end. Between two
//     consecutive anchors a < b, m = the first argmin of s over [a, b]. m is
//     an onset when a < m < b and
//        s[b] − s[m] > rise_threshold                 (rise to the next maximum,
//                                                      or to the block end value), and
//        s[a] − s[m] > rise_threshold unless a is the block start
//                                                     (rise to the previous maximum).
//     The event is [m, b): it ends at the next maximum (first frame of the
//     following retraction) or at the block end.
//  A minimum at the block start itself (m == a == start) is not reported
//  even when the rise after it is large: the edge was already protruding when
//  the block began, so the onset lies before the block and was not observed.
// Returns events sorted by onset, in frame indices of `velocity`.
// ConfigError on min_separation < 1, rise_threshold < 0, smoothing outside
// (0, 1] or frame_s ≤ 0.
std::vector<ProtrusionEvent> detect_onsets(const std::vector<double>& velocity, const OnsetOptions& o = {});

struct AlignOptions {
  int before = 5;      // frames kept before the onset
  int after = 50;      // frames kept after the onset (full sample: before + after + 1 = 56)
  int min_frames = 17;  // shortest sample kept, counting the `before` frames
};

struct AlignedSample {
  int onset = 0;                  // onset frame in the source series
  int first = 0;                  // source frame of velocity[0] (= onset − before)
  std::vector<double> velocity;   // velocity[before] is the onset frame
};

// Cuts every event into a sample aligned at its onset (the temporal fiducial
// of DeepHACKS Fig. 1a.3-4): velocity[onset − before, min(end, onset + after + 1)).
// Events whose onset < before, whose sample has fewer than min_frames
// frames, or whose sample contains NaN are skipped; *skipped (when given) is
// set to their count. InputError on an event outside the series or with
// end ≤ onset; ConfigError on before < 0, after < 0 or min_frames < 1.
std::vector<AlignedSample> align_events(const std::vector<double>& velocity,
                                        const std::vector<ProtrusionEvent>& events, const AlignOptions& o = {},
                                        std::size_t* skipped = nullptr);

}  // namespace phenoscale::edge
