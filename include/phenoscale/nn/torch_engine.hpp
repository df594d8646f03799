// The seam between the torch-free engine (engine.hpp, in every phenoscale
// process) and its LibTorch half (src/nn/libtorch/, the module
// libphenoscale_torch.so).
//
// Why a module: LibTorch and the ~290 libraries it pulls in take about a
// second to load and initialise, in every process that links them. Most
// stages (simulation, windowing, clustering, statistics, averaging) never
// touch a network, and the test suite and Slurm chains start hundreds of such
// processes. The binary therefore links only this seam; the first call of a
// training or prediction entry point loads the module (dlopen), whose static
// initialiser registers the table below. Tests and benchmarks that link the
// LibTorch half directly register it the same way at start-up.
//
// The module resolves core/par/io/ml/nn from the executable (which exports
// them whole), so there is one copy of the process-wide state: the MPI
// environment, the log and the stop signal.
#pragma once

#include <string>

#include "phenoscale/nn/engine.hpp"

namespace phenoscale::nn {

struct TorchEngine {
  TrainSummary (*run_training)(const core::Config&, const TrainFiles&, const io::Provenance&, const par::Comm&);
  PredictSummary (*run_prediction)(const core::Config&, const PredictFiles&, const io::Provenance&, const par::Comm&);
  FramePredictions (*predict_series)(const std::vector<std::string>&, const SeriesBlock&, const PredictOptions&,
                                     const std::string&, const par::Comm&);
  std::vector<float> (*fit_predict_rows)(const RowFit&, const RowSet&, const RowSet&);
  ModelSpec (*read_model_spec)(const std::string&, const par::Comm&);
};

// Called by the LibTorch half when it is loaded.
void register_torch_engine(const TorchEngine& engine);

// The LibTorch implementations of engine.hpp's entry points.
namespace libtorch {
TrainSummary run_training(const core::Config& config, const TrainFiles& files, const io::Provenance& provenance,
                          const par::Comm& comm);
PredictSummary run_prediction(const core::Config& config, const PredictFiles& files, const io::Provenance& provenance,
                              const par::Comm& comm);
FramePredictions predict_series(const std::vector<std::string>& models, const SeriesBlock& series,
                                const PredictOptions& options, const std::string& where, const par::Comm& comm);
std::vector<float> fit_predict_rows(const RowFit& fit, const RowSet& train, const RowSet& test);
ModelSpec read_model_spec(const std::string& path, const par::Comm& comm);
}  // namespace libtorch

}  // namespace phenoscale::nn
