// Variable-length series networks: a bi-LSTM classifier and per-frame tagger,
// the bi-GRU per-frame tagger of DeepSPT's event timing (docs/methods.md §2.6),
// and the guided bi-LSTM autoencoder of DeepHACKS (Ma et al. 2024; the edge
// pipeline, docs/methods.md §3.3).
//
// Every recurrent layer runs with packed-sequence semantics, so a series'
// output never depends on how much padding its batch needed (a padded
// backward LSTM would read zeros first): a result is the same in any batch,
// at any rank count, to float rounding. The layers run through the fused CPU
// kernels (fused_rnn.hpp) where they apply, LibTorch's packed ones
// elsewhere (GPU).
#include "fused_rnn.hpp"
#include "models.hpp"
#include "phenoscale/core/error.hpp"
#include "phenoscale/core/log.hpp"

namespace phenoscale::nn {
namespace {

using core::cat;
namespace F = torch::nn::functional;

torch::nn::LSTM lstm(std::int64_t in, std::int64_t hidden, bool bidirectional, std::int64_t layers = 1) {
  return torch::nn::LSTM(torch::nn::LSTMOptions(in, hidden).num_layers(layers).batch_first(true).bidirectional(bidirectional));
}

// The last layer's final hidden state of both directions, [B, 2H] (or [B, H]).
torch::Tensor final_state(const torch::Tensor& h_n, bool bidirectional) {
  if (!bidirectional) return h_n[-1];
  return torch::cat({h_n[-2], h_n[-1]}, 1);
}

// A recurrent layer over zero-padded series: outputs [B, T, D·H] (zero past
// each length) and the final hidden state h_n [layers·D, B, H].
std::pair<torch::Tensor, torch::Tensor> run_recurrent(torch::nn::LSTM& lstm, const torch::Tensor& padded,
                                                      const torch::Tensor& lengths) {
  auto r = run_lstm(lstm, padded, lengths);
  return {r.output, r.h_n};
}
std::pair<torch::Tensor, torch::Tensor> run_recurrent(torch::nn::GRU& gru, const torch::Tensor& padded,
                                                      const torch::Tensor& lengths) {
  auto r = run_gru(gru, padded, lengths);
  return {r.output, r.h_n};
}

// A stacked bidirectional RNN (torch::nn::LSTM or torch::nn::GRU, with its
// options type) over packed series, then one linear layer: on the final
// states of both directions (one class per series) or on every frame's
// output (one class per frame).
template <typename Rnn, typename RnnOptions>
class RnnClassifier final : public Model {
 public:
  RnnClassifier(const ModelSpec& spec, const std::string& name, bool per_frame) : Model(spec), per_frame_(per_frame) {
    const auto h = spec.integer("hidden");
    rnn_ = register_module(name, Rnn(RnnOptions(spec.integer("channels"), h)
                                         .num_layers(spec.integer("layers"))
                                         .batch_first(true)
                                         .bidirectional(true)));
    out_ = register_module("out", torch::nn::Linear(2 * h, spec.integer("classes")));
  }
  ModelOutput forward(const Batch& batch) override {
    auto [frames, h_n] = run_recurrent(rnn_, batch.inputs, batch.lengths);
    if (per_frame_) {
      auto logits = out_->forward(frames);
      return {logits, frames, {}};
    }
    auto features = final_state(h_n, true);
    return {out_->forward(features), features, {}};
  }

 private:
  bool per_frame_;
  Rnn rnn_{nullptr};
  torch::nn::Linear out_{nullptr};
};

// Module names ("lstm", "gru") are part of the model files' parameter names.
using LstmClassifier = RnnClassifier<torch::nn::LSTM, torch::nn::LSTMOptions>;
using GruClassifier = RnnClassifier<torch::nn::GRU, torch::nn::GRUOptions>;

// Guided bi-LSTM autoencoder ("student" of DeepHACKS): encoder
// BiLSTM(h1) → LSTM(h2) → LSTM(latent), the reference code's; the latent is
// the final state of the last encoder layer. With bidirectional_encoder = 1
// every encoder layer is bidirectional, as Ma et al. (2024, Methods, "Model
// Training") describe it: BiLSTM(h1) → BiLSTM(h2) → BiLSTM(latent/2), the
// latent both directions' final states, so the frames near the onset reach it
// through the backward pass instead of only through ~50 forward steps.
// Decoder: latent repeated over the series' frames → BiLSTM(latent) →
// BiLSTM(h2) → LSTM(channels). Classifier head on the latent: Dense 32 →
// BatchNorm → ReLU → Dropout → Dense(teacher clusters).
class GuidedBiLstmAutoencoder final : public Model {
 public:
  explicit GuidedBiLstmAutoencoder(const ModelSpec& spec) : Model(spec) {
    const auto c = spec.integer("channels"), h1 = spec.integer("hidden1"), h2 = spec.integer("hidden2"),
               z = spec.integer("latent"), head = spec.integer("head");
    bidirectional_ = spec.integer("bidirectional_encoder") == 1;
    const std::int64_t ways = bidirectional_ ? 2 : 1;  // directions of encoders 2 and 3
    if (z % ways != 0)
      throw ConfigError(cat("model.guided-bilstm-ae.latent = ", z,
                            ": bidirectional_encoder = 1 needs an even latent (latent/2 units per direction)"));
    enc1_ = register_module("encoder1", lstm(c, h1, true));
    enc2_ = register_module("encoder2", lstm(2 * h1, h2, bidirectional_));
    enc3_ = register_module("encoder3", lstm(ways * h2, z / ways, bidirectional_));
    dec1_ = register_module("decoder1", lstm(z, z, true));
    dec2_ = register_module("decoder2", lstm(2 * z, h2, true));
    dec3_ = register_module("decoder3", lstm(2 * h2, c, false));
    head1_ = register_module("head1", torch::nn::Linear(z, head));
    norm_ = register_module("head_norm", torch::nn::BatchNorm1d(head));
    head2_ = register_module("head2", torch::nn::Linear(head, spec.integer("classes")));
    dropout_ = spec.real("dropout");
  }
  ModelOutput forward(const Batch& batch) override {
    const auto frames = batch.inputs.size(1);
    auto x = run_lstm(enc1_, batch.inputs, batch.lengths).output;
    x = run_lstm(enc2_, x, batch.lengths).output;
    auto latent = final_state(run_lstm(enc3_, x, batch.lengths).h_n, bidirectional_);
    auto h = torch::relu(normalise(head1_->forward(latent)));
    h = row_dropout(h, dropout_, is_training(), batch, 0);
    auto logits = head2_->forward(h);
    if (!batch.need_reconstruction) return {logits, latent, {}};  // the head never reads the decoder
    auto repeated = latent.unsqueeze(1).expand({latent.size(0), frames, latent.size(1)}).contiguous();
    auto y = run_lstm(dec1_, repeated, batch.lengths).output;
    y = run_lstm(dec2_, y, batch.lengths).output;
    auto reconstruction = run_lstm(dec3_, y, batch.lengths).output;
    return {logits, latent, reconstruction};
  }

 private:
  torch::nn::LSTM enc1_{nullptr}, enc2_{nullptr}, enc3_{nullptr}, dec1_{nullptr}, dec2_{nullptr}, dec3_{nullptr};
  torch::nn::Linear head1_{nullptr}, head2_{nullptr};
  torch::nn::BatchNorm1d norm_{nullptr};
  double dropout_ = 0.5;
  bool bidirectional_ = false;  // every encoder layer bidirectional (the paper's text)

  // A training batch of one sample on a rank (the end of an epoch split over
  // ranks) has no batch variance: LibTorch refuses it. That step normalises
  // with the running statistics instead, as evaluation does, and leaves them
  // unchanged; every other batch uses its own statistics as usual.
  torch::Tensor normalise(const torch::Tensor& x) {
    if (!is_training() || x.size(0) > 1) return norm_->forward(x);
    return F::batch_norm(x, norm_->running_mean, norm_->running_var,
                         F::BatchNormFuncOptions().weight(norm_->weight).bias(norm_->bias).training(false).eps(
                             norm_->options.eps()));
  }
};

}  // namespace

std::shared_ptr<Model> make_lstm_classifier(const ModelSpec& spec) {
  return std::make_shared<LstmClassifier>(spec, "lstm", false);
}
std::shared_ptr<Model> make_lstm_tagger(const ModelSpec& spec) {
  return std::make_shared<LstmClassifier>(spec, "lstm", true);
}
std::shared_ptr<Model> make_gru_tagger(const ModelSpec& spec) {
  return std::make_shared<GruClassifier>(spec, "gru", true);
}
std::shared_ptr<Model> make_guided_bilstm_autoencoder(const ModelSpec& spec) {
  return std::make_shared<GuidedBiLstmAutoencoder>(spec);
}

}  // namespace phenoscale::nn
