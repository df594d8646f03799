// Training-time augmentation table (see augment.hpp).
#include "phenoscale/nn/augment.hpp"

#include "phenoscale/core/error.hpp"
#include "phenoscale/core/rng.hpp"

namespace phenoscale::nn {
namespace {

torch::Tensor unchanged(const torch::Tensor& inputs, const std::vector<std::int64_t>&, std::uint64_t, std::int64_t) {
  return inputs;
}

// Samples [B, ..., z, y, x]: a 180° turn about one axis reverses the other two.
torch::Tensor rot180(const torch::Tensor& inputs, const std::vector<std::int64_t>& indices, std::uint64_t seed,
                     std::int64_t epoch) {
  static const std::vector<std::int64_t> reversed_dims[4] = {{}, {-3, -2}, {-3, -1}, {-2, -1}};  // -, x, y, z
  std::vector<torch::Tensor> out;
  out.reserve(indices.size());
  for (std::size_t b = 0; b < indices.size(); ++b) {
    const auto& dims = reversed_dims[rot180_choice(seed, epoch, indices[b])];
    const torch::Tensor sample = inputs[static_cast<std::int64_t>(b)];
    out.push_back(dims.empty() ? sample : sample.flip(dims));
  }
  return torch::stack(out);
}

}  // namespace

int rot180_choice(std::uint64_t seed, std::int64_t epoch, std::int64_t index) {
  // One stream per epoch keeps the epochs' choices independent.
  core::Rng rng(seed + 0x9E3779B97F4A7C15ULL * static_cast<std::uint64_t>(epoch + 1), core::Stream::augmentation,
                static_cast<std::uint64_t>(index));
  return static_cast<int>(rng.below(4));
}

const std::vector<Augmentation>& augmentations() {
  static const std::vector<Augmentation> table = {
      {"none", "Train on the samples as stored", 0, unchanged},
      {"rot180",
       "3-D samples: per sample and epoch, unchanged or turned 180° about x, y or z (the turns that keep a missing "
       "wedge about a grid axis; no interpolation)",
       3, rot180},
  };
  return table;
}

const Augmentation& find_augmentation(const std::string& name, const std::string& key) {
  for (const auto& a : augmentations()) {
    if (a.name == name) return a;
  }
  std::string known;
  for (const auto& n : augmentation_names()) known += (known.empty() ? "" : ", ") + n;
  throw Error(key + " = \"" + name + "\": unknown augmentation; expected one of " + known);
}

}  // namespace phenoscale::nn
