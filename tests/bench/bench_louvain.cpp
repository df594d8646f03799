// Distributed Louvain and Leiden on the symmetrised exact kNN graph of an
// HDF5 feature matrix at the current rank count: kNN + graph time, Louvain
// and Leiden time and modularity (plus igraph's C multilevel in-process for
// reference). Writes /labels, /leiden_labels and the edge list (/edge_from,
// /edge_to, /edge_weight, u < v) so tests/bench/run_louvain.sh can run
// python-igraph and leidenalg on the very same graph.
//   mpirun -n 2 bench_louvain FEATURES.h5 OUT.h5 [k=15]
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <string>

#include "bench_support.hpp"
#include "phenoscale/io/sample_array.hpp"
#include "phenoscale/ml/graph.hpp"
#include "phenoscale/ml/knn.hpp"
#include "phenoscale/ml/louvain.hpp"
#include "phenoscale/ml/matrix.hpp"
#include "phenoscale/par/environment.hpp"

using namespace phenoscale;

int main(int argc, char** argv) {
  par::Environment env(argc, argv);
  const par::Comm& world = env.world();
  if (argc < 3) {
    if (world.is_root()) std::fprintf(stderr, "usage: bench_louvain FEATURES.h5 OUT.h5 [k]\n");
    return 2;
  }
  const std::uint64_t k = argc > 3 ? std::strtoull(argv[3], nullptr, 10) : 15;
  const auto x = ml::read_matrix(ml::parse_dataset_spec(argv[1]), world);
  auto clock = [&world] { return bench::barrier_clock(world); };
  const auto seconds = bench::seconds_between;
  const auto t0 = clock();
  const auto graph = ml::symmetrise(ml::exact_knn(x, k, world), {}, world);
  const auto t1 = clock();
  ml::CommunityOptions options;
  const auto ours = ml::detect_communities(graph, options, world);
  const auto t2 = clock();
  options.method = "igraph-louvain";
  const auto reference = ml::detect_communities(graph, options, world);
  const auto t3 = clock();
  options.method = "leiden";
  const auto leiden = ml::detect_communities(graph, options, world);
  const auto t4 = clock();

  // This rank's edges u < v, in global order when written in rank order.
  std::vector<std::int64_t> from, to;
  std::vector<double> weight;
  for (std::uint64_t v = 0; v < graph.local_vertices(); ++v) {
    const auto u = static_cast<std::int64_t>(graph.first_vertex + v);
    for (auto e = graph.offsets[v]; e < graph.offsets[v + 1]; ++e) {
      if (graph.targets[e] <= u) continue;
      from.push_back(u);
      to.push_back(graph.targets[e]);
      weight.push_back(graph.weights[e]);
    }
  }
  io::H5File out = io::H5File::create(argv[2], world);
  io::write_samples(out, "/labels", ours.labels, {});
  io::write_samples(out, "/leiden_labels", leiden.labels, {});
  io::write_samples(out, "/edge_from", from, {});
  io::write_samples(out, "/edge_to", to, {});
  io::write_samples(out, "/edge_weight", weight, {});
  out.write_attribute("/", "modularity", ours.modularity);
  out.commit();
  if (world.is_root()) {
    std::printf("louvain N=%llu ranks=%d knn_graph_s=%.3f louvain_s=%.3f modularity=%.6f communities=%llu "
                "levels=%d igraph_c_s=%.3f igraph_c_modularity=%.6f\n",
                static_cast<unsigned long long>(graph.global_vertices), world.size(), seconds(t0, t1),
                seconds(t1, t2), ours.modularity, static_cast<unsigned long long>(ours.count), ours.levels,
                seconds(t2, t3), reference.modularity);
    std::printf("leiden N=%llu ranks=%d leiden_s=%.3f leiden_modularity=%.6f leiden_communities=%llu "
                "leiden_levels=%d\n",
                static_cast<unsigned long long>(graph.global_vertices), world.size(), seconds(t3, t4),
                leiden.modularity, static_cast<unsigned long long>(leiden.count), leiden.levels);
  }
  return 0;
}
