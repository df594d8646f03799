// Training data sharded over ranks, and the exchange that assembles batches.
//
// Each rank reads only its block of rows of the HDF5 dataset (collective
// hyperslab reads) and keeps it in memory. A global batch drawn by the
// DistributedSampler names samples anywhere in the dataset; `fetch` moves the
// rows each rank needs from their owners with one MPI_Alltoallv, so the
// dataset is read once and the batch composition is that of a single process.
//
// Both kinds of samples use one CSR layout: sample i has `lengths[i]` frames
// of `frame_size` floats (a fixed-shape sample is one frame of
// product(sample_shape) floats). Targets are one class per sample or one
// class per frame.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "phenoscale/nn/batch.hpp"
#include "phenoscale/par/comm.hpp"

namespace phenoscale::nn {

struct SampleStore {
  bool sequences = false;                  // variable-length series
  std::vector<std::int64_t> sample_shape;  // fixed: shape of a sample; sequences: {channels}
  bool per_frame_targets = false;
  bool labelled = false;
  std::int64_t global_count = 0;           // N over all ranks
  std::int64_t first = 0;                  // global index of the first local sample

  std::vector<std::int64_t> lengths;       // local, frames per sample
  std::vector<std::int64_t> offsets{0};    // local, first frame of each sample (size()+1)
  std::vector<float> values;               // local frames × frame_size
  std::vector<std::int64_t> targets;       // per sample, or per frame (CSR by offsets)
  std::vector<std::int64_t> all_lengths;   // frames of every sample, all ranks (bucketing, normalisers)
  std::vector<std::int64_t> rank_firsts;   // global index of the first sample of every rank

  std::int64_t size() const { return static_cast<std::int64_t>(lengths.size()); }
  std::int64_t frame_size() const;
  // Appends one sample (`frames` frames; `frame_targets` holds `frames` values
  // when targets are per frame, else one).
  void push_back(const float* data, std::int64_t frames, const std::int64_t* frame_targets);
  // Fills all_lengths and global_count/first from every rank's lengths (collective).
  void finish_sharding(const par::Comm& comm);
};

// Collective. Returns the samples `wanted` (global indices; any rank may ask
// for any sample) in that order, taken from their owning ranks.
SampleStore fetch(const SampleStore& local, const std::vector<std::int64_t>& wanted,
                  const par::Comm& comm);

// This rank's local samples [begin, end) (local indices), no communication.
SampleStore local_slice(const SampleStore& local, std::int64_t begin, std::int64_t end);

// This rank's local samples `rows` (local indices), in that order.
SampleStore local_rows(const SampleStore& local, const std::vector<std::int64_t>& rows);

// Collective. The samples whose (per-sample) label is not in `excluded`,
// re-indexed 0..N'-1 in the original order, still in row blocks.
SampleStore without_labels(const SampleStore& local, const std::vector<std::int64_t>& excluded,
                           const par::Comm& comm);

// Tensors of `samples` (from fetch), with the global-batch normalisers.
Batch collate(const SampleStore& samples, const std::vector<std::int64_t>& indices,
              double global_samples, double global_frames);

// Collective. Loads the store from `path`. Fixed-shape: `inputs` is a dataset
// N × shape; sequences: `inputs` is a CSR group (values, offsets). `labels`
// is a dataset of N class indices, or a CSR group of per-frame classes, or
// empty for unlabelled data. Checks shapes, counts and finiteness, naming the
// file and dataset in every error.
SampleStore load_samples(const std::string& path, const std::string& inputs,
                         const std::string& labels, const par::Comm& comm);

}  // namespace phenoscale::nn
