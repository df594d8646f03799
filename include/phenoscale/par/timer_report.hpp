// Cross-rank summary of core::Timers: rank 0 logs one line per section with
// the min/mean/max over ranks. Collective; every rank must have the same
// section names (sections a rank never entered count as 0 s).
#pragma once

#include "phenoscale/core/timer.hpp"
#include "phenoscale/par/comm.hpp"

namespace phenoscale::par {
void report_timers(const core::Timers& timers, const Comm& comm, const std::string& title);
}
