// Data-parallel training: the model after N steps does not depend on the
// rank count; batches are exchanged correctly; variable-length batching sees
// every sample once per epoch and masks padding out of the loss. The update
// options (warm-up, gradient clipping, weight decay) against their analytic
// values, and a resume in the middle of warm-up. Inference (batches of series
// of similar length) gives each series its own outputs, in storage order.
//
// Each run compares the world communicator (1, 2 or 3 ranks; 3 ranks give an
// uneven split and, in the last batch of an epoch, an empty rank) against a
// one-rank communicator of rank 0 that trains the same model with the same
// global batch.
#include <gtest/gtest.h>

#include <cmath>
#include <csignal>
#include <filesystem>
#include <numeric>
#include <set>

#include "phenoscale/core/error.hpp"
#include "phenoscale/core/rng.hpp"
#include "phenoscale/core/stop_signal.hpp"
#include "phenoscale/nn/inference.hpp"
#include "phenoscale/nn/loss.hpp"
#include "phenoscale/nn/optimizer.hpp"
#include "phenoscale/nn/sampler.hpp"
#include "phenoscale/nn/trainer.hpp"
#include "phenoscale/par/partition.hpp"
#include "test_support.hpp"

namespace phenoscale::nn {
namespace {

using testing::world;

// Sample i of a synthetic labelled dataset, the same on every rank: a cube
// of side `side` (or a series of 5..30 frames × 2 channels) whose mean
// depends on the class.
struct Synthetic {
  bool sequences = false;
  std::int64_t side = 8, classes = 3;
  bool per_frame = false;

  void append(SampleStore& s, std::int64_t i) const {
    core::Rng rng(7, core::Stream::test, i);
    const std::int64_t label = i % classes;
    const std::int64_t frames = sequences ? 5 + static_cast<std::int64_t>(rng.below(26)) : 1;
    const std::int64_t width = sequences ? 2 : side * side * side;
    std::vector<float> x(frames * width);
    for (auto& v : x) v = static_cast<float>(rng.normal(0.3 * label, 1.0));
    std::vector<std::int64_t> t(per_frame ? frames : 1, label);
    if (per_frame) {
      for (std::int64_t f = 0; f < frames; ++f) t[f] = (label + f / 7) % classes;
    }
    s.push_back(x.data(), frames, t.data());
  }

  // This rank's block of N samples over `comm`.
  SampleStore shard(std::int64_t n, const par::Comm& comm) const {
    SampleStore s;
    s.sequences = sequences;
    s.sample_shape = sequences ? std::vector<std::int64_t>{2} : std::vector<std::int64_t>{side, side, side};
    s.labelled = true;
    s.per_frame_targets = per_frame;
    const auto r = par::BlockPartition::over(n, comm).range(comm.rank());
    for (auto i = static_cast<std::int64_t>(r.begin); i < static_cast<std::int64_t>(r.end); ++i) append(s, i);
    s.finish_sharding(comm);
    return s;
  }
};

TrainerOptions twenty_steps(std::size_t bucket_bytes) {
  TrainerOptions o;
  o.optimizer.name = "sgd";
  o.optimizer.learning_rate = 0.05;
  o.optimizer.decay = 1e-3;
  o.epochs = 100;
  o.max_steps = 20;
  o.global_batch = 16;
  o.seed = 11;
  o.sync.bucket_bytes = bucket_bytes;
  o.progress_interval_s = 1e9;
  return o;
}

// A model's parameters, and its float buffers (BatchNorm running statistics,
// this rank's), as one flat tensor each.
torch::Tensor flat_parameters(Model& model) {
  std::vector<torch::Tensor> flat;
  for (auto& p : model.parameters()) flat.push_back(p.detach().reshape({-1}));
  return torch::cat(flat);
}
torch::Tensor flat_float_buffers(Model& model) {
  std::vector<torch::Tensor> flat;
  for (auto& t : model.buffers())
    if (t.scalar_type() == torch::kFloat32) flat.push_back(t.detach().reshape({-1}));
  return torch::cat(flat);
}

// Trains `spec` on `data_of(comm)` and returns the flat parameters.
template <typename DataOf>
torch::Tensor train_flat(const ModelSpec& spec, DataOf data_of, const TrainerOptions& o, const par::Comm& comm,
                         TrainingResult* result = nullptr, torch::Tensor* buffers = nullptr) {
  torch::manual_seed(3);
  auto model = make_model(spec);
  const SampleStore data = data_of(comm);
  const TrainingResult r = train(*model, data, o, comm);
  if (result) *result = r;
  if (buffers) *buffers = flat_float_buffers(*model);
  return flat_parameters(*model);
}

// World result vs rank 0 alone: rank 0's one-rank model is sent to every
// rank, and each rank compares its own copy of the world model with it (a
// reduction that reached only the root would leave the other copies apart).
template <typename DataOf>
void expect_rank_independent(const ModelSpec& spec, DataOf data_of, const TrainerOptions& o) {
  const auto& comm = world();
  const torch::Tensor many = train_flat(spec, data_of, o, comm);
  par::Comm alone = comm.split(comm.rank() == 0 ? 0 : 1, comm.rank());
  std::vector<float> one_values;
  if (comm.rank() == 0) {
    const torch::Tensor one = train_flat(spec, data_of, o, alone).contiguous();
    one_values.assign(one.data_ptr<float>(), one.data_ptr<float>() + one.numel());
  }
  comm.broadcast(one_values);
  const torch::Tensor one = torch::from_blob(one_values.data(), {static_cast<std::int64_t>(one_values.size())});
  ASSERT_EQ(one.numel(), many.numel());
  const double own = ((many - one).abs().max() / one.abs().max()).item<double>();
  const double rel = comm.allreduce_max(own);
  if (comm.rank() == 0)
    std::printf("[ rank-independence ] %s: max over ranks of max |np=%d - np=1| / max |p| = %.3g over %lld parameters\n",
                spec.architecture.c_str(), comm.size(), rel, static_cast<long long>(one.numel()));
  EXPECT_LT(rel, 1e-5);
  // Training moved the parameters (the comparison is not of two untrained models).
  torch::manual_seed(3);
  auto fresh = make_model(spec);
  std::vector<torch::Tensor> init;
  for (auto& p : fresh->parameters()) init.push_back(p.detach().reshape({-1}));
  EXPECT_GT((many - torch::cat(init)).abs().max().item<double>(), 1e-3);
}

TEST(DataParallel, SmallCnnTwentyStepsMatchOneRank) {
  const Synthetic cubes{false, 8, 3};
  const auto spec = make_spec("cnn3d-small", {{"size", 8}, {"channels", 4}, {"classes", 3}});
  // 50 samples, batch 16: the 4th batch of each epoch holds 2 samples, so at
  // np=3 one rank has none; tiny buckets exercise the overlapped path.
  expect_rank_independent(spec, [&](const par::Comm& c) { return cubes.shard(50, c); }, twenty_steps(2048));
}

TEST(DataParallel, LstmTwentyStepsMatchOneRank) {
  const Synthetic series{true, 0, 3};
  const auto spec = make_spec("lstm-classifier", {{"channels", 2}, {"hidden", 8}, {"classes", 3}});
  expect_rank_independent(spec, [&](const par::Comm& c) { return series.shard(50, c); }, twenty_steps(1024));
}

// Dropout masks follow the sample (row_dropout), not the rank: an MLP with
// dropout 0.5 on the flattened cubes trains to the one-rank model, and the
// dropout is live (the model differs from the one trained without it).
TEST(DataParallel, DropoutMasksFollowTheSampleNotTheRank) {
  const Synthetic cubes{false, 8, 3};
  auto data_of = [&](const par::Comm& c) { return cubes.shard(50, c); };
  const auto spec = make_spec("mlp", {{"inputs", 512}, {"hidden", 16}, {"layers", 2}, {"dropout", 0.5}, {"classes", 3}});
  expect_rank_independent(spec, data_of, twenty_steps(2048));
  const torch::Tensor with = train_flat(spec, data_of, twenty_steps(2048), world());
  const auto plain = make_spec("mlp", {{"inputs", 512}, {"hidden", 16}, {"layers", 2}, {"dropout", 0.0}, {"classes", 3}});
  const torch::Tensor without = train_flat(plain, data_of, twenty_steps(2048), world());
  EXPECT_GT((with - without).abs().max().item<double>(), 1e-3);
}

TEST(DataParallel, AllreduceAfterBackwardGivesTheSameModel) {
  const Synthetic cubes{false, 8, 3};
  const auto spec = make_spec("cnn3d-small", {{"size", 8}, {"channels", 4}, {"classes", 3}});
  auto o = twenty_steps(1024);
  const torch::Tensor overlapped = train_flat(spec, [&](const par::Comm& c) { return cubes.shard(50, c); }, o, world());
  o.sync.overlap = false;
  const torch::Tensor after = train_flat(spec, [&](const par::Comm& c) { return cubes.shard(50, c); }, o, world());
  EXPECT_TRUE(torch::equal(overlapped, after));
}

TEST(DataParallel, Rot180AugmentationMatchesOneRankAndChangesTheModel) {
  const Synthetic cubes{false, 8, 3};
  const auto spec = make_spec("cnn3d-small", {{"size", 8}, {"channels", 4}, {"classes", 3}});
  auto o = twenty_steps(2048);
  o.augment = "rot180";
  expect_rank_independent(spec, [&](const par::Comm& c) { return cubes.shard(50, c); }, o);
  const torch::Tensor turned = train_flat(spec, [&](const par::Comm& c) { return cubes.shard(50, c); }, o, world());
  o.augment = "none";
  const torch::Tensor plain = train_flat(spec, [&](const par::Comm& c) { return cubes.shard(50, c); }, o, world());
  EXPECT_GT((turned - plain).abs().max().item<double>(), 1e-4);
}

TEST(DataParallel, Rot180OnSeriesIsAConfigError) {
  const Synthetic series{true, 0, 3};
  const auto spec = make_spec("lstm-classifier", {{"channels", 2}, {"hidden", 8}, {"classes", 3}});
  auto o = twenty_steps(1024);
  o.augment = "rot180";
  torch::manual_seed(3);
  auto model = make_model(spec);
  const SampleStore data = series.shard(20, world());
  try {
    train(*model, data, o, world());
    FAIL() << "no error";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("train.augment = \"rot180\" needs samples with 3 spatial dimensions"),
              std::string::npos)
        << e.what();
  }
}

// A seeded cnn3d-small and 60 synthetic 8³ cubes of 3 classes, sharded.
std::pair<std::shared_ptr<Model>, SampleStore> small_cube_problem() {
  torch::manual_seed(3);
  auto model = make_model(make_spec("cnn3d-small", {{"size", 8}, {"channels", 4}, {"classes", 3}}));
  return {model, Synthetic{false, 8, 3}.shard(60, world())};
}

TEST(TrainingLoop, EarlyStoppingAndBestEpochSelection) {
  const auto [model, data] = small_cube_problem();
  auto o = twenty_steps(1 << 20);
  o.max_steps = 0;
  o.epochs = 50;
  o.validation_fraction = 0.25;
  o.optimizer.learning_rate = 0.0;  // nothing improves after the first epoch
  o.patience = 2;
  const auto r = train(*model, data, o, world());
  EXPECT_TRUE(r.early_stopped);
  EXPECT_EQ(r.history.size(), 3u);  // epoch 1 sets the best, 2 and 3 do not improve
  EXPECT_EQ(r.best_epoch, 1);
  EXPECT_EQ(r.steps, 3 * 3);        // 45 training samples / batch 16 = 3 steps per epoch
}

// The kept model is the best validation epoch's whole state: its weights and
// its BatchNorm running statistics. With a learning rate of 0 the weights
// stay and later epochs only move the statistics: a 4-epoch run whose best
// epoch b is earlier must end with epoch b's statistics, those of a run of b
// epochs (the same first b epochs).
TEST(TrainingLoop, BestEpochKeepsItsBatchNormStatistics) {
  const Synthetic series{true, 0, 3};
  const auto spec = make_spec("guided-bilstm-ae", {{"channels", 2}, {"classes", 3}});
  const auto data_of = [&](const par::Comm& c) { return series.shard(60, c); };
  auto o = twenty_steps(2048);
  o.max_steps = 0;
  o.validation_fraction = 0.25;
  o.optimizer.learning_rate = 0.0;
  o.epochs = 4;
  TrainingResult r;
  torch::Tensor kept, short_run;
  train_flat(spec, data_of, o, world(), &r, &kept);
  ASSERT_EQ(r.history.size(), 4u);
  ASSERT_LT(r.best_epoch, 4) << "the set-up needs a best epoch before the last";
  o.epochs = r.best_epoch;
  train_flat(spec, data_of, o, world(), nullptr, &short_run);
  ASSERT_GT(kept.numel(), 0);
  EXPECT_TRUE(torch::equal(kept, short_run)) << "best epoch " << r.best_epoch << ", max |difference| "
                                             << (kept - short_run).abs().max().item<double>();
}

TEST(TrainingLoop, DivergenceStopsEveryRankWithOneMessage) {
  // A learning rate of 1e30 overflows the weights after one step; the next
  // loss is not finite and the run must stop there, not train on NaN.
  const auto [model, data] = small_cube_problem();
  auto o = twenty_steps(1 << 20);
  o.optimizer.learning_rate = 1e30;
  o.optimizer.decay = 0.0;
  const std::string message = testing::message_of<Error>([&] { train(*model, data, o, world()); });
  EXPECT_NE(message.find("train: the training loss became"), std::string::npos) << message;
  EXPECT_NE(message.find("epoch 1, step 2 (sgd, learning rate 1e+30): the model diverged"), std::string::npos)
      << message;
}

// lr_t = lr / (1 + decay·t) · min(1, (t + 1) / warmup), t 0-based.
TEST(UpdateOptions, WarmupGivesTheExactLearningRateSequence) {
  OptimizerSettings s;
  s.learning_rate = 0.1;
  s.decay = 0.01;
  s.warmup_steps = 4;
  const std::vector<double> expected = {0.1 / 1.00 * 1 / 4, 0.1 / 1.01 * 2 / 4, 0.1 / 1.02 * 3 / 4,
                                        0.1 / 1.03, 0.1 / 1.04, 0.1 / 1.05};
  auto p = torch::zeros({3}, torch::kFloat64).requires_grad_();
  auto optimizer = make_optimizer(s, {p});
  for (std::int64_t t = 0; t < static_cast<std::int64_t>(expected.size()); ++t) {
    EXPECT_DOUBLE_EQ(schedule_learning_rate(*optimizer, s, t), expected[t]) << "step " << t;
    EXPECT_DOUBLE_EQ(optimizer->param_groups().front().options().get_lr(), expected[t]) << "step " << t;
  }
  EXPECT_DOUBLE_EQ(scheduled_learning_rate(s, 0), 0.025);
  s.warmup_steps = 0;  // off: the decay schedule alone
  EXPECT_DOUBLE_EQ(scheduled_learning_rate(s, 0), 0.1);
  EXPECT_DOUBLE_EQ(scheduled_learning_rate(s, 2), 0.1 / 1.02);
}

TEST(UpdateOptions, ClippingScalesLargeGradientsToTheThresholdAndKeepsSmallOnes) {
  auto p = torch::zeros({4}, torch::kFloat64).requires_grad_();
  p.mutable_grad() = torch::tensor({3.0, 0.0, -4.0, 0.0}, torch::kFloat64);  // norm 5
  EXPECT_DOUBLE_EQ(clip_gradient_norm(p, 1.0), 5.0);
  EXPECT_NEAR(p.grad().norm().item<double>(), 1.0, 1e-6);  // 1e-6: PyTorch's guard in max_norm / (norm + 1e-6)
  EXPECT_NEAR(p.grad()[0].item<double>(), 0.6, 1e-6);      // direction kept
  EXPECT_NEAR(p.grad()[2].item<double>(), -0.8, 1e-6);
  const torch::Tensor small = torch::tensor({0.3, 0.0, -0.4, 0.0}, torch::kFloat64);  // norm 0.5
  p.mutable_grad() = small.clone();
  EXPECT_DOUBLE_EQ(clip_gradient_norm(p, 1.0), 0.5);
  EXPECT_TRUE(torch::equal(p.grad(), small));  // bit-identical
}

// One step on a zero gradient: only the weight decay moves the weights.
torch::Tensor one_step_on_zero_gradient(const OptimizerSettings& s) {
  auto p = torch::tensor({1.0, -2.0, 4.0}, torch::kFloat64).requires_grad_();
  auto optimizer = make_optimizer(s, {p});
  p.mutable_grad() = torch::zeros_like(p);
  optimizer->step();
  return p.detach();
}

TEST(UpdateOptions, WeightDecayOnAZeroGradientShrinksByTheAnalyticFactor) {
  const torch::Tensor start = torch::tensor({1.0, -2.0, 4.0}, torch::kFloat64);
  OptimizerSettings s;
  s.learning_rate = 0.1;
  s.weight_decay = 0.01;
  s.momentum = 0.0;
  s.name = "sgd";  // L2: g = wd·θ, θ ← θ − lr·wd·θ
  EXPECT_TRUE(torch::allclose(one_step_on_zero_gradient(s), start * (1 - 0.1 * 0.01), 0, 1e-15));
  s.momentum = 0.9;  // Nesterov, first step: buffer = g, θ ← θ − lr·(g + μ·g)
  EXPECT_TRUE(torch::allclose(one_step_on_zero_gradient(s), start * (1 - 0.1 * 1.9 * 0.01), 0, 1e-15));
  s.name = "adamw";  // decoupled: θ ← θ(1 − lr·wd), and the Adam term of a zero gradient is 0
  EXPECT_TRUE(torch::allclose(one_step_on_zero_gradient(s), start * (1 - 0.1 * 0.01), 0, 1e-15));
  s.name = "adam";  // L2 through Adam: the first step is lr·g/(|g| + ε) ≈ lr·sign(θ), whatever wd
  EXPECT_TRUE(torch::allclose(one_step_on_zero_gradient(s), start - 0.1 * start.sign(), 0, 1e-6));
  s.weight_decay = 0.0;
  EXPECT_TRUE(torch::equal(one_step_on_zero_gradient(s), start));
}

// The flat parameters of a freshly seeded model (train_flat's start).
torch::Tensor initial_flat(const ModelSpec& spec) {
  torch::manual_seed(3);
  return flat_parameters(*make_model(spec));
}

TEST(UpdateOptions, ClippingActsOnTheGlobalGradientAfterTheAllreduce) {
  // Plain SGD, one step, lr 100, threshold 1e-3: the step has norm exactly
  // lr · threshold at any rank count (clipping each rank's share before the
  // sum would give up to np times that).
  const Synthetic cubes{false, 8, 3};
  const auto spec = make_spec("cnn3d-small", {{"size", 8}, {"channels", 4}, {"classes", 3}});
  auto o = twenty_steps(2048);
  o.max_steps = 1;
  o.optimizer.momentum = 0.0;
  o.optimizer.decay = 0.0;
  o.optimizer.learning_rate = 100.0;
  o.optimizer.clip_grad_norm = 1e-3;
  const torch::Tensor after = train_flat(spec, [&](const par::Comm& c) { return cubes.shard(50, c); }, o, world());
  const double step = (after.to(torch::kFloat64) - initial_flat(spec).to(torch::kFloat64)).norm().item<double>();
  EXPECT_NEAR(step, 0.1, 1e-3 * 0.1) << "norm of the step";
  // Over 20 steps the clipped model still does not depend on the rank count.
  auto twenty = twenty_steps(2048);
  twenty.optimizer.clip_grad_norm = 0.05;
  expect_rank_independent(spec, [&](const par::Comm& c) { return cubes.shard(50, c); }, twenty);
}

TEST(UpdateOptions, ResumeInTheMiddleOfWarmupIsBitIdentical) {
  const Synthetic cubes{false, 8, 3};
  const auto spec = make_spec("cnn3d-small", {{"size", 8}, {"channels", 4}, {"classes", 3}});
  const auto data_of = [&](const par::Comm& c) { return cubes.shard(50, c); };
  auto o = twenty_steps(2048);  // 4 batches per epoch, 20 steps
  o.optimizer.warmup_steps = 12;
  o.optimizer.clip_grad_norm = 0.5;
  o.optimizer.weight_decay = 1e-3;
  const torch::Tensor uninterrupted = train_flat(spec, data_of, o, world());
  const std::string dir = testing::shared_temp_dir("nn-resume-warmup");
  o.checkpoint_path = dir + "/checkpoint.pt";
  o.max_steps = 7;  // stops in epoch 2 after its 3rd batch, at 7/12 of the warm-up
  const torch::Tensor stopped = train_flat(spec, data_of, o, world());
  o.max_steps = 20;
  TrainingResult r;
  const torch::Tensor resumed = train_flat(spec, data_of, o, world(), &r);
  EXPECT_TRUE(r.resumed);
  EXPECT_EQ(r.steps, 20);
  EXPECT_FALSE(torch::equal(stopped, uninterrupted));
  EXPECT_TRUE(torch::equal(resumed, uninterrupted));
  world().barrier();
  if (world().is_root()) std::filesystem::remove_all(dir);
}

// A checkpoint records a digest of its training data: one changed value
// under the same deck and sample count is refused on every rank (a finished
// checkpoint would otherwise be "resumed" and the old model kept).
TEST(UpdateOptions, ResumeRefusesACheckpointOfOtherData) {
  const Synthetic cubes{false, 8, 3};
  const auto spec = make_spec("cnn3d-small", {{"size", 8}, {"channels", 4}, {"classes", 3}});
  auto o = twenty_steps(2048);
  o.max_steps = 4;
  const std::string dir = testing::shared_temp_dir("nn-resume-data");
  o.checkpoint_path = dir + "/checkpoint.pt";
  train_flat(spec, [&](const par::Comm& c) { return cubes.shard(50, c); }, o, world());
  const auto changed = [&](const par::Comm& c) {
    SampleStore s = cubes.shard(50, c);
    if (c.rank() == 0) s.values[0] += 1.0f;
    return s;
  };
  std::string message;
  try {
    train_flat(spec, changed, o, world());
  } catch (const std::exception& e) {
    message = e.what();
  }
  EXPECT_NE(message.find("written by a different configuration (data: "), std::string::npos) << message;
  EXPECT_EQ(message.find("samples:"), std::string::npos) << message;
  // The same data resume (the digest does not depend on anything else).
  TrainingResult r;
  o.max_steps = 6;
  train_flat(spec, [&](const par::Comm& c) { return cubes.shard(50, c); }, o, world(), &r);
  EXPECT_TRUE(r.resumed);
  world().barrier();
  if (world().is_root()) std::filesystem::remove_all(dir);
}

// guided-bilstm-ae's classifier head has BatchNorm, whose running statistics
// each rank updates from its share of every batch: they differ between the
// ranks until the epoch's end averages them. A checkpoint within an epoch
// keeps every rank's, so a run resumed from it ends with the uninterrupted
// run's buffers, not only its parameters (rank 0's alone did not, at 2 and 3
// ranks).
TEST(UpdateOptions, ResumeWithinAnEpochKeepsEveryRanksBatchNormStatistics) {
  const Synthetic series{true, 0, 3};
  const auto spec = make_spec("guided-bilstm-ae", {{"channels", 2}, {"classes", 3}});
  const auto data_of = [&](const par::Comm& c) { return series.shard(60, c); };
  auto o = twenty_steps(2048);  // 60 series: 4 batches per epoch (the last of 12), 20 steps
  o.max_steps = 12;
  torch::Tensor uninterrupted, resumed;
  train_flat(spec, data_of, o, world(), nullptr, &uninterrupted);
  const std::string dir = testing::shared_temp_dir("nn-resume-buffers");
  o.checkpoint_path = dir + "/checkpoint.pt";
  o.max_steps = 6;  // stops in epoch 2 after its 2nd batch
  train_flat(spec, data_of, o, world());
  o.max_steps = 12;
  TrainingResult r;
  train_flat(spec, data_of, o, world(), &r, &resumed);
  EXPECT_TRUE(r.resumed);
  EXPECT_GT(uninterrupted.numel(), 0);
  EXPECT_TRUE(torch::equal(resumed, uninterrupted));
  world().barrier();
  if (world().is_root()) std::filesystem::remove_all(dir);
}

// Resumed at another rank count, every rank starts from the mean of the
// checkpoint's per-rank BatchNorm statistics (what the epoch's end would
// have averaged), not from rank 0's share alone. Stopped within an epoch on
// the world communicator, resumed on rank 0 alone with no step left to
// train, so the model keeps what the resume set.
TEST(UpdateOptions, ResumeAtAnotherRankCountStartsFromTheMeanBatchNormStatistics) {
  const auto& comm = world();
  if (comm.size() == 1) GTEST_SKIP() << "needs a checkpoint of two or more ranks";
  const Synthetic series{true, 0, 3};
  const auto spec = make_spec("guided-bilstm-ae", {{"channels", 2}, {"classes", 3}});
  auto o = twenty_steps(2048);  // 60 series: 4 batches per epoch
  o.checkpoint_path = phenoscale::testing::shared_temp_dir("nn-resume-ranks") + "/checkpoint.pt";
  o.max_steps = 6;  // stops in epoch 2 after its 2nd batch: the ranks' statistics differ
  torch::Tensor mine;
  train_flat(spec, [&](const par::Comm& c) { return series.shard(60, c); }, o, comm, nullptr, &mine);
  const std::vector<float> local(mine.data_ptr<float>(), mine.data_ptr<float>() + mine.numel());
  const std::vector<float> all = comm.allgatherv(local);
  const torch::Tensor per_rank = torch::tensor(all).view({comm.size(), mine.numel()});
  ASSERT_FALSE(torch::equal(per_rank[0], per_rank[1]));
  par::Comm alone = comm.split(comm.rank() == 0 ? 0 : 1, comm.rank());
  if (comm.rank() == 0) {
    TrainingResult r;
    torch::Tensor resumed;
    train_flat(spec, [&](const par::Comm& c) { return series.shard(60, c); }, o, alone, &r, &resumed);
    EXPECT_TRUE(r.resumed);
    EXPECT_EQ(r.steps, 6);
    EXPECT_TRUE(torch::allclose(resumed, per_rank.mean(0), 1e-6, 1e-7));
    EXPECT_FALSE(torch::allclose(resumed, per_rank[0], 1e-6, 1e-7));
    std::filesystem::remove_all(std::filesystem::path(o.checkpoint_path).parent_path());
  }
  comm.barrier();
}

// A stop signal that lands in the validation pass or in the test evaluation
// after training, at a known batch rather than by timing: this wrapper of a
// registered model raises SIGUSR1 on rank 0 in its `at_evaluation`-th
// forward pass in evaluation mode after its `after_training_steps`-th in
// training mode (0: never). Every run of a test uses the wrapper, so the
// checkpoints hold the same parameter names.
class SignalInEvaluation : public Model {
 public:
  explicit SignalInEvaluation(const ModelSpec& spec)
      : Model(spec), inner_(register_module("inner", make_model(spec))) {}
  std::int64_t after_training_steps = 0, at_evaluation = 0;

  ModelOutput forward(const Batch& batch) override {
    if (is_training()) {
      ++training_steps_;
      evaluations_ = 0;
    } else if (++evaluations_ == at_evaluation && training_steps_ == after_training_steps && world().rank() == 0) {
      std::raise(SIGUSR1);
    }
    return inner_->forward(batch);
  }

 private:
  std::shared_ptr<Model> inner_;
  std::int64_t training_steps_ = 0, evaluations_ = 0;
};

// 100 series of guided-bilstm-ae (BatchNorm in its head): 30 train (2 steps
// of global batch 16 per epoch), 50 validation (4 batches), 20 test (2), 3
// epochs. Rank 0 holds part of every batch at 1-3 ranks.
struct EvaluationStop {
  Synthetic series{true, 0, 3};
  ModelSpec spec = make_spec("guided-bilstm-ae", {{"channels", 2}, {"classes", 3}});
  TrainerOptions options() const {
    auto o = twenty_steps(2048);
    o.max_steps = 0;
    o.epochs = 3;
    o.validation_fraction = 0.5;
    o.test_fraction = 0.2;
    return o;
  }
  struct Run {
    TrainingResult result;
    torch::Tensor parameters, buffers;
  };
  // Trains a fresh seeded model; the wrapper raises at (steps, evaluation).
  Run train_once(const TrainerOptions& o, std::int64_t steps = 0, std::int64_t evaluation = 0) const {
    torch::manual_seed(3);
    SignalInEvaluation model(spec);
    model.after_training_steps = steps;
    model.at_evaluation = evaluation;
    Run run;
    run.result = train(model, series.shard(100, world()), o, world());
    run.parameters = flat_parameters(model);
    run.buffers = flat_float_buffers(model);
    return run;
  }
  // Interrupted at (steps, evaluation): every rank throws Preempted naming
  // `where`; the same run resumed in this process ends like `reference`.
  void expect_resumes_like(const Run& reference, std::int64_t steps, std::int64_t evaluation,
                           const std::string& where, const std::string& name) const {
    const std::string dir = phenoscale::testing::shared_temp_dir(name);
    auto o = options();
    o.checkpoint_path = dir + "/checkpoint.pt";
    core::StopSignal handler;  // SIGUSR1 stays a flag between the two runs
    const std::string message =
        phenoscale::testing::message_of<Preempted>([&] { train_once(o, steps, evaluation); });
    EXPECT_NE(message.find("stop signal at " + where + "; checkpoint written to"), std::string::npos) << message;
    core::StopSignal::clear();
    const Run resumed = train_once(o);
    EXPECT_TRUE(resumed.result.resumed);
    EXPECT_EQ(resumed.result.steps, reference.result.steps);
    EXPECT_TRUE(torch::equal(resumed.parameters, reference.parameters));
    EXPECT_TRUE(torch::equal(resumed.buffers, reference.buffers));
    ASSERT_EQ(resumed.result.history.size(), reference.result.history.size());
    for (std::size_t e = 0; e < reference.result.history.size(); ++e) {
      const auto &a = resumed.result.history[e], &r = reference.result.history[e];
      EXPECT_EQ(a.step, r.step);
      EXPECT_EQ(a.train_loss, r.train_loss) << "epoch " << e + 1;
      EXPECT_EQ(a.validation_loss, r.validation_loss) << "epoch " << e + 1;
      EXPECT_EQ(a.validation_accuracy, r.validation_accuracy) << "epoch " << e + 1;
    }
    EXPECT_EQ(resumed.result.best_epoch, reference.result.best_epoch);
    EXPECT_EQ(resumed.result.test.pack(), reference.result.test.pack());
    world().barrier();
    if (world().is_root()) std::filesystem::remove_all(dir);
  }
};

// Epoch 2 is checkpointed as trained but not validated; the rerun validates
// it without averaging the BatchNorm statistics a second time.
TEST(StopSignal, InTheValidationPassResumesToTheUninterruptedModel) {
  const EvaluationStop problem;
  const auto reference = problem.train_once(problem.options());
  ASSERT_EQ(reference.result.history.size(), 3u);
  EXPECT_GT(reference.buffers.numel(), 0);
  // Raised in validation batch 2 of epoch 2 (after its 4th step), seen before batch 3.
  problem.expect_resumes_like(reference, 4, 2, "validation of epoch 2", "nn-stop-validation");
}

// The last epoch's checkpoint stays; the rerun trains no further and only
// evaluates the test split.
TEST(StopSignal, InTheTestEvaluationResumesWithoutTrainingFurther) {
  const EvaluationStop problem;
  const auto reference = problem.train_once(problem.options());
  // After the 6th step: 4 validation batches of epoch 3, then the test's first.
  problem.expect_resumes_like(reference, 6, 5, "the test evaluation after training", "nn-stop-test");
}

// With train.resume = false the same command would start over: the
// preempted line says how to resume instead.
TEST(StopSignal, WithResumeOffTheLineSaysHowToResume) {
  const EvaluationStop problem;
  const std::string dir = phenoscale::testing::shared_temp_dir("nn-stop-no-resume");
  auto o = problem.options();
  o.checkpoint_path = dir + "/checkpoint.pt";
  o.resume = false;
  core::StopSignal handler;
  const std::string message = phenoscale::testing::message_of<Preempted>([&] { problem.train_once(o, 4, 2); });
  core::StopSignal::clear();
  EXPECT_NE(message.find("checkpoint written to " + o.checkpoint_path +
                         "; train.resume = false: run again with train.resume = true to resume from it"),
            std::string::npos)
      << message;
  world().barrier();
  if (world().is_root()) std::filesystem::remove_all(dir);
}

TEST(SampleExchange, FetchReturnsTheRequestedSamplesInOrder) {
  const Synthetic series{true, 0, 3, true};
  const auto& comm = world();
  const SampleStore local = series.shard(23, comm);
  // Each rank asks for a different scattered set, including repeats.
  std::vector<std::int64_t> wanted;
  for (std::int64_t i = 0; i < 23; i += 2 + comm.rank()) wanted.push_back(22 - i);
  wanted.push_back(wanted.front());
  const SampleStore got = fetch(local, wanted, comm);
  ASSERT_EQ(got.size(), static_cast<std::int64_t>(wanted.size()));
  for (std::size_t k = 0; k < wanted.size(); ++k) {
    SampleStore expected;
    expected.sequences = true;
    expected.sample_shape = {2};
    expected.labelled = true;
    expected.per_frame_targets = true;
    series.append(expected, wanted[k]);
    ASSERT_EQ(got.lengths[k], expected.lengths[0]) << "sample " << wanted[k];
    const float* v = got.values.data() + got.offsets[k] * 2;
    for (std::int64_t j = 0; j < expected.lengths[0] * 2; ++j) ASSERT_EQ(v[j], expected.values[j]);
    for (std::int64_t f = 0; f < expected.lengths[0]; ++f) ASSERT_EQ(got.targets[got.offsets[k] + f], expected.targets[f]);
  }
}

TEST(VariableLength, EverySampleOfEveryLengthOncePerEpoch) {
  const Synthetic series{true, 0, 3};
  const SampleStore data = series.shard(203, world());
  std::vector<std::int64_t> pool(203);
  std::iota(pool.begin(), pool.end(), 0);
  DistributedSampler sampler(pool, data.all_lengths, {16, 5, true, 4});
  std::set<std::int64_t> lengths_seen;
  for (std::int64_t epoch = 0; epoch < 3; ++epoch) {
    std::vector<int> seen(203, 0);
    double padded = 0.0, real = 0.0;
    for (const auto& batch : sampler.epoch(epoch)) {
      std::int64_t longest = 0;
      for (auto i : batch) {
        ++seen[i];
        longest = std::max(longest, data.all_lengths[i]);
        lengths_seen.insert(data.all_lengths[i]);
      }
      padded += double(longest * batch.size());
      real += sampler.frames(batch);
      // The ranks' slices cover the batch exactly once.
      std::vector<std::int64_t> joined;
      for (int r = 0; r < 3; ++r) {
        const auto part = DistributedSampler::slice(batch, r, 3);
        joined.insert(joined.end(), part.begin(), part.end());
      }
      EXPECT_EQ(joined, batch);
    }
    for (int i = 0; i < 203; ++i) ASSERT_EQ(seen[i], 1) << "epoch " << epoch << " sample " << i;
    // Bucketing keeps padding small: without it, batches of 16 lengths drawn
    // from 5..30 pad to ~1.6× the real frames.
    EXPECT_LT(padded / real, 1.25) << "epoch " << epoch;
  }
  EXPECT_EQ(lengths_seen.size(), 26u);  // every length 5..30 was trained on
  EXPECT_NE(sampler.epoch(0), sampler.epoch(1));
}

TEST(VariableLength, MaskedLossIsTheFrameAverageOfPerSampleLosses) {
  const Synthetic series{true, 0, 4, true};
  par::Comm alone = world().split(world().rank(), 0);
  const SampleStore data = series.shard(12, alone);
  torch::manual_seed(1);
  auto model = make_model(make_spec("lstm-tagger", {{"channels", 2}, {"hidden", 6}, {"classes", 4}}));
  model->eval();
  torch::NoGradGuard no_grad;
  std::vector<std::int64_t> all(12);
  std::iota(all.begin(), all.end(), 0);
  double frames = 0.0;
  for (auto l : data.lengths) frames += double(l);
  const Batch padded = collate(data, all, 12.0, frames);
  const auto out = model->forward(padded);
  const LossResult batch_loss = compute_loss(Task::segment, out, padded, 0.0);

  double weighted = 0.0;
  for (std::int64_t i = 0; i < 12; ++i) {
    const SampleStore one = local_slice(data, i, i + 1);
    const Batch b = collate(one, {i}, 1.0, double(one.lengths[0]));
    const LossResult r = compute_loss(Task::segment, model->forward(b), b, 0.0);
    weighted += r.loss.item<double>() * double(one.lengths[0]);
    // Padding does not change a series' outputs (packed sequences).
    const auto alone_logits = model->forward(b).logits[0];
    const auto in_batch = out.logits[i].narrow(0, 0, one.lengths[0]);
    EXPECT_LT((alone_logits - in_batch).abs().max().item<double>(), 1e-5);
  }
  EXPECT_NEAR(batch_loss.loss.item<double>(), weighted / frames, 1e-6);
  EXPECT_DOUBLE_EQ(batch_loss.sums.cross_entropy_count, frames);  // accuracy counts real frames only
}

TEST(Inference, LengthOrderedBatchesGiveEachSeriesItsOwnOutputsInStorageOrder) {
  // predict() batches a rank's series in order of length and writes the
  // outputs back in storage order; each series' outputs are those it has
  // alone (packed sequences: up to float rounding, as in the padding test).
  struct Case {
    const char* arch;
    bool per_frame;
    ModelSpec spec;
  };
  const std::vector<Case> cases{
      {"lstm-classifier", false, make_spec("lstm-classifier", {{"channels", 2}, {"hidden", 6}, {"classes", 3}})},
      {"lstm-tagger", true, make_spec("lstm-tagger", {{"channels", 2}, {"hidden", 6}, {"classes", 3}})},
      {"guided-bilstm-ae", false, make_spec("guided-bilstm-ae", {{"channels", 2}, {"classes", 3}})}};
  for (const auto& c : cases) {
    Synthetic series{true, 0, 3};
    series.per_frame = c.per_frame;
    const SampleStore data = series.shard(37, world());
    torch::manual_seed(3);
    auto model = make_model(c.spec);
    PredictOptions po;
    po.batch = 8;
    const Predictions p = predict({model}, data, po, world());
    ASSERT_EQ(p.per_frame, c.per_frame) << c.arch;
    torch::NoGradGuard no_grad;
    double worst = 0.0;
    for (std::int64_t i = 0; i < data.size(); ++i) {
      const SampleStore one = local_slice(data, i, i + 1);
      const Batch b = collate(one, {data.first + i}, 1.0, double(one.lengths[0]));
      const ModelOutput alone = model->forward(b);
      const std::int64_t rows = c.per_frame ? one.lengths[0] : 1, first = c.per_frame ? data.offsets[i] : i;
      const auto logits = alone.logits.reshape({rows, -1});
      for (std::int64_t r = 0; r < rows; ++r) {
        for (std::int64_t j = 0; j < 3; ++j) {
          worst = std::max(worst, std::abs(double(p.logits[(first + r) * 3 + j]) - logits[r][j].item<double>()));
        }
      }
      if (!c.per_frame) {
        ASSERT_EQ(p.feature_size, alone.features.size(1)) << c.arch;
        for (std::int64_t j = 0; j < p.feature_size; ++j) {
          worst = std::max(worst, std::abs(double(p.features[i * p.feature_size + j]) - alone.features[0][j].item<double>()));
        }
      }
    }
    EXPECT_LE(worst, 1e-5) << c.arch;
  }
}

TEST(Inference, AutoencoderWithoutReconstructionGivesTheSameLogitsAndLatent) {
  // predict() asks for logits and features only; the guided autoencoder then
  // skips its decoder, which the head never reads: the same values bit for bit.
  torch::manual_seed(4);
  auto model = make_model(make_spec("guided-bilstm-ae", {{"channels", 2}, {"classes", 3}}));
  model->eval();
  const SampleStore data = Synthetic{true, 0, 3}.shard(11, world());
  std::vector<std::int64_t> idx(data.size());
  std::iota(idx.begin(), idx.end(), data.first);
  Batch b = collate(data, idx, double(idx.size()), 0.0);
  torch::NoGradGuard no_grad;
  if (data.size() == 0) return;
  const ModelOutput full = model->forward(b);
  b.need_reconstruction = false;
  const ModelOutput head = model->forward(b);
  EXPECT_TRUE(full.reconstruction.defined());
  EXPECT_FALSE(head.reconstruction.defined());
  EXPECT_TRUE(torch::equal(full.logits, head.logits));
  EXPECT_TRUE(torch::equal(full.features, head.features));
}

}  // namespace
}  // namespace phenoscale::nn
