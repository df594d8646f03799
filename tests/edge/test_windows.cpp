// Window edge velocities (edge/windows.hpp): acceptance on rendered disks
// whose edge moves at a known speed (protruding and retracting), a half-moving
// cell localised to the right windows, rays that leave the image, frames
// without a cell, thread-count independence and the single-thread speed.
#include <gtest/gtest.h>
#include <omp.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <functional>
#include <string>
#include <vector>

#include "phenoscale/core/error.hpp"
#include "phenoscale/core/rng.hpp"
#include "phenoscale/edge/movie.hpp"
#include "phenoscale/edge/windows.hpp"
#include "test_support.hpp"

using namespace phenoscale::edge;
using phenoscale::ConfigError;
using phenoscale::InputError;
using phenoscale::core::Rng;
using phenoscale::core::Stream;
using phenoscale::io::ImageStack;
using phenoscale::testing::message_of;

namespace {

constexpr double kPi = 3.14159265358979323846;
constexpr int kTable = 1024;

// A movie rendered with the movie renderer (default camera: shot + read noise,
// bleaching) whose edge radius in px is radius(θ, t) about (cx, cy).
ImageStack render_movie(int size, int frames, double cx, double cy, const std::function<double(double, int)>& radius,
                        std::uint64_t seed) {
  MovieOptions mo;
  mo.size = size;
  ImageStack movie;
  movie.frames = frames;
  movie.height = movie.width = size;
  movie.data.resize(movie.pixel_count());
  Rng rng(seed, Stream::test, 0);
  std::vector<double> table(kTable);
  for (int t = 0; t < frames; ++t) {
    for (int i = 0; i < kTable; ++i) table[static_cast<std::size_t>(i)] = radius(2.0 * kPi * i / kTable, t);
    render_frame(mo, cx, cy, table, t, rng, &movie.at(t, 0, 0));
  }
  return movie;
}

struct Stats {
  double mean = 0, sd = 0;
  int n = 0;
};
Stats stats(const std::vector<double>& v) {
  Stats s;
  for (double x : v) {
    if (std::isnan(x)) continue;
    s.mean += x;
    ++s.n;
  }
  s.mean /= s.n;
  for (double x : v) {
    if (!std::isnan(x)) s.sd += (x - s.mean) * (x - s.mean);
  }
  s.sd = std::sqrt(s.sd / (s.n - 1));
  return s;
}

// Every window-frame velocity of frames 1.. of the windows selected by keep(angle).
std::vector<double> velocities(const VelocityMap& m, const std::function<bool(double)>& keep) {
  std::vector<double> v;
  for (int w = 0; w < m.windows; ++w) {
    if (!keep(m.angle[static_cast<std::size_t>(w)])) continue;
    for (int t = 1; t < m.frames; ++t) v.push_back(m.at(w, t));
  }
  return v;
}

// Disk growing at `speed` nm/s (5 s/frame, 65 nm px): mean velocity and sd.
Stats disk_case(double speed, double r0_px, std::uint64_t seed) {
  const double step_px = speed * 5.0 / 65.0;
  const ImageStack movie = render_movie(
      96, 60, 47.3, 48.1, [&](double, int t) { return r0_px + step_px * t; }, seed);
  const VelocityMap m = window_velocities(movie, WindowOptions{});
  EXPECT_EQ(m.frames, 60);
  const int expected_windows = static_cast<int>(std::lround(2 * kPi * r0_px * 65.0 / 500.0));
  EXPECT_NEAR(m.windows, expected_windows, 1);
  for (int w = 0; w < m.windows; ++w) EXPECT_TRUE(std::isnan(m.at(w, 0)));
  const Stats s = stats(velocities(m, [](double) { return true; }));
  EXPECT_EQ(s.n, m.windows * 59);  // no NaN after frame 0
  // Per-window means over frames (the windows' own bias).
  double worst = 0.0;
  for (int w = 0; w < m.windows; ++w) {
    double sum = 0;
    for (int t = 1; t < m.frames; ++t) sum += m.at(w, t);
    worst = std::max(worst, std::abs(sum / 59.0 - speed));
  }
  std::printf(
      "disk %+.1f nm/s (r0 %.0f px, %d windows): mean %.4f nm/s (error %+.2f %%), per window-frame sd %.3f "
      "nm/s, worst per-window mean error %.3f nm/s\n",
      speed, r0_px, m.windows, s.mean, 100.0 * (s.mean - speed) / speed, s.sd, worst);
  EXPECT_NEAR(s.mean, speed, 0.05 * std::abs(speed));
  EXPECT_LT(worst, 0.15 * std::abs(speed));
  return s;
}

}  // namespace

TEST(WindowVelocities, AcceptanceDiskProtrudingAt3nmPerSecond) {
  const Stats s = disk_case(3.0, 25.0, 1);
  EXPECT_LT(s.sd, 1.0);  // one window-frame: ~0.02 px localisation noise ⇒ ~0.4 nm/s
}

TEST(WindowVelocities, AcceptanceDiskRetractingAt2nmPerSecond) {
  const Stats s = disk_case(-2.0, 36.0, 2);
  EXPECT_LT(s.sd, 1.0);
}

TEST(WindowVelocities, WindowsOnTheFrameZeroBoundary) {
  const double r0 = 30.0, cx = 47.6, cy = 46.2;
  const ImageStack movie = render_movie(
      96, 3, cx, cy, [&](double, int) { return r0; }, 3);
  const VelocityMap m = window_velocities(movie, WindowOptions{});
  EXPECT_NEAR(m.cx, cx, 0.1);
  EXPECT_NEAR(m.cy, cy, 0.1);
  ASSERT_EQ(static_cast<int>(m.angle.size()), m.windows);
  for (int w = 0; w < m.windows; ++w) {
    EXPECT_NEAR(m.angle[static_cast<std::size_t>(w)], 2 * kPi * (w + 0.5) / m.windows, 1e-12);
    const double dx = m.x[static_cast<std::size_t>(w)] - cx, dy = m.y[static_cast<std::size_t>(w)] - cy;
    // The Otsu level of the rim-marked edge sits a fraction of a pixel outside r0.
    EXPECT_NEAR(std::hypot(dx, dy), r0, 0.6) << "window " << w;
    EXPECT_NEAR(std::remainder(std::atan2(dy, dx) - m.angle[static_cast<std::size_t>(w)], 2 * kPi), 0.0, 0.02);
  }
}

TEST(WindowVelocities, HalfMovingCellIsLocalisedToItsWindows) {
  // The right half (cos θ > 0.3) protrudes at 3 nm/s, the left half
  // (cos θ < −0.3) stays; a smooth ramp joins them.
  const double speed = 3.0, step_px = speed * 5.0 / 65.0;
  const auto weight = [](double theta) {
    const double u = std::clamp((std::cos(theta) + 0.3) / 0.6, 0.0, 1.0);
    return u * u * (3 - 2 * u);
  };
  const ImageStack movie = render_movie(
      96, 60, 47.5, 47.5, [&](double th, int t) { return 26.0 + weight(th) * step_px * t; }, 4);
  const VelocityMap m = window_velocities(movie, WindowOptions{});
  const Stats moving = stats(velocities(m, [](double a) { return std::cos(a) > 0.5; }));
  const Stats still = stats(velocities(m, [](double a) { return std::cos(a) < -0.5; }));
  std::printf(
      "half-moving cell: moving windows %.4f nm/s (truth 3, n %d, sd %.3f), still windows %.4f nm/s "
      "(truth 0, n %d, sd %.3f)\n",
      moving.mean, moving.n, moving.sd, still.mean, still.n, still.sd);
  EXPECT_NEAR(moving.mean, speed, 0.05 * speed);
  EXPECT_NEAR(still.mean, 0.0, 0.05 * speed);
  for (int w = 0; w < m.windows; ++w) {
    const double a = m.angle[static_cast<std::size_t>(w)];
    double sum = 0;
    for (int t = 1; t < m.frames; ++t) sum += m.at(w, t);
    const double mean = sum / 59.0;
    if (std::cos(a) > 0.5) {
      EXPECT_GT(mean, 0.85 * speed) << "window " << w;
    }
    if (std::cos(a) < -0.5) {
      EXPECT_LT(std::abs(mean), 0.15 * speed) << "window " << w;
    }
  }
}

TEST(WindowVelocities, RaysLeavingTheImageInsideTheCellAreNaN) {
  // The disk reaches past the right border: rays there never cross the edge.
  const ImageStack movie = render_movie(
      64, 4, 50.0, 32.0, [](double, int t) { return 22.0 + 0.1 * t; }, 5);
  const VelocityMap m = window_velocities(movie, WindowOptions{});
  int right = 0, left = 0;
  for (int w = 0; w < m.windows; ++w) {
    const double a = m.angle[static_cast<std::size_t>(w)];
    if (std::abs(std::remainder(a, 2 * kPi)) < 0.3) {
      ++right;
      EXPECT_TRUE(std::isnan(m.at(w, 2))) << "window " << w;
    }
    if (std::cos(a) < -0.7) {
      ++left;
      EXPECT_NEAR(m.at(w, 2), 0.1 * 65.0 / 5.0, 0.8) << "window " << w;
    }
  }
  EXPECT_GT(right, 0);
  EXPECT_GT(left, 0);
}

TEST(WindowVelocities, FrameWithoutCellNamesTheFrame) {
  ImageStack movie = render_movie(
      48, 5, 24, 24, [](double, int) { return 12.0; }, 6);
  for (int r = 0; r < 48; ++r) {
    for (int c = 0; c < 48; ++c) movie.at(3, r, c) = 150.0f;
  }
  const std::string msg = message_of<InputError>([&] { window_velocities(movie, WindowOptions{}); });
  EXPECT_EQ(msg.rfind("frame 3: no cell found", 0), 0u) << msg;
  for (int r = 0; r < 48; ++r) {
    for (int c = 0; c < 48; ++c) movie.at(0, r, c) = 150.0f;
  }
  EXPECT_EQ(message_of<InputError>([&] { window_velocities(movie, WindowOptions{}); }).rfind("frame 0: no cell", 0),
            0u);
}

TEST(WindowVelocities, BadOptionsAndMovies) {
  const ImageStack movie = render_movie(
      32, 2, 16, 16, [](double, int) { return 8.0; }, 7);
  WindowOptions o;
  o.rays_per_window = 0;
  EXPECT_NE(message_of<ConfigError>([&] { window_velocities(movie, o); }).find("windows.rays_per_window"),
            std::string::npos);
  o = WindowOptions{};
  o.width_nm = -1;
  EXPECT_THROW(window_velocities(movie, o), ConfigError);
  o = WindowOptions{};
  o.windows = -3;
  EXPECT_NE(message_of<ConfigError>([&] { window_velocities(movie, o); }).find("windows.windows"), std::string::npos);
  o.windows = 7;  // a fixed count overrides the perimeter's
  EXPECT_EQ(window_velocities(movie, o).windows, 7);
  ImageStack broken = movie;
  broken.data.pop_back();
  EXPECT_THROW(window_velocities(broken, WindowOptions{}), InputError);
}

TEST(WindowVelocities, SameResultAtAnyThreadCount) {
  const ImageStack movie = render_movie(
      64, 12, 31.7, 32.4, [](double th, int t) { return 18.0 + 2.0 * std::sin(3 * th) * t / 12.0; }, 8);
  const int threads = omp_get_max_threads();
  omp_set_num_threads(1);
  const VelocityMap one = window_velocities(movie, WindowOptions{});
  omp_set_num_threads(4);
  const VelocityMap four = window_velocities(movie, WindowOptions{});
  omp_set_num_threads(threads);
  ASSERT_EQ(one.velocity.size(), four.velocity.size());
  for (std::size_t i = 0; i < one.velocity.size(); ++i) {
    if (std::isnan(one.velocity[i])) {
      EXPECT_TRUE(std::isnan(four.velocity[i]));
    } else {
      EXPECT_EQ(one.velocity[i], four.velocity[i]);
    }
  }
}

TEST(WindowVelocities, SingleThreadSpeedOn128Pixels) {
  const int frames = 40;
  const ImageStack movie = render_movie(
      128, frames, 63.5, 63.5, [](double th, int t) { return 38.0 + 3.0 * std::cos(2 * th) + 0.2 * t; }, 9);
  const int threads = omp_get_max_threads();
  omp_set_num_threads(1);
  const auto start = std::chrono::steady_clock::now();
  const VelocityMap m = window_velocities(movie, WindowOptions{});
  const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  omp_set_num_threads(threads);
  std::printf("window_velocities: 128 x 128, %d frames, %d windows x %d rays, 1 thread: %.1f frames/s\n", frames,
              m.windows, 8, frames / seconds);
  EXPECT_GT(m.windows, 30);
}
