// NCCL allreduce backend (compiled when the CUDA toolkit with NCCL is found).
//
// One GPU per rank, chosen by the rank's index among the ranks of its node.
// The NCCL communicator is bootstrapped over MPI: rank 0 creates the unique
// id and broadcasts it. Reductions run on a dedicated non-blocking stream so
// they overlap the backward kernels; a CUDA event marks completion. A
// non-blocking stream does not wait for the default stream, where LibTorch
// queues the backward's kernels: each reduction first waits for an event
// recorded there, or NCCL could sum gradients still being written.
#include <cuda_runtime.h>
#include <nccl.h>

#include "phenoscale/core/error.hpp"
#include "phenoscale/par/agree.hpp"
#include "phenoscale/par/allreducer.hpp"

namespace phenoscale::par {
namespace {

void cuda_check(cudaError_t rc, const char* what) {
  if (rc != cudaSuccess) {
    throw Error(std::string("NCCL allreducer: ") + what + ": " + cudaGetErrorString(rc));
  }
}

void nccl_check(ncclResult_t rc, const char* what) {
  if (rc != ncclSuccess) {
    throw Error(std::string("NCCL allreducer: ") + what + ": " + ncclGetErrorString(rc));
  }
}

ncclDataType_t datatype(ReduceType type) {
  return type == ReduceType::float32 ? ncclFloat32 : ncclFloat64;
}

class CudaEventPending final : public PendingReduction {
 public:
  explicit CudaEventPending(cudaStream_t stream) {
    cuda_check(cudaEventCreateWithFlags(&event_, cudaEventDisableTiming), "cudaEventCreate");
    cuda_check(cudaEventRecord(event_, stream), "cudaEventRecord");
  }
  ~CudaEventPending() override {
    cudaEventSynchronize(event_);
    cudaEventDestroy(event_);
  }
  void wait() override { cuda_check(cudaEventSynchronize(event_), "cudaEventSynchronize"); }

 private:
  cudaEvent_t event_{};
};

class NcclAllreducer final : public Allreducer {
 public:
  explicit NcclAllreducer(const Comm& comm) {
    int devices = 0;
    // Agreed before the bootstrap: a rank without a GPU must not leave the
    // others waiting in MPI_Bcast / ncclCommInitRank.
    collectively(comm, [&] {
      const cudaError_t rc = cudaGetDeviceCount(&devices);
      if (rc != cudaSuccess || devices == 0) {
        throw Error(std::string("allreduce = \"nccl\" needs a CUDA GPU on every rank, but none "
                                "is visible (cudaGetDeviceCount: ") +
                    (rc == cudaSuccess ? "0 devices" : cudaGetErrorString(rc)) +
                    "); use allreduce = \"mpi\" on CPU nodes");
      }
    });
    // Each step agreed on every rank: a rank that fails must not leave the
    // others in MPI_Bcast or ncclCommInitRank (as far as NCCL allows: a rank
    // that fails inside ncclCommInitRank after contacting the others is
    // NCCL's to report).
    const Comm node = comm.split_shared();
    ncclUniqueId id{};
    collectively(comm, [&] {
      cuda_check(cudaSetDevice(node.rank() % devices), "cudaSetDevice");
      if (comm.is_root()) nccl_check(ncclGetUniqueId(&id), "ncclGetUniqueId");
    });
    comm.broadcast_span(reinterpret_cast<char*>(&id), sizeof id, 0);
    try {
      collectively(comm, [&] { nccl_check(ncclCommInitRank(&nccl_, comm.size(), id, comm.rank()), "ncclCommInitRank"); });
      collectively(comm, [&] {
        cuda_check(cudaStreamCreateWithFlags(&stream_, cudaStreamNonBlocking), "cudaStreamCreate");
        cuda_check(cudaEventCreateWithFlags(&ready_, cudaEventDisableTiming), "cudaEventCreate");
      });
    } catch (...) {
      release();  // no destructor runs for a half-built object
      throw;
    }
  }

  ~NcclAllreducer() override { release(); }

  std::string name() const override { return "nccl"; }
  bool device_memory() const override { return true; }

  void sum(void* data, std::size_t count, ReduceType type) override {
    start_sum(data, count, type)->wait();
  }

  std::unique_ptr<PendingReduction> start_sum(void* data, std::size_t count,
                                              ReduceType type) override {
    // After everything queued so far on the default stream (the gradients).
    cuda_check(cudaEventRecord(ready_, cudaStreamLegacy), "cudaEventRecord");
    cuda_check(cudaStreamWaitEvent(stream_, ready_, 0), "cudaStreamWaitEvent");
    nccl_check(ncclAllReduce(data, data, count, datatype(type), ncclSum, nccl_, stream_),
               "ncclAllReduce");
    return std::make_unique<CudaEventPending>(stream_);
  }

 private:
  void release() {
    if (stream_) cudaStreamSynchronize(stream_);
    if (ready_) cudaEventDestroy(ready_);
    if (nccl_) ncclCommDestroy(nccl_);
    if (stream_) cudaStreamDestroy(stream_);
    ready_ = nullptr;
    nccl_ = nullptr;
    stream_ = nullptr;
  }

  ncclComm_t nccl_ = nullptr;
  cudaStream_t stream_ = nullptr;
  cudaEvent_t ready_ = nullptr;
};

}  // namespace

std::unique_ptr<Allreducer> make_nccl_allreducer(const Comm& comm) {
  return std::make_unique<NcclAllreducer>(comm);
}

}  // namespace phenoscale::par
