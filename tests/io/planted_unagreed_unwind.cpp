// An error that only one rank raises (outside every par::collectively /
// check_all agreement) unwinds past HDF5 files that all ranks opened, while
// the other ranks go on into a collective. Closing a parallel HDF5 file is
// collective, so a destructor that closed it unconditionally would wait for
// ranks that never come, and the job would hang until Slurm's time limit.
// io::H5File must instead find out that the other ranks are not unwinding
// with it, leave the file open, and let the error reach the harness, which
// aborts every rank naming it. Registered by tests/CMakeLists.txt at 2 and 3
// ranks; it passes only when the harness prints its abort line for the
// planted error.
#include <gtest/gtest.h>

#include <filesystem>
#include <stdexcept>

#include "phenoscale/io/hdf5.hpp"
#include "test_support.hpp"

namespace {

using phenoscale::testing::world;
namespace io = phenoscale::io;

TEST(H5File, AnErrorOnOneRankUnwindingPastOpenFilesEndsTheJob) {
  const std::string dir = phenoscale::testing::shared_temp_dir("phenoscale-unwind");
  {
    io::H5File input = io::H5File::create(dir + "/input.h5", world());
    input.create_group("/g");
    input.commit();
  }
  io::H5File input = io::H5File::open(dir + "/input.h5", world());
  io::H5File output = io::H5File::create(dir + "/output.h5", world());
  output.create_group("/results");
  // The abort below skips the harness's removal of `dir`: remove it now
  // (the files stay open, unlinked, until the job ends).
  world().barrier();
  if (world().is_root()) std::filesystem::remove_all(dir);
  if (world().rank() == world().size() - 1) throw std::runtime_error("planted error on the last rank only");
  world().barrier();  // the other ranks wait here for the last one
  output.commit();
}

}  // namespace
