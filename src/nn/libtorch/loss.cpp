// Task losses normalised by the global batch (see loss.hpp).
#include "phenoscale/nn/loss.hpp"

#include "phenoscale/core/error.hpp"

namespace phenoscale::nn {
namespace {

namespace F = torch::nn::functional;

double as_double(const torch::Tensor& t) { return t.item<double>(); }

// Cross-entropy and accuracy per sample.
LossResult per_sample(const torch::Tensor& logits, const Batch& batch) {
  LossResult r;
  auto ce = F::cross_entropy(logits, batch.targets, F::CrossEntropyFuncOptions().reduction(torch::kSum));
  r.loss = ce / batch.global_samples;
  r.sums.cross_entropy_sum = as_double(ce.detach());
  r.sums.cross_entropy_count = static_cast<double>(batch.size());
  r.sums.correct = as_double((logits.detach().argmax(1) == batch.targets).sum());
  r.sums.predictions = static_cast<double>(batch.size());
  return r;
}

// Cross-entropy and accuracy over real frames only.
LossResult per_frame(const torch::Tensor& logits, const Batch& batch) {
  LossResult r;
  const auto k = logits.size(2);
  auto ce = F::cross_entropy(logits.reshape({-1, k}), batch.targets.reshape({-1}),
                             F::CrossEntropyFuncOptions().reduction(torch::kNone));
  auto mask = batch.mask.reshape({-1});
  auto ce_sum = (ce * mask).sum();
  r.loss = ce_sum / batch.global_frames;
  r.sums.cross_entropy_sum = as_double(ce_sum.detach());
  r.sums.cross_entropy_count = as_double(mask.sum());
  auto hits = (logits.detach().argmax(2) == batch.targets).to(torch::kFloat32) * batch.mask;
  r.sums.correct = as_double(hits.sum());
  r.sums.predictions = r.sums.cross_entropy_count;
  return r;
}

}  // namespace

LossResult compute_loss(Task task, const ModelOutput& out, const Batch& batch, double weight) {
  if (!batch.targets.defined()) throw InputError("training needs labels, but the dataset has none");
  switch (task) {
    case Task::classify: return per_sample(out.logits, batch);
    case Task::segment: return per_frame(out.logits, batch);
    case Task::guided_autoencoder: {
      LossResult r = per_sample(out.logits, batch);
      const auto channels = static_cast<double>(batch.inputs.size(2));
      auto diff = (out.reconstruction - batch.inputs) * batch.mask.unsqueeze(2);
      auto se = diff.pow(2).sum();
      r.loss = r.loss + weight * se / (batch.global_frames * channels);
      r.sums.squared_error_sum = as_double(se.detach());
      r.sums.squared_error_count = as_double(batch.mask.sum()) * channels;
      return r;
    }
  }
  throw Error("unknown task");
}

double reconstruction_weight(const ModelSpec& spec) {
  auto it = spec.values.find("reconstruction_weight");
  return it == spec.values.end() ? 0.0 : it->second;
}

}  // namespace phenoscale::nn
