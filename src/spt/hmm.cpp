#include "phenoscale/spt/hmm.hpp"

#include <algorithm>
#include <cmath>
#include <limits>
#include <numeric>
#include <string>

#include "phenoscale/core/error.hpp"

namespace phenoscale::spt {
namespace {

constexpr double kTwoPi = 6.283185307179586476925286766559;
// Smallest transition / initial probability kept after an M-step: an exact 0
// would make a later observation impossible (likelihood 0) under the model.
constexpr double kProbabilityFloor = 1e-12;

void validate(const HmmOptions& o) {
  if (o.states < 1) throw ConfigError("hmm: states must be at least 1, got " + std::to_string(o.states));
  if (o.max_iter < 0) throw ConfigError("hmm: max_iter must be non-negative, got " + std::to_string(o.max_iter));
  if (!(o.tol >= 0.0)) throw ConfigError("hmm: tol must be non-negative");
  if (!(o.var_floor_rel >= 0.0) || !(o.var_floor_abs > 0.0))
    throw ConfigError("hmm: variance floors must be var_floor_rel >= 0 and var_floor_abs > 0");
  if (o.kmeans_iter < 0) throw ConfigError("hmm: kmeans_iter must be non-negative");
}

void validate(const std::vector<double>& x, const char* what) {
  if (x.empty()) throw InputError(std::string(what) + ": empty sequence");
  for (double v : x)
    if (!std::isfinite(v)) throw InputError(std::string(what) + ": sequence holds a non-finite value");
}

void validate(const GaussianHmm& m) {
  const auto k = static_cast<std::size_t>(m.states);
  if (m.states < 1 || m.means.size() != k || m.variances.size() != k || m.initial.size() != k ||
      m.transitions.size() != k * k)
    throw InputError("hmm: model arrays do not match its state count");
}

double mean_of(const std::vector<double>& x) {
  return std::accumulate(x.begin(), x.end(), 0.0) / static_cast<double>(x.size());
}

double variance_of(const std::vector<double>& x) {
  const double m = mean_of(x);
  double s = 0.0;
  for (double v : x) s += (v - m) * (v - m);
  return s / static_cast<double>(x.size());
}

// ln N(x | mean, var) for every (t, state): T × K.
std::vector<double> log_emissions(const GaussianHmm& m, const std::vector<double>& x) {
  const std::size_t k = static_cast<std::size_t>(m.states);
  std::vector<double> norm(k), inv(k);  // per-state constants, hoisted out of the T × K loop
  for (std::size_t i = 0; i < k; ++i) {
    norm[i] = -0.5 * std::log(kTwoPi * m.variances[i]);
    inv[i] = 0.5 / m.variances[i];
  }
  std::vector<double> out(x.size() * k);
  for (std::size_t t = 0; t < x.size(); ++t)
    for (std::size_t i = 0; i < k; ++i) {
      const double d = x[t] - m.means[i];
      out[t * k + i] = norm[i] - d * d * inv[i];
    }
  return out;
}

// Emissions divided by their per-step maximum (so the largest is 1), and the
// logs of those maxima: b_t(i) = exp(shift_t) · shifted[t·K + i].
void shifted_emissions(const GaussianHmm& m, const std::vector<double>& x, std::vector<double>& shifted,
                       std::vector<double>& shift) {
  const std::size_t k = static_cast<std::size_t>(m.states);
  shifted = log_emissions(m, x);
  shift.assign(x.size(), 0.0);
  for (std::size_t t = 0; t < x.size(); ++t) {
    double top = -std::numeric_limits<double>::infinity();
    for (std::size_t i = 0; i < k; ++i) top = std::max(top, shifted[t * k + i]);
    shift[t] = top;
    for (std::size_t i = 0; i < k; ++i) shifted[t * k + i] = std::exp(shifted[t * k + i] - top);
  }
}

// Scaled forward pass on pre-shifted emissions (Rabiner 1989, eqs. 91–92).
ScaledForward forward_pass(const GaussianHmm& m, const std::vector<double>& b, const std::vector<double>& shift) {
  const std::size_t k = static_cast<std::size_t>(m.states);
  const std::size_t n = shift.size();
  ScaledForward f;
  f.alpha_hat.assign(n * k, 0.0);
  f.log_scale.assign(n, 0.0);
  for (std::size_t t = 0; t < n; ++t) {
    double sum = 0.0;
    for (std::size_t j = 0; j < k; ++j) {
      double pred = 0.0;
      if (t == 0) {
        pred = m.initial[j];
      } else {
        for (std::size_t i = 0; i < k; ++i) pred += f.alpha_hat[(t - 1) * k + i] * m.transitions[i * k + j];
      }
      f.alpha_hat[t * k + j] = pred * b[t * k + j];
      sum += f.alpha_hat[t * k + j];
    }
    if (!(sum > 0.0)) {  // the model gives this observation zero probability
      f.log_likelihood = -std::numeric_limits<double>::infinity();
      return f;
    }
    for (std::size_t j = 0; j < k; ++j) f.alpha_hat[t * k + j] /= sum;
    f.log_scale[t] = std::log(sum) + shift[t];
    f.log_likelihood += f.log_scale[t];
  }
  return f;
}

// Sufficient statistics of one E-step.
struct Expectations {
  double log_likelihood = 0.0;
  std::vector<double> gamma;  // T × K posterior state probabilities
  std::vector<double> xi_sum; // K × K expected transition counts
};

Expectations expectation(const GaussianHmm& m, const std::vector<double>& x) {
  const std::size_t k = static_cast<std::size_t>(m.states);
  const std::size_t n = x.size();
  std::vector<double> b, shift;
  shifted_emissions(m, x, b, shift);
  const ScaledForward f = forward_pass(m, b, shift);
  Expectations e;
  e.log_likelihood = f.log_likelihood;
  if (!std::isfinite(f.log_likelihood)) return e;
  // Scaled backward pass: β̂_t = Σ_j A_ij b_{t+1}(j) β̂_{t+1}(j) / c_{t+1}, with
  // c_{t+1} the forward normaliser of step t+1 (on the shifted emissions).
  std::vector<double> inv_scale(n);
  for (std::size_t t = 0; t < n; ++t) inv_scale[t] = std::exp(shift[t] - f.log_scale[t]);
  std::vector<double> beta(n * k, 1.0);
  e.xi_sum.assign(k * k, 0.0);
  for (std::size_t t = n - 1; t-- > 0;) {
    for (std::size_t i = 0; i < k; ++i) {
      double s = 0.0;
      for (std::size_t j = 0; j < k; ++j) {
        const double w = m.transitions[i * k + j] * b[(t + 1) * k + j] * beta[(t + 1) * k + j] * inv_scale[t + 1];
        s += w;
        e.xi_sum[i * k + j] += f.alpha_hat[t * k + i] * w;
      }
      beta[t * k + i] = s;
    }
  }
  e.gamma.assign(n * k, 0.0);
  for (std::size_t t = 0; t < n; ++t) {
    double s = 0.0;
    for (std::size_t i = 0; i < k; ++i) s += e.gamma[t * k + i] = f.alpha_hat[t * k + i] * beta[t * k + i];
    for (std::size_t i = 0; i < k; ++i) e.gamma[t * k + i] /= s;  // exactly 1 in exact arithmetic
  }
  return e;
}

// Normalises v in place to sum 1 with every entry at least `floor`.
void normalise_with_floor(double* v, std::size_t k) {
  double s = 0.0;
  for (std::size_t i = 0; i < k; ++i) s += v[i] = std::max(v[i], kProbabilityFloor);
  for (std::size_t i = 0; i < k; ++i) v[i] /= s;
}

// M-step: the maximiser of the expected complete-data log-likelihood, with the
// variance clamped to the floor (the likelihood is unimodal in the variance,
// so the clamp is the constrained maximum). A state with no posterior mass
// keeps its previous parameters.
GaussianHmm maximisation(const GaussianHmm& old, const Expectations& e, const std::vector<double>& x,
                         double var_floor) {
  const std::size_t k = static_cast<std::size_t>(old.states);
  GaussianHmm m = old;
  for (std::size_t i = 0; i < k; ++i) m.initial[i] = e.gamma[i];
  normalise_with_floor(m.initial.data(), k);
  for (std::size_t i = 0; i < k; ++i) {
    double row = 0.0;
    for (std::size_t j = 0; j < k; ++j) row += e.xi_sum[i * k + j];
    if (row > 0.0) {
      for (std::size_t j = 0; j < k; ++j) m.transitions[i * k + j] = e.xi_sum[i * k + j] / row;
      normalise_with_floor(&m.transitions[i * k], k);
    }
    double w = 0.0, wx = 0.0;
    for (std::size_t t = 0; t < x.size(); ++t) {
      w += e.gamma[t * k + i];
      wx += e.gamma[t * k + i] * x[t];
    }
    if (!(w > 0.0)) continue;
    const double mean = wx / w;
    double wv = 0.0;
    for (std::size_t t = 0; t < x.size(); ++t) wv += e.gamma[t * k + i] * (x[t] - mean) * (x[t] - mean);
    m.means[i] = mean;
    m.variances[i] = std::max(wv / w, var_floor);
  }
  return m;
}

// Initial model from 1-D k-means: cluster means and variances, label
// transition frequencies with a +1 pseudo-count, uniform start.
GaussianHmm initial_model(const std::vector<double>& x, const HmmOptions& o, double var_floor) {
  std::vector<double> centres;
  const std::vector<std::int64_t> labels = kmeans_1d(x, o.states, o.kmeans_iter, centres);
  const std::size_t k = centres.size();
  GaussianHmm m;
  m.states = static_cast<int>(k);
  m.means = centres;
  m.variances.assign(k, 0.0);
  std::vector<double> count(k, 0.0);
  for (std::size_t t = 0; t < x.size(); ++t) {
    const auto c = static_cast<std::size_t>(labels[t]);
    count[c] += 1.0;
    m.variances[c] += (x[t] - centres[c]) * (x[t] - centres[c]);
  }
  for (std::size_t i = 0; i < k; ++i) m.variances[i] = std::max(m.variances[i] / count[i], var_floor);
  m.transitions.assign(k * k, 1.0);
  for (std::size_t t = 0; t + 1 < x.size(); ++t)
    m.transitions[static_cast<std::size_t>(labels[t]) * k + static_cast<std::size_t>(labels[t + 1])] += 1.0;
  for (std::size_t i = 0; i < k; ++i) {
    double row = 0.0;
    for (std::size_t j = 0; j < k; ++j) row += m.transitions[i * k + j];
    for (std::size_t j = 0; j < k; ++j) m.transitions[i * k + j] /= row;
  }
  m.initial.assign(k, 1.0 / static_cast<double>(k));
  return m;
}

// Renumbers states by ascending (mean, variance); returns old index of each new state.
std::vector<std::size_t> canonical_order(const GaussianHmm& m) {
  std::vector<std::size_t> order(static_cast<std::size_t>(m.states));
  std::iota(order.begin(), order.end(), std::size_t{0});
  std::stable_sort(order.begin(), order.end(), [&](std::size_t a, std::size_t b) {
    if (m.means[a] != m.means[b]) return m.means[a] < m.means[b];
    return m.variances[a] < m.variances[b];
  });
  return order;
}

GaussianHmm permuted(const GaussianHmm& m, const std::vector<std::size_t>& order) {
  const std::size_t k = order.size();
  GaussianHmm p = m;
  for (std::size_t a = 0; a < k; ++a) {
    p.means[a] = m.means[order[a]];
    p.variances[a] = m.variances[order[a]];
    p.initial[a] = m.initial[order[a]];
    for (std::size_t b = 0; b < k; ++b) p.transitions[a * k + b] = m.transitions[order[a] * k + order[b]];
  }
  return p;
}

// Quantile start indices into the distinct sorted values, made strictly
// increasing (so the k starting centres are k different data values).
std::vector<std::size_t> quantile_starts(const std::vector<double>& sorted, const std::vector<double>& distinct,
                                         std::size_t k) {
  const std::size_t n = sorted.size(), m = distinct.size();
  std::vector<std::size_t> p(k);
  for (std::size_t j = 0; j < k; ++j) {
    const auto idx = static_cast<std::size_t>((static_cast<double>(j) + 0.5) * static_cast<double>(n) /
                                              static_cast<double>(k));
    const double v = sorted[std::min(idx, n - 1)];
    p[j] = static_cast<std::size_t>(std::lower_bound(distinct.begin(), distinct.end(), v) - distinct.begin());
    if (j > 0) p[j] = std::max(p[j], p[j - 1] + 1);
  }
  p[k - 1] = std::min(p[k - 1], m - 1);
  for (std::size_t j = k - 1; j-- > 0;) p[j] = std::min(p[j], p[j + 1] - 1);
  return p;
}

// Nearest centre (ties to the lower one); centres ascending.
std::int64_t nearest(const std::vector<double>& centres, double v) {
  std::size_t best = 0;
  for (std::size_t c = 1; c < centres.size(); ++c)
    if (std::abs(v - centres[c]) < std::abs(v - centres[best])) best = c;
  return static_cast<std::int64_t>(best);
}

}  // namespace

std::vector<std::int64_t> kmeans_1d(const std::vector<double>& x, int k, int max_iter, std::vector<double>& centres) {
  validate(x, "kmeans_1d");
  if (k < 1) throw ConfigError("kmeans_1d: k must be at least 1, got " + std::to_string(k));
  std::vector<double> sorted = x;
  std::sort(sorted.begin(), sorted.end());
  std::vector<double> distinct = sorted;
  distinct.erase(std::unique(distinct.begin(), distinct.end()), distinct.end());
  const std::size_t kk = std::min(static_cast<std::size_t>(k), distinct.size());
  centres.clear();
  for (std::size_t p : quantile_starts(sorted, distinct, kk)) centres.push_back(distinct[p]);
  std::vector<std::int64_t> labels(x.size());
  for (std::size_t t = 0; t < x.size(); ++t) labels[t] = nearest(centres, x[t]);
  // Lloyd: every start centre is a data value, so no cluster starts empty; if
  // an update would empty one, the last complete clustering is kept.
  for (int it = 0; it < max_iter; ++it) {
    std::vector<double> sum(kk, 0.0), count(kk, 0.0);
    for (std::size_t t = 0; t < x.size(); ++t) {
      sum[static_cast<std::size_t>(labels[t])] += x[t];
      count[static_cast<std::size_t>(labels[t])] += 1.0;
    }
    std::vector<double> next(kk);
    for (std::size_t c = 0; c < kk; ++c) next[c] = sum[c] / count[c];
    std::vector<std::int64_t> next_labels(x.size());
    std::vector<int> used(kk, 0);
    for (std::size_t t = 0; t < x.size(); ++t) used[static_cast<std::size_t>(next_labels[t] = nearest(next, x[t]))] = 1;
    centres = next;
    if (std::find(used.begin(), used.end(), 0) != used.end()) break;
    if (next_labels == labels) break;
    labels = std::move(next_labels);
  }
  return labels;
}

ScaledForward hmm_forward(const GaussianHmm& model, const std::vector<double>& x) {
  validate(model);
  validate(x, "hmm_forward");
  std::vector<double> b, shift;
  shifted_emissions(model, x, b, shift);
  return forward_pass(model, b, shift);
}

double hmm_log_likelihood(const GaussianHmm& model, const std::vector<double>& x) {
  return hmm_forward(model, x).log_likelihood;
}

std::vector<std::int64_t> hmm_viterbi(const GaussianHmm& model, const std::vector<double>& x) {
  validate(model);
  validate(x, "hmm_viterbi");
  const std::size_t k = static_cast<std::size_t>(model.states);
  const std::size_t n = x.size();
  const std::vector<double> logb = log_emissions(model, x);
  std::vector<double> log_a(k * k);
  for (std::size_t i = 0; i < k * k; ++i) log_a[i] = std::log(model.transitions[i]);
  std::vector<double> delta(k), next(k);
  std::vector<std::size_t> back(n * k, 0);
  for (std::size_t i = 0; i < k; ++i) delta[i] = std::log(model.initial[i]) + logb[i];
  for (std::size_t t = 1; t < n; ++t) {
    for (std::size_t j = 0; j < k; ++j) {
      std::size_t arg = 0;
      double best = delta[0] + log_a[j];
      for (std::size_t i = 1; i < k; ++i) {
        const double v = delta[i] + log_a[i * k + j];
        if (v > best) {
          best = v;
          arg = i;
        }
      }
      next[j] = best + logb[t * k + j];
      back[t * k + j] = arg;
    }
    delta.swap(next);
  }
  std::vector<std::int64_t> path(n);
  std::size_t state = static_cast<std::size_t>(std::max_element(delta.begin(), delta.end()) - delta.begin());
  for (std::size_t t = n; t-- > 0;) {
    path[t] = static_cast<std::int64_t>(state);
    state = back[t * k + state];
  }
  return path;
}

HmmFit hmm_fit(const std::vector<double>& x, const HmmOptions& options) {
  validate(options);
  validate(x, "hmm_fit");
  const double var_floor = std::max(options.var_floor_abs, options.var_floor_rel * variance_of(x));
  HmmFit fit;
  GaussianHmm model = initial_model(x, options, var_floor);
  double previous = -std::numeric_limits<double>::infinity();
  for (int it = 0;; ++it) {
    const Expectations e = expectation(model, x);
    fit.log_likelihood_history.push_back(e.log_likelihood);
    if (it > 0 && e.log_likelihood - previous < options.tol * std::max(1.0, std::abs(e.log_likelihood))) {
      fit.converged = true;
      break;
    }
    if (it == options.max_iter || !std::isfinite(e.log_likelihood)) break;
    model = maximisation(model, e, x, var_floor);
    previous = e.log_likelihood;
    fit.iterations = it + 1;
  }
  fit.log_likelihood = fit.log_likelihood_history.back();
  fit.model = permuted(model, canonical_order(model));
  fit.path = hmm_viterbi(fit.model, x);
  return fit;
}

}  // namespace phenoscale::spt
