// The engine's deck sections ([model], [train], [predict]) and the spec a
// deck selects: torch-free, so every stage builds and checks its deck without
// loading LibTorch (the training and prediction entry points are
// src/nn/libtorch/engine.cpp, loaded on demand by src/nn/engine_loader.cpp).
#include "phenoscale/nn/engine.hpp"

namespace phenoscale::nn {

// The names src/nn/libtorch/optimizer.cpp and augment.cpp implement; their
// tables dispatch on these, and test_trainer_mpi checks every name builds.
std::vector<std::string> optimizer_names() { return {"sgd", "adam", "adamw", "rmsprop"}; }
std::vector<std::string> augmentation_names() { return {"none", "rot180"}; }

void add_model_schema(core::Schema& s, const EngineDefaults& d) {
  std::vector<std::string> names;
  for (const auto& a : architectures()) names.push_back(a.name);
  s.string("model.architecture", d.architecture, "Network, by registered name (see `phenoscale list`)", names);
  for (const auto& a : architectures()) {
    for (const auto& h : a.hyperparameters) {
      const std::string key = "model." + a.name + "." + h.key;
      const std::string doc = a.name + ": " + h.doc;
      if (h.integer) s.integer(key, static_cast<std::int64_t>(h.default_value), doc, h.min, h.max);
      else s.real(key, h.default_value, doc, h.min, h.max);
    }
  }
}

void add_train_schema(core::Schema& s, const EngineDefaults& d) {
  s.string("train.optimizer", d.train.optimizer, "Optimiser: sgd (Nesterov momentum), adam, adamw (decoupled weight decay), rmsprop", optimizer_names())
      .real("train.learning_rate", d.train.learning_rate, "Initial learning rate lr", 0.0, 1e3)
      .real("train.momentum", 0.9, "SGD momentum", 0.0, 1.0)
      .boolean("train.nesterov", true, "SGD with Nesterov momentum")
      .real("train.decay", d.train.decay, "Learning-rate decay per step: lr_t = lr / (1 + decay·t)", 0.0, 1e3)
      .real("train.weight_decay", 0.0,
            "Weight decay: L2 term added to the gradient (sgd, adam, rmsprop), decoupled θ ← θ(1 − lr·wd) (adamw)",
            0.0, 1e3)
      .integer("train.warmup_steps", 0,
               "Linear learning-rate warm-up: step t (0-based) uses (t + 1)/warmup_steps of the scheduled rate (0: off)",
               0, 1e15)
      .real("train.clip_grad_norm", 0.0,
            "Scale the summed gradient down to this global L2 norm when it is larger (0: off)", 0.0, 1e30)
      .integer("train.epochs", d.train.epochs, "Epochs", 1, 1e9)
      .integer("train.batch_size", d.train.batch_size, "Global mini-batch size (split over ranks)", 1, 1e9)
      .integer("train.max_steps", 0, "Stop after this many optimiser steps in total (0: no limit)", 0, 1e15)
      .real("train.validation_fraction", d.train.validation_fraction, "Fraction of samples held out for model selection", 0.0, 0.99)
      .real("train.test_fraction", d.train.test_fraction, "Fraction of samples held out for the final test", 0.0, 0.99)
      .string("train.select_by", d.train.select_by, "Keep the epoch with the best validation accuracy or loss",
              {"accuracy", "loss"})
      .integer("train.patience", 0, "Early stopping: epochs without validation improvement (0: off)", 0, 1e9)
      .real("train.bucket_mib", 25.0, "Gradient bucket size for the overlapped allreduce, MiB", 0.001, 1e6)
      .boolean("train.overlap", true, "Allreduce gradient buckets during backward (false: one allreduce after)")
      .string("train.augment", "none",
              "Training-time augmentation: none, or rot180 (3-D samples turned 180° about x, y or z at random; "
              "keeps a missing wedge)",
              augmentation_names())
      .integer("train.bucket_batches", 50, "Series of similar length are batched together within windows of this many batches (0: off)", 0, 1e9)
      .string("train.device", "cpu", "cpu, or cuda (CUDA LibTorch build, one GPU per rank)", {"cpu", "cuda"})
      .string("train.precision", "fp32", "fp32, or bf16 autocast of the forward pass", {"fp32", "bf16"})
      .string("train.input", "", d.input_doc)
      .string("train.inputs_dataset", d.inputs_dataset, "Samples: dataset N×shape, or CSR group (values, offsets) of series")
      .string("train.labels_dataset", d.labels_dataset, "Labels: dataset of N classes, or CSR group of per-frame classes")
      .string("train.output", "model.h5", "Trained model file, inside run.output_dir")
      .string("train.metrics", "training.csv", "Per-epoch metrics CSV, inside run.output_dir (empty: none)")
      .string("train.checkpoint", "checkpoint.pt", "Checkpoint file, inside run.output_dir (empty: none)")
      .integer("train.checkpoint_every_steps", 0, "Also checkpoint every this many steps (0: epoch ends only)", 0, 1e15)
      .boolean("train.resume", true, "Continue from train.checkpoint when it exists")
      .integer_list("train.exclude_classes", {}, "Labels whose samples are left out of training (leave-one-class-out)", 0);
}

void add_predict_schema(core::Schema& s, const EngineDefaults& d) {
  s.string("predict.input", "", "Data to predict, HDF5 file")
      .string("predict.inputs_dataset", d.inputs_dataset, "Samples: dataset N×shape, or CSR group of series")
      .string("predict.labels_dataset", "", "Labels for accuracy and temperature fitting (empty: none)")
      .string_list("predict.models", {}, "Model files; several = ensemble (mean of softmax)")
      .string("predict.output", "predictions.h5", "Output file, inside run.output_dir")
      .integer("predict.batch_size", 64, "Samples per forward pass on each rank", 1, 1e9)
      .real("predict.temperature", 1.0, "Temperature T: softmax(logits / T)", 1e-6, 1e6)
      .boolean("predict.fit_temperature", false, "Fit T on the labelled input by minimising the NLL");
}

ModelSpec spec_from_config(const core::Config& config) {
  const auto& arch = find_architecture(config.string("model.architecture"));
  std::map<std::string, double> values;
  for (const auto& h : arch.hyperparameters) {
    const std::string key = "model." + arch.name + "." + h.key;
    values[h.key] = h.integer ? static_cast<double>(config.integer(key)) : config.real(key);
  }
  return make_spec(arch.name, values);
}

}  // namespace phenoscale::nn
