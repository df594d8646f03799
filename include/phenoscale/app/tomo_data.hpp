// The data stages of the tomo pipeline (Xu et al. 2017; src/app/tomo_data.cpp):
//   structures : procedural class maps (22 assemblies + "empty") and
//                user PDB/mmCIF files → density maps (HDF5 + MRC);
//   simulate   : subtomograms of the class maps under random poses, missing
//                wedge, CTF, MTF and noise at a target SNR, sharded over ranks
//                by sample index (identical at any rank count);
//   tomogram   : one crowded tomogram (MRC) and its true particle list;
//   pick       : DoG particle picking on an MRC tomogram, boxes extracted.
// One group of keys; two stage lists, as the learning stages run between
// simulate and tomogram in the pipeline's order.
#pragma once

#include <vector>

#include "phenoscale/app/registry.hpp"

namespace phenoscale::app {

void add_tomo_data_keys(core::Schema& schema);
std::vector<Stage> tomo_simulation_stages();  // structures, simulate
std::vector<Stage> tomo_picking_stages();     // tomogram, pick

}  // namespace phenoscale::app
