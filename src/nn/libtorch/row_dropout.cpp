// Dropout keyed by the sample, not by the rank (see models.hpp): torch's own
// dropout draws from one generator per process, so at np > 1 a sample's mask
// depended on which rank held it and where in its slice.
#include <algorithm>
#include <string>

#include "models.hpp"
#include "phenoscale/core/error.hpp"
#include "phenoscale/core/rng.hpp"

namespace phenoscale::nn {

torch::Tensor row_dropout(const torch::Tensor& x, double p, bool training, const Batch& batch, std::uint64_t site) {
  if (!training || p <= 0.0 || x.numel() == 0) return x;
  if (p >= 1.0) return torch::zeros_like(x);
  const std::int64_t rows = x.size(0);
  // A batch built by hand without global indices keys its rows by position.
  const bool indexed = !batch.indices.empty();
  if (x.dim() != 2 || (indexed && rows != batch.size()))
    throw Error("nn::row_dropout: expected [batch, features] rows, one per batch sample (" +
                std::to_string(batch.size()) + "), found " + std::to_string(x.dim()) + " dimensions and " +
                std::to_string(rows) + " rows");
  const std::int64_t features = x.size(1);
  const float keep_scale = static_cast<float>(1.0 / (1.0 - p));
  torch::Tensor mask = torch::empty({rows, features}, torch::kFloat32);
  float* m = mask.data_ptr<float>();
  for (std::int64_t r = 0; r < rows; ++r) {
    const auto index = static_cast<std::uint64_t>(indexed ? batch.indices[static_cast<std::size_t>(r)] : r);
    core::Rng rng(batch.dropout_seed, core::Stream::dropout, index * 16 + site);
    for (std::int64_t f = 0; f < features; ++f) m[r * features + f] = rng.uniform() < p ? 0.0f : keep_scale;
  }
  return x * mask.to(x.device(), x.scalar_type());
}

}  // namespace phenoscale::nn
