// Networks of the three pipelines behind one interface, registered by name.
//
// A model is a torch::nn::Module that maps a Batch to a ModelOutput. The
// engine (trainer, inference, ensembles) only knows this interface and the
// model's Task, so the tomo 3D CNNs (Xu et al. 2017), the spt 1D U-Net
// (§2.2) and the edge guided bi-LSTM autoencoder (§3.3) share one trainer.
// Models are chosen by name in the input deck (`model.architecture =
// "dsrf3d"`); each architecture's hyper-parameters live in its own deck
// section (`[model.dsrf3d] classes = 23`) and are stored with the trained
// weights, so a saved model reloads without the deck. The table of
// architectures is in src/nn/model_registry.cpp — adding a network is one
// file plus one line there.
#pragma once

#include <torch/torch.h>

#include <functional>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "phenoscale/nn/batch.hpp"
#include "phenoscale/nn/model_spec.hpp"

namespace phenoscale::nn {

struct ModelOutput {
  torch::Tensor logits;          // [B, K] (classify, guided) or [B, T, K] (segment)
  torch::Tensor features;        // the sample's feature vector: linear output or latent
  torch::Tensor reconstruction;  // [B, T, C] (guided_autoencoder only)
};

class Model : public torch::nn::Module {
 public:
  explicit Model(ModelSpec spec) : spec_(std::move(spec)) {}
  virtual ModelOutput forward(const Batch& batch) = 0;
  const ModelSpec& spec() const { return spec_; }

 private:
  ModelSpec spec_;
};

// Builds the network of `spec` (weights from torch's default initialisers).
std::shared_ptr<Model> make_model(const ModelSpec& spec);

}  // namespace phenoscale::nn
