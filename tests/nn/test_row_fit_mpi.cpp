// nn::fit_predict_rows, the in-memory fit behind `spt classify`'s
// cross-validation: a linear layer (mlp with layers = 0: multinomial
// logistic regression) and a 1-hidden-layer MLP learn planted classes; a fit
// is the same bit for bit on every rank and in every call (it runs alone, on
// one LibTorch thread), leaves the thread count as it found it, and rejects
// rows it cannot take with one clear error.
#include <gtest/gtest.h>
#include <torch/torch.h>

#include <cmath>
#include <cstring>

#include "phenoscale/core/error.hpp"
#include "phenoscale/core/rng.hpp"
#include "phenoscale/nn/engine.hpp"
#include "test_support.hpp"

namespace phenoscale::nn {
namespace {

using testing::world;

// `per_class` rows of each of `classes` Gaussian blobs in 6 dimensions:
// class k has mean 2 along axis k, unit noise elsewhere.
RowSet blobs(int classes, int per_class, std::uint64_t seed) {
  RowSet set;
  set.features = 6;
  core::Rng rng(seed, core::Stream::test, 0);
  for (int i = 0; i < per_class; ++i)
    for (int k = 0; k < classes; ++k) {
      for (int j = 0; j < 6; ++j) set.values.push_back(static_cast<float>(rng.normal() + (j == k ? 2.5 : 0.0)));
      set.labels.push_back(k);
    }
  return set;
}

double accuracy(const std::vector<float>& p, const RowSet& test, int classes) {
  int right = 0;
  for (std::int64_t i = 0; i < test.rows(); ++i) {
    const float* row = p.data() + i * classes;
    right += std::max_element(row, row + classes) - row == test.labels[static_cast<std::size_t>(i)];
  }
  return double(right) / double(test.rows());
}

RowFit fit_of(double layers, int classes) {
  RowFit fit;
  fit.spec = make_spec("mlp", {{"layers", layers}, {"hidden", 16}, {"classes", double(classes)}});
  fit.learning_rate = 1e-2;
  fit.epochs = 20;
  fit.batch_size = 32;
  fit.seed = 42;
  return fit;
}

TEST(RowFit, LogisticRegressionAndMlpLearnPlantedClasses) {
  const RowSet train = blobs(3, 100, 1), test = blobs(3, 100, 2);
  for (double layers : {0.0, 1.0}) {
    const auto p = fit_predict_rows(fit_of(layers, 3), train, test);
    ASSERT_EQ(p.size(), static_cast<std::size_t>(test.rows() * 3));
    for (std::int64_t i = 0; i < test.rows(); ++i)
      EXPECT_NEAR(p[i * 3] + p[i * 3 + 1] + p[i * 3 + 2], 1.0, 1e-5) << "row " << i;
    const double acc = accuracy(p, test, 3);
    if (world().is_root()) std::printf("  %s: held-out accuracy %.3f\n", layers == 0 ? "logistic" : "mlp", acc);
    EXPECT_GE(acc, 0.9) << "layers " << layers;
  }
}

TEST(RowFit, SameBitsOnEveryRankInEveryCallAndThreadsRestored) {
  const RowSet train = blobs(2, 60, 3), test = blobs(2, 20, 4);
  const int threads = torch::get_num_threads();
  const auto first = fit_predict_rows(fit_of(1, 2), train, test);
  EXPECT_EQ(torch::get_num_threads(), threads);
  const auto second = fit_predict_rows(fit_of(1, 2), train, test);
  ASSERT_EQ(first.size(), second.size());
  EXPECT_EQ(std::memcmp(first.data(), second.data(), first.size() * sizeof(float)), 0);
  // Rank 0's probabilities, broadcast, must equal every rank's own bit for bit.
  std::vector<float> root = first;
  world().broadcast(root);
  EXPECT_EQ(std::memcmp(root.data(), first.data(), first.size() * sizeof(float)), 0) << "rank " << world().rank();
  RowFit other = fit_of(1, 2);
  other.seed = 43;
  EXPECT_NE(fit_predict_rows(other, train, test), first) << "the seed sets initialisation and shuffles";
}

TEST(RowFit, RejectsRowsTheModelCannotTake) {
  RowSet train = blobs(3, 10, 5);
  const RowSet test = blobs(3, 2, 6);
  const auto message = testing::message_of<Error>([&] { fit_predict_rows(fit_of(0, 2), train, test); });
  EXPECT_NE(message.find("label 2 is outside the model's 2 classes"), std::string::npos) << message;
  RowSet narrow = test;
  narrow.features = 3;
  EXPECT_THROW(fit_predict_rows(fit_of(0, 3), train, narrow), InputError);
  train.labels.pop_back();
  EXPECT_THROW(fit_predict_rows(fit_of(0, 3), train, test), InputError);
}

}  // namespace
}  // namespace phenoscale::nn
