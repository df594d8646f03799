// Spectral methods with PETSc/SLEPc (see include/phenoscale/ml/spectral.hpp;
// von Luxburg 2007 §3; Ng, Jordan & Weiss 2001; Belkin & Niyogi 2003).
#include "phenoscale/ml/spectral.hpp"

#include <mpi.h>
#include <slepceps.h>

#include <algorithm>
#include <cmath>
#include <limits>

#include "phenoscale/core/error.hpp"
#include "phenoscale/core/log.hpp"
#include "phenoscale/core/rng.hpp"
#include "phenoscale/ml/kmeans.hpp"
#include "phenoscale/par/agree.hpp"
#include "phenoscale/par/partition.hpp"

namespace phenoscale::ml {
namespace {

using core::cat;

// PETSc's error handler: keeps the innermost message (the first call, where
// the error was raised) in the session instead of printing a traceback.
PetscErrorCode keep_message(MPI_Comm, int, const char* function, const char*, PetscErrorCode code,
                            PetscErrorType type, const char* message, void* context) {
  auto* kept = static_cast<std::string*>(context);
  if (type == PETSC_ERROR_INITIAL) {
    const char* text = nullptr;
    PetscErrorMessage(code, &text, nullptr);
    *kept = cat(message && *message ? message : (text ? text : "unknown error"), " (in ", function, ")");
  }
  return code;
}

// Owns one PETSc object (Mat, Vec, EPS) and destroys it with its XDestroy.
template <typename T, PetscErrorCode (*Destroy)(T*)>
class Handle {
 public:
  Handle() = default;
  ~Handle() {
    if (h_) Destroy(&h_);
  }
  Handle(Handle&& o) noexcept : h_(o.h_) { o.h_ = nullptr; }
  Handle(const Handle&) = delete;
  Handle& operator=(const Handle&) = delete;
  T* out() { return &h_; }
  T get() const { return h_; }

 private:
  T h_ = nullptr;
};
using MatHandle = Handle<Mat, MatDestroy>;
using VecHandle = Handle<Vec, VecDestroy>;
using EpsHandle = Handle<EPS, EPSDestroy>;

// Weighted degrees; negative or non-finite weights and isolated vertices are
// input errors, agreed on every rank.
std::vector<double> checked_degrees(const DistGraph& g, const par::Comm& comm) {
  const auto n = g.local_vertices();
  std::vector<double> degree(n, 0.0);
  std::uint64_t isolated = 0;
  std::int64_t first_isolated = std::numeric_limits<std::int64_t>::max();
  par::collectively(comm, [&] {
    for (std::uint64_t v = 0; v < n; ++v) {
      for (auto e = g.offsets[v]; e < g.offsets[v + 1]; ++e) {
        if (!(g.weights[e] >= 0.0) || !std::isfinite(g.weights[e])) {
          throw InputError(cat("spectral methods: edge ", g.first_vertex + v, "–", g.targets[e], " has weight ",
                               g.weights[e], "; expected finite non-negative weights"));
        }
        degree[v] += g.weights[e];
      }
      if (degree[v] <= 0.0) {
        ++isolated;
        first_isolated = std::min(first_isolated, static_cast<std::int64_t>(g.first_vertex + v));
      }
    }
  });
  isolated = comm.allreduce_sum(isolated);
  first_isolated = comm.allreduce_min(first_isolated);
  par::check_all(comm, isolated == 0,
                 cat("spectral methods: ", isolated, " of ", g.global_vertices,
                     " graph vertices have weighted degree 0 (first: vertex ", first_isolated,
                     "), where D^-1/2 W D^-1/2 is undefined; with gaussian edge weights raise the σ "
                     "(communities.sigma), or use unit weights"));
  return degree;
}

// Ghost vertices (targets owned elsewhere) and the exchange that refreshes a
// per-vertex value for them: requests are sent once, answers every round.
class GhostExchange {
 public:
  GhostExchange(const DistGraph& g, const par::Comm& comm) : comm_(comm) {
    const std::int64_t lo = static_cast<std::int64_t>(g.first_vertex);
    const std::int64_t hi = lo + static_cast<std::int64_t>(g.local_vertices());
    for (auto t : g.targets) {
      if (t < lo || t >= hi) ghosts_.push_back(t);
    }
    std::sort(ghosts_.begin(), ghosts_.end());
    ghosts_.erase(std::unique(ghosts_.begin(), ghosts_.end()), ghosts_.end());
    const auto partition = par::BlockPartition::over(g.global_vertices, comm);
    std::vector<std::vector<std::int64_t>> requests(comm.size());
    for (auto t : ghosts_) requests[partition.owner(static_cast<std::uint64_t>(t))].push_back(t);
    requested_ = comm.alltoallv(requests, &requested_counts_);
    for (auto& id : requested_) id -= lo;  // local index of each requested vertex
  }

  // Values of the ghosts (in ghosts() order) given every rank's local values.
  std::vector<std::int64_t> refresh(const std::vector<std::int64_t>& local) const {
    std::vector<std::vector<std::int64_t>> answers(comm_.size());
    std::size_t at = 0;
    for (int r = 0; r < comm_.size(); ++r) {
      for (std::uint64_t i = 0; i < requested_counts_[r]; ++i) answers[r].push_back(local[requested_[at++]]);
    }
    return comm_.alltoallv(answers);
  }

  std::size_t index(std::int64_t ghost) const {
    return static_cast<std::size_t>(std::lower_bound(ghosts_.begin(), ghosts_.end(), ghost) - ghosts_.begin());
  }

 private:
  const par::Comm& comm_;
  std::vector<std::int64_t> ghosts_;
  std::vector<std::int64_t> requested_;
  std::vector<std::uint64_t> requested_counts_;
};

// One Gauss–Seidel pass of min-label propagation over the local rows.
bool propagate_once(const DistGraph& g, const GhostExchange& ghosts, const std::vector<std::int64_t>& ghost_labels,
                    std::vector<std::int64_t>& labels) {
  const auto lo = static_cast<std::int64_t>(g.first_vertex);
  const auto hi = lo + static_cast<std::int64_t>(g.local_vertices());
  bool changed = false;
  for (std::uint64_t v = 0; v < g.local_vertices(); ++v) {
    std::int64_t best = labels[v];
    for (auto e = g.offsets[v]; e < g.offsets[v + 1]; ++e) {
      const auto t = g.targets[e];
      best = std::min(best, (t >= lo && t < hi) ? labels[t - lo] : ghost_labels[ghosts.index(t)]);
    }
    if (best < labels[v]) {
      labels[v] = best;
      changed = true;
    }
  }
  return changed;
}

// Writes column `col` of the local rows × cols matrix `v` into a PETSc vector.
void column_to_vec(const std::vector<double>& v, std::uint64_t cols, std::uint64_t col, Vec x,
                   const SlepcSession& s) {
  PetscScalar* a = nullptr;
  s.check(VecGetArray(x, &a), "VecGetArray");
  const auto n = cols ? v.size() / cols : 0;
  for (std::uint64_t i = 0; i < n; ++i) a[i] = v[i * cols + col];
  s.check(VecRestoreArray(x, &a), "VecRestoreArray");
}

// W as a MATMPIAIJ with exact preallocation (diagonal / off-diagonal block
// counts from the CSR row lengths), then scaled to D^-1/2 W D^-1/2.
void assemble_normalised_adjacency(const DistGraph& g, const std::vector<double>& degree, Mat* out,
                                   const SlepcSession& s, const par::Comm& comm) {
  const auto n = static_cast<PetscInt>(g.local_vertices());
  const auto lo = static_cast<std::int64_t>(g.first_vertex), hi = lo + n;
  std::vector<PetscInt> diag(n, 0), off(n, 0);
  for (PetscInt v = 0; v < n; ++v) {
    for (auto e = g.offsets[v]; e < g.offsets[v + 1]; ++e) {
      ++((g.targets[e] >= lo && g.targets[e] < hi) ? diag[v] : off[v]);
    }
  }
  const auto N = static_cast<PetscInt>(g.global_vertices);
  s.check(MatCreateAIJ(comm.raw(), n, n, N, N, 0, diag.data(), 0, off.data(), out), "MatCreateAIJ");
  std::vector<PetscInt> cols;
  for (PetscInt v = 0; v < n; ++v) {
    const auto b = g.offsets[v], e = g.offsets[v + 1];
    cols.assign(g.targets.begin() + b, g.targets.begin() + e);
    const PetscInt row = static_cast<PetscInt>(lo + v);
    s.check(MatSetValues(*out, 1, &row, static_cast<PetscInt>(e - b), cols.data(), g.weights.data() + b,
                         INSERT_VALUES),
            "MatSetValues");
  }
  s.check(MatAssemblyBegin(*out, MAT_FINAL_ASSEMBLY), "MatAssemblyBegin");
  s.check(MatAssemblyEnd(*out, MAT_FINAL_ASSEMBLY), "MatAssemblyEnd");
  VecHandle scale;
  s.check(MatCreateVecs(*out, scale.out(), nullptr), "MatCreateVecs");
  std::vector<double> inv_sqrt(degree.size());
  for (std::size_t i = 0; i < degree.size(); ++i) inv_sqrt[i] = 1.0 / std::sqrt(degree[i]);
  column_to_vec(inv_sqrt, 1, 0, scale.get(), s);
  s.check(MatDiagonalScale(*out, scale.get(), scale.get()), "MatDiagonalScale");
}

// The c component eigenvectors D^1/2 1_C / ‖D^1/2 1_C‖ (μ = 1), the first
// `keep` of them written to columns 0.. of `vectors` (local rows × cols).
void component_vectors(const DistGraph& g, const std::vector<double>& degree, const std::vector<std::int64_t>& labels,
                       const std::vector<std::int64_t>& roots, std::vector<double>& vectors, std::uint64_t cols,
                       const par::Comm& comm) {
  const auto n = g.local_vertices();
  std::vector<std::size_t> component(n);
  std::vector<double> mass(roots.size(), 0.0);
  for (std::uint64_t v = 0; v < n; ++v) {
    component[v] = static_cast<std::size_t>(std::lower_bound(roots.begin(), roots.end(), labels[v]) - roots.begin());
    mass[component[v]] += degree[v];
  }
  comm.allreduce_sum_inplace(mass);
  for (std::uint64_t v = 0; v < n; ++v) {
    if (component[v] < cols) vectors[v * cols + component[v]] = std::sqrt(degree[v] / mass[component[v]]);
  }
}

// Makes the largest-magnitude entry of columns [from, cols) positive (ties to
// the lowest global vertex), the same decision on every rank.
void fix_signs(std::vector<double>& vectors, std::uint64_t cols, std::uint64_t from, std::uint64_t first_vertex,
               const par::Comm& comm) {
  const auto n = cols ? vectors.size() / cols : 0;
  const auto m = static_cast<int>(cols - from);
  if (m <= 0) return;
  std::vector<double> largest(m, -1.0);
  std::vector<std::int64_t> where(m, std::numeric_limits<std::int64_t>::max());
  for (std::uint64_t i = 0; i < n; ++i) {
    for (int c = 0; c < m; ++c) {
      const double a = std::fabs(vectors[i * cols + from + c]);
      if (a > largest[c]) {
        largest[c] = a;
        where[c] = static_cast<std::int64_t>(first_vertex + i);
      }
    }
  }
  std::vector<double> global_largest = largest;
  comm.allreduce_max_inplace(global_largest);
  for (int c = 0; c < m; ++c) {
    if (largest[c] < global_largest[c]) where[c] = std::numeric_limits<std::int64_t>::max();
  }
  comm.allreduce_min_inplace(where);  // the first row holding each column's largest |value|
  std::vector<double> sign(m, 0.0);
  for (int c = 0; c < m; ++c) {
    const auto w = where[c] - static_cast<std::int64_t>(first_vertex);
    if (w >= 0 && static_cast<std::uint64_t>(w) < n) sign[c] = vectors[w * cols + from + c] < 0 ? -1.0 : 1.0;
  }
  comm.allreduce_sum_inplace(sign);
  for (std::uint64_t i = 0; i < n; ++i) {
    for (int c = 0; c < m; ++c) vectors[i * cols + from + c] *= sign[c] < 0 ? -1.0 : 1.0;
  }
}

// Krylov–Schur for the `wanted` largest eigenpairs of S orthogonal to the
// `deflation` component vectors (columns 0..deflation-1 of `out.vectors`);
// results go to columns deflation.. .
void solve_remaining(const DistGraph& g, const SpectralOptions& options, std::uint64_t deflation,
                     std::uint64_t wanted, SpectralDecomposition& out, const par::Comm& comm) {
  const SlepcSession session(comm);
  const auto cols = deflation + wanted;
  MatHandle S;
  assemble_normalised_adjacency(g, out.degrees, S.out(), session, comm);
  std::vector<VecHandle> space(deflation);
  std::vector<Vec> raw(deflation);
  for (std::uint64_t c = 0; c < deflation; ++c) {
    session.check(MatCreateVecs(S.get(), space[c].out(), nullptr), "MatCreateVecs");
    column_to_vec(out.vectors, cols, c, space[c].get(), session);
    raw[c] = space[c].get();
  }
  VecHandle start, x;
  session.check(MatCreateVecs(S.get(), start.out(), x.out()), "MatCreateVecs");
  std::vector<double> draws(g.local_vertices());
  for (std::uint64_t i = 0; i < draws.size(); ++i) {
    draws[i] = core::Rng(options.seed, core::Stream::communities, g.first_vertex + i).normal();
  }
  column_to_vec(draws, 1, 0, start.get(), session);

  EpsHandle eps;
  session.check(EPSCreate(comm.raw(), eps.out()), "EPSCreate");
  session.check(EPSSetOperators(eps.get(), S.get(), nullptr), "EPSSetOperators");
  session.check(EPSSetProblemType(eps.get(), EPS_HEP), "EPSSetProblemType");
  session.check(EPSSetType(eps.get(), EPSKRYLOVSCHUR), "EPSSetType");
  session.check(EPSSetWhichEigenpairs(eps.get(), EPS_LARGEST_REAL), "EPSSetWhichEigenpairs");
  session.check(EPSSetDimensions(eps.get(), static_cast<PetscInt>(wanted), PETSC_DEFAULT, PETSC_DEFAULT),
                "EPSSetDimensions");
  session.check(EPSSetTolerances(eps.get(), options.tolerance, options.max_iterations), "EPSSetTolerances");
  if (deflation > 0) {
    session.check(EPSSetDeflationSpace(eps.get(), static_cast<PetscInt>(deflation), raw.data()),
                  "EPSSetDeflationSpace");
  }
  Vec initial = start.get();
  session.check(EPSSetInitialSpace(eps.get(), 1, &initial), "EPSSetInitialSpace");
  session.check(EPSSolve(eps.get()), "EPSSolve");
  PetscInt converged = 0, iterations = 0;
  session.check(EPSGetConverged(eps.get(), &converged), "EPSGetConverged");
  session.check(EPSGetIterationNumber(eps.get(), &iterations), "EPSGetIterationNumber");
  out.iterations = static_cast<int>(iterations);
  if (static_cast<std::uint64_t>(converged) < wanted) {
    throw IoError(cat("spectral methods: SLEPc Krylov–Schur converged ", converged, " of ", wanted,
                      " eigenpairs of D^-1/2 W D^-1/2 in ", iterations, " restarts (tolerance ", options.tolerance,
                      "); the leading eigenvalues may be too close together"));
  }
  for (std::uint64_t k = 0; k < wanted; ++k) {
    PetscScalar mu = 0, imaginary = 0;
    session.check(EPSGetEigenpair(eps.get(), static_cast<PetscInt>(k), &mu, &imaginary, x.get(), nullptr),
                  "EPSGetEigenpair");
    out.eigenvalues.push_back(mu);
    const PetscScalar* a = nullptr;
    session.check(VecGetArrayRead(x.get(), &a), "VecGetArrayRead");
    for (std::uint64_t i = 0; i < g.local_vertices(); ++i) out.vectors[i * cols + deflation + k] = a[i];
    session.check(VecRestoreArrayRead(x.get(), &a), "VecRestoreArrayRead");
  }
}

}  // namespace

SlepcSession::SlepcSession(const par::Comm& comm) {
  PetscBool initialised = PETSC_FALSE;
  SlepcInitialized(&initialised);
  if (!initialised) {
    // No options from anywhere but here: no command line, no .petscrc files,
    // and PETSc must not install signal handlers over MPI's and ours.
    PetscOptionsSetValue(nullptr, "-skip_petscrc", nullptr);
    PetscOptionsSetValue(nullptr, "-no_signal_handler", nullptr);
    PetscOptionsSetValue(nullptr, "-options_left", "no");
    PETSC_COMM_WORLD = comm.raw();
    int argc = 0;
    char** argv = nullptr;
    // Made first: once PETSc is initialised nothing may throw before owns_
    // (the destructor would not run to finalise it).
    par::TeardownVote vote(comm);
    const PetscErrorCode rc = SlepcInitialize(&argc, &argv, nullptr, nullptr);
    if (rc != 0) throw IoError(cat("PETSc/SLEPc initialisation failed with code ", rc));
    owns_ = true;
    finish_vote_ = std::move(vote);
  }
  PetscPushErrorHandler(keep_message, &message_);
}

SlepcSession::~SlepcSession() {
  PetscPopErrorHandler();
  if (!owns_) return;
  if (!finish_vote_.everyone_comes()) {
    finish_vote_.abandon("PETSc/SLEPc", "finalise PETSc", "initialised");
    return;
  }
  SlepcFinalize();
}

void SlepcSession::check(int rc, const char* call) const {
  if (rc == 0) return;
  throw IoError(cat("PETSc/SLEPc ", call, " failed: ", message_.empty() ? std::string("error ") + std::to_string(rc)
                                                                       : message_));
}

std::vector<std::int64_t> connected_components(const DistGraph& graph, std::uint64_t& count,
                                               const par::Comm& comm) {
  const auto n = graph.local_vertices();
  std::vector<std::int64_t> labels(n);
  for (std::uint64_t v = 0; v < n; ++v) labels[v] = static_cast<std::int64_t>(graph.first_vertex + v);
  const GhostExchange ghosts(graph, comm);
  // Rounds of local propagation to a fixed point between ghost refreshes;
  // done when no rank changed a label after seeing its neighbours' latest.
  for (;;) {
    const auto ghost_labels = ghosts.refresh(labels);
    bool changed = false;
    while (propagate_once(graph, ghosts, ghost_labels, labels)) changed = true;
    if (comm.allreduce_max(changed ? 1 : 0) == 0) break;
  }
  std::uint64_t roots = 0;
  for (std::uint64_t v = 0; v < n; ++v) roots += labels[v] == static_cast<std::int64_t>(graph.first_vertex + v);
  count = comm.allreduce_sum(roots);
  return labels;
}

SpectralDecomposition spectral_decomposition(const DistGraph& graph, const SpectralOptions& options,
                                             const par::Comm& comm) {
  const auto N = graph.global_vertices;
  par::check_all(comm, N <= static_cast<std::uint64_t>(std::numeric_limits<PetscInt>::max()),
                 cat("spectral methods: the graph has ", N, " vertices, more than this PETSc's ",
                     sizeof(PetscInt) * 8, "-bit indices allow"));
  par::check_all(comm, options.eigenpairs >= 1 && options.eigenpairs <= N,
                 cat("spectral methods: ", options.eigenpairs, " eigenpairs asked of a graph with ", N,
                     " vertices; expected 1 to ", N));
  SpectralDecomposition out;
  out.global_vertices = N;
  out.first_vertex = graph.first_vertex;
  out.degrees = checked_degrees(graph, comm);
  const auto labels = connected_components(graph, out.components, comm);
  std::vector<std::int64_t> local_roots;
  for (std::uint64_t v = 0; v < graph.local_vertices(); ++v) {
    if (labels[v] == static_cast<std::int64_t>(graph.first_vertex + v)) local_roots.push_back(labels[v]);
  }
  const auto roots = comm.allgatherv(local_roots);  // ascending: rank blocks in order
  const auto cols = options.eigenpairs;
  const auto deflation = std::min<std::uint64_t>(out.components, cols);
  out.vectors.assign(graph.local_vertices() * cols, 0.0);
  component_vectors(graph, out.degrees, labels, roots, out.vectors, cols, comm);
  out.eigenvalues.assign(deflation, 1.0);
  if (cols > deflation) {
    par::collectively(comm, [&] { solve_remaining(graph, options, deflation, cols - deflation, out, comm); });
  }
  fix_signs(out.vectors, cols, deflation, graph.first_vertex, comm);
  return out;
}

ShardedMatrix spectral_embedding(const DistGraph& graph, std::uint64_t n_components, const SpectralOptions& options,
                                 const par::Comm& comm, SpectralDecomposition* decomposition) {
  SpectralOptions o = options;
  o.eigenpairs = n_components + 1;
  par::check_all(comm, n_components >= 1 && n_components + 1 <= graph.global_vertices,
                 cat("spectral embedding: ", n_components, " components asked of a graph with ",
                     graph.global_vertices, " vertices; expected 1 to ", graph.global_vertices - 1));
  SpectralDecomposition d = spectral_decomposition(graph, o, comm);
  ShardedMatrix y;
  y.local_rows = graph.local_vertices();
  y.cols = n_components;
  y.global_rows = graph.global_vertices;
  y.first_row = graph.first_vertex;
  y.data.resize(y.local_rows * y.cols);
  // y = D^-1/2 v solves L y = λ D y; the first (μ = 1, y constant on a
  // connected graph) carries no information and is dropped.
  for (std::uint64_t i = 0; i < y.local_rows; ++i) {
    const double s = 1.0 / std::sqrt(d.degrees[i]);
    for (std::uint64_t c = 0; c < n_components; ++c) {
      y.data[i * y.cols + c] = static_cast<float>(d.vectors[i * o.eigenpairs + c + 1] * s);
    }
  }
  if (decomposition) *decomposition = std::move(d);
  return y;
}

std::uint64_t eigengap_clusters(const std::vector<double>& eigenvalues, std::uint64_t max_clusters) {
  const auto last = std::min<std::uint64_t>(max_clusters, eigenvalues.size() > 0 ? eigenvalues.size() - 1 : 0);
  std::uint64_t best = 1;
  double gap = -1.0;
  for (std::uint64_t k = 1; k <= last; ++k) {
    const double g = eigenvalues[k - 1] - eigenvalues[k];
    if (g > gap) {
      gap = g;
      best = k;
    }
  }
  return best;
}

SpectralClustering spectral_clustering(const DistGraph& graph, const SpectralClusteringOptions& options,
                                       const par::Comm& comm) {
  const auto N = graph.global_vertices;
  par::check_all(comm, options.clusters <= N && options.max_clusters >= 1,
                 cat("spectral clustering: ", options.clusters, " clusters (max ", options.max_clusters,
                     ") asked of a graph with ", N, " vertices"));
  SpectralOptions o = options.spectral;
  // One eigenvalue beyond K shows the gap after the last cluster.
  o.eigenpairs = std::min<std::uint64_t>(N, (options.clusters ? options.clusters : options.max_clusters) + 1);
  const SpectralDecomposition d = spectral_decomposition(graph, o, comm);
  SpectralClustering out;
  out.components = d.components;
  out.eigenvalues = d.eigenvalues;
  out.clusters = options.clusters ? options.clusters : eigengap_clusters(d.eigenvalues, options.max_clusters);
  // Rows of the K leading eigenvectors, scaled to unit length (NJW step 4).
  const auto K = out.clusters;
  ShardedMatrix x;
  x.local_rows = graph.local_vertices();
  x.cols = K;
  x.global_rows = N;
  x.first_row = graph.first_vertex;
  x.data.resize(x.local_rows * K);
  for (std::uint64_t i = 0; i < x.local_rows; ++i) {
    double norm = 0.0;
    for (std::uint64_t c = 0; c < K; ++c) norm += d.vectors[i * o.eigenpairs + c] * d.vectors[i * o.eigenpairs + c];
    const double s = norm > 0.0 ? 1.0 / std::sqrt(norm) : 0.0;
    for (std::uint64_t c = 0; c < K; ++c) x.data[i * K + c] = static_cast<float>(d.vectors[i * o.eigenpairs + c] * s);
  }
  KMeansOptions km;
  km.k = static_cast<std::int64_t>(K);
  km.n_init = options.n_init;
  km.seed = options.spectral.seed;
  out.labels = kmeans_fit(x, km, comm).labels;
  return out;
}

std::vector<std::int64_t> spectral_communities(const DistGraph& graph, const CommunityOptions& options,
                                               const par::Comm& comm) {
  SpectralClusteringOptions o;
  o.clusters = options.clusters;
  o.max_clusters = options.max_clusters;
  o.spectral.seed = options.seed;
  SpectralClustering found = spectral_clustering(graph, o, comm);
  if (found.components > 1) {
    core::Log::warn(cat("spectral communities: the graph has ", found.components,
                        " connected components (eigenvalue 1 of D^-1/2 W D^-1/2 ", found.components,
                        " times); each component's indicator is an exact eigenvector"));
  }
  std::string values;
  for (std::size_t k = 0; k < std::min<std::size_t>(found.eigenvalues.size(), 12); ++k) {
    values += cat(k ? ", " : "", found.eigenvalues[k]);
  }
  core::Log::info(cat("spectral communities: K = ", found.clusters,
                      options.clusters ? " (communities.clusters)" : " (largest eigengap)",
                      "; leading eigenvalues of D^-1/2 W D^-1/2: ", values));
  return std::move(found.labels);
}

}  // namespace phenoscale::ml
