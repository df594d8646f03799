// Optimisers by name (`train.optimizer = "sgd" | "adam" | "rmsprop"`) and
// the learning-rate schedule lr_t = lr / (1 + decay · t) of Keras' `decay`
// (METHODS.md §1.2: SGD, Nesterov 0.9, lr 0.01, decay 1e-6 per iteration).
// The table is in src/nn/optimizer.cpp.
#pragma once

#include <torch/torch.h>

#include <memory>
#include <string>
#include <vector>

namespace phenoscale::nn {

struct OptimizerSettings {
  std::string name = "sgd";
  double learning_rate = 0.01;
  double momentum = 0.9;      // sgd
  bool nesterov = true;       // sgd
  double decay = 0.0;         // lr / (1 + decay · step)
  double weight_decay = 0.0;  // L2, all optimisers
};

std::vector<std::string> optimizer_names();
// Throws ConfigError naming the registered optimisers for an unknown name.
std::unique_ptr<torch::optim::Optimizer> make_optimizer(const OptimizerSettings& settings,
                                                        std::vector<torch::Tensor> parameters);
// Sets the scheduled learning rate of step `step` (0-based); returns it.
double schedule_learning_rate(torch::optim::Optimizer& optimizer, const OptimizerSettings& settings,
                              std::int64_t step);

}  // namespace phenoscale::nn
