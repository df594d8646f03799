// Sharded inference, feature extraction and ensembles.
//
// Each rank runs the network(s) on its own block of samples (no exchange),
// in batches, and keeps the outputs in input order, ready for a collective
// write next to the input rows. An ensemble averages its members' softmax
// probabilities (docs/methods.md §2.2: 3 U-Nets); temperature scaling divides
// every member's logits by T before the softmax, and T can be fitted on
// labelled data by minimising the negative log-likelihood (golden-section
// search on log T, the NLL summed over ranks).
#pragma once

#include <cstdint>
#include <memory>
#include <vector>

#include "phenoscale/nn/model.hpp"
#include "phenoscale/nn/predict_options.hpp"
#include "phenoscale/nn/sample_store.hpp"
#include "phenoscale/par/comm.hpp"

namespace phenoscale::nn {

// Outputs for this rank's samples. Per-sample tasks: rows = samples;
// per-frame tasks (segment): rows = frames, in the CSR order of the input.
struct Predictions {
  bool per_frame = false;
  std::int64_t classes = 0, feature_size = 0;
  std::vector<float> logits;         // rows × classes, mean over members
  std::vector<float> probabilities;  // rows × classes, mean of member softmax(logits / T)
  std::vector<std::int64_t> predicted;
  std::vector<float> features;       // samples × feature_size, first member (per sample only)
  std::vector<std::int64_t> offsets; // per_frame: CSR offsets of the local series
  double temperature = 1.0;
  double negative_log_likelihood = 0.0;  // mean over labelled rows, all ranks (0 if unlabelled)
  double accuracy = 0.0;                 // all ranks (0 if unlabelled)
};

// Collective. All members must share task and number of classes.
Predictions predict(const std::vector<std::shared_ptr<Model>>& ensemble, const SampleStore& data,
                    const PredictOptions& options, const par::Comm& comm);

}  // namespace phenoscale::nn
