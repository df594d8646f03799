// Barnes–Hut t-SNE and the pieces it shares with UMAP (exact kNN, PCA
// initialisation, kNN preservation). See include/phenoscale/ml/embedding.hpp.
#include <algorithm>
#include <array>
#include <cmath>
#include <limits>
#include <numeric>
#include <utility>

#include <Eigen/Dense>

#include "phenoscale/core/error.hpp"
#include "phenoscale/core/log.hpp"
#include "phenoscale/core/progress.hpp"
#include "phenoscale/core/rng.hpp"
#include "phenoscale/core/stop_signal.hpp"
#include "phenoscale/ml/embedding.hpp"

namespace phenoscale::ml {

using core::cat;

EmbeddingInit parse_embedding_init(const std::string& text, const std::string& key) {
  if (text == "pca") return EmbeddingInit::pca;
  if (text == "random") return EmbeddingInit::random;
  if (text == "spectral") return EmbeddingInit::spectral;
  throw ConfigError(key + " = \"" + text + "\": expected \"pca\", \"random\" or \"spectral\"");
}

void check_embedding_size(std::uint64_t n, std::uint64_t max_points) {
  if (n > max_points) {
    throw ConfigError(cat("embed.max_points = ", max_points, ", but the input has ", n,
                          " points: embeddings run on one rank; subsample or raise embed.max_points"));
  }
}

namespace embedding_detail {

using RowMatrix = Eigen::Matrix<double, Eigen::Dynamic, Eigen::Dynamic, Eigen::RowMajor>;

std::vector<WeightedPair> symmetric_pairs(const Neighbours& nb, const std::vector<double>& weight,
                                          double (*combine)(double, double)) {
  const std::uint64_t n = nb.k ? nb.index.size() / nb.k : 0, k = nb.k;
  std::vector<WeightedPair> e;
  e.reserve(2 * n * k);
  for (std::uint64_t i = 0; i < n; ++i) {
    for (std::uint64_t m = 0; m < k; ++m) {
      e.push_back({i, nb.index[i * k + m], weight[i * k + m]});
      e.push_back({nb.index[i * k + m], i, weight[i * k + m]});
    }
  }
  std::sort(e.begin(), e.end(), [](const WeightedPair& a, const WeightedPair& b) {
    return a.row != b.row ? a.row < b.row : (a.col != b.col ? a.col < b.col : a.value < b.value);
  });
  std::vector<WeightedPair> out;
  for (std::size_t a = 0; a < e.size();) {
    double v = e[a].value;
    std::size_t b = a + 1;
    for (; b < e.size() && e[b].row == e[a].row && e[b].col == e[a].col; ++b) v = combine(v, e[b].value);
    out.push_back({e[a].row, e[a].col, v});
    a = b;
  }
  return out;
}

Neighbours exact_knn(const float* X, std::uint64_t n, std::uint64_t d, std::uint64_t k) {
  if (k == 0 || k >= n) throw InputError(cat("exact kNN: need 1 <= k < N, found k = ", k, ", N = ", n));
  RowMatrix A(n, d);
  for (std::uint64_t i = 0; i < n; ++i)
    for (std::uint64_t c = 0; c < d; ++c) A(i, c) = X[i * d + c];
  const Eigen::VectorXd sq = A.rowwise().squaredNorm();
  Neighbours out;
  out.k = k;
  out.index.resize(n * k);
  out.distance.resize(n * k);
  // Query blocks of about 4M distances keep the GEMM buffer near 32 MB at N = 10^5.
  const std::uint64_t block = std::max<std::uint64_t>(1, std::min<std::uint64_t>(n, (1u << 22) / n));
  RowMatrix G;
  for (std::uint64_t q0 = 0; q0 < n; q0 += block) {
    const std::uint64_t qb = std::min(block, n - q0);
    G.noalias() = A.middleRows(q0, qb) * A.transpose();
#pragma omp parallel for schedule(static)
    for (std::int64_t r = 0; r < static_cast<std::int64_t>(qb); ++r) {
      const std::uint64_t i = q0 + static_cast<std::uint64_t>(r);
      // Max-heap of (distance², index): lexicographic order sends ties to the lower index.
      std::vector<std::pair<double, std::uint64_t>> heap;
      heap.reserve(k + 1);
      for (std::uint64_t j = 0; j < n; ++j) {
        if (j == i) continue;
        const std::pair<double, std::uint64_t> cand{sq(i) + sq(j) - 2.0 * G(r, j), j};
        if (heap.size() < k) {
          heap.push_back(cand);
          std::push_heap(heap.begin(), heap.end());
        } else if (cand < heap.front()) {
          std::pop_heap(heap.begin(), heap.end());
          heap.back() = cand;
          std::push_heap(heap.begin(), heap.end());
        }
      }
      // The GEMM form cancels badly for close points: recompute the chosen ones directly.
      for (auto& h : heap) h.first = (A.row(i) - A.row(h.second)).squaredNorm();
      std::sort(heap.begin(), heap.end());
      for (std::uint64_t m = 0; m < k; ++m) {
        out.index[i * k + m] = heap[m].second;
        out.distance[i * k + m] = std::sqrt(heap[m].first);
      }
    }
  }
  return out;
}

std::vector<double> pca_scores_2d(const float* X, std::uint64_t n, std::uint64_t d) {
  return pca_scores(X, n, d, 2);  // the general helper (umap.cpp), two columns
}

std::vector<double> conditional_affinities(const std::vector<double>& sq_distances, std::uint64_t n,
                                           std::uint64_t k, double perplexity, std::vector<double>* beta_out) {
  const double target = std::log(perplexity);
  std::vector<double> P(n * k);
  if (beta_out) beta_out->assign(n, 0.0);
#pragma omp parallel for schedule(static)
  for (std::int64_t ii = 0; ii < static_cast<std::int64_t>(n); ++ii) {
    const auto i = static_cast<std::uint64_t>(ii);
    const double* D = sq_distances.data() + i * k;
    double* p = P.data() + i * k;
    // Shifting by the smallest distance leaves P and the entropy unchanged and avoids underflow.
    const double dmin = *std::min_element(D, D + k);
    double beta = 1.0, lo = 0.0, hi = std::numeric_limits<double>::infinity();
    for (int step = 0; step < 200; ++step) {
      double sum = 0.0, dsum = 0.0;
      for (std::uint64_t m = 0; m < k; ++m) {
        p[m] = std::exp(-(D[m] - dmin) * beta);
        sum += p[m];
        dsum += (D[m] - dmin) * p[m];
      }
      const double entropy = std::log(sum) + beta * dsum / sum;
      if (std::abs(entropy - target) < 1e-12) break;
      if (entropy > target) {  // too flat: sharpen
        lo = beta;
        beta = std::isinf(hi) ? beta * 2.0 : 0.5 * (beta + hi);
      } else {
        hi = beta;
        beta = 0.5 * (beta + lo);
      }
    }
    double sum = 0.0;
    for (std::uint64_t m = 0; m < k; ++m) {
      p[m] = std::exp(-(D[m] - dmin) * beta);
      sum += p[m];
    }
    for (std::uint64_t m = 0; m < k; ++m) p[m] /= sum;
    if (beta_out) (*beta_out)[i] = beta;
  }
  return P;
}

QuadTree::QuadTree(const std::vector<double>& y) : y_(y) {
  const std::uint64_t n = y.size() / 2;
  order_.resize(n);
  std::iota(order_.begin(), order_.end(), std::uint64_t{0});
  double x0 = std::numeric_limits<double>::infinity(), x1 = -x0, y0 = x0, y1 = -x0;
  for (std::uint64_t i = 0; i < n; ++i) {
    x0 = std::min(x0, y[2 * i]);
    x1 = std::max(x1, y[2 * i]);
    y0 = std::min(y0, y[2 * i + 1]);
    y1 = std::max(y1, y[2 * i + 1]);
  }
  Node root{};
  root.cx = n ? 0.5 * (x0 + x1) : 0.0;
  root.cy = n ? 0.5 * (y0 + y1) : 0.0;
  root.half = n ? 0.5 * std::max(x1 - x0, y1 - y0) * (1.0 + 1e-9) + 1e-300 : 1.0;
  root.begin = 0;
  root.end = n;
  nodes_.reserve(2 * n + 1);
  nodes_.push_back(root);
  build(0, 0);
}

void QuadTree::build(std::size_t node, int depth) {
  Node& nd = nodes_[node];
  nd.count = nd.end - nd.begin;
  for (std::uint64_t p = nd.begin; p < nd.end; ++p) {
    nd.mx += y_[2 * order_[p]];
    nd.my += y_[2 * order_[p] + 1];
  }
  if (nd.count) {
    nd.mx /= static_cast<double>(nd.count);
    nd.my /= static_cast<double>(nd.count);
  }
  // Depth 60 only stops coincident points from recursing forever; they share one leaf.
  if (nd.count <= 1 || depth >= 60) return;
  const double cx = nd.cx, cy = nd.cy, h = 0.5 * nd.half;
  const std::uint64_t begin = nd.begin, end = nd.end;
  std::array<std::vector<std::uint64_t>, 4> quad;
  for (std::uint64_t p = begin; p < end; ++p) {
    const std::uint64_t i = order_[p];
    quad[(y_[2 * i] >= cx ? 1 : 0) + (y_[2 * i + 1] >= cy ? 2 : 0)].push_back(i);
  }
  const std::size_t first = nodes_.size();
  nodes_[node].child = static_cast<std::int64_t>(first);
  std::uint64_t at = begin;
  for (int q = 0; q < 4; ++q) {
    Node c{};
    c.cx = cx + ((q & 1) ? h : -h);
    c.cy = cy + ((q & 2) ? h : -h);
    c.half = h;
    c.begin = at;
    for (auto i : quad[q]) order_[at++] = i;
    c.end = at;
    nodes_.push_back(c);
  }
  for (int q = 0; q < 4; ++q) build(first + q, depth + 1);
}

double QuadTree::repulsion(std::uint64_t i, double theta, double force[2]) const {
  const double xi = y_[2 * i], yi = y_[2 * i + 1];
  double z = 0.0, fx = 0.0, fy = 0.0;
  std::array<std::size_t, 256> stack;  // depth ≤ 60, at most 3 siblings waiting per level
  std::size_t top = 0;
  stack[top++] = 0;
  while (top) {
    const Node& nd = nodes_[stack[--top]];
    if (nd.count == 0) continue;
    if (nd.child < 0) {
      for (std::uint64_t p = nd.begin; p < nd.end; ++p) {
        const std::uint64_t j = order_[p];
        if (j == i) continue;
        const double dx = xi - y_[2 * j], dy = yi - y_[2 * j + 1];
        const double q = 1.0 / (1.0 + dx * dx + dy * dy);
        z += q;
        fx += q * q * dx;
        fy += q * q * dy;
      }
      continue;
    }
    const double dx = xi - nd.mx, dy = yi - nd.my, d2 = dx * dx + dy * dy;
    const double width = 2.0 * nd.half;
    if (width * width < theta * theta * d2) {
      const double q = 1.0 / (1.0 + d2), c = static_cast<double>(nd.count);
      z += c * q;
      fx += c * q * q * dx;
      fy += c * q * q * dy;
      continue;
    }
    for (int q = 0; q < 4; ++q) {
      const auto c = static_cast<std::size_t>(nd.child + q);
      if (nodes_[c].count) stack[top++] = c;
    }
  }
  force[0] += fx;
  force[1] += fy;
  return z;
}

}  // namespace embedding_detail

namespace {

using namespace embedding_detail;

// Symmetric joint affinities in CSR form.
struct SparseP {
  std::vector<std::uint64_t> start;  // N + 1
  std::vector<std::uint64_t> col;
  std::vector<double> value;
};

SparseP joint_affinities(const Neighbours& nb, const std::vector<double>& cond, std::uint64_t n) {
  const auto pairs = symmetric_pairs(nb, cond, [](double a, double b) { return a + b; });
  SparseP P;
  P.start.assign(n + 1, 0);
  const double norm = 2.0 * static_cast<double>(n);  // Σ of conditional P is N per direction
  for (const auto& p : pairs) {
    P.col.push_back(p.col);
    P.value.push_back(p.value / norm);
    ++P.start[p.row + 1];
  }
  for (std::uint64_t i = 0; i < n; ++i) P.start[i + 1] += P.start[i];
  return P;
}

// KL(P‖Q) with Z estimated by the tree (exact when theta = 0).
double kl_divergence(const SparseP& P, const std::vector<double>& y, double theta) {
  const std::uint64_t n = P.start.size() - 1;
  const QuadTree tree(y);
  std::vector<double> zi(n), kl(n);
#pragma omp parallel for schedule(dynamic, 64)
  for (std::int64_t ii = 0; ii < static_cast<std::int64_t>(n); ++ii) {
    const auto i = static_cast<std::uint64_t>(ii);
    double f[2] = {0.0, 0.0};
    zi[i] = tree.repulsion(i, theta, f);
    double s = 0.0;
    for (std::uint64_t e = P.start[i]; e < P.start[i + 1]; ++e) {
      const std::uint64_t j = P.col[e];
      const double dx = y[2 * i] - y[2 * j], dy = y[2 * i + 1] - y[2 * j + 1];
      const double p = P.value[e];
      if (p > 0) s += p * std::log(p * (1.0 + dx * dx + dy * dy));
    }
    kl[i] = s;
  }
  double z = 0.0, sum = 0.0;
  for (std::uint64_t i = 0; i < n; ++i) {
    z += zi[i];
    sum += kl[i];
  }
  // Σ p log(p / (q/Z)) = Σ p log(p (1 + d²)) + log Z · Σ p, and Σ p = 1.
  return sum + std::log(z);
}

void validate(std::uint64_t n, std::uint64_t d, std::size_t size, std::uint64_t max_points, const char* what) {
  check_embedding_size(n, max_points);
  if (d == 0 || n < 3) {
    throw InputError(cat(what, ": need at least 3 points of dimension >= 1, found N = ", n, ", d = ", d));
  }
  if (size != n * d) throw InputError(cat(what, ": X has ", size, " values, expected N × d = ", n * d));
}

}  // namespace

double knn_preservation(const std::vector<float>& X, std::uint64_t d, const std::vector<float>& Y,
                        std::uint64_t dy, std::uint64_t n, std::uint64_t k) {
  if (n < 2) return 1.0;
  k = std::min(k, n - 1);
  const Neighbours a = exact_knn(X.data(), n, d, k), b = exact_knn(Y.data(), n, dy, k);
  double total = 0.0;
  for (std::uint64_t i = 0; i < n; ++i) {
    std::vector<std::uint64_t> u(a.index.begin() + i * k, a.index.begin() + (i + 1) * k);
    std::vector<std::uint64_t> v(b.index.begin() + i * k, b.index.begin() + (i + 1) * k);
    std::sort(u.begin(), u.end());
    std::sort(v.begin(), v.end());
    std::vector<std::uint64_t> common;
    std::set_intersection(u.begin(), u.end(), v.begin(), v.end(), std::back_inserter(common));
    total += static_cast<double>(common.size()) / static_cast<double>(k);
  }
  return total / static_cast<double>(n);
}

EmbeddingResult tsne(const std::vector<float>& X, std::uint64_t n, std::uint64_t d, const TsneOptions& o) {
  validate(n, d, X.size(), o.max_points, "t-SNE");
  if (o.init == EmbeddingInit::spectral) {
    throw ConfigError("embed.initialisation = \"spectral\" is UMAP's initialisation; t-SNE starts from "
                      "\"pca\" or \"random\"");
  }
  if (!(o.perplexity > 0) || !(o.theta >= 0) || !(o.early_exaggeration > 0) || !(o.learning_rate >= 0)) {
    throw ConfigError(cat("t-SNE: need perplexity > 0, theta >= 0, early_exaggeration > 0, learning_rate >= 0; found ",
                          o.perplexity, ", ", o.theta, ", ", o.early_exaggeration, ", ", o.learning_rate));
  }
  const std::uint64_t k = std::min<std::uint64_t>(n - 1, static_cast<std::uint64_t>(3.0 * o.perplexity + 1.0));
  if (o.perplexity >= static_cast<double>(k)) {
    throw ConfigError(cat("embed.perplexity = ", o.perplexity, " needs more than ", o.perplexity,
                          " neighbours, but there are only ", n, " points"));
  }
  const Neighbours nb = exact_knn(X.data(), n, d, k);
  std::vector<double> sq(nb.distance.size());
  for (std::size_t m = 0; m < sq.size(); ++m) sq[m] = nb.distance[m] * nb.distance[m];
  const SparseP P = joint_affinities(nb, conditional_affinities(sq, n, k, o.perplexity), n);

  std::vector<double> y(2 * n);
  if (o.init == EmbeddingInit::pca) {
    y = pca_scores_2d(X.data(), n, d);
    double mean = 0.0, var = 0.0;
    for (std::uint64_t i = 0; i < n; ++i) mean += y[2 * i];
    mean /= static_cast<double>(n);
    for (std::uint64_t i = 0; i < n; ++i) var += (y[2 * i] - mean) * (y[2 * i] - mean);
    const double sd = std::sqrt(var / static_cast<double>(n));
    // scikit-learn's init="pca": both columns divided by the std of the first, times 1e-4.
    for (auto& v : y) v = sd > 0 ? v / sd * 1e-4 : 0.0;
    // One feature has no second component: a degenerate line would never unfold.
    for (std::uint64_t i = 0; d == 1 && i < n; ++i)
      y[2 * i + 1] = 1e-4 * core::Rng(o.seed, core::Stream::embedding, i).normal();
  } else {
    for (std::uint64_t i = 0; i < n; ++i) {
      core::Rng rng(o.seed, core::Stream::embedding, i);
      y[2 * i] = 1e-4 * rng.normal();
      y[2 * i + 1] = 1e-4 * rng.normal();
    }
  }

  EmbeddingResult res;
  res.points = n;
  res.learning_rate =
      o.learning_rate > 0 ? o.learning_rate : std::max(static_cast<double>(n) / o.early_exaggeration / 4.0, 50.0);
  std::vector<double> attr(2 * n), rep(2 * n), update(2 * n, 0.0), gains(2 * n, 1.0), zi(n);
  core::Progress progress("t-SNE iterations", o.iterations, 1, o.progress_interval_s);
  std::uint64_t it = 0;
  for (; it < o.iterations; ++it) {
    if (core::StopSignal::received() != 0) break;  // see EmbeddingResult::iterations
    const bool exploring = it < o.exaggeration_iterations;
    if (it == o.exaggeration_iterations) {
      // scikit-learn restarts its optimiser for the second phase: fresh momentum and gains.
      std::fill(update.begin(), update.end(), 0.0);
      std::fill(gains.begin(), gains.end(), 1.0);
    }
    const double exaggeration = exploring ? o.early_exaggeration : 1.0;
    const double momentum = exploring ? 0.5 : 0.8;
    const QuadTree tree(y);
    // Each point's sums are its own (no shared accumulators), so the result
    // does not depend on the number of threads or the schedule.
#pragma omp parallel for schedule(dynamic, 64)
    for (std::int64_t ii = 0; ii < static_cast<std::int64_t>(n); ++ii) {
      const auto i = static_cast<std::uint64_t>(ii);
      double f[2] = {0.0, 0.0};
      zi[i] = tree.repulsion(i, o.theta, f);
      rep[2 * i] = f[0];
      rep[2 * i + 1] = f[1];
      double ax = 0.0, ay = 0.0;
      for (std::uint64_t e = P.start[i]; e < P.start[i + 1]; ++e) {
        const std::uint64_t j = P.col[e];
        const double dx = y[2 * i] - y[2 * j], dy = y[2 * i + 1] - y[2 * j + 1];
        const double pq = P.value[e] / (1.0 + dx * dx + dy * dy);
        ax += pq * dx;
        ay += pq * dy;
      }
      attr[2 * i] = ax;
      attr[2 * i + 1] = ay;
    }
    double z = 0.0;
    for (std::uint64_t i = 0; i < n; ++i) z += zi[i];
    for (std::uint64_t c = 0; c < 2 * n; ++c) {
      const double g = 4.0 * (exaggeration * attr[c] - rep[c] / z);
      // Delta-bar-delta gains (Jacobs 1988) as in van der Maaten's and scikit-learn's optimiser.
      gains[c] = update[c] * g < 0.0 ? gains[c] + 0.2 : std::max(gains[c] * 0.8, 0.01);
      update[c] = momentum * update[c] - res.learning_rate * gains[c] * g;
      y[c] += update[c];
    }
    if ((it + 1) % 50 == 0 || it + 1 == o.iterations) res.kl_history.push_back(kl_divergence(P, y, o.theta));
    progress.advance();
  }
  progress.finish();
  res.iterations = it;
  if (it < o.iterations) return res;  // stopped: no layout (EmbeddingResult::iterations)
  res.kl_divergence = res.kl_history.empty() ? kl_divergence(P, y, o.theta) : res.kl_history.back();
  res.coordinates.assign(y.begin(), y.end());
  return res;
}

}  // namespace phenoscale::ml
