// Training-time augmentation of fixed-shape samples, chosen by name
// (`train.augment`) from one table.
//
// Why: a 3-D CNN has to learn rotation invariance from its training
// subtomograms alone (Xu et al. 2017 §2.2 trains on 500 per class); with fewer
// samples it overfits. "rot180" turns each subtomogram, at random, by 180°
// about the x, y or z axis of the grid, or leaves it. These four turns are the
// rotations that map a missing wedge about a grid axis onto itself (each
// negates two Fourier coordinates, and the wedge |k_beam| > tan θ |k_perp| is
// symmetric under sign changes), and they move voxels without interpolation,
// so the augmented subtomograms have the wedge, the CTF and the noise of the
// real ones. Arbitrary rotations would turn the wedge away from the beam
// axis and teach the network a wedge the test data never has.
//
// The turn of a sample is a function of (seed, epoch, global sample index)
// only: the same at any rank count, and after resuming from a checkpoint.
#pragma once

#include <torch/torch.h>

#include <cstdint>
#include <string>
#include <vector>

#include "phenoscale/nn/engine.hpp"

namespace phenoscale::nn {

struct Augmentation {
  std::string name;
  std::string help;
  // Spatial dimensions a sample needs (0: any shape, sequences included).
  int spatial_dims = 0;
  // inputs [B, shape...] on any device; indices are the global sample indices.
  torch::Tensor (*apply)(const torch::Tensor& inputs, const std::vector<std::int64_t>& indices, std::uint64_t seed,
                         std::int64_t epoch) = nullptr;
};

// The table; the first entry ("none") is the default.
const std::vector<Augmentation>& augmentations();
// The names are engine.hpp's augmentation_names() (the deck schema is torch-free).
// Throws naming `key` and the known names when `name` is not in the table.
const Augmentation& find_augmentation(const std::string& name, const std::string& key = "train.augment");

// rot180's choice for one sample: 0 = unchanged, 1/2/3 = 180° about x/y/z.
int rot180_choice(std::uint64_t seed, std::int64_t epoch, std::int64_t index);

}  // namespace phenoscale::nn
