// UMAP: fuzzy kNN graph and SGD layout. See include/phenoscale/ml/embedding.hpp.
#include <algorithm>
#include <cmath>
#include <limits>

#include "phenoscale/core/error.hpp"
#include "phenoscale/core/log.hpp"
#include "phenoscale/core/progress.hpp"
#include "phenoscale/core/rng.hpp"
#include "phenoscale/ml/embedding.hpp"

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

std::vector<double> initial_layout(const std::vector<float>& X, std::uint64_t n, std::uint64_t d,
                                   const UmapOptions& o) {
  std::vector<double> y(2 * n);
  if (o.init == EmbeddingInit::pca) {
    y = pca_scores_2d(X.data(), n, d);
    // One feature has no second component: a degenerate line would never unfold.
    for (std::uint64_t i = 0; d == 1 && i < n; ++i)
      y[2 * i + 1] = core::Rng(o.seed, core::Stream::embedding, i).uniform(-10.0, 10.0);
  } else {
    for (std::uint64_t i = 0; i < n; ++i) {
      core::Rng rng(o.seed, core::Stream::embedding, i);
      y[2 * i] = rng.uniform(-10.0, 10.0);
      y[2 * i + 1] = rng.uniform(-10.0, 10.0);
    }
  }
  // umap-learn rescales every initialisation to [0, 10] per coordinate.
  for (int c = 0; c < 2; ++c) {
    double lo = std::numeric_limits<double>::infinity(), hi = -lo;
    for (std::uint64_t i = 0; i < n; ++i) {
      lo = std::min(lo, y[2 * i + c]);
      hi = std::max(hi, y[2 * i + c]);
    }
    for (std::uint64_t i = 0; i < n; ++i) y[2 * i + c] = hi > lo ? 10.0 * (y[2 * i + c] - lo) / (hi - lo) : 0.0;
  }
  return y;
}

double clip4(double v) { return std::max(-4.0, std::min(4.0, v)); }

}  // namespace

EmbeddingResult umap(const std::vector<float>& X, std::uint64_t n, std::uint64_t d, const UmapOptions& o) {
  check_embedding_size(n, o.max_points);
  if (d == 0 || n < 3) {
    throw InputError(cat("UMAP: need at least 3 points of dimension >= 1, found N = ", n, ", d = ", d));
  }
  if (X.size() != n * d) throw InputError(cat("UMAP: X has ", X.size(), " values, expected N × d = ", n * d));
  if (o.n_neighbors < 2 || !(o.min_dist >= 0) || !(o.spread > 0) || !(o.learning_rate > 0)) {
    throw ConfigError(cat("UMAP: need n_neighbors >= 2, min_dist >= 0, spread > 0, learning_rate > 0; found ",
                          o.n_neighbors, ", ", o.min_dist, ", ", o.spread, ", ", o.learning_rate));
  }
  const std::uint64_t n_neighbors = std::min(o.n_neighbors, n);
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
  std::vector<std::uint64_t> head, tail;
  std::vector<double> per_sample;
  for (std::size_t e = 0; e < g.weight.size(); ++e) {
    if (g.weight[e] < wmax / static_cast<double>(epochs)) continue;
    head.push_back(g.head[e]);
    tail.push_back(g.tail[e]);
    per_sample.push_back(wmax / g.weight[e]);
  }
  const std::uint64_t edges = head.size();
  const double neg_rate = static_cast<double>(o.negative_samples);
  std::vector<double> next_sample = per_sample, per_negative(edges), next_negative(edges);
  for (std::uint64_t e = 0; e < edges; ++e) {
    per_negative[e] = neg_rate > 0 ? per_sample[e] / neg_rate : std::numeric_limits<double>::infinity();
    next_negative[e] = per_negative[e];
  }

  std::vector<double> y = initial_layout(X, n, d, o);
  core::Progress progress("UMAP epochs", epochs);
  for (std::uint64_t epoch = 0; epoch < epochs; ++epoch) {
    const double alpha = o.learning_rate * (1.0 - static_cast<double>(epoch) / static_cast<double>(epochs));
    const double now = static_cast<double>(epoch);
    for (std::uint64_t e = 0; e < edges; ++e) {
      if (next_sample[e] > now) continue;
      double* cur = &y[2 * head[e]];
      double* oth = &y[2 * tail[e]];
      double d2 = (cur[0] - oth[0]) * (cur[0] - oth[0]) + (cur[1] - oth[1]) * (cur[1] - oth[1]);
      if (d2 > 0) {
        // Attraction: gradient of log(1 / (1 + a d^{2b})).
        const double coeff = -2.0 * a * b * std::pow(d2, b - 1.0) / (a * std::pow(d2, b) + 1.0);
        for (int c = 0; c < 2; ++c) {
          const double gd = clip4(coeff * (cur[c] - oth[c]));
          cur[c] += gd * alpha;
          oth[c] -= gd * alpha;
        }
      }
      next_sample[e] += per_sample[e];
      if (neg_rate <= 0) continue;
      const double due = (now - next_negative[e]) / per_negative[e];
      const auto negatives = due > 0 ? static_cast<std::uint64_t>(due) : std::uint64_t{0};
      core::Rng rng(o.seed, core::Stream::embedding, n + epoch * edges + e);
      for (std::uint64_t s = 0; s < negatives; ++s) {
        const std::uint64_t k = rng.below(n);
        const double* neg = &y[2 * k];
        d2 = (cur[0] - neg[0]) * (cur[0] - neg[0]) + (cur[1] - neg[1]) * (cur[1] - neg[1]);
        if (d2 <= 0 && k == head[e]) continue;
        // Repulsion: gradient of log(1 − 1 / (1 + a d^{2b})), softened by 0.001 at d → 0.
        const double coeff = d2 > 0 ? 2.0 * b / ((0.001 + d2) * (a * std::pow(d2, b) + 1.0)) : 0.0;
        for (int c = 0; c < 2; ++c) cur[c] += (coeff > 0 ? clip4(coeff * (cur[c] - neg[c])) : 4.0) * alpha;
      }
      next_negative[e] += static_cast<double>(negatives) * per_negative[e];
    }
    progress.advance();
  }
  progress.finish();
  res.coordinates.assign(y.begin(), y.end());
  return res;
}

}  // namespace phenoscale::ml
