// Shared helpers of the test executables (defined in tests/mpi_test_main.cpp).
#pragma once

#include <gtest/gtest.h>

#include <cstdint>
#include <filesystem>
#include <string>
#include <vector>

#include "phenoscale/par/comm.hpp"

namespace phenoscale::testing {

// MPI_COMM_WORLD of the test run.
const par::Comm& world();

// Collective. A directory shared by all ranks, unique to this run and
// `prefix` ("/tmp/<prefix>-<pid of rank 0>"), created on first use.
std::string shared_temp_dir(const std::string& prefix);

// Adjusted Rand index (Hubert & Arabie 1985) of two labelings held whole on
// this rank (a serial reference; ml::adjusted_rand_index is the collective one).
double adjusted_rand(const std::vector<std::int64_t>& a, const std::vector<std::int64_t>& b);

// n rows in d dimensions (row-major), row i in blob i % clusters (clusters <=
// d): centre `separation` on coordinate i % clusters, unit-variance Gaussian
// noise from Rng(seed, Stream::test, i), so the same rows at any rank count.
std::vector<float> gaussian_blobs(std::uint64_t n, std::uint64_t d, std::uint64_t clusters, double separation,
                                  std::uint64_t seed = 5);

// A file under tests/ of the source tree ($PHENOSCALE_SOURCE_DIR, set by ctest).
std::string source_path(const std::string& relative_to_tests);

// A fixture with a fresh, empty directory per test (removed afterwards),
// for tests of file readers and atomic writers.
class TempDirTest : public ::testing::Test {
 protected:
  void SetUp() override;
  void TearDown() override;
  std::string file(const std::string& name) const { return (dir_ / name).string(); }
  // Names of the files in the directory (to check no temporary is left over).
  std::vector<std::string> entries() const;
  std::filesystem::path dir_;
};

// The message of the E that `fn` throws; a test failure if it throws none.
template <typename E, typename Fn>
std::string message_of(Fn fn) {
  try {
    fn();
  } catch (const E& e) {
    return e.what();
  }
  ADD_FAILURE() << "expected an exception";
  return "";
}

}  // namespace phenoscale::testing
