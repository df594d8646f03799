// UMAP: fuzzy kNN graph and SGD layout. See include/phenoscale/ml/embedding.hpp.
#include <algorithm>
#include <cmath>
#include <limits>

#include <Eigen/Dense>

#include "phenoscale/core/error.hpp"
#include "phenoscale/core/log.hpp"
#include "phenoscale/core/progress.hpp"
#include "phenoscale/core/rng.hpp"
#include "phenoscale/core/stop_signal.hpp"
#include "phenoscale/ml/embedding.hpp"
#include "phenoscale/ml/spectral.hpp"

namespace phenoscale::ml {

using core::cat;

namespace embedding_detail {

void fit_ab(double min_dist, double spread, double& a, double& b) {
  constexpr int m = 300;
  std::vector<double> x(m), t(m);
  for (int s = 0; s < m; ++s) {
    x[s] = 3.0 * spread * s / (m - 1);
    t[s] = x[s] < min_dist ? 1.0 : std::exp(-(x[s] - min_dist) / spread);
  }
  // Levenberg–Marquardt on the two parameters (what scipy's curve_fit runs).
  auto residual = [&](double pa, double pb) {
    double r = 0.0;
    for (int s = 0; s < m; ++s) {
      const double e = 1.0 / (1.0 + pa * std::pow(x[s], 2.0 * pb)) - t[s];
      r += e * e;
    }
    return r;
  };
  a = 1.0;
  b = 1.0;
  double lambda = 1e-3, cost = residual(a, b);
  for (int it = 0; it < 500; ++it) {
    double jaa = 0, jab = 0, jbb = 0, ga = 0, gb = 0;
    for (int s = 0; s < m; ++s) {
      if (x[s] <= 0) continue;  // f = 1 and both derivatives vanish at x = 0
      const double u = std::pow(x[s], 2.0 * b), den = 1.0 + a * u;
      const double f = 1.0 / den, e = f - t[s];
      const double da = -u / (den * den), db = -a * u * 2.0 * std::log(x[s]) / (den * den);
      jaa += da * da;
      jab += da * db;
      jbb += db * db;
      ga += da * e;
      gb += db * e;
    }
    bool improved = false;
    while (lambda < 1e12) {
      const double haa = jaa * (1 + lambda), hbb = jbb * (1 + lambda), det = haa * hbb - jab * jab;
      const double sa = -(hbb * ga - jab * gb) / det, sb = -(haa * gb - jab * ga) / det;
      const double na = a + sa, nb = b + sb;
      const double c = (na > 0 && nb > 0) ? residual(na, nb) : std::numeric_limits<double>::infinity();
      if (c < cost) {
        const bool converged = cost - c < 1e-15 * cost;
        a = na;
        b = nb;
        cost = c;
        lambda = std::max(lambda / 10, 1e-12);
        improved = !converged;
        break;
      }
      lambda *= 10;
    }
    if (!improved) break;
  }
}

std::vector<double> pca_scores(const float* X, std::uint64_t n, std::uint64_t d, std::uint64_t components) {
  // The same arithmetic as pca_scores_2d, column for column, so that UMAP's
  // two-dimensional initialisation did not change when it moved here.
  Eigen::VectorXd mean = Eigen::VectorXd::Zero(d);
  for (std::uint64_t i = 0; i < n; ++i)
    for (std::uint64_t c = 0; c < d; ++c) mean(c) += X[i * d + c];
  mean /= static_cast<double>(n);
  Eigen::MatrixXd cov = Eigen::MatrixXd::Zero(d, d);
  Eigen::VectorXd row(d);
  for (std::uint64_t i = 0; i < n; ++i) {
    for (std::uint64_t c = 0; c < d; ++c) row(c) = X[i * d + c] - mean(c);
    cov.selfadjointView<Eigen::Lower>().rankUpdate(row);
  }
  cov = cov.selfadjointView<Eigen::Lower>();
  Eigen::SelfAdjointEigenSolver<Eigen::MatrixXd> eig(cov);
  std::vector<double> scores(components * n, 0.0);
  for (std::uint64_t pc = 0; pc < std::min(components, d); ++pc) {
    Eigen::VectorXd v = eig.eigenvectors().col(static_cast<Eigen::Index>(d - 1 - pc));
    Eigen::Index big = 0;
    for (Eigen::Index c = 1; c < v.size(); ++c)
      if (std::abs(v(c)) > std::abs(v(big))) big = c;
    if (v(big) < 0) v = -v;  // scikit-learn ≥ 1.5's sign: largest loading positive
    for (std::uint64_t i = 0; i < n; ++i) {
      double s = 0.0;
      for (std::uint64_t c = 0; c < d; ++c) s += (X[i * d + c] - mean(c)) * v(c);
      scores[components * i + pc] = s;
    }
  }
  return scores;
}

}  // namespace embedding_detail

namespace {

using namespace embedding_detail;

struct Graph {
  std::vector<std::uint64_t> head, tail;
  std::vector<double> weight;
};

// Smooth kNN distances and fuzzy union (McInnes et al. 2018, §3.1, algorithms 2–3).
Graph fuzzy_graph(const Neighbours& nb, std::uint64_t n, std::uint64_t n_neighbors) {
  const std::uint64_t k = nb.k;
  const double target = std::log2(static_cast<double>(n_neighbors));
  double global_mean = 0.0;
  for (double v : nb.distance) global_mean += v;
  global_mean /= static_cast<double>(nb.distance.size());
  std::vector<double> rho(n, 0.0), sigma(n, 1.0);
#pragma omp parallel for schedule(static)
  for (std::int64_t ii = 0; ii < static_cast<std::int64_t>(n); ++ii) {
    const auto i = static_cast<std::uint64_t>(ii);
    const double* D = nb.distance.data() + i * k;
    for (std::uint64_t m = 0; m < k; ++m)
      if (D[m] > 0) {
        rho[i] = D[m];
        break;
      }
    double lo = 0.0, hi = std::numeric_limits<double>::infinity(), mid = 1.0;
    for (int step = 0; step < 200; ++step) {
      double psum = 0.0;
      for (std::uint64_t m = 0; m < k; ++m) {
        const double excess = D[m] - rho[i];
        psum += excess > 0 ? std::exp(-excess / mid) : 1.0;
      }
      if (std::abs(psum - target) < 1e-10) break;
      if (psum > target) {
        hi = mid;
        mid = 0.5 * (lo + hi);
      } else {
        lo = mid;
        mid = std::isinf(hi) ? mid * 2.0 : 0.5 * (lo + hi);
      }
    }
    // umap-learn's floor keeps σ from collapsing when all neighbours sit at ρ.
    double mean = 0.0;
    for (std::uint64_t m = 0; m < k; ++m) mean += D[m];
    mean /= static_cast<double>(k);
    sigma[i] = std::max(mid, 1e-3 * (rho[i] > 0 ? mean : global_mean));
  }
  std::vector<double> w(n * k);
  for (std::uint64_t i = 0; i < n; ++i) {
    for (std::uint64_t m = 0; m < k; ++m) {
      const double excess = nb.distance[i * k + m] - rho[i];
      w[i * k + m] = excess > 0 ? std::exp(-excess / sigma[i]) : 1.0;
    }
  }
  // Probabilistic t-conorm a + b − ab: the union of the two directed memberships.
  const auto pairs = symmetric_pairs(nb, w, [](double a, double b) { return a + b - a * b; });
  Graph g;
  for (const auto& p : pairs) {
    g.head.push_back(p.row);
    g.tail.push_back(p.col);
    g.weight.push_back(p.value);
  }
  return g;
}

// umap-learn's spectral_layout: eigenvectors 2 … dim + 1 of the normalised
// Laplacian of the (pruned) fuzzy graph, i.e. of D^-1/2 W D^-1/2, unscaled.
// The graph's pairs are sorted by (head, tail), so they are its CSR rows.
std::vector<double> spectral_layout(const Graph& g, double min_weight, std::uint64_t n, std::uint64_t dim,
                                    std::uint64_t seed) {
  DistGraph csr;
  csr.global_vertices = n;
  csr.offsets.assign(n + 1, 0);
  for (std::size_t e = 0; e < g.weight.size(); ++e) {
    if (g.weight[e] < min_weight) continue;
    ++csr.offsets[g.head[e] + 1];
    csr.targets.push_back(static_cast<std::int64_t>(g.tail[e]));
    csr.weights.push_back(g.weight[e]);
  }
  for (std::uint64_t i = 0; i < n; ++i) csr.offsets[i + 1] += csr.offsets[i];
  SpectralOptions so;
  so.eigenpairs = std::min(n, dim + 1);
  so.seed = seed;
  const par::Comm self(MPI_COMM_SELF);
  const SpectralDecomposition s = spectral_decomposition(csr, so, self);
  std::vector<double> y(dim * n, 0.0);
  for (std::uint64_t i = 0; i < n; ++i) {
    for (std::uint64_t c = 0; c + 1 < so.eigenpairs; ++c) y[dim * i + c] = s.vectors[i * so.eigenpairs + c + 1];
  }
  if (s.components > 1) {
    core::Log::warn(cat("UMAP spectral initialisation: the fuzzy graph has ", s.components,
                        " connected components; the leading eigenvectors are their indicators"));
  }
  return y;
}

std::vector<double> initial_layout(const std::vector<float>& X, std::uint64_t n, std::uint64_t d,
                                   const UmapOptions& o, const Graph& g, double min_weight) {
  const std::uint64_t dim = o.n_components;
  std::vector<double> y(dim * n);
  if (o.init == EmbeddingInit::spectral) {
    y = spectral_layout(g, min_weight, n, dim, o.seed);
  } else if (o.init == EmbeddingInit::pca) {
    y = pca_scores(X.data(), n, d, dim);
    // Fewer features than output dimensions leave components without a
    // principal axis: a degenerate layout would never unfold, so those are
    // drawn at random (for d = 1 in 2-D, the draw UMAP always made).
    for (std::uint64_t i = 0; d < dim && i < n; ++i) {
      core::Rng rng(o.seed, core::Stream::embedding, i);
      for (std::uint64_t c = d; c < dim; ++c) y[dim * i + c] = rng.uniform(-10.0, 10.0);
    }
  } else {
    for (std::uint64_t i = 0; i < n; ++i) {
      core::Rng rng(o.seed, core::Stream::embedding, i);
      for (std::uint64_t c = 0; c < dim; ++c) y[dim * i + c] = rng.uniform(-10.0, 10.0);
    }
  }
  // umap-learn rescales every initialisation to [0, 10] per coordinate.
  for (std::uint64_t c = 0; c < dim; ++c) {
    double lo = std::numeric_limits<double>::infinity(), hi = -lo;
    for (std::uint64_t i = 0; i < n; ++i) {
      lo = std::min(lo, y[dim * i + c]);
      hi = std::max(hi, y[dim * i + c]);
    }
    for (std::uint64_t i = 0; i < n; ++i)
      y[dim * i + c] = hi > lo ? 10.0 * (y[dim * i + c] - lo) / (hi - lo) : 0.0;
  }
  return y;
}

double clip4(double v) { return std::max(-4.0, std::min(4.0, v)); }

// Squared distance of two embedded points, summed from coordinate 0 up (in
// 2-D exactly the (Δ0)² + (Δ1)² the layout always computed).
double squared_distance(const double* p, const double* q, std::uint64_t dim) {
  double s = 0.0;
  for (std::uint64_t c = 0; c < dim; ++c) s += (p[c] - q[c]) * (p[c] - q[c]);
  return s;
}

// Which edges the SGD samples and how often (McInnes et al. 2018, appendix):
// edge e is sampled every per_sample[e] epochs, with a negative sample every
// per_negative[e] epochs.
struct Schedule {
  std::vector<std::uint64_t> head, tail;
  std::vector<double> per_sample, per_negative;
};

// The SGD on the layout y (N × dim). Fixed > 0 makes the dimension a
// compile-time constant, so that the common 2-D and 3-D layouts run as fast
// as dedicated code (the loops over coordinates unroll); Fixed = 0 takes
// `runtime_dim`. The arithmetic, and so every coordinate, is the same either way.
template <std::uint64_t Fixed>
std::uint64_t optimise_layout(std::vector<double>& y, std::uint64_t runtime_dim, std::uint64_t n, const Schedule& s,
                     std::uint64_t epochs, double a, double b, const UmapOptions& o) {
  const std::uint64_t dim = Fixed > 0 ? Fixed : runtime_dim;
  const std::uint64_t edges = s.head.size();
  const double neg_rate = static_cast<double>(o.negative_samples);
  std::vector<double> next_sample = s.per_sample, next_negative = s.per_negative;
  core::Progress progress("UMAP epochs", epochs, 1, o.progress_interval_s);
  std::uint64_t epoch = 0;
  for (; epoch < epochs; ++epoch) {
    if (core::StopSignal::received() != 0) break;  // see EmbeddingResult::iterations
    const double alpha = o.learning_rate * (1.0 - static_cast<double>(epoch) / static_cast<double>(epochs));
    const double now = static_cast<double>(epoch);
    for (std::uint64_t e = 0; e < edges; ++e) {
      if (next_sample[e] > now) continue;
      double* cur = &y[dim * s.head[e]];
      double* oth = &y[dim * s.tail[e]];
      double d2 = squared_distance(cur, oth, dim);
      if (d2 > 0) {
        // Attraction: gradient of log(1 / (1 + a d^{2b})).
        const double coeff = -2.0 * a * b * std::pow(d2, b - 1.0) / (a * std::pow(d2, b) + 1.0);
        for (std::uint64_t c = 0; c < dim; ++c) {
          const double gd = clip4(coeff * (cur[c] - oth[c]));
          cur[c] += gd * alpha;
          oth[c] -= gd * alpha;
        }
      }
      next_sample[e] += s.per_sample[e];
      if (neg_rate <= 0) continue;
      const double due = (now - next_negative[e]) / s.per_negative[e];
      const auto negatives = due > 0 ? static_cast<std::uint64_t>(due) : std::uint64_t{0};
      core::Rng rng(o.seed, core::Stream::embedding, n + epoch * edges + e);
      for (std::uint64_t r = 0; r < negatives; ++r) {
        const std::uint64_t k = rng.below(n);
        const double* neg = &y[dim * k];
        d2 = squared_distance(cur, neg, dim);
        if (d2 <= 0 && k == s.head[e]) continue;
        // Repulsion: gradient of log(1 − 1 / (1 + a d^{2b})), softened by 0.001 at d → 0.
        const double coeff = d2 > 0 ? 2.0 * b / ((0.001 + d2) * (a * std::pow(d2, b) + 1.0)) : 0.0;
        for (std::uint64_t c = 0; c < dim; ++c)
          cur[c] += (coeff > 0 ? clip4(coeff * (cur[c] - neg[c])) : 4.0) * alpha;
      }
      next_negative[e] += static_cast<double>(negatives) * s.per_negative[e];
    }
    progress.advance();
  }
  progress.finish();
  return epoch;
}

}  // namespace

EmbeddingResult umap(const std::vector<float>& X, std::uint64_t n, std::uint64_t d, const UmapOptions& o) {
  check_embedding_size(n, o.max_points);
  if (d == 0 || n < 3) {
    throw InputError(cat("UMAP: need at least 3 points of dimension >= 1, found N = ", n, ", d = ", d));
  }
  if (X.size() != n * d) throw InputError(cat("UMAP: X has ", X.size(), " values, expected N × d = ", n * d));
  if (o.n_components < 1 || o.n_neighbors < 2 || !(o.min_dist >= 0) || !(o.spread > 0) || !(o.learning_rate > 0)) {
    throw ConfigError(cat("UMAP: need n_components >= 1, n_neighbors >= 2, min_dist >= 0, spread > 0, "
                          "learning_rate > 0; found ",
                          o.n_components, ", ", o.n_neighbors, ", ", o.min_dist, ", ", o.spread, ", ",
                          o.learning_rate));
  }
  const std::uint64_t dim = o.n_components;
  const std::uint64_t n_neighbors = std::min(o.n_neighbors, n);
  if (o.n_neighbors > n)  // umap-learn truncates likewise, and warns
    core::Log::warn(cat("UMAP: n_neighbors = ", o.n_neighbors, " is more than the ", n, " points; using ", n,
                        " (every point is a neighbour of every other)"));
  const Neighbours nb = exact_knn(X.data(), n, d, n_neighbors - 1);
  Graph g = fuzzy_graph(nb, n, n_neighbors);
  const std::uint64_t epochs = o.epochs ? o.epochs : (n > 10000 ? 200 : 500);

  EmbeddingResult res;
  res.points = n;
  res.iterations = epochs;
  res.learning_rate = o.learning_rate;
  fit_ab(o.min_dist, o.spread, res.a, res.b);
  const double a = res.a, b = res.b;

  // Edges too weak to be sampled once in `epochs` are dropped (as umap-learn does).
  const double wmax = *std::max_element(g.weight.begin(), g.weight.end());
  Schedule sched;
  for (std::size_t e = 0; e < g.weight.size(); ++e) {
    if (g.weight[e] < wmax / static_cast<double>(epochs)) continue;
    sched.head.push_back(g.head[e]);
    sched.tail.push_back(g.tail[e]);
    sched.per_sample.push_back(wmax / g.weight[e]);
  }
  const double neg_rate = static_cast<double>(o.negative_samples);
  sched.per_negative.resize(sched.head.size());
  for (std::size_t e = 0; e < sched.head.size(); ++e)
    sched.per_negative[e] = neg_rate > 0 ? sched.per_sample[e] / neg_rate : std::numeric_limits<double>::infinity();

  std::vector<double> y = initial_layout(X, n, d, o, g, wmax / static_cast<double>(epochs));
  switch (dim) {
    case 2: res.iterations = optimise_layout<2>(y, dim, n, sched, epochs, a, b, o); break;
    case 3: res.iterations = optimise_layout<3>(y, dim, n, sched, epochs, a, b, o); break;
    default: res.iterations = optimise_layout<0>(y, dim, n, sched, epochs, a, b, o); break;
  }
  if (res.iterations < epochs) return res;  // stopped: no layout (EmbeddingResult::iterations)
  res.coordinates.assign(y.begin(), y.end());
  return res;
}

}  // namespace phenoscale::ml
