// SLEPc eigensolve of the symmetric normalised adjacency D^-1/2 W D^-1/2 of
// the symmetrised exact kNN graph of an HDF5 feature matrix at the current
// rank count (ml/spectral.hpp): kNN + graph time, eigensolve time (operator
// assembly, components and Krylov–Schur; the components alone timed apart),
// restarts, eigenvalues. Writes the
// edge list (/edge_from, /edge_to, u < v), /eigenvalues and /eigenvectors so
// tests/bench/run_spectral.sh can run scipy's eigsh on the very same graph.
//   mpirun -n 2 bench_spectral FEATURES.h5 OUT.h5 [k=15] [eigenpairs=11]
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <string>

#include "phenoscale/io/sample_array.hpp"
#include "phenoscale/ml/graph.hpp"
#include "phenoscale/ml/knn.hpp"
#include "phenoscale/ml/matrix.hpp"
#include "phenoscale/ml/spectral.hpp"
#include "phenoscale/par/environment.hpp"

using namespace phenoscale;

int main(int argc, char** argv) {
  par::Environment env(argc, argv);
  const par::Comm& world = env.world();
  if (argc < 3) {
    if (world.is_root()) std::fprintf(stderr, "usage: bench_spectral FEATURES.h5 OUT.h5 [k] [eigenpairs]\n");
    return 2;
  }
  const std::uint64_t k = argc > 3 ? std::strtoull(argv[3], nullptr, 10) : 15;
  ml::SpectralOptions options;
  options.eigenpairs = argc > 4 ? std::strtoull(argv[4], nullptr, 10) : 11;
  const auto x = ml::read_matrix(ml::parse_dataset_spec(argv[1]), world);
  auto clock = [&world] {
    world.barrier();
    return std::chrono::steady_clock::now();
  };
  auto seconds = [](auto a, auto b) { return std::chrono::duration<double>(b - a).count(); };
  const ml::SlepcSession session(world);  // initialisation outside the timed part
  const auto t0 = clock();
  const auto graph = ml::symmetrise(ml::exact_knn(x, k, world), {}, world);
  const auto t1 = clock();
  const auto ours = ml::spectral_decomposition(graph, options, world);
  const auto t2 = clock();
  std::uint64_t components = 0;
  ml::connected_components(graph, components, world);  // the part of the eigensolve time that is not PETSc
  const auto t3 = clock();

  std::vector<std::int64_t> from, to;
  for (std::uint64_t v = 0; v < graph.local_vertices(); ++v) {
    const auto u = static_cast<std::int64_t>(graph.first_vertex + v);
    for (auto e = graph.offsets[v]; e < graph.offsets[v + 1]; ++e) {
      if (graph.targets[e] <= u) continue;
      from.push_back(u);
      to.push_back(graph.targets[e]);
    }
  }
  io::H5File out = io::H5File::create(argv[2], world);
  io::write_samples(out, "/edge_from", from, {});
  io::write_samples(out, "/edge_to", to, {});
  io::write_samples(out, "/eigenvectors", ours.vectors, {options.eigenpairs});
  out.write_attribute("/", "eigenvalues", ours.eigenvalues);
  out.commit();
  if (world.is_root()) {
    std::printf("spectral N=%llu ranks=%d knn_graph_s=%.3f eigensolve_s=%.3f components_s=%.3f restarts=%d "
                "components=%llu mu_last=%.12f\n",
                static_cast<unsigned long long>(graph.global_vertices), world.size(), seconds(t0, t1),
                seconds(t1, t2), seconds(t2, t3), ours.iterations, static_cast<unsigned long long>(ours.components),
                ours.eigenvalues.back());
  }
  return 0;
}
