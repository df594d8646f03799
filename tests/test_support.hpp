// Shared helpers of the test executables (defined in tests/mpi_test_main.cpp).
#pragma once

#include <string>

#include "phenoscale/par/comm.hpp"

namespace phenoscale::testing {

// MPI_COMM_WORLD of the test run.
const par::Comm& world();

// Collective. A directory shared by all ranks, unique to this run and
// `prefix` ("/tmp/<prefix>-<pid of rank 0>"), created on first use.
std::string shared_temp_dir(const std::string& prefix);

// A file under tests/ of the source tree ($PHENOSCALE_SOURCE_DIR, set by ctest).
std::string source_path(const std::string& relative_to_tests);

}  // namespace phenoscale::testing
