// k-means fit time and inertia on an HDF5 feature matrix (I/O excluded), for
// tests/bench/run_kmeans.sh. Prints one line:
//   kmeans ranks=R threads=T fit_s=S cpu_s=C inertia=I iterations=N restarts=3
// (cpu_s: the largest per-rank CPU time of the fit, all threads)
//   bench_kmeans FILE.h5:/features K N_INIT MAX_ITER TOL [INIT] [SEED]
#include <omp.h>

#include <sys/resource.h>

#include <cstdio>
#include <cstdlib>
#include <string>

#include "phenoscale/ml/kmeans.hpp"
#include "phenoscale/ml/matrix.hpp"
#include "phenoscale/par/environment.hpp"

using namespace phenoscale;

// CPU seconds of this process (all threads): on a shared, oversubscribed
// machine the wall time measures the neighbours too, the CPU time the work.
double cpu_seconds() {
  rusage u{};
  getrusage(RUSAGE_SELF, &u);
  return double(u.ru_utime.tv_sec + u.ru_stime.tv_sec) + 1e-6 * double(u.ru_utime.tv_usec + u.ru_stime.tv_usec);
}

int main(int argc, char** argv) {
  par::Environment env(argc, argv);
  if (argc < 6) {
    if (env.world().is_root()) std::fprintf(stderr, "usage: bench_kmeans FILE.h5:/ds K N_INIT MAX_ITER TOL [INIT] [SEED]\n");
    return 2;
  }
  const par::Comm& comm = env.world();
  const ml::ShardedMatrix x = ml::read_matrix(ml::parse_dataset_spec(argv[1]), comm);
  ml::KMeansOptions opt;
  opt.k = std::atoll(argv[2]);
  opt.n_init = std::atoi(argv[3]);
  opt.max_iter = std::atoi(argv[4]);
  opt.tol = std::atof(argv[5]);
  if (argc > 6) opt.init = argv[6];
  opt.seed = argc > 7 ? std::strtoull(argv[7], nullptr, 10) : 20261122;
  comm.barrier();
  const double t0 = MPI_Wtime(), c0 = cpu_seconds();
  const ml::KMeansResult r = ml::kmeans_fit(x, opt, comm);
  const double rank_cpu_s = cpu_seconds() - c0;
  comm.barrier();
  const double fit_s = MPI_Wtime() - t0;
  const double cpu_s = comm.allreduce_max(rank_cpu_s);  // the slowest rank's CPU time
  if (comm.is_root()) {
    std::printf("kmeans ranks=%d threads=%d fit_s=%.4f cpu_s=%.4f inertia=%.10g iterations=%d restarts=%d\n", comm.size(),
                omp_get_max_threads(), fit_s, cpu_s, r.inertia, r.iterations, r.restarts_run);
    for (const auto& rs : r.restarts) {
      std::printf("  restart %d: inertia=%.10g iterations=%d %.3f s\n", rs.restart, rs.inertia, rs.iterations,
                  rs.seconds);
    }
  }
  return 0;
}
