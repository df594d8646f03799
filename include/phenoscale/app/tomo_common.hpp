// What the tomo stages share (src/app/tomo_common.cpp): the class maps
// written by `tomo structures` (every rank holds all of them), the simulated
// subtomograms of one rank's row block, MRC output and STAR particle files.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "phenoscale/app/registry.hpp"
#include "phenoscale/io/hdf5.hpp"
#include "phenoscale/io/mrc.hpp"
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

// Collective. The RELION-style STAR particle file of a stage (`pick.star`,
// `subdivide.star`, `recover.star`: a name inside run.output_dir, "" for
// none): rank 0 writes the header of `columns`, every rank its own rows
// (formatted with io::star_row), in rank order, atomically. Returns the path
// ("" when the key is empty). Columns and conventions: docs/file-formats.md.
std::string write_star_particles(const StageContext& ctx, const std::string& key, const std::vector<std::string>& columns,
                                 const std::string& local_rows);

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

// A volume as an MRC map (voxel size in Å).
io::MrcVolume to_mrc(const tomo::Volume& v);

}  // namespace phenoscale::app
