#include "phenoscale/spt/segmentation.hpp"

#include <cmath>
#include <limits>

#include "phenoscale/ml/cross_validation.hpp"

namespace phenoscale::spt {

std::vector<Run> runs_of(const std::int64_t* states, std::int64_t frames) {
  std::vector<Run> runs;
  for (std::int64_t t = 0; t < frames; ++t) {
    if (runs.empty() || states[t] != runs.back().state) runs.push_back({t, t + 1, states[t]});
    else runs.back().end = t + 1;
  }
  return runs;
}

void merge_short_runs(std::int64_t* states, std::int64_t frames, std::int64_t min_run) {
  if (frames < min_run) return;  // documented: a track shorter than min_run is unchanged
  for (;;) {
    auto runs = runs_of(states, frames);
    if (runs.size() < 2) return;
    std::size_t shortest = 0;
    for (std::size_t i = 1; i < runs.size(); ++i) {
      if (runs[i].length() < runs[shortest].length()) shortest = i;
    }
    if (runs[shortest].length() >= min_run) return;
    const bool has_before = shortest > 0, has_after = shortest + 1 < runs.size();
    const std::int64_t before = has_before ? runs[shortest - 1].length() : -1;
    const std::int64_t after = has_after ? runs[shortest + 1].length() : -1;
    const std::int64_t into = before >= after ? runs[shortest - 1].state : runs[shortest + 1].state;
    for (std::int64_t t = runs[shortest].begin; t < runs[shortest].end; ++t) states[t] = into;
  }
}

std::vector<std::int64_t> changepoints(const std::int64_t* states, std::int64_t frames) {
  std::vector<std::int64_t> points;
  for (std::int64_t t = 1; t < frames; ++t) {
    if (states[t] != states[t - 1]) points.push_back(t);
  }
  return points;
}

void Confusion::add(const std::int64_t* truth, const std::int64_t* predicted, std::int64_t frames) {
  for (std::int64_t t = 0; t < frames; ++t) ++counts[static_cast<std::size_t>(truth[t] * kStates + predicted[t])];
}

}  // namespace phenoscale::spt
