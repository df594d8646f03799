// Fixed-shape sample arrays: N × sample_shape, row blocks over ranks.
//
// The layout of subtomograms (N×40×40×40), feature matrices (N×d), labels
// (N) and per-sample outputs. Writes are collective: each rank contributes
// its rows in rank order (offsets from MPI_Exscan, so blocks may be uneven
// and ranks with no rows still take part). Reads give each rank its block of
// the BlockPartition of N, after checking dtype, sample shape and (for
// floating point) that no value is NaN or Inf — agreed on all ranks.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "phenoscale/io/hdf5.hpp"
#include "phenoscale/par/partition.hpp"

namespace phenoscale::io {

template <typename T>
struct SampleBlock {
  std::vector<T> data;                      // local rows × product(sample_shape)
  std::vector<std::uint64_t> sample_shape;  // shape of one sample
  std::uint64_t global_rows = 0;
  par::Range rows;                          // the global rows held here
  std::uint64_t sample_size() const;
  const T* row(std::uint64_t local) const { return data.data() + local * sample_size(); }
};

struct ReadOptions {
  // Expected sample shape; empty accepts any.
  std::vector<std::uint64_t> sample_shape;
  // Reject NaN/Inf in floating-point data.
  bool require_finite = true;
  // Reading double: also accept a float32 dataset (HDF5 widens it exactly),
  // as Python and MATLAB users often write their arrays.
  bool widen_float32 = false;
  // One value per row (shape [N]): labels, ids, per-row counts. A dataset of
  // shape [N, k] (one-hot labels) is refused, naming its shape, where it
  // would otherwise be read as N·k values.
  bool one_value_per_row = false;
};

// Options for a dataset of one value per row.
inline ReadOptions one_value_per_row(bool require_finite = true) {
  ReadOptions o;
  o.require_finite = require_finite;
  o.one_value_per_row = true;
  return o;
}

// Collective. Writes `local_rows` samples of `sample_shape` from `data`.
template <typename T>
void write_samples(H5File& file, const std::string& dataset, const T* data,
                   std::uint64_t local_rows, const std::vector<std::uint64_t>& sample_shape);

template <typename T>
void write_samples(H5File& file, const std::string& dataset, const std::vector<T>& data,
                   const std::vector<std::uint64_t>& sample_shape) {
  std::uint64_t size = 1;
  for (auto d : sample_shape) size *= d;
  write_samples(file, dataset, data.data(), size ? data.size() / size : 0, sample_shape);
}

// Collective. Reads this rank's block of rows of `dataset`.
template <typename T>
SampleBlock<T> read_samples(const H5File& file, const std::string& dataset,
                            const ReadOptions& options = {});

// Collective. Reads rows [range.begin, range.end) only (any rank may ask for any range).
template <typename T>
SampleBlock<T> read_sample_rows(const H5File& file, const std::string& dataset, par::Range range,
                                const ReadOptions& options = {});

}  // namespace phenoscale::io
