// MPI allreduce backend: host buffers, non-blocking MPI_Iallreduce so that
// communication of one gradient bucket overlaps backward of the next.
#include <mpi.h>

#include "phenoscale/core/error.hpp"
#include "phenoscale/par/allreducer.hpp"

namespace phenoscale::par {
namespace {

MPI_Datatype datatype(ReduceType type) {
  return type == ReduceType::float32 ? MPI_FLOAT : MPI_DOUBLE;
}

void check(int rc, const char* what) {
  if (rc != MPI_SUCCESS) {
    char text[MPI_MAX_ERROR_STRING];
    int len = 0;
    MPI_Error_string(rc, text, &len);
    throw IoError(std::string("MPI allreducer: ") + what + " failed: " + std::string(text, len));
  }
}

class MpiPending final : public PendingReduction {
 public:
  explicit MpiPending(MPI_Request request) : request_(request) {}
  ~MpiPending() override {
    // Never leave a request dangling on the buffer it writes to.
    if (request_ != MPI_REQUEST_NULL) MPI_Wait(&request_, MPI_STATUS_IGNORE);
  }
  void wait() override { check(MPI_Wait(&request_, MPI_STATUS_IGNORE), "MPI_Wait"); }
  bool test() override {
    int done = 0;
    check(MPI_Test(&request_, &done, MPI_STATUS_IGNORE), "MPI_Test");
    return done != 0;
  }

 private:
  MPI_Request request_;
};

class MpiAllreducer final : public Allreducer {
 public:
  explicit MpiAllreducer(const Comm& comm) : comm_(comm.duplicate()) {}
  std::string name() const override { return "mpi"; }
  bool device_memory() const override { return false; }

  void sum(void* data, std::size_t count, ReduceType type) override {
    check(MPI_Allreduce(MPI_IN_PLACE, data, static_cast<int>(count), datatype(type), MPI_SUM,
                        comm_.raw()),
          "MPI_Allreduce");
  }

  std::unique_ptr<PendingReduction> start_sum(void* data, std::size_t count,
                                              ReduceType type) override {
    MPI_Request request;
    check(MPI_Iallreduce(MPI_IN_PLACE, data, static_cast<int>(count), datatype(type), MPI_SUM,
                         comm_.raw(), &request),
          "MPI_Iallreduce");
    return std::make_unique<MpiPending>(request);
  }

 private:
  Comm comm_;  // own duplicate: gradient traffic never mixes with other messages
};

}  // namespace

std::unique_ptr<Allreducer> make_mpi_allreducer(const Comm& comm) {
  return std::make_unique<MpiAllreducer>(comm);
}

}  // namespace phenoscale::par
