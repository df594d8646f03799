// Row-block-sharded dense matrices: the input of every ml/ routine.
//
// Feature matrices (CNN features of subtomograms, diffusional fingerprints,
// protrusion-series embeddings) are N × d with rows spread over ranks in
// BlockPartition blocks, exactly as io::read_samples delivers them. Values are
// stored as float32 (memory for 10^6-10^7 rows); every reduction over rows
// accumulates in double.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "phenoscale/par/comm.hpp"

namespace phenoscale::ml {

struct ShardedMatrix {
  std::vector<float> data;         // local_rows × cols, row-major
  std::uint64_t local_rows = 0;
  std::uint64_t cols = 0;
  std::uint64_t global_rows = 0;
  std::uint64_t first_row = 0;     // global index of local row 0

  const float* row(std::uint64_t local) const { return data.data() + local * cols; }
  float* row(std::uint64_t local) { return data.data() + local * cols; }
};

// "FILE.h5:/dataset" (dataset defaults to /features when omitted).
struct DatasetSpec {
  std::string file;
  std::string dataset;
};
DatasetSpec parse_dataset_spec(const std::string& spec);

// Collective. Reads an N × d float32 (or float64, converted) dataset; N-only
// datasets are read as N × 1. Validates dtype, rank and finiteness; with
// `nan_is_missing`, NaN marks a missing coordinate (Distance::nan_euclidean)
// and only ±Inf is refused.
ShardedMatrix read_matrix(const DatasetSpec& spec, const par::Comm& comm, bool nan_is_missing = false);

// This rank's BlockPartition block of a full row-major matrix held on every
// rank (tests and small data).
ShardedMatrix shard_rows(const std::vector<float>& all, std::uint64_t cols, const par::Comm& comm);

// Collective. All rows on every rank, in global order (small data only).
std::vector<float> gather_rows(const ShardedMatrix& m, const par::Comm& comm);

// Collective. Gathers a per-row local vector (labels, scores) into global order on every rank.
std::vector<std::int64_t> gather_values(const std::vector<std::int64_t>& local, const par::Comm& comm);

// The sorted distinct label values of all ranks (collective to build, the
// same on every rank): cluster c is the c-th of them. Memory is the number of
// distinct labels, not the largest label (a community may keep the id of a
// vertex, up to N).
class LabelIndex {
 public:
  LabelIndex(const std::vector<std::int64_t>& local, const par::Comm& comm);
  std::uint64_t size() const { return values_.size(); }
  const std::vector<std::int64_t>& values() const { return values_; }
  std::int64_t index(std::int64_t label) const;                             // a label of the index
  std::vector<std::int32_t> dense(const std::vector<std::int64_t>& labels) const;  // index() of each

 private:
  std::vector<std::int64_t> values_;
};

}  // namespace phenoscale::ml
