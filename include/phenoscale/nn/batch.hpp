// One rank's part of a global mini-batch, as tensors.
//
// Fixed-shape samples (subtomograms, feature vectors) stack to [B, shape...].
// Variable-length series (trajectories, protrusion velocities; docs/methods.md
// §2.2 and §3.3) are zero-padded to the longest series of the batch, [B, T, C],
// with a mask [B, T] that is 1 on real frames: losses and accuracies are
// computed on real frames only, so padding never changes a result.
//
// Losses are sums over this rank's samples (or frames) divided by the count
// of the *global* batch, and gradients are summed over ranks: the update is
// the same whatever the rank count and however unevenly the batch is split.
#pragma once

#include <torch/torch.h>

#include <cstdint>
#include <vector>

namespace phenoscale::nn {

struct Batch {
  torch::Tensor inputs;   // [B, shape...] or [B, T, C], float32
  torch::Tensor targets;  // int64 [B] (per sample) or [B, T] (per frame); undefined when unlabelled
  torch::Tensor mask;     // float32 [B, T], sequences only
  torch::Tensor lengths;  // int64 [B], frames per series (1 for fixed-shape samples)
  std::vector<std::int64_t> indices;  // global sample indices, in batch order
  double global_samples = 0.0;        // samples in the whole global batch (all ranks)
  double global_frames = 0.0;         // real frames in the whole global batch
  // false: the caller uses only logits and features (inference), so a model
  // may skip outputs that only the training loss reads (the guided
  // autoencoder's decoder, more than half of its recurrent work).
  bool need_reconstruction = true;
  // The training step's dropout seed (the trainer sets it; the same on every
  // rank): a sample's dropout mask is keyed by it and the sample's global
  // index, so masks do not depend on the rank count (nn::row_dropout).
  std::uint64_t dropout_seed = 0;

  std::int64_t size() const { return static_cast<std::int64_t>(indices.size()); }
  bool sequences() const { return mask.defined(); }
};

}  // namespace phenoscale::nn
