// Wall-clock timers with a per-stage summary.
//
// `Timers` accumulates named sections ("read", "simulate", "write"); a
// `ScopedTimer` adds its lifetime to one of them. The summary across ranks
// (min/mean/max, which shows load imbalance) is printed by par::report_timers.
#pragma once

#include <chrono>
#include <map>
#include <string>

namespace phenoscale::core {

class Timers {
 public:
  void add(const std::string& name, double seconds) { totals_[name] += seconds; }
  const std::map<std::string, double>& totals() const { return totals_; }

 private:
  std::map<std::string, double> totals_;
};

class ScopedTimer {
 public:
  ScopedTimer(Timers& timers, std::string name)
      : timers_(timers), name_(std::move(name)), start_(std::chrono::steady_clock::now()) {}
  ~ScopedTimer() {
    timers_.add(name_, std::chrono::duration<double>(std::chrono::steady_clock::now() - start_).count());
  }
  ScopedTimer(const ScopedTimer&) = delete;
  ScopedTimer& operator=(const ScopedTimer&) = delete;

 private:
  Timers& timers_;
  std::string name_;
  std::chrono::steady_clock::time_point start_;
};

}  // namespace phenoscale::core
