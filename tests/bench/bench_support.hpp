// What the benchmark drivers share: the peak memory they report and a
// clock read after a barrier (every rank's phase is over).
#pragma once
#include <chrono>
#include <cstdlib>
#include <fstream>
#include <string>

namespace phenoscale::bench {

// Peak resident set of this process (VmHWM), MiB.
inline double peak_rss_mib() {
  std::ifstream status("/proc/self/status");
  std::string line;
  while (std::getline(status, line))
    if (line.rfind("VmHWM:", 0) == 0) return std::strtod(line.c_str() + 6, nullptr) / 1024.0;
  return 0.0;
}

// Collective: barrier, then the time.
template <class Comm>
std::chrono::steady_clock::time_point barrier_clock(const Comm& comm) {
  comm.barrier();
  return std::chrono::steady_clock::now();
}

inline double seconds_between(std::chrono::steady_clock::time_point a, std::chrono::steady_clock::time_point b) {
  return std::chrono::duration<double>(b - a).count();
}

}  // namespace phenoscale::bench
