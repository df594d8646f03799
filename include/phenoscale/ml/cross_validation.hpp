// Building blocks of cross-validated classification, shared by every
// classifier that is scored out of fold: the RBF SVM's choice of (C, γ)
// (ml/svm.hpp) and the downstream classifier of DeepSPT fingerprints
// (Kæstel-Hansen et al. 2024; docs/methods.md §2.7, `spt classify`).
//
//  - stratified_folds: each class's rows in a seeded permutation, dealt
//    round-robin into the folds, so every fold holds each class's share to
//    within one row (scikit-learn's StratifiedKFold with shuffling, but with
//    the permutation from core::Rng: reproducible and rank-count independent);
//  - group_folds: one fold per distinct group value (leave-one-group-out,
//    e.g. leave-one-experiment-out);
//  - oversample: random oversampling of the minority classes of a training
//    set (imbalanced-learn's RandomOverSampler): every class is topped up to
//    the largest class's count by rows drawn with replacement from itself;
//  - Standardiser: column means and standard deviations of the training rows
//    only, so held-out rows never shape the scaling; non-finite values are
//    missing: left out of the statistics and imputed by the training mean;
//  - ConfusionMatrix: counts true × predicted and the field's scores
//    (accuracy; F1 per class; macro-F1 = the unweighted mean of the F1 of
//    the classes present in truth or prediction, scikit-learn's
//    f1_score(average="macro")).
#pragma once

#include <cstdint>
#include <vector>

#include "phenoscale/core/rng.hpp"

namespace phenoscale::ml {

// Fold (0..folds-1) of every row. `classes` holds class indices in
// 0..class_count-1; class k's rows are permuted by
// core::Rng(seed, Stream::split, salt + k) and row j of that order goes to
// fold j mod folds. Callers pick distinct salts so that their folds are
// independent of each other's.
std::vector<int> stratified_folds(const std::vector<int>& classes, int class_count, int folds, std::uint64_t seed,
                                  std::uint64_t salt);

// Fold of every row = index of its group among the sorted distinct values
// of `groups` (so fold f holds out the f-th smallest group).
std::vector<int> group_folds(const std::vector<std::int64_t>& groups);

// The rows of a training set after random oversampling: `rows` unchanged
// and in order, then for each class k (ascending) with n_k < max_k n_k rows,
// max − n_k of its rows drawn uniformly with replacement from `rng`. Classes
// absent from `rows` stay absent. `classes` is indexed by row.
std::vector<std::size_t> oversample(const std::vector<std::size_t>& rows, const std::vector<int>& classes,
                                    int class_count, core::Rng& rng);

// Column scaling fitted on training rows of a row-major matrix (rows × d).
struct Standardiser {
  std::vector<double> mean;   // per column, over the finite training values
  std::vector<double> scale;  // 1 / standard deviation (population); 1 for a constant column
  std::vector<bool> present;  // false: no finite training value (the column is zeroed)

  // Statistics of `rows` of `x`. A column whose standard deviation is below
  // 1e-12 (1 + |mean|) is constant: centred, not scaled.
  static Standardiser fit(const std::vector<double>& x, std::size_t d, const std::vector<std::size_t>& rows);
  // (x − mean) · scale for every value of `x` (rows × d); a non-finite
  // value becomes 0 (mean imputation), and so does every value of a column
  // that is not present.
  std::vector<double> apply(const std::vector<double>& x) const;
  std::size_t columns() const { return mean.size(); }
};

// K-class confusion counts, true class × predicted class.
struct ConfusionMatrix {
  int classes = 0;
  std::vector<std::int64_t> counts;  // classes × classes, row = true class

  explicit ConfusionMatrix(int class_count = 0);
  void add(int truth, int predicted);
  std::int64_t total() const;
  double accuracy() const;    // NaN when empty
  double f1(int k) const;     // 2 TP / (true + predicted rows of k); NaN when k is absent from both
  double macro_f1() const;    // mean of the non-NaN f1; NaN when empty
};

// The same scores on raw counts (classes × classes, row = true class).
double f1_score(const std::int64_t* counts, int classes, int k);
double macro_f1(const std::int64_t* counts, int classes);

}  // namespace phenoscale::ml
