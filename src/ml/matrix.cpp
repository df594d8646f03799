#include "phenoscale/ml/matrix.hpp"

#include <algorithm>
#include <cmath>

#include "phenoscale/core/error.hpp"
#include "phenoscale/core/log.hpp"
#include "phenoscale/io/sample_array.hpp"
#include "phenoscale/par/agree.hpp"
#include "phenoscale/par/partition.hpp"

namespace phenoscale::ml {

namespace {

// Under nan_is_missing: NaN is a missing coordinate, ±Inf an error, and a row
// needs at least one coordinate (one with none is infinitely far from every
// other and has no neighbours to find).
void check_missing_rows(const ShardedMatrix& m, const std::string& where) {
  for (std::uint64_t r = 0; r < m.local_rows; ++r) {
    std::uint64_t present = 0;
    for (std::uint64_t c = 0; c < m.cols; ++c) {
      const float v = m.row(r)[c];
      if (std::isinf(v)) {
        throw InputError(core::cat(where, ": Inf value in sample ", m.first_row + r, " (element ", c,
                                   "); expected finite values or NaN (missing)"));
      }
      present += !std::isnan(v);
    }
    if (present == 0 && m.cols > 0) {
      throw InputError(core::cat(where, ": sample ", m.first_row + r, " is all NaN; a row needs at least one coordinate"));
    }
  }
}

}  // namespace

DatasetSpec parse_dataset_spec(const std::string& spec) {
  // The dataset part starts at the last ":/" so Windows-style or URL-like
  // file names with ':' elsewhere still work.
  const auto split = spec.rfind(":/");
  if (split == std::string::npos) return {spec, "/features"};
  return {spec.substr(0, split), spec.substr(split + 1)};
}

ShardedMatrix read_matrix(const DatasetSpec& spec, const par::Comm& comm, bool nan_is_missing) {
  io::H5File file = io::H5File::open(spec.file, comm);
  std::string dtype;
  par::collectively(comm, [&] {
    const auto info = file.info(spec.dataset);
    if (info.shape.empty() || info.shape.size() > 2) {
      throw InputError(file.where(spec.dataset) + ": expected a matrix of shape [N, d] or [N], found " +
                       io::shape_string(info.shape));
    }
    if (info.dtype != "float32" && info.dtype != "float64") {
      throw InputError(file.where(spec.dataset) + ": expected dtype float32 or float64, found " + info.dtype);
    }
    dtype = info.dtype;
  });
  ShardedMatrix m;
  auto fill = [&m](const auto& block) {
    m.cols = block.sample_shape.empty() ? 1 : block.sample_shape[0];
    m.local_rows = block.rows.size();
    m.global_rows = block.global_rows;
    m.first_row = block.rows.begin;
    m.data.assign(block.data.begin(), block.data.end());
  };
  io::ReadOptions options;
  options.require_finite = !nan_is_missing;  // then only ±Inf is refused, below
  if (dtype == "float32") fill(io::read_samples<float>(file, spec.dataset, options));
  else fill(io::read_samples<double>(file, spec.dataset, options));
  if (nan_is_missing) par::collectively(comm, [&] { check_missing_rows(m, file.where(spec.dataset)); });
  return m;
}

ShardedMatrix shard_rows(const std::vector<float>& all, std::uint64_t cols, const par::Comm& comm) {
  ShardedMatrix m;
  m.cols = cols;
  m.global_rows = cols ? all.size() / cols : 0;
  const auto range = par::BlockPartition::over(m.global_rows, comm).range(comm.rank());
  m.first_row = range.begin;
  m.local_rows = range.size();
  m.data.assign(all.begin() + range.begin * cols, all.begin() + range.end * cols);
  return m;
}

// Blocks are contiguous in rank order, so concatenation is global order.
std::vector<float> gather_rows(const ShardedMatrix& m, const par::Comm& comm) {
  return comm.allgatherv(m.data);
}

std::vector<std::int64_t> gather_values(const std::vector<std::int64_t>& local, const par::Comm& comm) {
  return comm.allgatherv(local);
}

LabelIndex::LabelIndex(const std::vector<std::int64_t>& local, const par::Comm& comm) {
  const auto distinct = [](std::vector<std::int64_t>& v) {
    std::sort(v.begin(), v.end());
    v.erase(std::unique(v.begin(), v.end()), v.end());
  };
  std::vector<std::int64_t> mine(local);
  distinct(mine);
  values_ = gather_values(mine, comm);
  distinct(values_);
}

std::int64_t LabelIndex::index(std::int64_t label) const {
  return std::lower_bound(values_.begin(), values_.end(), label) - values_.begin();
}

std::vector<std::int32_t> LabelIndex::dense(const std::vector<std::int64_t>& labels) const {
  std::vector<std::int32_t> out(labels.size());
  for (std::size_t i = 0; i < labels.size(); ++i) out[i] = static_cast<std::int32_t>(index(labels[i]));
  return out;
}

}  // namespace phenoscale::ml
