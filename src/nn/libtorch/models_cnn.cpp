// Fixed-shape networks: the tomo 3D CNNs of Xu et al. 2017 (Inception3D,
// DSRF3D, DSRF3D-v2), a small 3D CNN for tests and benchmarks, and an MLP on
// feature vectors. Input [B, n, n, n] (one-channel subtomograms) or [B, d].
// The structural feature of a subtomogram is the linear (pre-softmax) output.
#include "models.hpp"

#include <limits>

namespace phenoscale::nn {
namespace {

namespace F = torch::nn::functional;

torch::nn::Conv3d conv3d(std::int64_t in, std::int64_t out, std::int64_t kernel, std::int64_t padding) {
  return torch::nn::Conv3d(torch::nn::Conv3dOptions(in, out, kernel).padding(padding));
}

// Multi-layer perceptron on N × d feature vectors.
class Mlp final : public Model {
 public:
  explicit Mlp(const ModelSpec& spec) : Model(spec) {
    std::int64_t width = spec.integer("inputs");
    for (std::int64_t l = 0; l < spec.integer("layers"); ++l) {
      layers_.push_back(register_module("hidden" + std::to_string(l),
                                        torch::nn::Linear(width, spec.integer("hidden"))));
      width = spec.integer("hidden");
    }
    out_ = register_module("out", torch::nn::Linear(width, spec.integer("classes")));
    dropout_ = spec.real("dropout");
  }
  ModelOutput forward(const Batch& batch) override {
    auto x = batch.inputs.flatten(1);
    std::uint64_t site = 0;
    for (auto& layer : layers_) x = row_dropout(torch::relu(layer->forward(x)), dropout_, is_training(), batch, site++);
    auto logits = out_->forward(x);
    return {logits, logits, {}};
  }

 private:
  std::vector<torch::nn::Linear> layers_;
  torch::nn::Linear out_{nullptr};
  double dropout_ = 0.0;
};

// Two conv blocks and global average pooling: small enough for equivalence
// tests and throughput benchmarks against Python PyTorch.
class SmallCnn3d final : public Model {
 public:
  explicit SmallCnn3d(const ModelSpec& spec) : Model(spec) {
    const auto c = spec.integer("channels");
    conv1_ = register_module("conv1", conv3d(1, c, 3, 1));
    conv2_ = register_module("conv2", conv3d(c, 2 * c, 3, 1));
    out_ = register_module("out", torch::nn::Linear(2 * c, spec.integer("classes")));
  }
  ModelOutput forward(const Batch& batch) override {
    auto x = batch.inputs.unsqueeze(1);
    x = F::max_pool3d(torch::relu(conv1_->forward(x)), F::MaxPool3dFuncOptions(2));
    x = torch::relu(conv2_->forward(x));
    x = x.mean({2, 3, 4});
    auto logits = out_->forward(x);
    return {logits, logits, {}};
  }

 private:
  torch::nn::Conv3d conv1_{nullptr}, conv2_{nullptr};
  torch::nn::Linear out_{nullptr};
};

// Inception3D (Xu et al. 2017): conv 32×5³ valid, max-pool 2, one inception
// module (1³ | 1³→3³ | 1³→5³ | pool→1³; 160 channels), avg-pool 2 stride 1,
// dropout 0.7, linear. ≈18.2 M parameters at 40³ and 23 classes.
class Inception3d final : public Model {
 public:
  explicit Inception3d(const ModelSpec& spec) : Model(spec) {
    const auto n = spec.integer("size");
    stem_ = register_module("stem", conv3d(1, 32, 5, 0));
    b1_ = register_module("branch1_1x1", conv3d(32, 32, 1, 0));
    b2a_ = register_module("branch3_1x1", conv3d(32, 32, 1, 0));
    b2b_ = register_module("branch3_3x3", conv3d(32, 64, 3, 1));
    b3a_ = register_module("branch5_1x1", conv3d(32, 16, 1, 0));
    b3b_ = register_module("branch5_5x5", conv3d(16, 32, 5, 2));
    b4_ = register_module("branchpool_1x1", conv3d(32, 32, 1, 0));
    const std::int64_t side = (n - 4) / 2 - 1;
    out_ = register_module("out", torch::nn::Linear(160 * side * side * side, spec.integer("classes")));
    dropout_ = spec.real("dropout");
  }
  ModelOutput forward(const Batch& batch) override {
    auto x = batch.inputs.unsqueeze(1);
    x = F::max_pool3d(torch::relu(stem_->forward(x)), F::MaxPool3dFuncOptions(2));
    auto y1 = torch::relu(b1_->forward(x));
    auto y2 = torch::relu(b2b_->forward(torch::relu(b2a_->forward(x))));
    auto y3 = torch::relu(b3b_->forward(torch::relu(b3a_->forward(x))));
    // Keras "same" pooling with an even window pads at the end only, with −inf.
    auto padded = F::pad(x, F::PadFuncOptions({0, 1, 0, 1, 0, 1}).value(-std::numeric_limits<double>::infinity()));
    auto y4 = torch::relu(b4_->forward(F::max_pool3d(padded, F::MaxPool3dFuncOptions(2).stride(1))));
    x = torch::cat({y1, y2, y3, y4}, 1);
    x = F::avg_pool3d(x, F::AvgPool3dFuncOptions(2).stride(1)).flatten(1);
    x = row_dropout(x, dropout_, is_training(), batch, 0);
    auto logits = out_->forward(x);
    return {logits, logits, {}};
  }

 private:
  torch::nn::Conv3d stem_{nullptr}, b1_{nullptr}, b2a_{nullptr}, b2b_{nullptr}, b3a_{nullptr},
      b3b_{nullptr}, b4_{nullptr};
  torch::nn::Linear out_{nullptr};
  double dropout_ = 0.7;
};

// DSRF3D and DSRF3D-v2 (Xu et al. 2017): blocks of "same" 3³ convolutions
// followed by 2³ max-pooling, then fully connected layers. v1: (32,32)(64,64),
// FC 512, 512, no dropout (≈33.2 M parameters at 40³); v2: (32,32)(64,64)
// (128,128), FC 1024 → dropout → 1024 → dropout.
class Dsrf3d final : public Model {
 public:
  Dsrf3d(const ModelSpec& spec, std::vector<std::int64_t> blocks, std::int64_t fc, double dropout)
      : Model(spec), dropout_(dropout) {
    std::int64_t in = 1, side = spec.integer("size");
    for (std::size_t b = 0; b < blocks.size(); ++b) {
      for (int j = 0; j < 2; ++j) {
        convs_.push_back(register_module("conv" + std::to_string(b + 1) + "_" + std::to_string(j + 1),
                                         conv3d(in, blocks[b], 3, 1)));
        in = blocks[b];
      }
      side /= 2;
    }
    fc1_ = register_module("fc1", torch::nn::Linear(in * side * side * side, fc));
    fc2_ = register_module("fc2", torch::nn::Linear(fc, fc));
    out_ = register_module("out", torch::nn::Linear(fc, spec.integer("classes")));
    initialise_he();
  }
  ModelOutput forward(const Batch& batch) override {
    auto x = batch.inputs.unsqueeze(1);
    for (std::size_t i = 0; i < convs_.size(); ++i) {
      x = torch::relu(convs_[i]->forward(x));
      if (i % 2 == 1) x = F::max_pool3d(x, F::MaxPool3dFuncOptions(2));
    }
    x = x.flatten(1);
    x = row_dropout(torch::relu(fc1_->forward(x)), dropout_, is_training(), batch, 0);
    x = row_dropout(torch::relu(fc2_->forward(x)), dropout_, is_training(), batch, 1);
    auto logits = out_->forward(x);
    return {logits, logits, {}};
  }

 private:
  // Without batch norm, LibTorch's default initialisation (uniform, variance
  // 1/(3·fan_in)) shrinks the signal ~6× in power at every ReLU layer: after
  // seven layers the logits spread ~0.02 (0.01 for v2) on unit-variance input
  // and, on noisy subtomograms, the network sat at chance (loss ln L) for
  // epochs. He initialisation (He et al. 2015: normal, variance 2/fan_in,
  // zero bias) keeps the power of a plain ReLU stack constant, which is what
  // a network of this shape needs to start learning; the output layer keeps
  // a variance-1/fan_in scale.
  void initialise_he() {
    torch::NoGradGuard no_grad;
    for (auto& conv : convs_) {
      torch::nn::init::kaiming_normal_(conv->weight, 0.0, torch::kFanIn, torch::kReLU);
      torch::nn::init::zeros_(conv->bias);
    }
    for (auto* fc : {&fc1_, &fc2_}) {
      torch::nn::init::kaiming_normal_((*fc)->weight, 0.0, torch::kFanIn, torch::kReLU);
      torch::nn::init::zeros_((*fc)->bias);
    }
    torch::nn::init::kaiming_normal_(out_->weight, 0.0, torch::kFanIn, torch::kLinear);
    torch::nn::init::zeros_(out_->bias);
  }

  std::vector<torch::nn::Conv3d> convs_;
  torch::nn::Linear fc1_{nullptr}, fc2_{nullptr}, out_{nullptr};
  double dropout_;
};

}  // namespace

std::shared_ptr<Model> make_mlp(const ModelSpec& spec) { return std::make_shared<Mlp>(spec); }
std::shared_ptr<Model> make_small_cnn3d(const ModelSpec& spec) { return std::make_shared<SmallCnn3d>(spec); }
std::shared_ptr<Model> make_inception3d(const ModelSpec& spec) { return std::make_shared<Inception3d>(spec); }
std::shared_ptr<Model> make_dsrf3d(const ModelSpec& spec) {
  return std::make_shared<Dsrf3d>(spec, std::vector<std::int64_t>{32, 64}, 512, 0.0);
}
std::shared_ptr<Model> make_dsrf3d_v2(const ModelSpec& spec) {
  return std::make_shared<Dsrf3d>(spec, std::vector<std::int64_t>{32, 64, 128}, 1024, spec.real("dropout"));
}

}  // namespace phenoscale::nn
