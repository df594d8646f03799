// Gradient allreduce backends, chosen by name (`allreduce = "mpi" | "nccl"`).
//
// Data-parallel training sums gradient buckets across ranks while backward
// still runs (the PyTorch DDP / Horovod pattern), so the interface has a
// blocking `sum` and a non-blocking `start_sum` returning a handle to wait on.
// `mpi` works on host memory with MPI_Iallreduce; `nccl` works on device
// memory on a dedicated CUDA stream and is compiled only with
// PHENOSCALE_WITH_CUDA / the CUDA toolkit (PHENOSCALE_HAVE_NCCL).
// Backends are registered in one table in src/par/allreducer.cpp.
#pragma once

#include <cstddef>
#include <memory>
#include <string>
#include <vector>

#include "phenoscale/par/comm.hpp"

namespace phenoscale::par {

enum class ReduceType { float32, float64 };

// A reduction in flight; `wait()` returns when the buffer holds the sum.
class PendingReduction {
 public:
  virtual ~PendingReduction() = default;
  virtual void wait() = 0;
  // Non-blocking progress poke: MPI progresses a non-blocking collective only
  // inside MPI calls, so the trainer tests pending reductions from its
  // autograd hooks. True once the reduction is complete.
  virtual bool test() { return false; }
};

class Allreducer {
 public:
  virtual ~Allreducer() = default;
  virtual std::string name() const = 0;
  // Whether buffers must live in GPU memory (NCCL) or host memory (MPI).
  virtual bool device_memory() const = 0;
  // In-place sum over all ranks of `count` elements at `data`.
  virtual void sum(void* data, std::size_t count, ReduceType type) = 0;
  virtual std::unique_ptr<PendingReduction> start_sum(void* data, std::size_t count,
                                                      ReduceType type) = 0;
  void sum(float* data, std::size_t count) { sum(data, count, ReduceType::float32); }
  void sum(double* data, std::size_t count) { sum(data, count, ReduceType::float64); }
};

struct AllreducerInfo {
  std::string name;
  std::string description;
};

// Backends compiled into this build.
std::vector<AllreducerInfo> allreducer_backends();

// Collective over `comm`. Throws ConfigError naming the available backends
// for an unknown or not-compiled name, and Error when the backend cannot
// start (e.g. `nccl` without a visible GPU) — agreed on all ranks.
std::unique_ptr<Allreducer> make_allreducer(const std::string& name, const Comm& comm);

}  // namespace phenoscale::par
