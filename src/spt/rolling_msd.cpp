#include "phenoscale/spt/rolling_msd.hpp"

#include <algorithm>
#include <cmath>
#include <limits>
#include <string>

#include "phenoscale/core/error.hpp"
#include "phenoscale/spt/msd.hpp"

namespace phenoscale::spt {
namespace {

void validate(const TrackView& track, const RollingMsdOptions& o) {
  if (o.window < 3) throw ConfigError("rolling MSD: window must be at least 3 frames, got " + std::to_string(o.window));
  if (o.max_lag < 1) throw ConfigError("rolling MSD: max_lag must be at least 1, got " + std::to_string(o.max_lag));
  if (!(o.lo <= o.hi)) throw ConfigError("rolling MSD: thresholds need lo <= hi");
  if (!(o.dt > 0.0)) throw ConfigError("rolling MSD: dt must be positive");
  if (track.dim != 2 && track.dim != 3)
    throw InputError("rolling MSD: tracks must be 2-D or 3-D, got dim = " + std::to_string(track.dim));
  if (track.frames < 0) throw InputError("rolling MSD: negative frame count");
}

// α of the log–log MSD fit of frames [begin, begin + n); NaN if undefined.
double window_alpha(const TrackView& track, std::int64_t begin, std::int64_t n, const RollingMsdOptions& o) {
  if (n < 3) return std::numeric_limits<double>::quiet_NaN();
  const TrackView window{track.xyz + begin * track.dim, n, track.dim};
  MsdFitOptions fit_options;
  fit_options.dt = o.dt;
  // Two lags at least, so that a 3-frame window still has a slope.
  const std::int64_t lags = std::max<std::int64_t>(2, std::min(o.max_lag, n - 1));
  return fit_track_msd(window, lags, fit_options).alpha;
}

std::int64_t state_of(double alpha, const RollingMsdOptions& o) {
  if (std::isnan(alpha)) return normal;
  if (alpha <= o.lo) return subdiffusive;
  if (alpha >= o.hi) return directed;
  return normal;
}

}  // namespace

std::vector<double> rolling_msd_alpha(const TrackView& track, const RollingMsdOptions& options) {
  validate(track, options);
  const std::int64_t n = track.frames;
  std::vector<double> alpha(static_cast<std::size_t>(n));
  if (n < options.window) {
    std::fill(alpha.begin(), alpha.end(), window_alpha(track, 0, n, options));
    return alpha;
  }
  const std::int64_t half = options.window / 2;
  for (std::int64_t t = 0; t < n; ++t) {
    const std::int64_t begin = std::clamp<std::int64_t>(t - half, 0, n - options.window);
    alpha[static_cast<std::size_t>(t)] = window_alpha(track, begin, options.window, options);
  }
  return alpha;
}

std::vector<std::int64_t> rolling_msd_states(const TrackView& track, const RollingMsdOptions& options) {
  const std::vector<double> alpha = rolling_msd_alpha(track, options);
  std::vector<std::int64_t> states(alpha.size());
  for (std::size_t t = 0; t < alpha.size(); ++t) states[t] = state_of(alpha[t], options);
  return states;
}

}  // namespace phenoscale::spt
