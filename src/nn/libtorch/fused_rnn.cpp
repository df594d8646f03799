// The fused CPU recurrent layers (fused_rnn.hpp): one autograd node per layer
// direction, back-propagation through time written out (LSTM: Hochreiter &
// Schmidhuber 1997; GRU: Cho et al. 2014; the gate equations of
// torch.nn.LSTM's and torch.nn.GRU's documentation).
#include "fused_rnn.hpp"

#include <Eigen/Core>
#include <algorithm>
#include <cblas.h>
#include <cstring>
#include <exception>
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
using ArrayMap = Eigen::Map<Array>;
using ConstArrayMap = Eigen::Map<const Array>;

// The series of a batch sorted longest first: the series still running at
// frame t are then the first running[t] rows of every time-major buffer.
std::vector<std::int64_t> running_counts(const Tensor& sorted_lengths, std::int64_t frames) {
  const auto* length = sorted_lengths.data_ptr<std::int64_t>();
  std::vector<std::int64_t> running(static_cast<std::size_t>(frames) + 1, 0);
  std::int64_t n = sorted_lengths.size(0);
  for (std::int64_t t = 0; t < frames; ++t) {
    while (n > 0 && length[n - 1] <= t) --n;
    running[static_cast<std::size_t>(t)] = n;
  }
  return running;
}

// Sizes of one layer direction's buffers, all time-major [T, B, ·]; `gates`
// is 4 for the LSTM, 3 for the GRU.
struct Shape {
  std::int64_t frames, batch, hidden, gates;
  std::int64_t gate_offset(std::int64_t t, std::int64_t row) const { return (t * batch + row) * gates * hidden; }
  std::int64_t state_offset(std::int64_t t, std::int64_t row) const { return (t * batch + row) * hidden; }
};

// out[rows × cols] = beta · out + a[rows × depth] · b (bᵀ with transpose_b),
// row-major with leading dimensions ld*: a time step's product, through the
// BLAS LibTorch runs on (libblas.so.3). Its kernels are chosen for the CPU
// at run time (OpenBLAS: AVX2, AVX-512), where Eigen's are fixed when
// compiling — SSE2 for a generic x86-64 build, which took lstm-classifier's
// training 1.5× as long (docs/performance.md, "Per-step products through
// the BLAS"). With netlib's reference BLAS as libblas.so.3 these products
// (and LibTorch's) run its unblocked loops.
void gemm(std::int64_t rows, std::int64_t cols, std::int64_t depth, const float* a, std::int64_t lda, const float* b,
          std::int64_t ldb, bool transpose_b, float beta, float* out, std::int64_t ldo) {
  cblas_sgemm(CblasRowMajor, CblasNoTrans, transpose_b ? CblasTrans : CblasNoTrans, static_cast<int>(rows),
              static_cast<int>(cols), static_cast<int>(depth), 1.0f, a, static_cast<int>(lda), b, static_cast<int>(ldb),
              beta, out, static_cast<int>(ldo));
}

// How many of a block's rows are among the first `count` rows of the batch
// (the rows running at a frame, or having a previous state there).
std::int64_t rows_within(const RowBlock& rows, std::int64_t count) {
  return std::max<std::int64_t>(0, std::min(rows.end, count) - rows.begin);
}

// The row blocks of one layer direction, one per thread of LibTorch's
// intra-op count (docs/architecture.md, "Recurrent layers").
std::vector<RowBlock> blocks_of(const Tensor& sorted_lengths) {
  const auto* l = sorted_lengths.data_ptr<std::int64_t>();
  return rnn_row_blocks(std::vector<std::int64_t>(l, l + sorted_lengths.size(0)), torch::get_num_threads());
}

// Runs f on every block, one OpenMP thread each. Inside the region the
// OpenMP build of OpenBLAS (Debian's libopenblas0-openmp, which setup.sh
// installs) runs each product on its calling thread (omp_in_parallel), so a
// time step opens no parallel region; f must call no LibTorch operator (the region's
// threads lack ATen's thread-local state): the callers take every pointer
// before. An exception may not leave the region: the first is rethrown
// after it. A batch of one block (under 2 × 8 rows) runs on the calling
// thread, where OpenBLAS threads a product only above 4 × 65,536
// multiply-adds (GEMM_MULTITHREAD_THRESHOLD): the networks' per-step
// products stay below that (15 rows × 32 × 128 for the LSTMs), so the
// per-frame parallel regions the blocks replaced do not come back; a much
// wider layer would see them.
template <typename F>
void for_each_block(const std::vector<RowBlock>& blocks, const F& f) {
  if (blocks.size() == 1) return f(blocks.front());
  std::exception_ptr failure;
  const auto n = static_cast<std::int64_t>(blocks.size());
#pragma omp parallel for num_threads(static_cast<int>(n)) schedule(static, 1)
  for (std::int64_t i = 0; i < n; ++i) {
    try {
      f(blocks[static_cast<std::size_t>(i)]);
    } catch (...) {
#pragma omp critical(phenoscale_fused_rnn_failure)
      if (!failure) failure = std::current_exception();
    }
  }
  if (failure) std::rethrow_exception(failure);
}

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

// The first row whose final state is at frame t (rows from there to
// running[t] end at t): in reverse every row ends at frame 0; forward, the
// rows that do not run at t + 1.
std::int64_t first_final_row(std::int64_t t, bool reverse, const std::vector<std::int64_t>& running) {
  const auto u = static_cast<std::size_t>(t);
  if (reverse) return t == 0 ? 0 : running[u];
  return running[u + 1];
}

// Copies the final-state gradient of the block's rows ending at frame t
// into the carried gradient, whose row 0 is the block's first (nothing is
// carried into a row at its last frame).
void take_final_gradient(Array& carried, const float* d_final, std::int64_t t, bool reverse,
                         const std::vector<std::int64_t>& running, std::int64_t hidden, const RowBlock& rows) {
  if (!d_final) return;
  const auto n = std::min(running[static_cast<std::size_t>(t)], rows.end);
  for (auto j = std::max(first_final_row(t, reverse, running), rows.begin); j < n; ++j)
    carried.row(j - rows.begin) = ConstArrayMap(d_final + j * hidden, 1, hidden);
}

// LSTM forward recurrence over the block's rows. `gates` holds
// x W_ihᵀ + b_ih + b_hh on entry and the activated gates (i, f, g, o) on
// return; cells and hidden are filled.
void lstm_forward(float* gates, float* cells, float* hidden, const float* w_hh, bool reverse,
                  const std::vector<std::int64_t>& running, const Shape& s, const RowBlock& rows) {
  const auto H = s.hidden;
  for (std::int64_t step = 0; step < s.frames; ++step) {
    const auto t = reverse ? s.frames - 1 - step : step;
    const auto n = rows_within(rows, running[static_cast<std::size_t>(t)]);
    if (n == 0) continue;
    const auto prev = previous_of(t, reverse, running, s);
    const auto m = rows_within(rows, prev.rows);
    float* g_t = gates + s.gate_offset(t, rows.begin);
    if (m > 0) gemm(m, 4 * H, H, hidden + s.state_offset(prev.frame, rows.begin), H, w_hh, H, true, 1.0f, g_t, 4 * H);
    ArrayMap a(g_t, n, 4 * H);
    a.leftCols(2 * H) = a.leftCols(2 * H).logistic();
    a.middleCols(2 * H, H) = a.middleCols(2 * H, H).tanh();
    a.rightCols(H) = a.rightCols(H).logistic();
    ArrayMap c(cells + s.state_offset(t, rows.begin), n, H);
    c = a.leftCols(H) * a.middleCols(2 * H, H);
    if (m > 0) c.topRows(m) += a.block(0, H, m, H) * ConstArrayMap(cells + s.state_offset(prev.frame, rows.begin), m, H);
    ArrayMap(hidden + s.state_offset(t, rows.begin), n, H) = a.rightCols(H) * c.tanh();
  }
}

// The gradients a backward recurrence reads: of every frame's output (may
// be null) and of the final states (null when unused).
struct OutputGradients {
  const float* d_out = nullptr;  // [T, B, H]
  const float* dh_n = nullptr;   // [B, H]
  const float* dc_n = nullptr;   // [B, H], LSTM
};

// LSTM backward recurrence over the block's rows: fills d_gates, the
// gradient with respect to the gates' pre-activations. Frames run in the
// opposite order of the forward pass; the carried dh, dc of a row are those
// of its state at the frame just processed.
void lstm_backward(const float* gates, const float* cells, OutputGradients d, float* d_gates, const float* w_hh,
                   bool reverse, const std::vector<std::int64_t>& running, const Shape& s, const RowBlock& rows) {
  const auto H = s.hidden, R = rows.end - rows.begin;
  Array dh = Array::Zero(R, H), dc = Array::Zero(R, H);
  Array dht(R, H), dct(R, H), tc(R, H);  // per-frame scratch
  for (std::int64_t step = 0; step < s.frames; ++step) {
    const auto t = reverse ? step : s.frames - 1 - step;
    const auto n = rows_within(rows, running[static_cast<std::size_t>(t)]);
    if (n == 0) continue;
    take_final_gradient(dh, d.dh_n, t, reverse, running, H, rows);
    take_final_gradient(dc, d.dc_n, t, reverse, running, H, rows);
    const auto prev = previous_of(t, reverse, running, s);
    const ConstArrayMap a(gates + s.gate_offset(t, rows.begin), n, 4 * H);
    const auto i = a.leftCols(H);
    const auto f = a.middleCols(H, H);
    const auto g = a.middleCols(2 * H, H);
    const auto o = a.rightCols(H);
    tc.topRows(n) = ConstArrayMap(cells + s.state_offset(t, rows.begin), n, H).tanh();
    dht.topRows(n) = dh.topRows(n);
    if (d.d_out) dht.topRows(n) += ConstArrayMap(d.d_out + s.state_offset(t, rows.begin), n, H);
    dct.topRows(n) = dc.topRows(n) + dht.topRows(n) * o * (1.0f - tc.topRows(n).square());
    float* dg_t = d_gates + s.gate_offset(t, rows.begin);
    ArrayMap dg(dg_t, n, 4 * H);
    dg.leftCols(H) = dct.topRows(n) * g * i * (1.0f - i);
    dg.middleCols(2 * H, H) = dct.topRows(n) * i * (1.0f - g.square());
    dg.rightCols(H) = dht.topRows(n) * tc.topRows(n) * o * (1.0f - o);
    const auto m = rows_within(rows, prev.rows);
    if (m == 0) continue;  // forget gate: c_prev = 0 leaves its gradient 0
    const ConstArrayMap c_prev(cells + s.state_offset(prev.frame, rows.begin), m, H);
    dg.block(0, H, m, H) = dct.topRows(m) * c_prev * f.topRows(m) * (1.0f - f.topRows(m));
    dc.topRows(m) = dct.topRows(m) * f.topRows(m);
    gemm(m, H, 4 * H, dg_t, 4 * H, w_hh, H, false, 0.0f, dh.data(), H);
  }
}

// GRU forward recurrence over the block's rows (gate order r, z, n as
// torch.nn.GRU):
//   r = σ(x W_irᵀ + b_ir + h W_hrᵀ + b_hr), z likewise,
//   n = tanh(x W_inᵀ + b_in + r ⊙ (h W_hnᵀ + b_hn)), h' = (1 − z) ⊙ n + z ⊙ h.
// `gates` holds x W_ihᵀ + b_ih on entry and the activated r, z, n on return;
// `recurrent_n` receives h W_hnᵀ + b_hn (r's gradient needs it).
void gru_forward(float* gates, float* recurrent_n, float* hidden, const float* w_hh, const float* b_hh,
                 bool reverse, const std::vector<std::int64_t>& running, const Shape& s, const RowBlock& rows) {
  const auto H = s.hidden;
  const Eigen::Map<const Eigen::RowVectorXf> bias(b_hh, 3 * H);
  Matrix gh(rows.end - rows.begin, 3 * H);
  for (std::int64_t step = 0; step < s.frames; ++step) {
    const auto t = reverse ? s.frames - 1 - step : step;
    const auto n = rows_within(rows, running[static_cast<std::size_t>(t)]);
    if (n == 0) continue;
    const auto prev = previous_of(t, reverse, running, s);
    const auto m = rows_within(rows, prev.rows);
    const float* h_prev = m > 0 ? hidden + s.state_offset(prev.frame, rows.begin) : nullptr;
    gh.topRows(n).rowwise() = bias;
    if (m > 0) gemm(m, 3 * H, H, h_prev, H, w_hh, H, true, 1.0f, gh.data(), 3 * H);
    ArrayMap a(gates + s.gate_offset(t, rows.begin), n, 3 * H);
    a.leftCols(2 * H) = (a.leftCols(2 * H) + gh.topRows(n).leftCols(2 * H).array()).logistic();
    ArrayMap hn(recurrent_n + s.state_offset(t, rows.begin), n, H);
    hn = gh.topRows(n).rightCols(H).array();
    a.rightCols(H) = (a.rightCols(H) + a.leftCols(H) * hn).tanh();
    ArrayMap h(hidden + s.state_offset(t, rows.begin), n, H);
    h = (1.0f - a.middleCols(H, H)) * a.rightCols(H);
    if (m > 0) h.topRows(m) += a.block(0, H, m, H) * ConstArrayMap(h_prev, m, H);
  }
}

// GRU backward recurrence over the block's rows: the gradients with respect
// to x W_ihᵀ + b_ih (d_input) and to h W_hhᵀ + b_hh (d_recurrent); they
// differ in n's third, which r scales on the recurrent side.
void gru_backward(const float* gates, const float* recurrent_n, const float* hidden, OutputGradients d,
                  float* d_input, float* d_recurrent, const float* w_hh, bool reverse,
                  const std::vector<std::int64_t>& running, const Shape& s, const RowBlock& rows) {
  const auto H = s.hidden, R = rows.end - rows.begin;
  Array dh = Array::Zero(R, H);
  Array dht(R, H), dan(R, H), dz(R, H), carried(R, H);  // per-frame scratch
  for (std::int64_t step = 0; step < s.frames; ++step) {
    const auto t = reverse ? step : s.frames - 1 - step;
    const auto n = rows_within(rows, running[static_cast<std::size_t>(t)]);
    if (n == 0) continue;
    take_final_gradient(dh, d.dh_n, t, reverse, running, H, rows);
    const auto prev = previous_of(t, reverse, running, s);
    const auto m = rows_within(rows, prev.rows);
    const ConstArrayMap a(gates + s.gate_offset(t, rows.begin), n, 3 * H);
    const auto r = a.leftCols(H);
    const auto z = a.middleCols(H, H);
    const auto c = a.rightCols(H);  // n, the candidate state
    dht.topRows(n) = dh.topRows(n);
    if (d.d_out) dht.topRows(n) += ConstArrayMap(d.d_out + s.state_offset(t, rows.begin), n, H);
    dan.topRows(n) = dht.topRows(n) * (1.0f - z) * (1.0f - c.square());
    dz.topRows(n) = -dht.topRows(n) * c;
    if (m > 0)
      dz.topRows(m) += dht.topRows(m) * ConstArrayMap(hidden + s.state_offset(prev.frame, rows.begin), m, H);
    float* dr_t = d_recurrent + s.gate_offset(t, rows.begin);
    ArrayMap di(d_input + s.gate_offset(t, rows.begin), n, 3 * H);
    ArrayMap dr(dr_t, n, 3 * H);
    di.leftCols(H) = dan.topRows(n) * ConstArrayMap(recurrent_n + s.state_offset(t, rows.begin), n, H) * r * (1.0f - r);
    di.middleCols(H, H) = dz.topRows(n) * z * (1.0f - z);
    di.rightCols(H) = dan.topRows(n);
    dr.leftCols(2 * H) = di.leftCols(2 * H);
    dr.rightCols(H) = dan.topRows(n) * r;
    if (m == 0) continue;
    carried.topRows(m) = dht.topRows(m) * z.topRows(m);
    gemm(m, H, 3 * H, dr_t, 3 * H, w_hh, H, false, 0.0f, dh.data(), H);
    dh.topRows(m) += carried.topRows(m);
  }
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

// The state each frame read: frame t - 1's (t + 1's in reverse), zero where a
// series had none (the hidden buffer is zero past each length).
Tensor previous_states(const Tensor& hidden, bool reverse) {
  const auto T = hidden.size(0);
  auto previous = torch::zeros_like(hidden);
  if (T > 1) {
    if (reverse) previous.narrow(0, 0, T - 1).copy_(hidden.narrow(0, 1, T - 1));
    else previous.narrow(0, 1, T - 1).copy_(hidden.narrow(0, 0, T - 1));
  }
  return previous;
}

OutputGradients output_gradients(const variable_list& grad, std::size_t outputs) {
  auto ptr = [](const Tensor& g) { return g.defined() ? g.data_ptr<float>() : nullptr; };
  return {ptr(grad[0]), ptr(grad[1]), outputs > 2 ? ptr(grad[2]) : nullptr};
}
variable_list contiguous(variable_list grad) {
  for (auto& g : grad)
    if (g.defined()) g = g.contiguous();
  return grad;
}

// What a Direction's forward saves for its backward: the inputs, the
// activated gates, the per-frame state the kernel needs besides the hidden
// states (LSTM: cells; GRU: h W_hnᵀ + b_hn), the hidden states.
void save_direction(AutogradContext* ctx, const Tensor& x, const Tensor& sorted_lengths, const Tensor& w_ih,
                    const Tensor& w_hh, const Tensor& gates, const Tensor& state, const Tensor& hidden, bool reverse) {
  ctx->save_for_backward({x, sorted_lengths, w_ih, w_hh, gates, state, hidden});
  ctx->saved_data["reverse"] = reverse;
}
struct SavedDirection {
  Tensor x, sorted_lengths, w_ih, w_hh, gates, state, hidden;
  bool reverse;
  Shape shape;
  std::vector<std::int64_t> running;
  std::vector<RowBlock> blocks;
};
SavedDirection saved_direction(AutogradContext* ctx, std::int64_t gate_count) {
  const auto v = ctx->get_saved_variables();
  SavedDirection d{v[0], v[1], v[2], v[3], v[4], v[5], v[6], ctx->saved_data["reverse"].toBool(), {}, {}, {}};
  d.shape = {d.x.size(0), d.x.size(1), d.w_hh.size(1), gate_count};
  d.running = running_counts(d.sorted_lengths, d.shape.frames);
  d.blocks = blocks_of(d.sorted_lengths);
  return d;
}

// One LSTM layer direction over time-major, longest-first series x [T, B, C]
// that are zero past each length. Returns the hidden states [T, B, H] and
// the final h, c [B, H].
struct LstmDirection : public torch::autograd::Function<LstmDirection> {
  static variable_list forward(AutogradContext* ctx, const Tensor& x_in, const Tensor& sorted_lengths,
                               const Tensor& w_ih, const Tensor& w_hh_in, const Tensor& b_ih, const Tensor& b_hh,
                               bool reverse) {
    const auto x = x_in.contiguous(), w_hh = w_hh_in.contiguous();
    const auto T = x.size(0), B = x.size(1), C = x.size(2), H = w_hh.size(1);
    const Shape s{T, B, H, 4};
    const auto running = running_counts(sorted_lengths, T);
    auto gates = torch::addmm(b_ih + b_hh, x.view({T * B, C}), w_ih.t()).view({T, B, 4 * H});
    auto cells = torch::zeros({T, B, H}, x.options());
    auto hidden = torch::zeros({T, B, H}, x.options());
    float *g = gates.data_ptr<float>(), *c = cells.data_ptr<float>(), *h = hidden.data_ptr<float>();
    const float* w = w_hh.data_ptr<float>();
    for_each_block(blocks_of(sorted_lengths),
                   [&](const RowBlock& rows) { lstm_forward(g, c, h, w, reverse, running, s, rows); });
    auto h_n = final_states(hidden, sorted_lengths, reverse);
    auto c_n = final_states(cells, sorted_lengths, reverse);
    save_direction(ctx, x, sorted_lengths, w_ih, w_hh, gates, cells, hidden, reverse);
    return {hidden, h_n, c_n};
  }

  static variable_list backward(AutogradContext* ctx, variable_list grad_in) {
    const auto d = saved_direction(ctx, 4);
    const auto T = d.shape.frames, B = d.shape.batch, C = d.x.size(2), H = d.shape.hidden;
    const auto grad = contiguous(std::move(grad_in));
    auto d_gates = torch::zeros({T, B, 4 * H}, d.x.options());
    const float *g = d.gates.data_ptr<float>(), *c = d.state.data_ptr<float>(), *w = d.w_hh.data_ptr<float>();
    const auto outputs = output_gradients(grad, 3);
    float* dg_all = d_gates.data_ptr<float>();
    for_each_block(d.blocks, [&](const RowBlock& rows) {
      lstm_backward(g, c, outputs, dg_all, w, d.reverse, d.running, d.shape, rows);
    });
    const auto dg = d_gates.view({T * B, 4 * H});
    Tensor d_x;
    if (ctx->needs_input_grad(0)) d_x = dg.mm(d.w_ih).view({T, B, C});
    auto d_b = dg.sum(0);
    return {d_x,
            Tensor(),
            dg.t().mm(d.x.view({T * B, C})),
            dg.t().mm(previous_states(d.hidden, d.reverse).view({T * B, H})),
            d_b,
            d_b.clone(),
            Tensor()};
  }
};

// One GRU layer direction, as LstmDirection: hidden states and final h.
struct GruDirection : public torch::autograd::Function<GruDirection> {
  static variable_list forward(AutogradContext* ctx, const Tensor& x_in, const Tensor& sorted_lengths,
                               const Tensor& w_ih, const Tensor& w_hh_in, const Tensor& b_ih, const Tensor& b_hh_in,
                               bool reverse) {
    const auto x = x_in.contiguous(), w_hh = w_hh_in.contiguous(), b_hh = b_hh_in.contiguous();
    const auto T = x.size(0), B = x.size(1), C = x.size(2), H = w_hh.size(1);
    const Shape s{T, B, H, 3};
    const auto running = running_counts(sorted_lengths, T);
    auto gates = torch::addmm(b_ih, x.view({T * B, C}), w_ih.t()).view({T, B, 3 * H});
    auto recurrent_n = torch::zeros({T, B, H}, x.options());
    auto hidden = torch::zeros({T, B, H}, x.options());
    float *g = gates.data_ptr<float>(), *hn = recurrent_n.data_ptr<float>(), *h = hidden.data_ptr<float>();
    const float *w = w_hh.data_ptr<float>(), *b = b_hh.data_ptr<float>();
    for_each_block(blocks_of(sorted_lengths),
                   [&](const RowBlock& rows) { gru_forward(g, hn, h, w, b, reverse, running, s, rows); });
    auto h_n = final_states(hidden, sorted_lengths, reverse);
    save_direction(ctx, x, sorted_lengths, w_ih, w_hh, gates, recurrent_n, hidden, reverse);
    return {hidden, h_n};
  }

  static variable_list backward(AutogradContext* ctx, variable_list grad_in) {
    const auto d = saved_direction(ctx, 3);
    const auto T = d.shape.frames, B = d.shape.batch, C = d.x.size(2), H = d.shape.hidden;
    const auto grad = contiguous(std::move(grad_in));
    auto d_input = torch::zeros({T, B, 3 * H}, d.x.options());
    auto d_recurrent = torch::zeros({T, B, 3 * H}, d.x.options());
    const float *g = d.gates.data_ptr<float>(), *hn = d.state.data_ptr<float>(), *h = d.hidden.data_ptr<float>();
    const float* w = d.w_hh.data_ptr<float>();
    const auto outputs = output_gradients(grad, 2);
    float *di_all = d_input.data_ptr<float>(), *dr_all = d_recurrent.data_ptr<float>();
    for_each_block(d.blocks, [&](const RowBlock& rows) {
      gru_backward(g, hn, h, outputs, di_all, dr_all, w, d.reverse, d.running, d.shape, rows);
    });
    const auto di = d_input.view({T * B, 3 * H}), dr = d_recurrent.view({T * B, 3 * H});
    Tensor d_x;
    if (ctx->needs_input_grad(0)) d_x = di.mm(d.w_ih).view({T, B, C});
    return {d_x,
            Tensor(),
            di.t().mm(d.x.view({T * B, C})),
            dr.t().mm(previous_states(d.hidden, d.reverse).view({T * B, H})),
            di.sum(0),
            dr.sum(0),
            Tensor()};
  }
};

template <typename Options>
bool options_apply(const Options& o, bool training, const torch::Tensor& padded) {
  if (!padded.device().is_cpu() || padded.scalar_type() != torch::kFloat) return false;
  if (!o.batch_first() || !o.bias() || o.hidden_size() < 1) return false;  // BLAS needs leading dimensions >= 1
  return !(training && o.num_layers() > 1 && o.dropout() > 0.0);
}

template <typename Module>
bool parameters_apply(const Module& m) {
  for (const auto& p : m->parameters())
    if (!p.device().is_cpu() || p.scalar_type() != torch::kFloat) return false;
  return true;
}

template <typename Module>
Tensor parameter(const Module& m, const std::string& name) {
  const auto parameters = m->named_parameters(/*recurse=*/false);
  const auto* p = parameters.find(name);
  if (!p) throw Error(cat("fused recurrent layer: the layer has no parameter ", name));
  return *p;
}

// The batch sorted longest first, time-major, zero past each length (the
// padding may hold anything, NaN included, and every layer's weight
// gradient multiplies every row): what the Direction functions take.
struct SortedBatch {
  Tensor x, sort, unsort, lengths;
};
SortedBatch sort_batch(const Tensor& padded, const Tensor& lengths) {
  if (padded.dim() != 3 || lengths.dim() != 1 || lengths.size(0) != padded.size(0))
    throw Error(cat("recurrent layer: expected series [B, T, C] and lengths [B]; found ", padded.sizes(), " and ",
                    lengths.sizes()));
  const auto T = padded.size(1);
  auto length = lengths.to(torch::kCPU, torch::kLong).contiguous();
  const auto* l = length.data_ptr<std::int64_t>();
  std::vector<std::int64_t> order(static_cast<std::size_t>(length.size(0)));
  std::iota(order.begin(), order.end(), 0);
  for (const auto b : order)
    if (l[b] < 1 || l[b] > T)
      throw Error(cat("recurrent layer: series ", b, " of the batch has length ", l[b], "; expected 1..", T,
                      " (its padded frames)"));
  std::stable_sort(order.begin(), order.end(), [l](std::int64_t a, std::int64_t b) { return l[a] > l[b]; });
  SortedBatch s;
  s.sort = torch::tensor(order, torch::kLong);
  s.unsort = torch::argsort(s.sort);
  s.lengths = length.index_select(0, s.sort);
  const auto inside = (torch::arange(T).unsqueeze(1) < s.lengths.unsqueeze(0)).unsqueeze(2);  // [T, B, 1]
  s.x = torch::where(inside, padded.index_select(0, s.sort).transpose(0, 1), torch::zeros({}, padded.options()))
            .contiguous();
  return s;
}

// A stack of layers, each one or two directions, through Direction.
template <typename Direction, typename Module>
RnnResult run_fused(Module& m, const Tensor& padded, const Tensor& lengths) {
  const auto& o = m->options;
  const int directions = o.bidirectional() ? 2 : 1;
  auto batch = sort_batch(padded, lengths);
  auto x = batch.x;
  std::vector<Tensor> h_n, c_n;
  for (std::int64_t layer = 0; layer < o.num_layers(); ++layer) {
    std::vector<Tensor> outputs;
    for (int dir = 0; dir < directions; ++dir) {
      const auto suffix = cat("_l", layer, dir == 1 ? "_reverse" : "");
      auto r = Direction::apply(x, batch.lengths, parameter(m, "weight_ih" + suffix), parameter(m, "weight_hh" + suffix),
                                parameter(m, "bias_ih" + suffix), parameter(m, "bias_hh" + suffix), dir == 1);
      outputs.push_back(r[0]);
      h_n.push_back(r[1]);
      if (r.size() > 2) c_n.push_back(r[2]);
    }
    x = directions == 2 ? torch::cat(outputs, 2) : outputs[0];
  }
  RnnResult result{x.transpose(0, 1).index_select(0, batch.unsort), torch::stack(h_n).index_select(1, batch.unsort),
                   {}};
  if (!c_n.empty()) result.c_n = torch::stack(c_n).index_select(1, batch.unsort);
  return result;
}

rnn::PackedSequence pack(const Tensor& padded, const Tensor& lengths) {
  return rnn::pack_padded_sequence(padded, lengths.to(torch::kCPU, torch::kLong), /*batch_first=*/true,
                                   /*enforce_sorted=*/false);
}
Tensor unpack(const rnn::PackedSequence& packed, std::int64_t frames) {
  return std::get<0>(rnn::pad_packed_sequence(packed, /*batch_first=*/true, 0.0, frames));
}

}  // namespace

std::vector<RowBlock> rnn_row_blocks(const std::vector<std::int64_t>& sorted_lengths, int threads,
                                     std::int64_t min_rows) {
  const auto B = static_cast<std::int64_t>(sorted_lengths.size());
  const auto least = std::max<std::int64_t>(1, min_rows);
  const auto count = std::max<std::int64_t>(1, std::min<std::int64_t>(threads, B / least));
  std::vector<std::int64_t> frames_before(sorted_lengths.size() + 1, 0);  // frames of rows 0..j-1
  std::partial_sum(sorted_lengths.begin(), sorted_lengths.end(), frames_before.begin() + 1);
  const double total = static_cast<double>(frames_before.back());
  std::vector<RowBlock> blocks;
  std::int64_t begin = 0;
  for (std::int64_t k = 0; k < count; ++k) {
    std::int64_t end = B;
    if (k + 1 < count) {  // the first row where the frames so far reach the block's share
      const auto share = total * static_cast<double>(k + 1) / static_cast<double>(count);
      end = std::lower_bound(frames_before.begin(), frames_before.end(), share,
                             [](std::int64_t f, double v) { return static_cast<double>(f) < v; }) -
            frames_before.begin();
      end = std::clamp(end, begin + least, B - (count - 1 - k) * least);
    }
    blocks.push_back({begin, end});
    begin = end;
  }
  return blocks;
}

bool fused_rnn_applies(const torch::nn::LSTM& lstm, const Tensor& padded) {
  return options_apply(lstm->options, lstm->is_training(), padded) && lstm->options.proj_size() == 0 &&
         parameters_apply(lstm);
}
bool fused_rnn_applies(const torch::nn::GRU& gru, const Tensor& padded) {
  return options_apply(gru->options, gru->is_training(), padded) && parameters_apply(gru);
}

RnnResult run_lstm(torch::nn::LSTM& lstm, const Tensor& padded, const Tensor& lengths, RnnKernel kernel) {
  if (kernel == RnnKernel::automatic && fused_rnn_applies(lstm, padded))
    return run_fused<LstmDirection>(lstm, padded, lengths);
  auto [out, state] = lstm->forward_with_packed_input(pack(padded, lengths));
  return {unpack(out, padded.size(1)), std::get<0>(state), std::get<1>(state)};
}

RnnResult run_gru(torch::nn::GRU& gru, const Tensor& padded, const Tensor& lengths, RnnKernel kernel) {
  if (kernel == RnnKernel::automatic && fused_rnn_applies(gru, padded))
    return run_fused<GruDirection>(gru, padded, lengths);
  auto [out, h_n] = gru->forward_with_packed_input(pack(padded, lengths));
  return {unpack(out, padded.size(1)), h_n, {}};
}

}  // namespace phenoscale::nn
