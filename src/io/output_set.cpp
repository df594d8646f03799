#include "phenoscale/io/output_set.hpp"

#include <filesystem>
#include <system_error>

#include "phenoscale/core/error.hpp"
#include "phenoscale/par/agree.hpp"

namespace phenoscale::io {

void retire_outputs(const std::vector<std::string>& paths, const par::Comm& comm) {
  par::collectively(comm, [&] {
    if (!comm.is_root()) return;
    for (const auto& path : paths) {
      if (path.empty()) continue;
      std::error_code ec;
      // A directory under an output's name is the user's, not a previous
      // result: refused, as the commit's rename would refuse it.
      if (std::filesystem::is_directory(std::filesystem::symlink_status(path, ec)))
        throw IoError(at_file(path, "is a directory; expected this stage's output file"));
      std::filesystem::remove(path, ec);
      if (ec) throw IoError(at_file(path, "cannot remove the previous run's output before writing this run's: " + ec.message()));
    }
  });
}

}  // namespace phenoscale::io
