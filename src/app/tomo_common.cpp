// Helpers shared by the tomo stages (Xu et al. 2017; declared in
// tomo_common.hpp): reading the class maps of `tomo structures` and the
// subtomograms of `tomo simulate`, the empty-class test, MRC conversion and
// the STAR particle files (io/star.hpp; the columns each stage writes are
// listed in docs/file-formats.md).
#include "phenoscale/app/tomo_common.hpp"

#include <algorithm>
#include <sstream>

#include "phenoscale/app/stage_io.hpp"
#include "phenoscale/core/error.hpp"
#include "phenoscale/core/log.hpp"
#include "phenoscale/io/sharded_text.hpp"
#include "phenoscale/io/star.hpp"
#include "phenoscale/par/agree.hpp"

namespace phenoscale::app {

ClassMaps read_class_maps(const std::string& path, const par::Comm& comm) {
  using core::cat;
  io::H5File in = io::H5File::open(path, comm);
  const auto info = in.info("/maps");
  par::check_all(comm, info.shape.size() == 4 && info.shape[1] == info.shape[2] && info.shape[2] == info.shape[3],
                 cat(in.where("/maps"), ": expected N x n x n x n class maps, found shape ", io::shape_string(info.shape)));
  const std::uint64_t count = info.shape[0], n = info.shape[1];
  const auto maps = io::read_sample_rows<float>(in, "/maps", {0, count}, {{n, n, n}, true});
  const auto ids = io::read_sample_rows<std::int64_t>(in, "/class_ids", {0, count}, {{}, true});
  ClassMaps out;
  out.voxel_nm = in.read_double_attribute("/maps", "voxel_nm");
  out.class_ids = ids.data;
  std::stringstream names(in.has_attribute("/maps", "class_names") ? in.read_string_attribute("/maps", "class_names")
                                                                   : std::string());
  for (std::string name; std::getline(names, name, ',');) out.names.push_back(name);
  out.names.resize(count);
  for (std::uint64_t c = 0; c < count; ++c) {
    if (out.names[c].empty()) out.names[c] = cat("class_row_", c);
    tomo::Volume v = tomo::Volume::cube(static_cast<int>(n), out.voxel_nm);
    std::copy(maps.row(c), maps.row(c) + v.size(), v.data.begin());
    out.maps.push_back(std::move(v));
  }
  return out;
}

SubtomogramBlock read_subtomograms(const io::H5File& in) {
  using core::cat;
  const auto info = in.info("/subtomograms");
  par::check_all(in.comm(), info.shape.size() == 4 && info.shape[1] == info.shape[2] && info.shape[2] == info.shape[3],
                 cat(in.where("/subtomograms"), ": expected N x n x n x n subtomograms, found shape ",
                     io::shape_string(info.shape)));
  const std::uint64_t n = info.shape[1];
  return {io::read_samples<float>(in, "/subtomograms", {{n, n, n}, true}), static_cast<int>(n)};
}

tomo::Volume SubtomogramBlock::volume(std::uint64_t local_row, double voxel_nm) const {
  tomo::Volume v = tomo::Volume::cube(n, voxel_nm);
  std::copy(block.row(local_row), block.row(local_row) + v.size(), v.data.begin());
  return v;
}

bool is_empty_map(const tomo::Volume& map) {
  return std::all_of(map.data.begin(), map.data.end(), [](float v) { return v == 0.0f; });
}

io::MrcVolume to_mrc(const tomo::Volume& v) {
  io::MrcVolume m;
  m.nx = v.nx;
  m.ny = v.ny;
  m.nz = v.nz;
  m.data = v.data;
  for (double& s : m.voxel_size_angstrom) s = v.voxel_nm * 10.0;
  return m;
}

std::string write_star_particles(const StageContext& ctx, const std::string& key, const std::vector<std::string>& columns,
                                 const std::string& local_rows) {
  const std::string name = ctx.config.string(key);
  if (name.empty()) return "";
  const std::string path = output_path(ctx.config, name);
  create_parent_dir(ctx, path);  // after the stage's main output: no stop point here
  const std::string header = ctx.comm.is_root() ? io::star_loop_header("particles", columns) : std::string();
  io::write_text_in_rank_order(path, header + local_rows, ctx.comm);
  return path;
}

}  // namespace phenoscale::app
