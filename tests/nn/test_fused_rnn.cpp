// The fused CPU LSTM and GRU against LibTorch's packed ones (the known
// answer): the same outputs, final states and gradients of every parameter
// and of the input, for one and two layers, one and two directions, over
// batches of unsorted lengths from 1 to the padded frames, all lengths
// equal, one series, and padded frames no series reaches; the fused kernel
// is the one that ran; a series' result does not depend on its batch;
// padding (NaN here) is never read.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <functional>
#include <numeric>
#include <set>
#include <string>
#include <vector>

#include "nn/libtorch/fused_rnn.hpp"
#include "phenoscale/core/error.hpp"

namespace phenoscale::nn {
namespace {

struct Lstm {
  using Module = torch::nn::LSTM;
  static constexpr const char* node = "LstmDirection";
  static Module make(std::int64_t in, std::int64_t hidden, int layers, bool bi) {
    torch::manual_seed(11);
    return Module(torch::nn::LSTMOptions(in, hidden).num_layers(layers).batch_first(true).bidirectional(bi));
  }
  static RnnResult run(Module& m, const torch::Tensor& x, const torch::Tensor& len, RnnKernel k) {
    return run_lstm(m, x, len, k);
  }
};
struct Gru {
  using Module = torch::nn::GRU;
  static constexpr const char* node = "GruDirection";
  static Module make(std::int64_t in, std::int64_t hidden, int layers, bool bi) {
    torch::manual_seed(11);
    return Module(torch::nn::GRUOptions(in, hidden).num_layers(layers).batch_first(true).bidirectional(bi));
  }
  static RnnResult run(Module& m, const torch::Tensor& x, const torch::Tensor& len, RnnKernel k) {
    return run_gru(m, x, len, k);
  }
};

// Series of lengths `lengths`, padded to T frames with NaN (never to be read).
torch::Tensor series(const std::vector<std::int64_t>& lengths, std::int64_t T, std::int64_t C) {
  torch::manual_seed(3);
  auto x = torch::randn({static_cast<std::int64_t>(lengths.size()), T, C});
  for (std::size_t b = 0; b < lengths.size(); ++b)
    if (lengths[b] < T) x[static_cast<std::int64_t>(b)].narrow(0, lengths[b], T - lengths[b]).fill_(NAN);
  return x;
}

// Whether an autograd node whose name contains `name` produced t.
bool graph_has(const torch::Tensor& t, const std::string& name) {
  std::vector<std::shared_ptr<torch::autograd::Node>> pending{t.grad_fn()};  // nodes still to visit
  std::set<torch::autograd::Node*> seen;
  while (!pending.empty()) {
    auto node = pending.back();
    pending.pop_back();
    if (!node || !seen.insert(node.get()).second) continue;
    if (node->name().find(name) != std::string::npos) return true;
    for (const auto& e : node->next_edges()) pending.push_back(e.function);
  }
  return false;
}

struct Run {
  RnnResult result;
  torch::Tensor input_grad;          // undefined when the input needs none
  std::vector<torch::Tensor> grads;  // every parameter
};

// Forward and backward of a loss reading every output (past each length
// too: those are constant zeros, whose gradient a kernel must not read) and
// every final state, through fixed random weights.
template <typename R>
Run run(typename R::Module& m, const torch::Tensor& x0, const torch::Tensor& lengths, RnnKernel kernel,
        bool input_grad = true) {
  for (auto& p : m->parameters()) p.mutable_grad() = torch::Tensor();
  auto x = x0.clone().requires_grad_(input_grad);
  auto r = R::run(m, x, lengths, kernel);
  torch::manual_seed(5);
  auto loss = (r.output * torch::randn(r.output.sizes())).sum() + (r.h_n * torch::randn(r.h_n.sizes())).sum();
  if (r.c_n.defined()) loss = loss + (r.c_n * torch::randn(r.c_n.sizes())).sum();
  loss.backward();
  Run out{r, input_grad ? x.grad() : torch::Tensor(), {}};
  for (auto& p : m->parameters()) out.grads.push_back(p.grad().clone());
  return out;
}

float max_abs(const torch::Tensor& t) { return t.abs().max().item<float>(); }

// max |a - b| / max(1, max |b|): relative for values above 1, absolute below.
void expect_close(const torch::Tensor& a, const torch::Tensor& b, const std::string& what) {
  ASSERT_EQ(a.defined(), b.defined()) << what;
  if (!a.defined()) return;
  ASSERT_EQ(a.sizes(), b.sizes()) << what;
  ASSERT_TRUE(torch::isfinite(a).all().item<bool>()) << what << " has a NaN or infinity";
  const double err = (a - b).abs().max().item<double>();
  const double scale = std::max(1.0, b.abs().max().item<double>());
  EXPECT_LT(err / scale, 2e-5) << what << ": max difference " << err;
}

struct Case {
  int layers;
  bool bidirectional;
  std::vector<std::int64_t> lengths;
  std::int64_t frames;
  bool input_grad;
  std::int64_t hidden = 4;
};

// The sizes the networks use (hidden 32, a batch of 70 series of 1-40
// frames): the per-step products take Eigen's blocked paths.
std::vector<std::int64_t> network_sized_lengths() {
  std::vector<std::int64_t> l(70);
  for (std::size_t i = 0; i < l.size(); ++i) l[i] = 1 + static_cast<std::int64_t>((i * 37) % 40);
  return l;
}

const std::vector<Case> cases = {
    {1, false, {5, 1, 9, 9, 3, 7, 2}, 9, true},  // unsorted, repeats, 1 and T
    {1, true, {5, 1, 9, 9, 3, 7, 2}, 9, true},
    {2, false, {5, 1, 9, 9, 3, 7, 2}, 9, true},
    {2, true, {5, 1, 9, 9, 3, 7, 2}, 9, true},
    {2, true, {6, 6, 6, 6}, 6, true},      // all lengths equal
    {1, true, {4}, 4, true},               // one series
    {2, true, {3, 5, 2}, 8, true},         // frames no series reaches
    {2, true, {5, 1, 9, 3}, 9, false},     // an input that needs no gradient (a first layer)
    {2, true, network_sized_lengths(), 40, true, 32},
};

template <typename R>
class FusedRnn : public ::testing::Test {};
using Kinds = ::testing::Types<Lstm, Gru>;
TYPED_TEST_SUITE(FusedRnn, Kinds);

TYPED_TEST(FusedRnn, MatchesLibTorchPackedKernel) {
  for (const auto& c : cases) {
    SCOPED_TRACE("layers " + std::to_string(c.layers) + (c.bidirectional ? " bi" : " uni") + ", " +
                 std::to_string(c.lengths.size()) + " series, " + std::to_string(c.frames) + " frames");
    const std::int64_t C = 3;
    auto m = TypeParam::make(C, c.hidden, c.layers, c.bidirectional);
    const auto x = series(c.lengths, c.frames, C);
    const auto len = torch::tensor(c.lengths, torch::kLong);
    ASSERT_TRUE(fused_rnn_applies(m, x));
    const auto fused = run<TypeParam>(m, x, len, RnnKernel::automatic, c.input_grad);
    EXPECT_TRUE(graph_has(fused.result.h_n, TypeParam::node)) << "the fused kernel did not run";
    const auto reference = run<TypeParam>(m, torch::nan_to_num(x, 0.0), len, RnnKernel::libtorch, c.input_grad);
    EXPECT_FALSE(graph_has(reference.result.h_n, TypeParam::node));
    expect_close(fused.result.output, reference.result.output, "output");
    expect_close(fused.result.h_n, reference.result.h_n, "h_n");
    expect_close(fused.result.c_n, reference.result.c_n, "c_n");
    expect_close(fused.input_grad, reference.input_grad, "input gradient");  // finite: padding never read
    ASSERT_EQ(fused.grads.size(), reference.grads.size());
    for (std::size_t i = 0; i < fused.grads.size(); ++i)
      expect_close(fused.grads[i], reference.grads[i], "gradient of parameter " + std::to_string(i));
    for (std::size_t b = 0; b < c.lengths.size(); ++b) {  // zero past each length, outputs and input gradient
      const auto L = c.lengths[b], rest = c.frames - L;
      if (rest == 0) continue;
      const auto row = static_cast<std::int64_t>(b);
      EXPECT_EQ(max_abs(fused.result.output[row].narrow(0, L, rest)), 0.0f) << "series " << b;
      if (c.input_grad) {
        EXPECT_EQ(max_abs(fused.input_grad[row].narrow(0, L, rest)), 0.0f) << "series " << b;
      }
    }
  }
}

TYPED_TEST(FusedRnn, SeriesResultDoesNotDependOnItsBatch) {
  const std::vector<std::int64_t> lengths{4, 12, 7};
  auto m = TypeParam::make(2, 6, 2, true);
  const auto x = series(lengths, 12, 2);
  c10::InferenceMode inference;  // as nn::predict runs
  const auto batch = TypeParam::run(m, x, torch::tensor(lengths, torch::kLong), RnnKernel::automatic);
  for (std::int64_t b = 0; b < 3; ++b) {
    const auto L = lengths[static_cast<std::size_t>(b)];
    const auto alone = TypeParam::run(m, x[b].narrow(0, 0, L).unsqueeze(0), torch::tensor({L}, torch::kLong),
                                      RnnKernel::automatic);
    const auto name = "series " + std::to_string(b);
    expect_close(batch.output[b].narrow(0, 0, L), alone.output[0], name + " output");
    expect_close(batch.h_n.select(1, b), alone.h_n.select(1, 0), name + " h_n");
    if (batch.c_n.defined()) expect_close(batch.c_n.select(1, b), alone.c_n.select(1, 0), name + " c_n");
  }
}

// LibTorch's intra-op thread count while it lives (the fused kernel runs
// one row block per thread).
class TorchThreads {
 public:
  explicit TorchThreads(int n) : before_(torch::get_num_threads()) { torch::set_num_threads(n); }
  ~TorchThreads() { torch::set_num_threads(before_); }
  TorchThreads(const TorchThreads&) = delete;
  TorchThreads& operator=(const TorchThreads&) = delete;

 private:
  int before_;
};

// Three threads split the network-sized batch into three row blocks whose
// boundaries fall inside runs of equal lengths and between series that end
// at different frames; each block's results, states and gradients must be
// those of LibTorch's kernel and of one thread.
TYPED_TEST(FusedRnn, RowBlocksOnThreeThreadsMatchOneThread) {
  auto lengths = network_sized_lengths();
  auto sorted = lengths;
  std::sort(sorted.begin(), sorted.end(), std::greater<>());
  ASSERT_EQ(rnn_row_blocks(sorted, 3).size(), 3u);
  const std::int64_t C = 3, T = 40;
  auto m = TypeParam::make(C, 32, 2, true);
  const auto x = series(lengths, T, C);
  const auto len = torch::tensor(lengths, torch::kLong);
  Run one, three;
  {
    TorchThreads threads(1);
    one = run<TypeParam>(m, x, len, RnnKernel::automatic);
  }
  {
    TorchThreads threads(3);
    three = run<TypeParam>(m, x, len, RnnKernel::automatic);
  }
  EXPECT_TRUE(graph_has(three.result.h_n, TypeParam::node)) << "the fused kernel did not run";
  const auto reference = run<TypeParam>(m, torch::nan_to_num(x, 0.0), len, RnnKernel::libtorch);
  for (const Run* against : std::initializer_list<const Run*>{&one, &reference}) {
    const std::string with = against == &one ? " (against one thread)" : " (against LibTorch)";
    expect_close(three.result.output, against->result.output, "output" + with);
    expect_close(three.result.h_n, against->result.h_n, "h_n" + with);
    expect_close(three.result.c_n, against->result.c_n, "c_n" + with);
    expect_close(three.input_grad, against->input_grad, "input gradient" + with);
    ASSERT_EQ(three.grads.size(), against->grads.size());
    for (std::size_t i = 0; i < three.grads.size(); ++i)
      expect_close(three.grads[i], against->grads[i], "gradient of parameter " + std::to_string(i) + with);
  }
}

TYPED_TEST(FusedRnn, LengthOutsideThePaddedFramesIsNamed) {
  auto m = TypeParam::make(2, 3, 1, true);
  const auto x = torch::zeros({2, 5, 2});
  try {
    TypeParam::run(m, x, torch::tensor({5, 6}, torch::kLong), RnnKernel::automatic);
    FAIL() << "expected an error";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("series 1 of the batch has length 6; expected 1..5"), std::string::npos)
        << e.what();
  }
  EXPECT_THROW(TypeParam::run(m, x, torch::tensor({0, 5}, torch::kLong), RnnKernel::automatic), Error);
}

// The threads' row blocks: contiguous, covering the batch, at most one per
// thread, none under the minimum, and about equal frames each.
TEST(RnnRowBlocks, SplitTheFramesEvenlyInContiguousBlocks) {
  std::vector<std::int64_t> sorted(70);
  for (std::size_t i = 0; i < sorted.size(); ++i) sorted[i] = 56 - static_cast<std::int64_t>(i * 40 / 70);
  const std::int64_t total = std::accumulate(sorted.begin(), sorted.end(), std::int64_t{0});
  for (const int threads : {1, 2, 3, 4, 8}) {
    SCOPED_TRACE(std::to_string(threads) + " threads");
    const auto blocks = rnn_row_blocks(sorted, threads);
    ASSERT_EQ(blocks.size(), static_cast<std::size_t>(std::min(threads, 70 / 8)));
    std::int64_t next = 0;
    for (const auto& b : blocks) {
      EXPECT_EQ(b.begin, next);
      EXPECT_GE(b.end - b.begin, 8);
      const auto frames = std::accumulate(sorted.begin() + b.begin, sorted.begin() + b.end, std::int64_t{0});
      if (threads <= 4) {  // within one series of the share (at 8 the minimum of 8 rows binds)
        EXPECT_LE(std::abs(static_cast<double>(frames) - static_cast<double>(total) / blocks.size()), 56.0)
            << "rows " << b.begin << ".." << b.end;
      }
      next = b.end;
    }
    EXPECT_EQ(next, 70);
  }
  // Small batches run on fewer threads: 15 rows give one block of at least 8.
  EXPECT_EQ(rnn_row_blocks(std::vector<std::int64_t>(15, 5), 4).size(), 1u);
  EXPECT_EQ(rnn_row_blocks(std::vector<std::int64_t>(16, 5), 4).size(), 2u);
  // One long series and many short ones: the long one's block keeps the minimum.
  std::vector<std::int64_t> skewed(24, 1);
  skewed[0] = 1000;
  const auto blocks = rnn_row_blocks(skewed, 3);
  ASSERT_EQ(blocks.size(), 3u);
  EXPECT_EQ(blocks[0].end - blocks[0].begin, 8);
  EXPECT_EQ(blocks[2].end, 24);
}

TEST(FusedRnnApplies, FallsBackWhereTheKernelDoesNot) {
  auto lstm = Lstm::make(2, 3, 2, true);
  const auto x = torch::zeros({2, 5, 2});
  EXPECT_TRUE(fused_rnn_applies(lstm, x));
  EXPECT_FALSE(fused_rnn_applies(lstm, x.to(torch::kDouble)));
  torch::nn::LSTM dropout(torch::nn::LSTMOptions(2, 3).num_layers(2).batch_first(true).dropout(0.5));
  EXPECT_FALSE(fused_rnn_applies(dropout, x));  // training: dropout between the layers
  dropout->eval();
  EXPECT_TRUE(fused_rnn_applies(dropout, x));
  torch::nn::LSTM projected(torch::nn::LSTMOptions(2, 3).batch_first(true).proj_size(2));
  EXPECT_FALSE(fused_rnn_applies(projected, x));
  auto gru = Gru::make(2, 3, 1, true);
  EXPECT_TRUE(fused_rnn_applies(gru, x));
  EXPECT_FALSE(fused_rnn_applies(gru, x.to(torch::kDouble)));
  gru->to(torch::kDouble);
  EXPECT_FALSE(fused_rnn_applies(gru, x));  // float series, double parameters
  torch::nn::GRU time_major(torch::nn::GRUOptions(2, 3));
  EXPECT_FALSE(fused_rnn_applies(time_major, x));
}

}  // namespace
}  // namespace phenoscale::nn
