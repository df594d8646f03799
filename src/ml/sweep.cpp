#include "phenoscale/ml/sweep.hpp"

#include <algorithm>
#include <cmath>
#include <limits>
#include <set>

#include "phenoscale/core/log.hpp"
#include "phenoscale/ml/graph.hpp"
#include "phenoscale/ml/knn.hpp"
#include "phenoscale/par/agree.hpp"

namespace phenoscale::ml {
namespace {

constexpr double kUndefined = std::numeric_limits<double>::quiet_NaN();

std::int64_t count_clusters(const std::vector<std::int64_t>& labels, const par::Comm& comm) {
  // Labels of both k-means and communities are 0..n-1: the count of distinct
  // labels is one more than the largest label that occurs, if all are used.
  std::set<std::int64_t> local(labels.begin(), labels.end());
  std::int64_t largest = local.empty() ? -1 : *local.rbegin();
  largest = comm.allreduce_max(largest);
  std::vector<std::int64_t> present(largest + 1, 0);
  for (auto l : local) present[l] = 1;
  comm.allreduce_sum_inplace(present);
  std::int64_t n = 0;
  for (auto p : present) n += p > 0;
  return n;
}

// Scores one partition; silhouette and Davies–Bouldin only where defined.
// `silhouettes` receives each local row's silhouette (NaN when undefined).
SweepPoint score(const ShardedMatrix& x, std::int64_t parameter, const std::vector<std::int64_t>& labels,
                 double objective, const SilhouetteOptions& quality, const std::vector<std::int64_t>& reference,
                 const par::Comm& comm, std::vector<double>& silhouettes) {
  silhouettes.assign(x.local_rows, kUndefined);
  SweepPoint p;
  p.parameter = parameter;
  p.objective = objective;
  p.clusters = count_clusters(labels, comm);
  const bool defined = p.clusters >= 2 && static_cast<std::uint64_t>(p.clusters) < x.global_rows;
  if (defined) {
    SilhouetteResult s = silhouette(x, labels, quality, comm);
    p.silhouette = s.value;
    p.silhouette_stderr = s.standard_error;
    silhouettes = std::move(s.local);
    p.davies_bouldin = davies_bouldin(x, labels, comm, quality.distance);
  } else {
    p.silhouette = p.silhouette_stderr = p.davies_bouldin = kUndefined;
  }
  const bool have_reference = comm.allreduce_max<int>(reference.empty() ? 0 : 1) > 0;
  p.adjusted_rand_index = have_reference ? adjusted_rand_index(reference, labels, comm) : kUndefined;
  p.nmi = have_reference ? normalized_mutual_info(reference, labels, comm) : kUndefined;
  core::Log::info(core::cat("ml sweep: parameter ", parameter, ": ", p.clusters, " clusters, silhouette ",
                            p.silhouette, ", Davies-Bouldin ", p.davies_bouldin, ", objective ", objective));
  return p;
}

// The union-symmetrised graph of the k nearest neighbours; a prefix copy of
// `all` lives only while the graph is built, and none is made at all's own k.
DistGraph knn_graph(const KnnResult& all, std::uint64_t k, const par::Comm& comm) {
  if (k == all.k) return symmetrise(all, EdgeWeighting{}, comm);
  return symmetrise(nearest_prefix(all, k), EdgeWeighting{}, comm);
}

// Keeps every point's labels and silhouettes and the index of the best point so far.
void consider(SweepResult& result, SweepPoint point, std::vector<std::int64_t> labels, std::vector<double> silhouettes) {
  result.points.push_back(point);
  const SweepPoint& best = result.points[result.best];
  const bool first = result.points.size() == 1;
  const bool better = !std::isnan(point.silhouette) &&
                      (std::isnan(best.silhouette) || point.silhouette > best.silhouette);
  if (first || better) result.best = result.points.size() - 1;
  result.point_labels.push_back(std::move(labels));
  result.point_silhouettes.push_back(std::move(silhouettes));
}

}  // namespace

std::size_t SweepResult::lowest_davies_bouldin() const {
  std::size_t chosen = best;
  double lowest = std::numeric_limits<double>::infinity();
  for (std::size_t k = 0; k < points.size(); ++k)
    if (std::isfinite(points[k].davies_bouldin) && points[k].davies_bouldin < lowest) {
      lowest = points[k].davies_bouldin;
      chosen = k;
    }
  return chosen;
}

SweepResult sweep_kmeans(const ShardedMatrix& x, const std::vector<std::int64_t>& ks, const KMeansOptions& base,
                         const SilhouetteOptions& quality, const std::vector<std::int64_t>& reference,
                         const par::Comm& comm) {
  SweepResult result;
  for (const std::int64_t k : ks) {
    KMeansOptions options = base;
    options.k = k;
    KMeansResult fit = kmeans_fit(x, options, comm);
    // Scored before the labels are moved (argument evaluation order is unspecified).
    std::vector<double> silhouettes;
    const SweepPoint point = score(x, k, fit.labels, fit.inertia, quality, reference, comm, silhouettes);
    consider(result, point, std::move(fit.labels), std::move(silhouettes));
  }
  return result;
}

SweepResult sweep_communities(const ShardedMatrix& x, const std::vector<std::int64_t>& neighbour_counts,
                              const CommunityOptions& communities, const SilhouetteOptions& quality,
                              const std::vector<std::int64_t>& reference, const par::Comm& comm,
                              const KnnResult* neighbours_at_max) {
  SweepResult result;
  if (neighbour_counts.empty()) return result;
  const auto largest = static_cast<std::uint64_t>(*std::max_element(neighbour_counts.begin(), neighbour_counts.end()));
  // One search at the largest K; every smaller K is its prefix (exact: the order is strict).
  // The caller's search is used in place, not copied (at the paper's K = 2560 it is ~0.6 GB a rank).
  KnnResult searched;
  if (!neighbours_at_max)
    searched = quality.distance == Distance::nan_euclidean ? exact_knn_deduplicated(x, largest, comm, quality.distance)
                                                           : exact_knn(x, largest, comm);
  const KnnResult& all = neighbours_at_max ? *neighbours_at_max : searched;
  for (const std::int64_t k : neighbour_counts) {
    const DistGraph graph = knn_graph(all, static_cast<std::uint64_t>(k), comm);
    Communities found = detect_communities(graph, communities, comm);
    std::vector<double> silhouettes;
    const SweepPoint point = score(x, k, found.labels, found.modularity, quality, reference, comm, silhouettes);
    consider(result, point, std::move(found.labels), std::move(silhouettes));
    // Called from several stages, some of which have written files before
    // (edge student's earlier λ): the message claims only what holds for all.
    par::stop_point(comm, core::cat("the community sweep (neighbour count ", k, ")"),
                    "no output file left half-written");
  }
  return result;
}

}  // namespace phenoscale::ml
