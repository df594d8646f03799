// Dropout keyed by the sample, not by the rank (see models.hpp): torch's own
// dropout draws from one generator per process, so at np > 1 a sample's mask
// depended on which rank held it and where in its slice.
#include <ATen/Parallel.h>

#include <cmath>
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
  // One stream per (layer, sample): the layer's seed from the step's, then the
  // sample's global index as the counter-based stream's index (any number of
  // layers, no overlap between neighbouring samples).
  const std::uint64_t layer_seed = core::Rng(batch.dropout_seed, core::Stream::dropout, site).next_u64();
  // Dropped when a uniform 32-bit draw falls below p·2³² (one draw per value;
  // Inception3D drops on its 786,080-wide flattened features).
  const auto threshold = static_cast<std::uint32_t>(std::min(p * 4294967296.0, 4294967295.0));
  torch::Tensor keep = torch::empty({rows, features}, torch::kUInt8);
  std::uint8_t* k = keep.data_ptr<std::uint8_t>();
  at::parallel_for(0, rows, 1, [&](std::int64_t begin, std::int64_t end) {
    for (std::int64_t r = begin; r < end; ++r) {
      const auto index = static_cast<std::uint64_t>(indexed ? batch.indices[static_cast<std::size_t>(r)] : r);
      core::Rng rng(layer_seed, core::Stream::dropout, index);
      std::uint8_t* row = k + r * features;
      for (std::int64_t f = 0; f < features; ++f) row[f] = rng.next_u32() >= threshold ? 1 : 0;
    }
  });
  // A 0/1 mask in x's type (exact in bf16 too), then the scale as a scalar.
  return x * keep.to(x.device(), x.scalar_type(), /*non_blocking=*/false) * (1.0 / (1.0 - p));
}

}  // namespace phenoscale::nn
