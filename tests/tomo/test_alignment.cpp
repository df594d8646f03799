// FSC, missing-wedge-aware alignment and Fourier-space averaging (Xu et al. 2017).
#include <gtest/gtest.h>

#include <cmath>
#include <cstdio>

#include "phenoscale/core/error.hpp"
#include "phenoscale/core/rng.hpp"
#include "phenoscale/tomo/alignment.hpp"
#include "phenoscale/tomo/averaging.hpp"
#include "phenoscale/tomo/fsc.hpp"
#include "phenoscale/tomo/missing_wedge.hpp"
#include "phenoscale/tomo/procedural.hpp"
#include "phenoscale/tomo/simulate.hpp"

using namespace phenoscale::tomo;
using phenoscale::core::Rng;
using phenoscale::core::Stream;

namespace {
constexpr double pi = 3.14159265358979323846;

Volume class_map(int class_id, int n, double voxel_nm) {
  return density_map(procedural_structure(1, class_id), n, voxel_nm, 2 * voxel_nm);
}

Volume noise(int n, std::uint64_t index) {
  Volume v = Volume::cube(n);
  Rng rng(1, Stream::test, index);
  for (auto& x : v.data) x = static_cast<float>(rng.normal());
  return v;
}
}  // namespace

TEST(Fsc, OfAMapWithItselfIsOneInEveryShell) {
  const Volume map = class_map(18, 32, 1.2);
  const auto c = fourier_shell_correlation(map, map);
  ASSERT_EQ(c.fsc.size(), 17u);
  for (double f : c.fsc) EXPECT_NEAR(f, 1.0, 1e-9);
  EXPECT_NEAR(c.resolution_nm, 2 * 1.2, 1e-12);  // never drops: Nyquist
  EXPECT_NEAR(c.frequency_per_nm[4], 4 / (32 * 1.2), 1e-12);
}

TEST(Fsc, OfAMapWithItsNegativeIsMinusOneAboveTheDcShellWhichIsOneByConvention) {
  const Volume map = class_map(18, 32, 1.2);
  Volume negative = map;
  for (auto& x : negative.data) x = -x;
  const auto c = fourier_shell_correlation(map, negative);
  EXPECT_EQ(c.fsc[0], 1.0);
  for (std::size_t r = 1; r < c.fsc.size(); ++r) EXPECT_NEAR(c.fsc[r], -1.0, 1e-9) << "shell " << r;
  EXPECT_NEAR(c.resolution_nm, 32 * 1.2, 1e-12);  // below 0.5 at shell 1: the box
}

TEST(Fsc, OfIndependentNoiseIsNearZero) {
  const auto c = fourier_shell_correlation(noise(32, 1), noise(32, 2));
  double mean = 0;
  for (std::size_t r = 1; r < c.fsc.size(); ++r) mean += c.fsc[r];
  mean /= static_cast<double>(c.fsc.size() - 1);
  EXPECT_LT(std::abs(mean), 0.03);
  for (std::size_t r = 4; r < c.fsc.size(); ++r) EXPECT_LT(std::abs(c.fsc[r]), 0.25) << "shell " << r;
}

TEST(Fsc, SharedLowFrequenciesGiveTheCutoffResolution) {
  // Two volumes that share frequencies up to radius 6.4 and carry
  // independent noise beyond: FSC ≈ 1 in shells ≤ 6, ≈ 0 from shell 7 (all of
  // it beyond the cutoff), so the resolution is N·voxel/7.
  const Volume v = noise(32, 3);
  Spectrum low = forward_fft(v), other = forward_fft(noise(32, 4));
  lowpass(low, 6.4 / 32.0);
  for_each_frequency(other, [&](std::size_t i, int, double fx, double fy, double fz) {
    if (std::sqrt(fx * fx + fy * fy + fz * fz) <= 6.4 / 32.0) other.data[i] = low.data[i];
  });
  Volume a = v;
  a.voxel_nm = 1.5;
  const auto c = fourier_shell_correlation(a, inverse_fft(other));
  EXPECT_NEAR(c.fsc[5], 1.0, 1e-6);
  EXPECT_LT(std::abs(c.fsc[8]), 0.25);
  // First-below: shell 7. Interpolated: between shells 6 and 7, at the
  // frequency where the straight line through them crosses 0.5.
  EXPECT_NEAR(fourier_shell_correlation(a, inverse_fft(other), FscDefinition::first_below).resolution_nm, 32 * 1.5 / 7,
              1e-9);
  const double shell = 6 + (c.fsc[6] - 0.5) / (c.fsc[6] - c.fsc[7]);
  EXPECT_NEAR(c.resolution_nm, 32 * 1.5 / shell, 1e-9);
  EXPECT_GT(c.resolution_nm, 32 * 1.5 / 7);
  EXPECT_LT(c.resolution_nm, 32 * 1.5 / 6);
}

TEST(Fsc, CrossingDefinitionsOnAHandCurve) {
  const std::vector<double> curve{1.0, 0.9, 0.7, 0.49, 0.2};
  // First shell below 0.5 is r = 3: 8·2/3 nm.
  EXPECT_NEAR(fsc_resolution_nm(curve, 8, 2.0, 0.5, FscDefinition::first_below), 8 * 2.0 / 3, 1e-12);
  // Interpolated: 0.5 is crossed at r = 2 + (0.7 − 0.5)/(0.7 − 0.49) = 2.952381 shells.
  EXPECT_NEAR(fsc_resolution_nm(curve, 8, 2.0), 16.0 / 2.9523809523809526, 1e-12);
  // At 0.143 this curve never drops below the threshold (last shell 0.2): Nyquist, 2 voxels.
  EXPECT_NEAR(fsc_resolution_nm(curve, 8, 2.0, 0.143), 4.0, 1e-12);
  // Here 0.143 is crossed between r = 2 (0.6) and 3 (0.1): 2 + 0.457/0.5 shells.
  EXPECT_NEAR(fsc_resolution_nm({1.0, 0.9, 0.6, 0.1, 0.0}, 8, 2.0, 0.143), 16.0 / (2 + 0.457 / 0.5), 1e-12);
  // Shell 1 below the threshold: nothing to interpolate from above the DC
  // term, whatever it holds; the first-below value N·voxel/1.
  EXPECT_NEAR(fsc_resolution_nm({0.0, 0.3, 0.9}, 8, 2.0), 16.0, 1e-12);
  EXPECT_NEAR(fsc_resolution_nm({1.0, 0.3, 0.9}, 8, 2.0), 16.0, 1e-12);
  EXPECT_NEAR(fsc_resolution_nm({-1.0, 0.3, 0.9}, 8, 2.0), 16.0, 1e-12);
  // An odd box never below the threshold: its last shell ⌊33/2⌋ = 16, 33/16 voxels.
  EXPECT_NEAR(fsc_resolution_nm(std::vector<double>(17, 0.9), 33, 1.0), 33.0 / 16, 1e-12);
  EXPECT_EQ(fsc_definition_from_name("first-below"), FscDefinition::first_below);
  EXPECT_EQ(fsc_definition_name(FscDefinition::interpolated), "interpolated");
  EXPECT_THROW(fsc_definition_from_name("first_below"), phenoscale::Error);
}

TEST(Alignment, RotationGridCoversSO3) {
  const auto grid = rotation_grid(30.0);
  EXPECT_EQ(grid.size(), 2u * 12 + 5u * 144);
  // Every rotation is within ~30° of some grid point.
  Rng rng(2, Stream::test, 0);
  for (int i = 0; i < 200; ++i) {
    const Mat3 r = random_rotation(rng);
    double nearest = 10;
    for (const auto& g : grid) nearest = std::min(nearest, geodesic_distance_rad(r, g));
    EXPECT_LT(nearest * 180 / pi, 30.0);
  }
}

TEST(Alignment, RecoversAKnownRotationAndShiftAtSnrPoint1WithAWedge) {
  // 32³ box, 1.2 nm voxels, an asymmetric cluster of 8 subunits (17 nm);
  // ±60° wedge, CTF (with amplitude contrast 0.07) and MTF, SNR 0.1. The
  // reference is the map through the same CTF and MTF without a wedge.
  const int n = 32;
  const Volume map = class_map(18, n, 1.2);
  AcquisitionSettings a;
  a.snr = 0.1;
  a.ctf.amplitude_contrast = 0.07;
  AcquisitionSettings full = a;
  full.tilt_max_deg = 90;
  const Volume reference = acquire(map, full);
  const auto all_observed = missing_wedge_mask(n, n, n, 90);
  for (std::uint64_t sample : {0u, 1u}) {
    const auto sim = simulate_subtomogram(map, a, 7, sample, 3.0);
    const AlignmentResult r = align(reference, all_observed, sim.volume, a.tilt_max_deg);
    // The inverse of the simulated pose: rotation Rᵀ, shift −Rᵀs.
    const Mat3 expected = transpose(sim.pose.rotation);
    const Vec3 back = rotate_vector(expected, sim.pose.shift_voxels);
    const double angle_deg = geodesic_distance_rad(r.rotation, expected) * 180 / pi;
    double shift_err = 0;
    for (int k = 0; k < 3; ++k) shift_err += std::pow(r.shift_voxels[k] + back[k], 2);
    shift_err = std::sqrt(shift_err);
    EXPECT_LT(angle_deg, 5.0) << "sample " << sample;
    EXPECT_LT(shift_err, 1.0) << "sample " << sample;
    std::printf("alignment sample %d: rotation error %.2f deg, shift error %.2f voxel, score %.3f, %d rotations\n",
                int(sample), angle_deg, shift_err, r.score, r.rotations_scored);
  }
}

TEST(Averaging, HundredAlignedCopiesBeatOneCopyInFscResolution) {
  const int n = 32;
  const double voxel_nm = 1.2;
  const Volume map = class_map(18, n, voxel_nm);
  AcquisitionSettings a;
  a.snr = 0.1;
  a.apply_ctf = false;  // compare with the map itself: no CTF phase flips
  FourierAverager all(n, voxel_nm), one(n, voxel_nm);
  for (std::uint64_t i = 0; i < 100; ++i) {
    const auto sim = simulate_subtomogram(map, a, 21, i, 3.0);
    const Mat3 r = transpose(sim.pose.rotation);
    const Vec3 back = rotate_vector(r, sim.pose.shift_voxels);
    all.add(sim.volume, a.tilt_max_deg, r, {-back[0], -back[1], -back[2]});
    if (i == 0) one.add(sim.volume, a.tilt_max_deg, r, {-back[0], -back[1], -back[2]});
  }
  EXPECT_EQ(all.added(), 100u);
  const double single_nm = fourier_shell_correlation(one.average(1.0), map).resolution_nm;
  const double average_nm = fourier_shell_correlation(all.average(2.0), map).resolution_nm;
  std::printf("FSC-0.5 resolution against the truth: one copy %.2f nm, average of 100 %.2f nm\n", single_nm, average_nm);
  EXPECT_LT(average_nm, 0.7 * single_nm);  // measured 3.55 vs 6.09 nm (first shell below 0.5: 3.49 vs 5.49)
  EXPECT_LT(average_nm, 4.0);
  // The rotated wedges fill each other in: the average observed (≥2) almost
  // every frequency, a single copy only 2/3 of them.
  const auto mask_all = all.observed_mask(2.0), mask_one = one.observed_mask(1.0);
  double f_all = 0, f_one = 0;
  for (std::size_t i = 0; i < mask_all.size(); ++i) {
    f_all += mask_all[i];
    f_one += mask_one[i];
  }
  EXPECT_GT(f_all / mask_all.size(), 0.99);
  EXPECT_NEAR(f_one / mask_one.size(), 2.0 / 3.0, 0.03);
}
