// Data-parallel gradient synchronisation (the PyTorch DDP Reducer / Horovod
// pattern; design card: MPI on CPU, NCCL on GPU).
//
// All parameters are moved into one flat buffer (each parameter becomes a
// view of it) and their gradients into a second flat buffer, so that
//  - rank 0's initial parameters reach every rank with one broadcast;
//  - gradient buckets (~25 MiB, contiguous slices of the flat gradient,
//    filled in reverse parameter order as backward produces them) are summed
//    with the par/ Allreducer while backward still runs: a post-hook on each
//    parameter's gradient accumulator marks it ready, and a bucket is
//    launched as soon as it and every bucket before it are ready (the same
//    launch order on every rank, even one whose local batch is empty);
//  - the optimiser updates the single flat tensor in a handful of fused
//    kernels instead of a loop over dozens of small tensors.
// Gradients are summed, not averaged: the loss of each rank is already
// divided by the size of the global batch (see batch.hpp), so uneven splits
// give the update of one process with the whole batch.
#pragma once

#include <torch/torch.h>

#include <cstddef>
#include <memory>
#include <vector>

#include "phenoscale/par/allreducer.hpp"
#include "phenoscale/par/comm.hpp"

namespace phenoscale::nn {

struct GradientSyncOptions {
  std::size_t bucket_bytes = 25u << 20;
  // false: one allreduce of the whole gradient after backward (the baseline
  // the overlapped buckets are measured against).
  bool overlap = true;
};

class GradientSynchroniser {
 public:
  GradientSynchroniser(torch::nn::Module& module, par::Allreducer& reducer, const par::Comm& comm,
                       GradientSyncOptions options);
  ~GradientSynchroniser();
  GradientSynchroniser(const GradientSynchroniser&) = delete;
  GradientSynchroniser& operator=(const GradientSynchroniser&) = delete;

  // Collective. Copies rank 0's parameters and buffers to every rank.
  void broadcast_from_root();
  // Collective. Replaces every floating-point buffer (BatchNorm running
  // statistics) by its mean over ranks, so all ranks evaluate one model.
  void average_buffers();
  // Before a step's backward: zero the flat gradient, no bucket launched.
  void start_step();
  // Collective, after backward (also on a rank that ran none): launches the
  // remaining buckets and waits for all of them.
  void finish_step();

  // The flat parameter tensor (a leaf whose grad() is the flat gradient):
  // hand this single tensor to the optimiser.
  torch::Tensor flat_parameters() const { return flat_; }
  std::int64_t parameter_count() const { return flat_.numel(); }
  std::size_t bucket_count() const { return buckets_.size(); }
  // Seconds spent in finish_step waiting for reductions (exposed communication).
  double wait_seconds() const { return wait_seconds_; }

  // Called by the autograd post-hooks.
  void parameter_ready(std::size_t index);

 private:
  struct Bucket {
    std::int64_t offset = 0, count = 0;
    std::size_t parameters = 0, ready = 0;
    std::unique_ptr<par::PendingReduction> pending;
  };
  void launch_in_order();

  par::Allreducer& reducer_;
  const par::Comm& comm_;
  GradientSyncOptions options_;
  torch::nn::Module& module_;
  torch::Tensor flat_, flat_grad_;
  std::vector<torch::Tensor> parameters_;
  std::vector<std::size_t> bucket_of_;
  std::vector<Bucket> buckets_;
  std::size_t next_launch_ = 0;
  std::vector<std::shared_ptr<torch::autograd::Node>> accumulators_;
  std::vector<std::uintptr_t> hook_keys_;
  double wait_seconds_ = 0.0;
};

}  // namespace phenoscale::nn
