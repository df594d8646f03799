// The registered networks: the sizes METHODS.md gives, output shapes, model
// files that rebuild the same network without a deck, and clear errors.
#include <gtest/gtest.h>

#include "phenoscale/core/error.hpp"
#include "phenoscale/nn/model.hpp"
#include "phenoscale/nn/model_file.hpp"
#include "test_support.hpp"

namespace phenoscale::nn {
namespace {

std::int64_t count_parameters(Model& m) {
  std::int64_t n = 0;
  for (const auto& p : m.parameters()) n += p.numel();
  return n;
}

Batch cubes(std::int64_t b, std::int64_t side) {
  Batch batch;
  batch.inputs = torch::randn({b, side, side, side});
  batch.indices.resize(b);
  return batch;
}

TEST(Models, PaperNetworksHaveThePublishedSizes) {
  // METHODS.md §1.2: ≈18.2 M (Inception3D) and ≈33.2 M (DSRF3D) at 40³, 23 classes.
  auto inception = make_model(make_spec("inception3d", {}));
  auto dsrf = make_model(make_spec("dsrf3d", {}));
  EXPECT_NEAR(count_parameters(*inception) / 1e6, 18.2, 0.05);
  EXPECT_NEAR(count_parameters(*dsrf) / 1e6, 33.2, 0.05);
  // Inception3D's flattened width: 160 channels × 17³ = 786,080.
  EXPECT_EQ(inception->named_parameters()["out.weight"].size(1), 786080);
}

TEST(Models, PlainDsrf3dStartsWithOrderOneLogits) {
  // DSRF3D has no batch norm: with LibTorch's default initialisation its
  // logits on unit-variance input spread ~0.02 and noisy subtomograms left
  // it at chance (loss ln L). He initialisation keeps the signal's power
  // through the ReLU stack, so the logits start at order one.
  torch::manual_seed(7);
  torch::NoGradGuard no_grad;
  for (const char* name : {"dsrf3d", "dsrf3d-v2"}) {
    auto m = make_model(make_spec(name, {{"size", 16}, {"classes", 5}}));
    m->eval();
    const double spread = m->forward(cubes(16, 16)).logits.std().item<double>();
    EXPECT_GT(spread, 0.2) << name;
    EXPECT_LT(spread, 20.0) << name;
  }
}

TEST(Models, ClassifiersGiveOneLogitPerClass) {
  torch::NoGradGuard no_grad;
  for (const char* name : {"inception3d", "dsrf3d", "dsrf3d-v2"}) {
    auto m = make_model(make_spec(name, {{"size", 16}, {"classes", 5}}));
    m->eval();
    const auto out = m->forward(cubes(2, 16));
    EXPECT_EQ(out.logits.sizes(), (std::vector<std::int64_t>{2, 5})) << name;
    EXPECT_TRUE(torch::equal(out.logits, out.features)) << name << ": the feature is the linear output";
  }
}

TEST(Models, GuidedAutoencoderReconstructsEveryFrame) {
  torch::NoGradGuard no_grad;
  auto m = make_model(make_spec("guided-bilstm-ae", {{"channels", 1}, {"classes", 6}}));
  m->eval();
  Batch b;
  b.inputs = torch::randn({3, 9, 1});
  b.lengths = torch::tensor({9, 4, 7}, torch::kInt64);
  b.mask = torch::ones({3, 9});
  const auto out = m->forward(b);
  EXPECT_EQ(out.logits.sizes(), (std::vector<std::int64_t>{3, 6}));
  EXPECT_EQ(out.features.sizes(), (std::vector<std::int64_t>{3, 30}));
  EXPECT_EQ(out.reconstruction.sizes(), (std::vector<std::int64_t>{3, 9, 1}));
  // Frames past a series' end are padding: exactly zero.
  EXPECT_EQ(out.reconstruction[1].narrow(0, 4, 5).abs().sum().item<double>(), 0.0);
}

class ModelFiles : public testing::TempDirTest {};

TEST_F(ModelFiles, ReloadWithoutTheDeckGivesTheSameOutputs) {
  const auto& comm = testing::world();
  par::Comm alone = comm.split(comm.rank(), 0);
  torch::manual_seed(4);
  auto m = make_model(make_spec("dsrf3d-v2", {{"size", 16}, {"classes", 4}, {"dropout", 0.25}}));
  save_model(file("m.h5"), *m, io::Provenance{"test", "", "", {}, 0}, alone);
  auto back = load_model(file("m.h5"), alone);
  EXPECT_EQ(back->spec().architecture, "dsrf3d-v2");
  EXPECT_EQ(back->spec().real("dropout"), 0.25);
  m->eval();
  back->eval();
  torch::NoGradGuard no_grad;
  const auto x = cubes(2, 16);
  EXPECT_TRUE(torch::equal(m->forward(x).logits, back->forward(x).logits));
}

TEST(Models, UnknownNamesAndValuesAreConfigErrors) {
  const auto unknown = testing::message_of<ConfigError>([] { make_spec("resnet", {}); });
  EXPECT_NE(unknown.find("unknown model architecture 'resnet'"), std::string::npos) << unknown;
  EXPECT_NE(unknown.find("dsrf3d"), std::string::npos) << unknown;
  const auto range = testing::message_of<ConfigError>([] { make_spec("mlp", {{"layers", 2.5}}); });
  EXPECT_NE(range.find("model.mlp.layers"), std::string::npos) << range;
  const auto key = testing::message_of<ConfigError>([] { make_spec("mlp", {{"depth", 2}}); });
  EXPECT_NE(key.find("no hyper-parameter 'depth'"), std::string::npos) << key;
}

}  // namespace
}  // namespace phenoscale::nn
