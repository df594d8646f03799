#include "phenoscale/spt/features.hpp"

#include <cmath>

namespace phenoscale::spt {

namespace {

// RMS step length of the track (1 when it has no non-zero step).
double rms_step(const TrackView& track) {
  double sum = 0.0;
  for (std::int64_t t = 1; t < track.frames; ++t) {
    for (int a = 0; a < track.dim; ++a) {
      const double step = track.at(t, a) - track.at(t - 1, a);
      sum += step * step;
    }
  }
  const double rms = track.frames > 1 ? std::sqrt(sum / double(track.frames - 1)) : 0.0;
  return rms > 0.0 && std::isfinite(rms) ? rms : 1.0;
}

}  // namespace

void append_frame_features(const TrackView& track, std::vector<float>& out) {
  const int dim = track.dim;
  const double scale = 1.0 / rms_step(track);
  for (std::int64_t t = 0; t < track.frames; ++t) {
    double step2 = 0.0, dot = 0.0;
    for (int a = 0; a < dim; ++a) {
      out.push_back(static_cast<float>((track.at(t, a) - track.at(0, a)) * scale));
      if (t >= 1) {
        const double step = track.at(t, a) - track.at(t - 1, a);
        step2 += step * step;
        if (t >= 2) dot += step * (track.at(t - 1, a) - track.at(t - 2, a));
      }
    }
    out.push_back(static_cast<float>(std::sqrt(step2) * scale));
    out.push_back(static_cast<float>(dot * scale * scale));
  }
}

}  // namespace phenoscale::spt
