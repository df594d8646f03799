#include "phenoscale/spt/fingerprint.hpp"

#include <Eigen/Eigenvalues>

#include <algorithm>
#include <array>
#include <cmath>
#include <limits>
#include <string>

#include "phenoscale/core/error.hpp"
#include "phenoscale/spt/convex_hull.hpp"
#include "phenoscale/spt/msd.hpp"

namespace phenoscale::spt {
namespace {

constexpr double kNaN = std::numeric_limits<double>::quiet_NaN();

// Column indices; kColumns below lists the names in the same order.
enum Col : std::size_t {
  msd_alpha, msd_diffusion, msd_fit_r2, efficiency_log, efficiency, fractal_dimension, gaussianity, kurtosis,
  msd_ratio, trappedness, hmm_fraction_0, hmm_dwell_0 = hmm_fraction_0 + kFingerprintHmmStates,
  mean_step = hmm_dwell_0 + kFingerprintHmmStates, mean_msd, mean_dot, fraction_same_sign_dots,
  fraction_positive_dots, step_sum, step_min, step_max, step_range, speed, step_cv, fraction_small_steps,
  fraction_large_steps, hull_measure, frames, instant_diffusion, seg_fraction_0,
  seg_segments = seg_fraction_0 + kStates, seg_switch_rate, seg_distinct_states, seg_longest_run_fraction,
  column_count
};

struct Column {
  std::string name;
  bool length_dependent;
};

std::vector<Column> column_table() {
  std::vector<Column> c = {{"msd_alpha", false}, {"msd_diffusion", false}, {"msd_fit_r2", false},
                           {"efficiency_log", false}, {"efficiency", false}, {"fractal_dimension", false},
                           {"gaussianity", false}, {"kurtosis", false}, {"msd_ratio", false},
                           {"trappedness", false}};
  for (int k = 0; k < kFingerprintHmmStates; ++k) c.push_back({"hmm_fraction_" + std::to_string(k), false});
  for (int k = 0; k < kFingerprintHmmStates; ++k) c.push_back({"hmm_dwell_" + std::to_string(k), false});
  for (const Column& x : std::vector<Column>{{"mean_step", false}, {"mean_msd", true}, {"mean_dot", false},
                                              {"fraction_same_sign_dots", false}, {"fraction_positive_dots", false},
                                              {"step_sum", true}, {"step_min", false}, {"step_max", false},
                                              {"step_range", false}, {"speed", false}, {"step_cv", false},
                                              {"fraction_small_steps", false}, {"fraction_large_steps", false},
                                              {"hull_measure", true}, {"frames", true},
                                              {"instant_diffusion", false}})
    c.push_back(x);
  for (int k = 0; k < kStates; ++k) c.push_back({"seg_fraction_" + state_names()[static_cast<std::size_t>(k)], false});
  for (const Column& x : std::vector<Column>{{"seg_segments", true}, {"seg_switch_rate", false},
                                              {"seg_distinct_states", false}, {"seg_longest_run_fraction", false}})
    c.push_back(x);
  return c;
}

// x / y, NaN when y is 0 (or either is NaN).
double ratio(double x, double y) { return y != 0.0 ? x / y : kNaN; }

double distance2(const TrackView& tr, std::int64_t i, std::int64_t j) {
  double s = 0.0;
  for (int a = 0; a < tr.dim; ++a) {
    const double d = tr.at(i, a) - tr.at(j, a);
    s += d * d;
  }
  return s;
}

// Quantities several features share, computed once.
struct Kinematics {
  std::vector<double> steps;        // N − 1 step lengths
  std::vector<double> step2;        // their squares
  std::vector<double> dots;         // N − 2 products of consecutive displacements
  std::vector<double> msd;          // lags 1..L
  double d_max = 0.0;               // largest pairwise distance
};

Kinematics kinematics(const TrackView& tr) {
  const std::int64_t n = tr.frames;
  Kinematics k;
  for (std::int64_t t = 0; t + 1 < n; ++t) {
    k.step2.push_back(distance2(tr, t + 1, t));
    k.steps.push_back(std::sqrt(k.step2.back()));
  }
  for (std::int64_t t = 0; t + 2 < n; ++t) {
    double dot = 0.0;
    for (int a = 0; a < tr.dim; ++a) dot += (tr.at(t + 1, a) - tr.at(t, a)) * (tr.at(t + 2, a) - tr.at(t + 1, a));
    k.dots.push_back(dot);
  }
  double d2 = 0.0;
  for (std::int64_t i = 0; i < n; ++i)
    for (std::int64_t j = i + 1; j < n; ++j) d2 = std::max(d2, distance2(tr, i, j));
  k.d_max = std::sqrt(d2);
  k.msd = time_averaged_msd(tr, std::min<std::int64_t>(std::max<std::int64_t>(2, n / 2), n - 1));
  return k;
}

double mean_of(const std::vector<double>& v) {
  if (v.empty()) return kNaN;
  double s = 0.0;
  for (double x : v) s += x;
  return s / static_cast<double>(v.size());
}

double sum_of(const std::vector<double>& v) {
  double s = 0.0;
  for (double x : v) s += x;
  return s;
}

void msd_features(const TrackView& tr, const Kinematics& k, double dt, std::vector<double>& out) {
  MsdFitOptions o;
  o.dt = dt;
  const MsdFit fit = fit_msd(k.msd, tr.dim, o);
  out[msd_alpha] = fit.alpha;
  out[msd_diffusion] = fit.diffusion;
  out[msd_fit_r2] = fit.r_squared;
  out[mean_msd] = mean_of(k.msd);
  out[instant_diffusion] = k.msd[0] / (2.0 * tr.dim * dt);
  double sum = 0.0;
  int pairs = 0;
  for (std::size_t n1 = 0; n1 < k.msd.size(); ++n1)
    for (std::size_t n2 = n1 + 1; n2 < k.msd.size(); ++n2) {
      if (!(k.msd[n2] > 0.0)) continue;
      sum += k.msd[n1] / k.msd[n2] - static_cast<double>(n1 + 1) / static_cast<double>(n2 + 1);
      ++pairs;
    }
  out[msd_ratio] = pairs > 0 ? sum / pairs : kNaN;
  const double r0 = k.d_max / 2.0;
  out[trappedness] = 1.0 - std::exp(0.2045 - 0.25117 * ratio(fit.diffusion * tr.frames * dt, r0 * r0));
}

void shape_features(const TrackView& tr, const Kinematics& k, std::vector<double>& out) {
  const std::int64_t last = tr.frames - 1;
  const double eff = ratio(distance2(tr, last, 0), static_cast<double>(k.steps.size()) * sum_of(k.step2));
  out[efficiency] = eff;
  out[efficiency_log] = eff > 0.0 ? std::log(eff) : kNaN;
  const double n = static_cast<double>(k.steps.size());
  const double path = sum_of(k.steps);
  const double denominator = std::log(n) + std::log(ratio(k.d_max, path));
  out[fractal_dimension] = denominator > 0.0 ? std::log(n) / denominator : kNaN;
  out[hull_measure] = convex_hull_measure(tr);
}

// Non-Gaussianity of lag-1 displacements and kurtosis along the main axis.
void distribution_features(const TrackView& tr, const Kinematics& k, std::vector<double>& out) {
  const double r2 = mean_of(k.step2);
  double r4 = 0.0;
  for (double s : k.step2) r4 += s * s;
  r4 /= static_cast<double>(k.step2.size());
  out[gaussianity] = ratio(tr.dim * r4, (tr.dim + 2) * r2 * r2);

  const std::int64_t n = tr.frames;
  Eigen::Vector3d mean = Eigen::Vector3d::Zero();
  for (std::int64_t t = 0; t < n; ++t)
    for (int a = 0; a < tr.dim; ++a) mean[a] += tr.at(t, a);
  mean /= static_cast<double>(n);
  // A 2-D track's covariance sits in the top-left 2×2 block; the zero third
  // row/column adds eigenvalue 0, which never outranks the dominant one.
  Eigen::Matrix3d cov = Eigen::Matrix3d::Zero();
  for (std::int64_t t = 0; t < n; ++t)
    for (int a = 0; a < tr.dim; ++a)
      for (int b = 0; b < tr.dim; ++b) cov(a, b) += (tr.at(t, a) - mean[a]) * (tr.at(t, b) - mean[b]);
  cov /= static_cast<double>(n);
  const Eigen::SelfAdjointEigenSolver<Eigen::Matrix3d> eig(cov);
  const Eigen::Vector3d axis = eig.eigenvectors().col(2);  // largest eigenvalue (ascending order)
  double m2 = 0.0, m4 = 0.0;
  for (std::int64_t t = 0; t < n; ++t) {
    double p = 0.0;
    for (int a = 0; a < tr.dim; ++a) p += (tr.at(t, a) - mean[a]) * axis[a];
    m2 += p * p;
    m4 += p * p * p * p;
  }
  m2 /= static_cast<double>(n);
  m4 /= static_cast<double>(n);
  out[kurtosis] = ratio(m4, m2 * m2);
}

void step_features(const Kinematics& k, const FingerprintOptions& o, std::vector<double>& out) {
  const double mean = mean_of(k.steps);
  double var = 0.0;
  int small = 0, large = 0;
  for (double s : k.steps) {
    var += (s - mean) * (s - mean);
    small += s < o.small_step;
    large += s > o.large_step;
  }
  const double n = static_cast<double>(k.steps.size());
  var /= n;
  out[mean_step] = mean;
  out[step_sum] = sum_of(k.steps);
  out[step_min] = *std::min_element(k.steps.begin(), k.steps.end());
  out[step_max] = *std::max_element(k.steps.begin(), k.steps.end());
  out[step_range] = out[step_max] - out[step_min];
  out[speed] = mean / o.dt;
  out[step_cv] = ratio(std::sqrt(var), mean);
  out[fraction_small_steps] = small / n;
  out[fraction_large_steps] = large / n;
}

int sign_of(double v) { return (v > 0.0) - (v < 0.0); }

void dot_features(const Kinematics& k, std::vector<double>& out) {
  out[mean_dot] = mean_of(k.dots);
  int positive = 0, same = 0;
  for (std::size_t t = 0; t < k.dots.size(); ++t) {
    positive += k.dots[t] > 0.0;
    if (t + 1 < k.dots.size()) same += sign_of(k.dots[t]) == sign_of(k.dots[t + 1]);
  }
  out[fraction_positive_dots] = static_cast<double>(positive) / static_cast<double>(k.dots.size());
  out[fraction_same_sign_dots] = k.dots.size() >= 2 ? static_cast<double>(same) / static_cast<double>(k.dots.size() - 1) : kNaN;
}

// Runs of equal values in a label sequence: (label, length) pairs.
std::vector<std::pair<std::int64_t, std::int64_t>> runs_of(const std::int64_t* labels, std::size_t n) {
  std::vector<std::pair<std::int64_t, std::int64_t>> runs;
  for (std::size_t t = 0; t < n; ++t) {
    if (runs.empty() || runs.back().first != labels[t]) runs.push_back({labels[t], 0});
    ++runs.back().second;
  }
  return runs;
}

void hmm_features(const Kinematics& k, const FingerprintOptions& o, std::vector<double>& out) {
  const HmmFit fit = hmm_fit(k.steps, o.hmm);
  std::array<double, kFingerprintHmmStates> occupancy{}, run_count{};
  for (const auto& [state, length] : runs_of(fit.path.data(), fit.path.size())) {
    occupancy[static_cast<std::size_t>(state)] += static_cast<double>(length);
    run_count[static_cast<std::size_t>(state)] += 1.0;
  }
  for (std::size_t s = 0; s < occupancy.size(); ++s) {
    out[hmm_fraction_0 + s] = occupancy[s] / static_cast<double>(fit.path.size());
    out[hmm_dwell_0 + s] = run_count[s] > 0.0 ? occupancy[s] / run_count[s] * o.dt : 0.0;
  }
}

void segmentation_features(const std::int64_t* states, std::int64_t n, std::vector<double>& out) {
  std::array<double, kStates> count{};
  for (std::int64_t t = 0; t < n; ++t) {
    if (states[t] < 0 || states[t] >= kStates)
      throw InputError("fingerprint: per-frame state " + std::to_string(states[t]) + " at frame " + std::to_string(t) +
                       " is outside 0.." + std::to_string(kStates - 1));
    count[static_cast<std::size_t>(states[t])] += 1.0;
  }
  if (n == 0) return;
  const auto runs = runs_of(states, static_cast<std::size_t>(n));
  std::int64_t longest = 0;
  for (const auto& r : runs) longest = std::max(longest, r.second);
  double distinct = 0.0;
  for (std::size_t s = 0; s < count.size(); ++s) {
    out[seg_fraction_0 + s] = count[s] / static_cast<double>(n);
    distinct += count[s] > 0.0;
  }
  out[seg_segments] = static_cast<double>(runs.size());
  out[seg_switch_rate] = n >= 2 ? static_cast<double>(runs.size() - 1) / static_cast<double>(n - 1) : kNaN;
  out[seg_distinct_states] = distinct;
  out[seg_longest_run_fraction] = static_cast<double>(longest) / static_cast<double>(n);
}

void validate(const TrackView& tr, const FingerprintOptions& o) {
  if (tr.dim != 2 && tr.dim != 3)
    throw InputError("fingerprint: tracks must be 2-D or 3-D, got dim = " + std::to_string(tr.dim));
  if (tr.frames < 0 || (tr.frames > 0 && tr.xyz == nullptr)) throw InputError("fingerprint: bad track view");
  for (std::int64_t i = 0; i < tr.frames * tr.dim; ++i)
    if (!std::isfinite(tr.xyz[i])) throw InputError("fingerprint: track holds a non-finite coordinate");
  if (!(o.dt > 0.0)) throw ConfigError("fingerprint: dt must be positive");
  if (o.hmm.states != kFingerprintHmmStates)
    throw ConfigError("fingerprint: the HMM must have " + std::to_string(kFingerprintHmmStates) +
                      " states (fixed columns), got " + std::to_string(o.hmm.states));
}

}  // namespace

std::vector<std::string> fingerprint_columns() {
  std::vector<std::string> names;
  for (const Column& c : column_table()) names.push_back(c.name);
  return names;
}

std::vector<bool> fingerprint_length_dependent() {
  std::vector<bool> flags;
  for (const Column& c : column_table()) flags.push_back(c.length_dependent);
  return flags;
}

std::vector<double> fingerprint(const TrackView& track, const std::int64_t* states, const FingerprintOptions& options,
                                std::uint64_t /*seed*/, std::uint64_t /*index*/) {
  validate(track, options);
  std::vector<double> out(column_count, kNaN);
  out[frames] = static_cast<double>(track.frames);
  if (states != nullptr) segmentation_features(states, track.frames, out);
  if (track.frames < 3) return out;
  const Kinematics k = kinematics(track);
  msd_features(track, k, options.dt, out);
  shape_features(track, k, out);
  distribution_features(track, k, out);
  step_features(k, options, out);
  dot_features(k, out);
  hmm_features(k, options, out);
  return out;
}

TrackView track_segment(const TrackView& track, std::int64_t begin, std::int64_t end) {
  if (begin < 0 || begin > end || end > track.frames)
    throw InputError("track_segment: frames [" + std::to_string(begin) + ", " + std::to_string(end) +
                     ") are not inside a track of " + std::to_string(track.frames) + " frames");
  return {track.xyz + begin * track.dim, end - begin, track.dim};
}

}  // namespace phenoscale::spt
