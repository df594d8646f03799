// The data-parallel training loop, checkpoints and evaluation (see trainer.hpp).
#include "phenoscale/nn/trainer.hpp"

#include <ATen/autocast_mode.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <chrono>
#include <cmath>
#include <filesystem>
#include <limits>
#include <optional>

#include "phenoscale/core/error.hpp"
#include "phenoscale/core/log.hpp"
#include "phenoscale/core/progress.hpp"
#include "phenoscale/core/rng.hpp"
#include "phenoscale/core/stop_signal.hpp"
#include "phenoscale/io/atomic_file.hpp"
#include "phenoscale/io/csv.hpp"
#include "phenoscale/io/hdf5.hpp"
#include "phenoscale/nn/augment.hpp"
#include "phenoscale/nn/sampler.hpp"
#include "phenoscale/par/agree.hpp"

namespace phenoscale::nn {

using core::cat;

namespace {

using Clock = std::chrono::steady_clock;

double seconds_since(Clock::time_point t0) { return std::chrono::duration<double>(Clock::now() - t0).count(); }

// The loop's story (start, epochs, selection): info, or debug for quiet
// callers that train many small models (cross-validation folds).
void say(const TrainerOptions& o, const std::string& line) {
  if (o.quiet) core::Log::debug(line);
  else core::Log::info(line);
}

// Everything that a resumed run needs to continue exactly where it stopped.
// It always names the next thing to do (the batch `next_batch` of epoch
// `epoch`, optimiser step `step`), so a checkpoint is this state as it is.
struct TrainingState {
  std::int64_t epoch = 0;
  std::int64_t next_batch = 0;  // within the epoch
  std::int64_t step = 0;        // optimiser steps taken
  MetricSums epoch_sums;        // global sums of the epoch so far
  std::pair<double, double> best_score{-std::numeric_limits<double>::infinity(), -std::numeric_limits<double>::infinity()};
  std::int64_t best_epoch = -1;
  std::int64_t epochs_without_improvement = 0;
  // The epoch's batches are done and its buffers averaged, its validation
  // and record not yet: a stop signal during the validation pass checkpoints
  // this, and the rerun ends the epoch without averaging the buffers again
  // (a mean of equal float32 values is not always the value at 3 ranks).
  bool end_pending = false;
  // The best validation epoch's parameters and float buffers (BatchNorm's
  // running statistics, averaged over the ranks at the epoch's end): the
  // kept model is that epoch's whole state, not its weights with the last
  // epoch's statistics.
  torch::Tensor best_parameters, best_buffers;
  std::vector<EpochRecord> history;
};

// Options that must match between a checkpoint and the run resuming from it:
// everything that decides the batches, the steps' updates and which epoch is
// kept (a changed schedule, selection or bucketing would silently continue
// another run than the one checkpointed). Not train.epochs nor patience: a
// resumed run may train longer, or stop earlier.
// The training data: samples, lengths and labels, each sample hashed with its
// global index and the hashes summed modulo 2^64 over the ranks, so the
// digest is the same at any rank count. It makes a checkpoint (a finished
// one too, whose resumed run trains nothing) refuse data that changed under
// an unchanged deck and sample count: another simulation, window or scale.
std::uint64_t data_digest(const SampleStore& data, const par::Comm& comm) {
  const std::int64_t fs = data.frame_size();
  std::uint64_t total = 0;
#pragma omp parallel for schedule(static) reduction(+ : total)
  for (std::int64_t i = 0; i < data.size(); ++i) {
    const std::int64_t global = data.first + i, frames = data.lengths[i];
    std::uint64_t h = core::mix_bytes(0xCBF29CE484222325ull, &global, sizeof global);
    h = core::mix_bytes(h, &frames, sizeof frames);
    h = core::mix_bytes(h, data.values.data() + data.offsets[i] * fs, static_cast<std::size_t>(frames * fs) * sizeof(float));
    if (data.labelled) {
      const bool per_frame = data.per_frame_targets;
      const std::int64_t t0 = per_frame ? data.offsets[i] : i, tn = per_frame ? frames : 1;
      h = core::mix_bytes(h, data.targets.data() + t0, static_cast<std::size_t>(tn) * sizeof(std::int64_t));
    }
    total += core::mix64(h);
  }
  return comm.allreduce_sum(total);
}

// Collective when there is a checkpoint (the data digest); without one the
// fingerprint is never compared and the data are not hashed.
std::string fingerprint(const Model& model, const SampleStore& data, const TrainerOptions& o, const par::Comm& comm) {
  std::string spec = model.spec().to_text();
  std::replace(spec.begin(), spec.end(), '\n', ' ');
  const OptimizerSettings& opt = o.optimizer;
  return cat(model.spec().architecture, "|", spec, "|samples=", data.global_count,
             "|batch=", o.global_batch, "|seed=", o.seed, "|member=", o.member, "|optimizer=", opt.name,
             "|lr=", opt.learning_rate, "|validation=", o.validation_fraction, "|test=", o.test_fraction,
             "|augment=", o.augment, "|momentum=", opt.momentum, "|nesterov=", opt.nesterov, "|decay=", opt.decay,
             "|weight_decay=", opt.weight_decay, "|warmup=", opt.warmup_steps, "|clip=", opt.clip_grad_norm,
             "|select_by=", o.select_by, "|bucket_batches=", o.bucket_batches, "|data=", std::hex,
             o.checkpoint_path.empty() ? 0 : data_digest(data, comm));
}

constexpr int kRecordFields = 12;

torch::Tensor history_tensor(const std::vector<EpochRecord>& history) {
  auto t = torch::zeros({static_cast<std::int64_t>(history.size()), kRecordFields}, torch::kFloat64);
  for (std::size_t i = 0; i < history.size(); ++i) {
    const auto& r = history[i];
    const double row[kRecordFields] = {double(r.epoch), double(r.step), r.learning_rate, r.train_loss,
                                       r.train_cross_entropy, r.train_reconstruction, r.train_accuracy,
                                       r.validation_loss, r.validation_accuracy, r.samples_per_s, r.seconds,
                                       r.communication_wait_s};
    for (int j = 0; j < kRecordFields; ++j) t[i][j] = row[j];
  }
  return t;
}

std::vector<EpochRecord> history_from(const torch::Tensor& t) {
  std::vector<EpochRecord> out;
  auto a = t.accessor<double, 2>();
  for (std::int64_t i = 0; i < t.size(0); ++i) {
    EpochRecord r;
    r.epoch = static_cast<std::int64_t>(a[i][0]);
    r.step = static_cast<std::int64_t>(a[i][1]);
    r.learning_rate = a[i][2];
    r.train_loss = a[i][3];
    r.train_cross_entropy = a[i][4];
    r.train_reconstruction = a[i][5];
    r.train_accuracy = a[i][6];
    r.validation_loss = a[i][7];
    r.validation_accuracy = a[i][8];
    r.samples_per_s = a[i][9];
    r.seconds = a[i][10];
    r.communication_wait_s = a[i][11];
    out.push_back(r);
  }
  return out;
}

// This rank's float32 buffers (BatchNorm running statistics), flattened in
// named_buffers order. Each rank updates its own from its share of every
// batch, so they differ between the ranks until end_epoch averages them: a
// checkpoint within an epoch keeps every rank's (checkpoint "rank_buffers").
std::vector<float> local_float_buffers(Model& model) {
  std::vector<float> out;
  for (const auto& b : model.named_buffers()) {
    if (b.value().scalar_type() != torch::kFloat32) continue;
    const torch::Tensor t = b.value().detach().to(torch::kCPU).contiguous();
    out.insert(out.end(), t.data_ptr<float>(), t.data_ptr<float>() + t.numel());
  }
  return out;
}

std::int64_t float_buffer_values(Model& model) {
  std::int64_t n = 0;
  for (const auto& b : model.buffers())
    if (b.scalar_type() == torch::kFloat32) n += b.numel();
  return n;
}

void set_float_buffers(Model& model, const torch::Tensor& flat) {
  torch::NoGradGuard no_grad;
  std::int64_t at = 0;
  for (auto& b : model.named_buffers()) {
    if (b.value().scalar_type() != torch::kFloat32) continue;
    const std::int64_t n = b.value().numel();
    b.value().copy_(flat.narrow(0, at, n).view(b.value().sizes()));
    at += n;
  }
}

// Rank 0 writes the checkpoint under a temporary name and renames it; every
// rank learns whether that worked.
void save_checkpoint(const std::string& path, const TrainingState& s, Model& model, GradientSynchroniser& sync,
                     torch::optim::Optimizer& optimizer, const std::string& print, const par::Comm& comm) {
  const std::vector<float> local_buffers = local_float_buffers(model);
  const std::vector<float> rank_buffers = comm.gatherv(local_buffers);  // rank-major, on rank 0
  par::collectively(comm, [&] {
    if (!comm.is_root()) return;
    torch::serialize::OutputArchive archive;
    archive.write("fingerprint", c10::IValue(print));
    archive.write("flat_parameters", sync.flat_parameters().detach().to(torch::kCPU));
    for (const auto& b : model.named_buffers()) archive.write("buffer." + b.key(), b.value().detach().to(torch::kCPU), true);
    if (!local_buffers.empty()) {
      const auto per_rank = static_cast<std::int64_t>(local_buffers.size());
      archive.write("rank_buffers",
                    torch::tensor(rank_buffers, torch::kFloat32).view({comm.size(), per_rank}), true);
    }
    torch::serialize::OutputArchive opt;
    optimizer.save(opt);
    archive.write("optimizer", opt);
    archive.write("counters", torch::tensor({s.epoch, s.next_batch, s.step, s.best_epoch, s.epochs_without_improvement,
                                             std::int64_t{s.end_pending}},
                                            torch::kInt64));
    // The epoch's metric sums (packed), then the best validation score.
    const auto packed = s.epoch_sums.pack();
    auto sums = torch::zeros({static_cast<std::int64_t>(MetricSums::kPacked) + 2}, torch::kFloat64);
    for (std::size_t i = 0; i < MetricSums::kPacked; ++i) sums[static_cast<std::int64_t>(i)] = packed[i];
    sums[MetricSums::kPacked] = s.best_score.first;
    sums[MetricSums::kPacked + 1] = s.best_score.second;
    archive.write("sums", sums);
    archive.write("history", history_tensor(s.history));
    if (s.best_parameters.defined()) archive.write("best_parameters", s.best_parameters, true);
    if (s.best_buffers.defined()) archive.write("best_buffers", s.best_buffers, true);
    io::AtomicFile file(path);
    archive.save_to(file.path());
    file.commit();
  });
}

// The fields in which two fingerprints differ, "name: checkpoint → this run"
// (the model spec is the second field, unnamed).
std::string fingerprint_difference(const std::string& stored, const std::string& print) {
  // name -> value, in order: the architecture and the model spec first, then name=value fields.
  auto fields = [](const std::string& s) {
    std::vector<std::pair<std::string, std::string>> out;
    std::size_t at = 0;
    for (bool last = false; !last;) {
      std::size_t bar = s.find('|', at);
      last = bar == std::string::npos;
      const std::string f = s.substr(at, last ? std::string::npos : bar - at);
      const std::size_t eq = f.find('=');
      if (out.size() < 2) out.emplace_back(out.empty() ? "architecture" : "model", f);
      else out.emplace_back(f.substr(0, eq), eq == std::string::npos ? "" : f.substr(eq + 1));
      at = bar + 1;
    }
    return out;
  };
  const auto before = fields(stored), now = fields(print);
  std::string out, unrecorded;
  for (const auto& [name, value] : now) {
    const auto it = std::find_if(before.begin(), before.end(), [&](const auto& f) { return f.first == name; });
    if (it == before.end()) unrecorded += (unrecorded.empty() ? "" : ", ") + name;
    else if (it->second != value)
      out += cat(out.empty() ? "" : "; ", name, ": ", it->second, " in the checkpoint, ", value, " now");
  }
  if (!unrecorded.empty())
    out += cat(out.empty() ? "" : "; ", "not recorded in the checkpoint (it predates them): ", unrecorded);
  return out;
}

bool load_checkpoint(const std::string& path, TrainingState& s, Model& model, GradientSynchroniser& sync,
                     torch::optim::Optimizer& optimizer, const std::string& print, const par::Comm& comm) {
  const int exists = comm.allreduce_min<int>(std::filesystem::exists(path) ? 1 : 0);
  if (!exists) return false;
  par::collectively(comm, [&] {
    torch::serialize::InputArchive archive;
    try {
      archive.load_from(path);
    } catch (const c10::Error& e) {
      throw InputError(cat(path, ": not a readable phenoscale checkpoint (", std::string(e.what_without_backtrace()).substr(0, 120), ")"));
    }
    c10::IValue stored;
    archive.read("fingerprint", stored);
    // Checkpoints before 2026-12-06 record the settings up to the augmentation
    // only: resumed, with the rest unchecked (as they were then).
    // Those before the afternoon of 2026-12-06 do not record the training data (a digest).
    const std::string legacy = print.substr(0, print.find("|momentum="));
    const std::string without_data = print.substr(0, print.find("|data="));
    if (stored.toStringRef() == legacy && legacy != print) {
      core::Log::warn(cat(path, ": a checkpoint from before 2026-12-06; its optimiser schedule, selection, "
                                "bucketing settings and training data are not recorded in it and were not checked"));
    } else if (stored.toStringRef() == without_data && without_data != print) {
      core::Log::warn(cat(path, ": a checkpoint without a data digest (written before 2026-12-06 17:30 UTC); the "
                                "training data it was trained on are not recorded in it and were not checked against "
                                "this run's"));
    } else if (stored.toStringRef() != print) {
      throw ConfigError(cat(path, ": checkpoint was written by a different configuration (",
                            fingerprint_difference(stored.toStringRef(), print),
                            "); delete it, set train.resume = false, or restore the deck and data"));
    }
    torch::NoGradGuard no_grad;
    // InputArchive::read copies into a defined tensor: read into fresh ones.
    auto read = [&](const std::string& key, bool buffer = false) {
      torch::Tensor t;
      archive.read(key, t, buffer);
      return t;
    };
    sync.flat_parameters().detach().copy_(read("flat_parameters"));
    for (auto& b : model.named_buffers()) b.value().copy_(read("buffer." + b.key(), true));
    // Each rank's own float buffers where the checkpoint has them for this
    // rank count (since 2026-12-05); at another rank count their mean on
    // every rank (what the epoch's end would have averaged; in double, so
    // that the equal rows of an epoch's end keep their value); checkpoints
    // without them: rank 0's.
    torch::Tensor rank_buffers;
    const std::int64_t mine = float_buffer_values(model);
    if (mine > 0 && archive.try_read("rank_buffers", rank_buffers, true) && rank_buffers.dim() == 2 &&
        rank_buffers.size(1) == mine)
      set_float_buffers(model, rank_buffers.size(0) == comm.size()
                                   ? rank_buffers[comm.rank()]
                                   : rank_buffers.to(torch::kFloat64).mean(0).to(torch::kFloat32));
    torch::serialize::InputArchive opt;
    archive.read("optimizer", opt);
    optimizer.load(opt);
    const torch::Tensor counters = read("counters");
    auto c = counters.accessor<std::int64_t, 1>();
    s.epoch = c[0];
    s.next_batch = c[1];
    s.step = c[2];
    s.best_epoch = c[3];
    s.epochs_without_improvement = c[4];
    s.end_pending = counters.size(0) > 5 && c[5] != 0;  // checkpoints before 2026-12-05 have 5 counters
    const torch::Tensor t = read("sums").contiguous();
    const double* sums = t.data_ptr<double>();
    s.epoch_sums = MetricSums::unpack(sums);
    s.best_score = {sums[MetricSums::kPacked], sums[MetricSums::kPacked + 1]};
    s.history = history_from(read("history"));
    torch::Tensor best;
    if (archive.try_read("best_parameters", best, true)) s.best_parameters = best;
    torch::Tensor best_buffers;  // checkpoints before 2026-12-06 have none: the last epoch's stay
    if (archive.try_read("best_buffers", best_buffers, true)) s.best_buffers = best_buffers;
  });
  return true;
}

void write_metrics(const std::string& path, const std::vector<EpochRecord>& history) {
  std::vector<std::vector<double>> cols(kRecordFields);
  for (const auto& r : history) {
    const double row[kRecordFields] = {double(r.epoch), double(r.step), r.learning_rate, r.train_loss,
                                       r.train_cross_entropy, r.train_reconstruction, r.train_accuracy,
                                       r.validation_loss, r.validation_accuracy, r.samples_per_s, r.seconds,
                                       r.communication_wait_s};
    for (int j = 0; j < kRecordFields; ++j) cols[j].push_back(row[j]);
  }
  io::write_csv_table(path,
                      {"epoch", "step", "learning_rate", "train_loss", "train_cross_entropy", "train_reconstruction",
                       "train_accuracy", "validation_loss", "validation_accuracy", "samples_per_s", "seconds",
                       "communication_wait_s"},
                      cols);
}

// Step t's dropout seed, the same on every rank: masks are keyed by it and
// each sample's global index (row_dropout), so a resumed run draws the same
// masks without saving generator state, at any rank count. torch's own
// generator gets a per-rank seed of the step (nothing in training draws
// from it now; kept so any future draw stays reproducible on resume).
std::uint64_t seed_step(std::uint64_t seed, std::int64_t step, int rank) {
  core::Rng rng(seed, core::Stream::dropout, static_cast<std::uint64_t>(step));
  const std::uint64_t dropout_seed = rng.next_u64();
  core::Rng per_rank(seed, core::Stream::init, (static_cast<std::uint64_t>(step) << 16) + static_cast<std::uint64_t>(rank));
  torch::manual_seed(per_rank.next_u64() >> 1);
  return dropout_seed;
}

// bf16 autocast on CPU (or CUDA) for the forward pass, off by default.
class AutocastGuard {
 public:
  AutocastGuard(bool enabled, bool cuda) : enabled_(enabled), cuda_(cuda) {
    if (!enabled_) return;
    if (cuda_) {
      at::autocast::set_enabled(true);
      at::autocast::set_autocast_gpu_dtype(at::kBFloat16);  // CUDA autocast's default is fp16
    } else {
      at::autocast::set_cpu_enabled(true);
      at::autocast::set_autocast_cpu_dtype(at::kBFloat16);
    }
  }
  ~AutocastGuard() {
    if (!enabled_) return;
    if (cuda_) at::autocast::set_enabled(false);
    else at::autocast::set_cpu_enabled(false);
    at::autocast::clear_cache();
  }

 private:
  bool enabled_, cuda_;
};

torch::Device choose_device(const TrainerOptions& o, const par::Allreducer& reducer, const par::Comm& comm) {
  torch::Device device(torch::kCPU);
  // One GPU per node-local rank, as the NCCL allreducer binds its
  // communicator (par/nccl_allreducer.cpp): the global rank would pick
  // another GPU on every node but the first.
  const int node_rank = o.device == "cuda" ? comm.split_shared().rank() : 0;
  par::collectively(comm, [&] {
    if (o.device == "cuda") {
      if (!torch::cuda::is_available()) {
        throw ConfigError("train.device = \"cuda\" but this LibTorch has no CUDA support or no GPU is visible; "
                          "build against a CUDA LibTorch with -DPHENOSCALE_WITH_CUDA=ON, or use device = \"cpu\"");
      }
      const auto gpus = static_cast<int>(torch::cuda::device_count());
      device = torch::Device(torch::kCUDA, static_cast<c10::DeviceIndex>(node_rank % gpus));
    } else if (o.device != "cpu") {
      throw ConfigError(cat("train.device = \"", o.device, "\": expected \"cpu\" or \"cuda\""));
    }
    if (reducer.device_memory() != device.is_cuda()) {
      throw ConfigError(cat("train.allreduce = \"", reducer.name(), "\" works on ",
                            reducer.device_memory() ? "GPU" : "host", " memory but train.device = \"", o.device,
                            "\"; use allreduce = \"", device.is_cuda() ? "nccl" : "mpi", "\""));
    }
  });
  return device;
}

Batch to_device(Batch b, const torch::Device& device) {
  if (device.is_cpu()) return b;
  b.inputs = b.inputs.to(device);
  if (b.targets.defined()) b.targets = b.targets.to(device);
  if (b.mask.defined()) b.mask = b.mask.to(device);
  return b;  // lengths stay on the host (packed sequences need them there)
}

// One allreduce per step: this rank's metric sums and whether it received a
// stop signal (the sum of the flags).
std::pair<MetricSums, bool> allreduce_step(const MetricSums& local, bool stop, const par::Comm& comm) {
  std::array<double, MetricSums::kPacked + 1> v{};
  const auto packed = local.pack();
  std::copy(packed.begin(), packed.end(), v.begin());
  v[MetricSums::kPacked] = stop ? 1.0 : 0.0;
  comm.allreduce_sum_span(v.data(), v.size());
  return {MetricSums::unpack(v.data()), v[MetricSums::kPacked] > 0};
}

// A NaN or infinite loss never recovers: every later step, the checkpoint
// and the model file would carry it. The sums are global, so every rank
// stops together with the same message (as Keras' TerminateOnNaN, but an
// error: the run did not produce a model).
void throw_if_diverged(const MetricSums& global, const TrainingState& state, double lr, const TrainerOptions& o) {
  const double loss = global.cross_entropy_sum + global.squared_error_sum;
  if (std::isfinite(loss)) return;
  throw Error(cat("train: the training loss became ", std::isnan(loss) ? "NaN" : "infinite",
                  " at epoch ", state.epoch + 1, ", step ", state.step + 1, " (", o.optimizer.name,
                  ", learning rate ", lr, "): the model diverged; lower train.learning_rate"));
}

// Higher is better; accuracy ties (common on easy data) go to the lower loss.
std::pair<double, double> validation_score(const MetricSums& m, const std::string& select_by, double weight) {
  if (select_by == "loss") return {-m.loss(weight), m.accuracy()};
  return {m.accuracy(), -m.loss(weight)};
}

}  // namespace

MetricSums evaluate(Model& model, const SampleStore& data, const std::vector<std::int64_t>& pool,
                    std::int64_t global_batch, const par::Comm& comm, bool* stopped) {
  torch::NoGradGuard no_grad;
  model.eval();
  const auto& arch = find_architecture(model.spec().architecture);
  const double weight = reconstruction_weight(model.spec());
  const torch::Device device = model.parameters().empty() ? torch::Device(torch::kCPU) : model.parameters().front().device();
  DistributedSampler order(pool, data.all_lengths, {global_batch, 0, false, 0});
  MetricSums local;
  if (stopped) *stopped = false;
  for (const auto& global : order.epoch(0)) {
    if (stopped && comm.allreduce_max(static_cast<int>(core::StopSignal::received())) != 0) {
      *stopped = true;  // every rank alike: the allreduce is the agreement
      return local;
    }
    const auto mine = DistributedSampler::slice(global, comm.rank(), comm.size());
    const SampleStore samples = fetch(data, mine, comm);
    if (mine.empty()) continue;
    Batch batch = to_device(collate(samples, mine, double(global.size()), order.frames(global)), device);
    local.add(compute_loss(arch.task, model.forward(batch), batch, weight).sums);
  }
  auto packed = local.pack();
  comm.allreduce_sum_span(packed.data(), packed.size());
  return MetricSums::unpack(packed.data());
}

ModelSpec fit_spec_to_data(ModelSpec spec, const SampleStore& data, const std::string& where, const par::Comm& comm) {
  const auto& arch = find_architecture(spec.architecture);
  std::int64_t max_label = -1;
  for (auto t : data.targets) max_label = std::max(max_label, t);
  max_label = comm.allreduce_max(max_label);
  par::collectively(comm, [&] {
    const bool sequences = arch.input == InputKind::sequence;
    if (sequences != data.sequences) {
      throw InputError(cat(where, ": model '", spec.architecture, "' takes ", sequences ? "variable-length series (a CSR group with values and offsets)" : "fixed-shape samples",
                           " but the data holds ", data.sequences ? "variable-length series" : "fixed-shape samples"));
    }
    if (spec.values.count("inputs") && spec.integer("inputs") == 0) spec.values["inputs"] = double(data.frame_size());
    if (spec.values.count("channels") && spec.integer("channels") == 0) spec.values["channels"] = double(data.frame_size());
    const auto expected = expected_sample_shape(spec);
    if (!sequences && !expected.empty()) {
      const bool flat_ok = expected.size() == 1 && data.frame_size() == expected[0];
      if (data.sample_shape != expected && !flat_ok) {
        std::vector<std::uint64_t> e(expected.begin(), expected.end()), f(data.sample_shape.begin(), data.sample_shape.end());
        // The key that fixes the shape: `size` of the cubic 3D CNNs, `inputs` of the MLP.
        const std::string key = spec.values.count("size") ? "size" : "inputs";
        throw InputError(cat(where, ": samples have shape ", io::shape_string(f), " but model '", spec.architecture,
                             "' expects ", io::shape_string(e), " (model.", spec.architecture, ".", key,
                             " when training; a trained model keeps the shape it was trained on)"));
      }
    }
    // A series model names its values per frame `inputs` when `channels` means its own width (unet1d).
    const std::string frame_key = spec.values.count("inputs") ? "inputs" : "channels";
    if (sequences && spec.values.count(frame_key) && spec.integer(frame_key) != data.frame_size()) {
      throw InputError(cat(where, ": series have ", data.frame_size(), " values per frame but model.", spec.architecture,
                           ".", frame_key, " = ", spec.integer(frame_key)));
    }
    if (arch.task == Task::segment && data.labelled && !data.per_frame_targets) {
      throw InputError(cat(where, ": model '", spec.architecture, "' predicts one class per frame and needs per-frame labels (a CSR group)"));
    }
    if (spec.values.count("classes") && max_label >= spec.integer("classes")) {
      throw InputError(cat(where, ": label ", max_label, " is outside the model's ", spec.integer("classes"),
                           " classes (set model.", spec.architecture, ".classes)"));
    }
  });
  return spec;
}

namespace {

// Validates the options that only the trainer knows (collective) and returns
// the augmentation of training batches.
const Augmentation& checked_augmentation(const TrainerOptions& o, const SampleStore& data, const par::Comm& comm) {
  const Augmentation* augmentation = nullptr;
  par::collectively(comm, [&] {
    if (!data.labelled) throw InputError("training needs labelled data");
    if (o.precision != "fp32" && o.precision != "bf16") {
      throw ConfigError(cat("train.precision = \"", o.precision, "\": expected \"fp32\" or \"bf16\""));
    }
    if (o.select_by != "accuracy" && o.select_by != "loss") {
      throw ConfigError(cat("train.select_by = \"", o.select_by, "\": expected \"accuracy\" or \"loss\""));
    }
    augmentation = &find_augmentation(o.augment);
    const int dims = augmentation->spatial_dims;
    if (dims > 0 && (data.sequences || static_cast<int>(data.sample_shape.size()) < dims)) {
      throw ConfigError(cat("train.augment = \"", o.augment, "\" needs samples with ", dims,
                            " spatial dimensions; found ", data.sequences ? "series of " : "samples of shape ",
                            io::shape_string({data.sample_shape.begin(), data.sample_shape.end()})));
    }
  });
  return *augmentation;
}

Model& on_device(Model& model, const torch::Device& device) {
  model.to(device);
  return model;
}

// Bookkeeping of the epoch in progress (this process's part of it: a
// resumed epoch counts only the batches run since the resume).
struct EpochTally {
  Clock::time_point start = Clock::now();
  double wait_before = 0.0;
  double samples = 0.0;
  std::optional<core::Progress> progress;  // none for quiet runs

  void begin(double wait_seconds) {
    start = Clock::now();
    wait_before = wait_seconds;
    samples = 0.0;
    progress.reset();
  }
};

// One call of train(): the steps of the loop as named member functions.
class TrainingRun {
 public:
  TrainingRun(Model& model, const SampleStore& data, const TrainerOptions& o, const par::Comm& comm)
      : model_(model),
        data_(data),
        o_(o),
        comm_(comm),
        arch_(find_architecture(model.spec().architecture)),
        weight_(reconstruction_weight(model.spec())),
        augmentation_(checked_augmentation(o, data, comm)),
        reducer_(par::make_allreducer(o.allreduce, comm)),
        device_(choose_device(o, *reducer_, comm)),
        // 1. Identical replicas: rank 0's initial weights everywhere (below).
        sync_(on_device(model, device_), *reducer_, comm, o.sync),
        // 2. The seeded split and the rank-independent sampler.
        split_(make_split(data, o, comm)),
        sampler_(split_.train, data.sequences ? data.all_lengths : std::vector<std::int64_t>{},
                 {o.global_batch, o.member_seed(), true, data.sequences ? o.bucket_batches : 0}),
        print_(fingerprint(model, data, o, comm)) {
    sync_.broadcast_from_root();
    optimizer_ = make_optimizer(o.optimizer, {sync_.flat_parameters()});
    result_.reconstruction_weight = weight_;
  }

  TrainingResult run() {
    resume_if_possible();
    announce();
    // True before any epoch only in a run resumed after its early stop (a
    // stop signal during the test evaluation): it trains no further.
    bool stopped_early = stop_early();
    if (!stopped_early && state_.end_pending) {  // resumed from a stop in a validation pass
      end_epoch();
      checkpoint();
      stopped_early = stop_early();
    }
    while (!stopped_early && state_.epoch < o_.epochs && !reached_max_steps()) {
      if (!run_epoch()) break;  // max_steps inside the epoch: no record
      end_epoch();
      checkpoint();
      stopped_early = stop_early();
    }
    return finish();
  }

 private:
  static Split make_split(const SampleStore& data, const TrainerOptions& o, const par::Comm& comm) {
    Split split;
    par::collectively(comm, [&] { split = split_samples(data.global_count, o.validation_fraction, o.test_fraction, o.seed); });
    return split;
  }

  // 3. Resume when a checkpoint of this configuration exists.
  void resume_if_possible() {
    if (o_.checkpoint_path.empty() || !o_.resume) return;
    if (!load_checkpoint(o_.checkpoint_path, state_, model_, sync_, *optimizer_, print_, comm_)) return;
    result_.resumed = true;
    say(o_, cat("train: resumed from ", o_.checkpoint_path, " at epoch ", state_.epoch + 1, ", batch ",
                state_.next_batch, " (step ", state_.step, ")"));
  }

  void announce() const {
    say(o_, cat("train: ", arch_.name, " (", sync_.parameter_count(), " parameters, ", sync_.bucket_count(),
                " gradient bucket(s)) on ", split_.train.size(), " samples, ", split_.validation.size(),
                " validation, ", split_.test.size(), " test; global batch ", o_.global_batch, " over ",
                comm_.size(), " rank(s), allreduce ", reducer_->name(), o_.sync.overlap ? " overlapped" : " after backward",
                o_.checkpoint_path.empty() ? std::string() : cat("; checkpoints to ", o_.checkpoint_path)));
  }

  bool reached_max_steps() const { return o_.max_steps > 0 && state_.step >= o_.max_steps; }

  // The batches of the current epoch from state_.next_batch on, with the
  // checkpoints due after a step. False when max_steps ended it early.
  bool run_epoch() {
    const auto batches = sampler_.epoch(state_.epoch);
    const auto count = static_cast<std::int64_t>(batches.size());
    tally_.begin(sync_.wait_seconds());
    if (!o_.quiet && state_.next_batch < count) {  // not for an epoch resumed at its last step
      tally_.progress.emplace(cat("train epoch ", state_.epoch + 1, "/", o_.epochs), split_.train.size(), 1,
                              o_.progress_interval_s);
    }
    while (state_.next_batch < count) {
      const bool stop_requested = train_step(batches[static_cast<std::size_t>(state_.next_batch)]);
      if (stop_requested) preempt();
      if (o_.checkpoint_every_steps > 0 && state_.step % o_.checkpoint_every_steps == 0) checkpoint();
      if (reached_max_steps()) {
        checkpoint();
        break;
      }
    }
    if (tally_.progress) tally_.progress->finish();
    return state_.next_batch >= count;
  }

  // One optimiser step on the global batch `global`; advances the state to
  // the next batch. Returns whether any rank received a stop signal.
  bool train_step(const std::vector<std::int64_t>& global) {
    const auto mine = DistributedSampler::slice(global, comm_.rank(), comm_.size());
    const SampleStore samples = fetch(data_, mine, comm_);
    const double lr = schedule_learning_rate(*optimizer_, o_.optimizer, state_.step);
    sync_.start_step();
    MetricSums local;
    if (!mine.empty()) local = forward_backward(samples, mine, global);
    sync_.finish_step();
    // The gradient is now the global sum, the same on every rank: clipping
    // it here keeps the update rank-count independent.
    if (o_.optimizer.clip_grad_norm > 0) clip_gradient_norm(sync_.flat_parameters(), o_.optimizer.clip_grad_norm);
    optimizer_->step();
    const auto [sums, stop] = allreduce_step(local, core::StopSignal::received() != 0, comm_);
    throw_if_diverged(sums, state_, lr, o_);
    state_.epoch_sums.add(sums);
    ++state_.step;
    ++state_.next_batch;
    tally_.samples += double(global.size());
    if (tally_.progress) tally_.progress->advance(global.size());
    return stop;
  }

  // Forward and backward of this rank's share of the batch; its loss sums.
  MetricSums forward_backward(const SampleStore& samples, const std::vector<std::int64_t>& mine,
                              const std::vector<std::int64_t>& global) {
    Batch batch = to_device(collate(samples, mine, double(global.size()), sampler_.frames(global)), device_);
    batch.inputs = augmentation_.apply(batch.inputs, batch.indices, o_.member_seed(), state_.epoch);
    batch.dropout_seed = seed_step(o_.member_seed(), state_.step, comm_.rank());
    model_.train();
    ModelOutput out;
    {
      AutocastGuard autocast(o_.precision == "bf16", device_.is_cuda());
      out = model_.forward(batch);
    }
    if (o_.precision == "bf16") {
      out.logits = out.logits.to(torch::kFloat32);
      if (out.reconstruction.defined()) out.reconstruction = out.reconstruction.to(torch::kFloat32);
    }
    LossResult loss = compute_loss(arch_.task, out, batch, weight_);
    loss.loss.backward();
    return loss.sums;
  }

  // 4. Epoch end: one model on every rank, validation, selection, log; the
  // state moves on to the start of the next epoch.
  void end_epoch() {
    if (!state_.end_pending) sync_.average_buffers();
    state_.end_pending = true;
    EpochRecord rec = training_record();
    if (!split_.validation.empty()) validate(rec);
    state_.history.push_back(rec);
    say(o_, cat("epoch ", rec.epoch, "/", o_.epochs, ": loss ", rec.train_loss, ", accuracy ", rec.train_accuracy,
                split_.validation.empty() ? std::string()
                                          : cat(" | validation loss ", rec.validation_loss, ", accuracy ",
                                                rec.validation_accuracy),
                " | ", static_cast<std::int64_t>(rec.samples_per_s), " samples/s"));
    if (!o_.metrics_csv.empty())  // agreed: a write error on rank 0 ends every rank with its message
      par::collectively(comm_, [&] {
        if (comm_.is_root()) write_metrics(o_.metrics_csv, state_.history);
      });
    state_.epoch_sums = MetricSums{};
    state_.next_batch = 0;
    state_.end_pending = false;
    ++state_.epoch;
  }

  EpochRecord training_record() const {
    EpochRecord rec;
    rec.epoch = state_.epoch + 1;
    rec.step = state_.step;
    // The rate of the epoch's last step (also right for an epoch that was
    // resumed at its very end).
    rec.learning_rate = state_.step > 0 ? scheduled_learning_rate(o_.optimizer, state_.step - 1) : 0.0;
    rec.train_cross_entropy = state_.epoch_sums.cross_entropy();
    rec.train_reconstruction = state_.epoch_sums.reconstruction();
    rec.train_loss = state_.epoch_sums.loss(weight_);
    rec.train_accuracy = state_.epoch_sums.accuracy();
    rec.seconds = seconds_since(tally_.start);
    rec.samples_per_s = rec.seconds > 0 ? tally_.samples / rec.seconds : 0.0;
    rec.communication_wait_s = sync_.wait_seconds() - tally_.wait_before;
    return rec;
  }

  // Validation metrics into `rec`; keeps the parameters of the best epoch.
  // A stop signal during the pass (long for big 3-D sets, with no training
  // step to notice it) checkpoints the epoch as trained but not validated
  // (TrainingState::end_pending) and ends the run; the rerun validates it.
  void validate(EpochRecord& rec) {
    bool stopped = false;
    const MetricSums v = evaluate(model_, data_, split_.validation, o_.global_batch, comm_, &stopped);
    if (stopped) preempt("validation of epoch " + std::to_string(state_.epoch + 1));
    rec.validation_loss = v.loss(weight_);
    rec.validation_accuracy = v.accuracy();
    const auto score = validation_score(v, o_.select_by, weight_);
    if (score > state_.best_score) {
      state_.best_score = score;
      state_.best_epoch = rec.epoch;
      state_.best_parameters = sync_.flat_parameters().detach().clone();
      if (float_buffer_values(model_) > 0) state_.best_buffers = torch::tensor(local_float_buffers(model_), torch::kFloat32);
      state_.epochs_without_improvement = 0;
    } else {
      ++state_.epochs_without_improvement;
    }
  }

  bool stop_early() {
    if (o_.patience <= 0 || state_.epochs_without_improvement < o_.patience) return false;
    say(o_, cat("train: early stop, no improvement for ", o_.patience, " epoch(s)"));
    result_.early_stopped = true;
    return true;
  }

  void checkpoint() {
    if (!o_.checkpoint_path.empty()) save_checkpoint(o_.checkpoint_path, state_, model_, sync_, *optimizer_, print_, comm_);
  }

  [[noreturn]] void preempt(const std::string& during = "") {
    checkpoint();
    throw Preempted(stop_message(during.empty() ? cat("step ", state_.step) : during));
  }

  std::string stop_message(const std::string& at) const {
    if (o_.checkpoint_path.empty()) return cat("stop signal at ", at, "; no train.checkpoint set, progress is lost");
    return cat("stop signal at ", at, "; checkpoint written to ", o_.checkpoint_path,
               o_.resume ? "; run the same command again to resume"
                         : "; train.resume = false: run again with train.resume = true to resume from it");
  }

  // The best model on validation (or the last), the test metrics.
  TrainingResult finish() {
    if (state_.best_parameters.defined()) {
      torch::NoGradGuard no_grad;
      sync_.flat_parameters().detach().copy_(state_.best_parameters);
      if (state_.best_buffers.defined()) set_float_buffers(model_, state_.best_buffers);
      say(o_, cat("train: kept the model of epoch ", state_.best_epoch, " (best validation ", o_.select_by, ")"));
    }
    if (!split_.test.empty()) {
      // No new checkpoint (the model now holds the best epoch's parameters):
      // the last epoch's stands, and the rerun evaluates again from it.
      bool stopped = false;
      result_.test = evaluate(model_, data_, split_.test, o_.global_batch, comm_, &stopped);
      if (stopped) throw Preempted(stop_message("the test evaluation after training"));
    }
    result_.history = state_.history;
    result_.steps = state_.step;
    result_.communication_wait_s = sync_.wait_seconds();
    result_.best_epoch = state_.best_epoch;
    return result_;
  }

  Model& model_;
  const SampleStore& data_;
  const TrainerOptions& o_;
  const par::Comm& comm_;
  const Architecture& arch_;
  const double weight_;
  const Augmentation& augmentation_;
  std::unique_ptr<par::Allreducer> reducer_;
  const torch::Device device_;
  GradientSynchroniser sync_;
  const Split split_;
  DistributedSampler sampler_;
  const std::string print_;
  std::unique_ptr<torch::optim::Optimizer> optimizer_;
  core::StopSignal stop_signal_;
  TrainingState state_;
  EpochTally tally_;
  TrainingResult result_;
};

}  // namespace

TrainingResult train(Model& model, const SampleStore& data, const TrainerOptions& o, const par::Comm& comm) {
  TrainingRun run(model, data, o, comm);
  return run.run();
}

}  // namespace phenoscale::nn
