// The Fourier average of subtomograms sharded over ranks (each rank simulates
// and adds its block, the accumulators are summed) equals the average one
// rank computes from all of them: np 1, 2 and 3, to double round-off.
#include <gtest/gtest.h>

#include <cmath>

#include "phenoscale/par/partition.hpp"
#include "phenoscale/tomo/averaging.hpp"
#include "phenoscale/tomo/procedural.hpp"
#include "phenoscale/tomo/simulate.hpp"
#include "test_support.hpp"

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
    const Mat3 r = transpose(sim.pose.rotation);
    const Vec3 back = rotate_vector(r, sim.pose.shift_voxels);
    avg.add(sim.volume, a.tilt_max_deg, r, {-back[0], -back[1], -back[2]});
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
