// Losses and metrics of the three tasks, normalised by the global batch.
//
// classify           cross-entropy summed over this rank's samples / global samples
// segment            cross-entropy summed over real frames / global real frames
//                    (docs/methods.md §2.2: padding never enters loss or accuracy)
// guided_autoencoder cross-entropy per sample + λ · MSE over real frames and
//                    channels (docs/methods.md §3.3)
// The loss is computed on logits (log-softmax inside cross-entropy): the
// reference spt code's double softmax is not reproduced.
#pragma once

#include <torch/torch.h>

#include <array>
#include <string>

#include "phenoscale/nn/batch.hpp"
#include "phenoscale/nn/model.hpp"

namespace phenoscale::nn {

// Running sums of one epoch or evaluation pass. They are summed over ranks
// with one allreduce of the packed array (pack/unpack below are the only
// place that knows the order).
struct MetricSums {
  double cross_entropy_sum = 0, cross_entropy_count = 0;    // samples, or real frames (segment)
  double squared_error_sum = 0, squared_error_count = 0;    // reconstruction: real frames × channels
  double correct = 0, predictions = 0;

  static constexpr std::size_t kPacked = 6;
  std::array<double, kPacked> pack() const {
    return {cross_entropy_sum, cross_entropy_count, squared_error_sum, squared_error_count, correct, predictions};
  }
  static MetricSums unpack(const double* p) {
    MetricSums m;
    m.cross_entropy_sum = p[0];
    m.cross_entropy_count = p[1];
    m.squared_error_sum = p[2];
    m.squared_error_count = p[3];
    m.correct = p[4];
    m.predictions = p[5];
    return m;
  }
  void add(const MetricSums& o) {
    cross_entropy_sum += o.cross_entropy_sum;
    cross_entropy_count += o.cross_entropy_count;
    squared_error_sum += o.squared_error_sum;
    squared_error_count += o.squared_error_count;
    correct += o.correct;
    predictions += o.predictions;
  }
  double cross_entropy() const { return cross_entropy_count > 0 ? cross_entropy_sum / cross_entropy_count : 0.0; }
  double reconstruction() const { return squared_error_count > 0 ? squared_error_sum / squared_error_count : 0.0; }
  double accuracy() const { return predictions > 0 ? correct / predictions : 0.0; }
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
