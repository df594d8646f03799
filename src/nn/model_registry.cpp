// The table of network architectures — the one place to name a model: its
// task, input and hyper-parameters, without LibTorch. Its constructor is
// bound to the name in src/nn/libtorch/model_factories.cpp.
#include <algorithm>
#include <cmath>
#include <sstream>

#include "phenoscale/core/config.hpp"
#include "phenoscale/core/error.hpp"
#include "phenoscale/core/log.hpp"
#include "phenoscale/io/csv.hpp"  // io::parse_double
#include "phenoscale/nn/model_spec.hpp"

namespace phenoscale::nn {

using core::cat;

std::string task_name(Task task) {
  switch (task) {
    case Task::classify: return "classify";
    case Task::segment: return "segment";
    case Task::guided_autoencoder: return "guided-autoencoder";
  }
  return "?";
}

double ModelSpec::real(const std::string& key) const {
  auto it = values.find(key);
  if (it == values.end()) throw ConfigError(cat("model '", architecture, "' has no hyper-parameter '", key, "'"));
  return it->second;
}

std::int64_t ModelSpec::integer(const std::string& key) const { return std::llround(real(key)); }

std::string ModelSpec::to_text() const {
  std::string text;
  for (const auto& [k, v] : values) text += k + " = " + core::format_value(v) + "\n";
  return text;
}

ModelSpec ModelSpec::from_text(const std::string& architecture, const std::string& text, const std::string& where) {
  const Architecture& arch = find_architecture(architecture);
  std::map<std::string, double> values;
  std::istringstream in(text);
  std::string line;
  for (int number = 1; std::getline(in, line); ++number) {
    if (line.find_first_not_of(" \t\r") == std::string::npos) continue;
    const auto eq = line.find(" = ");
    // The whole value must be one finite number: "6x4" or "nan" is a damaged file, not 6.
    const auto x = eq == std::string::npos ? std::nullopt : io::parse_double(line.substr(eq + 3));
    if (!x || !std::isfinite(*x))
      throw InputError(cat(where, ": hyper-parameter line ", number, " '", line, "': expected 'key = number'"));
    values[line.substr(0, eq)] = *x;
  }
  for (const auto& h : arch.hyperparameters)
    if (!values.count(h.key) && !std::isnan(h.before_key)) values[h.key] = h.before_key;
  return make_spec(architecture, values);
}

namespace {

// Hyper-parameters shared by several architectures.
HyperParameter classes(double def = 2) { return {"classes", def, "Number of output classes", 1, 1e6}; }
HyperParameter cube_size() {
  return {"size", 40, "Side of the cubic input volume, voxels", 8, 1024};
}
HyperParameter channels() {
  return {"channels", 0, "Values per frame of the input series (0: taken from the data)", 0, 1e6};
}

// The 1D U-Net's knobs (docs/methods.md §2.2); the presets differ only in defaults.
std::vector<HyperParameter> unet1d_hyperparameters(double channels, double depth, double kernel) {
  return {{"inputs", 0, "Values per frame of the input series (0: taken from the data)", 0, 1e6},
          {"channels", channels, "Channels of the first encoder level (doubled per level)", 1, 1e5},
          {"depth", depth, "Encoder levels (max-pool 2 after each)", 1, 10},
          {"kernel", kernel, "Convolution kernel (odd)", 1, 99},
          {"dilation", 2, "Dilation of the encoder convolutions", 1, 64},
          {"convs", 2, "Convolutions per block", 1, 8},
          classes(4)};
}

}  // namespace

const std::vector<Architecture>& architectures() {
  static const std::vector<Architecture> table = {
      {"mlp", "Multi-layer perceptron on feature vectors", Task::classify, InputKind::fixed,
       {{"inputs", 0, "Input features d (0: taken from the data)", 0, 1e9}, {"hidden", 64, "Units per hidden layer", 1, 1e6},
        {"layers", 2, "Hidden layers", 0, 64}, {"dropout", 0.0, "Dropout probability after each hidden layer", 0, 0.99, false},
        classes()}},
      {"cnn3d-small", "Two 3³ conv layers + global average pooling (tests, benchmarks)", Task::classify,
       InputKind::fixed, {cube_size(), {"channels", 8, "Channels of the first conv layer", 1, 4096}, classes()}},
      {"inception3d", "Inception3D subtomogram classifier (Xu et al. 2017; ~18.2 M parameters at 40³)",
       Task::classify, InputKind::fixed,
       {cube_size(), classes(23), {"dropout", 0.7, "Dropout probability before the last layer", 0, 0.99, false}}},
      {"dsrf3d", "DSRF3D subtomogram classifier (Xu et al. 2017; ~33.2 M parameters at 40³)", Task::classify,
       InputKind::fixed, {cube_size(), classes(23)}},
      {"dsrf3d-v2", "DSRF3D-v2: three conv blocks, FC 1024 with dropout", Task::classify, InputKind::fixed,
       {cube_size(), classes(23), {"dropout", 0.5, "Dropout probability after each FC layer", 0, 0.99, false}}},
      {"lstm-classifier", "Bi-LSTM over a series, final states → classes", Task::classify, InputKind::sequence,
       {channels(), {"hidden", 32, "LSTM units per direction", 1, 1e5}, {"layers", 1, "Stacked LSTM layers", 1, 16},
        classes()}},
      {"lstm-tagger", "Bi-LSTM over a series, one class per frame", Task::segment, InputKind::sequence,
       {channels(), {"hidden", 32, "LSTM units per direction", 1, 1e5}, {"layers", 1, "Stacked LSTM layers", 1, 16},
        classes(4)}},
      {"gru-tagger", "Bi-GRU over a series, one class per frame (DeepSPT event timing: 5 × 25, before/after)",
       Task::segment, InputKind::sequence,
       {channels(), {"hidden", 25, "GRU units per direction", 1, 1e5}, {"layers", 5, "Stacked GRU layers", 1, 16},
        classes(2)}},
      {"guided-bilstm-ae", "Guided bi-LSTM autoencoder of DeepHACKS (classifier head on the latent)",
       Task::guided_autoencoder, InputKind::sequence,
       {channels(), {"hidden1", 10, "First encoder bi-LSTM units", 1, 1e5},
        {"hidden2", 20, "Second encoder / decoder LSTM units", 1, 1e5},
        {"latent", 30, "Latent size (third encoder LSTM)", 1, 1e5},
        {"bidirectional_encoder", 1,
         "1: every encoder layer bidirectional, latent = both directions' final states (the paper's text); "
         "0: BiLSTM → LSTM → LSTM (the reference code; model files from before 2026-12-01)",
         0, 1, true, 0},
        {"head", 32, "Classifier head units", 1, 1e5},
        {"dropout", 0.5, "Classifier head dropout", 0, 0.99, false},
        {"reconstruction_weight", 25.0, "λ: loss = cross-entropy + λ·MSE", 0, 1e6, false}, classes(6)}},
      {"unet1d", "1D U-Net of DeepSPT: per-frame diffusion states of a trajectory (small default)", Task::segment,
       InputKind::sequence, unet1d_hyperparameters(32, 3, 5)},
      {"unet1d-paper2d", "DeepSPT's 2D U-Net (130 channels, depth 4, kernel 7)", Task::segment, InputKind::sequence,
       unet1d_hyperparameters(130, 4, 7)},
      {"unet1d-paper3d", "DeepSPT's 3D U-Net (48 channels, depth 3, kernel 5)", Task::segment, InputKind::sequence,
       unet1d_hyperparameters(48, 3, 5)},
  };
  return table;
}

const Architecture& find_architecture(const std::string& name) {
  for (const auto& a : architectures()) {
    if (a.name == name) return a;
  }
  std::string names;
  for (const auto& a : architectures()) names += (names.empty() ? "" : ", ") + a.name;
  throw ConfigError(cat("unknown model architecture '", name, "'; registered: ", names));
}

ModelSpec make_spec(const std::string& architecture, const std::map<std::string, double>& values) {
  const auto& arch = find_architecture(architecture);
  ModelSpec spec{architecture, {}};
  for (const auto& h : arch.hyperparameters) spec.values[h.key] = h.default_value;
  for (const auto& [key, value] : values) {
    auto it = std::find_if(arch.hyperparameters.begin(), arch.hyperparameters.end(),
                           [&](const HyperParameter& h) { return h.key == key; });
    if (it == arch.hyperparameters.end()) {
      throw ConfigError(cat("model.", architecture, ".", key, ": '", architecture, "' has no hyper-parameter '", key, "'"));
    }
    if (!(value >= it->min && value <= it->max) || (it->integer && value != std::round(value))) {
      throw ConfigError(cat("model.", architecture, ".", key, " = ", value, ": expected ",
                            it->integer ? "an integer" : "a number", " in [", it->min, ", ", it->max, "]"));
    }
    spec.values[key] = value;
  }
  return spec;
}

std::vector<std::int64_t> expected_sample_shape(const ModelSpec& spec) {
  if (spec.values.count("size")) {
    const auto n = spec.integer("size");
    return {n, n, n};
  }
  if (spec.values.count("inputs") && spec.integer("inputs") > 0) return {spec.integer("inputs")};
  return {};
}

}  // namespace phenoscale::nn
