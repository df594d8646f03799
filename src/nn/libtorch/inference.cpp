// Sharded inference, ensembles and temperature scaling (see inference.hpp).
#include "phenoscale/nn/inference.hpp"

#include <algorithm>
#include <cmath>
#include <numeric>
#include <optional>

#include "phenoscale/core/error.hpp"
#include "phenoscale/core/log.hpp"
#include "phenoscale/core/progress.hpp"
#include "phenoscale/core/stop_signal.hpp"
#include "phenoscale/par/agree.hpp"
#include "phenoscale/par/exact_sum.hpp"

namespace phenoscale::nn {

using core::cat;

namespace {

// Member logits of every local row: [members][rows × classes].
struct RawOutputs {
  std::vector<std::vector<float>> member_logits;
  std::vector<float> features;
  std::vector<std::int64_t> labels;  // per row, when labelled
  std::int64_t rows = 0;
};

// Copies row j of a [B, K] tensor, or the first `frames` rows of [B, T, K]
// item j, to `to`.
void copy_rows(const torch::Tensor& cpu, std::int64_t j, std::int64_t frames, float* to) {
  const std::int64_t row = cpu.numel() / cpu.size(0);
  const std::int64_t n = cpu.dim() == 3 ? frames * cpu.size(2) : row;
  std::copy_n(cpu.data_ptr<float>() + j * row, n, to);
}

torch::Tensor contiguous_cpu_float(const torch::Tensor& t) {
  return t.to(torch::kCPU).to(torch::kFloat32).contiguous();
}

// Forward passes of every member over this rank's samples, outputs in
// storage order. Series go to the batches in order of length (stable): a
// recurrent layer runs as many time steps as its batch's longest series, and
// in storage order nearly every batch holds one of ~the longest, so most
// steps would run at a shrinking effective batch (and convolutions on
// padding). A series' outputs do not depend on the other series of its batch
// beyond float rounding (packed sequences, masked padding: bit-identical for
// the LSTMs, ≤ 1e-5 tested; tests/nn/test_trainer_mpi.cpp, test_models.cpp).
// Fixed-shape samples keep storage order.
// A stop signal (SIGTERM/SIGUSR1) ends the loop early; predict's stop point
// then ends the stage on every rank before anything is written.
RawOutputs run_members(const std::vector<std::shared_ptr<Model>>& ensemble, const SampleStore& data, Task task,
                       std::int64_t batch_size, core::Progress* progress) {
  // Inference mode: no autograd bookkeeping (version counters, view
  // tracking), so each of the many small per-step ops of a recurrent layer
  // dispatches straight to its CPU kernel.
  c10::InferenceMode inference_mode;
  RawOutputs raw;
  const bool per_frame = task == Task::segment;
  const std::int64_t n = data.size();
  const std::int64_t k = ensemble.front()->spec().integer("classes");
  raw.member_logits.assign(ensemble.size(), std::vector<float>((per_frame ? data.offsets[n] : n) * k));
  for (auto& m : ensemble) m->eval();
  std::vector<std::int64_t> order(n);
  std::iota(order.begin(), order.end(), 0);
  if (data.sequences) {
    std::stable_sort(order.begin(), order.end(),
                     [&](std::int64_t a, std::int64_t b) { return data.lengths[a] < data.lengths[b]; });
  }
  const auto device = ensemble.front()->parameters().front().device();
  std::int64_t feature_size = -1;
  for (std::int64_t b = 0; b < n && core::StopSignal::received() == 0; b += batch_size) {
    const std::vector<std::int64_t> rows(order.begin() + b, order.begin() + std::min(n, b + batch_size));
    const SampleStore part = local_rows(data, rows);
    std::vector<std::int64_t> idx(rows.size());
    for (std::size_t i = 0; i < rows.size(); ++i) idx[i] = data.first + rows[i];
    Batch batch = collate(part, idx, double(idx.size()), 0.0);
    batch.need_reconstruction = false;
    if (!device.is_cpu()) {
      batch.inputs = batch.inputs.to(device);
      if (batch.mask.defined()) batch.mask = batch.mask.to(device);
    }
    for (std::size_t m = 0; m < ensemble.size(); ++m) {
      const ModelOutput out = ensemble[m]->forward(batch);
      const auto logits = contiguous_cpu_float(out.logits);
      for (std::size_t j = 0; j < rows.size(); ++j) {
        const std::int64_t r = rows[j];
        copy_rows(logits, std::int64_t(j), data.lengths[r], raw.member_logits[m].data() + (per_frame ? data.offsets[r] : r) * k);
      }
      if (m != 0 || per_frame) continue;
      const auto features = contiguous_cpu_float(out.features.reshape({out.features.size(0), -1}));
      if (feature_size < 0) {
        feature_size = features.size(1);
        raw.features.resize(n * feature_size);
      }
      for (std::size_t j = 0; j < rows.size(); ++j) copy_rows(features, std::int64_t(j), 1, raw.features.data() + rows[j] * feature_size);
    }
    if (progress) progress->advance(rows.size());
  }
  if (data.labelled) raw.labels = data.targets;  // per sample or per frame, in storage order
  return raw;
}

// Mean over members of softmax(logits / T), row by row.
void ensemble_probabilities(const RawOutputs& raw, std::int64_t k, double t, std::vector<float>& p) {
  p.assign(raw.rows * k, 0.0f);
  std::vector<double> z(k);
  for (const auto& logits : raw.member_logits) {
    for (std::int64_t r = 0; r < raw.rows; ++r) {
      double mx = -INFINITY, sum = 0.0;
      for (std::int64_t j = 0; j < k; ++j) mx = std::max(mx, logits[r * k + j] / t);
      for (std::int64_t j = 0; j < k; ++j) sum += (z[j] = std::exp(logits[r * k + j] / t - mx));
      for (std::int64_t j = 0; j < k; ++j) p[r * k + j] += static_cast<float>(z[j] / sum / raw.member_logits.size());
    }
  }
}

// Σ −log p[label] and #correct over this rank's rows, then over all ranks.
// The NLL is an exact (fixed-point) sum, so it does not depend on how the
// rows are split over ranks: a fitted temperature is the same at any rank
// count.
std::pair<double, double> nll_and_accuracy(const RawOutputs& raw, std::int64_t k, double t, const par::Comm& comm) {
  std::vector<float> p;
  ensemble_probabilities(raw, k, t, p);
  std::vector<double> terms(static_cast<std::size_t>(raw.rows));
  std::int64_t correct = 0;
  for (std::int64_t r = 0; r < raw.rows; ++r) {
    const float* row = p.data() + r * k;
    terms[r] = -std::log(std::max(1e-30, double(row[raw.labels[r]])));
    correct += (std::max_element(row, row + k) - row) == raw.labels[r] ? 1 : 0;
  }
  const double total = par::exact_sum(terms, comm);
  std::vector<std::int64_t> counts{correct, raw.rows};
  comm.allreduce_sum_inplace(counts);
  const double rows = static_cast<double>(counts[1]);
  return {rows > 0 ? total / rows : 0.0, rows > 0 ? static_cast<double>(counts[0]) / rows : 0.0};
}

double fit_temperature(const RawOutputs& raw, std::int64_t k, const par::Comm& comm) {
  // Golden-section search on log T over [1/20, 20]; the NLL is unimodal in T
  // for one model and in practice for small ensembles.
  const double phi = (std::sqrt(5.0) - 1.0) / 2.0;
  double a = std::log(0.05), b = std::log(20.0);
  double c = b - phi * (b - a), d = a + phi * (b - a);
  double fc = nll_and_accuracy(raw, k, std::exp(c), comm).first, fd = nll_and_accuracy(raw, k, std::exp(d), comm).first;
  for (int it = 0; it < 40; ++it) {
    if (fc < fd) {
      b = d, d = c, fd = fc;
      c = b - phi * (b - a);
      fc = nll_and_accuracy(raw, k, std::exp(c), comm).first;
    } else {
      a = c, c = d, fc = fd;
      d = a + phi * (b - a);
      fd = nll_and_accuracy(raw, k, std::exp(d), comm).first;
    }
  }
  return std::exp((a + b) / 2.0);
}

}  // namespace

Predictions predict(const std::vector<std::shared_ptr<Model>>& ensemble, const SampleStore& data,
                    const PredictOptions& options, const par::Comm& comm) {
  if (ensemble.empty()) throw ConfigError("predict: no model given");
  const auto& arch = find_architecture(ensemble.front()->spec().architecture);
  const std::int64_t k = ensemble.front()->spec().integer("classes");
  par::collectively(comm, [&] {
    for (const auto& m : ensemble) {
      const auto& a = find_architecture(m->spec().architecture);
      if (a.task != arch.task || m->spec().integer("classes") != k) {
        throw ConfigError(cat("ensemble members disagree: '", arch.name, "' (", task_name(arch.task), ", ", k,
                              " classes) and '", a.name, "' (", task_name(a.task), ", ", m->spec().integer("classes"), " classes)"));
      }
    }
    if (options.fit_temperature && !data.labelled) {
      throw ConfigError("predict.fit_temperature = true needs labelled data (set predict.labels_dataset)");
    }
    if (!(options.temperature > 0)) throw ConfigError(cat("predict.temperature = ", options.temperature, ": must be > 0"));
  });
  RawOutputs raw;
  std::optional<core::Progress> progress;
  if (options.progress_interval_s > 0) {
    progress.emplace("inference", comm.allreduce_sum(static_cast<std::uint64_t>(data.size())), comm.size(),
                     options.progress_interval_s);
  }
  par::collectively(comm, [&] {
    raw = run_members(ensemble, data, arch.task, options.batch, progress ? &*progress : nullptr);
  });
  par::stop_point(comm, "inference");
  if (progress) progress->finish();
  raw.rows = static_cast<std::int64_t>(raw.member_logits.front().size()) / k;

  Predictions out;
  out.per_frame = arch.task == Task::segment;
  out.classes = k;
  out.temperature = options.fit_temperature ? fit_temperature(raw, k, comm) : options.temperature;
  if (options.fit_temperature) core::Log::info(cat("predict: fitted temperature T = ", out.temperature));
  ensemble_probabilities(raw, k, out.temperature, out.probabilities);
  out.logits.assign(raw.rows * k, 0.0f);
  for (const auto& logits : raw.member_logits) {
    for (std::size_t i = 0; i < logits.size(); ++i) out.logits[i] += logits[i] / float(ensemble.size());
  }
  out.predicted.resize(raw.rows);
  for (std::int64_t r = 0; r < raw.rows; ++r) {
    const float* row = out.probabilities.data() + r * k;
    out.predicted[r] = std::max_element(row, row + k) - row;
  }
  out.features = std::move(raw.features);
  out.feature_size = data.size() > 0 && !out.per_frame ? static_cast<std::int64_t>(out.features.size()) / data.size() : 0;
  out.feature_size = comm.allreduce_max(out.feature_size);
  if (out.per_frame) out.offsets = data.offsets;
  if (data.labelled) std::tie(out.negative_log_likelihood, out.accuracy) = nll_and_accuracy(raw, k, out.temperature, comm);
  return out;
}

}  // namespace phenoscale::nn
