// Losses and metrics of the three tasks, normalised by the global batch.
//
// classify           cross-entropy summed over this rank's samples / global samples
// segment            cross-entropy summed over real frames / global real frames
//                    (METHODS.md §2.2: padding never enters loss or accuracy)
// guided_autoencoder cross-entropy per sample + λ · MSE over real frames and
//                    channels (METHODS.md §3.3)
// The loss is computed on logits (log-softmax inside cross-entropy): the
// reference spt code's double softmax is not reproduced.
#pragma once

#include <torch/torch.h>

#include <array>
#include <string>

#include "phenoscale/nn/batch.hpp"
#include "phenoscale/nn/model.hpp"

namespace phenoscale::nn {

// Running sums of one epoch or evaluation pass, summed over ranks with one
// allreduce: [cross-entropy sum, cross-entropy count, squared error sum,
// squared error count, correct predictions, predictions].
struct MetricSums {
  std::array<double, 6> v{};
  void add(const MetricSums& o) {
    for (std::size_t i = 0; i < v.size(); ++i) v[i] += o.v[i];
  }
  double cross_entropy() const { return v[1] > 0 ? v[0] / v[1] : 0.0; }
  double reconstruction() const { return v[3] > 0 ? v[2] / v[3] : 0.0; }
  double accuracy() const { return v[5] > 0 ? v[4] / v[5] : 0.0; }
  double loss(double reconstruction_weight) const { return cross_entropy() + reconstruction_weight * reconstruction(); }
};

struct LossResult {
  torch::Tensor loss;  // this rank's share of the global-batch loss (differentiable)
  MetricSums sums;     // this rank's unnormalised sums
};

LossResult compute_loss(Task task, const ModelOutput& out, const Batch& batch, double reconstruction_weight);

// λ of a spec (0 unless the architecture has `reconstruction_weight`).
double reconstruction_weight(const ModelSpec& spec);

}  // namespace phenoscale::nn
