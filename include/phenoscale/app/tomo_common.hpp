// What the tomo stages share: the class maps written by `tomo structures`
// (every rank holds all of them) and the simulated subtomograms of one
// rank's row block.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "phenoscale/par/comm.hpp"
#include "phenoscale/tomo/volume.hpp"

namespace phenoscale::app {

struct ClassMaps {
  std::vector<tomo::Volume> maps;        // row r = class row r of the datasets
  std::vector<std::int64_t> class_ids;   // procedural class id, -1 for a PDB/mmCIF file
  std::vector<std::string> names;        // "cluster_8", "empty", file name
  double voxel_nm = 1.0;
};

// Collective. Reads /maps, /class_ids and the class names of a structures file.
ClassMaps read_class_maps(const std::string& path, const par::Comm& comm);

// True when class row `row` holds no density (the "no particle" class).
bool is_empty_map(const tomo::Volume& map);

}  // namespace phenoscale::app
