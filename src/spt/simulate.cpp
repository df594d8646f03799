#include "phenoscale/spt/simulate.hpp"

#include <algorithm>
#include <cmath>
#include <sstream>

#include "phenoscale/core/error.hpp"
#include "phenoscale/spt/andi.hpp"
#include "phenoscale/spt/fgn.hpp"

namespace phenoscale::spt {

namespace {

constexpr char kDeepSpt[] = "deepspt";
constexpr char kAndiPrefix[] = "andi:";

template <typename T>
[[noreturn]] void bad_option(const char* field, const T& value, const std::string& expected) {
  std::ostringstream msg;
  msg << "simulate." << field << " = " << value << ": expected " << expected;
  throw ConfigError(msg.str());
}

bool is_andi(const std::string& model) { return model.rfind(kAndiPrefix, 0) == 0; }

// Uniform integer in [lo, hi).
std::int64_t uniform_int(std::int64_t lo, std::int64_t hi, core::Rng& rng) {
  return lo + static_cast<std::int64_t>(rng.below(static_cast<std::uint64_t>(hi - lo)));
}

// ---- layout: everything about a track that is not its path -----------------

struct Layout {
  std::int64_t frames = 0;
  double diffusion = 0.0;
  double quality = 0.0;
  std::vector<Segment> segments;
};

std::vector<DiffusionState> random_types(int k, core::Rng& rng) {
  std::vector<DiffusionState> types;
  types.push_back(static_cast<DiffusionState>(rng.below(kStates)));
  // "Consecutive repeats removed": the next type is uniform among the other
  // three — the same law as redrawing a type until it differs from the previous.
  while (static_cast<int>(types.size()) < k) {
    const auto previous = static_cast<std::uint64_t>(types.back());
    types.push_back(static_cast<DiffusionState>((previous + 1 + rng.below(kStates - 1)) % kStates));
  }
  return types;
}

SegmentParameters random_parameters(DiffusionState state, const SimulationOptions& o, double D,
                                    core::Rng& rng) {
  SegmentParameters p;
  p.state = state;
  switch (state) {
    case directed: {
      // v = sqrt(4 D R / T): the drift covers R times the diffusive spread over
      // a time T = N' dt of an independent random track length N'.
      const double R = rng.uniform(o.r_min, o.r_max);
      const double T = static_cast<double>(uniform_int(o.min_length, o.max_length, rng)) * o.dt;
      p.velocity = std::sqrt(4.0 * D * R / T);
      p.direction = random_direction(o.dim, rng);
      break;
    }
    case confined:
      p.ellipsoid = random_ellipsoid(o.dim, o.axis_min, o.axis_max, rng);
      break;
    case subdiffusive:
      p.alpha = rng.uniform(o.alpha_min, o.alpha_max);
      break;
    case normal:
      break;
  }
  return p;
}

double noise_sd(const SegmentParameters& p, double D, double dt, double Q) {
  const double drift = p.state == directed ? p.velocity * dt : 0.0;
  return std::sqrt(D * dt + drift * drift) / Q;
}

Layout deepspt_layout(const SimulationOptions& o, core::Rng& rng) {
  Layout layout;
  layout.frames = uniform_int(o.min_length, o.max_length, rng);
  layout.diffusion = log_uniform(o.d_min, o.d_max, rng);
  layout.quality = rng.uniform(o.q_min, o.q_max);
  const bool single = rng.uniform() < o.single_mode_fraction;
  int k = 1;
  if (!single) {
    k = 2 + static_cast<int>(rng.below(3));
    // A track too short for k segments of min_segment frames gets fewer
    // segments (down to one: then it is single-mode after all).
    while (k > 1 && layout.frames < k * o.min_segment) --k;
  }
  const std::vector<DiffusionState> types = random_types(k, rng);
  const std::vector<std::int64_t> lengths =
      k == 1 ? std::vector<std::int64_t>{layout.frames} : random_segment_lengths(layout.frames, k, o.min_segment, rng);
  std::int64_t begin = 0;
  for (int s = 0; s < k; ++s) {
    Segment seg;
    seg.begin = begin;
    seg.frames = lengths[s];
    seg.parameters = random_parameters(types[s], o, layout.diffusion, rng);
    seg.noise_sd = noise_sd(seg.parameters, layout.diffusion, o.dt, layout.quality);
    layout.segments.push_back(seg);
    begin += seg.frames;
  }
  return layout;
}

// A mode's `frames` cut into pieces of about o.population_segment_frames,
// each at least min_segment frames long where they fit (else one piece).
std::vector<std::int64_t> mode_pieces(std::int64_t frames, const SimulationOptions& o, core::Rng& rng) {
  const std::int64_t wanted = (frames + o.population_segment_frames / 2) / o.population_segment_frames;
  const std::int64_t fit = std::max<std::int64_t>(1, frames / o.min_segment);
  const auto k = static_cast<int>(std::clamp<std::int64_t>(wanted, 1, fit));
  return random_segment_lengths(frames, k, std::min(o.min_segment, frames / k), rng);
}

// A labelled population's track (see the header): N, D and Q as for DeepSPT,
// then exact frame shares per mode, cut into pieces put in random order.
Layout population_layout(const SimulationOptions& o, std::int64_t population, core::Rng& rng) {
  Layout layout;
  layout.frames = uniform_int(o.min_length, o.max_length, rng);
  layout.diffusion = log_uniform(o.d_min, o.d_max, rng);
  layout.quality = rng.uniform(o.q_min, o.q_max);
  const auto shares = mode_frame_shares(o.population_weights[static_cast<std::size_t>(population)], layout.frames);
  std::vector<Segment> pieces;
  for (int m = 0; m < kStates; ++m) {
    if (shares[m] == 0) continue;
    for (std::int64_t length : mode_pieces(shares[m], o, rng)) {
      Segment seg;
      seg.frames = length;
      seg.parameters.state = static_cast<DiffusionState>(m);
      pieces.push_back(seg);
    }
  }
  for (std::size_t i = pieces.size(); i > 1; --i) std::swap(pieces[i - 1], pieces[rng.below(i)]);
  std::int64_t begin = 0;
  for (Segment& seg : pieces) {
    seg.begin = begin;
    seg.parameters = random_parameters(seg.parameters.state, o, layout.diffusion, rng);
    seg.noise_sd = noise_sd(seg.parameters, layout.diffusion, o.dt, layout.quality);
    begin += seg.frames;
  }
  layout.segments = std::move(pieces);
  return layout;
}

// Adds N(0, σ_segment) per axis per frame to the true positions.
std::vector<double> add_localisation_noise(const std::vector<double>& truth, const std::vector<Segment>& segments,
                                           int dim, core::Rng& rng) {
  std::vector<double> observed = truth;
  for (const Segment& seg : segments) {
    for (std::int64_t f = seg.begin; f < seg.begin + seg.frames; ++f)
      for (int a = 0; a < dim; ++a) observed[static_cast<std::size_t>(f * dim + a)] += seg.noise_sd * rng.normal();
  }
  return observed;
}

std::vector<std::int64_t> frame_states(const std::vector<Segment>& segments, std::int64_t frames) {
  std::vector<std::int64_t> states(static_cast<std::size_t>(frames));
  for (const Segment& seg : segments)
    std::fill_n(states.begin() + seg.begin, seg.frames, static_cast<std::int64_t>(seg.parameters.state));
  return states;
}

SimulatedTrack simulate_deepspt(const SimulationOptions& o, std::int64_t population, core::Rng& rng) {
  // The whole layout is drawn before any path (see the header).
  const Layout layout = population >= 0 ? population_layout(o, population, rng) : deepspt_layout(o, rng);
  SimulatedTrack out;
  out.population = population;
  out.segments = layout.segments;
  out.true_xyz.reserve(static_cast<std::size_t>(layout.frames * o.dim));
  std::array<double, 3> start{};
  for (Segment& seg : out.segments) {
    if (seg.parameters.state == confined)
      std::copy_n(start.begin(), o.dim, seg.parameters.ellipsoid.centre.begin());
    const std::vector<double> path =
        simulate_mode(seg.parameters, o.dim, seg.frames, layout.diffusion, o.dt, o.substeps, start.data(), rng);
    out.true_xyz.insert(out.true_xyz.end(), path.begin(), path.end());
    std::copy_n(path.end() - o.dim, o.dim, start.begin());
  }
  out.track.dim = o.dim;
  out.track.diffusion = layout.diffusion;
  out.track.quality = layout.quality;
  out.track.xyz = add_localisation_noise(out.true_xyz, out.segments, o.dim, rng);
  out.track.states = frame_states(out.segments, layout.frames);
  return out;
}

SimulatedTrack simulate_andi_track(const SimulationOptions& o, core::Rng& rng) {
  const AndiModel model = andi_model(o.model.substr(sizeof(kAndiPrefix) - 1));
  const std::vector<double> grid = andi_alpha_grid(model);
  SimulatedTrack out;
  const std::int64_t frames = uniform_int(o.min_length, o.max_length, rng);
  const double D = log_uniform(o.d_min, o.d_max, rng);
  const double Q = rng.uniform(o.q_min, o.q_max);
  out.andi_alpha = grid[rng.below(grid.size())];

  Segment seg;
  seg.frames = frames;
  seg.parameters.state = andi_state(out.andi_alpha);
  seg.parameters.alpha = out.andi_alpha;
  // Lévy-walk flights move at a constant speed: noise as for a directed segment.
  if (model == AndiModel::lw) seg.parameters.velocity = andi_lw_speed(D, o.dt);
  const double drift = seg.parameters.velocity * o.dt;
  seg.noise_sd = std::sqrt(D * o.dt + drift * drift) / Q;
  out.segments.push_back(seg);

  out.true_xyz = simulate_andi(model, o.dim, frames, out.andi_alpha, D, o.dt, rng);
  out.track.dim = o.dim;
  out.track.diffusion = D;
  out.track.quality = Q;
  out.track.xyz = add_localisation_noise(out.true_xyz, out.segments, o.dim, rng);
  out.track.states = frame_states(out.segments, frames);
  return out;
}

void validate_populations(const SimulationOptions& o) {
  if (o.populations < 0) bad_option("populations", o.populations, "0 (off) or a number of populations");
  if (o.experiments < 1) bad_option("experiments", o.experiments, "at least 1");
  if (o.populations == 0) return;
  if (is_andi(o.model)) bad_option("populations", o.populations, "0 with an AnDi model (populations mix DeepSPT modes)");
  if (o.population_segment_frames < 1)
    bad_option("population_segment_frames", o.population_segment_frames, "at least 1 frame");
  if (static_cast<std::int64_t>(o.population_weights.size()) != o.populations)
    bad_option("population_weights", std::to_string(o.population_weights.size()) + " population(s)",
               std::to_string(o.populations) + " (simulate.populations) rows of 4 weights");
  for (std::size_t p = 0; p < o.population_weights.size(); ++p) {
    double total = 0.0;
    for (double w : o.population_weights[p]) {
      if (!(w >= 0.0 && std::isfinite(w)))
        bad_option("population_weights", w, "finite weights >= 0 (population " + std::to_string(p) + ")");
      total += w;
    }
    if (!(total > 0.0))
      bad_option("population_weights", "all zero for population " + std::to_string(p),
                 "at least one positive weight per population");
  }
}

}  // namespace

// ---- options ---------------------------------------------------------------

const std::vector<std::string>& simulation_models() {
  static const std::vector<std::string> models = {kDeepSpt,    "andi:attm", "andi:ctrw",
                                                  "andi:fbm",  "andi:lw",   "andi:sbm"};
  return models;
}

void validate(const SimulationOptions& o) {
  if (o.dim != 2 && o.dim != 3) bad_option("dim", o.dim, "2 or 3");
  if (!(o.dt > 0.0 && std::isfinite(o.dt))) bad_option("dt", o.dt, "a finite value > 0");
  if (!(o.d_min > 0.0 && std::isfinite(o.d_min))) bad_option("d_min", o.d_min, "a finite value > 0");
  if (!(o.d_max >= o.d_min && std::isfinite(o.d_max))) bad_option("d_max", o.d_max, "a finite value >= d_min");
  if (o.min_length < 1) bad_option("min_length", o.min_length, "at least 1 frame");
  if (o.max_length <= o.min_length) bad_option("max_length", o.max_length, "> min_length (it is exclusive)");
  if (!(o.single_mode_fraction >= 0.0 && o.single_mode_fraction <= 1.0))
    bad_option("single_mode_fraction", o.single_mode_fraction, "a value in [0, 1]");
  if (o.min_segment < 1) bad_option("min_segment", o.min_segment, "at least 1 frame");
  if (!(o.q_min > 0.0 && std::isfinite(o.q_min))) bad_option("q_min", o.q_min, "a finite value > 0");
  if (!(o.q_max >= o.q_min && std::isfinite(o.q_max))) bad_option("q_max", o.q_max, "a finite value >= q_min");
  if (!(o.r_min > 0.0 && std::isfinite(o.r_min))) bad_option("r_min", o.r_min, "a finite value > 0");
  if (!(o.r_max >= o.r_min && std::isfinite(o.r_max))) bad_option("r_max", o.r_max, "a finite value >= r_min");
  if (!(o.axis_min > 0.0 && std::isfinite(o.axis_min))) bad_option("axis_min", o.axis_min, "a finite value > 0");
  if (!(o.axis_max >= o.axis_min && std::isfinite(o.axis_max)))
    bad_option("axis_max", o.axis_max, "a finite value >= axis_min");
  if (o.substeps < 1) bad_option("substeps", o.substeps, "at least 1");
  if (!(o.alpha_min >= 0.0 && o.alpha_min < 2.0)) bad_option("alpha_min", o.alpha_min, "a value in [0, 2)");
  if (!(o.alpha_max >= o.alpha_min && o.alpha_max < 2.0))
    bad_option("alpha_max", o.alpha_max, "a value in [alpha_min, 2) (fBm needs H = alpha/2 < 1)");
  const auto& models = simulation_models();
  if (std::find(models.begin(), models.end(), o.model) == models.end())
    bad_option("model", "\"" + o.model + "\"", "deepspt, andi:attm, andi:ctrw, andi:fbm, andi:lw or andi:sbm");
  validate_populations(o);
}

// ---- tracks ----------------------------------------------------------------

std::int64_t population_of(const SimulationOptions& o, std::uint64_t index) {
  if (o.populations <= 0) return -1;
  return static_cast<std::int64_t>(index % static_cast<std::uint64_t>(o.populations));
}

std::int64_t experiment_of(const SimulationOptions& o, std::uint64_t index) {
  if (o.populations <= 0) return -1;
  const auto block = index / static_cast<std::uint64_t>(o.populations);
  return static_cast<std::int64_t>(block % static_cast<std::uint64_t>(o.experiments));
}

std::array<std::int64_t, kStates> mode_frame_shares(const std::array<double, kStates>& weights, std::int64_t frames) {
  double total = 0.0;
  for (double w : weights) total += w;
  std::array<std::int64_t, kStates> shares{};
  std::array<double, kStates> remainder{};
  std::int64_t given = 0;
  for (int m = 0; m < kStates; ++m) {
    const double exact = total > 0 ? weights[m] / total * static_cast<double>(frames) : 0.0;
    shares[m] = static_cast<std::int64_t>(std::floor(exact));
    remainder[m] = exact - static_cast<double>(shares[m]);
    given += shares[m];
  }
  // Largest remainder first; ties to the lower mode (a stable order).
  std::array<int, kStates> order{0, 1, 2, 3};
  std::stable_sort(order.begin(), order.end(), [&](int a, int b) { return remainder[a] > remainder[b]; });
  for (int r = 0; given < frames && total > 0; r = (r + 1) % kStates) {
    if (weights[order[r]] <= 0) continue;  // a mode without weight never gets frames
    ++shares[order[r]];
    ++given;
  }
  return shares;
}

SimulatedTrack simulate_track_detailed(const SimulationOptions& options, std::uint64_t seed, std::uint64_t index) {
  validate(options);
  core::Rng rng(seed, core::Stream::spt_simulation, index);
  return is_andi(options.model) ? simulate_andi_track(options, rng)
                                : simulate_deepspt(options, population_of(options, index), rng);
}

Track simulate_track(const SimulationOptions& options, std::uint64_t seed, std::uint64_t index) {
  return simulate_track_detailed(options, seed, index).track;
}

std::vector<Track> simulate_tracks(const SimulationOptions& options, std::uint64_t seed, std::uint64_t first,
                                   std::uint64_t count) {
  std::vector<Track> tracks;
  tracks.reserve(static_cast<std::size_t>(count));
  for (std::uint64_t i = 0; i < count; ++i) tracks.push_back(simulate_track(options, seed, first + i));
  return tracks;
}

// ---- single modes ----------------------------------------------------------

std::vector<double> simulate_normal(int dim, std::int64_t frames, double D, double dt, const double* start,
                                    core::Rng& rng) {
  return simulate_directed(dim, frames, D, dt, 0.0, {}, start, rng);
}

std::vector<double> simulate_directed(int dim, std::int64_t frames, double D, double dt, double velocity,
                                      const std::array<double, 3>& direction, const double* start, core::Rng& rng) {
  const double sd = std::sqrt(2.0 * D * dt);
  std::vector<double> out(static_cast<std::size_t>(frames * dim));
  std::array<double, 3> x{};
  std::copy_n(start, dim, x.begin());
  for (std::int64_t f = 0; f < frames; ++f) {
    for (int a = 0; a < dim; ++a) {
      x[a] += sd * rng.normal() + velocity * dt * direction[a];
      out[static_cast<std::size_t>(f * dim + a)] = x[a];
    }
  }
  return out;
}

std::vector<double> simulate_confined(const Ellipsoid& ellipsoid, std::int64_t frames, double D, double dt,
                                      int substeps, const double* start, core::Rng& rng) {
  const int dim = ellipsoid.dim;
  if (!ellipsoid.contains(start)) throw Error("simulate_confined: the start position lies outside the ellipsoid");
  const double sd = std::sqrt(2.0 * D * dt / substeps);
  std::vector<double> out(static_cast<std::size_t>(frames * dim));
  std::array<double, 3> x{}, trial{};
  std::copy_n(start, dim, x.begin());
  for (std::int64_t f = 0; f < frames; ++f) {
    for (int s = 0; s < substeps; ++s) {
      for (int a = 0; a < dim; ++a) trial[a] = x[a] + sd * rng.normal();
      // Rejection, not reflection: a move across the wall is not made at all.
      if (ellipsoid.contains(trial.data())) x = trial;
    }
    std::copy_n(x.begin(), dim, out.begin() + f * dim);
  }
  return out;
}

std::vector<double> simulate_fbm(int dim, std::int64_t frames, double D, double dt, double alpha,
                                 const double* start, core::Rng& rng) {
  const double hurst = std::max(0.5 * alpha, kMinHurst);
  const double scale = std::sqrt(2.0 * D) * std::pow(dt, hurst);
  std::vector<double> out(static_cast<std::size_t>(frames * dim));
  const std::vector<std::vector<double>> noise = fgn_davies_harte(frames, hurst, dim, rng);
  for (int a = 0; a < dim; ++a) {
    double x = start[a];
    for (std::int64_t f = 0; f < frames; ++f) {
      x += scale * noise[a][static_cast<std::size_t>(f)];
      out[static_cast<std::size_t>(f * dim + a)] = x;
    }
  }
  return out;
}

std::vector<double> simulate_mode(const SegmentParameters& p, int dim, std::int64_t frames, double D, double dt,
                                  int substeps, const double* start, core::Rng& rng) {
  switch (p.state) {
    case normal:
      return simulate_normal(dim, frames, D, dt, start, rng);
    case directed:
      return simulate_directed(dim, frames, D, dt, p.velocity, p.direction, start, rng);
    case confined:
      return simulate_confined(p.ellipsoid, frames, D, dt, substeps, start, rng);
    case subdiffusive:
      return simulate_fbm(dim, frames, D, dt, p.alpha, start, rng);
  }
  throw Error("simulate_mode: unknown diffusion state " + std::to_string(static_cast<std::int64_t>(p.state)));
}

// ---- geometry and sampling helpers -----------------------------------------

bool Ellipsoid::contains(const double* x) const {
  double sum = 0.0;
  for (int r = 0; r < dim; ++r) {
    double along = 0.0;
    for (int c = 0; c < dim; ++c) along += (x[c] - centre[c]) * axes[3 * r + c];
    const double u = along / semi_axes[r];
    sum += u * u;
  }
  return sum <= 1.0;
}

std::array<double, 3> random_direction(int dim, core::Rng& rng) {
  const double phi = rng.uniform(0.0, 2.0 * M_PI);
  if (dim == 2) return {std::cos(phi), std::sin(phi), 0.0};
  // Archimedes: z uniform in [−1, 1] makes the point uniform on the sphere.
  const double z = rng.uniform(-1.0, 1.0);
  const double r = std::sqrt(std::max(0.0, 1.0 - z * z));
  return {r * std::cos(phi), r * std::sin(phi), z};
}

Ellipsoid random_ellipsoid(int dim, double axis_min, double axis_max, core::Rng& rng) {
  Ellipsoid e;
  e.dim = dim;
  for (int r = 0; r < dim; ++r) e.semi_axes[r] = rng.uniform(axis_min, axis_max);
  if (dim == 2) {
    const double t = rng.uniform(0.0, 2.0 * M_PI);
    e.axes = {std::cos(t), std::sin(t), 0, -std::sin(t), std::cos(t), 0, 0, 0, 1};
    return e;
  }
  // Shoemake's uniform unit quaternion (Graphics Gems III, 1992) → a Haar-random rotation.
  const double u1 = rng.uniform(), u2 = rng.uniform(0.0, 2.0 * M_PI), u3 = rng.uniform(0.0, 2.0 * M_PI);
  const double a = std::sqrt(1.0 - u1), b = std::sqrt(u1);
  const double w = a * std::sin(u2), x = a * std::cos(u2), y = b * std::sin(u3), z = b * std::cos(u3);
  e.axes = {1 - 2 * (y * y + z * z), 2 * (x * y - w * z),     2 * (x * z + w * y),
            2 * (x * y + w * z),     1 - 2 * (x * x + z * z), 2 * (y * z - w * x),
            2 * (x * z - w * y),     2 * (y * z + w * x),     1 - 2 * (x * x + y * y)};
  return e;
}

double log_uniform(double lo, double hi, core::Rng& rng) {
  // Clamped: exp(log(hi)) may round to just above hi.
  return std::clamp(std::exp(rng.uniform(std::log(lo), std::log(hi))), lo, hi);
}

std::vector<std::int64_t> random_segment_lengths(std::int64_t total, int k, std::int64_t min_segment,
                                                 core::Rng& rng) {
  const std::int64_t surplus = total - static_cast<std::int64_t>(k) * min_segment;
  if (k < 1 || surplus < 0) {
    std::ostringstream msg;
    msg << "random_segment_lengths: " << k << " segments of at least " << min_segment << " frames do not fit in "
        << total << " frames";
    throw Error(msg.str());
  }
  std::vector<std::int64_t> cuts(static_cast<std::size_t>(k - 1));
  for (auto& c : cuts) c = static_cast<std::int64_t>(rng.below(static_cast<std::uint64_t>(surplus) + 1));
  std::sort(cuts.begin(), cuts.end());
  std::vector<std::int64_t> lengths;
  std::int64_t previous = 0;
  for (std::int64_t c : cuts) {
    lengths.push_back(min_segment + c - previous);
    previous = c;
  }
  lengths.push_back(min_segment + surplus - previous);
  return lengths;
}

}  // namespace phenoscale::spt
