#include "phenoscale/spt/andi.hpp"

#include <algorithm>
#include <array>
#include <cmath>
#include <sstream>

#include "phenoscale/core/error.hpp"
#include "phenoscale/spt/simulate.hpp"

namespace phenoscale::spt {

namespace {

// The AnDi grid is α = i/20, i = 1..40; each model takes a range of i.
struct GridRange {
  int first, last;
};

GridRange grid_range(AndiModel model) {
  switch (model) {
    case AndiModel::attm:
    case AndiModel::ctrw:
      return {1, 20};  // (0, 1]: trapping can only slow diffusion down
    case AndiModel::fbm:
      return {1, 39};  // (0, 2): H = α/2 < 1
    case AndiModel::lw:
      return {21, 40};  // (1, 2]: Lévy walks are superdiffusive
    case AndiModel::sbm:
      return {1, 40};
  }
  return {1, 40};
}

void check_alpha(AndiModel model, double alpha) {
  const GridRange g = grid_range(model);
  const double lo = (g.first - 1) / 20.0, hi = g.last / 20.0;
  // Left-open intervals: fbm additionally excludes 2.
  const bool ok = alpha > lo && (model == AndiModel::fbm ? alpha < 2.0 : alpha <= hi + 1e-12);
  if (!ok) {
    std::ostringstream msg;
    msg << "andi " << andi_model_name(model) << ": alpha = " << alpha << ": expected a value in (" << lo << ", "
        << (model == AndiModel::fbm ? 2.0 : hi) << (model == AndiModel::fbm ? ")" : "]");
    throw ConfigError(msg.str());
  }
}

// Pareto time ≥ 1 (frames) with tail P(τ > t) = t^{−exponent}; may be +inf for tiny exponents.
double pareto_time(double exponent, core::Rng& rng) {
  const double u = 1.0 - rng.uniform();  // (0, 1]
  return std::pow(u, -1.0 / exponent);
}

std::vector<double> attm(int dim, std::int64_t frames, double alpha, double D, double dt, core::Rng& rng) {
  const std::array<double, 3> origin{};
  if (alpha >= 1.0 - 1e-12) return simulate_normal(dim, frames, D, dt, origin.data(), rng);
  // σ < γ < σ + 1 with α = σ/γ: γ in (1, 1/(1−α)) satisfies both (and keeps σ = αγ ≥ α).
  const double gamma = rng.uniform(1.0, 1.0 / (1.0 - alpha));
  const double sigma = alpha * gamma;
  double level = 0.0, remaining = 0.0;
  auto next_interval = [&] {
    // D_i = U^{1/σ} ~ D_i^{σ−1} on (0, 1] and τ_i = D_i^{−γ} = U^{−1/α}, from one U.
    const double u = 1.0 - rng.uniform();
    level = std::pow(u, 1.0 / sigma);
    remaining = std::pow(u, -1.0 / alpha);
  };
  next_interval();
  std::vector<double> out(static_cast<std::size_t>(frames * dim));
  std::array<double, 3> x{};
  for (std::int64_t f = 0; f < frames; ++f) {
    // The frame's variance integrates the coefficient over the intervals it spans.
    double need = 1.0, integral = 0.0;
    while (need > 0.0) {
      const double take = std::min(need, remaining);
      integral += take * level;
      need -= take;
      remaining -= take;
      if (remaining <= 0.0) next_interval();
    }
    const double sd = std::sqrt(2.0 * D * dt * integral);
    for (int a = 0; a < dim; ++a) out[static_cast<std::size_t>(f * dim + a)] = (x[a] += sd * rng.normal());
  }
  return out;
}

std::vector<double> ctrw(int dim, std::int64_t frames, double alpha, double D, double dt, core::Rng& rng) {
  const double jump_sd = std::sqrt(2.0 * D * dt);
  std::vector<double> out(static_cast<std::size_t>(frames * dim));
  std::array<double, 3> x{};
  double next_jump = pareto_time(alpha, rng);
  for (std::int64_t f = 0; f < frames; ++f) {
    // The particle waits, then jumps; frame f is observed at time f + 1 (in frames).
    while (next_jump <= static_cast<double>(f + 1)) {
      for (int a = 0; a < dim; ++a) x[a] += jump_sd * rng.normal();
      next_jump += pareto_time(alpha, rng);
    }
    std::copy_n(x.begin(), dim, out.begin() + f * dim);
  }
  return out;
}

std::vector<double> levy_walk(int dim, std::int64_t frames, double alpha, double D, double dt, core::Rng& rng) {
  // Flight-time tail exponent s: α = 3 − s for 1 < s < 2; any s < 1 is ballistic (α = 2).
  const double s = alpha < 2.0 - 1e-12 ? 3.0 - alpha : 0.5;
  const double step = andi_lw_speed(D, dt) * dt;  // distance per frame of flight
  std::vector<double> out(static_cast<std::size_t>(frames * dim));
  std::array<double, 3> flight_start{};
  double t0 = 0.0, t1 = pareto_time(s, rng);
  std::array<double, 3> direction = random_direction(dim, rng);
  for (std::int64_t f = 0; f < frames; ++f) {
    const double t = static_cast<double>(f + 1);
    while (t1 < t) {
      for (int a = 0; a < dim; ++a) flight_start[a] += step * (t1 - t0) * direction[a];
      t0 = t1;
      t1 = t0 + pareto_time(s, rng);
      direction = random_direction(dim, rng);
    }
    for (int a = 0; a < dim; ++a)
      out[static_cast<std::size_t>(f * dim + a)] = flight_start[a] + step * (t - t0) * direction[a];
  }
  return out;
}

std::vector<double> sbm(int dim, std::int64_t frames, double alpha, double D, double dt, core::Rng& rng) {
  std::vector<double> out(static_cast<std::size_t>(frames * dim));
  std::array<double, 3> x{};
  const double scale = 2.0 * D * std::pow(dt, alpha);
  for (std::int64_t f = 0; f < frames; ++f) {
    // Step t = f + 1 covers (t − 1, t]: variance 2 D dt^α (t^α − (t−1)^α).
    const double t = static_cast<double>(f + 1);
    const double sd = std::sqrt(scale * (std::pow(t, alpha) - std::pow(t - 1.0, alpha)));
    for (int a = 0; a < dim; ++a) out[static_cast<std::size_t>(f * dim + a)] = (x[a] += sd * rng.normal());
  }
  return out;
}

}  // namespace

AndiModel andi_model(const std::string& name) {
  for (AndiModel m : {AndiModel::attm, AndiModel::ctrw, AndiModel::fbm, AndiModel::lw, AndiModel::sbm})
    if (andi_model_name(m) == name) return m;
  throw ConfigError("andi model \"" + name + "\": expected attm, ctrw, fbm, lw or sbm");
}

std::string andi_model_name(AndiModel model) {
  switch (model) {
    case AndiModel::attm: return "attm";
    case AndiModel::ctrw: return "ctrw";
    case AndiModel::fbm: return "fbm";
    case AndiModel::lw: return "lw";
    case AndiModel::sbm: return "sbm";
  }
  return "?";
}

std::vector<double> andi_alpha_grid(AndiModel model) {
  const GridRange g = grid_range(model);
  std::vector<double> grid;
  for (int i = g.first; i <= g.last; ++i) grid.push_back(i / 20.0);
  return grid;
}

DiffusionState andi_state(double alpha) {
  if (alpha < 1.0 - 0.025) return subdiffusive;
  if (alpha > 1.0 + 0.025) return directed;
  return normal;
}

double andi_lw_speed(double D, double dt) { return std::sqrt(2.0 * D / dt); }

std::vector<double> simulate_andi(AndiModel model, int dim, std::int64_t frames, double alpha, double D, double dt,
                                  core::Rng& rng) {
  check_alpha(model, alpha);
  switch (model) {
    case AndiModel::attm: return attm(dim, frames, alpha, D, dt, rng);
    case AndiModel::ctrw: return ctrw(dim, frames, alpha, D, dt, rng);
    case AndiModel::fbm: {
      const std::array<double, 3> origin{};
      return simulate_fbm(dim, frames, D, dt, alpha, origin.data(), rng);
    }
    case AndiModel::lw: return levy_walk(dim, frames, alpha, D, dt, rng);
    case AndiModel::sbm: return sbm(dim, frames, alpha, D, dt, rng);
  }
  return {};
}

}  // namespace phenoscale::spt
