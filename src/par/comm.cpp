#include "phenoscale/par/comm.hpp"

#include <string>
#include <utility>

#include "phenoscale/core/error.hpp"

namespace phenoscale::par {

std::string mpi_error_text(int rc) {
  char text[MPI_MAX_ERROR_STRING];
  int length = 0;
  MPI_Error_string(rc, text, &length);
  return std::string(text, static_cast<std::size_t>(length));
}

Comm::Comm(MPI_Comm comm) : comm_(comm) {
  MPI_Comm_rank(comm_, &rank_);
  MPI_Comm_size(comm_, &size_);
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

Comm Comm::duplicate() const {
  MPI_Comm dup;
  MPI_Comm_dup(comm_, &dup);
  Comm c(dup);
  c.owned_ = true;
  c.message_bytes_ = message_bytes_;  // a duplicate keeps its parent's message size
  return c;
}

Comm Comm::split(int color, int key) const {
  MPI_Comm out;
  MPI_Comm_split(comm_, color, key, &out);
  Comm c(out);
  c.owned_ = true;
  return c;
}

Comm Comm::split_shared() const {
  MPI_Comm out;
  MPI_Comm_split_type(comm_, MPI_COMM_TYPE_SHARED, rank_, MPI_INFO_NULL, &out);
  Comm c(out);
  c.owned_ = true;
  return c;
}

MPI_Comm Comm::agreement() const {
  if (agreement_ == MPI_COMM_NULL) {
    MPI_Comm dup = MPI_COMM_NULL;
    const int rc = MPI_Comm_dup(comm_, &dup);
    if (rc != MPI_SUCCESS) {
      throw IoError("MPI_Comm_dup of the error agreement's communicator failed: " + mpi_error_text(rc));
    }
    agreement_ = dup;
  }
  return agreement_;
}

void Comm::barrier() const { MPI_Barrier(comm_); }

void Comm::broadcast(std::string& text, int root) const {
  std::vector<char> buffer(text.begin(), text.end());
  broadcast(buffer, root);
  text.assign(buffer.begin(), buffer.end());
}

}  // namespace phenoscale::par
