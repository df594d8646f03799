// Optimisers by name (`train.optimizer = "sgd" | "adam" | "adamw" |
// "rmsprop"`), the learning-rate schedule lr_t = lr / (1 + decay · t) of
// Keras' `decay` (Xu et al. 2017: SGD, Nesterov 0.9, lr 0.01, decay 1e-6 per
// iteration) times a linear warm-up over the first steps (Goyal et al. 2017,
// "Accurate, large minibatch SGD", §2.2 gradual warm-up), and global
// gradient-norm clipping (Pascanu, Mikolov & Bengio 2013, "On the difficulty
// of training recurrent neural networks", §3.2). Weight decay is LibTorch's:
// L2 added to the gradient for sgd, adam and rmsprop, decoupled for adamw
// (Loshchilov & Hutter 2019, "Decoupled weight decay regularization", Alg. 2).
// The table is in src/nn/libtorch/optimizer.cpp.
#pragma once

#include <torch/torch.h>

#include <memory>
#include <string>
#include <vector>

#include "phenoscale/nn/engine.hpp"

namespace phenoscale::nn {

struct OptimizerSettings {
  std::string name = "sgd";
  double learning_rate = 0.01;
  double momentum = 0.9;      // sgd
  bool nesterov = true;       // sgd
  double decay = 0.0;         // lr / (1 + decay · step)
  double weight_decay = 0.0;  // L2 (sgd, adam, rmsprop) or decoupled (adamw)
  std::int64_t warmup_steps = 0;  // linear warm-up: factor (t + 1) / warmup_steps for t < warmup_steps
  double clip_grad_norm = 0.0;    // global L2 norm threshold of the gradient (0: off)
};

// The names are engine.hpp's optimizer_names() (the deck schema is torch-free).
// Throws ConfigError naming the registered optimisers for an unknown name.
std::unique_ptr<torch::optim::Optimizer> make_optimizer(const OptimizerSettings& settings,
                                                        std::vector<torch::Tensor> parameters);
// The learning rate of step `step` (0-based): the decay schedule times the
// warm-up factor min(1, (step + 1) / warmup_steps).
double scheduled_learning_rate(const OptimizerSettings& settings, std::int64_t step);
// Sets the scheduled learning rate of step `step` (0-based); returns it.
double schedule_learning_rate(torch::optim::Optimizer& optimizer, const OptimizerSettings& settings,
                              std::int64_t step);
// Scales the gradient of `parameter` so that its L2 norm is at most
// `max_norm` (torch::nn::utils::clip_grad_norm_: factor
// min(1, max_norm / (norm + 1e-6)), so gradients below the threshold are
// left bit-identical). Returns the norm before clipping. Call it on the
// summed gradient, after the allreduce: every rank then clips alike.
double clip_gradient_norm(const torch::Tensor& parameter, double max_norm);

}  // namespace phenoscale::nn
