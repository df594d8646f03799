// MPI allreduce backend: host buffers, non-blocking MPI_Iallreduce so that
// communication of one gradient bucket overlaps backward of the next.
#include <mpi.h>

#include <type_traits>
#include <vector>

#include "phenoscale/core/error.hpp"
#include "phenoscale/par/allreducer.hpp"
#include "phenoscale/par/comm.hpp"

namespace phenoscale::par {
namespace {

MPI_Datatype datatype(ReduceType type) {
  return type == ReduceType::float32 ? MPI_FLOAT : MPI_DOUBLE;
}

class MpiPending final : public PendingReduction {
 public:
  explicit MpiPending(std::vector<MPI_Request> requests) : requests_(std::move(requests)) {}
  ~MpiPending() override {
    // Never leave a request dangling on the buffer it writes to.
    MPI_Waitall(static_cast<int>(requests_.size()), requests_.data(), MPI_STATUSES_IGNORE);
  }
  void wait() override {
    check_mpi(MPI_Waitall(static_cast<int>(requests_.size()), requests_.data(), MPI_STATUSES_IGNORE),
              "MPI_Waitall (the mpi allreducer)");
  }
  bool test() override {
    int done = 0;
    check_mpi(MPI_Testall(static_cast<int>(requests_.size()), requests_.data(), &done, MPI_STATUSES_IGNORE),
              "MPI_Testall (the mpi allreducer)");
    return done != 0;
  }

 private:
  std::vector<MPI_Request> requests_;
};

class MpiAllreducer final : public Allreducer {
 public:
  explicit MpiAllreducer(const Comm& comm) : comm_(comm.duplicate()) {}
  std::string name() const override { return "mpi"; }
  bool device_memory() const override { return false; }

  // MPI counts are ints: a reduction travels in pieces of at most
  // Comm::message_limit elements (2^27 doubles; a bucket is far smaller, the
  // whole model need not be).
  template <typename F>
  void for_each_piece(void* data, std::size_t count, ReduceType type, F&& f) const {
    auto pieces = [&](auto* typed) {
      using T = std::remove_pointer_t<decltype(typed)>;
      comm_.for_each_chunk<T>(count, [&](std::size_t at, int n) { f(typed + at, n); });
    };
    if (type == ReduceType::float32)
      pieces(static_cast<float*>(data));
    else
      pieces(static_cast<double*>(data));
  }

  void sum(void* data, std::size_t count, ReduceType type) override {
    for_each_piece(data, count, type, [&](void* piece, int n) {
      check_mpi(MPI_Allreduce(MPI_IN_PLACE, piece, n, datatype(type), MPI_SUM, comm_.raw()),
                "MPI_Allreduce (the mpi allreducer)");
    });
  }

  std::unique_ptr<PendingReduction> start_sum(void* data, std::size_t count,
                                              ReduceType type) override {
    std::vector<MPI_Request> requests;
    for_each_piece(data, count, type, [&](void* piece, int n) {
      // A later piece failing would leave the earlier ones reducing into
      // `data`: the job ends (check_mpi_in_flight).
      check_mpi_in_flight(
          MPI_Iallreduce(MPI_IN_PLACE, piece, n, datatype(type), MPI_SUM, comm_.raw(), &requests.emplace_back()),
          "MPI_Iallreduce (the mpi allreducer)");
    });
    return std::make_unique<MpiPending>(std::move(requests));
  }

 private:
  Comm comm_;  // own duplicate: gradient traffic never mixes with other messages
};

}  // namespace

std::unique_ptr<Allreducer> make_mpi_allreducer(const Comm& comm) {
  return std::make_unique<MpiAllreducer>(comm);
}

}  // namespace phenoscale::par
