// par::Comm's v-collectives against MPI's own (the peer: MPI_Alltoallv and
// MPI_Allgatherv called directly on the same data), and one size that MPI's
// int counts cannot express at all (docs/performance.md, "par/").
//
// Comm::alltoallv(buckets) sends point-to-point from the buckets (no flat
// copy); Comm::allgatherv calls MPI_Allgatherv while the total fits 1 GiB and
// broadcasts each rank's block in 1 GiB pieces above it (forced here with a
// 64 MiB message size on the largest ordinary size).
//   mpirun -n P bench_collectives [large_elements=2164260864]
#include <mpi.h>

#include <algorithm>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <numeric>
#include <string>
#include <vector>

#include "bench_support.hpp"
#include "phenoscale/par/comm.hpp"
#include "phenoscale/par/environment.hpp"

using namespace phenoscale;

namespace {

// Median seconds of `reps` timed calls of f (each between barriers).
template <typename F>
double median_seconds(const par::Comm& comm, int reps, F&& f) {
  std::vector<double> s;
  for (int i = 0; i < reps; ++i) {
    const auto a = bench::barrier_clock(comm);
    f();
    s.push_back(bench::seconds_between(a, bench::barrier_clock(comm)));
  }
  std::sort(s.begin(), s.end());
  return s[s.size() / 2];
}

// MPI_Alltoallv on a flat buffer of `n` doubles per peer (the peer run).
std::vector<double> mpi_alltoallv(const std::vector<double>& flat, int n, const par::Comm& comm) {
  const int p = comm.size();
  std::vector<int> counts(p, n), displs(p);
  for (int r = 0; r < p; ++r) displs[r] = r * n;
  std::vector<double> out(flat.size());
  MPI_Alltoallv(flat.data(), counts.data(), displs.data(), MPI_DOUBLE, out.data(), counts.data(), displs.data(),
                MPI_DOUBLE, comm.raw());
  return out;
}

std::vector<double> mpi_allgatherv(const std::vector<double>& local, const par::Comm& comm) {
  const int p = comm.size(), n = static_cast<int>(local.size());
  std::vector<int> counts(p, n), displs(p);
  for (int r = 0; r < p; ++r) displs[r] = r * n;
  std::vector<double> out(local.size() * p);
  MPI_Allgatherv(local.data(), n, MPI_DOUBLE, out.data(), counts.data(), displs.data(), MPI_DOUBLE, comm.raw());
  return out;
}

void row(const par::Comm& comm, const std::string& what, double ours, double peer) {
  if (comm.is_root())
    std::printf("| %s | %.6f | %.6f | %.2f |\n", what.c_str(), ours, peer, peer > 0 ? ours / peer : 0.0);
}

void ordinary_sizes(const par::Comm& comm) {
  const int p = comm.size();
  for (const int n : {1000, 100000, 10000000, 50000000}) {
    const int reps = n >= 10000000 ? 7 : 21;
    std::vector<std::vector<double>> buckets(p, std::vector<double>(n));
    std::vector<double> flat(static_cast<std::size_t>(n) * p);
    for (int r = 0; r < p; ++r) std::iota(buckets[r].begin(), buckets[r].end(), 1e9 * comm.rank() + r);
    for (int r = 0; r < p; ++r) std::copy(buckets[r].begin(), buckets[r].end(), flat.begin() + std::size_t(r) * n);
    std::vector<double> a, b;
    const double ours = median_seconds(comm, reps, [&] { a = comm.alltoallv(buckets); });
    const double peer = median_seconds(comm, reps, [&] { b = mpi_alltoallv(flat, n, comm); });
    if (a != b) std::fprintf(stderr, "rank %d: alltoallv results differ at n = %d\n", comm.rank(), n);
    row(comm, "alltoallv, " + std::to_string(n) + " doubles per pair", ours, peer);

    const std::vector<double>& local = buckets[0];
    const double ours_g = median_seconds(comm, reps, [&] { a = comm.allgatherv(local); });
    const double peer_g = median_seconds(comm, reps, [&] { b = mpi_allgatherv(local, comm); });
    if (a != b) std::fprintf(stderr, "rank %d: allgatherv results differ at n = %d\n", comm.rank(), n);
    row(comm, "allgatherv, " + std::to_string(n) + " doubles a rank", ours_g, peer_g);
    if (n == 10000000) {
      par::Comm chunked = comm.duplicate();
      chunked.set_message_bytes(std::size_t{64} << 20);
      const double ours_c = median_seconds(comm, reps, [&] { a = chunked.allgatherv(local); });
      if (a != b) std::fprintf(stderr, "rank %d: chunked allgatherv differs\n", comm.rank());
      row(comm, "allgatherv, " + std::to_string(n) + " doubles a rank, in 64 MiB broadcasts", ours_c, peer_g);
    }
  }
}

// Beyond INT_MAX elements: rank r sends `large` chars to rank r + 1 (one
// count above 2^31 - 1), and every rank gathers `large` chars in all.
void large_counts(const par::Comm& comm, std::uint64_t large) {
  const int p = comm.size(), to = (comm.rank() + 1) % p, from = (comm.rank() + p - 1) % p;
  std::vector<std::vector<char>> buckets(p);
  buckets[to].resize(large);
  for (std::uint64_t i = 0; i < large; ++i) buckets[to][i] = static_cast<char>((i + 7 * comm.rank()) % 101);
  std::vector<char> got;
  const double s = median_seconds(comm, 1, [&] { got = comm.alltoallv(buckets); });
  bool ok = got.size() == large;
  for (std::uint64_t i = 0; ok && i < large; ++i) ok = got[i] == static_cast<char>((i + 7 * from) % 101);
  buckets.clear();
  got.clear();
  got.shrink_to_fit();
  const bool all_ok = comm.allreduce_min(ok ? 1 : 0) == 1;
  if (comm.is_root())
    std::printf("| alltoallv, %llu chars to the next rank | %.3f (%s) | MPI_Alltoallv: count above INT_MAX | – |\n",
                static_cast<unsigned long long>(large), s, all_ok ? "verified" : "WRONG");

  const std::uint64_t mine = large / p + (static_cast<std::uint64_t>(comm.rank()) < large % p ? 1 : 0);
  std::vector<char> local(mine);
  const std::uint64_t first = comm.exscan_sum(mine);
  for (std::uint64_t i = 0; i < mine; ++i) local[i] = static_cast<char>((first + i) % 103);
  std::vector<char> all;
  const double g = median_seconds(comm, 1, [&] { all = comm.allgatherv(local); });
  ok = all.size() == large;
  for (std::uint64_t i = 0; ok && i < large; ++i) ok = all[i] == static_cast<char>(i % 103);
  const bool gathered_ok = comm.allreduce_min(ok ? 1 : 0) == 1;
  if (comm.is_root())
    std::printf("| allgatherv, %llu chars in all | %.3f (%s) | MPI_Allgatherv: displacement above INT_MAX | – |\n",
                static_cast<unsigned long long>(large), g, gathered_ok ? "verified" : "WRONG");
}

}  // namespace

int main(int argc, char** argv) {
  par::Environment env(argc, argv);
  const par::Comm& comm = env.world();
  const std::uint64_t large = argc > 1 ? std::strtoull(argv[1], nullptr, 10) : 2164260864ull;  // 2^31 + 2^24
  if (comm.is_root()) {
    std::printf("\npar::Comm against MPI's own collectives, %d ranks (median seconds)\n\n", comm.size());
    std::printf("| collective | ours (s) | MPI (s) | ours / MPI |\n|---|---|---|---|\n");
  }
  ordinary_sizes(comm);
  if (large > 0) large_counts(comm, large);
  if (comm.is_root()) std::printf("\npeak RSS of rank 0: %.0f MiB\n", bench::peak_rss_mib());
  return 0;
}
