// Velocity series of a probing window: gaps, smoothing spline, protrusion
// onsets and onset-aligned samples (DeepHACKS, Ma et al. 2024; docs/methods.md
// §3.1). The rules are stated in edge/series.hpp.
#include "phenoscale/edge/series.hpp"

#include <algorithm>
#include <cmath>
#include <numeric>
#include <string>

#include "phenoscale/core/error.hpp"

namespace phenoscale::edge {
namespace {

// ---------------------------------------------------------------- gaps

// Mean of the non-NaN originals within ±half_width of t; NaN when none.
double window_mean(const std::vector<double>& original, std::size_t t, int half_width) {
  const auto w = static_cast<std::size_t>(half_width);
  const std::size_t lo = t >= w ? t - w : 0;
  const std::size_t hi = std::min(original.size() - 1, t + w);
  double sum = 0.0;
  int count = 0;
  for (std::size_t i = lo; i <= hi; ++i) {
    if (std::isnan(original[i])) continue;
    sum += original[i];
    ++count;
  }
  return count > 0 ? sum / count : std::nan("");
}

// ---------------------------------------------------------------- spline

// Symmetric positive definite pentadiagonal system: main diagonal d0, first
// super-diagonal d1 (d1[i] = A[i][i+1]), second d2 (d2[i] = A[i][i+2]).
// Solved in place by LDLᵀ (no pivoting needed for an SPD matrix).
void solve_pentadiagonal_spd(std::vector<double> d0, std::vector<double> d1, std::vector<double> d2,
                             std::vector<double>& rhs) {
  const std::size_t m = d0.size();
  std::vector<double> diag(m), l1(m, 0.0), l2(m, 0.0);  // L[i][i-1], L[i][i-2]
  for (std::size_t i = 0; i < m; ++i) {
    if (i >= 2) l2[i] = d2[i - 2] / diag[i - 2];
    if (i >= 1) {
      const double carry = i >= 2 ? l2[i] * l1[i - 1] * diag[i - 2] : 0.0;
      l1[i] = (d1[i - 1] - carry) / diag[i - 1];
    }
    diag[i] = d0[i];
    if (i >= 1) diag[i] -= l1[i] * l1[i] * diag[i - 1];
    if (i >= 2) diag[i] -= l2[i] * l2[i] * diag[i - 2];
  }
  for (std::size_t i = 0; i < m; ++i) {  // L z = b
    if (i >= 1) rhs[i] -= l1[i] * rhs[i - 1];
    if (i >= 2) rhs[i] -= l2[i] * rhs[i - 2];
  }
  for (std::size_t i = 0; i < m; ++i) rhs[i] /= diag[i];
  for (std::size_t k = m; k-- > 0;) {  // Lᵀ x = y
    if (k + 1 < m) rhs[k] -= l1[k + 1] * rhs[k + 1];
    if (k + 2 < m) rhs[k] -= l2[k + 2] * rhs[k + 2];
  }
}

// ---------------------------------------------------------------- onsets

void check_onset_options(const OnsetOptions& o) {
  if (o.min_separation < 1)
    throw ConfigError("edge onsets: min_separation must be >= 1 frame, got " + std::to_string(o.min_separation));
  if (!(o.rise_threshold >= 0.0))
    throw ConfigError("edge onsets: rise_threshold must be >= 0 nm, got " + std::to_string(o.rise_threshold));
  if (!(o.frame_s > 0.0))
    throw ConfigError("edge onsets: frame_s must be > 0 s, got " + std::to_string(o.frame_s));
  // smoothing is checked by smoothing_spline itself.
}

// Interior local maxima of s; a plateau counts once, at its first index.
std::vector<std::size_t> local_maxima(const std::vector<double>& s) {
  std::vector<std::size_t> peaks;
  std::size_t i = 1;
  while (i + 1 < s.size()) {
    if (s[i] > s[i - 1]) {
      std::size_t j = i;
      while (j + 1 < s.size() && s[j + 1] == s[i]) ++j;  // walk the plateau
      if (j + 1 < s.size() && s[j + 1] < s[i]) peaks.push_back(i);
      i = j + 1;
    } else {
      ++i;
    }
  }
  return peaks;
}

// findpeaks(MinPeakDistance) thinning: highest first, each kept peak removes
// the others closer than min_separation. Returns the survivors by index.
std::vector<std::size_t> thin_maxima(const std::vector<double>& s, const std::vector<std::size_t>& peaks,
                                     int min_separation) {
  std::vector<std::size_t> order(peaks.size());
  std::iota(order.begin(), order.end(), std::size_t{0});
  std::stable_sort(order.begin(), order.end(),
                   [&](std::size_t a, std::size_t b) { return s[peaks[a]] > s[peaks[b]]; });
  std::vector<char> removed(peaks.size(), 0);
  const auto sep = static_cast<std::size_t>(min_separation);
  for (std::size_t k : order) {
    if (removed[k]) continue;
    for (std::size_t j = k; j-- > 0 && peaks[k] - peaks[j] < sep;) removed[j] = 1;
    for (std::size_t j = k + 1; j < peaks.size() && peaks[j] - peaks[k] < sep; ++j) removed[j] = 1;
  }
  std::vector<std::size_t> kept;
  for (std::size_t k = 0; k < peaks.size(); ++k)
    if (!removed[k]) kept.push_back(peaks[k]);
  return kept;
}

// Removes, smallest first, every interior maximum that is not a retraction
// onset: one from which the displacement does not fall by more than
// `threshold` before the next anchor, or which it did not rise to by more than
// `threshold` since the previous one. Measurement noise puts small maxima
// inside a protrusion; without this step each of them would end the event
// early (or hide its onset when it comes before the rise threshold is reached).
void drop_insignificant_maxima(const std::vector<double>& s, double threshold, std::vector<std::size_t>& anchors) {
  auto lowest = [&](std::size_t a, std::size_t b) {
    return *std::min_element(s.begin() + static_cast<std::ptrdiff_t>(a), s.begin() + static_cast<std::ptrdiff_t>(b) + 1);
  };
  while (anchors.size() > 2) {
    std::size_t worst = 0;
    double smallest = threshold;
    for (std::size_t k = 1; k + 1 < anchors.size(); ++k) {
      const double peak = s[anchors[k]];
      const double prominence =
          std::min(peak - lowest(anchors[k - 1], anchors[k]), peak - lowest(anchors[k], anchors[k + 1]));
      if (prominence <= smallest) smallest = prominence, worst = k;
    }
    if (worst == 0) return;
    anchors.erase(anchors.begin() + static_cast<std::ptrdiff_t>(worst));
  }
}

// Onsets of one finite run (frames [first, first + run.size())).
void onsets_of_run(const std::vector<double>& run, int first, const OnsetOptions& o,
                   std::vector<ProtrusionEvent>& events) {
  std::vector<double> boundary(run.size() + 1, 0.0);
  const std::vector<double> d = cumulative_displacement(run, o.frame_s);
  std::copy(d.begin(), d.end(), boundary.begin() + 1);
  const std::vector<double> s = smoothing_spline(boundary, o.smoothing);

  std::vector<std::size_t> anchors{0};
  for (std::size_t m : thin_maxima(s, local_maxima(s), o.min_separation)) anchors.push_back(m);
  anchors.push_back(s.size() - 1);
  drop_insignificant_maxima(s, o.rise_threshold, anchors);

  for (std::size_t k = 0; k + 1 < anchors.size(); ++k) {
    const std::size_t a = anchors[k], b = anchors[k + 1];
    const auto lowest = std::min_element(s.begin() + static_cast<std::ptrdiff_t>(a),
                                         s.begin() + static_cast<std::ptrdiff_t>(b) + 1);
    const auto m = static_cast<std::size_t>(lowest - s.begin());
    if (m == a || m == b) continue;
    const bool rises = s[b] - s[m] > o.rise_threshold;
    const bool fell = k == 0 || s[a] - s[m] > o.rise_threshold;  // anchor 0 is the block start
    if (rises && fell) events.push_back({first + static_cast<int>(m), first + static_cast<int>(b)});
  }
}

// ---------------------------------------------------------------- alignment

void check_align_options(const AlignOptions& o) {
  if (o.before < 0 || o.after < 0)
    throw ConfigError("edge alignment: before and after must be >= 0 frames, got " + std::to_string(o.before) +
                      " and " + std::to_string(o.after));
  if (o.min_frames < 1)
    throw ConfigError("edge alignment: min_frames must be >= 1, got " + std::to_string(o.min_frames));
}

void check_event(const ProtrusionEvent& e, std::size_t n) {
  if (e.onset < 0 || e.end <= e.onset || static_cast<std::size_t>(e.end) > n)
    throw InputError("edge alignment: event [" + std::to_string(e.onset) + ", " + std::to_string(e.end) +
                     ") is not a non-empty range of a series of " + std::to_string(n) + " frames");
}

}  // namespace

std::size_t fill_gaps(std::vector<double>& v, int half_width) {
  if (half_width < 0) throw ConfigError("edge gap filling: half_width must be >= 0, got " + std::to_string(half_width));
  std::size_t first = 0;
  while (first < v.size() && std::isnan(v[first])) ++first;
  std::size_t last = v.size();
  while (last > first && std::isnan(v[last - 1])) --last;
  if (last - first < 3) return 0;  // no interior position

  // The window means use the original values so the result does not depend
  // on the order in which a run of NaN is filled.
  const std::vector<double> original = v;
  std::size_t filled = 0, left = first;  // left: the nearest non-NaN before t
  for (std::size_t t = first + 1; t + 1 < last; ++t) {
    if (!std::isnan(original[t])) {
      left = t;
      continue;
    }
    double value = window_mean(original, t, half_width);
    if (std::isnan(value)) {
      std::size_t right = t + 1;
      while (std::isnan(original[right])) ++right;  // exists: last - 1 is non-NaN
      const double w = static_cast<double>(t - left) / static_cast<double>(right - left);
      value = (1.0 - w) * original[left] + w * original[right];
    }
    v[t] = value;
    ++filled;
  }
  return filled;
}

std::vector<double> cumulative_displacement(const std::vector<double>& velocity, double frame_s) {
  if (!(frame_s > 0.0))
    throw ConfigError("edge displacement: frame_s must be > 0 s, got " + std::to_string(frame_s));
  std::vector<double> d(velocity.size());
  double sum = 0.0;
  for (std::size_t t = 0; t < velocity.size(); ++t) {
    sum += velocity[t];
    d[t] = frame_s * sum;
  }
  return d;
}

std::vector<double> smoothing_spline(const std::vector<double>& y, double smoothing) {
  if (!(smoothing > 0.0 && smoothing <= 1.0))
    throw ConfigError("edge smoothing spline: smoothing p must be in (0, 1], got " + std::to_string(smoothing));
  for (double v : y)
    if (!std::isfinite(v)) throw InputError("edge smoothing spline: the series holds a non-finite value");
  const std::size_t n = y.size();
  if (n < 3) return y;  // the least-squares line through <= 2 points interpolates them

  // Unit knot spacing: Q is n×(n−2) with columns (1, −2, 1), R is
  // tridiag(1/6, 2/3, 1/6); R + λQᵀQ is pentadiagonal.
  const double lambda = (1.0 - smoothing) / smoothing;
  const std::size_t m = n - 2;
  std::vector<double> d0(m, 2.0 / 3.0 + 6.0 * lambda), d1(m, 1.0 / 6.0 - 4.0 * lambda), d2(m, lambda);
  std::vector<double> gamma(m);  // second derivatives at the interior knots
  for (std::size_t j = 0; j < m; ++j) gamma[j] = y[j] - 2.0 * y[j + 1] + y[j + 2];
  solve_pentadiagonal_spd(std::move(d0), std::move(d1), std::move(d2), gamma);

  std::vector<double> f(y);
  for (std::size_t i = 0; i < n; ++i) {
    double q_gamma = 0.0;  // (Qγ)_i = γ_i − 2γ_{i−1} + γ_{i−2}
    if (i < m) q_gamma += gamma[i];
    if (i >= 1 && i - 1 < m) q_gamma -= 2.0 * gamma[i - 1];
    if (i >= 2 && i - 2 < m) q_gamma += gamma[i - 2];
    f[i] -= lambda * q_gamma;
  }
  return f;
}

std::vector<ProtrusionEvent> detect_onsets(const std::vector<double>& velocity, const OnsetOptions& o) {
  check_onset_options(o);
  std::vector<ProtrusionEvent> events;
  std::size_t t = 0;
  while (t < velocity.size()) {
    if (!std::isfinite(velocity[t])) {
      ++t;
      continue;
    }
    std::size_t end = t;
    while (end < velocity.size() && std::isfinite(velocity[end])) ++end;
    if (end - t >= 3)
      onsets_of_run(std::vector<double>(velocity.begin() + static_cast<std::ptrdiff_t>(t),
                                        velocity.begin() + static_cast<std::ptrdiff_t>(end)),
                    static_cast<int>(t), o, events);
    t = end;
  }
  return events;
}

std::vector<AlignedSample> align_events(const std::vector<double>& velocity,
                                        const std::vector<ProtrusionEvent>& events, const AlignOptions& o,
                                        std::size_t* skipped) {
  check_align_options(o);
  std::vector<AlignedSample> samples;
  std::size_t dropped = 0;
  for (const ProtrusionEvent& e : events) {
    check_event(e, velocity.size());
    const int stop = std::min(e.end, e.onset + o.after + 1);
    const int first = e.onset - o.before;
    if (first < 0 || stop - first < o.min_frames) {
      ++dropped;
      continue;
    }
    AlignedSample s;
    s.onset = e.onset;
    s.first = first;
    s.velocity.assign(velocity.begin() + first, velocity.begin() + stop);
    if (std::any_of(s.velocity.begin(), s.velocity.end(), [](double v) { return std::isnan(v); })) {
      ++dropped;
      continue;
    }
    samples.push_back(std::move(s));
  }
  if (skipped) *skipped = dropped;
  return samples;
}

// ---------------------------------------------------------------- blocks

std::vector<FrameRange> velocity_blocks(int frames, int block_frames) {
  if (block_frames < 0 || block_frames == 1)
    throw ConfigError("edge blocks: block_frames must be 0 (the whole movie) or at least 2 frames, got " +
                      std::to_string(block_frames));
  if (frames < 0) throw InputError("edge blocks: a movie of " + std::to_string(frames) + " frames");
  const int step = block_frames == 0 ? std::max(frames, 1) : block_frames;
  std::vector<FrameRange> blocks;
  for (int first = 0; first < frames; first += step) {
    const int last = std::min(first + step, frames);  // one past the block's last frame
    if (last - first >= 2) blocks.push_back({first, last - 1});
  }
  return blocks;
}

}  // namespace phenoscale::edge
