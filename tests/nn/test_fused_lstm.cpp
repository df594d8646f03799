// The fused CPU LSTM against LibTorch's packed LSTM (the known answer): the
// same outputs, final states and gradients of every parameter and of the
// input, for one- and two-layer, one- and two-direction layers over a batch
// of unsorted lengths from 1 to the padded frames; a series' result does not
// depend on its batch; padding is never read.
#include <gtest/gtest.h>

#include <cmath>
#include <limits>

#include "nn/libtorch/fused_lstm.hpp"
#include "phenoscale/core/error.hpp"

namespace phenoscale::nn {
namespace {

struct Case {
  int layers;
  bool bidirectional;
};

class FusedLstm : public ::testing::TestWithParam<Case> {};

torch::nn::LSTM make_lstm(std::int64_t in, std::int64_t hidden, const Case& c) {
  torch::manual_seed(11);
  return torch::nn::LSTM(torch::nn::LSTMOptions(in, hidden).num_layers(c.layers).batch_first(true).bidirectional(
      c.bidirectional));
}

// Series of lengths `lengths`, padded to T frames with NaN (never to be read).
torch::Tensor series(const std::vector<std::int64_t>& lengths, std::int64_t T, std::int64_t C) {
  torch::manual_seed(3);
  auto x = torch::randn({static_cast<std::int64_t>(lengths.size()), T, C});
  for (std::size_t b = 0; b < lengths.size(); ++b)
    if (lengths[b] < T) x[static_cast<std::int64_t>(b)].narrow(0, lengths[b], T - lengths[b]).fill_(NAN);
  return x;
}

struct Run {
  LstmResult result;
  std::vector<torch::Tensor> grads;  // input, then every parameter
};

// Forward and backward of a loss reading outputs (inside each length) and
// both final states through fixed random weights.
Run run(torch::nn::LSTM& lstm, const torch::Tensor& x0, const torch::Tensor& lengths, LstmKernel kernel) {
  for (auto& p : lstm->parameters()) p.mutable_grad() = torch::Tensor();
  auto x = x0.clone().requires_grad_(true);
  auto r = run_lstm(lstm, x, lengths, kernel);
  torch::manual_seed(5);
  auto mask = (torch::arange(x.size(1)).unsqueeze(0) < lengths.unsqueeze(1)).unsqueeze(2).to(torch::kFloat);
  auto loss = (r.output * torch::randn(r.output.sizes()) * mask).sum() + (r.h_n * torch::randn(r.h_n.sizes())).sum() +
              (r.c_n * torch::randn(r.c_n.sizes())).sum();
  loss.backward();
  Run out{r, {torch::nan_to_num(x.grad(), 0.0)}};
  for (auto& p : lstm->parameters()) out.grads.push_back(p.grad().clone());
  return out;
}

void expect_close(const torch::Tensor& a, const torch::Tensor& b, const std::string& what) {
  ASSERT_EQ(a.sizes(), b.sizes()) << what;
  const double err = (a - b).abs().max().item<double>();
  const double scale = std::max(1.0, b.abs().max().item<double>());
  EXPECT_LT(err / scale, 2e-5) << what << ": max difference " << err;
}

TEST_P(FusedLstm, MatchesLibTorchPackedLstm) {
  const auto c = GetParam();
  const std::vector<std::int64_t> lengths{5, 1, 9, 9, 3, 7, 2};  // unsorted, repeats, 1 and T
  const std::int64_t T = 9, C = 3, H = 4;
  auto lstm = make_lstm(C, H, c);
  const auto x = series(lengths, T, C);
  const auto len = torch::tensor(lengths, torch::kLong);
  const auto fused = run(lstm, x, len, LstmKernel::automatic);
  const auto reference = run(lstm, torch::nan_to_num(x, 0.0), len, LstmKernel::libtorch);
  expect_close(fused.result.output, reference.result.output, "output");
  expect_close(fused.result.h_n, reference.result.h_n, "h_n");
  expect_close(fused.result.c_n, reference.result.c_n, "c_n");
  ASSERT_EQ(fused.grads.size(), reference.grads.size());
  for (std::size_t i = 0; i < fused.grads.size(); ++i)
    expect_close(fused.grads[i], reference.grads[i], i == 0 ? "input gradient" : "parameter gradient " + std::to_string(i));
  // Outputs past each length are zero (as pad_packed_sequence gives).
  for (std::size_t b = 0; b < lengths.size(); ++b) {
    if (lengths[b] == T) continue;
    const auto past = fused.result.output[static_cast<std::int64_t>(b)].narrow(0, lengths[b], T - lengths[b]);
    EXPECT_EQ(past.abs().max().item<float>(), 0.0f) << "series " << b;
  }
}

TEST_P(FusedLstm, SeriesResultDoesNotDependOnItsBatch) {
  const auto c = GetParam();
  const std::vector<std::int64_t> lengths{4, 12, 7};
  auto lstm = make_lstm(2, 6, c);
  const auto x = series(lengths, 12, 2);
  torch::NoGradGuard no_grad;
  const auto batch = run_lstm(lstm, x, torch::tensor(lengths, torch::kLong));
  for (std::int64_t b = 0; b < 3; ++b) {
    const auto L = lengths[static_cast<std::size_t>(b)];
    const auto alone = run_lstm(lstm, x[b].narrow(0, 0, L).unsqueeze(0), torch::tensor({L}, torch::kLong));
    expect_close(batch.output[b].narrow(0, 0, L), alone.output[0], "series " + std::to_string(b));
    expect_close(batch.h_n.select(1, b), alone.h_n.select(1, 0), "h_n of series " + std::to_string(b));
  }
}

INSTANTIATE_TEST_SUITE_P(Layers, FusedLstm,
                         ::testing::Values(Case{1, false}, Case{1, true}, Case{2, false}, Case{2, true}),
                         [](const ::testing::TestParamInfo<Case>& param) {
                           return std::to_string(param.param.layers) + (param.param.bidirectional ? "Bi" : "Uni");
                         });

TEST(FusedLstmErrors, LengthOutsideThePaddedFramesIsNamed) {
  auto lstm = make_lstm(2, 3, {1, true});
  const auto x = torch::zeros({2, 5, 2});
  try {
    run_lstm(lstm, x, torch::tensor({5, 6}, torch::kLong));
    FAIL() << "expected an error";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("series 1 of the batch has length 6; expected 1..5"), std::string::npos) << e.what();
  }
  EXPECT_THROW(run_lstm(lstm, x, torch::tensor({0, 5}, torch::kLong)), Error);
}

}  // namespace
}  // namespace phenoscale::nn
