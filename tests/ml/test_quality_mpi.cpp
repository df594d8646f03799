// Cluster-quality measures: against scikit-learn on a committed fixture
// (tests/ml/fixtures/make_quality.py), analytic cases, the sampled silhouette
// against an exact O(N log N) 1-D reference, rank-count independence (a
// 1-rank sub-communicator) and input errors.
// Tolerances: silhouette 1e-6 (exact mode), Davies–Bouldin 1e-8, ARI/NMI
// 1e-12 against scikit-learn; 1e-12 between rank counts; the sampled
// silhouette within 3 of its stated standard errors.
#include <gtest/gtest.h>
#include <unistd.h>

#include <algorithm>
#include <cmath>
#include <cstdlib>
#include <filesystem>

#include "phenoscale/core/error.hpp"
#include "phenoscale/core/rng.hpp"
#include "phenoscale/io/hdf5.hpp"
#include "phenoscale/io/sample_array.hpp"
#include "phenoscale/ml/matrix.hpp"
#include "phenoscale/ml/quality.hpp"
#include "partial_fixture.hpp"
#include "test_support.hpp"

using namespace phenoscale;
using phenoscale::testing::world;
namespace fs = std::filesystem;

namespace {

std::string fixture() { return phenoscale::testing::source_path("ml/fixtures/quality.h5"); }

std::string shared_dir() { return phenoscale::testing::shared_temp_dir("phenoscale-quality"); }

double sklearn(const std::string& name) {
  io::H5File f = io::H5File::open(fixture(), world());
  return f.read_double_attribute("/", name);
}

// Rows [first, first + count) of a float64 vector dataset of `path`.
std::vector<double> fixture_rows(const std::string& path, const std::string& dataset, std::uint64_t first,
                                 std::uint64_t count) {
  io::H5File f = io::H5File::open(path, world());
  return io::read_sample_rows<double>(f, dataset, {first, first + count}).data;
}

// Each local row's silhouette against scikit-learn's silhouette_samples.
void expect_samples_match(const ml::SilhouetteResult& s, const ml::ShardedMatrix& x, const std::string& path,
                          const std::string& dataset) {
  const auto expected = fixture_rows(path, dataset, x.first_row, x.local_rows);
  ASSERT_EQ(s.local.size(), x.local_rows);
  for (std::uint64_t i = 0; i < x.local_rows; ++i) EXPECT_NEAR(s.local[i], expected[i], 1e-6) << "row " << x.first_row + i;
}

struct Fixture {
  ml::ShardedMatrix x;
  std::vector<std::int64_t> truth, predicted, other;
};

Fixture load(const par::Comm& comm) {
  Fixture f;
  f.x = ml::read_matrix({fixture(), "/features"}, comm);
  f.truth = ml::read_labels(fixture() + ":/labels_true", f.x, comm);
  f.predicted = ml::read_labels(fixture() + ":/labels_pred", f.x, comm);
  f.other = ml::read_labels(fixture() + ":/labels_other", f.x, comm);
  return f;
}

TEST(Quality, MatchesScikitLearnOnFixture) {
  const auto f = load(world());
  const auto s = ml::silhouette(f.x, f.predicted, {}, world());
  EXPECT_TRUE(s.exact);
  EXPECT_EQ(s.samples, 500u);
  EXPECT_EQ(s.standard_error, 0.0);
  EXPECT_NEAR(s.value, sklearn("silhouette_pred"), 1e-6);
  expect_samples_match(s, f.x, fixture(), "/silhouette_samples_pred");
  // Five groups, one a singleton: its silhouette counts as 0.
  const auto other = ml::silhouette(f.x, f.other, {}, world());
  EXPECT_NEAR(other.value, sklearn("silhouette_other"), 1e-6);
  expect_samples_match(other, f.x, fixture(), "/silhouette_samples_other");
  EXPECT_NEAR(ml::davies_bouldin(f.x, f.predicted, world()), sklearn("davies_bouldin_pred"), 1e-8);
  EXPECT_NEAR(ml::davies_bouldin(f.x, f.other, world()), sklearn("davies_bouldin_other"), 1e-8);
  EXPECT_NEAR(ml::adjusted_rand_index(f.truth, f.predicted, world()), sklearn("adjusted_rand_index"), 1e-12);
  EXPECT_NEAR(ml::normalized_mutual_info(f.truth, f.predicted, world()), sklearn("nmi"), 1e-12);
  EXPECT_NEAR(ml::adjusted_rand_index(f.truth, f.other, world()), sklearn("adjusted_rand_index_other"), 1e-12);
  EXPECT_NEAR(ml::normalized_mutual_info(f.truth, f.other, world()), sklearn("nmi_other"), 1e-12);
}

// Rows with missing trailing coordinates (tests/ml/fixtures/make_partial.py):
// scikit-learn's silhouette over its nan_euclidean distances, and the
// Davies–Bouldin index under the same distance, exact and sampled.
TEST(Quality, NanEuclideanMatchesScikitLearnOnFixture) {
  const std::string path = phenoscale::testing::source_path("ml/fixtures/partial.h5");
  const auto x = phenoscale::testing::read_partial_rows(path, world());
  const auto labels = ml::read_labels(path + ":/labels", x, world());
  double expected_silhouette = 0, expected_db = 0;
  {
    io::H5File f = io::H5File::open(path, world());
    expected_silhouette = f.read_double_attribute("/", "silhouette_nan_euclidean");
    expected_db = f.read_double_attribute("/", "davies_bouldin_nan_euclidean");
  }
  ml::SilhouetteOptions partial;
  partial.distance = ml::Distance::nan_euclidean;
  const auto exact = ml::silhouette(x, labels, partial, world());
  EXPECT_NEAR(exact.value, expected_silhouette, 1e-6);
  expect_samples_match(exact, x, path, "/silhouette_samples");
  EXPECT_NEAR(ml::davies_bouldin(x, labels, world(), ml::Distance::nan_euclidean), expected_db, 1e-8);
  // The sampled path (every row drawn) gives the exact mean and values too.
  partial.exact_limit = 10;
  partial.sample_size = 1000;
  const auto sampled = ml::silhouette(x, labels, partial, world());
  EXPECT_FALSE(sampled.exact);
  EXPECT_NEAR(sampled.value, expected_silhouette, 1e-6);
  expect_samples_match(sampled, x, path, "/silhouette_samples");
  // Leaving the missing coordinates out matters: Euclidean on the NaN rows is not this.
  EXPECT_FALSE(std::abs(ml::davies_bouldin(x, labels, world()) - expected_db) < 1e-3);
}

TEST(Quality, IdenticalAndRenamedLabelingsScoreOne) {
  const auto f = load(world());
  std::vector<std::int64_t> renamed(f.truth);
  for (auto& v : renamed) v = 1000 - 3 * v;  // a bijection of the label ids
  EXPECT_DOUBLE_EQ(ml::adjusted_rand_index(f.truth, f.truth, world()), 1.0);
  EXPECT_DOUBLE_EQ(ml::adjusted_rand_index(f.truth, renamed, world()), 1.0);
  EXPECT_NEAR(ml::normalized_mutual_info(f.truth, f.truth, world()), 1.0, 1e-14);
  EXPECT_NEAR(ml::normalized_mutual_info(f.truth, renamed, world()), 1.0, 1e-14);
  // One cluster against a split: NMI 0 (no information), ARI 0.
  const std::vector<std::int64_t> one(f.truth.size(), 5);
  EXPECT_EQ(ml::normalized_mutual_info(one, f.truth, world()), 0.0);
  EXPECT_NEAR(ml::adjusted_rand_index(one, f.truth, world()), 0.0, 1e-15);
}

// Two tight clusters 1000 apart: a ≈ 0.01, b ≈ 1000, s ≈ 1 − 1e-5.
TEST(Quality, FarApartTightClustersHaveSilhouetteOne) {
  const std::uint64_t n = 400, d = 3;
  std::vector<float> all(n * d);
  std::vector<std::int64_t> labels_all(n);
  for (std::uint64_t i = 0; i < n; ++i) {
    core::Rng rng(3, core::Stream::test, i);
    labels_all[i] = static_cast<std::int64_t>(i % 2);
    for (std::uint64_t j = 0; j < d; ++j) all[i * d + j] = static_cast<float>(1000.0 * (i % 2) + 0.01 * rng.normal());
  }
  const auto x = ml::shard_rows(all, d, world());
  const std::vector<std::int64_t> labels(labels_all.begin() + x.first_row,
                                         labels_all.begin() + x.first_row + x.local_rows);
  const auto s = ml::silhouette(x, labels, {}, world());
  EXPECT_GT(s.value, 0.9999);
  EXPECT_LE(s.value, 1.0);
  EXPECT_LT(ml::davies_bouldin(x, labels, world()), 1e-4);
}

// Three overlapping 1-D Gaussian clusters; row i depends only on i.
struct Line {
  std::vector<float> values;
  std::vector<std::int64_t> labels;
};
Line line(std::uint64_t n) {
  Line l{std::vector<float>(n), std::vector<std::int64_t>(n)};
  for (std::uint64_t i = 0; i < n; ++i) {
    core::Rng rng(17, core::Stream::test, i);
    l.labels[i] = static_cast<std::int64_t>(rng.below(3));
    l.values[i] = static_cast<float>(3.0 * l.labels[i] + rng.normal());
  }
  return l;
}

// Exact mean silhouette in 1-D: per cluster, sorted values and prefix sums give
// Σ_y |x − y| in O(log n) — an independent reference for the O(N²) code.
double silhouette_1d(const Line& l) {
  const std::size_t k = 3;
  std::vector<std::vector<double>> sorted(k), prefix(k);
  for (std::size_t i = 0; i < l.values.size(); ++i) sorted[l.labels[i]].push_back(l.values[i]);
  for (std::size_t c = 0; c < k; ++c) {
    std::sort(sorted[c].begin(), sorted[c].end());
    prefix[c].assign(1, 0.0);
    for (double v : sorted[c]) prefix[c].push_back(prefix[c].back() + v);
  }
  double total = 0.0;
  for (std::size_t i = 0; i < l.values.size(); ++i) {
    const double x = l.values[i];
    double a = 0.0, b = INFINITY;
    for (std::size_t c = 0; c < k; ++c) {
      const auto& s = sorted[c];
      const std::size_t below = std::upper_bound(s.begin(), s.end(), x) - s.begin();
      const double sum = (below * x - prefix[c][below]) + (prefix[c].back() - prefix[c][below]) - (s.size() - below) * x;
      if (static_cast<std::int64_t>(c) == l.labels[i]) a = sum / (s.size() - 1.0);
      else b = std::min(b, sum / s.size());
    }
    total += (b - a) / std::max(a, b);
  }
  return total / l.values.size();
}

std::vector<std::int64_t> local_labels(const Line& l, const ml::ShardedMatrix& x) {
  return {l.labels.begin() + x.first_row, l.labels.begin() + x.first_row + x.local_rows};
}

TEST(Quality, ExactSilhouetteMatches1dReference) {
  const auto l = line(3000);
  const auto x = ml::shard_rows(l.values, 1, world());
  const auto s = ml::silhouette(x, local_labels(l, x), {}, world());
  ASSERT_TRUE(s.exact);
  EXPECT_NEAR(s.value, silhouette_1d(l), 1e-10);
}

// Values on a coarse grid repeat (as SAX/ACF vectors do): the distance sums
// then run over distinct (row, label) targets weighted by their counts.
TEST(Quality, SilhouetteOfRepeatedRowsMatches1dReference) {
  auto l = line(3000);
  for (auto& v : l.values) v = std::round(v * 2.0f) / 2.0f;  // ~30 distinct values
  const auto x = ml::shard_rows(l.values, 1, world());
  const auto s = ml::silhouette(x, local_labels(l, x), {}, world());
  ASSERT_TRUE(s.exact);
  EXPECT_NEAR(s.value, silhouette_1d(l), 1e-9);
  auto big = line(60000);
  for (auto& v : big.values) v = std::round(v * 2.0f) / 2.0f;
  const auto y = ml::shard_rows(big.values, 1, world());
  ml::SilhouetteOptions options;
  options.sample_size = 4000;
  options.seed = 42;
  const auto sampled = ml::silhouette(y, local_labels(big, y), options, world());
  ASSERT_FALSE(sampled.exact);
  EXPECT_LT(std::abs(sampled.value - silhouette_1d(big)), 3.0 * sampled.standard_error);
}

TEST(Quality, SampledSilhouetteWithinThreeStandardErrors) {
  const auto l = line(60000);
  const auto x = ml::shard_rows(l.values, 1, world());
  ml::SilhouetteOptions options;
  options.sample_size = 4000;
  options.seed = 42;
  const auto s = ml::silhouette(x, local_labels(l, x), options, world());
  ASSERT_FALSE(s.exact);
  EXPECT_GT(s.samples, 3700u);  // Binomial(60000, 1/15): 4000 ± 61
  EXPECT_LT(s.samples, 4300u);
  EXPECT_GT(s.standard_error, 0.0);
  EXPECT_LT(s.standard_error, 0.02);
  const double exact = silhouette_1d(l);
  EXPECT_LT(std::abs(s.value - exact), 3.0 * s.standard_error) << s.value << " vs " << exact;
  // The per-row values: exactly the rows the sampling rule draws have one
  // (in [-1, 1]), the others NaN; their mean is the mean.
  ASSERT_EQ(s.local.size(), x.local_rows);
  double sum = 0.0, drawn = 0.0;
  for (std::uint64_t i = 0; i < x.local_rows; ++i) {
    core::Rng rng(options.seed, core::Stream::silhouette_sample, x.first_row + i);
    EXPECT_EQ(rng.uniform() < 4000.0 / 60000.0, !std::isnan(s.local[i])) << "row " << x.first_row + i;
    if (std::isnan(s.local[i])) continue;
    EXPECT_LE(std::abs(s.local[i]), 1.0);
    sum += s.local[i];
    drawn += 1.0;
  }
  EXPECT_EQ(static_cast<std::uint64_t>(world().allreduce_sum(drawn)), s.samples);
  EXPECT_NEAR(world().allreduce_sum(sum) / static_cast<double>(s.samples), s.value, 1e-12);
}

TEST(Quality, SameResultsOnOneRank) {
  const auto f = load(world());
  const auto l = line(20000);
  const auto x_line = ml::shard_rows(l.values, 1, world());
  ml::SilhouetteOptions sampled;
  sampled.exact_limit = 1000;
  sampled.sample_size = 500;
  const double here[] = {ml::silhouette(f.x, f.predicted, {}, world()).value,
                         ml::davies_bouldin(f.x, f.other, world()),
                         ml::adjusted_rand_index(f.truth, f.other, world()),
                         ml::normalized_mutual_info(f.truth, f.other, world()),
                         ml::silhouette(x_line, local_labels(l, x_line), sampled, world()).value};
  const bool member = world().rank() == 0;
  par::Comm sub = world().split(member ? 0 : 1, world().rank());
  if (!member) return;
  const auto g = load(sub);
  const auto x_alone = ml::shard_rows(l.values, 1, sub);
  const double alone[] = {ml::silhouette(g.x, g.predicted, {}, sub).value, ml::davies_bouldin(g.x, g.other, sub),
                          ml::adjusted_rand_index(g.truth, g.other, sub),
                          ml::normalized_mutual_info(g.truth, g.other, sub),
                          ml::silhouette(x_alone, local_labels(l, x_alone), sampled, sub).value};
  for (std::size_t i = 0; i < 5; ++i) EXPECT_NEAR(here[i], alone[i], 1e-12) << i;
}

std::string message_of(const std::function<void()>& fn) {
  try {
    fn();
  } catch (const Error& e) {
    return e.what();
  }
  return "";
}

TEST(Quality, LabelsOfTheWrongLengthNameTheDataset) {
  const auto f = load(world());
  const std::string path = shared_dir() + "/short.h5";
  {
    const std::vector<std::int64_t> all(499, 1);
    io::H5File out = io::H5File::create(path, world());
    const auto mine = par::BlockPartition::over(499, world()).range(world().rank());
    io::write_samples(out, "/labels", all.data() + mine.begin, mine.size(), {});
    out.commit();
  }
  const std::string msg = message_of([&] { ml::read_labels(path, f.x, world()); });
  EXPECT_NE(msg.find(path + ":/labels"), std::string::npos) << msg;
  EXPECT_NE(msg.find("500"), std::string::npos) << msg;
  EXPECT_NE(msg.find("[499]"), std::string::npos) << msg;
  EXPECT_EQ(msg.find('\n'), std::string::npos) << msg;
  // A labeling with one cluster has no silhouette.
  const std::vector<std::int64_t> one(f.x.local_rows, 0);
  EXPECT_THROW(ml::silhouette(f.x, one, {}, world()), Error);
  EXPECT_THROW(ml::davies_bouldin(f.x, one, world()), Error);
}

}  // namespace
