// The constructor of every architecture named in src/nn/model_registry.cpp.
// The table there (names, tasks, hyper-parameters) is torch-free so that
// every stage can build and check its deck without loading LibTorch; this
// one binds each name to its network. test_models builds every registered
// architecture, so a name without a constructor fails a test.
#include <map>

#include "models.hpp"
#include "phenoscale/core/error.hpp"

namespace phenoscale::nn {

namespace {

using Factory = std::shared_ptr<Model> (*)(const ModelSpec&);

const std::map<std::string, Factory>& factories() {
  static const std::map<std::string, Factory> table = {
      {"mlp", make_mlp},
      {"cnn3d-small", make_small_cnn3d},
      {"inception3d", make_inception3d},
      {"dsrf3d", make_dsrf3d},
      {"dsrf3d-v2", make_dsrf3d_v2},
      {"lstm-classifier", make_lstm_classifier},
      {"lstm-tagger", make_lstm_tagger},
      {"gru-tagger", make_gru_tagger},
      {"guided-bilstm-ae", make_guided_bilstm_autoencoder},
      {"unet1d", make_unet1d},
      {"unet1d-paper2d", make_unet1d},
      {"unet1d-paper3d", make_unet1d},
  };
  return table;
}

}  // namespace

std::shared_ptr<Model> make_model(const ModelSpec& spec) {
  find_architecture(spec.architecture);  // an unknown name: the registry's error, with the registered names
  const auto it = factories().find(spec.architecture);
  if (it == factories().end()) {
    throw Error("model architecture '" + spec.architecture +
                "' is registered but has no constructor in src/nn/libtorch/model_factories.cpp");
  }
  return it->second(spec);
}

}  // namespace phenoscale::nn
