// Factories of the registered architectures (private to nn/; the table that
// names them is src/nn/model_registry.cpp).
#pragma once

#include "phenoscale/nn/model.hpp"

namespace phenoscale::nn {

std::shared_ptr<Model> make_mlp(const ModelSpec& spec);
std::shared_ptr<Model> make_small_cnn3d(const ModelSpec& spec);
std::shared_ptr<Model> make_inception3d(const ModelSpec& spec);
std::shared_ptr<Model> make_dsrf3d(const ModelSpec& spec);
std::shared_ptr<Model> make_dsrf3d_v2(const ModelSpec& spec);
std::shared_ptr<Model> make_lstm_classifier(const ModelSpec& spec);
std::shared_ptr<Model> make_lstm_tagger(const ModelSpec& spec);
std::shared_ptr<Model> make_gru_tagger(const ModelSpec& spec);
std::shared_ptr<Model> make_guided_bilstm_autoencoder(const ModelSpec& spec);
std::shared_ptr<Model> make_unet1d(const ModelSpec& spec);

// Inverted dropout on [B, F] rows (as torch's: kept entries scaled by
// 1/(1 − p)) whose mask for row r depends only on (batch.dropout_seed,
// batch.indices[r], site): the same sample draws the same mask in a step at
// any rank count and wherever it sits in its rank's slice, so a model with
// dropout trains rank-independently to float rounding. `site` tells apart
// the dropout layers of one network. Identity outside training or at p = 0.
torch::Tensor row_dropout(const torch::Tensor& x, double p, bool training, const Batch& batch, std::uint64_t site);

}  // namespace phenoscale::nn
