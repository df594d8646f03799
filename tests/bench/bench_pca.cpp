// PCA and cluster-quality timings at the current rank count: the fit and
// transform of `ml pca` on /features (N × d) and the exact silhouette and
// Davies–Bouldin of `ml quality` on /small with /small_labels. Prints one
// line of best-of-`reps` seconds; tests/bench/run_pca.sh runs it next to
// scikit-learn on the same file and prints the table.
//   mpirun -n 2 bench_pca FILE.h5 [reps=3]
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <string>

#include "phenoscale/ml/pca.hpp"
#include "phenoscale/ml/quality.hpp"
#include "phenoscale/par/environment.hpp"

using namespace phenoscale;

namespace {

template <typename F>
double best_of(int reps, const par::Comm& comm, F&& fn) {
  double best = 1e300;
  for (int r = 0; r < reps; ++r) {
    comm.barrier();
    const auto t0 = std::chrono::steady_clock::now();
    fn();
    comm.barrier();
    best = std::min(best, std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count());
  }
  return best;
}

}  // namespace

int main(int argc, char** argv) {
  par::Environment env(argc, argv);
  const par::Comm& world = env.world();
  if (argc < 2) {
    if (world.is_root()) std::fprintf(stderr, "usage: bench_pca FILE.h5 [reps]\n");
    return 2;
  }
  const std::string path = argv[1];
  const int reps = argc > 2 ? std::atoi(argv[2]) : 3;
  const auto x = ml::read_matrix({path, "/features"}, world);
  const auto small = ml::read_matrix({path, "/small"}, world);
  const auto labels = ml::read_labels(path + ":/small_labels", small, world);

  double kept = 0.0;
  const double pca_s = best_of(reps, world, [&] {
    const auto model = ml::pca_fit(x, {15, 0.95}, world);
    const auto scores = ml::pca_transform(model, x);
    kept = 0.0;
    for (double r : model.explained_variance_ratio) kept += r;
  });
  double s = 0.0, db = 0.0;
  const double silhouette_s = best_of(reps, world, [&] { s = ml::silhouette(small, labels, {}, world).value; });
  const double db_s = best_of(reps, world, [&] { db = ml::davies_bouldin(small, labels, world); });
  if (world.is_root()) {
    std::printf("ranks %d pca_s %.6f silhouette_s %.6f davies_bouldin_s %.6f ratio_total %.10f silhouette %.10f "
                "davies_bouldin %.10f\n",
                world.size(), pca_s, silhouette_s, db_s, kept, s, db);
  }
  return 0;
}
