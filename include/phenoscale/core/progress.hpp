// Progress reporting for long loops (simulation, epochs, clustering).
//
// On a terminal: one line rewritten in place with done/total, rate and ETA.
// Elsewhere (Slurm logs, pipes): a plain line at most every `interval_s`
// seconds, so logs stay readable. Only rank 0 prints; each rank calls
// `advance` for its own work and the rate is extrapolated by the rank count.
// A single-rank loop (t-SNE, UMAP) left early for a stop signal
// (core::StopSignal) ends with "stopped by a signal at done/total" instead
// of "total done".
#pragma once

#include <chrono>
#include <cstdint>
#include <string>

namespace phenoscale::core {

class Progress {
 public:
  // `total` is the global amount of work; `ranks` how many ranks share it.
  Progress(std::string label, std::uint64_t total, int ranks = 1, double interval_s = 10.0);
  ~Progress();
  Progress(const Progress&) = delete;
  Progress& operator=(const Progress&) = delete;

  void advance(std::uint64_t local_amount = 1);
  void finish();

  // "12.3 s", "4 min 05 s", "1 h 02 min".
  static std::string format_duration(double seconds);

 private:
  void report(bool final_line);

  std::string label_;
  std::uint64_t total_;
  int ranks_;
  double interval_s_;
  std::uint64_t local_done_ = 0;
  bool tty_;
  bool finished_ = false;
  std::chrono::steady_clock::time_point start_;
  std::chrono::steady_clock::time_point last_report_;
};

}  // namespace phenoscale::core
