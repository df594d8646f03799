// The registered networks: the sizes the papers give, output shapes, model
// files that rebuild the same network without a deck, and clear errors.
#include <gtest/gtest.h>

#include <algorithm>
#include <cstdio>

#include "phenoscale/core/error.hpp"
#include "phenoscale/io/hdf5.hpp"
#include "phenoscale/nn/engine.hpp"  // read_model_spec
#include "phenoscale/nn/model.hpp"
#include "phenoscale/nn/model_file.hpp"
#include "phenoscale/nn/optimizer.hpp"
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
  // Xu et al. 2017: ≈18.2 M (Inception3D) and ≈33.2 M (DSRF3D) at 40³, 23 classes.
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

// bidirectional_encoder = 1 (the paper's every-layer-bidirectional encoder):
// the latent is both directions' final states, latent/2 units each, and since
// every layer runs on packed sequences a series' latent is the same alone as
// in a padded batch — the backward pass of a padded batch would otherwise
// start on zeros. An odd latent cannot be split and is refused.
TEST(Models, GuidedAutoencoderBidirectionalEncoderLatentIgnoresPadding) {
  torch::NoGradGuard no_grad;
  torch::manual_seed(3);
  auto m = make_model(make_spec("guided-bilstm-ae", {{"channels", 1}, {"classes", 4}, {"bidirectional_encoder", 1}}));
  m->eval();
  const std::vector<std::int64_t> lengths{9, 4, 7};
  Batch b;
  b.inputs = torch::randn({3, 9, 1});
  b.lengths = torch::tensor(lengths, torch::kInt64);
  b.mask = torch::ones({3, 9});
  const auto together = m->forward(b).features;
  ASSERT_EQ(together.sizes(), (std::vector<std::int64_t>{3, 30}));
  for (std::int64_t i = 0; i < 3; ++i) {
    const auto n = lengths[static_cast<std::size_t>(i)];
    Batch one;
    one.inputs = b.inputs[i].narrow(0, 0, n).unsqueeze(0).contiguous();
    one.lengths = torch::tensor({n}, torch::kInt64);
    one.mask = torch::ones({1, n});
    const auto alone = m->forward(one).features;
    EXPECT_LT((alone[0] - together[i]).abs().max().item<double>(), 1e-6) << "series " << i;
  }
  // The backward direction reads the first frame last: changing only frame 0
  // moves the second half of the latent (the forward half too, through the
  // bidirectional lower layers), so the onset reaches the latent directly.
  auto changed = b;
  changed.inputs = b.inputs.clone();
  changed.inputs[0][0][0] += 3.0;
  const auto moved = (m->forward(changed).features[0] - together[0]).abs();
  EXPECT_GT(moved.narrow(0, 15, 15).max().item<double>(), 1e-3);
  const auto odd = testing::message_of<ConfigError>([] {
    make_model(make_spec("guided-bilstm-ae", {{"channels", 1}, {"latent", 29}, {"bidirectional_encoder", 1}}));
  });
  EXPECT_NE(odd.find("latent = 29"), std::string::npos) << odd;
}

// Model files written before bidirectional_encoder existed lack the key and
// were built with the reference encoder: reading their spec rebuilds that
// network (0), while a new spec gets the paper's (1) and a stored key wins.
TEST(Models, GuidedAutoencoderSpecWithoutTheEncoderKeyIsTheReferenceEncoder) {
  auto current = make_spec("guided-bilstm-ae", {{"channels", 1}});
  EXPECT_EQ(current.integer("bidirectional_encoder"), 1);
  auto text = current.to_text();
  EXPECT_EQ(ModelSpec::from_text("guided-bilstm-ae", text).integer("bidirectional_encoder"), 1);
  const auto line = text.find("bidirectional_encoder = 1.0\n");
  ASSERT_NE(line, std::string::npos) << text;
  text.erase(line, std::string("bidirectional_encoder = 1.0\n").size());
  const auto old = ModelSpec::from_text("guided-bilstm-ae", text);
  EXPECT_EQ(old.integer("bidirectional_encoder"), 0);
  // The two networks differ: the reference encoder's second layer is one-way.
  EXPECT_NE(make_model(old)->parameters().size(), make_model(current)->parameters().size());
}

// A rank's last training batch can hold one sample: the head's BatchNorm
// then normalises with its running statistics (as in evaluation) instead of
// failing, the statistics stay as they were, and gradients still flow.
TEST(Models, GuidedAutoencoderTrainsOnABatchOfOne) {
  auto m = make_model(make_spec("guided-bilstm-ae", {{"channels", 1}, {"classes", 3}}));
  m->train();
  Batch b;
  b.inputs = torch::randn({1, 6, 1});
  b.lengths = torch::tensor({6}, torch::kInt64);
  b.mask = torch::ones({1, 6});
  b.need_reconstruction = true;
  std::vector<torch::Tensor> before;
  for (const auto& buffer : m->buffers()) before.push_back(buffer.clone());
  const auto out = m->forward(b);
  ASSERT_EQ(out.logits.sizes(), (std::vector<std::int64_t>{1, 3}));
  out.logits.sum().backward();
  double gradient = 0;
  for (const auto& p : m->parameters())
    if (p.grad().defined()) gradient += p.grad().abs().sum().item<double>();
  EXPECT_GT(gradient, 0.0);
  const auto after = m->buffers();
  ASSERT_EQ(after.size(), before.size());
  for (std::size_t i = 0; i < after.size(); ++i) EXPECT_TRUE(torch::equal(after[i], before[i])) << "buffer " << i;
  // Two samples still use the batch's own statistics (running mean moves).
  b.inputs = torch::randn({2, 6, 1});
  b.lengths = torch::tensor({6, 5}, torch::kInt64);
  b.mask = torch::ones({2, 6});
  m->forward(b);
  bool moved = false;
  for (std::size_t i = 0; i < after.size(); ++i) moved = moved || !torch::equal(m->buffers()[i], before[i]);
  EXPECT_TRUE(moved);
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

// A damaged hyper-parameter attribute is a one-line error (InputError, agreed
// by every rank) naming the file, the attribute and the line, not a bare std::stod failure; a stored
// key or architecture the registry does not know names the file too.
TEST_F(ModelFiles, DamagedHyperParametersNameTheFileAndLine) {
  const auto& comm = testing::world();
  par::Comm alone = comm.split(comm.rank(), 0);
  const auto write = [&](const std::string& name, const std::string& arch, const std::string& text) {
    io::H5File f = io::H5File::create(file(name), alone);
    f.write_attribute("/", "architecture", arch);
    f.write_attribute("/", "hyperparameters", text);
    f.commit();
    return file(name);
  };
  const auto bad = write("bad.h5", "mlp", "classes = 2.0\nhidden = 6x4\n");
  const auto line = testing::message_of<Error>([&] { load_model(bad, alone); });
  EXPECT_NE(line.find(bad + ": attribute '/hyperparameters': hyper-parameter line 2 'hidden = 6x4'"), std::string::npos)
      << line;
  EXPECT_NE(line.find("expected 'key = number'"), std::string::npos) << line;
  const auto nan = write("nan.h5", "mlp", "classes = nan\n");
  EXPECT_NE(testing::message_of<Error>([&] { load_model(nan, alone); }).find("line 1 'classes = nan'"),
            std::string::npos);
  const auto junk = write("junk.h5", "mlp", "classes: 2\n");
  EXPECT_NE(testing::message_of<Error>([&] { load_model(junk, alone); }).find("line 1 'classes: 2'"),
            std::string::npos);
  const auto key = write("key.h5", "mlp", "classes = 2.0\ndepth = 3.0\n");
  const auto unknown = testing::message_of<Error>([&] { load_model(key, alone); });
  EXPECT_NE(unknown.find(key + ": model.mlp.depth: 'mlp' has no hyper-parameter 'depth'"), std::string::npos) << unknown;
  const auto arch = write("arch.h5", "resnet", "classes = 2.0\n");
  const auto unknown_arch = testing::message_of<Error>([&] { load_model(arch, alone); });
  EXPECT_NE(unknown_arch.find(arch + ": unknown model architecture 'resnet'"), std::string::npos) << unknown_arch;
  // Blank lines are tolerated, and the well-formed text reads back.
  const auto ok = write("ok.h5", "mlp", "classes = 3.0\n\nhidden = 6.0\n");
  EXPECT_EQ(read_model_spec(ok, alone).integer("hidden"), 6);
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

// The architecture table (names, hyper-parameters) is torch-free and each
// name's constructor is bound elsewhere (libtorch/model_factories.cpp): a
// registered name without one must fail here, not in a user's job.
TEST(Models, EveryRegisteredArchitectureBuilds) {
  for (const auto& a : architectures()) {
    std::map<std::string, double> small;
    for (const auto& h : a.hyperparameters) {
      if (h.key == "size") small["size"] = 16;
      if ((h.key == "inputs" || h.key == "channels") && h.default_value == 0) small[h.key] = 3;  // "from the data"
    }
    std::shared_ptr<Model> m;
    EXPECT_NO_THROW(m = make_model(make_spec(a.name, small))) << a.name;
    if (!m) continue;
    EXPECT_EQ(m->spec().architecture, a.name);
    // The name is bound to a network of its task: a batch of two samples of
    // its input kind gives logits over its classes (per frame for segment).
    Batch batch;
    batch.indices = {0, 1};
    if (a.input == InputKind::sequence) {
      const std::int64_t per_frame = 3, frames = 32;  // the "from the data" width set above
      batch.inputs = torch::randn({2, frames, per_frame});
      batch.mask = torch::ones({2, frames});
      batch.lengths = torch::full({2}, frames, torch::kInt64);
    } else {
      std::vector<std::int64_t> shape{2};
      for (auto d : expected_sample_shape(m->spec())) shape.push_back(d);
      batch.inputs = torch::randn(shape);
      batch.lengths = torch::ones({2}, torch::kInt64);
    }
    m->eval();
    torch::NoGradGuard no_grad;
    ModelOutput out;
    ASSERT_NO_THROW(out = m->forward(batch)) << a.name;
    const std::int64_t classes = m->spec().integer("classes");
    ASSERT_TRUE(out.logits.defined()) << a.name;
    EXPECT_EQ(out.logits.size(0), 2) << a.name;
    EXPECT_EQ(out.logits.size(-1), classes) << a.name;
    EXPECT_EQ(out.logits.dim(), a.task == Task::segment ? 3 : 2) << a.name;
  }
}

// The deck schema's optimiser names (engine.hpp, torch-free) are the ones
// src/nn/libtorch/optimizer.cpp builds, and no others.
TEST(Models, EveryOptimizerNameBuildsAndNoOther) {
  auto p = torch::zeros({3}, torch::requires_grad());
  for (const auto& name : optimizer_names()) {
    OptimizerSettings s;
    s.name = name;
    EXPECT_NE(make_optimizer(s, {p}), nullptr) << name;
  }
  OptimizerSettings unknown;
  unknown.name = "lbfgs";
  const auto message = testing::message_of<ConfigError>([&] { make_optimizer(unknown, {p}); });
  std::string names;
  for (const auto& n : optimizer_names()) names += (names.empty() ? "" : ", ") + n;
  EXPECT_NE(message.find("available: " + names), std::string::npos) << message;
}

// --- unet1d (DeepSPT, docs/methods.md §2.2) -------------------------------------

// A batch of series [B, T, C] zero-padded to the longest, with mask and lengths.
Batch series_batch(const std::vector<torch::Tensor>& series) {
  std::int64_t longest = 0;
  for (const auto& s : series) longest = std::max(longest, s.size(0));
  const auto b = static_cast<std::int64_t>(series.size()), c = series.front().size(1);
  Batch batch;
  batch.inputs = torch::zeros({b, longest, c});
  batch.mask = torch::zeros({b, longest});
  std::vector<std::int64_t> lengths;
  for (std::int64_t i = 0; i < b; ++i) {
    const auto n = series[i].size(0);
    batch.inputs[i].narrow(0, 0, n).copy_(series[i]);
    batch.mask[i].narrow(0, 0, n).fill_(1.0);
    lengths.push_back(n);
  }
  batch.lengths = torch::tensor(lengths, torch::kInt64);
  batch.indices.resize(b);
  return batch;
}

ModelSpec small_unet(std::int64_t inputs = 4) {
  return make_spec("unet1d", {{"inputs", inputs}, {"channels", 8}, {"depth", 2}, {"kernel", 3}});
}

// Parameters of the current unet1d by its structure (models_unet1d.cpp):
// conv in·out·k + out, BatchNorm 2·out; encoder/bottleneck/decoder blocks of
// `convs` convolutions, one-convolution "up" blocks, head conv k=3, 1×1 out.
std::int64_t unet1d_parameters(std::int64_t inputs, std::int64_t c, std::int64_t depth, std::int64_t k,
                               std::int64_t convs = 2, std::int64_t classes = 4) {
  auto block = [&](std::int64_t in, std::int64_t out, std::int64_t n) {
    std::int64_t p = 0;
    for (std::int64_t i = 0; i < n; ++i) p += (i == 0 ? in : out) * out * k + out + 2 * out;
    return p;
  };
  std::int64_t p = 0, in = inputs;
  for (std::int64_t l = 0; l < depth; ++l) p += block(in, c << l, convs), in = c << l;
  p += block(in, c << depth, convs);
  for (std::int64_t l = 0; l < depth; ++l) p += block(c << (l + 1), c << l, 1) + block(2 * (c << l), c << l, convs);
  return p + c * c * 3 + c + c * classes + classes;
}

TEST(Unet1d, OneLogitPerClassPerFrameForOddLengths) {
  torch::manual_seed(1);
  torch::NoGradGuard no_grad;
  auto m = make_model(small_unet());
  m->eval();
  for (std::int64_t t : {1, 5, 13}) {
    const auto out = m->forward(series_batch({torch::randn({t, 4}), torch::randn({t, 4})}));
    EXPECT_EQ(out.logits.sizes(), (std::vector<std::int64_t>{2, t, 4})) << "T = " << t;
    EXPECT_TRUE(torch::isfinite(out.logits).all().item<bool>()) << "T = " << t;
  }
}

TEST(Unet1d, PaddingInABatchDoesNotChangeASeriesLogits) {
  // models_unet1d.cpp: every block's output is masked, so in eval mode a
  // series' logits are those of the series alone, whatever its batch's
  // padding. A few training-mode passes first give BatchNorm non-trivial
  // running statistics (a shift that would leak into unmasked padding).
  torch::manual_seed(2);
  auto m = make_model(make_spec("unet1d", {{"inputs", 5}, {"channels", 8}, {"depth", 3}, {"kernel", 5}}));
  {
    torch::NoGradGuard no_grad;
    m->train();
    for (int i = 0; i < 5; ++i) m->forward(series_batch({torch::randn({40, 5}) * 3 + 1}));
  }
  m->eval();
  torch::NoGradGuard no_grad;
  for (std::int64_t n : {9, 16, 21}) {
    const auto series = torch::randn({n, 5});
    const auto alone = m->forward(series_batch({series})).logits[0];
    const auto batched = m->forward(series_batch({torch::randn({37, 5}), series, torch::randn({n + 2, 5})})).logits[1];
    EXPECT_EQ(batched.size(0), 37);
    const double diff = (batched.narrow(0, 0, n) - alone).abs().max().item<double>();
    EXPECT_LE(diff, 1e-5) << "series of " << n << " frames in a batch padded to 37";
  }
  // Control: the same zero padding counted as real frames (mask 1) does change
  // the logits, so the comparison above would see a leak.
  const auto series = torch::randn({9, 5});
  const auto alone = m->forward(series_batch({series})).logits[0];
  auto unmasked = series_batch({torch::randn({37, 5}), series});
  unmasked.mask.fill_(1.0);
  const double leak = (m->forward(unmasked).logits[1].narrow(0, 0, 9) - alone).abs().max().item<double>();
  EXPECT_GT(leak, 1e-3);
}

TEST(Unet1d, ParameterCountsOfThePaperPresets) {
  // The count follows the structure above at every size (formula = model).
  auto small = make_model(small_unet());
  EXPECT_EQ(count_parameters(*small), unet1d_parameters(4, 8, 2, 3));
  EXPECT_EQ(count_parameters(*small), 11636);
  auto paper3d = make_model(make_spec("unet1d-paper3d", {{"inputs", 5}}));
  auto paper2d = make_model(make_spec("unet1d-paper2d", {{"inputs", 4}}));
  const auto n3 = count_parameters(*paper3d), n2 = count_parameters(*paper2d);
  std::printf("unet1d-paper2d (inputs 4): %lld parameters; unet1d-paper3d (inputs 5): %lld parameters\n",
              static_cast<long long>(n2), static_cast<long long>(n3));
  EXPECT_EQ(n2, unet1d_parameters(4, 130, 4, 7));
  EXPECT_EQ(n3, unet1d_parameters(5, 48, 3, 5));
  // docs/methods.md §2.2 gives ≈131 M (2D) and ≈4.9 M (3D); this architecture has
  // 110.8 M and 2.69 M (reported to the lead; not asserted against the paper).
  EXPECT_EQ(n2, 110825524);
  EXPECT_EQ(n3, 2688340);
}

TEST(Unet1d, EvenKernelIsAConfigError) {
  const auto message = testing::message_of<ConfigError>(
      [] { make_model(make_spec("unet1d", {{"inputs", 4}, {"kernel", 4}})); });
  EXPECT_NE(message.find("model.unet1d.kernel = 4"), std::string::npos) << message;
  EXPECT_NE(message.find("odd"), std::string::npos) << message;
}

// --- gru-tagger (DeepSPT event timing, docs/methods.md §2.6) -----------------------

TEST(GruTagger, PaperSizeAndOneLogitPerClassPerFrame) {
  // Bi-GRU 5 layers × 25 units (docs/methods.md §2.6), before/after per frame.
  // Per direction and layer 3H(in + H) + 6H parameters (in = channels, then 2H),
  // then the linear head 2H·classes + classes.
  auto m = make_model(make_spec("gru-tagger", {{"channels", 5}}));
  const std::int64_t h = 25, per_layer0 = 3 * h * (5 + h) + 6 * h, per_layer = 3 * h * (2 * h + h) + 6 * h;
  EXPECT_EQ(count_parameters(*m), 2 * per_layer0 + 4 * 2 * per_layer + 2 * h * 2 + 2);
  EXPECT_EQ(count_parameters(*m), 51102);
  // Parameter names are part of the model files: "gru." here, "lstm." for the LSTM tagger.
  EXPECT_EQ(m->named_parameters().contains("gru.weight_ih_l4_reverse"), true);
  EXPECT_EQ(make_model(make_spec("lstm-tagger", {{"channels", 5}}))->named_parameters().contains("lstm.weight_ih_l0"),
            true);
  torch::manual_seed(3);
  torch::NoGradGuard no_grad;
  m->eval();
  const auto out = m->forward(series_batch({torch::randn({12, 5}), torch::randn({7, 5}), torch::randn({1, 5})}));
  EXPECT_EQ(out.logits.sizes(), (std::vector<std::int64_t>{3, 12, 2}));
  EXPECT_EQ(out.features.sizes(), (std::vector<std::int64_t>{3, 12, 50}));
  EXPECT_TRUE(torch::isfinite(out.logits).all().item<bool>());
}

TEST(GruTagger, PaddingInABatchDoesNotChangeASeriesLogits) {
  // Packed sequences: the backward GRU starts at a series' own last frame, so
  // in eval mode its logits alone and in a batch padded to 31 frames agree.
  torch::manual_seed(5);
  auto m = make_model(make_spec("gru-tagger", {{"channels", 3}, {"hidden", 6}, {"layers", 2}}));
  m->eval();
  torch::NoGradGuard no_grad;
  for (std::int64_t n : {1, 8, 30}) {
    const auto series = torch::randn({n, 3});
    const auto alone = m->forward(series_batch({series})).logits[0];
    const auto batched = m->forward(series_batch({torch::randn({31, 3}), series, torch::randn({4, 3})})).logits[1];
    EXPECT_EQ(batched.size(0), 31);
    const double diff = (batched.narrow(0, 0, n) - alone).abs().max().item<double>();
    EXPECT_LE(diff, 1e-5) << "series of " << n << " frames in a batch padded to 31";
  }
}

}  // namespace
}  // namespace phenoscale::nn
