// Simulated single-particle trajectories: the training and test data of the
// DeepSPT segmentation network — DeepSPT (Kæstel-Hansen, ... Hatzakis 2024),
// docs/methods.md §2.1 — plus the AnDi-2021 out-of-distribution models
// (spt/andi.hpp).
//
// A DeepSPT track has N frames (N uniform in [min_length, max_length)), one
// diffusion coefficient D (log-uniform) and one localisation quality Q
// (uniform), and either one motion type (single_mode_fraction of the tracks) or
// k ∈ {2, 3, 4} segments of types 0 normal, 1 directed, 2 confined,
// 3 subdiffusive (spt/track.hpp). Each segment continues from where the
// previous one ended. Rules the paper leaves open, as decided here:
//  - "consecutive repeats removed": each type after the first is uniform among
//    the three others (the law of redrawing until it differs), so a switching
//    track has exactly k segments and k − 1 changepoints;
//  - segment lengths: min_segment each plus the surplus N − k·min_segment cut
//    at k − 1 uniform points; if N < k·min_segment, k is lowered until the
//    segments fit (to 1 — a single-mode track — when N < 2·min_segment);
//  - every segment draws its own parameters (drift v and direction, ellipsoid,
//    α); D and Q belong to the track;
//  - subdiffusive α = 0 is simulated at H = kMinHurst (spt/fgn.hpp).
// The observed positions are the true ones plus Gaussian localisation noise
// σ = sqrt(D dt)/Q per axis and frame (frames of a directed segment:
// sqrt(D dt + v² dt²)/Q with that segment's v); the per-frame states are the
// segment types.
//
// Labelled populations (`populations` > 0; the test data of `spt classify`,
// docs/methods.md §2.1): track i belongs to population i mod P and to
// experiment (i / P) mod E (so every experiment holds every population
// equally), and population p's tracks spend the share population_weights[p][m]
// (normalised) of their frames in mode m — the largest-remainder rounding of
// the shares to whole frames. Each mode's frames are cut into pieces of about
// population_segment_frames (at least min_segment frames each where they
// fit) at uniform cut points, and all pieces are put in a uniformly random
// order; consecutive pieces may share a mode, each still drawing its own
// parameters. N, D and Q are drawn as for every DeepSPT track;
// single_mode_fraction does not apply. Why shares and not a mode drawn per
// segment: a per-segment draw makes each track's mixture a binomial sample
// of a few segments, so two populations with shares 60/40 and 40/60 overlap
// almost entirely track by track; with shares the populations differ in
// their mixture, and only there, in every track.
//
// Reproducibility: every random number of track i comes from one
// core::Rng(seed, Stream::spt_simulation, i), so simulate_track(o, seed, i) is
// the same on every rank, in every order and at every rank count. The track's
// layout (length, types, segment lengths, D, Q and every segment parameter) is
// drawn first, before any path, so changing e.g. `substeps` changes paths but
// not layouts.
//
// Position convention: a segment of `frames` frames started at x0 returns the
// positions after 1, 2, …, frames steps (x0 itself is not a frame). A track
// starts from the origin; segment s+1 starts at the last true position of s.
#pragma once

#include <array>
#include <cstdint>
#include <string>
#include <vector>

#include "phenoscale/core/rng.hpp"
#include "phenoscale/spt/track.hpp"

namespace phenoscale::spt {

// Every bound of docs/methods.md §2.1, as an option. Lengths are frames; D is in
// length²/time (for the subdiffusive class the generalised coefficient in
// length²/time^α); dt in time units.
struct SimulationOptions {
  int dim = 2;                        // 2 or 3
  double dt = 1.0;                    // frame interval
  double d_min = 1e-4, d_max = 0.5;   // D log-uniform in [d_min, d_max]
  std::int64_t min_length = 5;        // N uniform integer in [min_length, max_length)
  std::int64_t max_length = 600;      // exclusive
  double single_mode_fraction = 0.2;  // fraction of tracks with one motion type
  std::int64_t min_segment = 5;       // frames per segment of a switching track, at least
  double q_min = 1.0, q_max = 16.0;   // Q uniform in [q_min, q_max]
  double r_min = 5.0, r_max = 25.0;   // directed: R uniform, v = sqrt(4 D R / T)
  double axis_min = 0.025, axis_max = 0.125;  // confined: semi-axes uniform in [axis_min, axis_max]
  int substeps = 100;                 // confined: Brownian substeps per frame
  double alpha_min = 0.0, alpha_max = 0.7;    // subdiffusive: α uniform, H = α/2 (≥ kMinHurst)
  std::string model = "deepspt";      // or "andi:attm", "andi:ctrw", "andi:fbm", "andi:lw", "andi:sbm"
  // Labelled populations (see above); 0: off, every track is a DeepSPT track.
  std::int64_t populations = 0;
  std::vector<std::array<double, kStates>> population_weights;  // per population: share of frames per mode
  std::int64_t population_segment_frames = 25;                   // frames per piece of a mode, about
  std::int64_t experiments = 1;                                  // experiment labels 0..E-1
};

// The accepted values of SimulationOptions::model.
const std::vector<std::string>& simulation_models();

// Throws ConfigError naming the first invalid option ("simulate.<field> = <value>:
// expected ...").
void validate(const SimulationOptions& options);

// A randomly oriented ellipse (dim 2) or ellipsoid (dim 3).
struct Ellipsoid {
  int dim = 2;
  std::array<double, 3> centre{};
  std::array<double, 3> semi_axes{};
  // Row r (axes[3r .. 3r+dim)) is the unit vector of principal axis r; rows are orthonormal.
  std::array<double, 9> axes{1, 0, 0, 0, 1, 0, 0, 0, 1};

  // Σ_r ((x − centre)·axis_r / semi_axis_r)² ≤ 1 for the dim coordinates at x.
  bool contains(const double* x) const;
};

// The parameters of one segment, drawn with the track's layout.
struct SegmentParameters {
  DiffusionState state = normal;
  double velocity = 0.0;              // directed: v (length/time)
  std::array<double, 3> direction{};  // directed: unit vector
  Ellipsoid ellipsoid;                // confined: shape and orientation; centre = segment start
  double alpha = 1.0;                 // subdiffusive (and AnDi tracks): anomalous exponent α
};

struct Segment {
  std::int64_t begin = 0;   // first frame
  std::int64_t frames = 0;
  SegmentParameters parameters;
  double noise_sd = 0.0;    // localisation σ per axis of its frames
};

// A track with everything the simulator knows about it.
struct SimulatedTrack {
  Track track;                     // observed positions (true + noise), states, D, Q
  std::vector<double> true_xyz;    // noise-free positions, frames × dim
  std::vector<Segment> segments;   // in frame order; one for single-mode and AnDi tracks
  double andi_alpha = 0.0;         // AnDi models: the anomalous exponent (0 for deepspt)
  std::int64_t population = -1;    // with populations: population_of(options, index)
};

// The population (0..P-1) and experiment (0..E-1) of the track with stream
// index `index`; -1 for both when options.populations is 0.
std::int64_t population_of(const SimulationOptions& options, std::uint64_t index);
std::int64_t experiment_of(const SimulationOptions& options, std::uint64_t index);

// Frames per mode of an N-frame track with these mode weights: the shares
// weights / Σ weights of N, rounded by largest remainder (ties to the lower
// mode), so they sum to N exactly.
std::array<std::int64_t, kStates> mode_frame_shares(const std::array<double, kStates>& weights, std::int64_t frames);

// Track `index` of the data set `seed`: options.model decides DeepSPT or AnDi.
// Validates the options.
SimulatedTrack simulate_track_detailed(const SimulationOptions& options, std::uint64_t seed,
                                       std::uint64_t index);
Track simulate_track(const SimulationOptions& options, std::uint64_t seed, std::uint64_t index);

// Tracks first, first+1, …, first+count−1 (a rank's share of a data set).
std::vector<Track> simulate_tracks(const SimulationOptions& options, std::uint64_t seed,
                                   std::uint64_t first, std::uint64_t count);

// ---- single-mode building blocks (no localisation noise) -------------------
// Each returns frames × dim positions continuing from `start` (dim values).

// Brownian motion: steps N(0, 2 D dt) per axis.
std::vector<double> simulate_normal(int dim, std::int64_t frames, double D, double dt,
                                    const double* start, core::Rng& rng);

// Brownian motion plus the drift velocity·dt·direction per frame.
std::vector<double> simulate_directed(int dim, std::int64_t frames, double D, double dt, double velocity,
                                      const std::array<double, 3>& direction, const double* start,
                                      core::Rng& rng);

// Brownian motion inside `ellipsoid`, `substeps` substeps per frame with std
// sqrt(2 D dt / substeps) per axis; a substep that would leave the ellipsoid
// is rejected (the particle stays put for it). `start` must lie inside.
std::vector<double> simulate_confined(const Ellipsoid& ellipsoid, std::int64_t frames, double D, double dt,
                                      int substeps, const double* start, core::Rng& rng);

// Fractional Brownian motion (the subdiffusive class; also AnDi FBM) with
// H = α/2, α in [0, 2), H clamped to ≥ kMinHurst: per axis, unit fGn
// (Davies–Harte) scaled by sqrt(2 D) dt^H, so that its displacement variance
// over a lag of t frames is 2 D (t dt)^α.
std::vector<double> simulate_fbm(int dim, std::int64_t frames, double D, double dt, double alpha,
                                 const double* start, core::Rng& rng);

// Dispatch on parameters.state (the confined ellipsoid is used as given).
std::vector<double> simulate_mode(const SegmentParameters& parameters, int dim, std::int64_t frames, double D,
                                  double dt, int substeps, const double* start, core::Rng& rng);

// ---- random geometry --------------------------------------------------------

// Uniform on the unit circle (dim 2) or sphere (dim 3).
std::array<double, 3> random_direction(int dim, core::Rng& rng);

// Semi-axes uniform in [axis_min, axis_max], orientation uniform (a random
// angle in 2D, a Haar-random rotation in 3D), centred at the origin.
Ellipsoid random_ellipsoid(int dim, double axis_min, double axis_max, core::Rng& rng);

// Log-uniform in [lo, hi].
double log_uniform(double lo, double hi, core::Rng& rng);

// `k` segment lengths, each ≥ min_segment, summing to `total` (requires
// total ≥ k·min_segment): the surplus is cut at k−1 uniform points.
std::vector<std::int64_t> random_segment_lengths(std::int64_t total, int k, std::int64_t min_segment,
                                                 core::Rng& rng);

}  // namespace phenoscale::spt
