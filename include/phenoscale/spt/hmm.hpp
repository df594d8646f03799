// Gaussian hidden Markov model on a 1-D sequence — the step-length HMM of the
// DeepSPT fingerprint (Kæstel-Hansen et al. 2024; docs/methods.md §2.3: "4-state
// Gaussian HMM on step lengths → fraction of time and mean dwell time per
// state").
//
// Fitting is Baum–Welch (EM) with the scaled forward–backward recursions of
// Rabiner (1989, §V.A): each forward vector is normalised to sum 1 and the
// backward vector of the same step is divided by the same factor, so that
// sequences of any length neither underflow nor overflow; the log-likelihood is
// the sum of the logs of the normalisers. Emission densities are evaluated in
// log space and shifted by their per-step maximum before exponentiation, so an
// outlier that is improbable under every state does not zero a step. Viterbi
// runs entirely in log space.
//
// Initialisation is deterministic and needs no random numbers: a 1-D k-means
// (Lloyd) started from the sorted-data quantiles (j + ½)/K — in one dimension
// these already split the data into K contiguous, equally populated ranges,
// which is what k-means++ seeding approximates in general. (ml/kmeans.hpp is
// the distributed, collective engine for N × d feature matrices; calling a
// collective per track, on the rank that owns it, would be wrong, and its
// machinery buys nothing for a few hundred scalars.) Means and variances come
// from the k-means clusters, the transition matrix from the cluster-label
// transitions (+1 pseudo-count per cell), the initial distribution is uniform.
//
// Canonical output: after fitting, states are renumbered by ascending mean
// (ties by variance), so state 0 is the slowest step-length regime; the
// Viterbi path uses the same numbering.
//
// Short or degenerate input: the model uses K' = min(K, number of distinct
// values) states (reported as `states`) — a state needs at least one distinct
// value to stand for; a constant sequence is a 1-state model. An empty sequence
// or a non-finite value throws InputError.
#pragma once

#include <cstdint>
#include <vector>

namespace phenoscale::spt {

struct HmmOptions {
  int states = 4;            // K
  // Baum–Welch stops after max_iter M-steps or when the log-likelihood gains
  // less than tol · max(1, |ℓ|). Four states fitted to step lengths with fewer
  // real regimes converge slowly (flat likelihood): on 600 such steps tol 1e-6
  // takes ≈ 180 iterations, ≈ 9 ms, and its Viterbi path differs from a
  // 2000-iteration fit in ≈ 3 % of steps (tol 1e-4: 32 iterations, 13 %).
  int max_iter = 200;
  double tol = 1e-6;
  // Variance floor: max(var_floor_abs, var_floor_rel · variance of the data);
  // keeps a state that collapses onto one value from a singular likelihood.
  double var_floor_rel = 1e-4;
  double var_floor_abs = 1e-12;
  int kmeans_iter = 100;     // Lloyd iterations of the initialisation
};

// A Gaussian HMM with K states.
struct GaussianHmm {
  int states = 0;
  std::vector<double> means;        // K
  std::vector<double> variances;    // K
  std::vector<double> transitions;  // K × K row-major: P(s_{t+1} = j | s_t = i) at [i·K + j]
  std::vector<double> initial;      // K: P(s_0 = i)
};

struct HmmFit {
  GaussianHmm model;
  double log_likelihood = 0.0;          // ln p(x | model) of the returned model
  int iterations = 0;                   // M-steps performed
  bool converged = false;               // stopped on tol rather than max_iter
  std::vector<double> log_likelihood_history;  // ℓ before each M-step, then of the returned model
  std::vector<std::int64_t> path;       // Viterbi state per element of x
};

// Fits K' = min(options.states, distinct values of x) states to x by
// Baum–Welch, orders them by mean and decodes the Viterbi path.
// Throws ConfigError on bad options, InputError on empty or non-finite x.
HmmFit hmm_fit(const std::vector<double>& x, const HmmOptions& options = {});

// ln p(x | model) by the scaled forward recursion.
double hmm_log_likelihood(const GaussianHmm& model, const std::vector<double>& x);

// Scaled forward variables (T × K, each row sums to 1) and ln p(x | model);
// exposed so tests can compare with the unscaled recursion.
struct ScaledForward {
  std::vector<double> alpha_hat;  // T × K
  std::vector<double> log_scale;  // T: ln of the normaliser of step t (incl. the emission shift)
  double log_likelihood = 0.0;
};
ScaledForward hmm_forward(const GaussianHmm& model, const std::vector<double>& x);

// Most probable state sequence (Viterbi, log space; ties to the lower state).
std::vector<std::int64_t> hmm_viterbi(const GaussianHmm& model, const std::vector<double>& x);

// Deterministic 1-D k-means from quantile starts; returns labels (per element)
// and fills `centres` (ascending). Uses min(k, distinct values) clusters.
std::vector<std::int64_t> kmeans_1d(const std::vector<double>& x, int k, int max_iter, std::vector<double>& centres);

}  // namespace phenoscale::spt
