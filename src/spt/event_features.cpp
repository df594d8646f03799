// Sliding-window features for event timing (spt/event_features.hpp;
// docs/methods.md §2.6).
#include "phenoscale/spt/event_features.hpp"

#include <algorithm>
#include <cmath>
#include <string>

#include "phenoscale/core/error.hpp"
#include "phenoscale/spt/msd.hpp"

namespace phenoscale::spt {
namespace {

constexpr double kLogFloor = -10.0;  // ln of a ratio of zero (a motionless window or step)

double squared_step(const TrackView& track, std::int64_t t) {
  double sum = 0.0;
  for (int a = 0; a < track.dim; ++a) {
    const double d = track.at(t, a) - track.at(t - 1, a);
    sum += d * d;
  }
  return sum;
}

// ln(value / reference) floored at kLogFloor; 0 when the reference is 0.
double log_ratio(double value, double reference) {
  if (!(reference > 0.0)) return 0.0;
  const double r = value / reference;
  return r > std::exp(kLogFloor) ? std::log(r) : kLogFloor;
}

struct Window {
  double log_step_ratio, alpha, mean_cosine, straightness;
};

// The four window channels of frames [begin, begin + m).
Window window_features(const TrackView& track, std::int64_t begin, std::int64_t m, double track_ms,
                       const EventFeatureOptions& o) {
  Window w{0.0, 1.0, 0.0, 0.0};
  if (m < 2) return w;
  double sum_sq = 0.0, path = 0.0, cosines = 0.0;
  std::int64_t pairs = 0;
  for (std::int64_t t = begin + 1; t < begin + m; ++t) {
    const double sq = squared_step(track, t);
    sum_sq += sq;
    path += std::sqrt(sq);
    if (t >= begin + 2) {
      const double previous = squared_step(track, t - 1);
      if (sq > 0.0 && previous > 0.0) {
        double dot = 0.0;
        for (int a = 0; a < track.dim; ++a) {
          dot += (track.at(t, a) - track.at(t - 1, a)) * (track.at(t - 1, a) - track.at(t - 2, a));
        }
        cosines += dot / std::sqrt(sq * previous);
        ++pairs;
      }
    }
  }
  w.log_step_ratio = track_ms > 0.0 ? log_ratio(sum_sq / double(m - 1), track_ms) : 0.0;
  if (pairs > 0) w.mean_cosine = cosines / double(pairs);
  if (path > 0.0) {
    double end_to_end = 0.0;
    for (int a = 0; a < track.dim; ++a) {
      const double d = track.at(begin + m - 1, a) - track.at(begin, a);
      end_to_end += d * d;
    }
    w.straightness = std::min(1.0, std::sqrt(end_to_end) / path);
  }
  if (m >= 3) {
    const TrackView view{track.xyz + begin * track.dim, m, track.dim};
    const std::int64_t lags = std::max<std::int64_t>(2, std::min(o.max_lag, m - 1));
    const double alpha = fit_track_msd(view, lags).alpha;
    if (std::isfinite(alpha)) w.alpha = std::clamp(alpha, -1.0, 3.0);
  }
  return w;
}

}  // namespace

std::vector<double> event_features(const TrackView& track, const EventFeatureOptions& options) {
  if (options.window < 3) {
    throw ConfigError("event features: window must be at least 3 frames, got " + std::to_string(options.window));
  }
  if (options.max_lag < 1) {
    throw ConfigError("event features: max_lag must be at least 1, got " + std::to_string(options.max_lag));
  }
  if (track.dim != 2 && track.dim != 3) {
    throw InputError("event features: tracks must be 2-D or 3-D, got dim = " + std::to_string(track.dim));
  }
  const std::int64_t n = track.frames;
  std::vector<double> out(static_cast<std::size_t>(std::max<std::int64_t>(n, 0) * kEventFeatureChannels), 0.0);
  if (n <= 0) return out;
  double track_ms = 0.0;
  for (std::int64_t t = 1; t < n; ++t) track_ms += squared_step(track, t);
  if (n > 1) track_ms /= double(n - 1);
  const std::int64_t m = std::min(n, options.window), half = options.window / 2;
  std::int64_t cached_begin = -1;
  Window w{};
  for (std::int64_t t = 0; t < n; ++t) {
    const std::int64_t begin = std::clamp<std::int64_t>(t - half, 0, n - m);
    if (begin != cached_begin) {  // frames near the ends share their window
      w = window_features(track, begin, m, track_ms, options);
      cached_begin = begin;
    }
    double* row = out.data() + t * kEventFeatureChannels;
    row[0] = w.log_step_ratio;
    row[1] = w.alpha;
    row[2] = w.mean_cosine;
    row[3] = w.straightness;
    row[4] = t > 0 && track_ms > 0.0 ? log_ratio(squared_step(track, t), track_ms) : 0.0;
  }
  return out;
}

void append_event_features(const TrackView& track, const EventFeatureOptions& options, std::vector<float>& out) {
  const auto values = event_features(track, options);
  for (double v : values) out.push_back(static_cast<float>(v));
}

std::vector<std::int64_t> event_labels(const std::int64_t* states, std::int64_t frames) {
  std::vector<std::int64_t> labels(static_cast<std::size_t>(std::max<std::int64_t>(frames, 0)), 0);
  for (std::int64_t t = 1; t < frames; ++t) {
    if (states[t] != states[0]) {
      std::fill(labels.begin() + t, labels.end(), 1);
      break;
    }
  }
  return labels;
}

std::int64_t first_after(const std::int64_t* labels, std::int64_t frames) {
  for (std::int64_t t = 0; t < frames; ++t) {
    if (labels[t] == 1) return t;
  }
  return -1;
}

}  // namespace phenoscale::spt
