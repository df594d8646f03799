// The data-parallel training loop shared by every pipeline.
//
// One process per rank, one model replica each: parameters broadcast from
// rank 0; every step each rank fetches its slice of the global batch drawn by
// the DistributedSampler, runs forward/backward on it, and the
// GradientSynchroniser sums gradients over ranks while backward runs; the
// summed gradient is clipped (optionally, identically on every rank) and the
// optimiser then takes the same step everywhere. The update of a step does
// not depend on the rank count (to float rounding), so np=1 and np=3 train
// the same model.
//
// Around the loop: a seeded train/validation/test split, metrics per epoch
// (loss terms, accuracy, samples/s, exposed communication) to a CSV log,
// progress lines with ETA, best-on-validation model selection, early
// stopping, and checkpoints (model, optimiser, sampler position, metrics)
// written atomically by rank 0. A checkpoint holds the position of the next
// batch to run and restores the exact state: resuming continues bit-for-bit
// (the learning rate, warm-up included, is a function of the step counter). SIGTERM/SIGUSR1 make every rank stop at
// the next step boundary, write a checkpoint and throw Preempted (exit 75).
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "phenoscale/nn/gradient_sync.hpp"
#include "phenoscale/nn/loss.hpp"
#include "phenoscale/nn/model.hpp"
#include "phenoscale/nn/optimizer.hpp"
#include "phenoscale/nn/sample_store.hpp"
#include "phenoscale/par/comm.hpp"

namespace phenoscale::nn {

struct TrainerOptions {
  OptimizerSettings optimizer;
  std::int64_t epochs = 20;
  std::int64_t global_batch = 64;
  std::int64_t max_steps = 0;  // stop after this many steps in total (0: no limit)
  double validation_fraction = 0.0;
  double test_fraction = 0.0;
  std::string select_by = "accuracy";  // "accuracy" | "loss" on the validation split
  std::int64_t patience = 0;           // early stopping after this many epochs without improvement (0: off)
  std::uint64_t seed = 0;
  // Ensemble member (docs/methods.md §2.2): its shuffles, dropout and augmentation
  // come from seed + member, the train/validation/test split from seed alone,
  // so every member is selected on the same validation samples.
  std::uint64_t member = 0;
  std::uint64_t member_seed() const { return seed + member; }
  std::string allreduce = "mpi";
  GradientSyncOptions sync;
  std::string augment = "none";        // a name of nn::augmentations(), applied to training batches only
  std::int64_t bucket_batches = 50;    // length bucketing window for series (0: off)
  std::string device = "cpu";          // "cpu" | "cuda"
  std::string precision = "fp32";      // "fp32" | "bf16" (autocast)
  std::string checkpoint_path;         // empty: no checkpoints
  std::int64_t checkpoint_every_steps = 0;  // also at every epoch end
  bool resume = true;                  // continue from checkpoint_path when it exists
  std::string metrics_csv;             // empty: no log file
  double progress_interval_s = 10.0;
  bool quiet = false;                  // progress and per-epoch lines at debug level (many small fits)
};

struct EpochRecord {
  std::int64_t epoch = 0, step = 0;
  double learning_rate = 0, train_loss = 0, train_cross_entropy = 0, train_reconstruction = 0, train_accuracy = 0;
  double validation_loss = 0, validation_accuracy = 0;
  double samples_per_s = 0, seconds = 0, communication_wait_s = 0;
};

struct TrainingResult {
  std::vector<EpochRecord> history;
  std::int64_t steps = 0;
  std::int64_t best_epoch = -1;  // -1: no validation split (last epoch kept)
  bool early_stopped = false;
  bool resumed = false;
  MetricSums test;               // empty when test_fraction = 0
  double reconstruction_weight = 0;
  double communication_wait_s = 0;  // total time waiting for gradient reductions after backward
};

// Collective. Trains `model` in place on `data` (labelled). Throws Preempted
// after checkpointing when a stop signal arrived.
TrainingResult train(Model& model, const SampleStore& data, const TrainerOptions& options, const par::Comm& comm);

// LibTorch's intra-op threads from OMP_NUM_THREADS (one per core by default)
// and glibc's allocator kept from trimming between steps; the engine's entry
// points call it (src/nn/libtorch/engine.cpp), benchmarks too.
void configure_threads();

// Collective. Loss and accuracy of `model` on the samples `pool` (global
// indices), evaluated in batches split over ranks. With `stopped` given, the
// ranks agree before every batch whether a stop signal arrived on any of
// them; if so the pass ends there, *stopped is true on every rank and the
// sums are partial (the trainer checkpoints and throws Preempted).
MetricSums evaluate(Model& model, const SampleStore& data, const std::vector<std::int64_t>& pool,
                    std::int64_t global_batch, const par::Comm& comm, bool* stopped = nullptr);

// Collective. Rejects data that does not fit the model (sample shape, input
// kind, labels outside the model's classes) with one clear error, and fills
// the hyper-parameters that default to "from the data" (inputs, channels).
ModelSpec fit_spec_to_data(ModelSpec spec, const SampleStore& data, const std::string& where, const par::Comm& comm);

}  // namespace phenoscale::nn
