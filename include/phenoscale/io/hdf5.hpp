// Parallel HDF5 files through MPI-IO, with RAII handles.
//
// Every stage output is one HDF5 file written collectively by all ranks
// (H5Pset_fapl_mpio, collective hyperslab transfers). Outputs are created
// under a temporary name and only renamed to the final name by `commit()`,
// so a crashed or failed job never leaves a half-written file that looks
// complete. Inputs are validated at open: a missing file, a file that is not
// HDF5 and a truncated file each give a one-line InputError naming the file,
// agreed on all ranks. The HDF5 library's own error stack printing is turned
// off; its innermost message is folded into ours instead.
#pragma once

#include <hdf5.h>

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "phenoscale/io/atomic_file.hpp"
#include "phenoscale/par/comm.hpp"
#include "phenoscale/par/failure_vote.hpp"

namespace phenoscale::io {

// Owns one HDF5 identifier and closes it with the right H5*close.
class H5Id {
 public:
  H5Id() = default;
  explicit H5Id(hid_t id) : id_(id) {}
  ~H5Id() { reset(); }
  H5Id(H5Id&& o) noexcept : id_(o.id_) { o.id_ = H5I_INVALID_HID; }
  H5Id& operator=(H5Id&& o) noexcept;
  H5Id(const H5Id&) = delete;
  H5Id& operator=(const H5Id&) = delete;

  hid_t get() const { return id_; }
  bool valid() const { return id_ >= 0; }
  void reset();
  // Gives up ownership (the caller closes the id and checks the result).
  hid_t release() {
    const hid_t id = id_;
    id_ = H5I_INVALID_HID;
    return id;
  }

 private:
  hid_t id_ = H5I_INVALID_HID;
};

// "float32", "int64", "uint8", "string", ... for messages and `phenoscale info`.
std::string dtype_name(hid_t type);

template <typename T>
hid_t native_type();

struct DatasetInfo {
  std::string dtype;
  std::vector<std::uint64_t> shape;
};

// Formats a shape as "[200, 40, 40, 40]".
std::string shape_string(const std::vector<std::uint64_t>& shape);

// The innermost message of the HDF5 error stack (empty when there is none).
std::string last_hdf5_error();

class H5File {
 public:
  // Collective. Opens an existing file read-only.
  static H5File open(const std::string& path, const par::Comm& comm);
  // Collective. Creates `path` under a temporary name; `commit()` renames it.
  static H5File create(const std::string& path, const par::Comm& comm);

  H5File(H5File&&) noexcept;
  H5File& operator=(H5File&&) = delete;
  H5File(const H5File&) = delete;
  H5File& operator=(const H5File&) = delete;
  // Without commit(): closes the file and removes the temporary (collective).
  // The ranks first meet in a vote; a rank that an exception unwinds past
  // the file waits for the others only a grace time (10 s): if they do not
  // come (its error was its own, and they are elsewhere), it leaves the file
  // open instead of waiting in the collective close forever, and the job is
  // aborted once the error is reported.
  ~H5File();

  // Collective. Closes the file and atomically renames it to its final name.
  void commit();

  hid_t id() const { return file_.get(); }
  const std::string& path() const { return path_; }
  // The name being written until commit() ("" for files opened for reading).
  std::string temporary_path() const { return output_ ? output_->path() : std::string(); }
  const par::Comm& comm() const { return *comm_; }

  // "file.h5:/dataset" — how messages name a dataset.
  std::string where(const std::string& dataset) const { return path_ + ":" + dataset; }

  bool has(const std::string& object) const;
  DatasetInfo info(const std::string& dataset) const;  // throws InputError if absent
  void create_group(const std::string& group);         // with parents, collective

  // Attributes on a group or dataset ("/" = file). Writes are collective and
  // every rank must pass the same value.
  void write_attribute(const std::string& object, const std::string& name, const std::string& value);
  void write_attribute(const std::string& object, const std::string& name, double value);
  void write_attribute(const std::string& object, const std::string& name, std::int64_t value);
  void write_attribute(const std::string& object, const std::string& name, const std::vector<double>& value);
  std::string read_string_attribute(const std::string& object, const std::string& name) const;
  double read_double_attribute(const std::string& object, const std::string& name) const;
  std::int64_t read_int_attribute(const std::string& object, const std::string& name) const;
  bool has_attribute(const std::string& object, const std::string& name) const;

  // Transfer property list for collective MPI-IO data transfers.
  hid_t collective_transfer() const { return transfer_.get(); }

 private:
  H5File(std::string path, const par::Comm& comm);
  void close();
  void abandon() noexcept;

  std::string path_;
  std::unique_ptr<AtomicFile> output_;  // null for files opened for reading
  const par::Comm* comm_;
  H5Id file_;
  H5Id transfer_;
  bool committed_ = false;
  // The closing ranks' vote (par::TeardownVote: on a duplicate of the
  // communicator, so it can never match a collective the others wait in).
  par::TeardownVote close_vote_;
};

// A list of names (conditions, class names) as one string attribute, one
// name per line: names may hold commas (file paths, "drug, 10 uM") but never
// a line break, which the writers refuse on input.
std::string name_list_attribute(const std::vector<std::string>& names);
std::vector<std::string> parse_name_list(const std::string& attribute);

}  // namespace phenoscale::io
