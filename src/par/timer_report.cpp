#include "phenoscale/par/timer_report.hpp"

#include <cstdio>

#include "phenoscale/core/log.hpp"

namespace phenoscale::par {

void report_timers(const core::Timers& timers, const Comm& comm, const std::string& title) {
  // Section names are agreed from rank 0 so ranks that skipped a section still match.
  std::string names;
  for (const auto& [name, s] : timers.totals()) names += name + "\n";
  comm.broadcast(names);
  std::size_t start = 0;
  core::Log::info(title + " timings (min / mean / max over " + std::to_string(comm.size()) + " ranks):");
  while (start < names.size()) {
    const std::size_t end = names.find('\n', start);
    const std::string name = names.substr(start, end - start);
    start = end + 1;
    const auto it = timers.totals().find(name);
    const double t = it == timers.totals().end() ? 0.0 : it->second;
    const double lo = comm.allreduce_min(t), hi = comm.allreduce_max(t);
    const double mean = comm.allreduce_sum(t) / comm.size();
    char line[160];
    std::snprintf(line, sizeof line, "  %-24s %9.3f %9.3f %9.3f s", name.c_str(), lo, mean, hi);
    core::Log::info(line);
  }
}

}  // namespace phenoscale::par
