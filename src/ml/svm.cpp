// RBF SVM over libsvm (see svm.hpp).
#include "phenoscale/ml/svm.hpp"

#include <svm.h>

#include <algorithm>
#include <cmath>
#include <exception>
#include <string>

#include "phenoscale/core/error.hpp"
#include "phenoscale/core/log.hpp"
#include "phenoscale/ml/cross_validation.hpp"

namespace phenoscale::ml {
namespace {

using core::cat;

void silent(const char*) {}

// libsvm's node rows (index 1..d, then the −1 terminator) of the rows `which`
// of a standardised matrix, the labels as dense class indices, and the
// problem pointing into them. The model libsvm trains on it points into the
// same nodes, so a TrainedMachine owns both and frees the model first.
struct TrainedMachine {
  std::vector<svm_node> nodes;
  std::vector<svm_node*> rows;
  std::vector<double> y;
  svm_problem problem{};
  svm_model* model = nullptr;

  TrainedMachine() = default;
  TrainedMachine(const TrainedMachine&) = delete;
  TrainedMachine& operator=(const TrainedMachine&) = delete;
  ~TrainedMachine() {
    if (model) svm_free_and_destroy_model(&model);
  }
};

void fill_nodes(const double* row, std::size_t d, svm_node* out) {
  for (std::size_t j = 0; j < d; ++j) out[j] = {static_cast<int>(j + 1), row[j]};
  out[d] = {-1, 0.0};
}

std::unique_ptr<TrainedMachine> train_machine(const std::vector<double>& xs, std::size_t d,
                                              const std::vector<int>& classes, const std::vector<std::size_t>& which,
                                              double c, double gamma) {
  auto m = std::make_unique<TrainedMachine>();
  m->nodes.resize(which.size() * (d + 1));
  m->rows.resize(which.size());
  m->y.resize(which.size());
  for (std::size_t i = 0; i < which.size(); ++i) {
    fill_nodes(xs.data() + which[i] * d, d, m->nodes.data() + i * (d + 1));
    m->rows[i] = m->nodes.data() + i * (d + 1);
    m->y[i] = classes[which[i]];
  }
  m->problem.l = static_cast<int>(which.size());
  m->problem.y = m->y.data();
  m->problem.x = m->rows.data();
  svm_parameter p{};
  p.svm_type = C_SVC;
  p.kernel_type = RBF;
  p.gamma = gamma;
  p.C = c;
  p.cache_size = 100.0;
  p.eps = 1e-3;
  p.shrinking = 1;
  p.probability = 0;
  p.nr_weight = 0;
  if (const char* problem = svm_check_parameter(&m->problem, &p))
    throw InputError(cat("SVM: libsvm rejected C = ", c, ", gamma = ", gamma, ": ", problem));
  m->model = svm_train(&m->problem, &p);
  if (!m->model) throw IoError("SVM: libsvm failed to train a model");
  return m;
}

int predict_row(const TrainedMachine& m, const double* row, std::size_t d, std::vector<svm_node>& scratch) {
  scratch.resize(d + 1);
  fill_nodes(row, d, scratch.data());
  return static_cast<int>(std::lround(svm_predict(m.model, scratch.data())));
}

}  // namespace

struct RbfSvmClassifier::Model {
  std::unique_ptr<TrainedMachine> machine;
  std::vector<std::int64_t> labels;  // class index -> user label
};

RbfSvmClassifier::RbfSvmClassifier() { svm_set_print_string_function(&silent); }
RbfSvmClassifier::~RbfSvmClassifier() = default;
RbfSvmClassifier::RbfSvmClassifier(RbfSvmClassifier&&) noexcept = default;
RbfSvmClassifier& RbfSvmClassifier::operator=(RbfSvmClassifier&&) noexcept = default;

bool RbfSvmClassifier::fitted() const { return model_ && model_->machine; }

std::size_t RbfSvmClassifier::support_vectors() const {
  return fitted() ? static_cast<std::size_t>(svm_get_nr_sv(model_->machine->model)) : 0;
}

namespace {

// Validates the training data; returns the sorted distinct labels and each
// row's class index.
std::vector<std::int64_t> check_training(const std::vector<double>& x, std::size_t d,
                                         const std::vector<std::int64_t>& y, std::vector<int>& classes) {
  if (d == 0) throw InputError("SVM: feature dimension is 0");
  if (x.size() % d != 0 || x.size() / d != y.size())
    throw InputError(cat("SVM: ", y.size(), " labels for ", x.size() / d, " feature rows of dimension ", d,
                         (x.size() % d ? cat(" (", x.size(), " values is not a multiple of ", d, ")") : std::string())));
  for (std::size_t i = 0; i < x.size(); ++i)
    if (!std::isfinite(x[i]))
      throw InputError(cat("SVM: feature ", i % d, " of training row ", i / d, " is not finite (", x[i], ")"));
  std::vector<std::int64_t> labels(y.begin(), y.end());
  std::sort(labels.begin(), labels.end());
  labels.erase(std::unique(labels.begin(), labels.end()), labels.end());
  if (labels.size() < 2)
    throw InputError(cat("SVM: the training set holds ", labels.empty() ? 0 : 1,
                         " class(es)", labels.empty() ? std::string() : cat(" (label ", labels[0], ")"),
                         "; a classifier needs at least 2"));
  classes.resize(y.size());
  for (std::size_t i = 0; i < y.size(); ++i)
    classes[i] = static_cast<int>(std::lower_bound(labels.begin(), labels.end(), y[i]) - labels.begin());
  return labels;
}

// The training rows' column scaling (ml/cross_validation.hpp) applied to all of `x`.
std::vector<double> standardised(const std::vector<double>& x, std::size_t d, const std::vector<double>& mean,
                                 const std::vector<double>& scale) {
  Standardiser s;
  s.mean = mean;
  s.scale = scale;
  s.present.assign(d, true);
  return s.apply(x);
}

}  // namespace

void RbfSvmClassifier::fit(const std::vector<double>& x, std::size_t d, const std::vector<std::int64_t>& y, double c,
                           double gamma) {
  if (!(c > 0) || !(gamma > 0) || !std::isfinite(c) || !std::isfinite(gamma))
    throw InputError(cat("SVM: C and gamma must be positive and finite, got C = ", c, ", gamma = ", gamma));
  std::vector<int> classes;
  auto labels = check_training(x, d, y, classes);
  standardise_like(x, d);
  std::vector<std::size_t> all(y.size());
  for (std::size_t i = 0; i < all.size(); ++i) all[i] = i;
  auto model = std::make_unique<Model>();
  model->machine = train_machine(standardised(x, d, mean_, scale_), d, classes, all, c, gamma);
  model->labels = std::move(labels);
  model_ = std::move(model);
  d_ = d;
  c_ = c;
  gamma_ = gamma;
}

void RbfSvmClassifier::standardise_like(const std::vector<double>& x, std::size_t d) {
  std::vector<std::size_t> all(x.size() / d);
  for (std::size_t i = 0; i < all.size(); ++i) all[i] = i;
  Standardiser s = Standardiser::fit(x, d, all);
  mean_ = std::move(s.mean);
  scale_ = std::move(s.scale);
}

void RbfSvmClassifier::fit_cross_validated(const std::vector<double>& x, std::size_t d,
                                           const std::vector<std::int64_t>& y, const SvmGrid& grid,
                                           const par::Comm* comm) {
  std::vector<int> classes;
  const auto labels = check_training(x, d, y, classes);
  if (grid.log2_c.empty() || grid.gamma_scales.empty())
    throw InputError("SVM: the cross-validation grid of C and gamma is empty");
  for (double s : grid.gamma_scales)
    if (!(s > 0)) throw InputError(cat("SVM: gamma scale ", s, " is not positive"));
  const std::size_t n = y.size();

  // Stratified folds: each class's rows in a seeded order, dealt round-robin.
  std::vector<std::size_t> class_rows(labels.size(), 0);
  for (int k : classes) ++class_rows[static_cast<std::size_t>(k)];
  const std::size_t smallest = *std::min_element(class_rows.begin(), class_rows.end());
  if (smallest < 2)
    throw InputError(cat("SVM: a class of the training set has a single row; cross-validation needs at least 2 per class"));
  const int folds = static_cast<int>(std::min<std::size_t>(std::max(grid.folds, 2), smallest));
  const std::vector<int> fold_of = stratified_folds(classes, static_cast<int>(labels.size()), folds, grid.seed,
                                                    0x5356'4d00ULL);  // "SVM" folds, one stream per class
  std::vector<SvmCvPoint> points;
  for (double lc : grid.log2_c)
    for (double s : grid.gamma_scales) points.push_back({std::exp2(lc), s / double(d), 0.0});
  const std::int64_t tasks = static_cast<std::int64_t>(points.size()) * folds;
  const int rank = comm ? comm->rank() : 0, size = comm ? comm->size() : 1;
  // One slot per task, plus a count of failed tasks so that every rank
  // learns of a failure on any rank (no rank waits alone in the reduction).
  std::vector<std::int64_t> correct(static_cast<std::size_t>(tasks) + 1, 0);
  // This rank's first failure, from the folds' preparation (the standardised
  // copies are folds × n × d values: a bad_alloc on one rank) or a task:
  // the rank still joins the reduction, which tells every rank.
  std::string first_error;
  try {
    // Each fold is standardised with its own training rows, as the final
    // model is with the whole training set: the held-out rows never shape
    // the scaling.
    std::vector<std::vector<std::size_t>> train_rows(folds), held_out_rows(folds);
    std::vector<std::vector<double>> xs(folds);
    for (int f = 0; f < folds; ++f) {
      for (std::size_t i = 0; i < n; ++i) (fold_of[i] == f ? held_out_rows : train_rows)[f].push_back(i);
      xs[f] = Standardiser::fit(x, d, train_rows[f]).apply(x);
    }
    std::vector<std::string> errors(static_cast<std::size_t>(tasks));
#pragma omp parallel for schedule(dynamic, 1)
    for (std::int64_t t = rank; t < tasks; t += size) {
      try {
        const auto& point = points[static_cast<std::size_t>(t / folds)];
        const int fold = static_cast<int>(t % folds);
        const auto m = train_machine(xs[fold], d, classes, train_rows[fold], point.c, point.gamma);
        std::vector<svm_node> scratch;
        std::int64_t right = 0;
        for (std::size_t i : held_out_rows[fold])
          right += predict_row(*m, xs[fold].data() + i * d, d, scratch) == classes[i];
        correct[static_cast<std::size_t>(t)] = right;
      } catch (const std::exception& e) {
        errors[static_cast<std::size_t>(t)] = e.what();
      }
    }
    for (const auto& e : errors)
      if (!e.empty() && first_error.empty()) first_error = e;
  } catch (const std::exception& e) {
    first_error = cat("SVM: preparing the cross-validation folds: ", e.what());
  }
  correct.back() = first_error.empty() ? 0 : 1;
  if (comm) comm->allreduce_sum_inplace(correct);
  if (correct.back() > 0)
    throw InputError(first_error.empty() ? cat("SVM: cross-validation failed on another rank") : first_error);
  std::size_t best = 0;
  for (std::size_t g = 0; g < points.size(); ++g) {
    std::int64_t right = 0;
    for (int f = 0; f < folds; ++f) right += correct[g * folds + f];
    points[g].accuracy = double(right) / double(n);
    if (points[g].accuracy > points[best].accuracy) best = g;
  }
  // Ties: the smaller C, then the smaller γ (the smoother machine), whatever the grid's order.
  for (std::size_t g = 0; g < points.size(); ++g)
    if (points[g].accuracy == points[best].accuracy &&
        (points[g].c < points[best].c || (points[g].c == points[best].c && points[g].gamma < points[best].gamma)))
      best = g;
  fit(x, d, y, points[best].c, points[best].gamma);
  cv_ = std::move(points);
  folds_used_ = folds;
}

std::vector<std::int64_t> RbfSvmClassifier::predict(const std::vector<double>& x) const {
  if (!fitted()) throw Error("SVM: predict called before fit");
  if (x.size() % d_ != 0)
    throw InputError(cat("SVM: ", x.size(), " values are not rows of the trained dimension ", d_));
  const std::size_t n = x.size() / d_;
  std::vector<std::int64_t> out(n);
  const std::vector<double> xs = standardised(x, d_, mean_, scale_);
#pragma omp parallel
  {
    std::vector<svm_node> scratch;
#pragma omp for schedule(static)
    for (std::int64_t i = 0; i < static_cast<std::int64_t>(n); ++i)
      out[static_cast<std::size_t>(i)] =
          model_->labels[static_cast<std::size_t>(predict_row(*model_->machine, xs.data() + i * d_, d_, scratch))];
  }
  return out;
}

}  // namespace phenoscale::ml
