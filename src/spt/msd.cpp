#include "phenoscale/spt/msd.hpp"

#include <algorithm>
#include <cmath>
#include <limits>
#include <string>

#include "phenoscale/core/error.hpp"

namespace phenoscale::spt {
namespace {

constexpr double kNaN = std::numeric_limits<double>::quiet_NaN();

void check_dim(int dim, const char* what) {
  if (dim != 2 && dim != 3)
    throw InputError(std::string(what) + ": tracks must be 2-D or 3-D, got dim = " + std::to_string(dim));
}

MsdFit undefined_fit(std::int64_t lags) {
  MsdFit fit;
  fit.alpha = fit.diffusion = fit.offset = fit.r_squared = kNaN;
  fit.lags_used = lags;
  return fit;
}

// Ordinary least squares y = a + b·x; R² = 1 − SS_res/SS_tot (NaN when y is constant).
struct Line {
  double intercept, slope, r_squared;
};

Line least_squares_line(const std::vector<double>& x, const std::vector<double>& y) {
  const double n = static_cast<double>(x.size());
  double mx = 0.0, my = 0.0;
  for (std::size_t i = 0; i < x.size(); ++i) {
    mx += x[i];
    my += y[i];
  }
  mx /= n;
  my /= n;
  double sxx = 0.0, sxy = 0.0, syy = 0.0;
  for (std::size_t i = 0; i < x.size(); ++i) {
    sxx += (x[i] - mx) * (x[i] - mx);
    sxy += (x[i] - mx) * (y[i] - my);
    syy += (y[i] - my) * (y[i] - my);
  }
  const double slope = sxy / sxx;
  const double intercept = my - slope * mx;
  double ss_res = 0.0;
  for (std::size_t i = 0; i < x.size(); ++i) {
    const double r = y[i] - intercept - slope * x[i];
    ss_res += r * r;
  }
  return {intercept, slope, syy > 0.0 ? 1.0 - ss_res / syy : kNaN};
}

MsdFit fit_log_log(const std::vector<double>& msd, int dim, double dt) {
  std::vector<double> log_t, log_msd;
  for (std::size_t k = 0; k < msd.size(); ++k) {
    if (msd[k] <= 0.0) continue;  // a motionless lag has no logarithm
    log_t.push_back(std::log(static_cast<double>(k + 1) * dt));
    log_msd.push_back(std::log(msd[k]));
  }
  const auto used = static_cast<std::int64_t>(log_t.size());
  if (used < 2) return undefined_fit(used);
  const Line line = least_squares_line(log_t, log_msd);
  MsdFit fit;
  fit.alpha = line.slope;
  fit.diffusion = std::exp(line.intercept) / (2.0 * dim);
  fit.offset = 0.0;
  fit.r_squared = line.r_squared;
  fit.lags_used = used;
  return fit;
}

// For a fixed α, the best A ≥ 0 and c of MSD = A·t^α + c (linear least
// squares in u = t^α) and its residual sum of squares.
struct Profile {
  double amplitude, offset, ss_res;
};

Profile profile_at(const std::vector<double>& t, const std::vector<double>& msd, double alpha) {
  const double n = static_cast<double>(t.size());
  std::vector<double> u(t.size());
  double mu = 0.0, my = 0.0;
  for (std::size_t i = 0; i < t.size(); ++i) {
    u[i] = std::pow(t[i], alpha);
    mu += u[i];
    my += msd[i];
  }
  mu /= n;
  my /= n;
  double suu = 0.0, suy = 0.0;
  for (std::size_t i = 0; i < t.size(); ++i) {
    suu += (u[i] - mu) * (u[i] - mu);
    suy += (u[i] - mu) * (msd[i] - my);
  }
  // A diffusion coefficient cannot be negative; at α = 0 (u constant) the
  // amplitude is not identifiable and the offset carries the level.
  const double amplitude = (suu > 0.0 && suy > 0.0) ? suy / suu : 0.0;
  const double offset = my - amplitude * mu;
  double ss_res = 0.0;
  for (std::size_t i = 0; i < t.size(); ++i) {
    const double r = msd[i] - amplitude * u[i] - offset;
    ss_res += r * r;
  }
  return {amplitude, offset, ss_res};
}

// α minimising the profile residual: a grid scan (the residual need not be
// unimodal over the whole range) refined by golden-section search around the
// best grid point.
double best_alpha(const std::vector<double>& t, const std::vector<double>& msd, double lo, double hi) {
  constexpr int kGrid = 60;
  const double h = (hi - lo) / kGrid;
  int best = 0;
  double best_ss = std::numeric_limits<double>::infinity();
  for (int i = 0; i <= kGrid; ++i) {
    const double ss = profile_at(t, msd, lo + i * h).ss_res;
    if (ss < best_ss) {
      best_ss = ss;
      best = i;
    }
  }
  double a = lo + std::max(best - 1, 0) * h, b = lo + std::min(best + 1, kGrid) * h;
  const double g = (std::sqrt(5.0) - 1.0) / 2.0;
  double c = b - g * (b - a), d = a + g * (b - a);
  double fc = profile_at(t, msd, c).ss_res, fd = profile_at(t, msd, d).ss_res;
  for (int it = 0; it < 60 && b - a > 1e-10; ++it) {
    if (fc <= fd) {
      b = d;
      d = c;
      fd = fc;
      c = b - g * (b - a);
      fc = profile_at(t, msd, c).ss_res;
    } else {
      a = c;
      c = d;
      fc = fd;
      d = a + g * (b - a);
      fd = profile_at(t, msd, d).ss_res;
    }
  }
  const double refined = 0.5 * (a + b);
  return profile_at(t, msd, refined).ss_res <= best_ss ? refined : lo + best * h;
}

MsdFit fit_with_offset(const std::vector<double>& msd, int dim, const MsdFitOptions& options) {
  const auto lags = static_cast<std::int64_t>(msd.size());
  if (lags < 3) return undefined_fit(lags);  // three parameters need three lags
  std::vector<double> t(msd.size());
  double mean = 0.0;
  for (std::size_t k = 0; k < msd.size(); ++k) {
    t[k] = static_cast<double>(k + 1) * options.dt;
    mean += msd[k];
  }
  mean /= static_cast<double>(msd.size());
  double ss_tot = 0.0;
  for (double m : msd) ss_tot += (m - mean) * (m - mean);
  const double alpha = best_alpha(t, msd, options.alpha_min, options.alpha_max);
  const Profile p = profile_at(t, msd, alpha);
  MsdFit fit;
  fit.alpha = alpha;
  fit.diffusion = p.amplitude / (2.0 * dim);
  fit.offset = p.offset;
  fit.r_squared = ss_tot > 0.0 ? 1.0 - p.ss_res / ss_tot : kNaN;
  fit.lags_used = lags;
  return fit;
}

}  // namespace

std::vector<double> time_averaged_msd(const TrackView& track, std::int64_t max_lag) {
  check_dim(track.dim, "time_averaged_msd");
  if (max_lag < 1 || max_lag > track.frames - 1)
    throw InputError("time_averaged_msd: max_lag must be in [1, frames - 1] = [1, " +
                     std::to_string(track.frames - 1) + "], got " + std::to_string(max_lag));
  std::vector<double> msd(static_cast<std::size_t>(max_lag), 0.0);
  for (std::int64_t k = 1; k <= max_lag; ++k) {
    double sum = 0.0;
    for (std::int64_t t = 0; t + k < track.frames; ++t) {
      for (int a = 0; a < track.dim; ++a) {
        const double d = track.at(t + k, a) - track.at(t, a);
        sum += d * d;
      }
    }
    msd[static_cast<std::size_t>(k - 1)] = sum / static_cast<double>(track.frames - k);
  }
  return msd;
}

MsdFit fit_msd(const std::vector<double>& msd, int dim, const MsdFitOptions& options) {
  check_dim(dim, "fit_msd");
  if (!(options.dt > 0.0)) throw InputError("fit_msd: dt must be positive, got " + std::to_string(options.dt));
  if (options.fit_offset && !(options.alpha_min < options.alpha_max))
    throw InputError("fit_msd: alpha_min must be below alpha_max");
  for (double m : msd)
    if (!std::isfinite(m) || m < 0.0) throw InputError("fit_msd: MSD values must be finite and non-negative");
  return options.fit_offset ? fit_with_offset(msd, dim, options) : fit_log_log(msd, dim, options.dt);
}

MsdFit fit_track_msd(const TrackView& track, std::int64_t max_lag, const MsdFitOptions& options) {
  return fit_msd(time_averaged_msd(track, max_lag), track.dim, options);
}

}  // namespace phenoscale::spt
