// kNN → Leiden scaling (issue 13): approximate kNN (IVF, ml/ann.hpp), the
// union-symmetrised graph and distributed Leiden at the current rank count,
// with the per-rank work and traffic a cost model needs. Traffic is counted
// here through the MPI profiling interface (every collective this rank
// enters, and the payload bytes it sends to other ranks; nothing at np = 1),
// split by phase;
// the library adds its own counters (ApproximateKnnStats, Communities::
// level_stats). Writes /labels (Leiden) for scoring against planted labels.
//   mpirun -n 2 bench_graph_scaling FEATURES.h5 OUT.h5 [k=15] [probes=8]
//   mpirun -n 2 bench_graph_scaling --pingpong    (latency and bandwidth of the MPI transport)
#include <mpi.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <ctime>
#include <fstream>
#include <string>
#include <vector>

#include "bench_support.hpp"
#include "phenoscale/io/sample_array.hpp"
#include "phenoscale/ml/ann.hpp"
#include "phenoscale/ml/graph.hpp"
#include "phenoscale/ml/louvain.hpp"
#include "phenoscale/ml/matrix.hpp"
#include "phenoscale/par/environment.hpp"

using namespace phenoscale;

namespace {

// Collectives entered and payload bytes sent to other ranks (an all-to-all's
// off-rank counts; an allgather's contribution times the peers; an
// allreduce/exscan's vector, once, when there are peers; a broadcast's
// buffer times the peers on its root).
struct Traffic {
  std::uint64_t calls = 0;
  std::uint64_t bytes = 0;
};
Traffic traffic;

std::uint64_t type_size(MPI_Datatype t) {
  int s = 0;
  PMPI_Type_size(t, &s);
  return static_cast<std::uint64_t>(s);
}
int comm_rank(MPI_Comm c) {
  int r = 0;
  PMPI_Comm_rank(c, &r);
  return r;
}
int comm_size(MPI_Comm c) {
  int n = 0;
  PMPI_Comm_size(c, &n);
  return n;
}
// Payload of a reduction's vector when there are other ranks to send it to.
std::uint64_t reduced(int n, MPI_Datatype t, MPI_Comm c) {
  return comm_size(c) > 1 ? static_cast<std::uint64_t>(n) * type_size(t) : 0;
}
void note(std::uint64_t bytes) {
  ++traffic.calls;
  traffic.bytes += bytes;
}

}  // namespace

extern "C" {
int MPI_Alltoallv(const void* sb, const int sc[], const int sd[], MPI_Datatype st, void* rb, const int rc[],
                  const int rd[], MPI_Datatype rt, MPI_Comm c) {
  std::uint64_t n = 0;
  const int me = comm_rank(c), ranks = comm_size(c);
  for (int r = 0; r < ranks; ++r)
    if (r != me) n += static_cast<std::uint64_t>(sc[r]);
  note(n * type_size(st));
  return PMPI_Alltoallv(sb, sc, sd, st, rb, rc, rd, rt, c);
}
int MPI_Alltoall(const void* sb, int sc, MPI_Datatype st, void* rb, int rc, MPI_Datatype rt, MPI_Comm c) {
  note(static_cast<std::uint64_t>(sc) * (comm_size(c) - 1) * type_size(st));
  return PMPI_Alltoall(sb, sc, st, rb, rc, rt, c);
}
int MPI_Allgather(const void* sb, int sc, MPI_Datatype st, void* rb, int rc, MPI_Datatype rt, MPI_Comm c) {
  note(static_cast<std::uint64_t>(sc) * (comm_size(c) - 1) * type_size(st));
  return PMPI_Allgather(sb, sc, st, rb, rc, rt, c);
}
int MPI_Allgatherv(const void* sb, int sc, MPI_Datatype st, void* rb, const int rc[], const int rd[],
                   MPI_Datatype rt, MPI_Comm c) {
  note(static_cast<std::uint64_t>(sc) * (comm_size(c) - 1) * type_size(st));
  return PMPI_Allgatherv(sb, sc, st, rb, rc, rd, rt, c);
}
int MPI_Allreduce(const void* sb, void* rb, int n, MPI_Datatype t, MPI_Op op, MPI_Comm c) {
  note(reduced(n, t, c));
  return PMPI_Allreduce(sb, rb, n, t, op, c);
}
int MPI_Iallreduce(const void* sb, void* rb, int n, MPI_Datatype t, MPI_Op op, MPI_Comm c, MPI_Request* q) {
  note(reduced(n, t, c));
  return PMPI_Iallreduce(sb, rb, n, t, op, c, q);
}
int MPI_Exscan(const void* sb, void* rb, int n, MPI_Datatype t, MPI_Op op, MPI_Comm c) {
  note(reduced(n, t, c));
  return PMPI_Exscan(sb, rb, n, t, op, c);
}
// Comm::alltoallv and the ring exchanges send point to point (since
// 2026-12-02): the payload is counted where it leaves, as for the collectives.
int MPI_Isend(const void* b, int n, MPI_Datatype t, int dest, int tag, MPI_Comm c, MPI_Request* q) {
  note(dest != comm_rank(c) ? static_cast<std::uint64_t>(n) * type_size(t) : 0);
  return PMPI_Isend(b, n, t, dest, tag, c, q);
}
int MPI_Send(const void* b, int n, MPI_Datatype t, int dest, int tag, MPI_Comm c) {
  note(dest != comm_rank(c) ? static_cast<std::uint64_t>(n) * type_size(t) : 0);
  return PMPI_Send(b, n, t, dest, tag, c);
}
int MPI_Sendrecv(const void* sb, int sc, MPI_Datatype st, int dest, int stag, void* rb, int rc, MPI_Datatype rt,
                 int source, int rtag, MPI_Comm c, MPI_Status* status) {
  note(dest != comm_rank(c) ? static_cast<std::uint64_t>(sc) * type_size(st) : 0);
  return PMPI_Sendrecv(sb, sc, st, dest, stag, rb, rc, rt, source, rtag, c, status);
}
int MPI_Gatherv(const void* sb, int sc, MPI_Datatype st, void* rb, const int rc[], const int rd[], MPI_Datatype rt,
                int root, MPI_Comm c) {
  note(comm_rank(c) != root ? static_cast<std::uint64_t>(sc) * type_size(st) : 0);
  return PMPI_Gatherv(sb, sc, st, rb, rc, rd, rt, root, c);
}
int MPI_Bcast(void* b, int n, MPI_Datatype t, int root, MPI_Comm c) {
  note(comm_rank(c) == root ? static_cast<std::uint64_t>(n) * type_size(t) * (comm_size(c) - 1) : 0);
  return PMPI_Bcast(b, n, t, root, c);
}
}

namespace {

using bench::peak_rss_mib;

// CPU seconds of this process: its compute without the time the shared
// cores gave to other jobs (MPI's polling inside collectives included).
double cpu_seconds() {
  timespec t{};
  clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &t);
  return static_cast<double>(t.tv_sec) + 1e-9 * static_cast<double>(t.tv_nsec);
}

double mib(std::uint64_t bytes) { return static_cast<double>(bytes) / (1024.0 * 1024.0); }

// Seconds per call of `op`, the best of 5 batches of `reps` calls.
template <typename Op>
double best_seconds(const par::Comm& world, int reps, Op op) {
  double best = 1e30;
  for (int batch = 0; batch < 5; ++batch) {
    world.barrier();
    const auto t0 = std::chrono::steady_clock::now();
    for (int i = 0; i < reps; ++i) op();
    const double s = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count() / reps;
    best = std::min(best, world.allreduce_max(s));
  }
  return best;
}

// The transport constants of the cost model: latency of an 8-byte
// all-to-all and allreduce, bandwidth of a 64 MiB-per-peer all-to-all.
int pingpong(const par::Comm& world) {
  const int ranks = world.size();
  auto alltoall_seconds = [&](std::size_t per_peer, int reps) {
    std::vector<char> send(per_peer * ranks, 1), recv(per_peer * ranks);
    std::vector<int> counts(ranks, static_cast<int>(per_peer)), displs(ranks);
    for (int r = 0; r < ranks; ++r) displs[r] = static_cast<int>(per_peer * r);
    return best_seconds(world, reps, [&] {
      PMPI_Alltoallv(send.data(), counts.data(), displs.data(), MPI_CHAR, recv.data(), counts.data(), displs.data(),
                     MPI_CHAR, world.raw());
    });
  };
  const double small = alltoall_seconds(8, 2000);
  const std::size_t big = std::size_t{64} << 20;
  const double large = alltoall_seconds(big, 5);
  double x = 1.0, y = 0.0;
  const double reduce = best_seconds(world, 2000, [&] { PMPI_Allreduce(&x, &y, 1, MPI_DOUBLE, MPI_SUM, world.raw()); });
  if (world.is_root())
    std::printf("pingpong ranks=%d alltoallv_8B_us=%.2f allreduce_8B_us=%.2f alltoallv_64MiB_s=%.4f "
                "bandwidth_gib_s=%.2f\n",
                ranks, small * 1e6, reduce * 1e6, large, ranks > 1 ? (big / large) / (1 << 30) : 0.0);
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  par::Environment env(argc, argv);
  const par::Comm& world = env.world();
  if (argc > 1 && std::strcmp(argv[1], "--pingpong") == 0) return pingpong(world);
  if (argc < 3) {
    if (world.is_root()) std::fprintf(stderr, "usage: bench_graph_scaling FEATURES.h5 OUT.h5 [k] [probes] | --pingpong\n");
    return 2;
  }
  const std::uint64_t k = argc > 3 ? std::strtoull(argv[3], nullptr, 10) : 15;
  ml::ApproximateKnnOptions ann;
  if (argc > 4) ann.probes = std::strtoull(argv[4], nullptr, 10);
  const auto x = ml::read_matrix(ml::parse_dataset_spec(argv[1]), world);
  auto clock = [&world] { return bench::barrier_clock(world); };
  const auto seconds = bench::seconds_between;

  const auto t0 = clock();
  const double c0 = cpu_seconds();
  const Traffic before_knn = traffic;
  ml::ApproximateKnnStats st;
  auto knn = ml::approximate_knn(x, k, ann, world, &st);
  const double c1 = cpu_seconds();
  const auto t1 = clock();
  const Traffic after_knn = traffic;
  const double knn_rss = world.allreduce_max(peak_rss_mib());
  const auto graph = ml::symmetrise(knn, {}, world);
  knn = {};
  const auto t2 = clock();
  const double c2 = cpu_seconds();
  const Traffic after_graph = traffic;
  ml::CommunityOptions options;
  options.method = "leiden";
  const auto leiden = ml::detect_communities(graph, options, world);
  const double c3 = cpu_seconds();
  const auto t3 = clock();
  const Traffic after_leiden = traffic;
  const double rss = world.allreduce_max(peak_rss_mib());

  io::H5File out = io::H5File::create(argv[2], world);
  io::write_samples(out, "/labels", leiden.labels, {});
  out.commit();

  auto max_u = [&](std::uint64_t v) { return world.allreduce_max(v); };
  auto max_d = [&](double v) { return world.allreduce_max(v); };
  const double knn_mib = max_d(mib(after_knn.bytes - before_knn.bytes));
  const double a2a_mib = max_d(mib(st.bytes_sent));
  const double graph_mib = max_d(mib(after_graph.bytes - after_knn.bytes));
  const double leiden_mib = max_d(mib(after_leiden.bytes - after_graph.bytes));
  const std::uint64_t rows = max_u(st.local_rows), dist = max_u(st.local_distances),
                      list_rows = max_u(st.owned_list_rows), queries = max_u(st.queries_received),
                      arcs = max_u(graph.targets.size());
  const double knn_cpu = max_d(c1 - c0), leiden_cpu = max_d(c3 - c2);
  const double train = max_d(st.train_seconds), assign = max_d(st.assign_seconds), search = max_d(st.search_seconds);
  if (world.is_root()) {
    std::printf("scaling N=%llu d=%llu k=%llu ranks=%d lists=%llu probes=%llu knn_s=%.3f graph_s=%.3f leiden_s=%.3f "
                "knn_cpu_s=%.3f leiden_cpu_s=%.3f "
                "knn_peak_rss_mib=%.0f peak_rss_mib=%.0f modularity=%.6f communities=%llu levels=%d "
                "rows_max=%llu distances_max=%llu distances_total=%llu list_rows_max=%llu queries_max=%llu "
                "train_s=%.3f assign_s=%.3f search_s=%.3f knn_calls=%llu knn_sent_mib=%.2f knn_a2a_mib=%.2f "
                "graph_arcs_max=%llu graph_sent_mib=%.2f leiden_calls=%llu leiden_sent_mib=%.2f\n",
                static_cast<unsigned long long>(x.global_rows), static_cast<unsigned long long>(x.cols),
                static_cast<unsigned long long>(k), world.size(), static_cast<unsigned long long>(st.lists),
                static_cast<unsigned long long>(st.probes), seconds(t0, t1), seconds(t1, t2), seconds(t2, t3),
                knn_cpu, leiden_cpu,
                knn_rss, rss, leiden.modularity, static_cast<unsigned long long>(leiden.count), leiden.levels,
                static_cast<unsigned long long>(rows), static_cast<unsigned long long>(dist),
                static_cast<unsigned long long>(st.distances), static_cast<unsigned long long>(list_rows),
                static_cast<unsigned long long>(queries), train, assign, search,
                static_cast<unsigned long long>(after_knn.calls - before_knn.calls), knn_mib, a2a_mib,
                static_cast<unsigned long long>(arcs), graph_mib,
                static_cast<unsigned long long>(after_leiden.calls - after_graph.calls), leiden_mib);
  }
  for (std::size_t i = 0; i < leiden.level_stats.size(); ++i) {
    const auto& s = leiden.level_stats[i];
    const std::uint64_t lv = max_u(s.local_vertices), la = max_u(s.local_arcs), gh = max_u(s.ghosts);
    const double sec = max_d(s.seconds);
    if (world.is_root())
      std::printf("level %zu vertices=%llu local_vertices_max=%llu arcs_max=%llu ghosts_max=%llu sweeps=%d "
                  "seconds_max=%.3f\n",
                  i, static_cast<unsigned long long>(s.vertices), static_cast<unsigned long long>(lv),
                  static_cast<unsigned long long>(la), static_cast<unsigned long long>(gh), s.sweeps, sec);
  }
  return 0;
}
