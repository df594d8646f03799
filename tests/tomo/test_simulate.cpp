// Subtomogram/tomogram simulation and DoG particle picking (Xu et al. 2017, §1.3).
#include <gtest/gtest.h>

#include <cmath>
#include <algorithm>
#include <limits>

#include "phenoscale/tomo/fourier.hpp"
#include "phenoscale/tomo/missing_wedge.hpp"
#include "phenoscale/tomo/picking.hpp"
#include "phenoscale/tomo/procedural.hpp"
#include "phenoscale/tomo/simulate.hpp"

using namespace phenoscale::tomo;

namespace {
Volume class_map(int class_id, int n = 32, double voxel_nm = 1.2) {
  return density_map(procedural_structure(1, class_id), n, voxel_nm, 2 * voxel_nm);
}
}  // namespace

TEST(Simulate, NoiseVarianceMatchesTheTargetSnr) {
  const Volume map = class_map(18);
  for (double snr : {0.5, 0.1, 0.03}) {
    AcquisitionSettings a;
    a.snr = snr;
    const auto sim = simulate_subtomogram(map, a, 11, 4, 3.0);
    // The noise-free subtomogram from the same pose.
    const Volume clean = acquire(rotate(map, sim.pose.rotation, sim.pose.shift_voxels), a);
    double noise_var = 0;
    for (std::size_t i = 0; i < clean.size(); ++i) noise_var += std::pow(sim.volume.data[i] - clean.data[i], 2);
    noise_var /= clean.size();
    // 32768 Gaussian draws: the sample variance is within ±2.5% (5σ).
    EXPECT_NEAR(variance(clean) / noise_var, snr, 0.025 * snr) << "snr " << snr;
    EXPECT_NEAR(sim.noise_sd * sim.noise_sd, variance(clean) / snr, 1e-6 * variance(clean) / snr);
  }
}

// The empty class (Xu et al. 2017's 23rd): no signal of its own, so its
// noise is scaled to the particle classes' signal variance — noise of the
// dataset's level on both paths, not a box of zeros.
TEST(Simulate, EmptyClassIsNoiseOfTheParticleClassesLevel) {
  const Volume particle = class_map(18, 24);
  const Volume empty(24, 24, 24, 1.2);
  for (auto method : {SimulationMethod::fourier, SimulationMethod::tilt_series}) {
    AcquisitionSettings a;
    a.snr = 0.1;
    a.method = method;
    a.tilt_step_deg = 6.0;
    const auto noiseless = simulate_subtomogram(empty, a, 3, 0, 2.0);
    EXPECT_EQ(variance(noiseless.volume), 0.0) << method_name(method) << ": without a reference, no noise";
    a.empty_signal_variance = signal_variance(particle, a);
    ASSERT_GT(a.empty_signal_variance, 0.0);
    // Noise dominates at SNR 0.1: an empty box has about the variance of a
    // particle's (its noise alone: 10/11 of it on average over poses).
    double empty_var = 0, particle_var = 0;
    for (std::uint64_t i = 0; i < 8; ++i) {
      empty_var += variance(simulate_subtomogram(empty, a, 3, 2 * i, 2.0).volume);
      particle_var += variance(simulate_subtomogram(particle, a, 3, 2 * i + 1, 2.0).volume);
    }
    const double ratio = empty_var / particle_var;
    EXPECT_GT(ratio, 0.75) << method_name(method);
    EXPECT_LT(ratio, 1.1) << method_name(method);
  }
}

TEST(Simulate, DrawsDependOnlyOnSeedAndSampleIndex) {
  const Volume map = class_map(18, 24);
  AcquisitionSettings a;
  const auto x = simulate_subtomogram(map, a, 5, 17, 2.0);
  const auto y = simulate_subtomogram(map, a, 5, 17, 2.0);
  const auto z = simulate_subtomogram(map, a, 5, 18, 2.0);
  EXPECT_EQ(x.volume.data, y.volume.data);
  EXPECT_EQ(x.pose.rotation, y.pose.rotation);
  EXPECT_NE(x.volume.data, z.volume.data);
  EXPECT_GT(geodesic_distance_rad(x.pose.rotation, z.pose.rotation), 1e-3);
  for (double s : x.pose.shift_voxels) EXPECT_LE(std::abs(s), 2.0);
}

TEST(Simulate, FourierPathLeavesTheMissingWedgeEmpty) {
  const Volume map = class_map(18, 24);
  AcquisitionSettings a;
  a.snr = std::numeric_limits<double>::infinity();
  const Spectrum s = forward_fft(acquire(map, a));
  const auto mask = missing_wedge_mask(24, 24, 24, a.tilt_max_deg);
  double inside = 0, outside = 0;
  for (std::size_t i = 1; i < s.size(); ++i) (mask[i] ? inside : outside) += std::norm(s.data[i]);
  EXPECT_GT(inside, 0.0);
  EXPECT_LT(outside, 1e-8 * inside);
  EXPECT_EQ(method_name(a.method), "fourier");
  EXPECT_EQ(method_from_name("tilt_series"), SimulationMethod::tilt_series);
}

TEST(Simulate, TiltSeriesPathAgreesWithTheFourierPath) {
  // Without noise, the weighted back-projection of ±60° projections is close
  // to the Fourier-space wedge-filtered volume (both lack the same wedge).
  const Volume map = class_map(18, 32);
  AcquisitionSettings fourier;
  fourier.snr = std::numeric_limits<double>::infinity();
  fourier.apply_ctf = false;
  AcquisitionSettings tilt = fourier;
  tilt.method = SimulationMethod::tilt_series;
  tilt.tilt_step_deg = 2.0;
  const double r = correlation(acquire(map, fourier), acquire(map, tilt));
  EXPECT_GT(r, 0.9);  // measured 0.974
  RecordProperty("tilt_series_vs_fourier_correlation", std::to_string(r));
}

TEST(Simulate, TiltSeriesProjectsAllOfASlab) {
  // A slab tomogram (nz < nx) with a blob 20 voxels off the tilt axis: from
  // tilts of asin(8/20) = 24° on the blob lies above the slab's top in the
  // tilted frame, and every projection must still carry it. Noise-free, no
  // CTF or MTF: the back-projection then agrees with the Fourier path.
  Volume slab(64, 16, 16, 1.0);
  for (int z = 0; z < slab.nz; ++z)
    for (int y = 0; y < slab.ny; ++y)
      for (int x = 0; x < slab.nx; ++x) {
        const double d2 = (x - 12.0) * (x - 12.0) + (y - 8.0) * (y - 8.0) + (z - 8.0) * (z - 8.0);
        slab.at(x, y, z) = static_cast<float>(std::exp(-d2 / (2 * 1.5 * 1.5)));
      }
  AcquisitionSettings fourier;
  fourier.snr = std::numeric_limits<double>::infinity();
  fourier.apply_ctf = false;
  fourier.apply_mtf = false;
  AcquisitionSettings tilt = fourier;
  tilt.method = SimulationMethod::tilt_series;
  const Volume reconstruction = acquire(slab, tilt);
  const double r = correlation(acquire(slab, fourier), reconstruction);
  EXPECT_GT(r, 0.9);
  RecordProperty("slab_tilt_series_vs_fourier_correlation", std::to_string(r));
  // The blob's centre is the reconstruction's brightest voxel.
  const auto peak = std::max_element(reconstruction.data.begin(), reconstruction.data.end()) - reconstruction.data.begin();
  EXPECT_EQ(peak, 12 + 64 * (8 + 16 * 8));
}

TEST(Simulate, TomogramParticlesDoNotOverlapAndStayInside) {
  std::vector<Volume> maps;
  std::vector<double> radii;
  for (int c : {9, 19}) {
    maps.push_back(class_map(c, 32, 1.0));
    radii.push_back(bounding_radius_voxels(maps.back()));
  }
  TomogramSettings t;
  t.nx = 96;
  t.ny = 96;
  t.nz = 48;
  t.particle_count = 12;
  AcquisitionSettings a;
  a.snr = 1.0;
  const auto tomo = simulate_tomogram(maps, radii, t, a, 3, 0);
  ASSERT_GE(tomo.particles.size(), 8u);
  for (std::size_t i = 0; i < tomo.particles.size(); ++i) {
    const auto& p = tomo.particles[i];
    const double r = radii[p.class_id];
    EXPECT_GE(p.centre_voxel[2], r);
    EXPECT_LE(p.centre_voxel[2], t.nz - 1 - r);
    for (std::size_t j = 0; j < i; ++j) {
      const auto& q = tomo.particles[j];
      double d2 = 0;
      for (int k = 0; k < 3; ++k) d2 += std::pow(p.centre_voxel[k] - q.centre_voxel[k], 2);
      EXPECT_GE(std::sqrt(d2), r + radii[q.class_id] + t.min_gap_nm / 1.0 - 1e-9);
    }
  }
}

TEST(Picking, GaussianBlurAndLocalMaxima) {
  // A unit impulse blurred by σ gives the sampled Gaussian (normalised kernel).
  Volume v(21, 21, 21);
  v.at(10, 10, 10) = 1.0f;
  const Volume g = gaussian_blur(v, 2.0);
  double sum = 0;
  for (float x : g.data) sum += x;
  EXPECT_NEAR(sum, 1.0, 1e-5);
  EXPECT_NEAR(g.at(12, 10, 10) / g.at(10, 10, 10), std::exp(-0.5), 1e-4);
  const auto maxima = local_maxima_18(g);
  ASSERT_EQ(maxima.size(), 1u);
  EXPECT_EQ(maxima[0], (std::array<int, 3>{10, 10, 10}));
}

TEST(Picking, RecallAtSnrHalfOnASimulatedTomogram) {
  std::vector<Volume> maps;
  std::vector<double> radii;
  for (int c : {9, 19, 3, 7}) {  // barrel, cluster, ring, double ring: 20-25 nm
    maps.push_back(class_map(c, 32, 1.0));
    radii.push_back(bounding_radius_voxels(maps.back()));
  }
  TomogramSettings t;
  t.nx = 128;
  t.ny = 128;
  t.nz = 64;
  t.particle_count = 25;
  AcquisitionSettings a;
  a.snr = 0.5;
  a.ctf.amplitude_contrast = 0.07;
  const auto tomo = simulate_tomogram(maps, radii, t, a, 3, 0);
  const auto picks = pick_particles(tomo.tomogram, PickingSettings{});  // σ1 = 7 nm, k = 1.1, t = 3
  int found = 0;
  for (const auto& p : tomo.particles) {
    double nearest = 1e9;
    for (const auto& q : picks) {
      double d2 = 0;
      for (int k = 0; k < 3; ++k) d2 += std::pow(q.centre[k] - p.centre_voxel[k], 2);
      nearest = std::min(nearest, std::sqrt(d2));
    }
    found += nearest <= 5.0;  // within 5 voxels = 5 nm
  }
  const double recall = double(found) / tomo.particles.size();
  EXPECT_GE(recall, 0.9);
  EXPECT_LE(picks.size(), 2 * tomo.particles.size());  // and not by picking everything
  RecordProperty("recall", std::to_string(recall));
  RecordProperty("picks", std::to_string(picks.size()));
  std::printf("DoG picking: %zu particles, %zu picks, recall %.3f\n", tomo.particles.size(), picks.size(), recall);
  const auto boxes = extract_subtomograms(tomo.tomogram, picks, 40);
  ASSERT_EQ(boxes.size(), picks.size());
  EXPECT_EQ(boxes[0].nx, 40);
  EXPECT_FLOAT_EQ(boxes[0].at(20, 20, 20), tomo.tomogram.at(picks[0].centre[0], picks[0].centre[1], picks[0].centre[2]));
}

TEST(Picking, DarkParticlesArePickedAfterInversionAndSuppressedWithinSigma1) {
  // Three dark Gaussian blobs (σ 4 voxels) on a flat background, 1 nm voxels;
  // two of them only 5 voxels apart: NMS at σ1 = 7 voxels keeps one of those.
  Volume v(64, 64, 48, 1.0);
  const std::vector<Vec3> centres = {{16, 16, 24}, {44, 40, 20}, {44, 45, 20}};
  for (int z = 0; z < v.nz; ++z)
    for (int y = 0; y < v.ny; ++y)
      for (int x = 0; x < v.nx; ++x)
        for (const auto& c : centres) {
          const double d2 = std::pow(x - c[0], 2) + std::pow(y - c[1], 2) + std::pow(z - c[2], 2);
          v.at(x, y, z) -= static_cast<float>(std::exp(-0.5 * d2 / 16.0));
        }
  PickingSettings s;
  s.particles_dark = false;  // bright particles: the dark blobs are not what it finds
  for (const auto& p : pick_particles(v, s))  // no bright pick on (within σ1 of) a dark blob
    for (const auto& c : centres) {
      const double d2 = std::pow(p.centre[0] - c[0], 2) + std::pow(p.centre[1] - c[1], 2) + std::pow(p.centre[2] - c[2], 2);
      EXPECT_GT(d2, 7.0 * 7.0) << "bright pick at " << p.centre[0] << "," << p.centre[1] << "," << p.centre[2];
    }
  s.particles_dark = true;
  const auto picks = pick_particles(v, s);
  ASSERT_EQ(picks.size(), 2u);
  std::vector<std::array<int, 3>> found;
  for (const auto& p : picks) found.push_back(p.centre);
  EXPECT_NE(std::find(found.begin(), found.end(), std::array<int, 3>{16, 16, 24}), found.end());
  // The merged pair peaks between its two centres.
  const auto pair = found[0] == std::array<int, 3>{16, 16, 24} ? found[1] : found[0];
  EXPECT_EQ(pair[0], 44);
  EXPECT_NEAR(pair[1], 42.5, 1.0);
  EXPECT_EQ(pair[2], 20);
}
