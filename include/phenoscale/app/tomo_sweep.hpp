// The leave-one-class-out structure discovery study of the tomo pipeline
// (Xu et al. 2017, §2.4): `tomo recover`, `tomo sweep` (one task per
// left-out class, the unit of the Slurm job array) and `tomo sweep-report`.
#pragma once

#include <vector>

#include "phenoscale/app/registry.hpp"

namespace phenoscale::app {

void add_tomo_sweep_keys(core::Schema& schema);
std::vector<Stage> tomo_sweep_stages();

}  // namespace phenoscale::app
