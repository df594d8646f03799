// What the tomo stages share: the class maps written by `tomo structures`
// (every rank holds all of them) and the simulated subtomograms of one
// rank's row block.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "phenoscale/io/hdf5.hpp"
#include "phenoscale/io/sample_array.hpp"
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

// Collective. This rank's rows of `in`:/subtomograms, checked to be
// N × n × n × n; `n` is the box edge.
struct SubtomogramBlock {
  io::SampleBlock<float> block;
  int n = 0;
  tomo::Volume volume(std::uint64_t local_row, double voxel_nm) const;  // one row as a Volume
};
SubtomogramBlock read_subtomograms(const io::H5File& in);

// True when class row `row` holds no density (the "no particle" class).
bool is_empty_map(const tomo::Volume& map);

}  // namespace phenoscale::app
