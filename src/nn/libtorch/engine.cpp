// The engine's LibTorch entry points: training, prediction, per-frame
// ensembles and small row fits. They register themselves with the loader
// (src/nn/engine_loader.cpp) when this library is loaded, which the
// phenoscale binary does only for a stage that calls one of them.
#include "phenoscale/nn/engine.hpp"

#include <malloc.h>
#include <omp.h>

#include <chrono>

#include "phenoscale/core/error.hpp"
#include "phenoscale/core/log.hpp"
#include "phenoscale/io/hdf5.hpp"
#include "phenoscale/io/ragged.hpp"
#include "phenoscale/io/sample_array.hpp"
#include "phenoscale/nn/augment.hpp"
#include "phenoscale/nn/inference.hpp"
#include "phenoscale/nn/model_file.hpp"
#include "phenoscale/nn/torch_engine.hpp"
#include "phenoscale/nn/trainer.hpp"
#include "phenoscale/par/agree.hpp"

namespace phenoscale::nn {

using core::cat;

void configure_threads() {
  torch::set_num_threads(std::max(1, omp_get_max_threads()));
  // Tensors of a training step are freed and reallocated every step. glibc
  // serves blocks above its mmap threshold with fresh mmaps and trims the
  // heap top eagerly, so each step page-faults its activations in again
  // (~10 % of a small LSTM step under perf). Keep freed memory for reuse.
  static const bool once = [] {
    mallopt(M_MMAP_THRESHOLD, 256 << 20);
    mallopt(M_TRIM_THRESHOLD, 1 << 30);
    return true;
  }();
  (void)once;
}

namespace {

TrainerOptions trainer_options(const core::Config& c, const TrainFiles& files) {
  TrainerOptions o;
  o.optimizer.name = c.string("train.optimizer");
  o.optimizer.learning_rate = c.real("train.learning_rate");
  o.optimizer.momentum = c.real("train.momentum");
  o.optimizer.nesterov = c.boolean("train.nesterov");
  o.optimizer.decay = c.real("train.decay");
  o.optimizer.weight_decay = c.real("train.weight_decay");
  o.optimizer.warmup_steps = c.integer("train.warmup_steps");
  o.optimizer.clip_grad_norm = c.real("train.clip_grad_norm");
  o.epochs = c.integer("train.epochs");
  o.global_batch = c.integer("train.batch_size");
  o.max_steps = c.integer("train.max_steps");
  o.validation_fraction = c.real("train.validation_fraction");
  o.test_fraction = c.real("train.test_fraction");
  o.select_by = c.string("train.select_by");
  o.patience = c.integer("train.patience");
  o.seed = static_cast<std::uint64_t>(c.integer("run.seed"));
  o.member = files.member;
  o.allreduce = c.string("run.allreduce");
  o.sync.bucket_bytes = static_cast<std::size_t>(c.real("train.bucket_mib") * 1024.0 * 1024.0);
  o.sync.overlap = c.boolean("train.overlap");
  o.augment = c.string("train.augment");
  o.bucket_batches = c.integer("train.bucket_batches");
  o.device = c.string("train.device");
  o.precision = c.string("train.precision");
  o.checkpoint_path = files.checkpoint;
  o.checkpoint_every_steps = c.integer("train.checkpoint_every_steps");
  o.resume = c.boolean("train.resume");
  o.metrics_csv = files.metrics_csv;
  o.progress_interval_s = c.real("run.progress_interval_s");
  return o;
}

}  // namespace

TrainSummary run_training_unchecked(const core::Config&, const TrainFiles&, const io::Provenance&, const par::Comm&);
PredictSummary run_prediction_unchecked(const core::Config&, const PredictFiles&, const io::Provenance&,
                                        const par::Comm&);

namespace {

// LibTorch errors carry a C++ backtrace in what(): report the first line.
template <typename F>
auto torch_errors_as_one_line(F&& fn) {
  try {
    return fn();
  } catch (const c10::Error& e) {
    const std::string text = e.what_without_backtrace();
    throw Error("LibTorch: " + text.substr(0, text.find('\n')));
  }
}

}  // namespace

TrainSummary libtorch::run_training(const core::Config& config, const TrainFiles& files,
                                    const io::Provenance& provenance, const par::Comm& comm) {
  return torch_errors_as_one_line([&] { return run_training_unchecked(config, files, provenance, comm); });
}

PredictSummary libtorch::run_prediction(const core::Config& config, const PredictFiles& files,
                                        const io::Provenance& provenance, const par::Comm& comm) {
  return torch_errors_as_one_line([&] { return run_prediction_unchecked(config, files, provenance, comm); });
}

TrainSummary run_training_unchecked(const core::Config& config, const TrainFiles& files, const io::Provenance& provenance,
                          const par::Comm& comm) {
  configure_threads();
  ModelSpec spec;
  par::collectively(comm, [&] { spec = spec_from_config(config); });
  SampleStore data = load_samples(files.data, files.inputs, files.labels, comm);
  if (!files.exclude_labels.empty()) {
    data = without_labels(data, files.exclude_labels, comm);
    core::Log::info(cat("train: ", data.global_count, " samples after leaving out classes ",
                        core::format_value(files.exclude_labels)));
  }
  spec = fit_spec_to_data(spec, data, files.data + ":" + files.inputs, comm);
  torch::manual_seed(static_cast<std::uint64_t>(config.integer("run.seed")) + files.member);
  std::shared_ptr<Model> model;
  par::collectively(comm, [&] { model = make_model(spec); });
  const TrainingResult r = train(*model, data, trainer_options(config, files), comm);
  std::map<std::string, double> metrics{{"steps", double(r.steps)}, {"best_epoch", double(r.best_epoch)}};
  if (r.test.predictions > 0) {
    metrics["test_accuracy"] = r.test.accuracy();
    metrics["test_loss"] = r.test.loss(r.reconstruction_weight);
    metrics["test_samples"] = r.test.cross_entropy_count;
  }
  save_model(files.model, *model, provenance, comm, metrics);

  TrainSummary s;
  s.steps = r.steps;
  s.epochs = static_cast<std::int64_t>(r.history.size());
  s.best_epoch = r.best_epoch;
  s.resumed = r.resumed;
  s.early_stopped = r.early_stopped;
  if (!r.history.empty()) {
    s.final_train_loss = r.history.back().train_loss;
    s.final_train_accuracy = r.history.back().train_accuracy;
    s.final_validation_accuracy = r.history.back().validation_accuracy;
    for (const auto& e : r.history) s.samples_per_s += e.samples_per_s / double(r.history.size());
  }
  s.has_test = r.test.predictions > 0;
  s.test_loss = r.test.loss(r.reconstruction_weight);
  s.test_accuracy = r.test.accuracy();
  for (const auto& p : model->parameters()) s.parameters += p.numel();
  return s;
}

PredictSummary run_prediction_unchecked(const core::Config& config, const PredictFiles& files,
                                        const io::Provenance& provenance, const par::Comm& comm) {
  configure_threads();
  std::vector<std::shared_ptr<Model>> ensemble;
  for (const auto& path : files.models) ensemble.push_back(load_model(path, comm));
  const SampleStore data = load_samples(files.data, files.inputs, files.labels, comm);
  fit_spec_to_data(ensemble.front()->spec(), data, files.data + ":" + files.inputs, comm);
  PredictOptions options;
  options.batch = config.integer("predict.batch_size");
  options.temperature = config.real("predict.temperature");
  options.fit_temperature = config.boolean("predict.fit_temperature");
  if (options.fit_temperature && comm.is_root())
    core::Log::warn(cat("predict: predict.fit_temperature fits T on the labels of ", files.data,
                        ", the data it then scores: the NLL and probabilities written are tuned on it; for scores to "
                        "report, fit T on a calibration set and pass it as predict.temperature"));
  options.progress_interval_s = config.real("run.progress_interval_s");
  const auto t0 = std::chrono::steady_clock::now();
  const Predictions p = predict(ensemble, data, options, comm);
  const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();

  io::H5File out = io::H5File::create(files.output, comm);
  const auto k = static_cast<std::uint64_t>(p.classes);
  if (p.per_frame) {
    auto ragged = [&](const std::string& group, const auto& values, std::uint64_t width) {
      using T = typename std::decay_t<decltype(values)>::value_type;
      io::RaggedSeries<T> r;
      r.width = width;
      for (std::int64_t i = 0; i < data.size(); ++i) {
        r.push_back(values.data() + p.offsets[i] * width, static_cast<std::uint64_t>(data.lengths[i]));
      }
      io::write_ragged(out, group, r);
    };
    ragged("/logits", p.logits, k);
    ragged("/probabilities", p.probabilities, k);
    ragged("/predictions", p.predicted, 1);
  } else {
    io::write_samples(out, "/logits", p.logits, {k});
    io::write_samples(out, "/probabilities", p.probabilities, {k});
    io::write_samples(out, "/predictions", p.predicted, {});
    io::write_samples(out, "/features", p.features, {static_cast<std::uint64_t>(p.feature_size)});
    if (data.labelled) {
      // Confusion matrix, true class × predicted class, summed over ranks.
      std::vector<std::int64_t> confusion(k * k, 0);
      for (std::size_t i = 0; i < p.predicted.size(); ++i) {
        const auto t = static_cast<std::uint64_t>(data.targets[i]);
        if (t < k) ++confusion[t * k + static_cast<std::uint64_t>(p.predicted[i])];
      }
      comm.allreduce_sum_inplace(confusion);
      io::write_samples(out, "/confusion", confusion.data(), comm.is_root() ? k : 0, {k});
    }
  }
  out.write_attribute("/", "temperature", p.temperature);
  out.write_attribute("/", "ensemble_members", static_cast<std::int64_t>(ensemble.size()));
  std::string members;
  for (const auto& m : files.models) members += (members.empty() ? "" : "\n") + m;
  out.write_attribute("/", "models", members);
  io::write_provenance(out, provenance);
  out.commit();

  PredictSummary s;
  s.rows = comm.allreduce_sum<std::int64_t>(data.size());
  s.temperature = p.temperature;
  s.labelled = data.labelled;
  s.accuracy = p.accuracy;
  s.negative_log_likelihood = p.negative_log_likelihood;
  s.samples_per_s = seconds > 0 ? double(s.rows) / comm.allreduce_max(seconds) : 0.0;
  return s;
}

FramePredictions libtorch::predict_series(const std::vector<std::string>& models, const SeriesBlock& series,
                                          const PredictOptions& options, const std::string& where,
                                          const par::Comm& comm) {
  return torch_errors_as_one_line([&] {
    configure_threads();
    std::vector<std::shared_ptr<Model>> ensemble;
    for (const auto& path : models) ensemble.push_back(load_model(path, comm));
    par::collectively(comm, [&] {
      if (find_architecture(ensemble.front()->spec().architecture).task != Task::segment) {
        throw InputError(cat(models.front(), ": model '", ensemble.front()->spec().architecture,
                             "' does not predict one class per frame"));
      }
    });
    SampleStore data;
    data.sequences = true;
    data.sample_shape = {series.channels};
    data.per_frame_targets = true;
    data.labelled = comm.allreduce_max<int>(series.targets.empty() ? 0 : 1) == 1;
    std::int64_t offset = 0;
    for (const auto length : series.lengths) {
      data.push_back(series.values.data() + offset * series.channels, length,
                     data.labelled ? series.targets.data() + offset : nullptr);
      offset += length;
    }
    data.finish_sharding(comm);
    fit_spec_to_data(ensemble.front()->spec(), data, where, comm);
    const auto t0 = std::chrono::steady_clock::now();
    Predictions p = predict(ensemble, data, options, comm);
    const double seconds = comm.allreduce_max(std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count());
    FramePredictions out;
    out.classes = p.classes;
    out.probabilities = std::move(p.probabilities);
    out.predicted = std::move(p.predicted);
    out.temperature = p.temperature;
    out.accuracy = p.accuracy;
    out.samples_per_s = seconds > 0 ? double(data.global_count) / seconds : 0.0;
    return out;
  });
}

namespace {

SampleStore store_of(const RowSet& rows, bool labelled, const par::Comm& self) {
  SampleStore store;
  store.sample_shape = {rows.features};
  store.labelled = labelled;
  for (std::int64_t i = 0; i < rows.rows(); ++i)
    store.push_back(rows.values.data() + i * rows.features, 1, labelled ? &rows.labels[static_cast<std::size_t>(i)] : nullptr);
  store.finish_sharding(self);
  return store;
}

// LibTorch on one thread while it lives: a fit's floating-point reductions
// then never depend on the thread count (tiny models gain nothing from more).
class OneTorchThread {
 public:
  OneTorchThread() : before_(torch::get_num_threads()) { torch::set_num_threads(1); }
  ~OneTorchThread() { torch::set_num_threads(before_); }
  OneTorchThread(const OneTorchThread&) = delete;
  OneTorchThread& operator=(const OneTorchThread&) = delete;

 private:
  int before_;
};

}  // namespace

std::vector<float> libtorch::fit_predict_rows(const RowFit& fit, const RowSet& train, const RowSet& test) {
  return torch_errors_as_one_line([&] {
    if (train.features <= 0 || train.features != test.features)
      throw InputError(cat("fit_predict_rows: ", train.features, " training and ", test.features,
                           " test features per row; expected the same positive number"));
    if (static_cast<std::int64_t>(train.labels.size()) != train.rows())
      throw InputError(cat("fit_predict_rows: ", train.labels.size(), " labels for ", train.rows(), " training rows"));
    OneTorchThread one_thread;
    const par::Comm self(MPI_COMM_SELF);
    const SampleStore data = store_of(train, true, self);
    const ModelSpec spec = fit_spec_to_data(fit.spec, data, "training rows", self);
    torch::manual_seed(fit.seed);
    const std::shared_ptr<Model> model = make_model(spec);
    TrainerOptions o;
    o.optimizer.name = fit.optimizer;
    o.optimizer.learning_rate = fit.learning_rate;
    o.optimizer.weight_decay = fit.weight_decay;
    o.epochs = fit.epochs;
    o.global_batch = fit.batch_size;
    o.seed = fit.seed;
    o.quiet = true;
    nn::train(*model, data, o, self);  // the loop, not the rows `train`
    PredictOptions p;
    p.batch = 4096;
    return predict({model}, store_of(test, false, self), p, self).probabilities;
  });
}

ModelSpec libtorch::read_model_spec(const std::string& path, const par::Comm& comm) {
  return torch_errors_as_one_line([&] { return nn::read_model_spec_from_file(path, comm); });
}

namespace {

// Loading this library (or linking it, in tests and benchmarks) registers it.
const bool registered = [] {
  register_torch_engine(TorchEngine{&libtorch::run_training, &libtorch::run_prediction, &libtorch::predict_series,
                                    &libtorch::fit_predict_rows, &libtorch::read_model_spec});
  return true;
}();

}  // namespace

}  // namespace phenoscale::nn
