// Exact vs approximate (IVF) kNN wall time and peak memory at the current rank
// count on an HDF5 feature matrix; writes /neighbours and /distances so that
// tests/bench/run_ann.sh can score recall against a brute-force reference.
//   mpirun -n 2 bench_ann FEATURES.h5 OUT.h5 k exact|approximate [probes=8] [lists=0]
#include <omp.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <string>

#include "bench_support.hpp"
#include "phenoscale/io/sample_array.hpp"
#include "phenoscale/ml/ann.hpp"
#include "phenoscale/ml/knn.hpp"
#include "phenoscale/ml/matrix.hpp"
#include "phenoscale/par/environment.hpp"

using namespace phenoscale;

namespace {
using bench::peak_rss_mib;
}  // namespace

int main(int argc, char** argv) {
  par::Environment env(argc, argv);
  const par::Comm& world = env.world();
  if (argc < 5) {
    if (world.is_root()) std::fprintf(stderr, "usage: bench_ann FEATURES.h5 OUT.h5 k exact|approximate [probes] [lists]\n");
    return 2;
  }
  const std::uint64_t k = std::strtoull(argv[3], nullptr, 10);
  const std::string method = argv[4];
  ml::ApproximateKnnOptions o;
  if (argc > 5) o.probes = std::strtoull(argv[5], nullptr, 10);
  if (argc > 6) o.lists = std::strtoull(argv[6], nullptr, 10);
  const auto x = ml::read_matrix(ml::parse_dataset_spec(argv[1]), world);
  world.barrier();
  const auto t0 = std::chrono::steady_clock::now();
  ml::ApproximateKnnStats st;
  const auto r = method == "exact" ? ml::exact_knn(x, k, world) : ml::approximate_knn(x, k, o, world, &st);
  world.barrier();
  const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  const double rss = world.allreduce_max(peak_rss_mib());
  io::H5File out = io::H5File::create(argv[2], world);
  io::write_samples(out, "/neighbours", r.neighbours, {k});
  io::write_samples(out, "/distances", r.distances, {k});
  out.commit();
  if (world.is_root()) {
    std::printf("%s N=%llu d=%llu k=%llu ranks=%d threads=%d lists=%llu probes=%llu seconds=%.3f peak_rss_mib=%.0f\n",
                method.c_str(), static_cast<unsigned long long>(x.global_rows),
                static_cast<unsigned long long>(x.cols), static_cast<unsigned long long>(k), world.size(),
                omp_get_max_threads(), static_cast<unsigned long long>(st.lists),
                static_cast<unsigned long long>(st.probes), seconds, rss);
  }
  return 0;
}
