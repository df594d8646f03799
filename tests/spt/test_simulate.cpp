// The DeepSPT diffusion simulator (docs/methods.md §2.1), Davies–Harte fGn and the
// AnDi-2021 models: known answers for each motion type, the mixture's
// statistics, and rank/order independence.
#include <gtest/gtest.h>

#include <algorithm>
#include <array>
#include <cmath>
#include <complex>
#include <cstdio>
#include <map>
#include <numeric>
#include <utility>
#include <vector>

#include "phenoscale/core/error.hpp"
#include "phenoscale/core/rng.hpp"
#include "phenoscale/spt/andi.hpp"
#include "phenoscale/spt/fgn.hpp"
#include "phenoscale/spt/simulate.hpp"

using namespace phenoscale;
using namespace phenoscale::spt;

namespace {

using Paths = std::vector<std::vector<double>>;

core::Rng test_rng(std::uint64_t index) { return core::Rng(2024, core::Stream::test, index); }

// Time- and ensemble-averaged MSD at each lag (in frames), all axes summed.
std::vector<double> ensemble_msd(const Paths& paths, int dim, const std::vector<int>& lags) {
  std::vector<double> msd;
  for (int lag : lags) {
    double sum = 0.0;
    std::int64_t count = 0;
    for (const auto& p : paths) {
      const std::int64_t frames = static_cast<std::int64_t>(p.size()) / dim;
      for (std::int64_t t = 0; t + lag < frames; ++t, ++count)
        for (int a = 0; a < dim; ++a) sum += std::pow(p[(t + lag) * dim + a] - p[t * dim + a], 2);
    }
    msd.push_back(sum / static_cast<double>(count));
  }
  return msd;
}

// Ensemble MSD from the origin at each frame index (for non-stationary models).
std::vector<double> msd_from_origin(const Paths& paths, int dim, const std::vector<int>& frames) {
  std::vector<double> msd;
  for (int f : frames) {
    double sum = 0.0;
    for (const auto& p : paths)
      for (int a = 0; a < dim; ++a) sum += p[f * dim + a] * p[f * dim + a];
    msd.push_back(sum / static_cast<double>(paths.size()));
  }
  return msd;
}

struct PowerLaw {
  double alpha, D;
};

// Least squares of log MSD = log(2 dim D) + α log(t) over times t (time units).
PowerLaw fit_power_law(const std::vector<double>& times, const std::vector<double>& msd, int dim) {
  const double n = static_cast<double>(times.size());
  double sx = 0, sy = 0, sxx = 0, sxy = 0;
  for (std::size_t i = 0; i < times.size(); ++i) {
    const double x = std::log(times[i]), y = std::log(msd[i]);
    sx += x, sy += y, sxx += x * x, sxy += x * y;
  }
  const double alpha = (n * sxy - sx * sy) / (n * sxx - sx * sx);
  const double intercept = (sy - alpha * sx) / n;
  return {alpha, std::exp(intercept) / (2.0 * dim)};
}

std::vector<int> range(int lo, int hi) {  // [lo, hi]
  std::vector<int> r(static_cast<std::size_t>(hi - lo + 1));
  std::iota(r.begin(), r.end(), lo);
  return r;
}

std::vector<double> times_of(const std::vector<int>& lags, double dt) {
  std::vector<double> t;
  for (int l : lags) t.push_back(l * dt);
  return t;
}

// The dim coordinates at frame f of a frames × dim position array.
const double* at(const std::vector<double>& xyz, std::int64_t f, int dim) { return xyz.data() + f * dim; }

}  // namespace

// ---- Davies–Harte fGn ---------------------------------------------------------

TEST(Fgn, FftMatchesTheDirectDft) {
  std::vector<std::complex<double>> x(16);
  auto rng = test_rng(1);
  for (auto& v : x) v = {rng.normal(), rng.normal()};
  auto y = x;
  fft_radix2(y);
  for (std::size_t k = 0; k < x.size(); ++k) {
    std::complex<double> direct = 0;
    for (std::size_t j = 0; j < x.size(); ++j)
      direct += x[j] * std::polar(1.0, -2.0 * M_PI * static_cast<double>(j * k) / x.size());
    EXPECT_NEAR(std::abs(y[k] - direct), 0.0, 1e-12) << k;
  }
}

TEST(Fgn, SampleAutocovarianceMatchesTheAnalyticFormula) {
  // R independent sequences of n (not a power of two: the embedding pads to
  // 512 and truncates). For Gaussian data Isserlis gives the exact variance of
  // ĉ(k) = Σ_t x_t x_{t+k} / (R (n−k)):
  //   Var = Σ_{t,s<n−k} [γ(t−s)² + γ(t−s+k) γ(t−s−k)] / (R (n−k)²),
  // which sets a 5σ tolerance per lag (long memory at H = 0.75 widens it).
  const std::int64_t n = 300;
  const int R = 1500, max_lag = 8;
  for (double H : {0.25, 0.5, 0.75}) {
    // Half of the sequences from the single-sequence call, half as the
    // (real, imaginary) pairs of the multi-sequence call; the pairs' cross-covariance
    // at lag 0 must vanish (Var = Σ_d (n−|d|) γ(d)² / (R/2 · n²)).
    std::vector<double> sum(max_lag + 1, 0.0);
    double cross = 0.0;
    for (int r = 0; r < R / 2; ++r) {
      auto rng = test_rng(1000 + r);
      std::vector<std::vector<double>> xs = fgn_davies_harte(n, H, 2, rng);
      ASSERT_EQ(xs.size(), 2u);
      for (std::int64_t t = 0; t < n; ++t) cross += xs[0][t] * xs[1][t];
      xs.push_back(fgn_davies_harte(n, H, rng));
      xs.erase(xs.begin() + (r % 2));  // keep one of the pair: all R sequences are independent
      for (const auto& x : xs) {
        ASSERT_EQ(static_cast<std::int64_t>(x.size()), n);
        for (int k = 0; k <= max_lag; ++k)
          for (std::int64_t t = 0; t + k < n; ++t) sum[k] += x[t] * x[t + k];
      }
    }
    double cross_var = 0.0;
    for (std::int64_t d = -(n - 1); d <= n - 1; ++d) cross_var += (n - std::abs(d)) * std::pow(fgn_autocovariance(d, H), 2);
    const double cross_sd = std::sqrt(cross_var / (R / 2.0 * n * n));
    EXPECT_NEAR(cross / (R / 2.0 * n), 0.0, 5 * cross_sd) << "H " << H;
    double worst_sigmas = 0.0;
    for (int k = 0; k <= max_lag; ++k) {
      const std::int64_t m = n - k;
      double var = 0.0;
      for (std::int64_t d = -(m - 1); d <= m - 1; ++d) {
        const double g = fgn_autocovariance(d, H);
        var += static_cast<double>(m - std::abs(d)) * (g * g + fgn_autocovariance(d + k, H) * fgn_autocovariance(d - k, H));
      }
      const double sd = std::sqrt(var / (static_cast<double>(R) * m * m));
      const double estimate = sum[k] / (static_cast<double>(R) * m);
      const double expected = fgn_autocovariance(k, H);
      EXPECT_NEAR(estimate, expected, 5 * sd) << "H " << H << " lag " << k;
      worst_sigmas = std::max(worst_sigmas, std::abs(estimate - expected) / sd);
      if (k <= 2)
        std::printf("  fGn H=%.2f lag %d: sample %.4f, analytic %.4f, error %.1e (%.1f sd)\n", H, k, estimate,
                    expected, estimate - expected, (estimate - expected) / sd);
    }
    std::printf("  fGn H=%.2f: worst lag 0..%d within %.2f sd\n", H, max_lag, worst_sigmas);
  }
}

TEST(Fgn, AnalyticAutocovarianceAtKnownPoints) {
  EXPECT_DOUBLE_EQ(fgn_autocovariance(0, 0.3), 1.0);
  EXPECT_NEAR(fgn_autocovariance(1, 0.5), 0.0, 1e-15);  // white noise
  EXPECT_NEAR(fgn_autocovariance(1, 0.75), 0.5 * (std::pow(2.0, 1.5) - 2.0), 1e-15);
  EXPECT_DOUBLE_EQ(fgn_autocovariance(-3, 0.2), fgn_autocovariance(3, 0.2));
}

TEST(Fgn, RejectsHurstOutsideTheOpenUnitInterval) {
  auto rng = test_rng(2);
  for (double H : {0.0, 1.0, -0.1, 1.5}) EXPECT_THROW(fgn_davies_harte(10, H, rng), ConfigError) << H;
  EXPECT_TRUE(fgn_davies_harte(0, 0.5, rng).empty());
  EXPECT_EQ(fgn_davies_harte(1, 0.5, rng).size(), 1u);
}

// ---- single modes: MSD scaling ----------------------------------------------

TEST(Modes, BrownianMsdHasAlphaOneAndTheRightD) {
  // 10^4 tracks of 100 frames: MSD = 2 dim D t, fitted on lags 1..10.
  const double D = 0.05;
  const std::vector<int> lags = range(1, 10);
  for (auto [dim, dt] : {std::pair<int, double>{2, 1.0}, {3, 0.5}}) {
    Paths paths;
    const std::array<double, 3> start{1.0, -2.0, 3.0};
    for (int i = 0; i < 10000; ++i) {
      auto rng = test_rng(i);
      paths.push_back(simulate_normal(dim, 100, D, dt, start.data(), rng));
    }
    const PowerLaw fit = fit_power_law(times_of(lags, dt), ensemble_msd(paths, dim, lags), dim);
    EXPECT_NEAR(fit.alpha, 1.0, 0.05) << "dim " << dim;
    EXPECT_NEAR(fit.D / D, 1.0, 0.05) << "dim " << dim;
    std::printf("  Brownian dim %d dt %.1f: alpha %.4f, D error %+.2f%%\n", dim, dt, fit.alpha,
                100 * (fit.D / D - 1));
  }
}

TEST(Modes, FractionalBrownianMsdHasAlphaTwiceHurst) {
  // H = 0.25 → α = 0.5; per-axis displacement variance 2 D (t dt)^α.
  const double D = 0.05, alpha = 0.5;
  const std::vector<int> lags = range(1, 10);
  for (auto [dim, dt] : {std::pair<int, double>{2, 1.0}, {3, 2.0}}) {
    Paths paths;
    const std::array<double, 3> start{};
    for (int i = 0; i < 5000; ++i) {
      auto rng = test_rng(i);
      paths.push_back(simulate_fbm(dim, 100, D, dt, alpha, start.data(), rng));
    }
    const PowerLaw fit = fit_power_law(times_of(lags, dt), ensemble_msd(paths, dim, lags), dim);
    EXPECT_NEAR(fit.alpha, alpha, 0.05) << "dim " << dim;
    EXPECT_NEAR(fit.D / D, 1.0, 0.05) << "dim " << dim;
    std::printf("  fBm H=0.25 dim %d dt %.1f: alpha %.4f, D error %+.2f%%\n", dim, dt, fit.alpha,
                100 * (fit.D / D - 1));
  }
}

TEST(Modes, FractionalBrownianAtAlphaZeroUsesTheMinimumHurst) {
  // α = 0 would be H = 0: clamped to kMinHurst, giving finite, nearly flat MSD.
  Paths paths;
  const std::array<double, 3> start{};
  for (int i = 0; i < 500; ++i) {
    auto rng = test_rng(i);
    paths.push_back(simulate_fbm(2, 64, 0.1, 1.0, 0.0, start.data(), rng));
    for (double v : paths.back()) ASSERT_TRUE(std::isfinite(v));
  }
  const std::vector<int> lags = {1, 30};
  const auto msd = ensemble_msd(paths, 2, lags);
  EXPECT_NEAR(msd[1] / msd[0], std::pow(30.0, 2 * kMinHurst), 0.1);
}

TEST(Modes, DirectedMsdIsBallisticAtLongLags) {
  // MSD = 2 dim D t + v² t²: with v² ≫ D the fit over lags 20..50 gives α ≈ 2.
  const double D = 0.01, v = 0.5, dt = 1.0;
  const std::vector<int> lags = range(20, 50);
  for (int dim : {2, 3}) {
    Paths paths;
    const std::array<double, 3> start{};
    std::array<double, 3> direction{};
    for (int i = 0; i < 300; ++i) {
      auto rng = test_rng(i);
      direction = random_direction(dim, rng);
      paths.push_back(simulate_directed(dim, 100, D, dt, v, direction, start.data(), rng));
    }
    const PowerLaw fit = fit_power_law(times_of(lags, dt), ensemble_msd(paths, dim, lags), dim);
    EXPECT_GT(fit.alpha, 1.8) << "dim " << dim;
    EXPECT_LT(fit.alpha, 2.01) << "dim " << dim;
    // The drift: after 100 frames the mean displacement along the direction is v·100·dt.
    const auto& last = paths.back();
    double along = 0.0;
    for (int a = 0; a < dim; ++a) along += last[99 * dim + a] * direction[a];
    EXPECT_NEAR(along, v * 100 * dt, 6 * std::sqrt(2 * D * 100 * dt));
    std::printf("  directed dim %d: alpha(20..50) %.4f\n", dim, fit.alpha);
  }
}

TEST(Modes, RandomDirectionsAreUnitAndUnbiased) {
  for (int dim : {2, 3}) {
    std::array<double, 3> mean{};
    const int n = 20000;
    auto rng = test_rng(7);
    for (int i = 0; i < n; ++i) {
      const auto d = random_direction(dim, rng);
      double norm = 0;
      for (int a = 0; a < dim; ++a) norm += d[a] * d[a], mean[a] += d[a] / n;
      ASSERT_NEAR(norm, 1.0, 1e-12);
    }
    // Each coordinate has variance 1/dim: mean within 5σ of 0.
    for (int a = 0; a < dim; ++a) EXPECT_NEAR(mean[a], 0.0, 5 * std::sqrt(1.0 / dim / n)) << dim << " " << a;
  }
}

// ---- confinement ------------------------------------------------------------

TEST(Modes, ConfinedTracksNeverLeaveTheirEllipsoid) {
  for (int dim : {2, 3}) {
    for (int e = 0; e < 20; ++e) {
      auto rng = test_rng(100 + e);
      Ellipsoid ell = random_ellipsoid(dim, 0.025, 0.125, rng);
      for (int a = 0; a < dim; ++a) ell.centre[a] = 10.0 * (a + 1);
      // The principal axes are a rotation: orthonormal rows.
      for (int r = 0; r < dim; ++r)
        for (int c = 0; c < dim; ++c) {
          double dot = 0;
          for (int k = 0; k < dim; ++k) dot += ell.axes[3 * r + k] * ell.axes[3 * c + k];
          ASSERT_NEAR(dot, r == c ? 1.0 : 0.0, 1e-12);
        }
      for (int r = 0; r < dim; ++r) ASSERT_TRUE(ell.semi_axes[r] >= 0.025 && ell.semi_axes[r] < 0.125);
      // D = 0.5: the free spread per frame (1 length unit) is ≫ the ellipsoid, so the walls are hit constantly.
      const auto path = simulate_confined(ell, 200, 0.5, 1.0, 100, ell.centre.data(), rng);
      std::array<double, 3> reach{};  // max |projection| / semi-axis per principal axis
      for (std::int64_t f = 0; f < 200; ++f) {
        double q = 0;
        for (int r = 0; r < dim; ++r) {
          double u = 0;
          for (int c = 0; c < dim; ++c) u += (path[f * dim + c] - ell.centre[c]) * ell.axes[3 * r + c];
          q += std::pow(u / ell.semi_axes[r], 2);
          reach[r] = std::max(reach[r], std::abs(u) / ell.semi_axes[r]);
        }
        ASSERT_LE(q, 1.0) << "dim " << dim << " ellipsoid " << e << " frame " << f;
      }
      // It does explore the whole ellipsoid (the test could not fail on a particle stuck at the centre).
      for (int r = 0; r < dim; ++r) EXPECT_GT(reach[r], 0.8) << "dim " << dim << " axis " << r;
    }
  }
  // A start outside is a programming error.
  auto rng = test_rng(3);
  Ellipsoid ell = random_ellipsoid(2, 0.05, 0.05, rng);
  const std::array<double, 3> outside{1.0, 1.0, 0.0};
  EXPECT_THROW(simulate_confined(ell, 5, 0.1, 1.0, 10, outside.data(), rng), Error);
}

TEST(Modes, SegmentLengthsRespectTheMinimumAndSum) {
  auto rng = test_rng(9);
  for (int i = 0; i < 2000; ++i) {
    const int k = 2 + static_cast<int>(rng.below(3));
    const std::int64_t total = 5 * k + static_cast<std::int64_t>(rng.below(200));
    const auto lengths = random_segment_lengths(total, k, 5, rng);
    ASSERT_EQ(static_cast<int>(lengths.size()), k);
    ASSERT_EQ(std::accumulate(lengths.begin(), lengths.end(), std::int64_t{0}), total);
    for (auto l : lengths) ASSERT_GE(l, 5);
  }
  EXPECT_THROW(random_segment_lengths(9, 2, 5, rng), Error);
}

// ---- the DeepSPT mixture ----------------------------------------------------

TEST(Mixture, PropertiesOfFiveThousandTracks) {
  SimulationOptions o;  // docs/methods.md §2.1 defaults
  const int n = 5000;
  const std::uint64_t seed = 77;
  int single = 0, switching_long = 0;
  std::map<int, int> k_counts;  // among switching tracks with N ≥ 20 (no reduction of k)
  double sum_log_d = 0.0;
  double noise_chi2 = 0.0;
  std::int64_t noise_count = 0;
  double boundary_step2 = 0.0, inner_step2 = 0.0;
  std::map<int, int> state_frames;
  std::vector<Track> first_pass;
  for (int i = 0; i < n; ++i) {
    const SimulatedTrack s = simulate_track_detailed(o, seed, i);
    const Track& t = s.track;
    const std::int64_t N = t.frames();
    ASSERT_EQ(t.dim, 2);
    ASSERT_TRUE(N >= 5 && N < 600) << N;
    ASSERT_EQ(static_cast<std::int64_t>(t.states.size()), N);
    ASSERT_EQ(s.true_xyz.size(), t.xyz.size());
    ASSERT_TRUE(t.diffusion >= 1e-4 && t.diffusion <= 0.5) << t.diffusion;
    ASSERT_TRUE(t.quality >= 1.0 && t.quality <= 16.0) << t.quality;
    sum_log_d += std::log(t.diffusion);

    const auto& segs = s.segments;
    ASSERT_GE(segs.size(), 1u);
    ASSERT_LE(segs.size(), 4u);
    if (segs.size() == 1) ++single;
    if (segs.size() > 1 && N >= 20) ++k_counts[static_cast<int>(segs.size())], ++switching_long;
    std::int64_t begin = 0;
    std::array<double, 3> previous_end{};  // the track starts from the origin
    for (std::size_t k = 0; k < segs.size(); ++k) {
      const Segment& seg = segs[k];
      const SegmentParameters& p = seg.parameters;
      ASSERT_EQ(seg.begin, begin);
      if (segs.size() > 1) {
        ASSERT_GE(seg.frames, 5);
      }
      if (k > 0) {
        ASSERT_NE(p.state, segs[k - 1].parameters.state) << "track " << i;
      }
      for (std::int64_t f = seg.begin; f < seg.begin + seg.frames; ++f) ASSERT_EQ(t.states[f], p.state);
      state_frames[p.state] += static_cast<int>(seg.frames);
      const double D = t.diffusion;
      double drift = 0.0;
      if (p.state == directed) {
        // v = sqrt(4 D R / T) with R in [5, 25], T in [5, 600) frames.
        ASSERT_GE(p.velocity, std::sqrt(4 * D * 5 / 599) * (1 - 1e-12));
        ASSERT_LE(p.velocity, std::sqrt(4 * D * 25 / 5) * (1 + 1e-12));
        ASSERT_NEAR(std::hypot(p.direction[0], p.direction[1]), 1.0, 1e-12);
        drift = p.velocity;
      }
      if (p.state == subdiffusive) {
        ASSERT_TRUE(p.alpha >= 0.0 && p.alpha < 0.7);
      }
      if (p.state == confined) {
        // Centred on where the previous segment ended, and never left.
        for (int a = 0; a < 2; ++a) ASSERT_EQ(p.ellipsoid.centre[a], previous_end[a]);
        for (int r = 0; r < 2; ++r) ASSERT_TRUE(p.ellipsoid.semi_axes[r] >= 0.025 && p.ellipsoid.semi_axes[r] < 0.125);
        for (std::int64_t f = seg.begin; f < seg.begin + seg.frames; ++f)
          ASSERT_TRUE(p.ellipsoid.contains(at(s.true_xyz, f, 2))) << "track " << i << " frame " << f;
      }
      ASSERT_NEAR(seg.noise_sd, std::sqrt(D + drift * drift) / t.quality, 1e-12 * seg.noise_sd);
      for (std::int64_t f = seg.begin; f < seg.begin + seg.frames; ++f, ++noise_count)
        for (int a = 0; a < 2; ++a) noise_chi2 += std::pow((t.xyz[f * 2 + a] - s.true_xyz[f * 2 + a]) / seg.noise_sd, 2) / 2;
      // Continuity: the step into a segment is one step of that segment's motion,
      // not a jump (compared with the segment's own mean squared step).
      if (k > 0 && seg.frames >= 2) {
        auto step2 = [&](std::int64_t f) {
          return std::pow(s.true_xyz[f * 2] - s.true_xyz[f * 2 - 2], 2) +
                 std::pow(s.true_xyz[f * 2 + 1] - s.true_xyz[f * 2 - 1], 2);
        };
        double inner = 0;
        for (std::int64_t f = seg.begin + 1; f < seg.begin + seg.frames; ++f) inner += step2(f);
        boundary_step2 += step2(seg.begin) / D;
        inner_step2 += inner / (seg.frames - 1) / D;
      }
      std::copy_n(at(s.true_xyz, seg.begin + seg.frames - 1, 2), 2, previous_end.begin());
      begin += seg.frames;
    }
    ASSERT_EQ(begin, N);
    if (i < 300) first_pass.push_back(t);
  }

  // Single-mode: 20% drawn, plus switching tracks too short for two segments (N < 10).
  const double p_single = 0.2 + 0.8 * (10.0 - 5.0) / 595.0;
  const double single_fraction = static_cast<double>(single) / n;
  EXPECT_NEAR(single_fraction, p_single, 3 * std::sqrt(p_single * (1 - p_single) / n));
  // k uniform in {2, 3, 4}.
  for (int k = 2; k <= 4; ++k)
    EXPECT_NEAR(static_cast<double>(k_counts[k]) / switching_long, 1.0 / 3,
                3 * std::sqrt(2.0 / 9 / switching_long)) << "k " << k;
  // D log-uniform: mean of log D at the midpoint (sd of log D is (log 5000)/sqrt(12)).
  const double log_span = std::log(0.5) - std::log(1e-4);
  EXPECT_NEAR(sum_log_d / n, 0.5 * (std::log(0.5) + std::log(1e-4)), 3 * log_span / std::sqrt(12.0 * n));
  // Localisation noise: (residual/σ)² averages 1 (each term has variance 2, averaged in pairs).
  EXPECT_NEAR(noise_chi2 / noise_count, 1.0, 5 * std::sqrt(1.0 / noise_count));
  // Continuity: boundary steps are as large as inner steps on average (a restart
  // at the origin would make them hundreds of times larger).
  EXPECT_NEAR(boundary_step2 / inner_step2, 1.0, 0.35);
  // Every state occurs.
  for (int st = 0; st < kStates; ++st) EXPECT_GT(state_frames[st], 0) << st;
  std::printf("  %d tracks: single-mode %.4f (expected %.4f), boundary/inner step² %.3f, noise chi² %.4f\n", n,
              single_fraction, p_single, boundary_step2 / inner_step2, noise_chi2 / noise_count);

  // Rank independence: the same tracks again, in reverse order, bit for bit.
  for (int i = 299; i >= 0; --i) {
    const Track again = simulate_track(o, seed, i);
    ASSERT_EQ(again.xyz, first_pass[i].xyz) << i;
    ASSERT_EQ(again.states, first_pass[i].states) << i;
    ASSERT_EQ(again.diffusion, first_pass[i].diffusion);
    ASSERT_EQ(again.quality, first_pass[i].quality);
  }
  const std::vector<Track> block = simulate_tracks(o, seed, 100, 50);
  for (int i = 0; i < 50; ++i) ASSERT_EQ(block[i].xyz, first_pass[100 + i].xyz);
}

TEST(Mixture, ThreeDimensionalTracksAndSeedsAndIndicesMatter) {
  SimulationOptions o;
  o.dim = 3;
  o.max_length = 100;
  for (int i = 0; i < 200; ++i) {
    const SimulatedTrack s = simulate_track_detailed(o, 5, i);
    ASSERT_EQ(s.track.dim, 3);
    ASSERT_EQ(s.track.xyz.size(), static_cast<std::size_t>(s.track.frames() * 3));
    for (const Segment& seg : s.segments) {
      if (seg.parameters.state == confined) {
        for (std::int64_t f = seg.begin; f < seg.begin + seg.frames; ++f)
          ASSERT_TRUE(seg.parameters.ellipsoid.contains(at(s.true_xyz, f, 3)));
      }
      if (seg.parameters.state == directed) {
        const auto& d = seg.parameters.direction;
        ASSERT_NEAR(d[0] * d[0] + d[1] * d[1] + d[2] * d[2], 1.0, 1e-12);
      }
    }
  }
  const Track a = simulate_track(o, 5, 3);
  EXPECT_NE(a.xyz, simulate_track(o, 6, 3).xyz);
  EXPECT_NE(a.xyz, simulate_track(o, 5, 4).xyz);
}

TEST(Mixture, LayoutIsDrawnBeforeThePaths) {
  // Changing the confined substeps changes paths, not lengths, states, D or Q.
  SimulationOptions o, p;
  p.substeps = 7;
  int differing_paths = 0;
  for (int i = 0; i < 50; ++i) {
    const SimulatedTrack a = simulate_track_detailed(o, 1, i), b = simulate_track_detailed(p, 1, i);
    ASSERT_EQ(a.track.states, b.track.states);
    ASSERT_EQ(a.track.diffusion, b.track.diffusion);
    ASSERT_EQ(a.track.quality, b.track.quality);
    differing_paths += a.track.xyz != b.track.xyz;
  }
  EXPECT_GT(differing_paths, 0);
}

TEST(Mixture, AllSingleModeOrAllSwitchingOnRequest) {
  SimulationOptions o;
  o.single_mode_fraction = 1.0;
  for (int i = 0; i < 100; ++i) ASSERT_EQ(simulate_track_detailed(o, 3, i).segments.size(), 1u);
  o.single_mode_fraction = 0.0;
  o.min_length = 20;
  for (int i = 0; i < 100; ++i) ASSERT_GE(simulate_track_detailed(o, 3, i).segments.size(), 2u);
}

TEST(Mixture, InvalidOptionsAreConfigErrorsNamingTheOption) {
  auto message = [](auto mutate) {
    SimulationOptions o;
    mutate(o);
    try {
      simulate_track(o, 1, 0);
    } catch (const ConfigError& e) {
      return std::string(e.what());
    }
    return std::string("no error");
  };
  EXPECT_EQ(message([](SimulationOptions& o) { o.dim = 4; }), "simulate.dim = 4: expected 2 or 3");
  EXPECT_NE(message([](SimulationOptions& o) { o.max_length = 5; }).find("simulate.max_length = 5"), std::string::npos);
  EXPECT_NE(message([](SimulationOptions& o) { o.d_min = 0; }).find("simulate.d_min"), std::string::npos);
  EXPECT_NE(message([](SimulationOptions& o) { o.q_max = 0.5; }).find("simulate.q_max"), std::string::npos);
  EXPECT_NE(message([](SimulationOptions& o) { o.substeps = 0; }).find("simulate.substeps"), std::string::npos);
  EXPECT_NE(message([](SimulationOptions& o) { o.alpha_max = 2.0; }).find("simulate.alpha_max"), std::string::npos);
  EXPECT_NE(message([](SimulationOptions& o) { o.single_mode_fraction = 1.5; }).find("single_mode_fraction"),
            std::string::npos);
  EXPECT_NE(message([](SimulationOptions& o) { o.model = "andi:xyz"; }).find("simulate.model = \"andi:xyz\""),
            std::string::npos);
  EXPECT_EQ(message([](SimulationOptions&) {}), "no error");
}

// ---- labelled populations (spt classify's test data) -------------------------

TEST(Populations, FrameSharesAreLargestRemainderRoundingsSummingToTheLength) {
  using Shares = std::array<std::int64_t, kStates>;
  EXPECT_EQ(mode_frame_shares({0.6, 0, 0, 0.4}, 301), (Shares{181, 0, 0, 120}));  // 180.6, 120.4
  EXPECT_EQ(mode_frame_shares({0.4, 0, 0, 0.6}, 300), (Shares{120, 0, 0, 180}));
  EXPECT_EQ(mode_frame_shares({1, 1, 1, 0}, 10), (Shares{4, 3, 3, 0}));           // ties to the lower mode
  EXPECT_EQ(mode_frame_shares({3, 0, 0, 2}, 5), (Shares{3, 0, 0, 2}));            // weights need not sum to 1
  EXPECT_EQ(mode_frame_shares({0, 0, 1, 0}, 7), (Shares{0, 0, 7, 0}));
}

TEST(Populations, TracksSpendTheirPopulationsSharesInEachMode) {
  SimulationOptions o;
  o.min_length = 200;
  o.max_length = 400;
  o.populations = 2;
  o.experiments = 3;
  o.population_weights = {{0.6, 0, 0, 0.4}, {0.4, 0, 0, 0.6}};
  std::map<std::pair<std::int64_t, std::int64_t>, int> tracks_per_cell;  // (population, experiment)
  for (std::uint64_t i = 0; i < 60; ++i) {
    const std::int64_t p = population_of(o, i), e = experiment_of(o, i);
    ASSERT_EQ(p, static_cast<std::int64_t>(i % 2));
    ASSERT_EQ(e, static_cast<std::int64_t>((i / 2) % 3));
    ++tracks_per_cell[{p, e}];
    const SimulatedTrack s = simulate_track_detailed(o, 9, i);
    ASSERT_EQ(s.population, p);
    const auto shares = mode_frame_shares(o.population_weights[static_cast<std::size_t>(p)], s.track.frames());
    std::array<std::int64_t, kStates> frames{}, pieces{};
    for (auto state : s.track.states) ++frames[static_cast<std::size_t>(state)];
    EXPECT_EQ(frames, shares) << "track " << i;
    std::int64_t begin = 0;
    for (const Segment& seg : s.segments) {
      ASSERT_EQ(seg.begin, begin);
      ASSERT_GE(seg.frames, o.min_segment);
      begin += seg.frames;
      ++pieces[static_cast<std::size_t>(seg.parameters.state)];
    }
    ASSERT_EQ(begin, s.track.frames());
    // About population_segment_frames (25) frames per piece: round(n / 25) pieces per mode.
    for (int m = 0; m < kStates; ++m)
      EXPECT_EQ(pieces[m], shares[m] == 0 ? 0 : std::max<std::int64_t>(1, (shares[m] + 12) / 25)) << "mode " << m;
  }
  for (const auto& [cell, count] : tracks_per_cell) EXPECT_EQ(count, 10) << "every experiment holds every population";
}

TEST(Populations, OffByDefaultAndWithoutEffectOnTheDeepSptStream) {
  SimulationOptions plain, off = plain;
  off.population_weights = {{1, 0, 0, 0}};
  off.experiments = 4;  // populations = 0: ignored
  EXPECT_EQ(population_of(plain, 5), -1);
  EXPECT_EQ(experiment_of(plain, 5), -1);
  for (int i = 0; i < 20; ++i) {
    const SimulatedTrack a = simulate_track_detailed(plain, 2, i), b = simulate_track_detailed(off, 2, i);
    ASSERT_EQ(a.track.xyz, b.track.xyz);
    ASSERT_EQ(a.track.states, b.track.states);
    ASSERT_EQ(a.population, -1);
  }
}

TEST(Populations, InvalidOptionsNameTheOption) {
  auto message = [](auto mutate) {
    SimulationOptions o;
    o.populations = 2;
    o.population_weights = {{0.6, 0, 0, 0.4}, {0.4, 0, 0, 0.6}};
    mutate(o);
    try {
      simulate_track(o, 1, 0);
    } catch (const ConfigError& e) {
      return std::string(e.what());
    }
    return std::string("no error");
  };
  EXPECT_EQ(message([](SimulationOptions&) {}), "no error");
  EXPECT_NE(message([](SimulationOptions& o) { o.population_weights.pop_back(); }).find("simulate.population_weights"),
            std::string::npos);
  EXPECT_NE(message([](SimulationOptions& o) { o.population_weights[1] = {0, 0, 0, 0}; }).find("all zero for population 1"),
            std::string::npos);
  EXPECT_NE(message([](SimulationOptions& o) { o.population_weights[0][2] = -1; }).find("simulate.population_weights = -1"),
            std::string::npos);
  EXPECT_NE(message([](SimulationOptions& o) { o.model = "andi:fbm"; }).find("simulate.populations = 2"),
            std::string::npos);
  EXPECT_NE(message([](SimulationOptions& o) { o.experiments = 0; }).find("simulate.experiments = 0"), std::string::npos);
  EXPECT_NE(message([](SimulationOptions& o) { o.population_segment_frames = 0; }).find("population_segment_frames"),
            std::string::npos);
}

// ---- AnDi 2021 models -------------------------------------------------------

TEST(Andi, TracksAreSingleModeWithTheAlphaLabel) {
  for (const std::string name : {"attm", "ctrw", "fbm", "lw", "sbm"}) {
    SimulationOptions o;
    o.model = "andi:" + name;
    const std::vector<double> grid = andi_alpha_grid(andi_model(name));
    std::map<int, int> labels;
    for (int i = 0; i < 200; ++i) {
      const SimulatedTrack s = simulate_track_detailed(o, 11, i);
      const std::int64_t N = s.track.frames();
      ASSERT_TRUE(N >= 5 && N < 600);
      ASSERT_EQ(s.segments.size(), 1u);
      ASSERT_TRUE(std::find(grid.begin(), grid.end(), s.andi_alpha) != grid.end()) << name << " " << s.andi_alpha;
      for (auto st : s.track.states) ASSERT_EQ(st, andi_state(s.andi_alpha));
      for (double v : s.track.xyz) ASSERT_TRUE(std::isfinite(v)) << name;
      ++labels[static_cast<int>(s.track.states[0])];
    }
    if (name == "lw") {
      EXPECT_EQ(labels[directed], 200);
    }
    if (name == "ctrw" || name == "attm") {
      EXPECT_EQ(labels[directed], 0) << name;
    }
    if (name == "sbm") {
      EXPECT_GT(labels[directed] * labels[subdiffusive], 0);
    }
  }
  EXPECT_EQ(andi_state(0.95), subdiffusive);
  EXPECT_EQ(andi_state(1.0), normal);
  EXPECT_EQ(andi_state(1.05), directed);
  EXPECT_EQ(andi_alpha_grid(AndiModel::sbm).size(), 40u);
  EXPECT_DOUBLE_EQ(andi_alpha_grid(AndiModel::fbm).back(), 1.95);
  EXPECT_DOUBLE_EQ(andi_alpha_grid(AndiModel::lw).front(), 1.05);
  auto rng = test_rng(4);
  EXPECT_THROW(simulate_andi(AndiModel::ctrw, 2, 10, 1.5, 0.1, 1.0, rng), ConfigError);
  EXPECT_THROW(simulate_andi(AndiModel::fbm, 2, 10, 2.0, 0.1, 1.0, rng), ConfigError);
  EXPECT_THROW(andi_model("brownian"), ConfigError);
}

TEST(Andi, EnsembleMsdExponentsMatchAlpha) {
  // Each model's ensemble MSD from the origin grows as t^α (FBM and SBM exactly;
  // CTRW, LW and ATTM asymptotically — wider tolerances, fitted at long times).
  // ATTM converges slowly: its local exponent at α = 0.5 is 0.61 at 50–400
  // frames, 0.58 / 0.56 / 0.54 up to 3e3 / 2e4 / 1.5e5 frames (separate check).
  struct Case {
    AndiModel model;
    double alpha, tolerance;
    int first, last;  // fitted frame range
    int tracks;
  };
  const std::vector<Case> cases = {
      {AndiModel::fbm, 1.5, 0.05, 10, 100, 4000}, {AndiModel::sbm, 0.5, 0.05, 10, 100, 4000},
      {AndiModel::sbm, 1.5, 0.05, 10, 100, 4000}, {AndiModel::ctrw, 0.5, 0.1, 50, 400, 4000},
      {AndiModel::lw, 1.5, 0.1, 50, 400, 4000},   {AndiModel::attm, 0.5, 0.15, 50, 400, 4000},
  };
  for (const Case& c : cases) {
    Paths paths;
    for (int i = 0; i < c.tracks; ++i) {
      auto rng = test_rng(50000 + i);
      paths.push_back(simulate_andi(c.model, 2, c.last + 1, c.alpha, 0.1, 1.0, rng));
    }
    std::vector<int> frames;
    for (int f = c.first; f <= c.last; f = static_cast<int>(f * 1.25) + 1) frames.push_back(f);
    std::vector<double> times;
    for (int f : frames) times.push_back(f + 1.0);  // frame f is at time f + 1
    const PowerLaw fit = fit_power_law(times, msd_from_origin(paths, 2, frames), 2);
    EXPECT_NEAR(fit.alpha, c.alpha, c.tolerance) << andi_model_name(c.model);
    std::printf("  AnDi %s alpha %.2f: fitted %.4f\n", andi_model_name(c.model).c_str(), c.alpha, fit.alpha);
  }
}
