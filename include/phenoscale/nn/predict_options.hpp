// Settings of sharded inference (nn/inference.hpp), without LibTorch headers
// so that pipeline stages can fill them.
#pragma once

#include <cstdint>

namespace phenoscale::nn {

struct PredictOptions {
  std::int64_t batch = 64;       // samples per forward pass on each rank
  double temperature = 1.0;
  bool fit_temperature = false;  // needs labels
  // > 0: a progress line (core::Progress, label "inference") at most this
  // often and a final one; 0: silent (predictions inside other methods).
  double progress_interval_s = 0.0;
};

}  // namespace phenoscale::nn
