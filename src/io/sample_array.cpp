#include "phenoscale/io/sample_array.hpp"

#include <cmath>
#include <exception>
#include <type_traits>

#include "phenoscale/core/error.hpp"
#include "phenoscale/par/agree.hpp"

namespace phenoscale::io {
namespace {

std::uint64_t product(const std::vector<std::uint64_t>& shape) {
  std::uint64_t n = 1;
  for (auto d : shape) n *= d;
  return n;
}

// Selects rows [first, first+count) of a dataset of `dims`; none when count == 0.
void select_rows(hid_t space, const std::vector<hsize_t>& dims, std::uint64_t first,
                 std::uint64_t count) {
  if (count == 0) {
    H5Sselect_none(space);
    return;
  }
  std::vector<hsize_t> start(dims.size(), 0), extent(dims);
  start[0] = first;
  extent[0] = count;
  H5Sselect_hyperslab(space, H5S_SELECT_SET, start.data(), nullptr, extent.data(), nullptr);
}

// Memory space for `count` rows; a 1-element space with nothing selected
// when count == 0 (HDF5 rejects a zero-sized simple space in some versions).
H5Id memory_space(const std::vector<hsize_t>& dims, std::uint64_t count) {
  if (count == 0) {
    const hsize_t one = 1;
    H5Id space(H5Screate_simple(1, &one, nullptr));
    H5Sselect_none(space.get());
    return space;
  }
  std::vector<hsize_t> local(dims);
  local[0] = count;
  return H5Id(H5Screate_simple(static_cast<int>(local.size()), local.data(), nullptr));
}

template <typename T>
void check_finite(const SampleBlock<T>& block, const std::string& where) {
  if constexpr (std::is_floating_point_v<T>) {
    const std::uint64_t size = block.sample_size();
    for (std::uint64_t i = 0; i < block.data.size(); ++i) {
      if (!std::isfinite(block.data[i])) {
        const std::uint64_t row = block.rows.begin + (size ? i / size : 0);
        throw InputError(where + ": " + (std::isnan(block.data[i]) ? "NaN" : "Inf") +
                         " value in sample " + std::to_string(row) + " (element " +
                         std::to_string(size ? i % size : 0) + "); expected finite values");
      }
    }
  }
}

}  // namespace

template <typename T>
std::uint64_t SampleBlock<T>::sample_size() const {
  return product(sample_shape);
}

template <typename T>
void write_samples(H5File& file, const std::string& dataset, const T* data,
                   std::uint64_t local_rows, const std::vector<std::uint64_t>& sample_shape) {
  const par::Comm& comm = file.comm();
  const std::uint64_t first = comm.exscan_sum(local_rows);
  const std::uint64_t total = comm.allreduce_sum(local_rows);
  std::vector<hsize_t> dims{total};
  dims.insert(dims.end(), sample_shape.begin(), sample_shape.end());

  H5Id filespace(H5Screate_simple(static_cast<int>(dims.size()), dims.data(), nullptr));
  H5Id lcpl(H5Pcreate(H5P_LINK_CREATE));
  H5Pset_create_intermediate_group(lcpl.get(), 1);
  H5Id ds(H5Dcreate2(file.id(), dataset.c_str(), native_type<T>(), filespace.get(), lcpl.get(),
                     H5P_DEFAULT, H5P_DEFAULT));
  par::check_all(comm, ds.valid(),
                 file.where(dataset) + ": cannot create dataset: " + last_hdf5_error());

  // A dataset with no elements has no storage to write to (HDF5 rejects the transfer).
  if (total == 0 || product(sample_shape) == 0) return;
  select_rows(filespace.get(), dims, first, local_rows);
  H5Id memspace = memory_space(dims, local_rows);
  const T dummy{};
  const herr_t rc = H5Dwrite(ds.get(), native_type<T>(), memspace.get(), filespace.get(),
                             file.collective_transfer(), local_rows ? data : &dummy);
  par::check_all(comm, rc >= 0, file.where(dataset) + ": write failed: " + last_hdf5_error());
}

template <typename T>
SampleBlock<T> read_sample_rows(const H5File& file, const std::string& dataset, par::Range range,
                                const ReadOptions& options) {
  SampleBlock<T> block;
  std::vector<hsize_t> dims;
  H5Id ds;
  par::collectively(file.comm(), [&] {
    const DatasetInfo info = file.info(dataset);
    const std::string expected_type = dtype_name(native_type<T>());
    const bool may_widen = options.widen_float32 && std::is_same_v<T, double>;
    if (info.dtype != expected_type && !(may_widen && info.dtype == "float32")) {
      throw InputError(file.where(dataset) + ": expected dtype " + (may_widen ? "float32 or float64" : expected_type) +
                       ", found " + info.dtype);
    }
    if (info.shape.empty()) {
      throw InputError(file.where(dataset) + ": expected an array of samples, found a scalar");
    }
    block.sample_shape.assign(info.shape.begin() + 1, info.shape.end());
    if (options.one_value_per_row && !block.sample_shape.empty()) {
      throw InputError(file.where(dataset) + ": expected one value per row (shape [N]), found shape " +
                       shape_string(info.shape));
    }
    if (!options.sample_shape.empty() && block.sample_shape != options.sample_shape) {
      throw InputError(file.where(dataset) + ": expected samples of shape " +
                       shape_string(options.sample_shape) + ", found " +
                       shape_string(block.sample_shape) + " (dataset shape " +
                       shape_string(info.shape) + ")");
    }
    block.global_rows = info.shape[0];
    if (range.end > block.global_rows || range.begin > range.end) {
      throw InputError(file.where(dataset) + ": rows [" + std::to_string(range.begin) + ", " +
                       std::to_string(range.end) + ") requested but the dataset has " +
                       std::to_string(block.global_rows));
    }
    dims.assign(info.shape.begin(), info.shape.end());
    ds = H5Id(H5Dopen2(file.id(), dataset.c_str(), H5P_DEFAULT));
  });

  block.rows = range;
  // Agreed: a rank that cannot hold its rows must not leave the others in
  // the collective read below.
  par::collectively(file.comm(), [&] {
    try {
      block.data.resize(range.size() * block.sample_size());
    } catch (const std::exception&) {  // std::bad_alloc, std::length_error
      throw InputError(file.where(dataset) + ": " + std::to_string(range.size()) + " rows of " +
                       std::to_string(block.sample_size() * sizeof(T)) + " bytes do not fit in this rank's memory");
    }
  });
  if (block.global_rows == 0 || block.sample_size() == 0) return block;  // nothing stored
  H5Id filespace(H5Dget_space(ds.get()));
  select_rows(filespace.get(), dims, range.begin, range.size());
  H5Id memspace = memory_space(dims, range.size());
  T dummy{};
  const herr_t rc = H5Dread(ds.get(), native_type<T>(), memspace.get(), filespace.get(),
                            file.collective_transfer(), range.size() ? block.data.data() : &dummy);
  par::check_all(file.comm(), rc >= 0,
                 file.where(dataset) + ": read failed (truncated file?): " + last_hdf5_error());
  if (options.require_finite) {
    par::collectively(file.comm(), [&] { check_finite(block, file.where(dataset)); });
  }
  return block;
}

template <typename T>
SampleBlock<T> read_samples(const H5File& file, const std::string& dataset,
                            const ReadOptions& options) {
  // Every rank needs N to find its block; read the shape first (independent metadata read).
  std::uint64_t rows = 0;
  par::collectively(file.comm(), [&] {
    const DatasetInfo info = file.info(dataset);
    rows = info.shape.empty() ? 0 : info.shape[0];
  });
  const auto partition = par::BlockPartition::over(rows, file.comm());
  return read_sample_rows<T>(file, dataset, partition.range(file.comm().rank()), options);
}

#define PHENOSCALE_INSTANTIATE(T)                                                              \
  template struct SampleBlock<T>;                                                              \
  template void write_samples<T>(H5File&, const std::string&, const T*, std::uint64_t,         \
                                 const std::vector<std::uint64_t>&);                           \
  template SampleBlock<T> read_samples<T>(const H5File&, const std::string&, const ReadOptions&); \
  template SampleBlock<T> read_sample_rows<T>(const H5File&, const std::string&, par::Range,   \
                                              const ReadOptions&);
PHENOSCALE_INSTANTIATE(float)
PHENOSCALE_INSTANTIATE(double)
PHENOSCALE_INSTANTIATE(std::int8_t)
PHENOSCALE_INSTANTIATE(std::uint8_t)
PHENOSCALE_INSTANTIATE(std::int16_t)
PHENOSCALE_INSTANTIATE(std::uint16_t)
PHENOSCALE_INSTANTIATE(std::int32_t)
PHENOSCALE_INSTANTIATE(std::uint32_t)
PHENOSCALE_INSTANTIATE(std::int64_t)
PHENOSCALE_INSTANTIATE(std::uint64_t)
#undef PHENOSCALE_INSTANTIATE

}  // namespace phenoscale::io
