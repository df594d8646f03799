// The rows of tests/ml/fixtures/partial.h5 (make_partial.py) with their
// missing trailing coordinates set back to NaN: the file stores them as 0
// beside /kept, because phenoscale's HDF5 readers refuse NaN.
#pragma once

#include <limits>
#include <string>

#include "phenoscale/ml/matrix.hpp"
#include "phenoscale/ml/quality.hpp"

namespace phenoscale::testing {

inline ml::ShardedMatrix read_partial_rows(const std::string& path, const par::Comm& comm) {
  ml::ShardedMatrix x = ml::read_matrix({path, "/features"}, comm);
  const auto kept = ml::read_labels(path + ":/kept", x, comm);
  for (std::uint64_t i = 0; i < x.local_rows; ++i)
    for (std::uint64_t c = static_cast<std::uint64_t>(kept[i]); c < x.cols; ++c)
      x.row(i)[c] = std::numeric_limits<float>::quiet_NaN();
  return x;
}

}  // namespace phenoscale::testing
