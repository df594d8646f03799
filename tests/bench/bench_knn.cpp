// Exact kNN wall time at the current rank count (and OMP_NUM_THREADS) on an
// HDF5 feature matrix; writes /neighbours and /distances so that
// tests/bench/run_knn.sh can score them against scikit-learn's brute force.
//   mpirun -n 2 bench_knn FEATURES.h5 OUT.h5 [k=15]
#include <omp.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <string>

#include "phenoscale/io/sample_array.hpp"
#include "phenoscale/ml/knn.hpp"
#include "phenoscale/ml/matrix.hpp"
#include "phenoscale/par/environment.hpp"

using namespace phenoscale;

int main(int argc, char** argv) {
  par::Environment env(argc, argv);
  const par::Comm& world = env.world();
  if (argc < 3) {
    if (world.is_root()) std::fprintf(stderr, "usage: bench_knn FEATURES.h5 OUT.h5 [k]\n");
    return 2;
  }
  const std::uint64_t k = argc > 3 ? std::strtoull(argv[3], nullptr, 10) : 15;
  const auto x = ml::read_matrix(ml::parse_dataset_spec(argv[1]), world);
  world.barrier();
  const auto t0 = std::chrono::steady_clock::now();
  const auto r = ml::exact_knn(x, k, world);
  world.barrier();
  const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  io::H5File out = io::H5File::create(argv[2], world);
  io::write_samples(out, "/neighbours", r.neighbours, {k});
  io::write_samples(out, "/distances", r.distances, {k});
  out.commit();
  if (world.is_root()) {
    std::printf("knn N=%llu d=%llu k=%llu ranks=%d threads=%d seconds=%.3f\n",
                static_cast<unsigned long long>(x.global_rows), static_cast<unsigned long long>(x.cols),
                static_cast<unsigned long long>(k), world.size(), omp_get_max_threads(), seconds);
  }
  return 0;
}
