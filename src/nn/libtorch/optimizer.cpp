// The table of optimisers.
#include "phenoscale/nn/optimizer.hpp"

#include <functional>

#include "phenoscale/core/error.hpp"

namespace phenoscale::nn {
namespace {

using Params = std::vector<torch::Tensor>;
using Factory = std::function<std::unique_ptr<torch::optim::Optimizer>(const OptimizerSettings&, Params)>;

struct Entry {
  std::string name;
  Factory make;
};

const std::vector<Entry>& table() {
  static const std::vector<Entry> entries = {
      {"sgd",
       [](const OptimizerSettings& s, Params p) -> std::unique_ptr<torch::optim::Optimizer> {
         return std::make_unique<torch::optim::SGD>(
             std::move(p), torch::optim::SGDOptions(s.learning_rate)
                               .momentum(s.momentum)
                               .nesterov(s.nesterov && s.momentum > 0)
                               .weight_decay(s.weight_decay));
       }},
      {"adam",
       [](const OptimizerSettings& s, Params p) -> std::unique_ptr<torch::optim::Optimizer> {
         return std::make_unique<torch::optim::Adam>(
             std::move(p), torch::optim::AdamOptions(s.learning_rate).weight_decay(s.weight_decay));
       }},
      {"adamw",
       [](const OptimizerSettings& s, Params p) -> std::unique_ptr<torch::optim::Optimizer> {
         return std::make_unique<torch::optim::AdamW>(
             std::move(p), torch::optim::AdamWOptions(s.learning_rate).weight_decay(s.weight_decay));
       }},
      {"rmsprop",
       [](const OptimizerSettings& s, Params p) -> std::unique_ptr<torch::optim::Optimizer> {
         return std::make_unique<torch::optim::RMSprop>(
             std::move(p), torch::optim::RMSpropOptions(s.learning_rate).weight_decay(s.weight_decay));
       }},
  };
  return entries;
}

}  // namespace

std::unique_ptr<torch::optim::Optimizer> make_optimizer(const OptimizerSettings& settings, Params parameters) {
  for (const auto& e : table()) {
    if (e.name == settings.name) return e.make(settings, std::move(parameters));
  }
  std::string names;
  for (const auto& e : table()) names += (names.empty() ? "" : ", ") + e.name;
  throw ConfigError("train.optimizer = '" + settings.name + "' is not registered; available: " + names);
}

double scheduled_learning_rate(const OptimizerSettings& settings, std::int64_t step) {
  const double lr = settings.learning_rate / (1.0 + settings.decay * static_cast<double>(step));
  if (step >= settings.warmup_steps) return lr;
  return lr * static_cast<double>(step + 1) / static_cast<double>(settings.warmup_steps);
}

double schedule_learning_rate(torch::optim::Optimizer& optimizer, const OptimizerSettings& settings,
                              std::int64_t step) {
  const double lr = scheduled_learning_rate(settings, step);
  for (auto& group : optimizer.param_groups()) group.options().set_lr(lr);
  return lr;
}

double clip_gradient_norm(const torch::Tensor& parameter, double max_norm) {
  return torch::nn::utils::clip_grad_norm_({parameter}, max_norm);
}

}  // namespace phenoscale::nn
