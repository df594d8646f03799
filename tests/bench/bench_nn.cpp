// Deep-learning engine benchmarks (run by run_nn.sh, which adds the Python
// PyTorch peer and prints the ratios).
//
//   bench_nn throughput ARCH BATCH STEPS [key=value ...]
//       training samples/s of the full engine step (sampler, batch exchange,
//       forward, backward, gradient sync, optimiser) and inference samples/s,
//       on synthetic data of the architecture's input kind. STEPS = 0:
//       inference only (no training; for networks too big to train here).
//   mpirun -n 2 bench_nn overlap ARCH BATCH STEPS [key=value ...]
//       step time with bucketed allreduce overlapped with backward vs one
//       allreduce after backward, and the exposed (waited-for) communication.
//   bench_nn peak
//       one core's measured FP32 peak (GFLOP/s): independent FMA chains in
//       the widest vector unit the CPU has, the denominator of "of peak".
// Hyper-parameters as key=value (size=32 channels=8 ...); also optimizer=,
// series_min=, series_max= (series lengths, inclusive), bucket_mib=,
// infer_passes= (timed inference passes over the samples, default 1). Values
// per frame of a series: `inputs` where the model has it (unet1d, whose
// `channels` is its own width), else `channels`.
#include <immintrin.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <ctime>
#include <map>
#include <stdexcept>
#include <string>

#include "phenoscale/core/log.hpp"
#include "phenoscale/core/rng.hpp"
#include "phenoscale/nn/engine.hpp"
#include "phenoscale/nn/inference.hpp"
#include "phenoscale/nn/trainer.hpp"
#include "phenoscale/par/environment.hpp"
#include "phenoscale/par/partition.hpp"

using namespace phenoscale;

namespace {

// Twelve independent FMA chains hide the FMA latency (4-5 cycles) on both FMA
// ports; the best of five runs. GFLOP/s = 2 per lane per FMA. The chains are
// twelve named variables with distinct starting values: as an array looped
// over (before 2026-12-06) GCC kept them in memory, one load and one store per
// FMA, and the "peak" was below the core's (Inception3D then ran "above
// peak"); twelve identical chains it merges into one. (The loops are
// written out per instruction set: a target attribute does not reach into
// templates or lambdas.)
constexpr int kChains = 12;
constexpr long kIterations = 20'000'000;

double gflops_of(int lanes, double seconds) { return 2.0 * lanes * kChains * double(kIterations) / seconds / 1e9; }

#define PHENOSCALE_TWELVE_FMAS(fma)                                                                      \
  x0 = fma(x0, a, b), x1 = fma(x1, a, b), x2 = fma(x2, a, b), x3 = fma(x3, a, b), x4 = fma(x4, a, b),    \
  x5 = fma(x5, a, b), x6 = fma(x6, a, b), x7 = fma(x7, a, b), x8 = fma(x8, a, b), x9 = fma(x9, a, b),    \
  x10 = fma(x10, a, b), x11 = fma(x11, a, b)

__attribute__((target("avx2,fma"))) double peak_avx2() {
  double best = 0.0;
  for (int run = 0; run < 5; ++run) {
    const __m256 a = _mm256_set1_ps(0.999999f), b = _mm256_set1_ps(1e-7f);
    // Distinct starting values: twelve identical chains are one to the compiler.
    __m256 x0 = _mm256_set1_ps(0.1f), x1 = _mm256_set1_ps(0.2f), x2 = _mm256_set1_ps(0.3f), x3 = _mm256_set1_ps(0.4f),
           x4 = _mm256_set1_ps(0.5f), x5 = _mm256_set1_ps(0.6f), x6 = _mm256_set1_ps(0.7f), x7 = _mm256_set1_ps(0.8f),
           x8 = _mm256_set1_ps(0.9f), x9 = _mm256_set1_ps(1.0f), x10 = _mm256_set1_ps(1.1f), x11 = _mm256_set1_ps(1.2f);
    const auto t0 = std::chrono::steady_clock::now();
    for (long i = 0; i < kIterations; ++i) PHENOSCALE_TWELVE_FMAS(_mm256_fmadd_ps);
    const double s = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    const __m256 all = _mm256_add_ps(_mm256_add_ps(_mm256_add_ps(x0, x1), _mm256_add_ps(x2, x3)),
                                     _mm256_add_ps(_mm256_add_ps(_mm256_add_ps(x4, x5), _mm256_add_ps(x6, x7)),
                                                   _mm256_add_ps(_mm256_add_ps(x8, x9), _mm256_add_ps(x10, x11))));
    alignas(32) float sink[8];
    _mm256_store_ps(sink, all);
    if (sink[0] == 12345.0f) std::printf(" ");  // keeps the chains alive
    best = std::max(best, gflops_of(8, s));
  }
  return best;
}

__attribute__((target("avx512f"))) double peak_avx512() {
  double best = 0.0;
  for (int run = 0; run < 5; ++run) {
    const __m512 a = _mm512_set1_ps(0.999999f), b = _mm512_set1_ps(1e-7f);
    __m512 x0 = _mm512_set1_ps(0.1f), x1 = _mm512_set1_ps(0.2f), x2 = _mm512_set1_ps(0.3f), x3 = _mm512_set1_ps(0.4f),
           x4 = _mm512_set1_ps(0.5f), x5 = _mm512_set1_ps(0.6f), x6 = _mm512_set1_ps(0.7f), x7 = _mm512_set1_ps(0.8f),
           x8 = _mm512_set1_ps(0.9f), x9 = _mm512_set1_ps(1.0f), x10 = _mm512_set1_ps(1.1f), x11 = _mm512_set1_ps(1.2f);
    const auto t0 = std::chrono::steady_clock::now();
    for (long i = 0; i < kIterations; ++i) PHENOSCALE_TWELVE_FMAS(_mm512_fmadd_ps);
    const double s = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    const __m512 all = _mm512_add_ps(_mm512_add_ps(_mm512_add_ps(x0, x1), _mm512_add_ps(x2, x3)),
                                     _mm512_add_ps(_mm512_add_ps(_mm512_add_ps(x4, x5), _mm512_add_ps(x6, x7)),
                                                   _mm512_add_ps(_mm512_add_ps(x8, x9), _mm512_add_ps(x10, x11))));
    alignas(64) float sink[16];
    _mm512_store_ps(sink, all);
    if (sink[0] == 12345.0f) std::printf(" ");
    best = std::max(best, gflops_of(16, s));
  }
  return best;
}

int peak() {
  __builtin_cpu_init();
  double gflops = 0.0;
  const char* unit = "none";
  if (__builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma")) gflops = peak_avx2(), unit = "avx2-fma";
  if (__builtin_cpu_supports("avx512f")) {
    const double g = peak_avx512();
    if (g > gflops) gflops = g, unit = "avx512-fma";
  }
  std::printf("peak_gflops=%.2f unit=%s\n", gflops, unit);
  return 0;
}

struct Args {
  std::string mode, arch;
  std::int64_t batch = 32, steps = 20;
  std::map<std::string, double> hyper;
  std::string optimizer = "sgd";
  std::int64_t series_min = 50, series_max = 150;
  double bucket_mib = 25.0;
  int infer_passes = 1;
};

nn::SampleStore synthetic(const nn::ModelSpec& spec, const Args& a, std::int64_t n, const par::Comm& comm) {
  const auto& arch = nn::find_architecture(spec.architecture);
  nn::SampleStore s;
  s.sequences = arch.input == nn::InputKind::sequence;
  s.labelled = true;
  s.per_frame_targets = arch.task == nn::Task::segment;
  if (s.sequences) {
    const std::string frame_key = spec.values.count("inputs") ? "inputs" : "channels";
    if (spec.integer(frame_key) < 1) throw std::runtime_error("series models need " + frame_key + "=N (values per frame)");
    s.sample_shape = {spec.integer(frame_key)};
  } else if (spec.values.count("size")) {
    s.sample_shape = {spec.integer("size"), spec.integer("size"), spec.integer("size")};
  } else {
    s.sample_shape = {spec.integer("inputs")};
  }
  const auto r = par::BlockPartition::over(n, comm).range(comm.rank());
  const std::int64_t classes = spec.integer("classes");
  for (auto i = static_cast<std::int64_t>(r.begin); i < static_cast<std::int64_t>(r.end); ++i) {
    core::Rng rng(1, core::Stream::test, i);
    const std::int64_t frames = s.sequences ? a.series_min + static_cast<std::int64_t>(rng.below(a.series_max - a.series_min + 1)) : 1;
    std::vector<float> x(frames * s.frame_size());
    for (auto& v : x) v = static_cast<float>(rng.normal());
    std::vector<std::int64_t> t(s.per_frame_targets ? frames : 1, i % classes);
    s.push_back(x.data(), frames, t.data());
  }
  s.finish_sharding(comm);
  return s;
}

// CPU seconds of this process (all threads).
double cpu_seconds() {
  timespec t{};
  clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &t);
  return double(t.tv_sec) + 1e-9 * double(t.tv_nsec);
}

std::int64_t frames(const nn::SampleStore& data) {
  std::int64_t total = 0;
  for (auto l : data.all_lengths) total += l;
  return total;
}

double timed_training(nn::Model& model, const nn::SampleStore& data, nn::TrainerOptions o, std::int64_t steps,
                      const par::Comm& comm, double* wait_s = nullptr) {
  o.max_steps = steps;
  comm.barrier();
  const auto t0 = std::chrono::steady_clock::now();
  const auto r = nn::train(model, data, o, comm);
  comm.barrier();
  if (wait_s) *wait_s = comm.allreduce_max(r.communication_wait_s);
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
}

nn::TrainerOptions options(const Args& a) {
  nn::TrainerOptions o;
  o.optimizer.name = a.optimizer;
  o.optimizer.learning_rate = 1e-3;
  o.global_batch = a.batch;
  o.epochs = 1000000;
  o.progress_interval_s = 1e9;
  o.sync.bucket_bytes = static_cast<std::size_t>(a.bucket_mib * 1048576.0);
  return o;
}

int run(const Args& a, const par::Comm& comm) {
  nn::configure_threads();
  auto spec = nn::make_spec(a.arch, a.hyper);
  const std::int64_t n = a.batch * 8;
  auto data = synthetic(spec, a, n, comm);
  spec = nn::fit_spec_to_data(spec, data, "synthetic", comm);
  torch::manual_seed(1);
  auto model = nn::make_model(spec);
  std::int64_t params = 0;
  for (const auto& p : model->parameters()) params += p.numel();
  const auto o = options(a);
  if (a.mode == "throughput") {
    // Wall time, and this process's CPU time (less sensitive to other load
    // on a shared machine at one thread).
    double train_wall = 0, train_cpu = 0;
    if (a.steps > 0) {  // STEPS = 0: inference only
      // Warm-up, one whole epoch: allocator, thread pool, and every batch
      // shape (series length) the timed epochs meet, as the peer's.
      timed_training(*model, data, o, (n + a.batch - 1) / a.batch, comm);
      const double c0 = cpu_seconds();
      train_wall = timed_training(*model, data, o, a.steps, comm);
      train_cpu = cpu_seconds() - c0;
    }
    nn::PredictOptions po;
    po.batch = a.batch;
    nn::predict({model}, data, po, comm);  // warm-up
    const double c0 = cpu_seconds();
    const auto t0 = std::chrono::steady_clock::now();
    for (int i = 0; i < a.infer_passes; ++i) nn::predict({model}, data, po, comm);
    const double ti = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count() / a.infer_passes;
    const double infer_cpu = (cpu_seconds() - c0) / a.infer_passes;
    if (comm.is_root()) {
      std::printf("arch=%s params=%lld batch=%lld steps=%lld threads=%d ranks=%d frames=%lld\n", a.arch.c_str(),
                  static_cast<long long>(params), static_cast<long long>(a.batch), static_cast<long long>(a.steps),
                  torch::get_num_threads(), comm.size(), static_cast<long long>(frames(data)));
      if (a.steps > 0) {
        std::printf("train_samples_per_s=%.2f train_cpu_s=%.3f\n", a.steps * a.batch / train_wall, train_cpu);
      }
      std::printf("infer_samples_per_s=%.2f infer_cpu_s=%.3f\n", n / ti, infer_cpu);
    }
    return 0;
  }
  timed_training(*model, data, o, 2, comm);  // warm-up: allocator, thread pool
  auto o2 = o;
  double wait_on = 0, wait_off = 0;
  o2.sync.overlap = true;
  const double on = timed_training(*model, data, o2, a.steps, comm, &wait_on);
  o2.sync.overlap = false;
  const double off = timed_training(*model, data, o2, a.steps, comm, &wait_off);
  if (comm.is_root()) {
    std::printf("arch=%s params=%lld global_batch=%lld steps=%lld ranks=%d bucket_mib=%.1f\n", a.arch.c_str(),
                static_cast<long long>(params), static_cast<long long>(a.batch), static_cast<long long>(a.steps),
                comm.size(), a.bucket_mib);
    std::printf("overlapped_step_s=%.4f overlapped_wait_s=%.4f\nafter_backward_step_s=%.4f after_backward_wait_s=%.4f\n",
                on / a.steps, wait_on / a.steps, off / a.steps, wait_off / a.steps);
  }
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  par::Environment env(argc, argv);
  par::Comm world;
  core::Log::set_level(core::LogLevel::warn);
  if (argc >= 2 && std::string(argv[1]) == "peak") return world.is_root() ? peak() : 0;
  if (argc < 5) {
    if (world.is_root()) std::fprintf(stderr, "usage: bench_nn throughput|overlap ARCH BATCH STEPS [key=value ...] | bench_nn peak\n");
    return 2;
  }
  Args a;
  a.mode = argv[1];
  a.arch = argv[2];
  a.batch = std::stoll(argv[3]);
  a.steps = std::stoll(argv[4]);
  for (int i = 5; i < argc; ++i) {
    const std::string kv = argv[i];
    const auto eq = kv.find('=');
    const std::string k = kv.substr(0, eq), v = kv.substr(eq + 1);
    if (k == "optimizer") a.optimizer = v;
    else if (k == "series_min") a.series_min = std::stoll(v);
    else if (k == "series_max") a.series_max = std::stoll(v);
    else if (k == "bucket_mib") a.bucket_mib = std::stod(v);
    else if (k == "infer_passes") a.infer_passes = std::stoi(v);
    else a.hyper[k] = std::stod(v);
  }
  try {
    return run(a, world);
  } catch (const std::exception& e) {
    std::fprintf(stderr, "bench_nn: %s\n", e.what());
    return 1;
  }
}
