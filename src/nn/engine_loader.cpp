// engine.hpp's entry points that run a network, forwarded to the LibTorch
// half of the engine, which is loaded on the first call (torch_engine.hpp
// says why). A stage that never trains or predicts never loads LibTorch.
#include <dlfcn.h>

#include <cstdlib>
#include <filesystem>
#include <mutex>
#include <optional>

#include "phenoscale/core/error.hpp"
#include "phenoscale/core/log.hpp"
#include "phenoscale/nn/torch_engine.hpp"
#include "phenoscale/par/agree.hpp"

#ifndef PHENOSCALE_TORCH_MODULE_RELPATH
#define PHENOSCALE_TORCH_MODULE_RELPATH "../lib/phenoscale/libphenoscale_torch.so"
#endif

namespace phenoscale::nn {

using core::cat;

namespace {

std::optional<TorchEngine>& registered() {
  static std::optional<TorchEngine> engine;
  return engine;
}

// $PHENOSCALE_TORCH_MODULE, else ../lib/phenoscale/libphenoscale_torch.so
// beside the executable (the build tree and an installation have the same layout).
std::string torch_module_path() {
  if (const char* path = std::getenv("PHENOSCALE_TORCH_MODULE"); path != nullptr && *path != '\0') return path;
  std::error_code error;
  const auto executable = std::filesystem::read_symlink("/proc/self/exe", error);
  if (error) throw Error(cat("cannot locate the LibTorch engine: /proc/self/exe: ", error.message(),
                             " (set PHENOSCALE_TORCH_MODULE)"));
  return (executable.parent_path() / PHENOSCALE_TORCH_MODULE_RELPATH).lexically_normal().string();
}

// The module is opened once and never closed (LibTorch cannot be unloaded).
const TorchEngine& engine() {
  static std::mutex mutex;
  const std::lock_guard<std::mutex> lock(mutex);
  if (!registered()) {
    const std::string path = torch_module_path();
    if (dlopen(path.c_str(), RTLD_NOW | RTLD_LOCAL) == nullptr) {
      const char* why = dlerror();
      // dlerror() names the file ("PATH: cannot open shared object file: ...").
      throw Error(cat("cannot load the LibTorch engine: ", why ? why : path + ": unknown error",
                      " (set PHENOSCALE_TORCH_MODULE to this build's libphenoscale_torch.so)"));
    }
    if (!registered()) throw Error(cat(path, ": loaded, but it registered no LibTorch engine"));
    core::Log::debug(cat("LibTorch engine loaded from ", path));
  }
  return *registered();
}

// Collective: a rank that cannot load the module fails every rank.
const TorchEngine& engine(const par::Comm& comm) {
  const TorchEngine* loaded = nullptr;
  par::collectively(comm, [&] { loaded = &engine(); });
  return *loaded;
}

}  // namespace

void register_torch_engine(const TorchEngine& engine) { registered() = engine; }

TrainSummary run_training(const core::Config& config, const TrainFiles& files, const io::Provenance& provenance,
                          const par::Comm& comm) {
  return engine(comm).run_training(config, files, provenance, comm);
}

PredictSummary run_prediction(const core::Config& config, const PredictFiles& files, const io::Provenance& provenance,
                              const par::Comm& comm) {
  return engine(comm).run_prediction(config, files, provenance, comm);
}

FramePredictions predict_series(const std::vector<std::string>& models, const SeriesBlock& series,
                                const PredictOptions& options, const std::string& where, const par::Comm& comm) {
  return engine(comm).predict_series(models, series, options, where, comm);
}

std::vector<float> fit_predict_rows(const RowFit& fit, const RowSet& train, const RowSet& test) {
  return engine().fit_predict_rows(fit, train, test);
}

ModelSpec read_model_spec(const std::string& path, const par::Comm& comm) {
  return engine(comm).read_model_spec(path, comm);
}

}  // namespace phenoscale::nn
