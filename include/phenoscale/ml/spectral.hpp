// Spectral methods on the distributed kNN graph with PETSc and SLEPc:
// leading eigenpairs of the symmetric normalised adjacency, Laplacian
// eigenmaps, spectral clustering and the spectral initialisation of UMAP.
//
// The symmetrised kNN graph W (DistGraph: rows already in BlockPartition
// blocks) becomes a PETSc MATMPIAIJ, preallocated from the CSR row lengths,
// scaled to S = D^-1/2 W D^-1/2 (D = diag of the weighted degrees). SLEPc's
// Krylov–Schur (Stewart 2001; Hernandez, Roman & Vidal 2005, SLEPc) computes
// its largest eigenvalues μ, which are 1 − λ for the smallest eigenvalues λ
// of the normalised Laplacian L = I − S (von Luxburg 2007, "A tutorial on
// spectral clustering", §3.2, L_sym).
//
// Conventions (docs/methods.md, "Spectral methods"):
//  - Connected components are found first (distributed label propagation).
//    A graph with c components has μ = 1 with multiplicity c and known
//    eigenvectors D^1/2 1_C / ‖D^1/2 1_C‖, one per component in order of its
//    lowest vertex id; they are set exactly and passed to SLEPc as its
//    deflation space, so the solver only looks for the rest (a Krylov method
//    started from one vector cannot be relied on to find a repeated
//    eigenvalue). Callers warn with the component count.
//  - A vertex of weighted degree 0 makes S undefined: InputError naming the
//    count and the first such vertex (kNN graphs have none unless gaussian
//    weights underflow).
//  - Sign: each eigenvector's entry of largest magnitude (ties to the lowest
//    global vertex) is made positive, decided collectively, so vectors agree
//    across rank counts to the solver tolerance. Inside a repeated eigenvalue
//    other than the component one (μ < 1, gap below the tolerance) only the
//    subspace is determined.
//  - The Krylov start vector is drawn from Rng(seed, Stream::communities,
//    global vertex): the same at any rank count.
// PETSc is initialised once per process by SlepcSession (RAII) on the
// project's communicator with no command-line or file options.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "phenoscale/ml/graph.hpp"
#include "phenoscale/ml/louvain.hpp"
#include "phenoscale/ml/matrix.hpp"
#include "phenoscale/par/comm.hpp"
#include "phenoscale/par/failure_vote.hpp"

namespace phenoscale::ml {

// Collective on `comm`. Initialises PETSc and SLEPc with PETSC_COMM_WORLD =
// comm unless they are initialised already (then it only borrows them), and
// finalises them in the destructor when it initialised them. No options are
// read: empty argc/argv, no .petscrc, no signal handler. PETSc errors are
// returned as codes and turned into one-line IoErrors by check().
// Finalising is collective: a session that an error on one rank alone
// unwinds past finalises only when the other ranks come to finalise too
// (par::TeardownVote); otherwise PETSc stays initialised and the job is
// aborted once the error is reported (PetscFinalize would wait for ranks
// blocked in a PETSc reduction, or be matched with it).
class SlepcSession {
 public:
  explicit SlepcSession(const par::Comm& comm);
  ~SlepcSession();
  SlepcSession(const SlepcSession&) = delete;
  SlepcSession& operator=(const SlepcSession&) = delete;

  // Throws IoError "PETSc/SLEPc <call> failed: <PETSc's message>" when rc != 0.
  void check(int rc, const char* call) const;
  bool owns_initialisation() const { return owns_; }

 private:
  bool owns_ = false;
  par::TeardownVote finish_vote_;  // when owns_
  std::string message_;  // the innermost PETSc message of the last error (handler context)
};

struct SpectralOptions {
  std::uint64_t eigenpairs = 8;  // leading eigenpairs of S wanted (≤ N)
  double tolerance = 1e-10;      // SLEPc relative residual tolerance
  int max_iterations = 10000;    // Krylov–Schur restarts
  std::uint64_t seed = 1;        // start vector
};

struct SpectralDecomposition {
  std::vector<double> eigenvalues;  // of S = D^-1/2 W D^-1/2, descending
  std::vector<double> vectors;      // local_vertices × eigenvalues.size(), row-major, unit columns
  std::vector<double> degrees;      // weighted degree of each local vertex
  std::uint64_t components = 0;     // connected components of the graph
  std::uint64_t global_vertices = 0;
  std::uint64_t first_vertex = 0;
  int iterations = 0;               // Krylov–Schur restarts (0 when no solve was needed)
};

// Collective. The leading eigenpairs of the symmetric normalised adjacency.
SpectralDecomposition spectral_decomposition(const DistGraph& graph, const SpectralOptions& options,
                                             const par::Comm& comm);

// Collective. Connected components: per local vertex, the lowest global
// vertex id of its component; `count` gets the number of components.
std::vector<std::int64_t> connected_components(const DistGraph& graph, std::uint64_t& count,
                                               const par::Comm& comm);

// Collective. Laplacian eigenmaps (Belkin & Niyogi 2003, §3; the normalised
// form scikit-learn's spectral_embedding computes): the generalised
// eigenvectors y = D^-1/2 v of L y = λ D y for the 2nd … (n+1)th smallest λ,
// the trivial first one dropped, signs fixed as above. Local rows × n.
ShardedMatrix spectral_embedding(const DistGraph& graph, std::uint64_t n_components,
                                 const SpectralOptions& options, const par::Comm& comm,
                                 SpectralDecomposition* decomposition = nullptr);

// The number of clusters K ∈ [1, max_clusters] maximising the eigengap
// μ_K − μ_{K+1} of descending eigenvalues (needs max_clusters + 1 of them;
// ties to the smaller K).
std::uint64_t eigengap_clusters(const std::vector<double>& eigenvalues, std::uint64_t max_clusters);

struct SpectralClusteringOptions {
  std::uint64_t clusters = 0;      // 0 = from the eigengap
  std::uint64_t max_clusters = 10; // eigengap search range
  int n_init = 10;                 // k-means restarts
  SpectralOptions spectral;
};

struct SpectralClustering {
  std::vector<std::int64_t> labels;  // per local vertex, in [0, clusters)
  std::uint64_t clusters = 0;
  std::uint64_t components = 0;
  std::vector<double> eigenvalues;   // the computed leading eigenvalues of S
};

// Collective. Ng, Jordan & Weiss (2001): the K leading eigenvectors of S,
// each row scaled to unit length, clustered by the distributed k-means
// (k-means||, n_init restarts, seeded by options.spectral.seed).
SpectralClustering spectral_clustering(const DistGraph& graph, const SpectralClusteringOptions& options,
                                       const par::Comm& comm);

// Collective. communities.method = "spectral": spectral_clustering with
// options.clusters / max_clusters / seed; logs K, the leading eigenvalues
// and (as a warning) a graph of several components. Labels per local vertex.
std::vector<std::int64_t> spectral_communities(const DistGraph& graph, const CommunityOptions& options,
                                               const par::Comm& comm);

}  // namespace phenoscale::ml
