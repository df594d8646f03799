// Approximate k-nearest neighbours for large N: an inverted-file index
// (IVF-Flat; Jégou, Douze & Schmid, "Product quantization for nearest
// neighbor search", IEEE TPAMI 33, 2011) on centroids of the distributed
// k-means (ml/kmeans.hpp).
//
// `lists` centroids are fitted on a deterministic sample of the rows; every
// row joins the list of its nearest centroid, and each query row searches the
// lists of its `probes` nearest centroids with exact squared Euclidean
// distances. Lists are block-distributed over ranks by list id: rows travel
// once to the owner of their list, queries to the owners of the lists they
// probe, and partial top-k lists come back to be merged. Distances are
// measured as in exact_knn (double, fixed order; ties to the lower global
// index) and centroid choices likewise, so the result depends only on the
// data, k, lists, probes and the seed — never on the rank or thread count —
// and with probes = lists it is exact_knn's result bit for bit. Cost about
// N·d·(lists + probes·N/lists) instead of N²·d.
#pragma once

#include <cstdint>
#include <string>

#include "phenoscale/ml/knn.hpp"
#include "phenoscale/ml/matrix.hpp"
#include "phenoscale/par/comm.hpp"

namespace phenoscale::ml {

struct ApproximateKnnOptions {
  std::uint64_t lists = 0;          // inverted lists (k-means centroids); 0 = round(sqrt(N))
  std::uint64_t probes = 8;         // nearest lists searched per query (at least enough for k neighbours)
  std::uint64_t seed = 0;           // k-means sample and seeding
  std::uint64_t train_rows_per_list = 64;  // k-means is fitted on about lists × this many sampled rows
  int kmeans_iterations = 10;       // Lloyd iterations of the index's k-means (one restart)
};

// What the index looked like (for logs and benchmarks).
struct ApproximateKnnStats {
  std::uint64_t lists = 0;
  std::uint64_t probes = 0;
  std::uint64_t train_rows = 0;
  std::uint64_t largest_list = 0;
  std::uint64_t distances = 0;      // query-member pairs whose distance was considered, all ranks
  // This rank's share of the work and traffic, for cost models (tests/bench/run_graph_scaling.sh).
  std::uint64_t local_rows = 0;        // query rows held by this rank
  std::uint64_t local_distances = 0;   // pairs scanned by this rank's lists
  std::uint64_t owned_list_rows = 0;   // rows in the lists this rank owns
  std::uint64_t queries_received = 0;  // (query, owner) visits this rank answered
  std::uint64_t bytes_sent = 0;        // payload of the list, query and reply all-to-alls to other ranks
  double train_seconds = 0.0;          // k-means on the sample
  double assign_seconds = 0.0;         // every row's nearest centroids
  double search_seconds = 0.0;         // scanning the owned lists
};

// Collective. Approximate Euclidean kNN of the rows of `x` (self excluded),
// in the layout of exact_knn. Requires 1 <= k < N and 1 <= probes; lists is
// clamped to N. Bad values throw ConfigError naming the knn.* key.
KnnResult approximate_knn(const ShardedMatrix& x, std::uint64_t k, const ApproximateKnnOptions& options,
                          const par::Comm& comm, ApproximateKnnStats* stats = nullptr);

// The kNN search methods of `knn.method`.
enum class KnnMethod { exact, approximate };
KnnMethod parse_knn_method(const std::string& name, const std::string& key);

}  // namespace phenoscale::ml
