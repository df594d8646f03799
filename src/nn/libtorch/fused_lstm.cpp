// The fused CPU LSTM (fused_lstm.hpp): one autograd node per layer direction,
// back-propagation through time written out (Hochreiter & Schmidhuber 1997;
// the gate equations of torch.nn.LSTM's documentation).
#include "fused_lstm.hpp"

// A time step's products are small (series running × 4H × H): OpenMP threads
// cost more than they gain there (lstm-classifier trained 25 % slower on 2
// threads than on 1). The products over every frame go through LibTorch.
#define EIGEN_DONT_PARALLELIZE
#include <Eigen/Core>
#include <algorithm>
#include <cstring>
#include <numeric>
#include <string>
#include <vector>

#include "phenoscale/core/error.hpp"
#include "phenoscale/core/log.hpp"

namespace phenoscale::nn {
namespace {

using core::cat;
namespace rnn = torch::nn::utils::rnn;
using torch::Tensor;
using torch::autograd::AutogradContext;
using torch::autograd::variable_list;

using Matrix = Eigen::Matrix<float, Eigen::Dynamic, Eigen::Dynamic, Eigen::RowMajor>;
using Array = Eigen::Array<float, Eigen::Dynamic, Eigen::Dynamic, Eigen::RowMajor>;
using MatrixMap = Eigen::Map<Matrix>;
using ConstMatrixMap = Eigen::Map<const Matrix>;
using ArrayMap = Eigen::Map<Array>;
using ConstArrayMap = Eigen::Map<const Array>;

// The series of a batch sorted longest first: the series still running at
// frame t are then the first running[t] rows of every time-major buffer.
std::vector<std::int64_t> running_counts(const Tensor& sorted_lengths, std::int64_t frames) {
  const auto* length = sorted_lengths.data_ptr<std::int64_t>();
  const auto batch = sorted_lengths.size(0);
  std::vector<std::int64_t> running(static_cast<std::size_t>(frames) + 1, 0);
  std::int64_t n = batch;
  for (std::int64_t t = 0; t < frames; ++t) {
    while (n > 0 && length[n - 1] <= t) --n;
    running[static_cast<std::size_t>(t)] = n;
  }
  return running;
}

// Sizes of one layer direction's buffers, all time-major [T, B, ·].
struct Shape {
  std::int64_t frames, batch, hidden;
  std::int64_t gate_stride() const { return batch * 4 * hidden; }
  std::int64_t state_stride() const { return batch * hidden; }
};

// The frame whose state feeds frame t, and how many of the rows running at
// t have one (the others start from the zero state): the forward direction
// reads frame t - 1, which every series running at t ran; the reverse
// direction reads frame t + 1, which only the first running[t + 1] ran.
struct Previous {
  std::int64_t frame = -1, rows = 0;
};
Previous previous_of(std::int64_t t, bool reverse, const std::vector<std::int64_t>& running, const Shape& s) {
  const auto p = reverse ? t + 1 : t - 1;
  if (p < 0 || p >= s.frames) return {};
  return {p, std::min(running[static_cast<std::size_t>(t)], running[static_cast<std::size_t>(p)])};
}

// Forward recurrence. `gates` holds x W_ihᵀ + b_ih + b_hh on entry and the
// activated gates (i, f, g, o) on return; cells and hidden are filled.
void recur_forward(float* gates, float* cells, float* hidden, const Tensor& w_hh, bool reverse,
                   const std::vector<std::int64_t>& running, const Shape& s) {
  const auto H = s.hidden;
  const ConstMatrixMap W(w_hh.data_ptr<float>(), 4 * H, H);
  for (std::int64_t step = 0; step < s.frames; ++step) {
    const auto t = reverse ? s.frames - 1 - step : step;
    const auto n = running[static_cast<std::size_t>(t)];
    if (n == 0) continue;
    const auto prev = previous_of(t, reverse, running, s);
    float* g_t = gates + t * s.gate_stride();
    if (prev.rows > 0)
      MatrixMap(g_t, n, 4 * H).topRows(prev.rows).noalias() +=
          ConstMatrixMap(hidden + prev.frame * s.state_stride(), prev.rows, H) * W.transpose();
    ArrayMap a(g_t, n, 4 * H);
    a.leftCols(2 * H) = a.leftCols(2 * H).logistic();
    a.middleCols(2 * H, H) = a.middleCols(2 * H, H).tanh();
    a.rightCols(H) = a.rightCols(H).logistic();
    ArrayMap c(cells + t * s.state_stride(), n, H);
    c = a.leftCols(H) * a.middleCols(2 * H, H);
    if (prev.rows > 0)
      c.topRows(prev.rows) += a.block(0, H, prev.rows, H) *
                               ConstArrayMap(cells + prev.frame * s.state_stride(), prev.rows, H);
    ArrayMap(hidden + t * s.state_stride(), n, H) = a.rightCols(H) * c.tanh();
  }
}

// Backward recurrence: fills d_gates, the gradient of the loss with respect
// to the gates' pre-activations, from the gradients of the outputs (d_out,
// may be null) and of the final states. Frames run in the opposite order of
// the forward pass; the carried dh, dc of a row are those of its state at
// the frame just processed.
struct FinalGradients {
  const float* dh_n = nullptr;  // [B, H] or null
  const float* dc_n = nullptr;
};
void recur_backward(const float* gates, const float* cells, const float* d_out, FinalGradients final,
                    float* d_gates, const Tensor& w_hh, bool reverse, const std::vector<std::int64_t>& running,
                    const Shape& s) {
  const auto H = s.hidden;
  const ConstMatrixMap W(w_hh.data_ptr<float>(), 4 * H, H);
  Array dh = Array::Zero(s.batch, H), dc = Array::Zero(s.batch, H);
  for (std::int64_t step = 0; step < s.frames; ++step) {
    const auto t = reverse ? step : s.frames - 1 - step;
    const auto n = running[static_cast<std::size_t>(t)];
    if (n == 0) continue;
    // Rows whose last frame (final state) is t: every row at the reverse
    // direction's frame 0, the rows ending at t in the forward direction.
    const auto first = reverse ? (t == 0 ? 0 : n) : running[static_cast<std::size_t>(t) + 1];
    for (auto j = first; j < n; ++j) {
      if (final.dh_n) dh.row(j) = ConstArrayMap(final.dh_n + j * H, 1, H);
      if (final.dc_n) dc.row(j) = ConstArrayMap(final.dc_n + j * H, 1, H);
    }
    const auto prev = previous_of(t, reverse, running, s);
    const ConstArrayMap a(gates + t * s.gate_stride(), n, 4 * H);
    const auto i = a.leftCols(H);
    const auto f = a.middleCols(H, H);
    const auto g = a.middleCols(2 * H, H);
    const auto o = a.rightCols(H);
    const Array tc = ConstArrayMap(cells + t * s.state_stride(), n, H).tanh();
    Array dht = dh.topRows(n);
    if (d_out) dht += ConstArrayMap(d_out + t * s.state_stride(), n, H);
    const Array dct = dc.topRows(n) + dht * o * (1.0f - tc.square());
    ArrayMap d(d_gates + t * s.gate_stride(), n, 4 * H);
    d.leftCols(H) = dct * g * i * (1.0f - i);
    d.middleCols(2 * H, H) = dct * i * (1.0f - g.square());
    d.rightCols(H) = dht * tc * o * (1.0f - o);
    if (prev.rows == 0) continue;  // forget gate: c_prev = 0 leaves its gradient 0
    const auto m = prev.rows;
    const ConstArrayMap c_prev(cells + prev.frame * s.state_stride(), m, H);
    d.block(0, H, m, H) = dct.topRows(m) * c_prev * f.topRows(m) * (1.0f - f.topRows(m));
    dc.topRows(m) = dct.topRows(m) * f.topRows(m);
    dh.topRows(m).matrix().noalias() = MatrixMap(d_gates + t * s.gate_stride(), m, 4 * H) * W;
  }
}

// Zeroes x past each series' length (padding may hold anything; the weight
// gradient multiplies every row).
Tensor zero_padding(const Tensor& x, const std::vector<std::int64_t>& running) {
  auto z = x.contiguous().clone();
  for (std::int64_t t = 0; t < z.size(0); ++t) {
    const auto n = running[static_cast<std::size_t>(t)];
    if (n < z.size(1)) z[t].narrow(0, n, z.size(1) - n).zero_();
  }
  return z;
}

// Each series' final state: frame length - 1 forward, frame 0 in reverse.
Tensor final_states(const Tensor& states, const Tensor& sorted_lengths, bool reverse) {
  const auto B = states.size(1), H = states.size(2);
  auto out = torch::zeros({B, H}, states.options());
  const auto* length = sorted_lengths.data_ptr<std::int64_t>();
  const float* src = states.data_ptr<float>();
  float* dst = out.data_ptr<float>();
  for (std::int64_t j = 0; j < B; ++j) {
    const auto t = reverse ? 0 : length[j] - 1;
    std::memcpy(dst + j * H, src + (t * B + j) * H, static_cast<std::size_t>(H) * sizeof(float));
  }
  return out;
}

// One layer direction over time-major, longest-first series x [T, B, C].
// Returns the hidden states [T, B, H] and the final h, c [B, H].
struct LstmDirection : public torch::autograd::Function<LstmDirection> {
  static variable_list forward(AutogradContext* ctx, const Tensor& x, const Tensor& sorted_lengths,
                               const Tensor& w_ih, const Tensor& w_hh, const Tensor& b_ih, const Tensor& b_hh,
                               bool reverse) {
    const auto T = x.size(0), B = x.size(1), C = x.size(2), H = w_hh.size(1);
    const Shape s{T, B, H};
    const auto running = running_counts(sorted_lengths, T);
    const auto xz = zero_padding(x, running);
    const auto w_hh_c = w_hh.contiguous();
    auto gates = torch::addmm(b_ih + b_hh, xz.view({T * B, C}), w_ih.t()).view({T, B, 4 * H});
    auto cells = torch::zeros({T, B, H}, x.options());
    auto hidden = torch::zeros({T, B, H}, x.options());
    recur_forward(gates.data_ptr<float>(), cells.data_ptr<float>(), hidden.data_ptr<float>(), w_hh_c, reverse,
                  running, s);
    auto h_n = final_states(hidden, sorted_lengths, reverse);
    auto c_n = final_states(cells, sorted_lengths, reverse);
    ctx->save_for_backward({xz, sorted_lengths, w_ih, w_hh_c, gates, cells, hidden});
    ctx->saved_data["reverse"] = reverse;
    return {hidden, h_n, c_n};
  }

  static variable_list backward(AutogradContext* ctx, variable_list grad) {
    const auto saved = ctx->get_saved_variables();
    const auto &xz = saved[0], &sorted_lengths = saved[1], &w_ih = saved[2], &w_hh = saved[3], &gates = saved[4],
               &cells = saved[5], &hidden = saved[6];
    const bool reverse = ctx->saved_data["reverse"].toBool();
    const auto T = xz.size(0), B = xz.size(1), C = xz.size(2), H = w_hh.size(1);
    const Shape s{T, B, H};
    const auto running = running_counts(sorted_lengths, T);
    auto contiguous_or_none = [](const Tensor& g) { return g.defined() ? g.contiguous() : g; };
    const auto d_out = contiguous_or_none(grad[0]), dh_n = contiguous_or_none(grad[1]),
               dc_n = contiguous_or_none(grad[2]);
    auto d_gates = torch::zeros({T, B, 4 * H}, xz.options());
    recur_backward(gates.data_ptr<float>(), cells.data_ptr<float>(),
                   d_out.defined() ? d_out.data_ptr<float>() : nullptr,
                   {dh_n.defined() ? dh_n.data_ptr<float>() : nullptr, dc_n.defined() ? dc_n.data_ptr<float>() : nullptr},
                   d_gates.data_ptr<float>(), w_hh, reverse, running, s);
    const auto dg = d_gates.view({T * B, 4 * H});
    // The state each frame read: frame t - 1's (t + 1's in reverse), zero
    // where a series had none (its rows of d_gates are zero there anyway).
    auto previous = torch::zeros_like(hidden);
    if (T > 1) {
      if (reverse) previous.narrow(0, 0, T - 1).copy_(hidden.narrow(0, 1, T - 1));
      else previous.narrow(0, 1, T - 1).copy_(hidden.narrow(0, 0, T - 1));
    }
    auto d_x = dg.mm(w_ih).view({T, B, C});
    auto d_w_ih = dg.t().mm(xz.view({T * B, C}));
    auto d_w_hh = dg.t().mm(previous.view({T * B, H}));
    auto d_b = dg.sum(0);
    return {d_x, Tensor(), d_w_ih, d_w_hh, d_b, d_b.clone(), Tensor()};
  }
};

bool fused_applies(torch::nn::LSTM& lstm, const Tensor& padded) {
  const auto& o = lstm->options;
  if (!padded.device().is_cpu() || padded.scalar_type() != torch::kFloat) return false;
  if (!o.batch_first() || !o.bias() || o.proj_size() != 0 || (o.dropout() > 0.0 && lstm->is_training())) return false;
  for (const auto& p : lstm->parameters())
    if (!p.device().is_cpu() || p.scalar_type() != torch::kFloat) return false;
  return true;
}

LstmResult run_libtorch(torch::nn::LSTM& lstm, const Tensor& padded, const Tensor& lengths) {
  auto packed = rnn::pack_padded_sequence(padded, lengths.to(torch::kCPU, torch::kLong), /*batch_first=*/true,
                                          /*enforce_sorted=*/false);
  auto [out, state] = lstm->forward_with_packed_input(packed);
  auto output = std::get<0>(rnn::pad_packed_sequence(out, /*batch_first=*/true, 0.0, padded.size(1)));
  return {output, std::get<0>(state), std::get<1>(state)};
}

Tensor parameter(torch::nn::LSTM& lstm, const std::string& name) {
  const auto parameters = lstm->named_parameters(/*recurse=*/false);
  const auto* p = parameters.find(name);
  if (!p) throw Error(cat("fused LSTM: the layer has no parameter ", name));
  return *p;
}

}  // namespace

LstmResult run_lstm(torch::nn::LSTM& lstm, const Tensor& padded, const Tensor& lengths, LstmKernel kernel) {
  if (padded.dim() != 3 || lengths.dim() != 1 || lengths.size(0) != padded.size(0))
    throw Error(cat("LSTM: expected series [B, T, C] and lengths [B]; found ", padded.sizes(), " and ",
                    lengths.sizes()));
  if (kernel == LstmKernel::libtorch || !fused_applies(lstm, padded)) return run_libtorch(lstm, padded, lengths);
  const auto T = padded.size(1);
  auto length = lengths.to(torch::kCPU, torch::kLong).contiguous();
  std::vector<std::int64_t> order(static_cast<std::size_t>(length.size(0)));
  std::iota(order.begin(), order.end(), 0);
  const auto* l = length.data_ptr<std::int64_t>();
  for (const auto b : order)
    if (l[b] < 1 || l[b] > T)
      throw Error(cat("LSTM: series ", b, " of the batch has length ", l[b], "; expected 1..", T, " (its padded frames)"));
  std::stable_sort(order.begin(), order.end(), [l](std::int64_t a, std::int64_t b) { return l[a] > l[b]; });
  const auto sort = torch::tensor(order, torch::kLong);
  const auto unsort = torch::argsort(sort);
  const auto sorted_lengths = length.index_select(0, sort);

  const auto& o = lstm->options;
  const int directions = o.bidirectional() ? 2 : 1;
  auto x = padded.index_select(0, sort).transpose(0, 1).contiguous();  // [T, B, C], longest first
  std::vector<Tensor> h_n, c_n;
  for (std::int64_t layer = 0; layer < o.num_layers(); ++layer) {
    std::vector<Tensor> outputs;
    for (int dir = 0; dir < directions; ++dir) {
      const auto suffix = cat("_l", layer, dir == 1 ? "_reverse" : "");
      auto r = LstmDirection::apply(x, sorted_lengths, parameter(lstm, "weight_ih" + suffix),
                                    parameter(lstm, "weight_hh" + suffix), parameter(lstm, "bias_ih" + suffix),
                                    parameter(lstm, "bias_hh" + suffix), dir == 1);
      outputs.push_back(r[0]);
      h_n.push_back(r[1]);
      c_n.push_back(r[2]);
    }
    x = directions == 2 ? torch::cat(outputs, 2) : outputs[0];
  }
  return {x.transpose(0, 1).index_select(0, unsort), torch::stack(h_n).index_select(1, unsort),
          torch::stack(c_n).index_select(1, unsort)};
}

}  // namespace phenoscale::nn
