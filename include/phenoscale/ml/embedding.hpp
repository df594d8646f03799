// Low-dimensional embeddings for figures: Barnes–Hut t-SNE (2-D) and UMAP
// (any number of components; 2 by default).
//
// The tomo paper shows t-SNE maps of the CNN features of subtomograms, and
// DeepHACKS shows UMAPs of cell phenotypes (issue 3). Both are figure tools
// run on at most ~10^5 points, so they run on a single rank: the CLI gathers
// the rows to rank 0 and computes there. Everything is double precision
// internally and the result is stored as float32 N × 2 (t-SNE) or
// N × n_components (UMAP).
//
// t-SNE (van der Maaten 2014, "Accelerating t-SNE using tree-based
// algorithms"): affinities from the ⌊3·perplexity⌋ + 1 nearest neighbours
// with a per-point bisection on the Gaussian precision to match the
// perplexity, symmetrised P = (P + Pᵀ)/2N; gradient descent with early
// exaggeration, momentum 0.5 → 0.8 and per-coordinate gains (the schedule of
// van der Maaten's paper, as scikit-learn runs it); repulsion by a
// Barnes–Hut quadtree. Learning rate 0 means scikit-learn ≥ 1.2's "auto",
// max(N / early_exaggeration / 4, 50). Every iteration runs (no early stop on
// small gradients). Forces are computed per point with OpenMP and combined in
// point order, so coordinates depend only on the seed, not on the thread count.
//
// UMAP (McInnes, Healy & Melville 2018, §3 and appendix): exact kNN with
// n_neighbors counting the point itself (umap-learn's convention: k − 1 other
// points), ρ_i = distance to the nearest other point, σ_i by bisection so that
// Σ_j exp(−max(d_ij − ρ_i, 0)/σ_i) = log2(k) (σ_i ≥ 10⁻³ × the mean
// neighbour distance), fuzzy union w_ij = a + b − ab; a, b of the low-
// dimensional kernel 1/(1 + a d^{2b}) fitted by least squares to the offset
// exponential of (min_dist, spread) on 300 points of [0, 3·spread] (about
// a = 1.577, b = 0.895 for 0.1, 1); edges sampled by epochs_per_sample, 5
// negative samples per positive sample, learning rate 1 decaying linearly;
// epochs 500 for N ≤ 10^4, 200 above. The layout lives in n_components
// dimensions (McInnes et al. define it for any target dimension; DeepHACKS
// uses 3-D UMAPs with 10 neighbours, min_dist 0.1); distances and gradients
// are the 2-D ones summed over every coordinate, with the same per-coordinate
// clip at ±4. Initialisation is the first n_components principal components
// (or uniform random in n_components dimensions), rescaled to [0, 10] per
// coordinate; components beyond the d input features have no principal axis
// and are drawn at random. Or spectral, as umap-learn's default
// (spectral_layout): the eigenvectors 2 … n_components + 1 of the normalised
// Laplacian of the fuzzy graph (after dropping the edges too weak to be
// sampled), computed by SLEPc on one rank (ml/spectral.hpp), rescaled to
// [0, 10] likewise; umap-learn's 1e-4 noise is not added (the layout stays a
// function of the seed alone) and a graph of several components is not laid
// out component by component as umap-learn does: its leading eigenvectors are
// the component indicators (ml/spectral.hpp), which separates the components. The layout runs
// on one thread in edge order; negative samples are drawn from
// Rng(seed, Stream::embedding, N + epoch · edges + edge), so a run is
// reproducible bit for bit. n_components = 2 gives exactly the coordinates of
// the two-dimensional implementation this generalises.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace phenoscale::ml {

enum class EmbeddingInit { pca, random, spectral };

// "pca", "random" or "spectral" (UMAP only); ConfigError naming `key` otherwise.
EmbeddingInit parse_embedding_init(const std::string& text, const std::string& key);

struct TsneOptions {
  double perplexity = 30.0;
  std::uint64_t iterations = 1000;             // including the exaggeration phase
  double theta = 0.5;                          // Barnes–Hut opening angle; 0 = exact
  double early_exaggeration = 12.0;
  std::uint64_t exaggeration_iterations = 250;
  double learning_rate = 0.0;                  // 0 = "auto", max(N / early_exaggeration / 4, 50)
  EmbeddingInit init = EmbeddingInit::pca;     // PCA scaled to std 1e-4 of PC 1, or N(0, 1e-4²)
  std::uint64_t seed = 0;                      // random init: Rng(seed, Stream::embedding, i)
  std::uint64_t max_points = 100000;           // embed.max_points
  double progress_interval_s = 10.0;           // run.progress_interval_s (core::Progress)
};

struct UmapOptions {
  std::uint64_t n_components = 2;              // output dimensions, >= 1 (embed.components)
  std::uint64_t n_neighbors = 15;              // including the point itself
  double min_dist = 0.1;
  double spread = 1.0;
  std::uint64_t epochs = 0;                    // 0 = 500 for N ≤ 10^4, 200 above
  std::uint64_t negative_samples = 5;          // per positive sample
  double learning_rate = 1.0;                  // decays linearly to 0
  EmbeddingInit init = EmbeddingInit::pca;
  std::uint64_t seed = 0;
  std::uint64_t max_points = 100000;           // embed.max_points
  double progress_interval_s = 10.0;           // run.progress_interval_s (core::Progress)
};

struct EmbeddingResult {
  std::vector<float> coordinates;              // N × 2 (t-SNE) or N × n_components (UMAP), row-major
  std::uint64_t points = 0;
  // t-SNE iterations or UMAP epochs run. Fewer than asked when a stop signal
  // arrived (core::StopSignal: Slurm's warning before the time limit): the
  // descent ends at once, `coordinates` is empty, and the caller's stop point
  // must end the stage (par::stop_point; the stages call it after embedding).
  std::uint64_t iterations = 0;
  // t-SNE only: KL(P‖Q) of the final layout (Q normalised with the Barnes–Hut
  // estimate of Z), and every 50 iterations (against the unexaggerated P).
  double kl_divergence = 0.0;
  std::vector<double> kl_history;
  double learning_rate = 0.0;                  // as used (t-SNE "auto" resolved)
  double a = 0.0, b = 0.0;                     // UMAP kernel parameters
};

// X is N × d, row-major. Throws ConfigError for bad options or N > max_points
// (naming embed.max_points) and InputError for N < 3 or d = 0.
EmbeddingResult tsne(const std::vector<float>& X, std::uint64_t n, std::uint64_t d, const TsneOptions& options);
EmbeddingResult umap(const std::vector<float>& X, std::uint64_t n, std::uint64_t d, const UmapOptions& options);

// ConfigError "embed.max_points = M, but the input has N points ..." when n > max_points.
void check_embedding_size(std::uint64_t n, std::uint64_t max_points);

// Mean over points of |kNN_X(i) ∩ kNN_Y(i)| / k, exact neighbours (the point
// itself excluded, distance ties to the lower index). Y is N × dy.
double knn_preservation(const std::vector<float>& X, std::uint64_t d, const std::vector<float>& Y,
                        std::uint64_t dy, std::uint64_t n, std::uint64_t k = 15);

// Building blocks, public for the known-answer tests.
namespace embedding_detail {

// Exact k nearest other points of every row (single rank, brute force by
// blocked GEMM; the chosen distances are then recomputed directly). Ties in
// distance go to the lower index. Distances are Euclidean (not squared).
struct Neighbours {
  std::uint64_t k = 0;
  std::vector<std::uint64_t> index;  // N × k
  std::vector<double> distance;      // N × k, ascending
};
Neighbours exact_knn(const float* X, std::uint64_t n, std::uint64_t d, std::uint64_t k);

// A weighted kNN edge list made symmetric: both directions i→j and j→i of
// every edge, sorted by (row, col), with the weights of duplicate pairs folded
// by `combine` in ascending weight order (t-SNE adds, UMAP takes the fuzzy union).
struct WeightedPair {
  std::uint64_t row, col;
  double value;
};
std::vector<WeightedPair> symmetric_pairs(const Neighbours& nb, const std::vector<double>& weight,
                                          double (*combine)(double, double));

// Conditional affinities p_{j|i} = exp(−β_i d²_ij) / Σ, with β_i bisected until
// the Shannon entropy (nats) of row i equals log(perplexity). `sq_distances`
// is N × k. Returns the N × k probabilities; `beta` gets the precisions.
std::vector<double> conditional_affinities(const std::vector<double>& sq_distances, std::uint64_t n,
                                           std::uint64_t k, double perplexity, std::vector<double>* beta = nullptr);

// Barnes–Hut quadtree over 2-D points (y is N × 2). For point i it returns
// Σ_{j≠i} q_ij² (y_i − y_j) and Σ_{j≠i} q_ij with q_ij = 1/(1 + |y_i − y_j|²),
// cells whose width / distance to their centre of mass is below θ being
// summarised by that centre. θ = 0 gives the exact sums.
class QuadTree {
 public:
  explicit QuadTree(const std::vector<double>& y);
  // Adds to force[0..1] and returns the partial normalisation Σ_{j≠i} q_ij.
  double repulsion(std::uint64_t i, double theta, double force[2]) const;

 private:
  struct Node {
    double cx, cy, half;         // square cell
    double mx = 0, my = 0;       // centre of mass
    std::uint64_t count = 0;
    std::uint64_t begin = 0, end = 0;  // points (order_) of a leaf
    std::int64_t child = -1;     // first of 4 consecutive children; -1 = leaf
  };
  void build(std::size_t node, int depth);
  const std::vector<double>& y_;
  std::vector<std::uint64_t> order_;
  std::vector<Node> nodes_;
};

// Scores of the rows on the first two principal components (covariance
// eigenvectors, largest-magnitude loading positive), N × 2; the second column
// is zero when d = 1 (t-SNE and UMAP then draw it at random from the seed).
std::vector<double> pca_scores_2d(const float* X, std::uint64_t n, std::uint64_t d);

// The same on the first `components` principal components, N × components;
// columns beyond d are zero (UMAP draws them at random from the seed).
// pca_scores(X, n, d, 2) equals pca_scores_2d bit for bit.
std::vector<double> pca_scores(const float* X, std::uint64_t n, std::uint64_t d, std::uint64_t components);

// Least-squares fit of 1/(1 + a x^{2b}) to 1 (x < min_dist) and
// exp(−(x − min_dist)/spread) (x ≥ min_dist) on 300 points of [0, 3·spread].
void fit_ab(double min_dist, double spread, double& a, double& b);

}  // namespace embedding_detail
}  // namespace phenoscale::ml
