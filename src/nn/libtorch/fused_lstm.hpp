// A fused CPU LSTM for batches of variable-length series: the recurrent
// layers of the bi-LSTM classifier/tagger and of the guided bi-LSTM
// autoencoder (docs/methods.md §3.3) run through it on the CPU.
//
// Why not torch::nn::LSTM on packed sequences: LibTorch's CPU LSTM records
// about a dozen autograd nodes per time step and slices the packed input per
// step; each slice's backward writes a zero tensor the size of the whole
// packed batch, so a training step costs O(frames² × batch) memory traffic
// (on batches of 128 series of 50-150 frames, most of the time; measured in
// docs/performance.md, "nn/"). Here one autograd node covers a whole layer
// direction: the input projection, the weight gradients and the input
// gradient are one matrix product each over every frame, and a time step is
// one small product plus fused gate arithmetic (Eigen) on the series still
// running at that frame.
//
// Semantics are torch::nn::LSTM's on packed sequences (gate order i, f, g, o;
// bias_ih + bias_hh; zero initial state): a series' outputs never depend on
// how long the other series of its batch are, outputs past a series' length
// are zero, and the reverse direction starts at each series' own last frame.
#pragma once

#include <torch/torch.h>

namespace phenoscale::nn {

// Which implementation runs an LSTM: the fused kernel where it applies (CPU,
// float32, no dropout or projection), else LibTorch's; or LibTorch's always
// (the tests compare the two).
enum class LstmKernel { automatic, libtorch };

struct LstmResult {
  torch::Tensor output;  // [B, T, directions × H], zero past each series' length
  torch::Tensor h_n;     // [layers × directions, B, H], as torch::nn::LSTM
  torch::Tensor c_n;     // [layers × directions, B, H]
};

// Runs `lstm` (batch_first) over the zero-padded series `padded` [B, T, C]
// with `lengths` (int64 [B], each in 1..T).
LstmResult run_lstm(torch::nn::LSTM& lstm, const torch::Tensor& padded, const torch::Tensor& lengths,
                    LstmKernel kernel = LstmKernel::automatic);

}  // namespace phenoscale::nn
