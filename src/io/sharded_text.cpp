#include "phenoscale/io/sharded_text.hpp"

#include <algorithm>
#include <climits>
#include <memory>

#include "phenoscale/core/error.hpp"
#include "phenoscale/io/atomic_file.hpp"
#include "phenoscale/par/agree.hpp"

namespace phenoscale::io {
namespace {

// Closes an MPI file on scope exit (collective: every rank holds one).
struct MpiFile {
  MPI_File handle = MPI_FILE_NULL;
  ~MpiFile() {
    if (handle != MPI_FILE_NULL) MPI_File_close(&handle);
  }
};

// Independent writes of at most 1 GiB each: MPI counts are ints.
bool write_at(MPI_File file, MPI_Offset offset, const std::string& text) {
  constexpr std::size_t kPiece = std::size_t{1} << 30;
  for (std::size_t done = 0; done < text.size(); done += kPiece) {
    const int count = static_cast<int>(std::min(kPiece, text.size() - done));
    if (MPI_File_write_at(file, offset + static_cast<MPI_Offset>(done), text.data() + done, count, MPI_CHAR,
                          MPI_STATUS_IGNORE) != MPI_SUCCESS) {
      return false;
    }
  }
  return true;
}

}  // namespace

void write_text_in_rank_order(const std::string& path, const std::string& local_text, const par::Comm& comm) {
  std::string temporary;
  std::unique_ptr<AtomicFile> output;
  if (comm.is_root()) {
    output = std::make_unique<AtomicFile>(path);
    temporary = output->path();
  }
  comm.broadcast(temporary);
  const auto offset = comm.exscan_sum<std::uint64_t>(local_text.size());
  bool ok = true;
  {
    MpiFile file;
    ok = MPI_File_open(comm.raw(), temporary.c_str(), MPI_MODE_CREATE | MPI_MODE_WRONLY, MPI_INFO_NULL,
                       &file.handle) == MPI_SUCCESS;
    par::check_all(comm, ok, "cannot create output file " + path);
    // MPI-IO keeps the bytes of an existing file: a temporary left by a
    // killed run under the same name must not lend its tail to this one.
    ok = MPI_File_set_size(file.handle, 0) == MPI_SUCCESS;
    ok = write_at(file.handle, static_cast<MPI_Offset>(offset), local_text) && ok;
    // Closed here, checked: a write that fails only at the close (disk full)
    // must not reach the final name.
    ok = MPI_File_close(&file.handle) == MPI_SUCCESS && ok;
  }
  par::check_all(comm, ok, "cannot write output file " + path);
  // Rank 0 renames; the others learn the outcome instead of waiting in a barrier.
  par::collectively(comm, [&] {
    if (output) output->commit();
  });
}

}  // namespace phenoscale::io
