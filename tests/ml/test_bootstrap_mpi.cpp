// Cell-level bootstrap (DeepHACKS drug statistics) against a NumPy reference
// fed the same resample indices (tests/ml/fixtures/make_bootstrap.py draws
// them with an independent Philox implementation; here they must equal
// resample_indices() exactly), at 1, 2 and 3 ranks and against a size-1
// sub-communicator in the same run. Tolerance: 1e-12 absolute against NumPy
// (different summation and quantile interpolation order); exact (==) across
// rank counts.
#include <gtest/gtest.h>
#include <unistd.h>

#include <cmath>
#include <cstdlib>
#include <filesystem>

#include "phenoscale/core/error.hpp"
#include "phenoscale/io/hdf5.hpp"
#include "phenoscale/io/sample_array.hpp"
#include "phenoscale/ml/bootstrap.hpp"
#include "phenoscale/par/partition.hpp"
#include "test_support.hpp"

using namespace phenoscale;
using phenoscale::testing::world;
namespace fs = std::filesystem;

namespace {

std::string fixture(const std::string& name) {
  const char* src = std::getenv("PHENOSCALE_SOURCE_DIR");
  return std::string(src ? src : ".") + "/tests/ml/fixtures/" + name;
}

struct Fixture {
  std::string path;
  ml::Observations obs;
  ml::BootstrapOptions options;
  std::uint64_t clusters = 0;
};

Fixture load(const std::string& name, const par::Comm& comm) {
  Fixture f;
  f.path = fixture(name);
  f.obs = ml::read_observations(f.path, "/labels", "/cells", "/conditions", comm);
  io::H5File in = io::H5File::open(f.path, comm);
  f.options.seed = static_cast<std::uint64_t>(in.read_int_attribute("/", "seed"));
  f.options.replicates = static_cast<std::uint64_t>(in.read_int_attribute("/", "replicates"));
  f.options.control = in.read_int_attribute("/", "control");
  f.options.confidence = in.read_double_attribute("/", "confidence");
  f.clusters = static_cast<std::uint64_t>(in.read_int_attribute("/", "clusters"));
  return f;
}

std::vector<double> expected(const std::string& path, const std::string& name) {
  io::H5File in = io::H5File::open(path, world());
  const auto rows = in.info("/expected/" + name).shape.at(0);
  return io::read_sample_rows<double>(in, "/expected/" + name, {0, rows}, {{}, false}).data;
}

void expect_near_all(const std::vector<double>& ours, const std::vector<double>& ref, const std::string& what) {
  ASSERT_EQ(ours.size(), ref.size()) << what;
  for (std::size_t i = 0; i < ours.size(); ++i) {
    if (std::isnan(ref[i])) {
      EXPECT_TRUE(std::isnan(ours[i])) << what << "[" << i << "] = " << ours[i] << ", NumPy: NaN";
    } else if (std::isinf(ref[i])) {
      EXPECT_EQ(ours[i], ref[i]) << what << "[" << i << "]";  // z0 = ±inf: all replicates on one side
    } else {
      EXPECT_NEAR(ours[i], ref[i], 1e-12) << what << "[" << i << "]";
    }
  }
}

// Same bits (NaN matches NaN).
void expect_identical(const std::vector<double>& a, const std::vector<double>& b, const std::string& what) {
  ASSERT_EQ(a.size(), b.size()) << what;
  for (std::size_t i = 0; i < a.size(); ++i) {
    if (std::isnan(a[i]) && std::isnan(b[i])) continue;
    EXPECT_EQ(a[i], b[i]) << what << "[" << i << "]";
  }
}

ml::BootstrapResult run(const Fixture& f, const par::Comm& comm) {
  const auto table = ml::build_cell_table(f.obs, f.clusters, comm);
  return ml::bootstrap(table, f.options, comm);
}

void expect_matches_numpy(const std::string& name) {
  const Fixture f = load(name, world());
  const auto table = ml::build_cell_table(f.obs, f.clusters, world());

  // The draws: every rank computes its replicate block; together they equal the reference's.
  {
    io::H5File in = io::H5File::open(f.path, world());
    const auto block = par::BlockPartition::over(f.options.replicates, world()).range(world().rank());
    const auto ref = io::read_sample_rows<std::uint8_t>(in, "/indices", block, {{table.cells()}, false});
    const auto ours = ml::resample_indices(table, f.options.seed, block);
    ASSERT_EQ(ours.size(), ref.data.size());
    for (std::size_t i = 0; i < ours.size(); ++i) ASSERT_EQ(ours[i], ref.data[i]) << "index " << i;
  }

  const auto res = ml::bootstrap(table, f.options, world());
  expect_near_all(res.proportions, expected(f.path, "proportions"), "proportions");
  expect_near_all(res.difference, expected(f.path, "difference"), "difference");
  expect_near_all(res.p_greater, expected(f.path, "p_greater"), "p_greater");
  expect_near_all(res.p_less, expected(f.path, "p_less"), "p_less");
  expect_near_all(res.p_two_sided, expected(f.path, "p_two_sided"), "p_two_sided");
  expect_near_all(res.ci_percentile, expected(f.path, "ci_percentile"), "ci_percentile");
  expect_near_all(res.ci_proportion, expected(f.path, "ci_proportion"), "ci_proportion");
  expect_near_all(res.bias_correction, expected(f.path, "bca_bias_correction"), "bca_bias_correction");
  expect_near_all(res.acceleration, expected(f.path, "bca_acceleration"), "bca_acceleration");
  expect_near_all(res.ci_bca, expected(f.path, "ci_bca"), "ci_bca");
  expect_near_all(res.cohens_d, expected(f.path, "cohens_d"), "cohens_d");
}

}  // namespace

TEST(Bootstrap, NormalQuantileInvertsTheCdf) {
  for (double p : {1e-10, 1e-4, 0.025, 0.3, 0.5, 0.8, 0.975, 1 - 1e-6}) {
    EXPECT_NEAR(ml::normal_cdf(ml::normal_quantile(p)), p, 1e-15 + 1e-13 * p) << p;
  }
  EXPECT_NEAR(ml::normal_quantile(0.975), 1.959963984540054, 1e-14);
  EXPECT_TRUE(std::isinf(ml::normal_quantile(0.0)));
}

TEST(Bootstrap, HolmMatchesRsPAdjust) {
  // R: p.adjust(c(0.01, 0.04, 0.03, 0.005), "holm") = 0.03 0.06 0.06 0.02 (the
  // step-down maximum lifts 0.04's 1 x 0.04 to 0.06).
  const auto a = ml::holm_adjust({0.01, 0.04, 0.03, 0.005});
  const double r[] = {0.03, 0.06, 0.06, 0.02};
  for (std::size_t i = 0; i < 4; ++i) EXPECT_NEAR(a[i], r[i], 1e-15) << i;
  // NaN is outside the family (m = 3 here); ties get one value; the largest p keeps multiplier 1.
  const auto b = ml::holm_adjust({0.5, std::nan(""), 0.02, 0.02});
  EXPECT_EQ(b[0], 0.5);
  EXPECT_TRUE(std::isnan(b[1]));
  EXPECT_NEAR(b[2], 0.06, 1e-15);
  EXPECT_NEAR(b[3], 0.06, 1e-15);
  // Capped at 1: 2 x 0.6 and then the step-down maximum.
  EXPECT_EQ(ml::holm_adjust({0.7, 0.6}), std::vector<double>({1.0, 1.0}));
  EXPECT_TRUE(ml::holm_adjust({}).empty());
}

TEST(Bootstrap, HolmFamilyIsOneTreatmentBothDirections) {
  const Fixture f = load("bootstrap_edge.h5", world());
  const auto res = run(f, world());
  const std::size_t C = res.clusters;
  ASSERT_EQ(res.treatments.size(), 2u);
  for (std::size_t m = 0; m < 2; ++m) {
    std::vector<double> family;
    for (std::size_t c = 0; c < C; ++c) family.push_back(res.p_greater[m * C + c]);
    for (std::size_t c = 0; c < C; ++c) family.push_back(res.p_less[m * C + c]);
    const auto adjusted = ml::holm_adjust(family);
    for (std::size_t c = 0; c < C; ++c) {
      EXPECT_EQ(res.p_greater_holm[m * C + c], adjusted[c]) << m << "," << c;
      EXPECT_EQ(res.p_less_holm[m * C + c], adjusted[C + c]) << m << "," << c;
      EXPECT_GE(res.p_greater_holm[m * C + c], res.p_greater[m * C + c]);
    }
  }
}

TEST(Bootstrap, PlantedDatasetMatchesNumpyWithTheSameIndices) { expect_matches_numpy("bootstrap_planted.h5"); }

TEST(Bootstrap, PlantedEffectIsDetectedAndNullClusterIsNot) {
  const Fixture f = load("bootstrap_planted.h5", world());
  const auto res = run(f, world());
  ASSERT_EQ(res.treatments, std::vector<std::int64_t>({1}));
  ASSERT_EQ(res.clusters, 4u);
  // Cluster 2: 0.2 -> 0.35 planted.
  EXPECT_NEAR(res.proportions[2], 0.2, 0.03);
  EXPECT_NEAR(res.proportions[4 + 2], 0.35, 0.03);
  EXPECT_LT(res.p_greater[2], 0.01);
  EXPECT_LT(res.p_two_sided[2], 0.01);
  EXPECT_GT(res.ci_percentile[2 * 2], 0.0);
  EXPECT_GT(res.ci_bca[2 * 2], 0.0);
  EXPECT_GT(res.cohens_d[2], 0.8);
  // Still detected with the table's 2C = 8 statements adjusted for.
  EXPECT_LT(res.p_greater_holm[2], 0.01);
  // Cluster 3: 0.2 in both conditions.
  EXPECT_GT(res.p_two_sided[3], 0.05);
  EXPECT_GT(res.p_greater_holm[3], 0.05);
  EXPECT_GT(res.p_less_holm[3], 0.05);
  EXPECT_LT(res.ci_percentile[2 * 3], 0.0);
  EXPECT_GT(res.ci_percentile[2 * 3 + 1], 0.0);
}

TEST(Bootstrap, IdenticalToASingleRankRun) {
  const Fixture f = load("bootstrap_planted.h5", world());
  const auto ours = run(f, world());
  // Every rank as its own size-1 communicator: the serial answer.
  par::Comm self = world().split(world().rank(), 0);
  const Fixture g = load("bootstrap_planted.h5", self);
  const auto serial = run(g, self);
  expect_identical(ours.replicate_proportions, serial.replicate_proportions, "replicates");
  expect_identical(ours.proportions, serial.proportions, "proportions");
  expect_identical(ours.p_greater, serial.p_greater, "p_greater");
  expect_identical(ours.p_two_sided, serial.p_two_sided, "p_two_sided");
  expect_identical(ours.p_greater_holm, serial.p_greater_holm, "p_greater_holm");
  expect_identical(ours.p_less_holm, serial.p_less_holm, "p_less_holm");
  expect_identical(ours.ci_percentile, serial.ci_percentile, "ci_percentile");
  expect_identical(ours.ci_proportion, serial.ci_proportion, "ci_proportion");
  expect_identical(ours.ci_bca, serial.ci_bca, "ci_bca");
  expect_identical(ours.cohens_d, serial.cohens_d, "cohens_d");
}

TEST(Bootstrap, EdgeCasesMatchNumpy) { expect_matches_numpy("bootstrap_edge.h5"); }

TEST(Bootstrap, OneCellConditionAndNeverObservedCluster) {
  const Fixture f = load("bootstrap_edge.h5", world());
  const auto res = run(f, world());
  ASSERT_EQ(res.conditions, std::vector<std::int64_t>({0, 3, 5}));
  ASSERT_EQ(res.treatments, std::vector<std::int64_t>({3, 5}));
  const std::uint64_t C = res.clusters;
  ASSERT_EQ(C, 5u);
  // Condition 3 has one cell: every replicate redraws it, so its proportions never vary.
  for (std::uint64_t r = 0; r < res.replicates; ++r) {
    for (std::uint64_t c = 0; c < C; ++c) {
      ASSERT_EQ(res.replicate_proportions[(r * 3 + 1) * C + c], res.proportions[1 * C + c]);
    }
  }
  // Cluster 2 is never observed: proportion 0, difference 0, p = 1, d = 0, BCa undefined.
  for (std::uint64_t k = 0; k < 3; ++k) EXPECT_EQ(res.proportions[k * C + 2], 0.0);
  for (std::uint64_t m = 0; m < 2; ++m) {
    const std::uint64_t at = m * C + 2;
    EXPECT_EQ(res.difference[at], 0.0);
    EXPECT_EQ(res.p_greater[at], 1.0);
    EXPECT_EQ(res.p_less[at], 1.0);
    EXPECT_EQ(res.p_two_sided[at], 1.0);
    EXPECT_EQ(res.cohens_d[at], 0.0);
    EXPECT_EQ(res.ci_percentile[2 * at], 0.0);
    EXPECT_EQ(res.ci_percentile[2 * at + 1], 0.0);
    EXPECT_TRUE(std::isnan(res.ci_bca[2 * at]));
  }
}

TEST(Bootstrap, LengthMismatchNamesBothDatasets) {
  std::string dir = (fs::temp_directory_path() / ("phenoscale-bootstrap-" + std::to_string(getpid()))).string();
  world().broadcast(dir);
  if (world().is_root()) fs::create_directories(dir);
  world().barrier();
  const std::string path = dir + "/mismatch.h5";
  {
    io::H5File out = io::H5File::create(path, world());
    const bool root = world().is_root();
    const std::vector<std::int64_t> ten(10, 1), nine(9, 1);
    io::write_samples(out, "/labels", ten.data(), root ? 10 : 0, {});
    io::write_samples(out, "/cells", nine.data(), root ? 9 : 0, {});
    io::write_samples(out, "/conditions", ten.data(), root ? 10 : 0, {});
    out.commit();
  }
  try {
    ml::read_observations(path, "/labels", "/cells", "/conditions", world());
    ADD_FAILURE() << "no error for /labels (10 rows) vs /cells (9 rows)";
  } catch (const Error& e) {
    const std::string msg = e.what();
    EXPECT_NE(msg.find(":/labels has 10 rows"), std::string::npos) << msg;
    EXPECT_NE(msg.find("/cells has 9"), std::string::npos) << msg;
    EXPECT_EQ(msg.find('\n'), std::string::npos) << msg;
  }
  world().barrier();
  if (world().is_root()) fs::remove_all(dir);
}

TEST(Bootstrap, MissingControlIsAConfigError) {
  Fixture f = load("bootstrap_planted.h5", world());
  f.options.control = 7;
  try {
    run(f, world());
    ADD_FAILURE() << "no error for an absent control condition";
  } catch (const CollectiveError& e) {
    EXPECT_EQ(e.exit_code(), exit_code::usage) << e.what();
    EXPECT_NE(std::string(e.what()).find("bootstrap.control = 7"), std::string::npos) << e.what();
  }
}
