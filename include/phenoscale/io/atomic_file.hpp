// Atomic replacement of output files, and the checked C file handles the
// serial writers share.
//
// A job killed mid-write (Slurm time limit, preemption, a full disk) must never
// leave a truncated tomogram, movie or result table under the final name that
// a later run would trust. Writers therefore write to `<final>.tmp.<host>.<pid>.<n>`
// in the same directory (so the rename stays on one filesystem) and rename it
// over the final name only once the data is complete. An uncommitted temporary
// is removed by the destructor, so an exception leaves the old file, if any,
// untouched.
//
// Parallel writers (HDF5 through MPI-IO) write one file from every rank: all
// ranks must agree on the temporary name (rank 0 creates the AtomicFile and
// broadcasts `path()`; the others construct theirs from that name with
// `owner = false`), and only the owner renames or removes it.
#pragma once

#include <cstddef>
#include <cstdio>
#include <memory>
#include <string>

namespace phenoscale::io {

class AtomicFile {
 public:
  // Chooses a fresh temporary name next to `final_path`. Nothing is created
  // on disk until the caller writes to `path()`.
  explicit AtomicFile(std::string final_path, bool owner = true);
  // Uses a temporary name chosen elsewhere (another rank's `path()`).
  AtomicFile(std::string final_path, std::string temp_path, bool owner);
  ~AtomicFile();

  AtomicFile(const AtomicFile&) = delete;
  AtomicFile& operator=(const AtomicFile&) = delete;

  // The temporary file to write to.
  const std::string& path() const { return temp_path_; }
  const std::string& final_path() const { return final_path_; }
  bool owner() const { return owner_; }
  bool committed() const { return committed_; }

  // Flushes the temporary to stable storage and renames it over the final
  // name (owner only; others just stop caring). Throws IoError naming both
  // paths and the system's reason. Call after the file has been closed.
  void commit();

 private:
  std::string final_path_;
  std::string temp_path_;
  bool owner_;
  bool committed_ = false;
};

// --- checked stdio handles -------------------------------------------------

struct FileCloser {
  void operator()(std::FILE* f) const noexcept {
    if (f) std::fclose(f);
  }
};
using UniqueFile = std::unique_ptr<std::FILE, FileCloser>;

// Opens for binary reading; a missing or unreadable file is an InputError.
UniqueFile open_input(const std::string& path);
// Opens for binary writing; failure is an IoError.
UniqueFile open_output(const std::string& path);
// Opens the temporary of `target` for writing; a failure names the final path.
UniqueFile open_output(const AtomicFile& target);
// Writes all bytes or throws IoError (disk full, quota) naming `path`.
void write_all(std::FILE* f, const void* data, std::size_t bytes, const std::string& path);
// Closes a file that was written, surfacing the errors a plain fclose in a
// destructor would swallow (delayed write failures on network filesystems).
void close_output(UniqueFile& f, const std::string& path);

}  // namespace phenoscale::io
