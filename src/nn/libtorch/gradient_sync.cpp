// Bucketed, overlapped gradient allreduce over a flat gradient buffer.
#include "phenoscale/nn/gradient_sync.hpp"

#include <torch/csrc/autograd/function_hook.h>

#include <chrono>

#include "phenoscale/core/error.hpp"

namespace phenoscale::nn {
namespace {

// Fires after AccumulateGrad has added this step's gradient into the
// parameter's view of the flat gradient buffer.
class ReadyHook final : public torch::autograd::FunctionPostHook {
 public:
  ReadyHook(GradientSynchroniser* owner, std::size_t index) : owner_(owner), index_(index) {}
  torch::autograd::variable_list operator()(const torch::autograd::variable_list& outputs,
                                            const torch::autograd::variable_list& /*inputs*/) override {
    owner_->parameter_ready(index_);
    return outputs;
  }

 private:
  GradientSynchroniser* owner_;
  std::size_t index_;
};

// Host copy for MPI when the flat buffers live on a GPU.
template <typename F>
void on_host(torch::Tensor& t, F&& fn) {
  if (t.device().is_cpu()) {
    fn(t);
    return;
  }
  auto host = t.to(torch::kCPU);
  fn(host);
  t.copy_(host);
}

}  // namespace

GradientSynchroniser::GradientSynchroniser(torch::nn::Module& module, par::Allreducer& reducer,
                                           const par::Comm& comm, GradientSyncOptions options)
    : reducer_(reducer), comm_(comm), options_(options), module_(module) {
  for (auto& p : module.parameters()) {
    if (p.requires_grad()) parameters_.push_back(p);
  }
  if (parameters_.empty()) throw Error("model has no trainable parameters");
  std::int64_t total = 0;
  for (auto& p : parameters_) total += p.numel();
  const auto options_t = parameters_.front().options().requires_grad(false);
  torch::Tensor flat = torch::empty({total}, options_t);
  flat_grad_ = torch::zeros({total}, options_t);
  std::vector<std::int64_t> offsets;
  std::int64_t offset = 0;
  {
    torch::NoGradGuard no_grad;
    for (auto& p : parameters_) {
      const auto n = p.numel();
      flat.narrow(0, offset, n).copy_(p.detach().reshape({n}));
      p.set_data(flat.narrow(0, offset, n).view(p.sizes()));
      p.mutable_grad() = flat_grad_.narrow(0, offset, n).view(p.sizes());
      offsets.push_back(offset);
      offset += n;
    }
  }
  flat_ = flat.requires_grad_(true);
  flat_.mutable_grad() = flat_grad_;

  // Buckets in reverse parameter order, the order backward produces gradients.
  bucket_of_.assign(parameters_.size(), 0);
  const std::size_t element = flat_grad_.element_size();
  for (std::size_t k = parameters_.size(); k-- > 0;) {
    if (buckets_.empty() || static_cast<std::size_t>(buckets_.back().count) * element >= options_.bucket_bytes) {
      buckets_.push_back(Bucket{});
    }
    Bucket& b = buckets_.back();
    b.offset = offsets[k];
    b.count += parameters_[k].numel();
    b.parameters += 1;
    bucket_of_[k] = buckets_.size() - 1;
  }
  for (std::size_t k = 0; k < parameters_.size(); ++k) {
    auto acc = torch::autograd::impl::grad_accumulator(parameters_[k]);
    hook_keys_.push_back(acc->add_post_hook(std::make_unique<ReadyHook>(this, k)));
    accumulators_.push_back(std::move(acc));  // keep alive: the variable holds it weakly
  }
}

GradientSynchroniser::~GradientSynchroniser() {
  for (std::size_t k = 0; k < accumulators_.size(); ++k) accumulators_[k]->del_post_hook(hook_keys_[k]);
  // Each pending reduction's own destructor waits for it without throwing
  // (wait() may throw, which in a destructor run by an unwinding error would
  // end the process by std::terminate before the error is reported).
  for (auto& b : buckets_) b.pending.reset();
}

void GradientSynchroniser::broadcast_from_root() {
  torch::NoGradGuard no_grad;
  auto data = flat_.detach();
  on_host(data, [&](torch::Tensor& t) {
    comm_.broadcast_span(t.data_ptr<float>(), static_cast<std::size_t>(t.numel()), 0);
  });
  for (auto& buffer : module_.buffers()) {
    if (!buffer.is_floating_point() && buffer.scalar_type() != torch::kInt64) continue;
    auto b = buffer.detach();
    on_host(b, [&](torch::Tensor& t) {
      auto c = t.contiguous();
      comm_.broadcast_span(static_cast<char*>(c.data_ptr()), static_cast<std::size_t>(c.numel()) * c.element_size(), 0);
      if (!c.is_same(t)) t.copy_(c);
    });
  }
}

void GradientSynchroniser::average_buffers() {
  torch::NoGradGuard no_grad;
  for (auto& buffer : module_.buffers()) {
    if (buffer.scalar_type() != torch::kFloat32) continue;
    auto b = buffer.detach();
    on_host(b, [&](torch::Tensor& t) {
      auto c = t.contiguous();
      comm_.allreduce_sum_span(c.data_ptr<float>(), static_cast<std::size_t>(c.numel()));
      c.div_(static_cast<double>(comm_.size()));
      if (!c.is_same(t)) t.copy_(c);
    });
  }
}

void GradientSynchroniser::start_step() {
  flat_grad_.zero_();
  next_launch_ = 0;
  for (auto& b : buckets_) {
    b.ready = 0;
    b.pending.reset();
  }
}

void GradientSynchroniser::parameter_ready(std::size_t index) {
  if (!options_.overlap) return;
  auto& b = buckets_[bucket_of_[index]];
  ++b.ready;
  launch_in_order();
  // MPI progresses a non-blocking collective only inside MPI calls.
  for (std::size_t i = 0; i < next_launch_; ++i) {
    if (buckets_[i].pending) buckets_[i].pending->test();
  }
}

void GradientSynchroniser::launch_in_order() {
  while (next_launch_ < buckets_.size() && buckets_[next_launch_].ready == buckets_[next_launch_].parameters) {
    auto& b = buckets_[next_launch_++];
    b.pending = reducer_.start_sum(flat_grad_.data_ptr<float>() + b.offset, b.count, par::ReduceType::float32);
  }
}

void GradientSynchroniser::finish_step() {
  const auto t0 = std::chrono::steady_clock::now();
  if (!options_.overlap) {
    reducer_.sum(flat_grad_.data_ptr<float>(), flat_grad_.numel(), par::ReduceType::float32);
  } else {
    // Buckets whose parameters got no gradient this step (unused parameters,
    // or an empty local batch) are launched now, still in bucket order.
    for (auto& b : buckets_) b.ready = b.parameters;
    launch_in_order();
    for (auto& b : buckets_) {
      if (b.pending) b.pending->wait();
      b.pending.reset();
    }
  }
  wait_seconds_ += std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
}

}  // namespace phenoscale::nn
