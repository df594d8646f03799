// Global mini-batches that do not depend on the rank count.
//
// Every rank computes the same list of global batches for an epoch from
// (seed, epoch) alone — a counter-based shuffle of the sample pool — and
// takes its contiguous slice of each batch. One rank with batch B and two
// ranks with B/2 each therefore see the same samples in the same steps.
//
// Variable-length series are bucketed by length (sort within windows of
// `bucket_batches` batches, then shuffle the batch order) so that a batch
// holds series of similar lengths and padding stays small; every sample of
// every length is in exactly one batch per epoch (the last batch may be
// short; nothing is dropped).
#pragma once

#include <cstdint>
#include <vector>

namespace phenoscale::nn {

struct SamplerOptions {
  std::int64_t global_batch = 64;
  std::uint64_t seed = 0;
  bool shuffle = true;
  std::int64_t bucket_batches = 0;  // 0: no length bucketing
};

class DistributedSampler {
 public:
  // `pool`: the global indices to draw from (e.g. the training split).
  // `lengths`: frames of every sample of the dataset (indexed by global
  // index); empty for fixed-shape samples.
  DistributedSampler(std::vector<std::int64_t> pool, std::vector<std::int64_t> lengths,
                     SamplerOptions options);

  // The global batches of `epoch`, each a list of global sample indices.
  std::vector<std::vector<std::int64_t>> epoch(std::int64_t epoch) const;
  std::int64_t batches_per_epoch() const;
  // Frames in a global batch (its loss normaliser for per-frame losses).
  double frames(const std::vector<std::int64_t>& batch) const;

  // This rank's contiguous part of a global batch (block partition; ranks
  // beyond the batch size get none).
  static std::vector<std::int64_t> slice(const std::vector<std::int64_t>& batch, int rank, int size);

 private:
  std::vector<std::int64_t> pool_;
  std::vector<std::int64_t> lengths_;
  SamplerOptions options_;
};

// Fisher–Yates permutation of `values` keyed by (seed, stream index `key`):
// the same on every rank.
void counter_shuffle(std::vector<std::int64_t>& values, std::uint64_t seed, std::uint64_t key,
                     bool split_stream = false);

// Train / validation / test split of N samples by seed: fractions of a
// seeded permutation, each part sorted ascending.
struct Split {
  std::vector<std::int64_t> train, validation, test;
};
Split split_samples(std::int64_t n, double validation_fraction, double test_fraction, std::uint64_t seed);

}  // namespace phenoscale::nn
