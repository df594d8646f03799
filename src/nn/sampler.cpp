// Rank-count-independent global batches (see sampler.hpp).
#include "phenoscale/nn/sampler.hpp"

#include <algorithm>
#include <cmath>
#include <numeric>

#include "phenoscale/core/error.hpp"
#include "phenoscale/core/log.hpp"
#include "phenoscale/core/rng.hpp"
#include "phenoscale/par/partition.hpp"

namespace phenoscale::nn {

void counter_shuffle(std::vector<std::int64_t>& values, std::uint64_t seed, std::uint64_t key,
                     bool split_stream) {
  core::Rng rng(seed, split_stream ? core::Stream::split : core::Stream::shuffle, key);
  for (std::size_t i = values.size(); i > 1; --i) {
    std::swap(values[i - 1], values[rng.below(i)]);
  }
}

DistributedSampler::DistributedSampler(std::vector<std::int64_t> pool, std::vector<std::int64_t> lengths,
                                       SamplerOptions options)
    : pool_(std::move(pool)), lengths_(std::move(lengths)), options_(options) {
  if (options_.global_batch < 1) throw ConfigError("batch size must be at least 1");
}

std::int64_t DistributedSampler::batches_per_epoch() const {
  const auto n = static_cast<std::int64_t>(pool_.size());
  return (n + options_.global_batch - 1) / options_.global_batch;
}

std::vector<std::vector<std::int64_t>> DistributedSampler::epoch(std::int64_t epoch) const {
  std::vector<std::int64_t> order = pool_;
  // Two keys per epoch: 2e orders the samples, 2e+1 orders the batches.
  if (options_.shuffle) counter_shuffle(order, options_.seed, 2 * static_cast<std::uint64_t>(epoch));
  const std::int64_t b = options_.global_batch;
  if (options_.bucket_batches > 0 && !lengths_.empty()) {
    const std::int64_t window = b * options_.bucket_batches;
    for (std::size_t w = 0; w < order.size(); w += window) {
      auto end = order.begin() + std::min<std::size_t>(order.size(), w + window);
      std::stable_sort(order.begin() + w, end,
                       [&](std::int64_t x, std::int64_t y) { return lengths_[x] < lengths_[y]; });
    }
  }
  std::vector<std::vector<std::int64_t>> batches;
  for (std::size_t i = 0; i < order.size(); i += b) {
    batches.emplace_back(order.begin() + i, order.begin() + std::min<std::size_t>(order.size(), i + b));
  }
  if (options_.shuffle && options_.bucket_batches > 0 && !lengths_.empty()) {
    std::vector<std::int64_t> perm(batches.size());
    std::iota(perm.begin(), perm.end(), 0);
    counter_shuffle(perm, options_.seed, 2 * static_cast<std::uint64_t>(epoch) + 1);
    std::vector<std::vector<std::int64_t>> shuffled;
    for (auto p : perm) shuffled.push_back(std::move(batches[p]));
    batches = std::move(shuffled);
  }
  return batches;
}

double DistributedSampler::frames(const std::vector<std::int64_t>& batch) const {
  if (lengths_.empty()) return static_cast<double>(batch.size());
  double total = 0.0;
  for (auto i : batch) total += static_cast<double>(lengths_[i]);
  return total;
}

std::vector<std::int64_t> DistributedSampler::slice(const std::vector<std::int64_t>& batch, int rank,
                                                    int size) {
  const auto range = par::BlockPartition(batch.size(), size).range(rank);
  return {batch.begin() + range.begin, batch.begin() + range.end};
}

Split split_samples(std::int64_t n, double validation_fraction, double test_fraction, std::uint64_t seed) {
  if (validation_fraction < 0 || test_fraction < 0 || validation_fraction + test_fraction >= 1.0) {
    throw ConfigError(core::cat("validation and test fractions (", validation_fraction, ", ", test_fraction,
                                ") must be non-negative and sum to less than 1"));
  }
  std::vector<std::int64_t> order(n);
  std::iota(order.begin(), order.end(), 0);
  counter_shuffle(order, seed, 0, true);
  const auto n_val = static_cast<std::int64_t>(std::llround(validation_fraction * n));
  const auto n_test = static_cast<std::int64_t>(std::llround(test_fraction * n));
  Split s;
  s.validation.assign(order.begin(), order.begin() + n_val);
  s.test.assign(order.begin() + n_val, order.begin() + n_val + n_test);
  s.train.assign(order.begin() + n_val + n_test, order.end());
  for (auto* part : {&s.train, &s.validation, &s.test}) std::sort(part->begin(), part->end());
  return s;
}

}  // namespace phenoscale::nn
