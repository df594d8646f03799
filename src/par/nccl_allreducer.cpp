// NCCL allreduce backend (compiled when the CUDA toolkit with NCCL is found).
//
// One GPU per rank, chosen by the rank's index among the ranks of its node.
// The NCCL communicator is bootstrapped over MPI: rank 0 creates the unique
// id and broadcasts it. Reductions run on a dedicated non-blocking stream so
// they overlap the backward kernels; a CUDA event marks completion.
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
    const Comm node = comm.split_shared();
    cuda_check(cudaSetDevice(node.rank() % devices), "cudaSetDevice");
    ncclUniqueId id;
    if (comm.is_root()) nccl_check(ncclGetUniqueId(&id), "ncclGetUniqueId");
    MPI_Bcast(&id, sizeof id, MPI_BYTE, 0, comm.raw());
    nccl_check(ncclCommInitRank(&nccl_, comm.size(), id, comm.rank()), "ncclCommInitRank");
    cuda_check(cudaStreamCreateWithFlags(&stream_, cudaStreamNonBlocking), "cudaStreamCreate");
  }

  ~NcclAllreducer() override {
    if (stream_) cudaStreamSynchronize(stream_);
    if (nccl_) ncclCommDestroy(nccl_);
    if (stream_) cudaStreamDestroy(stream_);
  }

  std::string name() const override { return "nccl"; }
  bool device_memory() const override { return true; }

  void sum(void* data, std::size_t count, ReduceType type) override {
    start_sum(data, count, type)->wait();
  }

  std::unique_ptr<PendingReduction> start_sum(void* data, std::size_t count,
                                              ReduceType type) override {
    nccl_check(ncclAllReduce(data, data, count, datatype(type), ncclSum, nccl_, stream_),
               "ncclAllReduce");
    return std::make_unique<CudaEventPending>(stream_);
  }

 private:
  ncclComm_t nccl_ = nullptr;
  cudaStream_t stream_ = nullptr;
};

}  // namespace

std::unique_ptr<Allreducer> make_nccl_allreducer(const Comm& comm) {
  return std::make_unique<NcclAllreducer>(comm);
}

}  // namespace phenoscale::par
