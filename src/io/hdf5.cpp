#include "phenoscale/io/hdf5.hpp"

#include <sys/stat.h>
#include <unistd.h>

#include <cstdio>
#include <exception>
#include <limits>
#include <mutex>

#include "phenoscale/core/error.hpp"
#include "phenoscale/core/log.hpp"
#include "phenoscale/par/agree.hpp"
#include "phenoscale/par/environment.hpp"

namespace phenoscale::io {
namespace {

// HDF5 prints its error stack to stderr by default; we report errors ourselves.
void silence_hdf5() {
  static std::once_flag once;
  std::call_once(once, [] { H5Eset_auto2(H5E_DEFAULT, nullptr, nullptr); });
}

herr_t innermost(unsigned n, const H5E_error2_t* err, void* out) {
  // The stack is walked from the innermost frame outwards; keep the first.
  auto* text = static_cast<std::string*>(out);
  if (n == 0 && err->desc) *text = err->desc;
  return 0;
}

bool file_exists(const std::string& path) {
  struct stat st {};
  return ::stat(path.c_str(), &st) == 0 && S_ISREG(st.st_mode);
}

bool is_directory(const std::string& path) {
  struct stat st {};
  return ::stat(path.c_str(), &st) == 0 && S_ISDIR(st.st_mode);
}

H5Id mpio_access(const par::Comm& comm) {
  H5Id fapl(H5Pcreate(H5P_FILE_ACCESS));
  H5Pset_fapl_mpio(fapl.get(), comm.raw(), MPI_INFO_NULL);
  // Collective metadata writes aggregate small writes. Metadata *reads* stay
  // independent so a rank may inspect a file (has(), info()) on its own.
  H5Pset_coll_metadata_write(fapl.get(), true);
  return fapl;
}

H5Id collective_dxpl() {
  H5Id dxpl(H5Pcreate(H5P_DATASET_XFER));
  H5Pset_dxpl_mpio(dxpl.get(), H5FD_MPIO_COLLECTIVE);
  return dxpl;
}

// A close whose final flush failed (disk full, quota) leaves a
// half-torn-down file that HDF5 1.10 would crash on at MPI_Finalize.
herr_t close_file(hid_t id) {
  const herr_t closed = H5Fclose(id);
  if (closed < 0) par::Environment::skip_finalize();
  return closed;
}

void close_id(hid_t id) {
  switch (H5Iget_type(id)) {
    case H5I_FILE: close_file(id); break;
    case H5I_GROUP: H5Gclose(id); break;
    case H5I_DATASET: H5Dclose(id); break;
    case H5I_DATASPACE: H5Sclose(id); break;
    case H5I_DATATYPE: H5Tclose(id); break;
    case H5I_ATTR: H5Aclose(id); break;
    case H5I_GENPROP_LST: H5Pclose(id); break;
    default: break;
  }
}

}  // namespace

// ---- H5Id ----------------------------------------------------------------------

H5Id& H5Id::operator=(H5Id&& o) noexcept {
  if (this != &o) {
    reset();
    id_ = o.id_;
    o.id_ = H5I_INVALID_HID;
  }
  return *this;
}

void H5Id::reset() {
  if (id_ >= 0) close_id(id_);
  id_ = H5I_INVALID_HID;
}

std::string last_hdf5_error() {
  std::string text;
  H5Ewalk2(H5E_DEFAULT, H5E_WALK_UPWARD, innermost, &text);
  return text;
}

std::string dtype_name(hid_t type) {
  const H5T_class_t cls = H5Tget_class(type);
  const std::size_t bits = H5Tget_size(type) * 8;
  switch (cls) {
    case H5T_FLOAT: return "float" + std::to_string(bits);
    case H5T_INTEGER:
      return (H5Tget_sign(type) == H5T_SGN_NONE ? "uint" : "int") + std::to_string(bits);
    case H5T_STRING: return "string";
    case H5T_COMPOUND: return "compound";
    case H5T_ENUM: return "enum";
    case H5T_VLEN: return "vlen";
    case H5T_ARRAY: return "array";
    default: return "other";
  }
}

template <> hid_t native_type<float>() { return H5T_NATIVE_FLOAT; }
template <> hid_t native_type<double>() { return H5T_NATIVE_DOUBLE; }
template <> hid_t native_type<std::int8_t>() { return H5T_NATIVE_INT8; }
template <> hid_t native_type<std::uint8_t>() { return H5T_NATIVE_UINT8; }
template <> hid_t native_type<std::int16_t>() { return H5T_NATIVE_INT16; }
template <> hid_t native_type<std::uint16_t>() { return H5T_NATIVE_UINT16; }
template <> hid_t native_type<std::int32_t>() { return H5T_NATIVE_INT32; }
template <> hid_t native_type<std::uint32_t>() { return H5T_NATIVE_UINT32; }
template <> hid_t native_type<std::int64_t>() { return H5T_NATIVE_INT64; }
template <> hid_t native_type<std::uint64_t>() { return H5T_NATIVE_UINT64; }

std::string shape_string(const std::vector<std::uint64_t>& shape) {
  std::string s = "[";
  for (std::size_t i = 0; i < shape.size(); ++i) s += (i ? ", " : "") + std::to_string(shape[i]);
  return s + "]";
}

// ---- H5File --------------------------------------------------------------------

H5File::H5File(std::string path, const par::Comm& comm)
    : path_(std::move(path)), comm_(&comm), transfer_(collective_dxpl()),
      close_vote_(comm) {}

H5File::H5File(H5File&& o) noexcept
    : path_(std::move(o.path_)), output_(std::move(o.output_)), comm_(o.comm_),
      file_(std::move(o.file_)), transfer_(std::move(o.transfer_)), committed_(o.committed_),
      close_vote_(std::move(o.close_vote_)) {
  o.committed_ = true;  // the moved-from object owns nothing to clean up
}

H5File H5File::open(const std::string& path, const par::Comm& comm) {
  silence_hdf5();
  par::collectively(comm, [&] {
    if (is_directory(path)) throw InputError(at_file(path, "is a directory; expected an HDF5 file"));
    if (!file_exists(path)) throw InputError(at_file(path, "no such file"));
    if (access(path.c_str(), R_OK) != 0) throw InputError(at_file(path, "file is not readable"));
    if (H5Fis_hdf5(path.c_str()) <= 0) {
      throw InputError(at_file(path, "not an HDF5 file (no HDF5 signature found)"));
    }
  });
  H5File f(path, comm);
  H5Id fapl = mpio_access(comm);
  f.file_ = H5Id(H5Fopen(path.c_str(), H5F_ACC_RDONLY, fapl.get()));
  const bool ok = f.file_.valid();
  const std::string why = ok ? "" : last_hdf5_error();
  par::check_all(comm, ok,
                 at_file(path, "cannot open HDF5 file (truncated or corrupt?): " + why));
  return f;
}

H5File H5File::create(const std::string& path, const par::Comm& comm) {
  silence_hdf5();
  // One temporary name for all ranks, chosen by rank 0; only rank 0 renames
  // or removes it.
  H5File f(path, comm);
  std::string temporary;
  if (comm.is_root()) {
    f.output_ = std::make_unique<AtomicFile>(path);
    temporary = f.output_->path();
  }
  comm.broadcast(temporary);
  if (!comm.is_root()) f.output_ = std::make_unique<AtomicFile>(path, temporary, false);
  H5Id fapl = mpio_access(comm);
  // The 1.8 file format (read by every HDF5 since 1.8, h5py, MATLAB):
  // attributes over 64 KiB (provenance of a sweep report with hundreds of
  // inputs, a long deck) are stored densely, where the earliest format
  // refuses them ("object header message is too large").
  H5Pset_libver_bounds(fapl.get(), H5F_LIBVER_V18, H5F_LIBVER_V18);
  f.file_ = H5Id(H5Fcreate(temporary.c_str(), H5F_ACC_TRUNC, H5P_DEFAULT, fapl.get()));
  const bool ok = f.file_.valid();
  const std::string why = ok ? "" : last_hdf5_error();
  par::check_all(comm, ok, at_file(path, "cannot create output file: " + why));
  return f;
}

void H5File::close() {
  transfer_.reset();
  file_.reset();
}

H5File::~H5File() {
  // Nothing opened (create() or open() failed before H5Fcreate/H5Fopen): no
  // collective close to meet in.
  if (committed_ || !comm_ || !file_.valid()) return;
  // Not committed: a file read to its end, or an error unwound past us.
  // Close (collective) when every rank comes to close it (par::TeardownVote:
  // an unwinding rank waits kUnwindGraceSeconds for them); AtomicFile removes
  // the temporary.
  if (!close_vote_.everyone_comes()) {
    abandon();
    return;
  }
  close();
  if (!output_) return;
  try {
    comm_->barrier();
  } catch (const std::exception& e) {
    // A destructor must not throw, and this rank cannot go on as if the
    // others had met it here: report, and end the job — at once, or, while
    // an error unwinds, once that error is reported. The close is done: the
    // temporary goes.
    core::Log::error(at_file(path_, e.what()));
    output_.reset();
    if (std::uncaught_exceptions() > 0) {
      par::Environment::abort_at_finish();
    } else {
      par::Environment::abort(exit_code::error);
    }
  }
}

void H5File::abandon() noexcept {
  // Left open (its close is collective) and its vote left in flight. The
  // process ends by MPI_Abort once the error is reported: par::agree when the
  // error is caught by par::collectively, else the CLI's failure vote or
  // Environment::finish.
  close_vote_.abandon(path_, "close the file", "open");
  static_cast<void>(transfer_.release());
  static_cast<void>(file_.release());
}

void H5File::commit() {
  if (committed_) return;
  if (!output_) throw std::logic_error("commit() on a file opened for reading");
  const herr_t flushed = H5Fflush(file_.get(), H5F_SCOPE_GLOBAL);
  std::string why = flushed >= 0 ? "" : last_hdf5_error();
  transfer_.reset();
  const herr_t closed = close_file(file_.release());  // collective; its final flush can fail too
  if (closed < 0 && why.empty()) why = last_hdf5_error();
  committed_ = true;  // from here the destructor leaves the file alone; AtomicFile removes the temporary on error
  // Every rank's part is flushed and closed before the rename: agreed first,
  // so a write that failed on one rank only never reaches the final name.
  par::check_all(*comm_, flushed >= 0 && closed >= 0, at_file(path_, "cannot finish output file: " + why));
  par::collectively(*comm_, [&] { output_->commit(); });  // the owner renames; IoError names both paths
}

bool H5File::has(const std::string& object) const {
  // Walk the path so a missing parent group is "absent", not an HDF5 error.
  std::size_t pos = 0;
  while ((pos = object.find('/', pos + 1)) != std::string::npos) {
    if (H5Lexists(file_.get(), object.substr(0, pos).c_str(), H5P_DEFAULT) <= 0) return false;
  }
  return object == "/" || H5Lexists(file_.get(), object.c_str(), H5P_DEFAULT) > 0;
}

DatasetInfo H5File::info(const std::string& dataset) const {
  if (!has(dataset)) throw InputError(at_file(path_, "dataset '" + dataset + "' not found"));
  H5Id ds(H5Dopen2(file_.get(), dataset.c_str(), H5P_DEFAULT));
  if (!ds.valid() || H5Iget_type(ds.get()) != H5I_DATASET) {
    throw InputError(at_file(path_, "'" + dataset + "' is not a dataset"));
  }
  H5Id type(H5Dget_type(ds.get()));
  H5Id space(H5Dget_space(ds.get()));
  const int rank = H5Sget_simple_extent_ndims(space.get());
  std::vector<hsize_t> dims(rank > 0 ? rank : 0);
  if (rank > 0) H5Sget_simple_extent_dims(space.get(), dims.data(), nullptr);
  return {dtype_name(type.get()), std::vector<std::uint64_t>(dims.begin(), dims.end())};
}

void H5File::create_group(const std::string& group) {
  if (has(group)) return;
  H5Id lcpl(H5Pcreate(H5P_LINK_CREATE));
  H5Pset_create_intermediate_group(lcpl.get(), 1);
  H5Id g(H5Gcreate2(file_.get(), group.c_str(), lcpl.get(), H5P_DEFAULT, H5P_DEFAULT));
  if (!g.valid()) throw IoError(where(group) + ": cannot create group: " + last_hdf5_error());
}

namespace {

H5Id open_object(hid_t file, const std::string& object, const std::string& where) {
  H5Id obj(H5Oopen(file, object.c_str(), H5P_DEFAULT));
  if (!obj.valid()) throw InputError(where + ": object not found");
  return obj;
}

void write_attribute_raw(hid_t file, const std::string& object, const std::string& name, hid_t type,
                         hid_t space, const void* data, const std::string& where) {
  H5Id obj = open_object(file, object, where);
  if (H5Aexists(obj.get(), name.c_str()) > 0) H5Adelete(obj.get(), name.c_str());
  H5Id attr(H5Acreate2(obj.get(), name.c_str(), type, space, H5P_DEFAULT, H5P_DEFAULT));
  if (!attr.valid() || H5Awrite(attr.get(), type, data) < 0) {
    throw IoError(where + ": cannot write attribute '" + name + "': " + last_hdf5_error());
  }
}

H5Id open_attribute(hid_t file, const std::string& object, const std::string& name,
                    const std::string& where) {
  H5Id obj = open_object(file, object, where);
  if (H5Aexists(obj.get(), name.c_str()) <= 0) {
    throw InputError(where + ": attribute '" + name + "' not found");
  }
  return H5Id(H5Aopen(obj.get(), name.c_str(), H5P_DEFAULT));
}

}  // namespace

void H5File::write_attribute(const std::string& object, const std::string& name,
                             const std::string& value) {
  H5Id type(H5Tcopy(H5T_C_S1));
  H5Tset_size(type.get(), value.empty() ? 1 : value.size());
  H5Tset_cset(type.get(), H5T_CSET_UTF8);
  H5Id space(H5Screate(H5S_SCALAR));
  const std::string data = value.empty() ? std::string(1, '\0') : value;
  write_attribute_raw(file_.get(), object, name, type.get(), space.get(), data.data(), where(object));
}

void H5File::write_attribute(const std::string& object, const std::string& name, double value) {
  H5Id space(H5Screate(H5S_SCALAR));
  write_attribute_raw(file_.get(), object, name, H5T_NATIVE_DOUBLE, space.get(), &value, where(object));
}

void H5File::write_attribute(const std::string& object, const std::string& name,
                             std::int64_t value) {
  H5Id space(H5Screate(H5S_SCALAR));
  write_attribute_raw(file_.get(), object, name, H5T_NATIVE_INT64, space.get(), &value, where(object));
}

void H5File::write_attribute(const std::string& object, const std::string& name,
                             const std::vector<double>& value) {
  const hsize_t n = value.size();
  H5Id space(H5Screate_simple(1, &n, nullptr));
  write_attribute_raw(file_.get(), object, name, H5T_NATIVE_DOUBLE, space.get(), value.data(),
                      where(object));
}

bool H5File::has_attribute(const std::string& object, const std::string& name) const {
  if (!has(object)) return false;
  H5Id obj = open_object(file_.get(), object, where(object));
  return H5Aexists(obj.get(), name.c_str()) > 0;
}

namespace {

// H5Aread reads every value of an attribute: the scalar readers below hold
// one, so a list (a user's attrs['dt_s'] = [0.05, 0.05]) is an error, not a
// write past the value.
void require_one_value(hid_t attr, const std::string& where, const std::string& name) {
  H5Id space(H5Aget_space(attr));
  const hssize_t n = H5Sget_simple_extent_npoints(space.get());
  if (n != 1)
    throw InputError(where + ": attribute '" + name + "' holds " + std::to_string(n) + " values; expected one");
}

}  // namespace

std::string H5File::read_string_attribute(const std::string& object, const std::string& name) const {
  H5Id attr = open_attribute(file_.get(), object, name, where(object));
  require_one_value(attr.get(), where(object), name);
  H5Id type(H5Aget_type(attr.get()));
  if (H5Tget_class(type.get()) != H5T_STRING) {
    throw InputError(where(object) + ": attribute '" + name + "': expected a string, found " +
                     dtype_name(type.get()));
  }
  if (H5Tis_variable_str(type.get()) > 0) {
    char* text = nullptr;
    H5Id mem(H5Tcopy(H5T_C_S1));
    H5Tset_size(mem.get(), H5T_VARIABLE);
    H5Tset_cset(mem.get(), H5Tget_cset(type.get()));  // h5py writes UTF-8; HDF5 converts no character set
    if (H5Aread(attr.get(), mem.get(), &text) < 0)
      throw InputError(where(object) + ": attribute '" + name + "': cannot read the string");
    std::string out = text ? text : "";
    H5free_memory(text);
    return out;
  }
  std::string out(H5Tget_size(type.get()), '\0');
  if (H5Aread(attr.get(), type.get(), out.data()) < 0)
    throw InputError(where(object) + ": attribute '" + name + "': cannot read the string");
  out.resize(out.find('\0') == std::string::npos ? out.size() : out.find('\0'));
  return out;
}

double H5File::read_double_attribute(const std::string& object, const std::string& name) const {
  H5Id attr = open_attribute(file_.get(), object, name, where(object));
  require_one_value(attr.get(), where(object), name);
  double v = 0;
  if (H5Aread(attr.get(), H5T_NATIVE_DOUBLE, &v) < 0) {
    throw InputError(where(object) + ": attribute '" + name + "' is not a number");
  }
  return v;
}

std::int64_t H5File::read_int_attribute(const std::string& object, const std::string& name) const {
  H5Id attr = open_attribute(file_.get(), object, name, where(object));
  require_one_value(attr.get(), where(object), name);
  H5Id type(H5Aget_type(attr.get()));
  if (H5Tget_class(type.get()) != H5T_INTEGER)  // HDF5 would convert 2.5 to 2
    throw InputError(where(object) + ": attribute '" + name + "': expected an integer, found " + dtype_name(type.get()));
  std::int64_t v = 0;
  if (H5Aread(attr.get(), H5T_NATIVE_INT64, &v) < 0) {
    throw InputError(where(object) + ": attribute '" + name + "' is not an integer");
  }
  return v;
}

std::string name_list_attribute(const std::vector<std::string>& names) {
  std::string s;
  for (std::size_t i = 0; i < names.size(); ++i) s += (i ? "\n" : "") + names[i];
  return s;
}

std::vector<std::string> parse_name_list(const std::string& attribute) {
  std::vector<std::string> out;
  if (attribute.empty()) return out;  // no names (one empty name cannot be told apart)
  for (std::size_t begin = 0;;) {
    const std::size_t end = attribute.find('\n', begin);
    out.push_back(attribute.substr(begin, end - begin));
    if (end == std::string::npos) return out;
    begin = end + 1;
  }
}

}  // namespace phenoscale::io
