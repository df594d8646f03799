// Planted protrusion series (edge/protrusion_model.hpp) and simulated cell
// movies (edge/movie.hpp): the phenotype profiles, the alternation of
// retractions and events, onsets at minima of the displacement, phenotype
// proportions, mean profiles under noise, the camera model, bleaching, and
// end to end: window velocities of a simulated movie against the planted
// sector velocities.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <string>
#include <vector>

#include "phenoscale/core/error.hpp"
#include "phenoscale/core/rng.hpp"
#include "phenoscale/edge/movie.hpp"
#include "phenoscale/edge/protrusion_model.hpp"
#include "phenoscale/edge/windows.hpp"
#include "test_support.hpp"

using namespace phenoscale::edge;
using phenoscale::ConfigError;
using phenoscale::core::Rng;
using phenoscale::core::Stream;
using phenoscale::testing::message_of;

namespace {

constexpr double kPi = 3.14159265358979323846;
const std::vector<double> kMix = {0.3, 0.25, 0.2, 0.2, 0.05};

std::vector<double> only(Phenotype p) {
  std::vector<double> w(kPhenotypes, 0.0);
  w[static_cast<std::size_t>(p)] = 1.0;
  return w;
}

// Mean velocity t frames after the onset over all events of phenotype p (of
// length > t) in `series` series.
std::vector<double> mean_profile(Phenotype p, int series, int length, std::uint64_t seed) {
  ProtrusionModel m;
  std::vector<double> sum(static_cast<std::size_t>(length), 0.0), count(static_cast<std::size_t>(length), 0.0);
  for (int i = 0; i < series; ++i) {
    Rng rng(seed, Stream::test, static_cast<std::uint64_t>(i));
    const PlantedSeries s = simulate_window_series(m, only(p), rng);
    for (const PlantedEvent& e : s.events) {
      for (int t = 0; t < std::min(length, e.end - e.onset); ++t) {
        sum[static_cast<std::size_t>(t)] += s.velocity[static_cast<std::size_t>(e.onset + t)];
        count[static_cast<std::size_t>(t)] += 1.0;
      }
    }
  }
  for (std::size_t t = 0; t < sum.size(); ++t) sum[t] /= count[t];
  return sum;
}

// d[t] = Σ_{s<t} v[s] (t = 0..n).
std::vector<double> displacement(const std::vector<double>& v) {
  std::vector<double> d(v.size() + 1, 0.0);
  for (std::size_t t = 0; t < v.size(); ++t) d[t + 1] = d[t] + v[t];
  return d;
}

double pearson(const std::vector<double>& a, const std::vector<double>& b) {
  double ma = 0, mb = 0;
  for (std::size_t i = 0; i < a.size(); ++i) {
    ma += a[i];
    mb += b[i];
  }
  ma /= static_cast<double>(a.size());
  mb /= static_cast<double>(b.size());
  double sab = 0, saa = 0, sbb = 0;
  for (std::size_t i = 0; i < a.size(); ++i) {
    sab += (a[i] - ma) * (b[i] - mb);
    saa += (a[i] - ma) * (a[i] - ma);
    sbb += (b[i] - mb) * (b[i] - mb);
  }
  return sab / std::sqrt(saa * sbb);
}

// The interpolation movie.hpp defines: periodic Catmull–Rom through the
// sector values v_k at 2π(k + ½)/S.
double catmull_rom_reference(const std::vector<double>& v, double theta) {
  const auto s = static_cast<int>(v.size());
  const double u = theta / (2 * kPi) * s - 0.5;
  const int k = static_cast<int>(std::floor(u));
  const double f = u - k;
  const auto at = [&](int i) { return v[static_cast<std::size_t>(((i % s) + s) % s)]; };
  // Hermite form: tangents (p2 − p0)/2 and (p3 − p1)/2.
  const double p1 = at(k), p2 = at(k + 1), m1 = 0.5 * (p2 - at(k - 1)), m2 = 0.5 * (at(k + 2) - p1);
  const double f2 = f * f, f3 = f2 * f;
  return (2 * f3 - 3 * f2 + 1) * p1 + (f3 - 2 * f2 + f) * m1 + (-2 * f3 + 3 * f2) * p2 + (f3 - f2) * m2;
}

struct Summary {
  double mean = 0, median = 0, min = 1;
};
Summary summary(std::vector<double> v) {
  Summary s;
  std::sort(v.begin(), v.end());
  for (double x : v) s.mean += x;
  s.mean /= static_cast<double>(v.size());
  s.median = v[v.size() / 2];
  s.min = v.front();
  return s;
}

// Centred 3-frame moving average of x[first..last].
std::vector<double> smooth3(const std::vector<double>& x, int first, int last) {
  std::vector<double> s;
  for (int t = first + 1; t < last; ++t) {
    s.push_back(
        (x[static_cast<std::size_t>(t - 1)] + x[static_cast<std::size_t>(t)] + x[static_cast<std::size_t>(t + 1)]) /
        3.0);
  }
  return s;
}

}  // namespace

TEST(EventVelocity, ProfilesFollowTheClusterSignatures) {
  EXPECT_DOUBLE_EQ(event_velocity(Phenotype::steady, 0, 0), 0.8);
  EXPECT_DOUBLE_EQ(event_velocity(Phenotype::steady, 37, 0), 0.8);
  // Bursting: peak 2.7 exactly at +20, back near baseline by +40.
  EXPECT_DOUBLE_EQ(event_velocity(Phenotype::bursting, 20, 0), 2.7);
  EXPECT_LT(event_velocity(Phenotype::bursting, 19, 0), 2.7);
  EXPECT_LT(event_velocity(Phenotype::bursting, 21, 0), 2.7);
  EXPECT_NEAR(event_velocity(Phenotype::bursting, 40, 0), 0.4, 1e-4);
  EXPECT_NEAR(event_velocity(Phenotype::bursting, 0, 0), 0.4, 1e-4);
  // Accelerating: monotone from 0.3 to 3.0 at +42, flat afterwards.
  for (int t = 1; t <= 42; ++t) {
    EXPECT_GT(event_velocity(Phenotype::accelerating, t, 0), event_velocity(Phenotype::accelerating, t - 1, 0));
  }
  EXPECT_DOUBLE_EQ(event_velocity(Phenotype::accelerating, 0, 0), 0.3);
  EXPECT_DOUBLE_EQ(event_velocity(Phenotype::accelerating, 42, 0), 3.0);
  EXPECT_DOUBLE_EQ(event_velocity(Phenotype::accelerating, 55, 0), 3.0);
  // Periodic: 1.2 ± 1.0 with the given period.
  EXPECT_NEAR(event_velocity(Phenotype::periodic, 5, 20), 2.2, 1e-12);
  EXPECT_NEAR(event_velocity(Phenotype::periodic, 15, 20), 0.2, 1e-12);
  EXPECT_NEAR(event_velocity(Phenotype::periodic, 7.3 + 23, 23), event_velocity(Phenotype::periodic, 7.3, 23), 1e-12);
  EXPECT_THROW(event_velocity(Phenotype::periodic, 3, 0), ConfigError);
  // Bursting early: 3.4 at +10, back to 0.4 by +25.
  EXPECT_DOUBLE_EQ(event_velocity(Phenotype::bursting_early, 10, 0), 3.4);
  EXPECT_NEAR(event_velocity(Phenotype::bursting_early, 25, 0), 0.4, 1e-3);
}

TEST(WindowSeries, AlternatesRetractionsAndEventsOfTheGivenLengths) {
  ProtrusionModel m;
  for (std::uint64_t i = 0; i < 200; ++i) {
    Rng rng(5, Stream::test, i);
    const PlantedSeries s = simulate_window_series(m, kMix, rng);
    ASSERT_EQ(s.velocity.size(), 200u);
    ASSERT_FALSE(s.events.empty());
    EXPECT_GE(s.events.front().onset, 1);
    EXPECT_LE(s.events.front().onset, m.max_retraction);
    for (std::size_t e = 0; e < s.events.size(); ++e) {
      const PlantedEvent& ev = s.events[e];
      const int length = ev.end - ev.onset;
      if (e + 1 < s.events.size()) {
        EXPECT_GE(length, m.min_event);
        EXPECT_LE(length, m.max_event);
        const int gap = s.events[e + 1].onset - ev.end;
        EXPECT_GE(gap, m.min_retraction);
        EXPECT_LE(gap, m.max_retraction);
      } else {
        EXPECT_LE(ev.end, 200);
        EXPECT_GE(length, 1);
      }
      if (ev.phenotype == Phenotype::periodic) {
        EXPECT_GE(ev.period, kMinPeriodFrames);
        EXPECT_LE(ev.period, kMaxPeriodFrames);
      } else {
        EXPECT_EQ(ev.period, 0.0);
      }
    }
  }
}

TEST(WindowSeries, NoiselessSeriesIsTheScaledProfile) {
  ProtrusionModel m;
  m.noise_sd = 0.0;
  int periodic = 0;
  for (std::uint64_t i = 0; i < 50; ++i) {
    Rng rng(6, Stream::test, i);
    const PlantedSeries s = simulate_window_series(m, kMix, rng);
    for (const PlantedEvent& e : s.events) {
      const double amplitude = s.velocity[static_cast<std::size_t>(e.onset)] / event_velocity(e.phenotype, 0, e.period);
      EXPECT_GE(amplitude, 1.0 - m.amplitude_jitter);
      EXPECT_LE(amplitude, 1.0 + m.amplitude_jitter);
      for (int t = e.onset; t < e.end; ++t) {
        EXPECT_NEAR(s.velocity[static_cast<std::size_t>(t)],
                    amplitude * event_velocity(e.phenotype, t - e.onset, e.period), 1e-12);
      }
      periodic += e.phenotype == Phenotype::periodic;
    }
    // Retraction frames: −2 nm/s × U[0.75, 1.25].
    for (int t = 0; t < s.events.front().onset; ++t) {
      EXPECT_LE(s.velocity[static_cast<std::size_t>(t)], -1.5);
      EXPECT_GE(s.velocity[static_cast<std::size_t>(t)], -2.5);
    }
  }
  EXPECT_GT(periodic, 10);
}

TEST(WindowSeries, OnsetsAreMinimaOfTheCumulativeDisplacement) {
  // Without noise: each onset is the strict minimum of d from the start of
  // the retraction before it to the event's end.
  ProtrusionModel m;
  m.noise_sd = 0.0;
  for (std::uint64_t i = 0; i < 100; ++i) {
    Rng rng(7, Stream::test, i);
    const PlantedSeries s = simulate_window_series(m, kMix, rng);
    const std::vector<double> d = displacement(s.velocity);
    int from = 0;  // the start of the retraction before the event
    for (const PlantedEvent& e : s.events) {
      for (int t = from; t <= e.end; ++t) {
        if (t != e.onset) {
          EXPECT_GT(d[static_cast<std::size_t>(t)], d[static_cast<std::size_t>(e.onset)]);
        }
      }
      from = e.end;
    }
  }
  // With the default AR(1) noise: the minimum of d within ±6 frames of an
  // onset lies within ±2 frames of it.
  int hits = 0, events = 0;
  ProtrusionModel noisy;
  for (std::uint64_t i = 0; i < 300; ++i) {
    Rng rng(8, Stream::test, i);
    const PlantedSeries s = simulate_window_series(noisy, kMix, rng);
    const std::vector<double> d = displacement(s.velocity);
    for (const PlantedEvent& e : s.events) {
      if (e.onset < 6 || e.onset + 6 > 200) continue;
      const auto first = d.begin() + e.onset - 6;
      const auto at = static_cast<int>(std::min_element(first, first + 13) - d.begin());
      hits += std::abs(at - e.onset) <= 2;
      ++events;
    }
  }
  const double fraction = static_cast<double>(hits) / events;
  std::printf("noisy onsets: %d events, minimum of d within ±2 frames of the onset in %.4f\n", events, fraction);
  EXPECT_GT(fraction, 0.95);
}

TEST(WindowSeries, PhenotypeProportionsMatchTheWeights) {
  ProtrusionModel m;
  std::vector<double> count(kPhenotypes, 0.0);
  const std::vector<double> weights = {0.3, 0.25, 0.2, 0.25, 0.0};
  double total = 0;
  for (std::uint64_t i = 0; i < 1500; ++i) {
    Rng rng(9, Stream::test, i);
    for (const PlantedEvent& e : simulate_window_series(m, weights, rng).events) {
      count[static_cast<std::size_t>(e.phenotype)] += 1;
      total += 1;
    }
  }
  EXPECT_EQ(count[4], 0.0);  // weight 0: never drawn
  double chi2 = 0;
  for (int p = 0; p < 4; ++p) {
    const double expected = weights[static_cast<std::size_t>(p)] * total;
    chi2 +=
        (count[static_cast<std::size_t>(p)] - expected) * (count[static_cast<std::size_t>(p)] - expected) / expected;
  }
  std::printf("phenotype counts over %.0f events: %.0f %.0f %.0f %.0f %.0f, chi2 %.2f (3 dof)\n", total, count[0],
              count[1], count[2], count[3], count[4], chi2);
  EXPECT_GT(total, 4000);
  EXPECT_LT(chi2, 16.27);  // p = 0.001
}

// The demo deck's drug: +0.10 accelerating and +0.05 early bursts on
// steady/bursting/periodic/accelerating/bursting_early = 0.30/0.25/0.20/0.20/0.05.
// By hand: accelerating 0.30, bursting_early 0.10, and the other three share
// the remaining 0.60 in their base ratio 0.30 : 0.25 : 0.20 (× 0.8).
TEST(ApplyEffects, EveryNamedPhenotypeMovesByExactlyItsDelta) {
  const std::vector<double> base = {0.30, 0.25, 0.20, 0.20, 0.05};
  const auto p = apply_effects(base, {{Phenotype::accelerating, 0.10}, {Phenotype::bursting_early, 0.05}});
  const std::vector<double> expected = {0.24, 0.20, 0.16, 0.30, 0.10};
  ASSERT_EQ(p.size(), expected.size());
  for (std::size_t k = 0; k < p.size(); ++k) EXPECT_NEAR(p[k], expected[k], 1e-12) << "phenotype " << k;
  // The order of the effects does not matter, and deltas on one phenotype add up.
  EXPECT_EQ(apply_effects(base, {{Phenotype::bursting_early, 0.05}, {Phenotype::accelerating, 0.10}}), p);
  const auto twice = apply_effects(base, {{Phenotype::accelerating, 0.04}, {Phenotype::accelerating, 0.06}});
  EXPECT_NEAR(twice[3], 0.30, 1e-12);
  EXPECT_NEAR(twice[0], 0.30 * 0.70 / 0.80, 1e-12);
  EXPECT_EQ(apply_effects(base, {}), base);
  // Every phenotype named: nothing to rescale, the deltas stand as given.
  const auto all = apply_effects({0.5, 0.5, 0, 0, 0}, {{Phenotype::steady, -0.1}, {Phenotype::bursting, 0.1},
                                                       {Phenotype::periodic, 0}, {Phenotype::accelerating, 0},
                                                       {Phenotype::bursting_early, 0}});
  EXPECT_EQ(all, (std::vector<double>{0.4, 0.6, 0, 0, 0}));
  // Too large a delta leaves the others negative for the caller to report.
  EXPECT_LT(apply_effects(base, {{Phenotype::steady, 1.5}})[1], 0.0);
}

TEST(WindowSeries, NoisyMeanProfilesKeepTheirShapes) {
  const std::vector<double> burst = mean_profile(Phenotype::bursting, 400, 45, 10);
  const auto peak = static_cast<int>(std::max_element(burst.begin(), burst.end()) - burst.begin());
  std::printf("bursting mean profile: peak %.3f nm/s at +%d\n", burst[static_cast<std::size_t>(peak)], peak);
  EXPECT_GE(peak, 17);
  EXPECT_LE(peak, 23);
  EXPECT_NEAR(burst[static_cast<std::size_t>(peak)], 2.7, 0.15);
  EXPECT_LT(burst[40], 0.8);

  const std::vector<double> acc = mean_profile(Phenotype::accelerating, 400, 50, 11);
  for (int b = 1; b < 7; ++b) {  // 6-frame block means rise up to +42
    double now = 0, before = 0;
    for (int t = 0; t < 6; ++t) {
      now += acc[static_cast<std::size_t>(6 * b + t)];
      before += acc[static_cast<std::size_t>(6 * (b - 1) + t)];
    }
    EXPECT_GT(now, before) << "block " << b;
  }
  std::printf("accelerating mean profile: +0 %.3f, +42 %.3f nm/s\n", acc[0], acc[42]);
  EXPECT_NEAR(acc[42], 3.0, 0.15);

  // Periodic: the first autocorrelation peak of long events lies in 18..28 frames.
  ProtrusionModel m;
  std::vector<double> acf(36, 0.0);
  int events = 0;
  for (std::uint64_t i = 0; i < 300; ++i) {
    Rng rng(12, Stream::test, i);
    const PlantedSeries s = simulate_window_series(m, only(Phenotype::periodic), rng);
    for (const PlantedEvent& e : s.events) {
      if (e.end - e.onset < 50) continue;
      std::vector<double> x(s.velocity.begin() + e.onset, s.velocity.begin() + e.end);
      double mean = 0;
      for (double v : x) mean += v;
      mean /= static_cast<double>(x.size());
      double var = 0;
      for (double& v : x) {
        v -= mean;
        var += v * v;
      }
      for (std::size_t lag = 1; lag < acf.size(); ++lag) {
        double c = 0;
        for (std::size_t t = 0; t + lag < x.size(); ++t) c += x[t] * x[t + lag];
        acf[lag] += c / var;
      }
      ++events;
    }
  }
  int first_peak = 0;
  for (std::size_t lag = 6; lag + 1 < acf.size(); ++lag) {
    if (acf[lag] > acf[lag - 1] && acf[lag] >= acf[lag + 1]) {
      first_peak = static_cast<int>(lag);
      break;
    }
  }
  std::printf("periodic: %d events, first ACF peak at lag %d frames\n", events, first_peak);
  EXPECT_GE(first_peak, 18);
  EXPECT_LE(first_peak, 28);
}

TEST(WindowSeries, ReproducibleAndValidated) {
  ProtrusionModel m;
  Rng a(13, Stream::edge_simulation, 4), b(13, Stream::edge_simulation, 4);
  EXPECT_EQ(simulate_window_series(m, kMix, a).velocity, simulate_window_series(m, kMix, b).velocity);
  Rng rng(1, Stream::test, 0);
  EXPECT_NE(message_of<ConfigError>([&] {
              simulate_window_series(m, {0.5, 0.5}, rng);
            }).find("5 weights"),
            std::string::npos);
  EXPECT_NE(message_of<ConfigError>([&] {
              simulate_window_series(m, {0.5, 0.5, 0.5, 0, 0}, rng);
            }).find("sum"),
            std::string::npos);
  EXPECT_THROW(simulate_window_series(m, {1.2, -0.2, 0, 0, 0}, rng), ConfigError);
  ProtrusionModel bad = m;
  bad.max_event = 10;
  EXPECT_NE(message_of<ConfigError>([&] { simulate_window_series(bad, kMix, rng); }).find("protrusion.max_event"),
            std::string::npos);
  bad = m;
  bad.noise_phi = 1.0;
  EXPECT_THROW(simulate_window_series(bad, kMix, rng), ConfigError);
}

TEST(SimulateCell, MovieLayoutRangeAndCameraNoise) {
  MovieOptions mo;
  mo.size = 96;
  mo.radius_nm = 2000;
  ProtrusionModel pm;
  pm.frames = 60;
  Rng rng(14, Stream::edge_simulation, 0);
  const SimulatedCell cell = simulate_cell(mo, pm, kMix, 500.0, rng);
  EXPECT_EQ(cell.movie.frames, 60);
  EXPECT_EQ(cell.movie.height, 96);
  EXPECT_EQ(cell.movie.width, 96);
  EXPECT_EQ(cell.movie.bits_per_sample, 16);
  ASSERT_EQ(cell.movie.data.size(), 60u * 96u * 96u);
  for (float v : cell.movie.data) {
    ASSERT_GE(v, 0.0f);
    ASSERT_LE(v, 65535.0f);
    ASSERT_EQ(v, std::round(v));
  }
  const int sectors = static_cast<int>(std::lround(2 * kPi * 2000.0 / 500.0));
  ASSERT_EQ(static_cast<int>(cell.sectors.size()), sectors);
  ASSERT_EQ(static_cast<int>(cell.sector_angle.size()), sectors);
  for (int k = 0; k < sectors; ++k) {
    EXPECT_NEAR(cell.sector_angle[static_cast<std::size_t>(k)], 2 * kPi * (k + 0.5) / sectors, 1e-12);
    EXPECT_EQ(cell.sectors[static_cast<std::size_t>(k)].velocity.size(), 60u);
  }
  EXPECT_NEAR(cell.cx, 47.5, 0.5);
  EXPECT_NEAR(cell.cy, 47.5, 0.5);
  // The 6 x 6 corners of every frame are background: mean 150, sd sqrt(gain·150 + 6²).
  std::vector<double> corner;
  for (int t = 0; t < 60; ++t) {
    for (int r = 0; r < 6; ++r) {
      for (int c = 0; c < 6; ++c) {
        corner.push_back(cell.movie.at(t, r, c));
        corner.push_back(cell.movie.at(t, 95 - r, 95 - c));
      }
    }
  }
  double mean = 0, var = 0;
  for (double v : corner) mean += v;
  mean /= static_cast<double>(corner.size());
  for (double v : corner) var += (v - mean) * (v - mean);
  const double sd = std::sqrt(var / static_cast<double>(corner.size() - 1));
  std::printf("background: mean %.2f (150), sd %.3f (%.3f)\n", mean, sd, std::sqrt(186.0));
  EXPECT_NEAR(mean, 150.0, 1.0);
  EXPECT_NEAR(sd, std::sqrt(186.0), 0.05 * std::sqrt(186.0));
  // Saturation clamps to the 16-bit range.
  mo.cell_level = 100000;
  Rng rng2(15, Stream::edge_simulation, 0);
  pm.frames = 2;
  const SimulatedCell bright = simulate_cell(mo, pm, kMix, 500.0, rng2);
  EXPECT_EQ(*std::max_element(bright.movie.data.begin(), bright.movie.data.end()), 65535.0f);
}

TEST(SimulateCell, BleachingDimsTheCell) {
  MovieOptions mo;
  mo.size = 64;
  mo.radius_nm = 1500;
  mo.bleach_tau_frames = 100;
  ProtrusionModel pm;
  pm.frames = 60;
  Rng rng(16, Stream::edge_simulation, 1);
  const SimulatedCell cell = simulate_cell(mo, pm, kMix, 500.0, rng);
  // Mean over the cell's core (ρ < 10 px, far inside the edge at ≥ 17 px).
  const auto core_mean = [&](int t) {
    double sum = 0;
    int n = 0;
    for (int r = 0; r < 64; ++r) {
      for (int c = 0; c < 64; ++c) {
        if (std::hypot(c - cell.cx, r - cell.cy) < 10.0) {
          sum += cell.movie.at(t, r, c);
          ++n;
        }
      }
    }
    return sum / n;
  };
  const double ratio = core_mean(59) / core_mean(0);
  const double expected = (150.0 + 1200.0 * std::exp(-59.0 / 100.0)) / 1350.0;
  std::printf("bleaching: core intensity ratio frame 59 / frame 0 = %.4f (expected %.4f)\n", ratio, expected);
  EXPECT_NEAR(ratio, expected, 0.01);
  double whole0 = 0, whole59 = 0;
  for (int i = 0; i < 64 * 64; ++i) {
    whole0 += cell.movie.data[static_cast<std::size_t>(i)];
    whole59 += cell.movie.data[static_cast<std::size_t>(59 * 64 * 64 + i)];
  }
  EXPECT_LT(whole59, whole0);
}

// Window velocities of simulated cells against the planted sector velocities.
// Two truths per window: the sector nearest its centre angle (the truth the
// pipeline's labels use), and the planted velocity field itself — the
// Catmull–Rom interpolation between sector centres that moves the rendered
// edge (movie.hpp), averaged over the window's rays. The second isolates the
// measurement error; the first adds the mismatch of windows and sectors when
// the window count W differs from the sector count S.
TEST(SimulateCell, EndToEndWindowVelocitiesFollowThePlantedSectors) {
  MovieOptions mo;
  mo.size = 96;
  mo.radius_nm = 2000;
  ProtrusionModel pm;
  pm.frames = 60;
  const int rays_per_window = WindowOptions{}.rays_per_window;
  std::vector<double> r_nearest, r_field, r_aligned;
  double bias_nearest = 0, sq_nearest = 0, bias_field = 0, sq_field = 0, n = 0;
  for (std::uint64_t cell_index = 0; cell_index < 3; ++cell_index) {
    Rng rng(17, Stream::edge_simulation, cell_index);
    const SimulatedCell cell = simulate_cell(mo, pm, kMix, 500.0, rng);
    const VelocityMap map = window_velocities(cell.movie, WindowOptions{});
    const auto sectors = static_cast<int>(cell.sectors.size());
    for (int w = 0; w < map.windows; ++w) {
      const double angle = map.angle[static_cast<std::size_t>(w)];
      std::size_t nearest = 0;
      double offset = 10.0;
      for (std::size_t k = 0; k < cell.sector_angle.size(); ++k) {
        const double d = std::abs(std::remainder(angle - cell.sector_angle[k], 2 * kPi));
        if (d < offset) {
          offset = d;
          nearest = k;
        }
      }
      offset *= sectors / (2 * kPi);  // in sector widths
      std::vector<double> measured(60, 0.0), field(60, 0.0), planted = cell.sectors[nearest].velocity;
      for (int t = 1; t < 60; ++t) {
        const auto at = static_cast<std::size_t>(t);
        measured[at] = map.at(w, t);
        ASSERT_FALSE(std::isnan(measured[at])) << "window " << w << " frame " << t;
        std::vector<double> v(static_cast<std::size_t>(sectors));
        for (int k = 0; k < sectors; ++k)
          v[static_cast<std::size_t>(k)] = cell.sectors[static_cast<std::size_t>(k)].velocity[at];
        for (int j = 0; j < rays_per_window; ++j) {
          const double theta = 2 * kPi * (w * rays_per_window + j + 0.5) / (map.windows * rays_per_window);
          field[at] += catmull_rom_reference(v, theta) / rays_per_window;
        }
        bias_nearest += measured[at] - planted[at];
        sq_nearest += (measured[at] - planted[at]) * (measured[at] - planted[at]);
        bias_field += measured[at] - field[at];
        sq_field += (measured[at] - field[at]) * (measured[at] - field[at]);
        n += 1;
      }
      const std::vector<double> m3 = smooth3(measured, 1, 59);
      r_nearest.push_back(pearson(m3, smooth3(planted, 1, 59)));
      r_field.push_back(pearson(m3, smooth3(field, 1, 59)));
      if (offset < 0.25) r_aligned.push_back(r_nearest.back());
    }
  }
  const Summary nearest = summary(r_nearest), aligned = summary(r_aligned), whole = summary(r_field);
  std::printf(
      "end to end, 3 cells, %zu windows, smoothed correlations (mean / median / min):\n"
      "  nearest sector        %.3f / %.3f / %.3f\n"
      "  of which aligned (%zu) %.3f / %.3f / %.3f\n"
      "  planted field         %.3f / %.3f / %.3f\n"
      "  velocity error vs nearest sector: mean %+.3f, rms %.3f nm/s; vs planted field: mean %+.3f, rms %.3f "
      "nm/s\n",
      r_nearest.size(), nearest.mean, nearest.median, nearest.min, r_aligned.size(), aligned.mean, aligned.median,
      aligned.min, whole.mean, whole.median, whole.min, bias_nearest / n, std::sqrt(sq_nearest / n), bias_field / n,
      std::sqrt(sq_field / n));
  EXPECT_GE(nearest.mean, 0.8);
  EXPECT_GE(nearest.median, 0.8);
  EXPECT_GE(aligned.min, 0.8);
  EXPECT_GE(whole.min, 0.9);
  EXPECT_LT(std::abs(bias_field / n), 0.1);
  EXPECT_LT(std::sqrt(sq_field / n), 0.4);
}

// With the window count set to the sector count, window w is centred on
// sector w: every window follows its sector.
TEST(SimulateCell, EndToEndWindowsSetToTheSectorsFollowThemOneToOne) {
  MovieOptions mo;
  mo.size = 96;
  mo.radius_nm = 2000;
  ProtrusionModel pm;
  pm.frames = 60;
  std::vector<double> r;
  double bias = 0, sq = 0, n = 0;
  for (std::uint64_t cell_index = 0; cell_index < 3; ++cell_index) {
    Rng rng(17, Stream::edge_simulation, cell_index);
    const SimulatedCell cell = simulate_cell(mo, pm, kMix, 500.0, rng);
    WindowOptions o;
    o.windows = static_cast<int>(cell.sectors.size());
    const VelocityMap map = window_velocities(cell.movie, o);
    ASSERT_EQ(map.windows, o.windows);
    for (int w = 0; w < map.windows; ++w) {
      EXPECT_NEAR(map.angle[static_cast<std::size_t>(w)], cell.sector_angle[static_cast<std::size_t>(w)], 1e-12);
      const std::vector<double>& planted = cell.sectors[static_cast<std::size_t>(w)].velocity;
      std::vector<double> measured(60, 0.0);
      for (int t = 1; t < 60; ++t) {
        const auto at = static_cast<std::size_t>(t);
        measured[at] = map.at(w, t);
        bias += measured[at] - planted[at];
        sq += (measured[at] - planted[at]) * (measured[at] - planted[at]);
        n += 1;
      }
      r.push_back(pearson(smooth3(measured, 1, 59), smooth3(planted, 1, 59)));
    }
  }
  const Summary s = summary(r);
  std::printf(
      "end to end, windows = sectors, 3 cells, %zu windows: smoothed correlation mean %.3f, median %.3f, min %.3f; "
      "velocity error mean %+.3f, rms %.3f nm/s\n",
      r.size(), s.mean, s.median, s.min, bias / n, std::sqrt(sq / n));
  EXPECT_GE(s.min, 0.8);
  EXPECT_LT(std::abs(bias / n), 0.1);
  EXPECT_LT(std::sqrt(sq / n), 0.6);
}
