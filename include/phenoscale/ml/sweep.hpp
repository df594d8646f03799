// Choosing the number of clusters: a sweep over k-means' k or over the
// neighbour count K of the kNN graph behind community detection.
//
// DeepHACKS picks the neighbour count of its kNN-graph community detection by
// cluster quality, and the tomo subdivision study varies k; both need the same
// loop: cluster at each value, score the partition (silhouette, Davies–Bouldin,
// and ARI/NMI when simulated ground truth exists), pick the best. The best
// point is the highest silhouette (ties: the earlier value); partitions
// with fewer than 2 or more than N − 1 clusters have no silhouette and are
// never chosen.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "phenoscale/ml/kmeans.hpp"
#include "phenoscale/ml/knn.hpp"
#include "phenoscale/ml/louvain.hpp"
#include "phenoscale/ml/matrix.hpp"
#include "phenoscale/ml/quality.hpp"

namespace phenoscale::ml {

struct SweepPoint {
  std::int64_t parameter = 0;     // k (k-means) or K (neighbours of the kNN graph)
  std::int64_t clusters = 0;      // clusters found (non-empty)
  double silhouette = 0.0;        // NaN when undefined (fewer than 2 clusters)
  double silhouette_stderr = 0.0;
  double davies_bouldin = 0.0;    // NaN when undefined
  double objective = 0.0;         // inertia (k-means) or modularity (communities)
  double adjusted_rand_index = 0.0;  // NaN without reference labels
  double nmi = 0.0;                  // NaN without reference labels
};

struct SweepResult {
  std::vector<SweepPoint> points;
  std::size_t best = 0;                   // index into points
  std::vector<std::vector<std::int64_t>> point_labels;  // local rows, per point (another criterion may choose)
  // Local rows, per point: each row's silhouette (SilhouetteResult::local;
  // NaN outside the sample, and everywhere when the point has none).
  std::vector<std::vector<double>> point_silhouettes;

  // Local rows; a sweep over at least one value (every caller checks its grid).
  const std::vector<std::int64_t>& best_labels() const { return point_labels[best]; }

  // The point of lowest finite Davies–Bouldin index (the first of equals);
  // `best` when no point has one.
  std::size_t lowest_davies_bouldin() const;
};

// Collective. k-means at each k in `ks` (other options from `base`).
// `reference` (local rows) may be empty.
SweepResult sweep_kmeans(const ShardedMatrix& x, const std::vector<std::int64_t>& ks, const KMeansOptions& base,
                         const SilhouetteOptions& quality, const std::vector<std::int64_t>& reference,
                         const par::Comm& comm);

// Collective. Community detection on the union-symmetrised exact kNN graph
// for each neighbour count in `neighbour_counts`. The kNN search runs once,
// at the largest count (smaller ones are its prefixes), or not at all when
// `neighbours_at_max` (a result for at least the largest count) is given.
// A collective stop point (par::stop_point) follows every count: a stop
// signal ends the calling stage there (exit 75) instead of after the whole
// grid, which can outlast Slurm's warning at scale (the edge teacher). Call
// it on a communicator every rank of the job reaches it with.
SweepResult sweep_communities(const ShardedMatrix& x, const std::vector<std::int64_t>& neighbour_counts,
                              const CommunityOptions& communities, const SilhouetteOptions& quality,
                              const std::vector<std::int64_t>& reference, const par::Comm& comm,
                              const KnnResult* neighbours_at_max = nullptr);

}  // namespace phenoscale::ml
