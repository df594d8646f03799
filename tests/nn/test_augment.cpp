// Training-time augmentation (nn/augment): rot180's turns are the rotations
// they claim to be, keep a missing wedge (and a 90° turn would not), are
// drawn evenly and independently per sample and epoch, and bad names or
// shapes are rejected.
#include <gtest/gtest.h>

#include <array>
#include <cmath>

#include "phenoscale/core/error.hpp"
#include "phenoscale/nn/augment.hpp"

namespace phenoscale::nn {
namespace {

constexpr std::int64_t kSide = 12;
constexpr std::uint64_t kSeed = 5;

// The first sample index whose turn in epoch 0 is `choice`.
std::int64_t index_with(int choice) {
  for (std::int64_t i = 0;; ++i) {
    if (rot180_choice(kSeed, 0, i) == choice) return i;
  }
}

torch::Tensor turn(const torch::Tensor& volume, int choice) {
  const auto& a = find_augmentation("rot180");
  return a.apply(volume.unsqueeze(0), {index_with(choice)}, kSeed, 0)[0];
}

// Fourier energy of `v` [z, y, x] inside the missing wedge of a ±tilt_deg
// tilt series about y (beam along z): |k_z| > tan(tilt) |k_x|.
double wedge_energy(const torch::Tensor& v, double tilt_deg) {
  const torch::Tensor f = torch::fft::fftn(v).abs().pow(2);
  const auto k = torch::fft::fftfreq(kSide);
  const auto kz = k.view({kSide, 1, 1}).abs(), kx = k.view({1, 1, kSide}).abs();
  const torch::Tensor missing = (kz > std::tan(tilt_deg * M_PI / 180.0) * kx + 1e-9).expand({kSide, kSide, kSide});
  return (f * missing).sum().item<double>() / f.sum().item<double>();
}

TEST(Rot180, EachTurnIsAHalfTurnAboutItsAxis) {
  // A voxel at (z, y, x) goes where R(180°) about the centre puts it.
  const std::int64_t z = 2, y = 5, x = 9, e = kSide - 1;
  torch::Tensor v = torch::zeros({kSide, kSide, kSide});
  v[z][y][x] = 1.0f;
  const std::array<std::array<std::int64_t, 3>, 4> expected = {{{z, y, x},            // unchanged
                                                                 {e - z, e - y, x},    // about x
                                                                 {e - z, y, e - x},    // about y
                                                                 {z, e - y, e - x}}};  // about z
  for (int c = 0; c < 4; ++c) {
    const torch::Tensor t = turn(v, c);
    const auto& p = expected[c];
    EXPECT_EQ(t[p[0]][p[1]][p[2]].item<float>(), 1.0f) << "choice " << c;
    EXPECT_EQ(t.sum().item<float>(), 1.0f);
    EXPECT_TRUE(torch::equal(turn(t, c), v)) << "a half turn twice is the identity, choice " << c;
  }
}

TEST(Rot180, KeepsAMissingWedgeThatAQuarterTurnWouldMove) {
  torch::manual_seed(1);
  const torch::Tensor noise = torch::randn({kSide, kSide, kSide});
  // Zero the wedge of a ±60° tilt series, as the simulator does.
  const auto k = torch::fft::fftfreq(kSide);
  const auto kz = k.view({kSide, 1, 1}).abs(), kx = k.view({1, 1, kSide}).abs();
  const torch::Tensor kept = (kz <= std::tan(60.0 * M_PI / 180.0) * kx + 1e-9).to(torch::kFloat);
  const torch::Tensor wedged = torch::real(torch::fft::ifftn(torch::fft::fftn(noise) * kept));
  ASSERT_LT(wedge_energy(wedged, 60.0), 1e-10);
  ASSERT_GT(wedge_energy(noise, 60.0), 0.2);
  for (int c = 1; c < 4; ++c) EXPECT_LT(wedge_energy(turn(wedged, c), 60.0), 1e-10) << "choice " << c;
  // A 90° turn about y (x <-> z) is not in the set: it moves the wedge.
  EXPECT_GT(wedge_energy(wedged.transpose(0, 2).flip({0}), 60.0), 0.1);
}

TEST(Rot180, TurnsAreEvenAndIndependentOfEpochAndBatch) {
  const int n = 8000;
  std::array<int, 4> counts{};
  int same_next_epoch = 0;
  for (int i = 0; i < n; ++i) {
    const int c = rot180_choice(kSeed, 3, i);
    ++counts[c];
    same_next_epoch += c == rot180_choice(kSeed, 4, i) ? 1 : 0;
  }
  for (int c = 0; c < 4; ++c) EXPECT_NEAR(counts[c] / double(n), 0.25, 0.02) << "choice " << c;
  EXPECT_NEAR(same_next_epoch / double(n), 0.25, 0.02);
  // A sample's turn depends on its index, not on its place in the batch.
  torch::manual_seed(2);
  const torch::Tensor batch = torch::randn({3, kSide, kSide, kSide});
  const auto& a = find_augmentation("rot180");
  const torch::Tensor forward = a.apply(batch, {10, 11, 12}, kSeed, 0);
  const torch::Tensor reversed = a.apply(batch.flip({0}), {12, 11, 10}, kSeed, 0);
  EXPECT_TRUE(torch::equal(forward, reversed.flip({0})));
}

TEST(Augmentation, UnknownNameIsRejectedWithTheKnownOnes) {
  try {
    find_augmentation("rot90");
    FAIL() << "no error";
  } catch (const Error& e) {
    EXPECT_STREQ(e.what(), "train.augment = \"rot90\": unknown augmentation; expected one of none, rot180");
  }
  EXPECT_EQ(augmentations().front().name, "none");
  // The deck schema's names (engine.hpp, torch-free) are the table's.
  std::vector<std::string> table;
  for (const auto& a : augmentations()) table.push_back(a.name);
  EXPECT_EQ(table, augmentation_names());
}

}  // namespace
}  // namespace phenoscale::nn
