#include "phenoscale/io/atomic_file.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <cstring>
#include <utility>

#include "phenoscale/core/error.hpp"

namespace phenoscale::io {
namespace {

std::string errno_text(int err) { return std::strerror(err); }

// The host and pid keep concurrent processes apart (pids repeat across the
// nodes of a shared file system); the counter keeps two writers of the same
// final name inside one process apart.
std::string make_temp_path(const std::string& final_path) {
  static std::atomic<unsigned> counter{0};
  char host[65] = "host";  // the short name's first 64 characters: the file name stays under NAME_MAX
  if (::gethostname(host, sizeof host - 1) != 0) std::strcpy(host, "host");
  host[sizeof host - 1] = '\0';
  if (char* dot = std::strchr(host, '.')) *dot = '\0';
  return final_path + ".tmp." + host + "." + std::to_string(::getpid()) + "." + std::to_string(counter++);
}

// fsync before rename: otherwise a crash shortly after the rename can leave a
// zero-length file under the final name on ext4/xfs. Filesystems that cannot
// sync (EINVAL, e.g. some FUSE mounts) are not an error.
void sync_file(const std::string& path) {
  int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) {
    int err = errno;
    throw IoError(at_file(path, "cannot open the finished temporary file to sync it: " + errno_text(err)));
  }
  int rc = ::fsync(fd);
  int err = errno;
  ::close(fd);
  if (rc != 0 && err != EINVAL && err != EROFS) {
    throw IoError(at_file(path, "cannot sync to disk: " + errno_text(err)));
  }
}

}  // namespace

AtomicFile::AtomicFile(std::string final_path, bool owner)
    : final_path_(std::move(final_path)), temp_path_(make_temp_path(final_path_)), owner_(owner) {}

AtomicFile::AtomicFile(std::string final_path, std::string temp_path, bool owner)
    : final_path_(std::move(final_path)), temp_path_(std::move(temp_path)), owner_(owner) {}

AtomicFile::~AtomicFile() {
  if (owner_ && !committed_) std::remove(temp_path_.c_str());
}

void AtomicFile::commit() {
  if (committed_) return;
  if (owner_) {
    sync_file(temp_path_);
    if (std::rename(temp_path_.c_str(), final_path_.c_str()) != 0) {
      int err = errno;
      throw IoError(at_file(final_path_, "cannot move the finished temporary file " + temp_path_ +
                                             " into place: " + errno_text(err)));
    }
  }
  committed_ = true;
}

UniqueFile open_input(const std::string& path) {
  // fopen opens a directory for reading; its first read then fails with a
  // message that does not say why.
  struct stat st {};
  if (::stat(path.c_str(), &st) == 0 && S_ISDIR(st.st_mode))
    throw InputError(at_file(path, "is a directory; expected a file"));
  UniqueFile f(std::fopen(path.c_str(), "rb"));
  if (!f) {
    int err = errno;
    throw InputError(at_file(path, "cannot open for reading: " + errno_text(err)));
  }
  return f;
}

UniqueFile open_output(const std::string& path) {
  UniqueFile f(std::fopen(path.c_str(), "wb"));
  if (!f) {
    int err = errno;
    throw IoError(at_file(path, "cannot open for writing: " + errno_text(err)));
  }
  return f;
}

UniqueFile open_output(const AtomicFile& target) {
  UniqueFile f(std::fopen(target.path().c_str(), "wb"));
  if (!f) {
    int err = errno;
    throw IoError(at_file(target.final_path(),
                          "cannot create the temporary file " + target.path() + ": " + errno_text(err)));
  }
  return f;
}

void write_all(std::FILE* f, const void* data, std::size_t bytes, const std::string& path) {
  if (bytes == 0) return;
  if (std::fwrite(data, 1, bytes, f) != bytes) {
    int err = errno;
    throw IoError(at_file(path, "write of " + std::to_string(bytes) + " bytes failed: " + errno_text(err)));
  }
}

void close_output(UniqueFile& f, const std::string& path) {
  std::FILE* raw = f.release();
  if (!raw) return;
  bool flushed = std::fflush(raw) == 0;
  int err = errno;
  bool closed = std::fclose(raw) == 0;
  if (!closed && flushed) err = errno;
  if (!flushed || !closed) throw IoError(at_file(path, "cannot finish writing: " + errno_text(err)));
}

}  // namespace phenoscale::io
