// The 1D U-Net of DeepSPT (Kæstel-Hansen et al. 2024; docs/methods.md §2.2,
// docs/methods.md "spt segmentation network"): per-frame diffusion-state
// logits of a variable-length trajectory.
//
// Encoder: `depth` levels of [Conv1d("same", dilation d) → BatchNorm → ReLU]
// × `convs`, each followed by max-pool 2, channels doubling per level from
// `channels`; a bottleneck block at channels·2^depth. Decoder, per level:
// nearest ×2 upsampling → conv → BatchNorm → ReLU → concatenation with the
// encoder's skip → conv block (dilation 1). Head: conv k=3 → ReLU → 1×1 conv
// to `classes`. The softmax is left to the loss and to inference (applied
// once; the reference code applies it twice).
//
// Variable lengths: a batch is padded to a multiple of 2^depth and every
// block's output is multiplied by the (max-pooled) frame mask, so padded
// frames stay exactly zero at every resolution. A series' logits then equal
// those of the series alone, whatever padding its batch needed (in eval mode;
// in training BatchNorm's batch statistics see the zeros of the padding).
#include "models.hpp"
#include "phenoscale/core/error.hpp"
#include "phenoscale/core/log.hpp"

namespace phenoscale::nn {
namespace {

namespace F = torch::nn::functional;

torch::nn::Conv1d conv1d(std::int64_t in, std::int64_t out, std::int64_t kernel, std::int64_t dilation) {
  // "same" padding for odd kernels: (kernel − 1)·dilation / 2 on each side.
  return torch::nn::Conv1d(torch::nn::Conv1dOptions(in, out, kernel).dilation(dilation).padding((kernel - 1) * dilation / 2));
}

// [Conv1d → BatchNorm → ReLU] × convs.
class ConvBlockImpl : public torch::nn::Module {
 public:
  ConvBlockImpl(std::int64_t in, std::int64_t out, std::int64_t kernel, std::int64_t dilation, std::int64_t convs) {
    for (std::int64_t i = 0; i < convs; ++i) {
      convs_.push_back(register_module("conv" + std::to_string(i), conv1d(i == 0 ? in : out, out, kernel, dilation)));
      norms_.push_back(register_module("norm" + std::to_string(i), torch::nn::BatchNorm1d(out)));
    }
  }
  torch::Tensor forward(torch::Tensor x, const torch::Tensor& mask) {
    for (std::size_t i = 0; i < convs_.size(); ++i) x = torch::relu(norms_[i]->forward(convs_[i]->forward(x))) * mask;
    return x;
  }

 private:
  std::vector<torch::nn::Conv1d> convs_;
  std::vector<torch::nn::BatchNorm1d> norms_;
};
TORCH_MODULE(ConvBlock);

class Unet1d final : public Model {
 public:
  explicit Unet1d(const ModelSpec& spec) : Model(spec) {
    const auto inputs = spec.integer("inputs"), c = spec.integer("channels"), k = spec.integer("kernel"),
               d = spec.integer("dilation"), n = spec.integer("convs");
    depth_ = spec.integer("depth");
    if (k % 2 == 0) throw ConfigError(core::cat("model.", spec.architecture, ".kernel = ", k, ": expected an odd kernel (\"same\" padding)"));
    std::int64_t in = inputs;
    for (std::int64_t l = 0; l < depth_; ++l) {
      encoder_.push_back(register_module("encoder" + std::to_string(l), ConvBlock(in, c << l, k, d, n)));
      in = c << l;
    }
    bottleneck_ = register_module("bottleneck", ConvBlock(in, c << depth_, k, d, n));
    for (std::int64_t l = depth_ - 1; l >= 0; --l) {
      const auto name = std::to_string(l);
      up_.push_back(register_module("up" + name, ConvBlock(c << (l + 1), c << l, k, 1, 1)));
      decoder_.push_back(register_module("decoder" + name, ConvBlock(2 * (c << l), c << l, k, 1, n)));
    }
    head_ = register_module("head", conv1d(c, c, 3, 1));
    out_ = register_module("out", torch::nn::Conv1d(torch::nn::Conv1dOptions(c, spec.integer("classes"), 1)));
  }

  ModelOutput forward(const Batch& batch) override {
    const auto frames = batch.inputs.size(1);
    const std::int64_t unit = std::int64_t{1} << depth_;
    const auto padded = (frames + unit - 1) / unit * unit;
    auto x = F::pad(batch.inputs.transpose(1, 2), F::PadFuncOptions({0, padded - frames}));  // [B, C, T']
    auto mask = F::pad(batch.mask, F::PadFuncOptions({0, padded - frames})).unsqueeze(1);    // [B, 1, T']
    x = x * mask;
    std::vector<torch::Tensor> skips, masks;
    for (auto& block : encoder_) {
      x = block->forward(x, mask);
      skips.push_back(x);
      masks.push_back(mask);
      x = F::max_pool1d(x, F::MaxPool1dFuncOptions(2));
      mask = F::max_pool1d(mask, F::MaxPool1dFuncOptions(2));
    }
    x = bottleneck_->forward(x, mask);
    for (std::size_t i = 0; i < decoder_.size(); ++i) {
      const auto level = skips.size() - 1 - i;
      x = up_[i]->forward(x.repeat_interleave(2, 2), masks[level]);
      x = decoder_[i]->forward(torch::cat({x, skips[level]}, 1), masks[level]);
    }
    auto hidden = torch::relu(head_->forward(x)) * masks.front();
    auto logits = out_->forward(hidden).narrow(2, 0, frames).transpose(1, 2).contiguous();  // [B, T, K]
    return {logits, hidden.narrow(2, 0, frames).transpose(1, 2), {}};
  }

 private:
  std::int64_t depth_ = 0;
  std::vector<ConvBlock> encoder_, up_, decoder_;
  ConvBlock bottleneck_{nullptr};
  torch::nn::Conv1d head_{nullptr}, out_{nullptr};
};

}  // namespace

std::shared_ptr<Model> make_unet1d(const ModelSpec& spec) { return std::make_shared<Unet1d>(spec); }

}  // namespace phenoscale::nn
