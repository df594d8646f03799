// GoogleTest main for every test executable: initialises MPI (tests run
// under mpiexec at 1, 2 and 3 ranks) and lets only rank 0 print results,
// while a failure on any rank fails the test process on every rank (other
// ranks print their failures with their rank; a fatal one aborts the job).
#include <gtest/gtest.h>
#include <mpi.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <map>

#include "phenoscale/core/rng.hpp"
#include "phenoscale/par/environment.hpp"
#include "test_support.hpp"

namespace phenoscale::testing {

const par::Comm& world() {
  static par::Comm comm(MPI_COMM_WORLD);
  return comm;
}

// The shared directories made so far (prefix -> path), removed at exit.
std::map<std::string, std::string>& shared_dirs_made() {
  static std::map<std::string, std::string> made;
  return made;
}

std::string shared_temp_dir(const std::string& prefix) {
  auto& made = shared_dirs_made();
  auto it = made.find(prefix);
  if (it != made.end()) return it->second;
  namespace fs = std::filesystem;
  std::string dir = (fs::temp_directory_path() / (prefix + "-" + std::to_string(getpid()))).string();
  world().broadcast(dir);
  if (world().is_root()) fs::create_directories(dir);
  world().barrier();
  return made[prefix] = dir;
}

std::string source_path(const std::string& relative_to_tests) {
  const char* src = std::getenv("PHENOSCALE_SOURCE_DIR");
  return std::string(src ? src : ".") + "/tests/" + relative_to_tests;
}

std::vector<float> gaussian_blobs(std::uint64_t n, std::uint64_t d, std::uint64_t clusters, double separation,
                                  std::uint64_t seed) {
  std::vector<float> all(n * d);
  for (std::uint64_t i = 0; i < n; ++i) {
    core::Rng rng(seed, core::Stream::test, i);
    for (std::uint64_t j = 0; j < d; ++j)
      all[i * d + j] = static_cast<float>(rng.normal(j == i % clusters ? separation : 0.0, 1.0));
  }
  return all;
}

double adjusted_rand(const std::vector<std::int64_t>& a, const std::vector<std::int64_t>& b) {
  std::map<std::pair<std::int64_t, std::int64_t>, double> joint;
  std::map<std::int64_t, double> ra, rb;
  for (std::size_t i = 0; i < a.size(); ++i) {
    joint[{a[i], b[i]}] += 1;
    ra[a[i]] += 1;
    rb[b[i]] += 1;
  }
  auto pairs = [](double n) { return n * (n - 1) / 2; };
  double sj = 0, sa = 0, sb = 0;
  for (const auto& j : joint) sj += pairs(j.second);
  for (const auto& x : ra) sa += pairs(x.second);
  for (const auto& x : rb) sb += pairs(x.second);
  const double expected = sa * sb / pairs(double(a.size()));
  return (sj - expected) / (0.5 * (sa + sb) - expected);
}

void TempDirTest::SetUp() {
  namespace fs = std::filesystem;
  const auto* info = ::testing::UnitTest::GetInstance()->current_test_info();
  dir_ = fs::path(::testing::TempDir()) / ("phenoscale_" + std::to_string(getpid()) + "_" +
                                           info->test_suite_name() + "_" + info->name());
  fs::remove_all(dir_);
  fs::create_directories(dir_);
}

void TempDirTest::TearDown() { std::filesystem::remove_all(dir_); }

std::vector<std::string> TempDirTest::entries() const {
  std::vector<std::string> names;
  for (const auto& e : std::filesystem::directory_iterator(dir_)) names.push_back(e.path().filename().string());
  return names;
}

}  // namespace phenoscale::testing

namespace {

// Failures on ranks other than 0, which print no results, are printed with
// the rank. A fatal failure (ASSERT_*, an exception) returns from the test
// body on that rank only, and the other ranks would wait for it in the test's
// next collective until ctest's timeout: with more than one rank it aborts
// the job instead, so the failure is reported at once and nothing hangs.
class RankFailureListener : public ::testing::EmptyTestEventListener {
 public:
  RankFailureListener(int rank, int size) : rank_(rank), size_(size) {}

  // The test's name is kept here: UnitTest::current_test_info() takes the
  // lock that GoogleTest holds while it reports a result (a deadlock).
  void OnTestStart(const ::testing::TestInfo& info) override {
    test_ = std::string(info.test_suite_name()) + "." + info.name();
  }
  void OnTestEnd(const ::testing::TestInfo&) override { test_ = "set-up or tear-down"; }

  void OnTestPartResult(const ::testing::TestPartResult& result) override {
    if (!result.failed()) return;
    const std::string where = std::string(result.file_name() ? result.file_name() : "unknown file") + ":" +
                              std::to_string(result.line_number());
    if (rank_ != 0) std::fprintf(stderr, "[rank %d] %s: Failure\n%s\n", rank_, where.c_str(), result.message());
    if (size_ < 2 || !result.fatally_failed()) return;
    std::fflush(stdout);
    std::fprintf(stderr,
                 "[rank %d] fatal failure in %s (%s): aborting all %d ranks (the others would wait for this one in "
                 "a collective)\n",
                 rank_, test_.c_str(), where.c_str(), size_);
    std::fflush(stderr);
    MPI_Abort(MPI_COMM_WORLD, 1);
  }

 private:
  int rank_, size_;
  std::string test_ = "set-up or tear-down";
};

}  // namespace

int main(int argc, char** argv) {
  phenoscale::par::Environment environment(argc, argv);
  ::testing::InitGoogleTest(&argc, argv);
  auto& listeners = ::testing::UnitTest::GetInstance()->listeners();
  const int rank = environment.world().rank(), size = environment.world().size();
  if (rank != 0) delete listeners.Release(listeners.default_result_printer());
  listeners.Append(new RankFailureListener(rank, size));  // after the printer: rank 0 prints the failure first
  const int local = RUN_ALL_TESTS();
  // Any rank failing fails everywhere, so ctest sees one verdict.
  const int global = environment.world().allreduce_max(local);
  // Every rank is past its tests (the allreduce): rank 0 removes the shared directories.
  if (environment.world().rank() == 0) {
    for (const auto& [prefix, dir] : phenoscale::testing::shared_dirs_made()) std::filesystem::remove_all(dir);
  }
  if (local != 0 && environment.world().rank() != 0) {
    std::fprintf(stderr, "[rank %d] had failing tests\n", environment.world().rank());
  }
  return global;
}
