// RBF-kernel support vector machine: the classifier of the RIF-SVM baseline
// of Xu et al. 2017 (Table 2: rotation-invariant features + RBF SVM,
// compared with Inception3D and DSRF3D).
//
// A thin, owning wrapper around libsvm (Chang & Lin; Debian libsvm-dev):
// C-SVC, kernel exp(−γ‖x − x'‖²), multi-class one-vs-one (libsvm's own
// scheme: k(k−1)/2 binary machines, majority vote). libsvm's C structures
// (problem, node arrays, model) live behind a pimpl with RAII: the model
// points into the training nodes (it does not copy its support vectors), so
// both are owned together and freed together.
//
// Features are standardised with the training set's mean and standard
// deviation (constant columns are left centred, not scaled); in
// cross-validation each fold is standardised with its own training rows, so
// the held-out rows never leak into the scaling. C and γ are
// chosen by stratified k-fold cross-validation on the training set over a
// grid C = 2^log2_c, γ = scale / d (d = feature dimension, so the default
// γ is libsvm's 1/d): the highest CV accuracy wins, ties go to the smaller C
// and then the smaller γ (the smoother machine). Folds come from a seeded
// permutation of each class (core::Rng), never from libsvm's rand(), so the
// choice is reproducible; the grid's fits are independent and run in
// parallel (OpenMP, and over MPI ranks when a communicator is given) into
// fixed slots, so the result does not depend on thread or rank counts.
//
// libsvm prints progress through a process-wide function pointer; the
// classifier silences it on construction (a no-op printer — the only global
// libsvm state this touches, and idempotent).
#pragma once

#include <cstdint>
#include <memory>
#include <vector>

#include "phenoscale/par/comm.hpp"

namespace phenoscale::ml {

struct SvmGrid {
  std::vector<double> log2_c = {-1.0, 1.0, 3.0, 5.0, 7.0};
  std::vector<double> gamma_scales = {0.25, 1.0, 4.0};  // γ = scale / d
  int folds = 5;
  std::uint64_t seed = 0;
};

struct SvmCvPoint {
  double c = 0.0, gamma = 0.0;
  double accuracy = 0.0;  // fraction of training rows predicted right when held out
};

class RbfSvmClassifier {
 public:
  RbfSvmClassifier();
  ~RbfSvmClassifier();
  RbfSvmClassifier(RbfSvmClassifier&&) noexcept;
  RbfSvmClassifier& operator=(RbfSvmClassifier&&) noexcept;
  RbfSvmClassifier(const RbfSvmClassifier&) = delete;
  RbfSvmClassifier& operator=(const RbfSvmClassifier&) = delete;

  // Trains on `x` (rows × d, row-major) with class labels `y` (any int64
  // values, at least two distinct) at fixed C and γ (γ in units of the
  // standardised features). Throws InputError on mismatched sizes, fewer
  // than two classes, non-finite values or C, γ ≤ 0.
  void fit(const std::vector<double>& x, std::size_t d, const std::vector<std::int64_t>& y, double c, double gamma);

  // Cross-validates the grid, then trains on all of `x` with the best
  // (C, γ). With a communicator the grid's fits are shared out over the
  // ranks (collective; every rank must pass the same data and ends with
  // the same model). Folds are lowered to the smallest class's row count;
  // throws InputError as `fit`, and when a class has a single row (no fold
  // could hold it out and train on it too).
  void fit_cross_validated(const std::vector<double>& x, std::size_t d, const std::vector<std::int64_t>& y,
                           const SvmGrid& grid, const par::Comm* comm = nullptr);

  // Predicted labels of `x` (rows × d). Throws if not fitted or d differs.
  std::vector<std::int64_t> predict(const std::vector<double>& x) const;

  bool fitted() const;
  double c() const { return c_; }
  double gamma() const { return gamma_; }
  std::size_t dimension() const { return d_; }
  std::size_t support_vectors() const;
  int folds_used() const { return folds_used_; }
  // The cross-validation grid, log2_c-major (empty after plain `fit`).
  const std::vector<SvmCvPoint>& cross_validation() const { return cv_; }

 private:
  // Mean and 1/std of every column of `x` (rows × d) into mean_, scale_.
  void standardise_like(const std::vector<double>& x, std::size_t d);

  struct Model;
  std::unique_ptr<Model> model_;
  std::vector<double> mean_, scale_;
  std::size_t d_ = 0;
  double c_ = 0.0, gamma_ = 0.0;
  int folds_used_ = 0;
  std::vector<SvmCvPoint> cv_;
};

}  // namespace phenoscale::ml
