#include "phenoscale/par/comm.hpp"

#include <string>
#include <utility>

#include "phenoscale/core/error.hpp"
#include "phenoscale/core/log.hpp"
#include "phenoscale/par/environment.hpp"

namespace phenoscale::par {

std::string mpi_error_text(int rc) {
  char text[MPI_MAX_ERROR_STRING];
  int length = 0;
  MPI_Error_string(rc, text, &length);
  return std::string(text, static_cast<std::size_t>(length));
}

void throw_mpi_error(int rc, const char* call) {
  throw IoError(std::string("MPI: ") + call + " failed: " + mpi_error_text(rc));
}

void abort_on_mpi_error(int rc, const char* call) {
  core::Log::error(std::string("MPI: ") + call + " failed: " + mpi_error_text(rc) +
                   " (with messages in flight into buffers that an error would free; the job is aborted)");
  Environment::abort(exit_code::error);
}

Comm::Comm(MPI_Comm comm) : comm_(comm) {
  check_mpi(MPI_Comm_rank(comm_, &rank_), "MPI_Comm_rank");
  check_mpi(MPI_Comm_size(comm_, &size_), "MPI_Comm_size");
}

namespace {
// A Comm may outlive MPI (the test harness's world is a static): nothing to
// free then.
void free_unless_finalized(MPI_Comm& comm) {
  int finalized = 0;
  MPI_Finalized(&finalized);
  if (!finalized && comm != MPI_COMM_NULL) MPI_Comm_free(&comm);
  comm = MPI_COMM_NULL;
}
}  // namespace

Comm::~Comm() { release(); }

void Comm::release() {
  free_unless_finalized(agreement_);
  if (owned_ && comm_ != MPI_COMM_NULL) MPI_Comm_free(&comm_);
}

Comm::Comm(Comm&& other) noexcept
    : comm_(other.comm_),
      owned_(other.owned_),
      rank_(other.rank_),
      size_(other.size_),
      message_bytes_(other.message_bytes_),
      agreement_(std::exchange(other.agreement_, MPI_COMM_NULL)) {
  other.comm_ = MPI_COMM_NULL;
  other.owned_ = false;
}

Comm& Comm::operator=(Comm&& other) noexcept {
  if (this != &other) {
    release();
    comm_ = std::exchange(other.comm_, MPI_COMM_NULL);
    agreement_ = std::exchange(other.agreement_, MPI_COMM_NULL);
    owned_ = std::exchange(other.owned_, false);
    rank_ = other.rank_;
    size_ = other.size_;
    message_bytes_ = other.message_bytes_;
  }
  return *this;
}

// Takes ownership of `made` (a duplicate or split of this Comm's communicator).
Comm Comm::adopt(MPI_Comm made) {
  int rank = 0, size = 1;
  int rc = MPI_Comm_rank(made, &rank);
  if (rc == MPI_SUCCESS) rc = MPI_Comm_size(made, &size);
  if (rc != MPI_SUCCESS) {
    MPI_Comm_free(&made);
    throw_mpi_error(rc, "MPI_Comm_rank/MPI_Comm_size");
  }
  return Comm(made, rank, size);
}

Comm Comm::duplicate() const {
  MPI_Comm dup = MPI_COMM_NULL;
  check_mpi(MPI_Comm_dup(comm_, &dup), "MPI_Comm_dup");
  Comm c = adopt(dup);
  c.message_bytes_ = message_bytes_;  // a duplicate keeps its parent's message size
  return c;
}

Comm Comm::split(int color, int key) const {
  MPI_Comm out = MPI_COMM_NULL;
  check_mpi(MPI_Comm_split(comm_, color, key, &out), "MPI_Comm_split");
  return adopt(out);
}

Comm Comm::split_shared() const {
  MPI_Comm out = MPI_COMM_NULL;
  check_mpi(MPI_Comm_split_type(comm_, MPI_COMM_TYPE_SHARED, rank_, MPI_INFO_NULL, &out), "MPI_Comm_split_type");
  return adopt(out);
}

MPI_Comm Comm::agreement() const {
  if (agreement_ == MPI_COMM_NULL) {
    MPI_Comm dup = MPI_COMM_NULL;
    check_mpi(MPI_Comm_dup(comm_, &dup), "MPI_Comm_dup (the error agreement's communicator)");
    agreement_ = dup;
  }
  return agreement_;
}

void Comm::barrier() const { check_mpi(MPI_Barrier(comm_), "MPI_Barrier"); }

void Comm::broadcast(std::string& text, int root) const {
  std::vector<char> buffer(text.begin(), text.end());
  broadcast(buffer, root);
  text.assign(buffer.begin(), buffer.end());
}

}  // namespace phenoscale::par
