// The STAR particle files of the tomo stages (io/star.hpp; the columns each
// stage writes are listed in docs/file-formats.md).
#include "phenoscale/app/stage_io.hpp"
#include "phenoscale/app/tomo_common.hpp"
#include "phenoscale/io/sharded_text.hpp"
#include "phenoscale/io/star.hpp"

namespace phenoscale::app {

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
