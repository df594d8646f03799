// Model architectures as data: names, tasks and hyper-parameters, without
// LibTorch (so that CLI and pipeline code can build decks and validate
// choices without compiling torch headers). The networks themselves are in
// model.hpp; the table is src/nn/model_registry.cpp, and each name's
// constructor is bound in src/nn/libtorch/model_factories.cpp.
#pragma once

#include <cstdint>
#include <functional>
#include <limits>
#include <map>
#include <memory>
#include <string>
#include <vector>

namespace phenoscale::nn {

class Model;

// What a network predicts, which fixes its loss and its metrics.
enum class Task {
  classify,            // one class per sample: cross-entropy over samples
  segment,             // one class per frame: cross-entropy over real frames
  guided_autoencoder,  // class of the sample + reconstruction of every frame
};
std::string task_name(Task task);

// Whether samples are fixed-shape arrays or variable-length series.
enum class InputKind { fixed, sequence };

// Hyper-parameters of one architecture; all numeric, so they round-trip
// through HDF5 attributes and TOML unchanged.
struct ModelSpec {
  std::string architecture;
  std::map<std::string, double> values;

  double real(const std::string& key) const;
  std::int64_t integer(const std::string& key) const;
  // "key = value" lines, sorted: stored in model files and checkpoints.
  std::string to_text() const;
  // Parses to_text()'s lines; a line that is not "key = finite number" throws
  // InputError naming `where` (the file and attribute) and the line.
  static ModelSpec from_text(const std::string& architecture, const std::string& text,
                             const std::string& where = "model hyper-parameters");
};

struct HyperParameter {
  std::string key;
  double default_value;
  std::string doc;
  double min = -1e300;
  double max = 1e300;
  bool integer = true;
  // The value a model file written before this key existed was built with
  // (NaN: the default). Such files lack the key; reading one must rebuild the
  // network that wrote it, not the current default.
  double before_key = std::numeric_limits<double>::quiet_NaN();
};

struct Architecture {
  std::string name;
  std::string summary;
  Task task;
  InputKind input;
  std::vector<HyperParameter> hyperparameters;
};

// Every registered architecture, in the order `phenoscale list` shows them.
const std::vector<Architecture>& architectures();
// Throws ConfigError naming the registered architectures when `name` is unknown.
const Architecture& find_architecture(const std::string& name);
// The spec with every hyper-parameter at its default, overridden by `values`;
// throws ConfigError for an unknown key or a value out of range.
ModelSpec make_spec(const std::string& architecture, const std::map<std::string, double>& values);
// Sample shape a fixed-input architecture expects ({} when any shape works),
// used to reject mismatched data with a clear error before the first batch.
std::vector<std::int64_t> expected_sample_shape(const ModelSpec& spec);

}  // namespace phenoscale::nn
