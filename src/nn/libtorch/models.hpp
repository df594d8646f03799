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

}  // namespace phenoscale::nn
