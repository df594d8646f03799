// Planted protrusion velocity series (edge/protrusion_model.hpp; DeepHACKS,
// Ma et al. 2024, §2; docs/methods.md §3).
#include "phenoscale/edge/protrusion_model.hpp"

#include <algorithm>
#include <cmath>
#include <sstream>
#include <string>

#include "phenoscale/core/error.hpp"

namespace phenoscale::edge {

namespace {

constexpr double kPi = 3.14159265358979323846;

template <typename T>
[[noreturn]] void bad_option(const char* field, const T& value, const std::string& expected) {
  std::ostringstream msg;
  msg << "protrusion." << field << " = " << value << ": expected " << expected;
  throw ConfigError(msg.str());
}

void validate_proportions(const std::vector<double>& proportions) {
  if (proportions.size() != static_cast<std::size_t>(kPhenotypes)) {
    std::ostringstream msg;
    msg << "protrusion.proportions: expected " << kPhenotypes << " weights (steady, bursting, periodic, "
        << "accelerating, bursting_early), found " << proportions.size();
    throw ConfigError(msg.str());
  }
  double sum = 0.0;
  for (std::size_t i = 0; i < proportions.size(); ++i) {
    if (!(proportions[i] >= 0.0) || !std::isfinite(proportions[i])) {
      std::ostringstream msg;
      msg << "protrusion.proportions[" << i << "] = " << proportions[i] << ": expected a finite weight >= 0";
      throw ConfigError(msg.str());
    }
    sum += proportions[i];
  }
  if (std::abs(sum - 1.0) > 1e-6) {
    std::ostringstream msg;
    msg << "protrusion.proportions: expected weights summing to 1, found sum " << sum;
    throw ConfigError(msg.str());
  }
}

// Uniform integer in [lo, hi] (inclusive).
int uniform_int(int lo, int hi, core::Rng& rng) {
  return lo + static_cast<int>(rng.below(static_cast<std::uint64_t>(hi - lo + 1)));
}

Phenotype draw_phenotype(const std::vector<double>& proportions, core::Rng& rng) {
  const double u = rng.uniform();
  double cumulative = 0.0;
  int last_positive = 0;
  for (int i = 0; i < kPhenotypes; ++i) {
    if (proportions[static_cast<std::size_t>(i)] <= 0.0) continue;
    last_positive = i;
    cumulative += proportions[static_cast<std::size_t>(i)];
    if (u < cumulative) return static_cast<Phenotype>(i);
  }
  // Rounding: the weights sum to 1 only within 1e-6.
  return static_cast<Phenotype>(last_positive);
}

// Writes one retraction phase of `length` frames from `start` (clipped to the series).
void plant_retraction(const ProtrusionModel& m, int start, int length, core::Rng& rng, std::vector<double>& v) {
  const double velocity = -m.velocity_scale * m.retraction_velocity * rng.uniform(0.75, 1.25);
  const int stop = std::min(start + length, m.frames);
  for (int t = start; t < stop; ++t) v[static_cast<std::size_t>(t)] = velocity;
}

// Draws and writes one protrusion event starting at `onset`; returns it.
PlantedEvent plant_event(const ProtrusionModel& m, const std::vector<double>& proportions, int onset, core::Rng& rng,
                         std::vector<double>& v) {
  PlantedEvent e;
  e.onset = onset;
  e.end = std::min(onset + uniform_int(m.min_event, m.max_event, rng), m.frames);
  e.phenotype = draw_phenotype(proportions, rng);
  if (e.phenotype == Phenotype::periodic) e.period = rng.uniform(kMinPeriodFrames, kMaxPeriodFrames);
  const double amplitude = m.velocity_scale * rng.uniform(1.0 - m.amplitude_jitter, 1.0 + m.amplitude_jitter);
  for (int t = e.onset; t < e.end; ++t) {
    v[static_cast<std::size_t>(t)] = amplitude * event_velocity(e.phenotype, t - e.onset, e.period);
  }
  return e;
}

// Adds stationary AR(1) noise: x_t = φ x_{t−1} + sqrt(1 − φ²)·sd·z_t, x_0 ~ N(0, sd²).
void add_ar1_noise(const ProtrusionModel& m, core::Rng& rng, std::vector<double>& v) {
  if (m.noise_sd == 0.0) return;
  const double innovation = m.noise_sd * std::sqrt(1.0 - m.noise_phi * m.noise_phi);
  double x = rng.normal(0.0, m.noise_sd);
  for (std::size_t t = 0; t < v.size(); ++t) {
    if (t > 0) x = m.noise_phi * x + rng.normal(0.0, innovation);
    v[t] += x;
  }
}

}  // namespace

double event_velocity(Phenotype p, double t_frames, double period_frames) {
  const double t = std::max(t_frames, 0.0);
  switch (p) {
    case Phenotype::steady:
      return 0.8;
    case Phenotype::bursting: {
      const double z = (t - 20.0) / 6.0;
      return 0.4 + 2.3 * std::exp(-z * z);
    }
    case Phenotype::periodic:
      if (!(period_frames > 0.0)) {
        std::ostringstream msg;
        msg << "periodic protrusion: expected a period > 0 frames, found " << period_frames;
        throw ConfigError(msg.str());
      }
      return 1.2 + 1.0 * std::sin(2.0 * kPi * t / period_frames);
    case Phenotype::accelerating:
      return 0.3 + 2.7 * std::pow(std::min(t / 42.0, 1.0), 1.5);
    case Phenotype::bursting_early: {
      const double z = (t - 10.0) / 5.0;
      return 0.4 + 3.0 * std::exp(-z * z);
    }
  }
  std::ostringstream msg;
  msg << "protrusion phenotype: expected an id in 0.." << kPhenotypes - 1 << ", found " << static_cast<long long>(p);
  throw ConfigError(msg.str());
}

std::vector<double> apply_effects(std::vector<double> base, const std::vector<ProportionEffect>& effects) {
  std::vector<bool> named(base.size(), false);
  double before = 0.0;
  for (const double p : base) before += p;
  for (const auto& e : effects) {
    const auto k = static_cast<std::size_t>(e.phenotype);
    if (k >= base.size()) {
      std::ostringstream msg;
      msg << "proportion effect: phenotype id " << k << " outside the " << base.size() << " proportions";
      throw ConfigError(msg.str());
    }
    base[k] += e.delta;
    named[k] = true;
  }
  double named_total = 0.0, others = 0.0;
  for (std::size_t k = 0; k < base.size(); ++k) (named[k] ? named_total : others) += base[k];
  if (others <= 0.0) return base;
  const double scale = (before - named_total) / others;
  for (std::size_t k = 0; k < base.size(); ++k)
    if (!named[k]) base[k] *= scale;
  return base;
}

void validate(const ProtrusionModel& m) {
  if (!(m.frame_s > 0.0) || !std::isfinite(m.frame_s)) bad_option("frame_s", m.frame_s, "a finite value > 0 s");
  if (m.frames < 1) bad_option("frames", m.frames, "an integer >= 1");
  if (m.min_event < 1) bad_option("min_event", m.min_event, "an integer >= 1");
  if (m.max_event < m.min_event) bad_option("max_event", m.max_event, "an integer >= min_event");
  if (m.min_retraction < 1) bad_option("min_retraction", m.min_retraction, "an integer >= 1");
  if (m.max_retraction < m.min_retraction) {
    bad_option("max_retraction", m.max_retraction, "an integer >= min_retraction");
  }
  if (!(m.velocity_scale > 0.0) || !std::isfinite(m.velocity_scale)) {
    bad_option("velocity_scale", m.velocity_scale, "a finite value > 0");
  }
  if (!(m.retraction_velocity > 0.0) || !std::isfinite(m.retraction_velocity)) {
    bad_option("retraction_velocity", m.retraction_velocity, "a finite value > 0 nm/s");
  }
  // Beyond 0.75 an accelerating event could start at ~0 and the onset would
  // stop being a clear minimum of the displacement.
  if (!(m.amplitude_jitter >= 0.0 && m.amplitude_jitter <= 0.75)) {
    bad_option("amplitude_jitter", m.amplitude_jitter, "a value in [0, 0.75]");
  }
  if (!(m.noise_sd >= 0.0) || !std::isfinite(m.noise_sd)) bad_option("noise_sd", m.noise_sd, "a finite value >= 0");
  if (!(m.noise_phi > -1.0 && m.noise_phi < 1.0)) bad_option("noise_phi", m.noise_phi, "a value in (-1, 1)");
}

PlantedSeries simulate_window_series(const ProtrusionModel& m, const std::vector<double>& proportions, core::Rng& rng) {
  validate(m);
  validate_proportions(proportions);
  PlantedSeries s;
  s.velocity.assign(static_cast<std::size_t>(m.frames), 0.0);
  // Enter the block somewhere inside a retraction phase.
  const int first_phase = uniform_int(m.min_retraction, m.max_retraction, rng);
  int t = 1 + static_cast<int>(rng.below(static_cast<std::uint64_t>(first_phase)));
  plant_retraction(m, 0, t, rng, s.velocity);
  while (t < m.frames) {
    const PlantedEvent e = plant_event(m, proportions, t, rng, s.velocity);
    s.events.push_back(e);
    t = e.end;
    if (t >= m.frames) break;
    const int length = uniform_int(m.min_retraction, m.max_retraction, rng);
    plant_retraction(m, t, length, rng, s.velocity);
    t += length;
  }
  add_ar1_noise(m, rng, s.velocity);
  return s;
}

}  // namespace phenoscale::edge
