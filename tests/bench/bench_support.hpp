// What the benchmark drivers share: the peak memory they report.
#pragma once
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

}  // namespace phenoscale::bench
