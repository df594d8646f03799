// Bootstrap statistics of phenotype-cluster proportions between drug conditions.
//
// DeepHACKS (Ma et al. 2024) asks whether a drug changes how often each
// protrusion phenotype occurs: every observation (a time-series segment) has a
// cell, a condition and a cluster label, and the statistic is the *pooled*
// proportion of a cluster in a condition, Σ_cells count_c / Σ_cells count.
// Observations of one cell are not independent, so the resampling unit is the
// cell: a replicate redraws, within each condition separately, as many cells as
// the condition has, uniformly with replacement (Efron & Tibshirani 1993, "An
// Introduction to the Bootstrap", ch. 6 and 14). Per-cell cluster counts are a
// sufficient statistic, so the sharded observations are reduced once to a
// global cells × clusters table and the replicate loop only reads the table.
//
// Rank-count independence: replicates are split over ranks in BlockPartition
// blocks, and replicate r draws from core::Rng(seed, Stream::bootstrap, r) in
// a fixed order — conditions in ascending id, then draws j = 0 .. n_k − 1, each
// `rng.below(n_k)` (n_k = cells of condition k). The replicate proportions are
// gathered in replicate order and every rank computes the same intervals and
// p-values from them, so the outputs are identical at any rank count.
//
// Definitions (all comparisons are treatment − control, "paired" replicates:
// d_r = P_r[treatment, c] − P_r[control, c] from the same replicate r):
//   p_greater  = (1 + #{r : d_r ≤ 0}) / (1 + R)   (H1: treatment increases c)
//   p_less     = (1 + #{r : d_r ≥ 0}) / (1 + R)   (H1: treatment decreases c)
//   p_two_sided = min(1, 2 · min(p_greater, p_less))
//   p_greater_holm, p_less_holm: Holm's (1979) step-down adjustment of the
//     one-sided p-values, the family being one treatment's 2C statements
//     (every cluster, both directions): the table a reader scans for
//     "significant" rows, so a row below α keeps the family-wise error ≤ α
//     under any dependence between clusters.
//   quantile(q) of the R sorted d_r: linear interpolation at position
//     h = (R − 1) q (NumPy's default "linear" method).
//   percentile CI = [quantile(α/2), quantile(1 − α/2)], α = 1 − confidence;
//     of the difference d_r, and (ci_proportion) of each condition's own
//     pooled proportion P_r[k, c] — the error bars of a proportion bar plot.
//   BCa CI (E&T §14.3, eqs. 14.9–14.15): z0 = Φ⁻¹(#{d_r < d̂} / R);
//     a = Σ_i (θ̄ − θ_(i))³ / (6 [Σ_i (θ̄ − θ_(i))²]^{3/2}) over the jackknife
//     values θ_(i) of the difference with cell i left out of its condition
//     (cells of both conditions; a cell whose removal leaves its condition with
//     no observations is skipped; a = 0 when the denominator is 0);
//     α_{1,2} = Φ(z0 + (z0 + z_{α/2, 1−α/2}) / (1 − a (z0 + z_{α/2, 1−α/2})));
//     CI = [quantile(α_1), quantile(α_2)]. NaN when #{d_r < d̂} is 0 or R
//     (z0 infinite — e.g. a cluster that is never observed).
//   Cohen's d of the per-cell proportions q_i = count_ic / count_i:
//     (mean_t − mean_ctrl) / s_pooled, s_pooled² = (Σ_t (q − mean_t)² +
//     Σ_ctrl (q − mean_ctrl)²) / (n_t + n_ctrl − 2); 0 when both means and
//     s_pooled are 0 (a never-observed cluster), NaN when n_t + n_ctrl < 3 or
//     s_pooled = 0 with different means.
// A cell is a distinct (condition, group) pair, so group ids may restart in
// each condition.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "phenoscale/par/comm.hpp"
#include "phenoscale/par/partition.hpp"

namespace phenoscale::ml {

// This rank's block of observations: three parallel per-row vectors.
struct Observations {
  std::vector<std::int64_t> labels;      // cluster label, ≥ 0
  std::vector<std::int64_t> groups;      // cell id
  std::vector<std::int64_t> conditions;  // condition id
};

// Collective. Reads the three int64 datasets of `file` (row blocks of the
// BlockPartition); throws InputError naming both datasets when their lengths differ.
Observations read_observations(const std::string& file, const std::string& labels_dataset,
                               const std::string& groups_dataset,
                               const std::string& conditions_dataset, const par::Comm& comm);

// The global per-cell count table, identical on every rank. Cells are ordered
// by (condition, group); the cells of condition k are [cell_begin[k], cell_begin[k+1]).
struct CellTable {
  std::vector<std::int64_t> conditions;     // distinct condition ids, ascending
  std::vector<std::uint64_t> cell_begin;    // conditions.size() + 1 offsets
  std::vector<std::int64_t> cell_condition; // per cell
  std::vector<std::int64_t> cell_group;     // per cell
  std::uint64_t clusters = 0;
  std::vector<double> counts;               // cells × clusters
  std::vector<double> totals;               // per cell: observations

  std::uint64_t cells() const { return totals.size(); }
  std::uint64_t cells_in(std::size_t condition) const {
    return cell_begin[condition + 1] - cell_begin[condition];
  }
};

// Collective. `clusters` = 0 takes max label + 1 over all ranks; otherwise
// labels must lie in [0, clusters). Errors are agreed on all ranks.
CellTable build_cell_table(const Observations& local, std::uint64_t clusters, const par::Comm& comm);

// The resample indices of replicates [replicates.begin, replicates.end):
// row-major (replicates × cells); entry (r, j) is the table index of the j-th
// drawn cell, draws of condition k occupying columns [cell_begin[k], cell_begin[k+1]).
// Exposed so tests can feed exactly these draws to a reference implementation.
std::vector<std::uint32_t> resample_indices(const CellTable& table, std::uint64_t seed,
                                            par::Range replicates);

struct BootstrapOptions {
  std::uint64_t replicates = 10000;
  double confidence = 0.95;
  std::int64_t control = 0;
  std::uint64_t seed = 0;
  double progress_interval_s = 10.0;  // core::Progress lines when stderr is not a terminal
};

struct BootstrapResult {
  std::vector<std::int64_t> conditions;   // K ids, ascending
  std::vector<std::int64_t> treatments;   // the non-control ids compared with control (M)
  std::int64_t control = 0;
  std::uint64_t clusters = 0;             // C
  std::uint64_t replicates = 0;           // R
  double confidence = 0.95;
  std::vector<double> proportions;        // K × C, observed pooled proportions
  std::vector<double> ci_proportion;      // K × C × 2: percentile CI of each pooled proportion
  std::vector<double> replicate_proportions;  // R × K × C
  // M × C each:
  std::vector<double> difference, p_greater, p_less, p_two_sided, cohens_d;
  std::vector<double> p_greater_holm, p_less_holm;
  std::vector<double> bias_correction, acceleration;  // z0 and a of the BCa interval
  // M × C × 2 (lower, upper):
  std::vector<double> ci_percentile, ci_bca;
};

// Collective. Replicates are computed in BlockPartition blocks over `comm`
// (OpenMP inside a block) and gathered; the result is identical on every rank
// and at every rank count. Throws ConfigError when the control condition is
// absent or there is no other condition.
BootstrapResult bootstrap(const CellTable& table, const BootstrapOptions& options,
                          const par::Comm& comm);

// Holm's (1979) step-down adjusted p-values, in the input order: with the m
// finite p-values sorted ascending, p̃_(j) = max_{i ≤ j} min(1, (m − i + 1) p_(i))
// (R's p.adjust(p, "holm")). NaN entries are not part of the family and stay NaN.
std::vector<double> holm_adjust(const std::vector<double>& p);

// NumPy's default ("linear") quantile q ∈ [0, 1] of sorted values (NaN when
// there are none): every percentile band and CI of the project uses it.
double quantile_sorted(const std::vector<double>& sorted, double q);

// Standard normal CDF Φ and its inverse (Acklam's rational approximation
// refined by two Halley steps; |error| ≲ 1e-15).
double normal_cdf(double x);
double normal_quantile(double p);

}  // namespace phenoscale::ml
