// Variable-length series in CSR layout (trajectories, protrusion velocity
// time series, per-frame network outputs).
//
// Parallel HDF5 cannot write variable-length types collectively, so a set of
// N series is stored as a group with two datasets:
//   values  : total_frames × width  (the frames of all series, concatenated)
//   offsets : N + 1, int64          (series i = values[offsets[i] : offsets[i+1]])
// Ranks own contiguous blocks of series. Writes compute each rank's place with
// MPI_Exscan over its series and frame counts; reads split the N series by
// BlockPartition and fetch only their slice of `values`.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "phenoscale/io/hdf5.hpp"

namespace phenoscale::io {

template <typename T>
struct RaggedSeries {
  std::vector<T> values;                    // local frames × width
  std::vector<std::uint64_t> offsets{0};    // local, size() + 1 entries, offsets[0] == 0
  std::uint64_t width = 1;                  // values per frame (e.g. 2 for x, y)
  std::uint64_t first_series = 0;           // global index of the first local series
  std::uint64_t global_series = 0;          // N (set by reads)

  std::uint64_t size() const { return offsets.size() - 1; }
  std::uint64_t length(std::uint64_t i) const { return offsets[i + 1] - offsets[i]; }
  const T* series(std::uint64_t i) const { return values.data() + offsets[i] * width; }
  // Appends one series of `frames` frames (frames × width values).
  void push_back(const T* data, std::uint64_t frames);
};

// Collective. Writes group `group` with datasets values and offsets.
template <typename T>
void write_ragged(H5File& file, const std::string& group, const RaggedSeries<T>& series);

// Collective. Reads this rank's block of series; checks offsets are
// monotonic and consistent with values, the width if `expected_width` > 0,
// and that floating-point values are finite.
template <typename T>
RaggedSeries<T> read_ragged(const H5File& file, const std::string& group,
                            std::uint64_t expected_width = 0);

}  // namespace phenoscale::io
