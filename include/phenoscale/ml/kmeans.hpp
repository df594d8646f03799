// Distributed k-means (Lloyd) with k-means|| / k-means++ / random seeding.
//
// The tomo pipeline subdivides millions of subtomogram CNN feature vectors
// into k = 100 clusters ("CNN subdivision of cryo-ET subtomograms"); DeepHACKS
// clusters cell features the same way. Rows stay where io::read_samples put
// them; every rank assigns its own rows and only k×d sums and counts travel
// (one MPI_Allreduce per Lloyd iteration).
//
// Results do not depend on the rank count or the thread count, bit for bit:
//  - every random draw is core::Rng(seed', Stream::kmeans, global index), with
//    seed' derived from (seed, restart, purpose, round);
//  - a row's distances are computed by the same float32 FMA sequence whatever
//    block it falls in, so its label depends only on the row and the centres;
//  - every global sum that steers a decision (cluster sums, the k-means||
//    cost φ, k-means++ potentials, inertia) is accumulated in fixed point
//    (integers are associative), then converted to double once. Cluster sums
//    quantise each value to 2^-30 of its column's largest magnitude (exact for
//    values within a factor 128 of it); costs to 2^-62 of the largest cost.
//
// Seeding: k-means|| (Bahmani et al., VLDB 2012) — one uniformly drawn row,
// then `rounds` rounds that keep each row with probability
// min(1, ℓ d²(x, C)/φ), ℓ = oversampling·k; the candidates, weighted by the
// rows closest to them, are reduced to k centres by greedy weighted k-means++
// and weighted Lloyd, identically on every rank. k-means++ (Arthur &
// Vassilvitskii 2007) is the greedy variant with 2 + ⌊ln k⌋ trials per step
// (as scikit-learn), each draw an inverse-CDF lookup over the fixed-point
// potentials in global row order. Convergence follows scikit-learn: stop when
// the labels no longer change or Σ‖c_new − c_old‖² ≤ tol · mean per-feature
// variance.
//
// Empty clusters are re-seeded at the rows farthest from their centres
// (largest d², ties to the lowest global index; rows alone in their cluster are
// not taken). When the data have fewer than k distinct rows some clusters stay
// empty: their size is 0 and their centroid is a copy of another one.
#pragma once

#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "phenoscale/ml/matrix.hpp"
#include "phenoscale/par/comm.hpp"

namespace phenoscale::ml {

// What one restart achieved (reported through KMeansOptions::on_restart).
struct KMeansRestart {
  int restart = 0;
  double inertia = 0.0;
  int iterations = 0;
  bool converged = false;
  double seconds = 0.0;
};

struct KMeansOptions {
  std::int64_t k = 8;
  int n_init = 3;              // restarts; the one with the lowest inertia is kept
  int max_iter = 300;          // Lloyd iterations per restart
  double tol = 1e-4;           // relative: × mean per-feature variance of the data
  std::string init = "k-means||";  // "k-means||" | "k-means++" | "random"
  double oversampling = 2.0;   // k-means||: ℓ = oversampling · k expected candidates per round
  int rounds = 5;              // k-means|| sampling rounds, 1..8
  std::uint64_t seed = 0;
  // k×d row-major starting centres, used instead of `init` for a single restart.
  std::vector<double> initial_centroids = {};
  // Called on every rank after each restart (logging, progress).
  std::function<void(const KMeansRestart&)> on_restart = {};
};

struct KMeansResult {
  std::int64_t k = 0;
  std::int64_t d = 0;
  std::vector<double> centroids;          // k × d, row-major
  std::vector<std::int64_t> labels;       // one per local row
  std::vector<std::int64_t> cluster_sizes;  // k, global
  double inertia = 0.0;                   // Σ ‖x − c(x)‖² over all rows, final centroids
  int iterations = 0;                     // of the kept restart
  bool converged = false;                 // of the kept restart
  int best_restart = 0;
  int restarts_run = 0;
  std::vector<KMeansRestart> restarts;
  std::int64_t empty_clusters = 0;        // clusters of size 0 in the result
};

// Collective. Bad options (k < 1, k > N, out-of-range values) throw, on every
// rank, a CollectiveError with usage exit code whose one-line message names
// the `kmeans.*` key.
KMeansResult kmeans_fit(const ShardedMatrix& x, const KMeansOptions& options, const par::Comm& comm);

// Local (no communication). The nearest centroid of each local row (ties to
// the lowest index) — the labels kmeans_fit returns for its training rows.
// With `sq_distances`, also ‖x − c‖² in double for each row.
std::vector<std::int64_t> kmeans_predict(const ShardedMatrix& x, const std::vector<double>& centroids,
                                         std::int64_t k, std::int64_t d,
                                         std::vector<double>* sq_distances = nullptr);

}  // namespace phenoscale::ml
