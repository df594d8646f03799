// Fused CPU recurrent layers for batches of variable-length series: the LSTMs
// of the bi-LSTM classifier/tagger and of the guided bi-LSTM autoencoder
// (docs/methods.md §3.3) and the GRU of DeepSPT's event tagger (§2.6) run
// through them on the CPU.
//
// Why not torch::nn::LSTM/GRU on packed sequences: LibTorch's CPU kernels
// record a handful of autograd nodes per time step and slice the packed
// batch per step; each slice's backward writes a zero tensor the size of the
// whole packed batch, so a training step costs O(frames² × batch) memory
// traffic (docs/performance.md, "The fused CPU recurrent layers"). Here one
// autograd node covers a whole layer direction: the input projection, the
// weight gradients and the input gradient are one matrix product each over
// every frame, and a time step is one small product (the BLAS's
// cblas_sgemm) plus fused gate arithmetic (Eigen) on the series still
// running at that frame.
//
// Semantics are LibTorch's on packed sequences (gate orders i, f, g, o and
// r, z, n; zero initial state): a series' outputs depend on the other series
// of its batch only through rounding, outputs past a series' length are
// zero, and the reverse direction starts at each series' own last frame.
#pragma once

#include <torch/torch.h>

#include <cstdint>
#include <vector>

namespace phenoscale::nn {

// Which implementation runs a recurrent layer: the fused kernel where it
// applies (fused_rnn_applies), else LibTorch's; or LibTorch's always (the
// tests compare the two).
enum class RnnKernel { automatic, libtorch };

struct RnnResult {
  torch::Tensor output;  // [B, T, directions × H], zero past each series' length
  torch::Tensor h_n;     // [layers × directions, B, H], as LibTorch's
  torch::Tensor c_n;     // [layers × directions, B, H] (LSTM; undefined for the GRU)
};

// Runs `lstm` / `gru` (batch_first) over the zero-padded series `padded`
// [B, T, C] with `lengths` (int64 [B], each in 1..T).
RnnResult run_lstm(torch::nn::LSTM& lstm, const torch::Tensor& padded, const torch::Tensor& lengths,
                   RnnKernel kernel = RnnKernel::automatic);
RnnResult run_gru(torch::nn::GRU& gru, const torch::Tensor& padded, const torch::Tensor& lengths,
                  RnnKernel kernel = RnnKernel::automatic);

// Threads: the series of a batch are independent through time, so each of
// LibTorch's intra-op threads (torch::get_num_threads()) runs a contiguous
// block of the batch's rows, sorted longest first, through every frame; the
// blocks meet only in the weight and input gradients, one matrix product
// each. A block's rows carry about an equal share of the batch's frames, and
// no block has fewer than `min_rows` rows (smaller batches run on fewer
// threads). How the rows are split changes the results only through rounding.
struct RowBlock {
  std::int64_t begin = 0, end = 0;  // rows [begin, end) of the sorted batch
};
std::vector<RowBlock> rnn_row_blocks(const std::vector<std::int64_t>& sorted_lengths, int threads,
                                     std::int64_t min_rows = 8);

// Whether the fused kernel runs these series: CPU, float32, batch_first,
// with biases, a hidden size of at least 1, no projection, and no
// inter-layer dropout while training.
bool fused_rnn_applies(const torch::nn::LSTM& lstm, const torch::Tensor& padded);
bool fused_rnn_applies(const torch::nn::GRU& gru, const torch::Tensor& padded);

}  // namespace phenoscale::nn
