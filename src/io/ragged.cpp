#include "phenoscale/io/ragged.hpp"

#include "phenoscale/core/error.hpp"
#include "phenoscale/io/sample_array.hpp"
#include "phenoscale/par/agree.hpp"
#include "phenoscale/par/partition.hpp"

namespace phenoscale::io {

template <typename T>
void RaggedSeries<T>::push_back(const T* data, std::uint64_t frames) {
  values.insert(values.end(), data, data + frames * width);
  offsets.push_back(offsets.back() + frames);
}

template <typename T>
void write_ragged(H5File& file, const std::string& group, const RaggedSeries<T>& series) {
  const par::Comm& comm = file.comm();
  const std::uint64_t local_frames = series.offsets.back();
  const std::uint64_t frame_base = comm.exscan_sum(local_frames);
  const std::uint64_t total_frames = comm.allreduce_sum(local_frames);

  // Each rank writes the start offsets of its own series; the last rank also
  // writes the terminating entry N (= total frames), so the dataset has N + 1 rows.
  std::vector<std::int64_t> starts;
  starts.reserve(series.size() + 1);
  for (std::uint64_t i = 0; i < series.size(); ++i) {
    starts.push_back(static_cast<std::int64_t>(frame_base + series.offsets[i]));
  }
  if (comm.rank() == comm.size() - 1) starts.push_back(static_cast<std::int64_t>(total_frames));

  file.create_group(group);
  write_samples(file, group + "/values", series.values.data(), local_frames, {series.width});
  write_samples(file, group + "/offsets", starts.data(), starts.size(), {});
  file.write_attribute(group, "width", static_cast<std::int64_t>(series.width));
  file.write_attribute(group, "layout", std::string("CSR: series i = values[offsets[i]:offsets[i+1]]"));
}

template <typename T>
RaggedSeries<T> read_ragged(const H5File& file, const std::string& group,
                            std::uint64_t expected_width) {
  const par::Comm& comm = file.comm();
  RaggedSeries<T> out;
  std::uint64_t n_series = 0;
  par::collectively(comm, [&] {
    for (const char* part : {"/values", "/offsets"}) {
      if (!file.has(group + part)) {
        throw InputError(file.where(group) + ": expected a ragged series group with datasets "
                         "'values' and 'offsets'; '" + std::string(part + 1) + "' not found");
      }
    }
    const DatasetInfo values = file.info(group + "/values");
    const DatasetInfo offsets = file.info(group + "/offsets");
    if (values.shape.size() != 2 || offsets.shape.size() != 1 || offsets.shape[0] < 1) {
      throw InputError(file.where(group) + ": expected values of shape [frames, width] and "
                       "offsets of shape [N+1], found " + shape_string(values.shape) + " and " +
                       shape_string(offsets.shape));
    }
    out.width = values.shape[1];
    if (expected_width && out.width != expected_width) {
      throw InputError(file.where(group + "/values") + ": expected " +
                       std::to_string(expected_width) + " values per frame, found " +
                       std::to_string(out.width));
    }
    n_series = offsets.shape[0] - 1;
  });

  const par::Range mine = par::BlockPartition::over(n_series, comm).range(comm.rank());
  ReadOptions any;
  const auto offsets = read_sample_rows<std::int64_t>(file, group + "/offsets",
                                                      {mine.begin, mine.end + 1}, any);
  std::uint64_t first = 0, last = 0;
  par::collectively(comm, [&] {
    const auto& o = offsets.data;
    for (std::size_t i = 0; i + 1 < o.size(); ++i) {
      if (o[i] < 0 || o[i + 1] < o[i]) {
        throw InputError(file.where(group + "/offsets") + ": offsets must be non-negative and "
                         "non-decreasing; entry " + std::to_string(mine.begin + i + 1) + " = " +
                         std::to_string(o[i + 1]) + " follows " + std::to_string(o[i]));
      }
    }
    first = static_cast<std::uint64_t>(o.front());
    last = static_cast<std::uint64_t>(o.back());
    if (mine.begin == 0 && first != 0) {
      throw InputError(file.where(group + "/offsets") + ": expected offsets[0] = 0, found " +
                       std::to_string(first));
    }
  });
  const auto values = read_sample_rows<T>(file, group + "/values", {first, last}, {});
  // The terminating offset must match the number of frames stored.
  par::check_all(comm, !(mine.end == n_series && last != values.global_rows),
                 file.where(group + "/offsets") + ": last offset " + std::to_string(last) +
                     " does not match the " + std::to_string(values.global_rows) +
                     " frames in values");

  out.values = values.data;
  out.offsets.assign(offsets.data.begin(), offsets.data.end());
  for (auto& x : out.offsets) x -= first;
  out.first_series = mine.begin;
  out.global_series = n_series;
  return out;
}

#define PHENOSCALE_INSTANTIATE(T)                                                           \
  template struct RaggedSeries<T>;                                                          \
  template void write_ragged<T>(H5File&, const std::string&, const RaggedSeries<T>&);       \
  template RaggedSeries<T> read_ragged<T>(const H5File&, const std::string&, std::uint64_t);
PHENOSCALE_INSTANTIATE(float)
PHENOSCALE_INSTANTIATE(double)
PHENOSCALE_INSTANTIATE(std::uint8_t)
PHENOSCALE_INSTANTIATE(std::int32_t)
PHENOSCALE_INSTANTIATE(std::int64_t)
#undef PHENOSCALE_INSTANTIATE

}  // namespace phenoscale::io
