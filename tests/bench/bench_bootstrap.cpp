// Cell-level bootstrap (DeepHACKS drug statistics): wall time of the cell
// table reduction plus R replicates and all intervals/p-values/effect sizes at
// the current rank count, best of `repeats`. tests/bench/run_bootstrap.sh runs
// it at 1 and 2 ranks next to a vectorised NumPy bootstrap of the same statistic.
//   mpirun -n 2 bench_bootstrap FILE.h5 [replicates=10000] [repeats=5]
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <string>

#include "phenoscale/ml/bootstrap.hpp"
#include "phenoscale/par/environment.hpp"

using namespace phenoscale;

int main(int argc, char** argv) {
  par::Environment env(argc, argv);
  const par::Comm& world = env.world();
  if (argc < 2) {
    if (world.is_root()) std::fprintf(stderr, "usage: bench_bootstrap FILE.h5 [replicates] [repeats]\n");
    return 2;
  }
  ml::BootstrapOptions options;
  options.replicates = argc > 2 ? std::strtoull(argv[2], nullptr, 10) : 10000;
  options.seed = 20261122;
  const int repeats = argc > 3 ? std::atoi(argv[3]) : 5;
  const auto obs = ml::read_observations(argv[1], "/labels", "/cells", "/conditions", world);
  double best = 1e300, checksum = 0;
  ml::CellTable table;
  for (int rep = 0; rep < repeats; ++rep) {
    world.barrier();
    const auto t0 = std::chrono::steady_clock::now();
    table = ml::build_cell_table(obs, 0, world);
    const auto res = ml::bootstrap(table, options, world);
    world.barrier();
    best = std::min(best, std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count());
    checksum = res.p_greater[0] + res.ci_bca[0];
  }
  if (world.is_root()) {
    std::printf("phenoscale np=%d  %llu cells  %zu conditions  %llu clusters  R=%llu  %.4f s  (checksum %.6g)\n",
                world.size(), static_cast<unsigned long long>(table.cells()), table.conditions.size(),
                static_cast<unsigned long long>(table.clusters),
                static_cast<unsigned long long>(options.replicates), best, checksum);
  }
  return 0;
}
