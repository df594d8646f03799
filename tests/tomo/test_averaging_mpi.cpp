// Fourier averaging: CTF correction (phase flip, Wiener) past the first CTF
// zero, gold-standard half sets split independently of the rank count, and:
// the Fourier average of subtomograms sharded over ranks (each rank simulates
// and adds its block, the accumulators are summed) equals the average one
// rank computes from all of them: np 1, 2 and 3, to double round-off.
#include <gtest/gtest.h>

#include <cmath>
#include <cstdio>

#include "phenoscale/core/error.hpp"
#include "phenoscale/par/partition.hpp"
#include "phenoscale/tomo/averaging.hpp"
#include "phenoscale/tomo/ctf.hpp"
#include "phenoscale/tomo/fsc.hpp"
#include "phenoscale/tomo/procedural.hpp"
#include "phenoscale/tomo/simulate.hpp"
#include "test_support.hpp"
#include "tomo/pose_support.hpp"

using namespace phenoscale;
using namespace phenoscale::tomo;

TEST(ShardedAveraging, SameAverageAtAnyRankCount) {
  const auto& world = phenoscale::testing::world();
  const int n = 24;
  const Volume map = density_map(procedural_structure(3, 17), n, 1.5, 3.0);
  AcquisitionSettings a;
  a.snr = 0.2;
  const std::uint64_t total = 13;  // uneven blocks at 2 and 3 ranks
  const auto add = [&](FourierAverager& avg, std::uint64_t i) {
    const auto sim = simulate_subtomogram(map, a, 8, i, 2.0);
    const AlignmentResult t = phenoscale::testing::true_alignment(sim.pose);
    avg.add(sim.volume, a.tilt_max_deg, t.rotation, t.shift_voxels);
  };
  FourierAverager sharded(n, 1.5), serial(n, 1.5);
  const auto mine = par::BlockPartition::over(total, world).range(world.rank());
  for (std::uint64_t i = mine.begin; i < mine.end; ++i) add(sharded, i);
  world.allreduce_sum_inplace(sharded.accumulators());
  for (std::uint64_t i = 0; i < total; ++i) add(serial, i);
  const Volume x = sharded.average(), y = serial.average();
  double max_diff = 0, max_abs = 0;
  for (std::size_t v = 0; v < x.size(); ++v) {
    max_diff = std::max(max_diff, double(std::abs(x.data[v] - y.data[v])));
    max_abs = std::max(max_abs, double(std::abs(y.data[v])));
  }
  EXPECT_LT(max_diff, 1e-5 * max_abs);
  EXPECT_GT(max_abs, 0.0);
}

TEST(CtfCorrectedAveraging, PassesTheFirstCtfZero) {
  // 24³ at 1 nm (Nyquist 0.5/nm), −5 µm underfocus: CTF zeros at 0.319 and
  // 0.451/nm. Below the first zero the CTF is negative, so there the
  // uncorrected average carries the inverted map (FSC < 0 against the truth);
  // phase flipping and Wiener filtering restore it (FSC > 0). Between the
  // first two zeros (shells 8-10) the CTF is positive: all three agree.
  const auto& world = phenoscale::testing::world();
  const int n = 24;
  const Volume map = density_map(procedural_structure(3, 17), n, 1.0, 1.5);
  AcquisitionSettings a;
  a.snr = 10.0;
  a.ctf.amplitude_contrast = 0.07;
  const auto zeros = ctf_zeros_per_nm(a.ctf, 2);
  ASSERT_LT(zeros[1], 0.5);
  CtfCorrectionSettings flip{CtfCorrection::phase_flip, a.ctf, 1.0}, wiener{CtfCorrection::wiener, a.ctf, 1.0};
  FourierAverager plain(n, 1.0), flipped(n, 1.0, flip), filtered(n, 1.0, wiener);
  const auto mine = par::BlockPartition::over(16, world).range(world.rank());
  for (std::uint64_t i = mine.begin; i < mine.end; ++i) {
    const auto sim = simulate_subtomogram(map, a, 5, i, 2.0);
    for (FourierAverager* avg : {&plain, &flipped, &filtered}) avg->add(sim.volume, a.tilt_max_deg, phenoscale::testing::true_alignment(sim.pose));
  }
  for (FourierAverager* avg : {&plain, &flipped, &filtered}) world.allreduce_sum_inplace(avg->accumulators());
  const auto fsc_plain = fourier_shell_correlation(plain.average(), map);
  const auto fsc_flip = fourier_shell_correlation(flipped.average(), map);
  const auto fsc_wiener = fourier_shell_correlation(filtered.average(), map);
  const double low_plain = mean_fsc_between(fsc_plain, 0.05, zeros[0] - 0.05);
  const double low_flip = mean_fsc_between(fsc_flip, 0.05, zeros[0] - 0.05);
  const double low_wiener = mean_fsc_between(fsc_wiener, 0.05, zeros[0] - 0.05);
  const double band_plain = mean_fsc_between(fsc_plain, zeros[0] + 0.02, zeros[1] - 0.02);
  const double band_flip = mean_fsc_between(fsc_flip, zeros[0] + 0.02, zeros[1] - 0.02);
  const double band_wiener = mean_fsc_between(fsc_wiener, zeros[0] + 0.02, zeros[1] - 0.02);
  if (world.is_root())
    std::printf("mean FSC vs truth below the 1st CTF zero: none %.3f, phase-flip %.3f, wiener %.3f; between the 1st "
                "and 2nd: none %.3f, phase-flip %.3f, wiener %.3f; FSC-0.5: none %.2f nm, phase-flip %.2f nm, "
                "wiener %.2f nm\n",
                low_plain, low_flip, low_wiener, band_plain, band_flip, band_wiener, fsc_plain.resolution_nm,
                fsc_flip.resolution_nm, fsc_wiener.resolution_nm);
  EXPECT_LT(low_plain, -0.8);
  EXPECT_GT(low_flip, 0.8);
  EXPECT_GT(low_wiener, 0.8);
  EXPECT_GT(band_plain, 0.3);
  EXPECT_GT(band_flip, 0.3);
  EXPECT_GT(band_wiener, 0.3);
  EXPECT_NEAR(band_plain, band_flip, 0.05);  // sign(CTF) = +1 there: the same sums
  // The uncorrected average fails at the first shell; the corrected one passes the first zero.
  EXPECT_GT(fsc_plain.resolution_nm, 1.0 / zeros[0]);
  EXPECT_LT(fsc_flip.resolution_nm, 1.0 / zeros[0]);
  EXPECT_THROW(ctf_correction_from_name("phaseflip"), phenoscale::Error);
  EXPECT_EQ(ctf_correction_from_name("wiener"), CtfCorrection::wiener);
}

TEST(HalfSetAveraging, SplitByGlobalOrdinalAtAnyRankCount) {
  // The half sets of one class: members are every third sample (label 0 of
  // i % 3), numbered in global order, even ordinals in half 1. At any rank
  // count each half average equals the serial average of those samples, and
  // the gold-standard FSC-0.143 is read off the half-set curve.
  const auto& world = phenoscale::testing::world();
  const int n = 20;
  const Volume map = density_map(procedural_structure(3, 18), n, 1.5, 3.0);
  AcquisitionSettings a;
  a.snr = 0.5;
  a.apply_ctf = false;
  const std::uint64_t total = 23;  // 8 members of class 0: 4 + 4
  const auto mine = par::BlockPartition::over(total, world).range(world.rank());
  std::vector<Volume> subs;
  std::vector<AlignmentResult> poses;
  std::vector<std::int64_t> labels;
  for (std::uint64_t i = mine.begin; i < mine.end; ++i) {
    const auto sim = simulate_subtomogram(map, a, 9, i, 1.0);
    subs.push_back(sim.volume);
    poses.push_back(phenoscale::testing::true_alignment(sim.pose));
    labels.push_back(static_cast<std::int64_t>(i % 3));
  }
  const auto h = half_set_averages(subs, a.tilt_max_deg, poses, labels, 0, 2.0, AlignmentSettings{}, 0, world);
  EXPECT_EQ(h.sizes[0], 4u);
  EXPECT_EQ(h.sizes[1], 4u);
  FourierAverager serial[2] = {FourierAverager(n, 1.5), FourierAverager(n, 1.5)};
  for (std::uint64_t i = 0, ordinal = 0; i < total; i += 3, ++ordinal) {
    const auto sim = simulate_subtomogram(map, a, 9, i, 1.0);
    serial[ordinal % 2].add(sim.volume, a.tilt_max_deg, phenoscale::testing::true_alignment(sim.pose));
  }
  for (int k = 0; k < 2; ++k) {
    const Volume expected = serial[k].average(2.0);
    double max_diff = 0, max_abs = 0;
    for (std::size_t v = 0; v < expected.size(); ++v) {
      max_diff = std::max(max_diff, double(std::abs(h.halves[k].data[v] - expected.data[v])));
      max_abs = std::max(max_abs, double(std::abs(expected.data[v])));
    }
    EXPECT_LT(max_diff, 1e-5 * max_abs) << "half " << k;
  }
  // Two independent noisy halves of one map: the curve falls from ≈ 1 and
  // crosses 0.143 where the gold-standard figure says.
  EXPECT_GT(h.fsc.curve.fsc[2], 0.8);
  EXPECT_NEAR(h.fsc.resolution_nm, fsc_resolution_nm(h.fsc.curve.fsc, n, 1.5, 0.143), 1e-12);
  EXPECT_LE(h.fsc.resolution_nm, h.fsc.curve.resolution_nm);  // 0.143 is crossed no earlier than 0.5
}
