// The deep-learning engine as the pipelines see it, without LibTorch headers.
//
// Deck sections shared by every pipeline that trains a network:
//   [model]  architecture = "dsrf3d"          (registered names: model_spec.hpp)
//   [model.<architecture>]  its hyper-parameters (classes, size, hidden ...)
//   [train]  optimiser, schedule, epochs, batch, split, checkpoints, device
//   [predict] ensemble members, batch, temperature
// `run_training` and `run_prediction` read one HDF5 dataset (fixed-shape
// samples or CSR series, with labels), and write a model file / prediction
// file with provenance. tomo, spt and edge call them with their own datasets.
// Everything here is torch-free; the entry points that run a network load
// the LibTorch half on their first call (torch_engine.hpp).
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "phenoscale/core/config.hpp"
#include "phenoscale/io/provenance.hpp"
#include "phenoscale/nn/model_spec.hpp"
#include "phenoscale/nn/predict_options.hpp"
#include "phenoscale/par/comm.hpp"

namespace phenoscale::nn {

// Defaults a pipeline gives the shared sections (its dataset names, its network).
// [train] defaults a pipeline's method prescribes (its paper's optimiser,
// batch, split), so a deck that omits them trains the documented network.
// The engine's own are the tomo paper's (Xu et al. 2017).
struct TrainDefaults {
  std::string optimizer = "sgd";
  double learning_rate = 0.01, decay = 1e-6;  // lr_t = lr / (1 + decay·t)
  std::int64_t epochs = 20, batch_size = 64;
  double validation_fraction = 0.1, test_fraction = 0.0;
  std::string select_by = "accuracy";
};
struct EngineDefaults {
  std::string architecture = "mlp";
  std::string inputs_dataset = "/samples";
  std::string labels_dataset = "/labels";
  std::string input_doc = "Training data, HDF5 file";
  TrainDefaults train;
};
// [model], [model.<architecture>] for every registered architecture.
void add_model_schema(core::Schema& schema, const EngineDefaults& defaults = {});
// [train] (inputs and outputs included).
void add_train_schema(core::Schema& schema, const EngineDefaults& defaults = {});
// [predict].
void add_predict_schema(core::Schema& schema, const EngineDefaults& defaults = {});

// The spec selected by model.architecture with its deck section applied.
ModelSpec spec_from_config(const core::Config& config);

struct TrainFiles {
  std::string data;             // HDF5 file
  std::string inputs = "/samples";
  std::string labels = "/labels";
  std::string model;            // output model file
  std::string metrics_csv;      // "" : none
  std::string checkpoint;       // "" : none
  std::vector<std::int64_t> exclude_labels;  // samples of these classes are left out (leave-one-class-out)
  std::uint64_t member = 0;     // ensemble member: initialisation and shuffles from run.seed + member
};

struct TrainSummary {
  std::int64_t steps = 0, epochs = 0, best_epoch = -1;
  bool resumed = false, early_stopped = false;
  double final_train_loss = 0, final_train_accuracy = 0;
  double final_validation_accuracy = 0;
  bool has_test = false;
  double test_loss = 0, test_accuracy = 0;
  double samples_per_s = 0;     // mean over epochs
  std::int64_t parameters = 0;
};

// Collective. Trains the deck's model on `files.data` and writes `files.model`.
TrainSummary run_training(const core::Config& config, const TrainFiles& files, const io::Provenance& provenance,
                          const par::Comm& comm);

struct PredictFiles {
  std::string data;
  std::string inputs = "/samples";
  std::string labels;                // "" : unlabelled
  std::vector<std::string> models;   // ensemble members
  std::string output;
};

struct PredictSummary {
  std::int64_t rows = 0;
  double temperature = 1.0, accuracy = 0.0, negative_log_likelihood = 0.0;
  bool labelled = false;
  double samples_per_s = 0.0;
};

// Collective. Writes /logits, /probabilities, /predictions (and /features for
// per-sample tasks; CSR groups for per-frame tasks) in input order, and with
// labels the confusion matrix /confusion (true class × predicted class).
PredictSummary run_prediction(const core::Config& config, const PredictFiles& files, const io::Provenance& provenance,
                              const par::Comm& comm);

// Series held in memory by a pipeline stage (spt segment): this rank's block
// of series in CSR layout, with optional per-frame labels.
struct SeriesBlock {
  std::int64_t channels = 0;            // values per frame
  std::vector<std::int64_t> lengths;    // frames per series
  std::vector<float> values;            // frames × channels, series after series
  std::vector<std::int64_t> targets;    // frames, or empty (unlabelled)
};

struct FramePredictions {
  std::int64_t classes = 0;
  std::vector<float> probabilities;     // frames × classes: mean of the members' softmax(logits / T)
  std::vector<std::int64_t> predicted;  // frames, argmax of probabilities
  double temperature = 1.0;
  double accuracy = 0.0;                // all ranks, when labelled
  double samples_per_s = 0.0;           // series per second, all ranks
};

// Collective. Applies the per-frame ensemble `models` (each a segment-task
// model file) to `series`. With `fit_temperature` the series must be labelled
// and T is fitted on them (by NLL); else `temperature` is used. `where`
// names the data in errors.
FramePredictions predict_series(const std::vector<std::string>& models, const SeriesBlock& series,
                                const PredictOptions& options, const std::string& where, const par::Comm& comm);

// Fixed-length feature rows held in memory by a pipeline stage (spt
// classify): `features` values per row, one class per row.
struct RowSet {
  std::int64_t features = 0;
  std::vector<float> values;         // rows × features, row-major
  std::vector<std::int64_t> labels;  // one class per row (training rows; ignored for prediction)
  std::int64_t rows() const { return features > 0 ? static_cast<std::int64_t>(values.size()) / features : 0; }
};

// One small classifier fit: a per-sample architecture (`mlp`: layers = 0 is
// a single linear layer, i.e. multinomial logistic regression) trained from
// a fresh initialisation on every row, no validation split, no checkpoint.
struct RowFit {
  ModelSpec spec;                  // `inputs` 0 is filled from the rows
  std::string optimizer = "adam";
  double learning_rate = 1e-3;
  double weight_decay = 0.0;
  std::int64_t epochs = 10;
  std::int64_t batch_size = 32;
  std::uint64_t seed = 0;          // initialisation, shuffles and dropout
};

// Trains `fit` on `train` and returns the softmax probabilities of the rows of
// `test` (rows × classes). Not collective: it runs on this process alone
// (MPI_COMM_SELF) and on one LibTorch thread, so that cross-validation can
// deal whole fits to ranks (as ml::RbfSvmClassifier deals its grid) and get
// the same numbers at any rank and thread count. Throws a one-line Error for
// rows the model cannot take (labels outside its classes, feature counts
// that differ or are 0, a label count that is not the row count).
std::vector<float> fit_predict_rows(const RowFit& fit, const RowSet& train, const RowSet& test);

// The architecture and hyper-parameters stored in a model file, read from its
// attributes without loading the weights (collective; nn/libtorch/model_file.cpp).
ModelSpec read_model_spec(const std::string& path, const par::Comm& comm);

// Registered names of the [train] choices (src/nn/libtorch/optimizer.cpp and
// augment.cpp dispatch on them).
std::vector<std::string> optimizer_names();
std::vector<std::string> augmentation_names();

}  // namespace phenoscale::nn
