// Folds, oversampling, standardisation and scores (see cross_validation.hpp).
#include "phenoscale/ml/cross_validation.hpp"

#include <algorithm>
#include <cmath>
#include <limits>
#include <string>

#include "phenoscale/core/error.hpp"
#include "phenoscale/core/log.hpp"

namespace phenoscale::ml {

using core::cat;

namespace {

constexpr double kNaN = std::numeric_limits<double>::quiet_NaN();

void check_classes(const std::vector<int>& classes, int class_count, const char* who) {
  for (std::size_t i = 0; i < classes.size(); ++i) {
    if (classes[i] < 0 || classes[i] >= class_count)
      throw InputError(cat(who, ": class ", classes[i], " of row ", i, " is outside 0..", class_count - 1));
  }
}

// Each class's rows, in row order.
std::vector<std::vector<std::size_t>> rows_by_class(const std::vector<std::size_t>& rows,
                                                    const std::vector<int>& classes, int class_count) {
  std::vector<std::vector<std::size_t>> by_class(static_cast<std::size_t>(class_count));
  for (std::size_t i : rows) by_class[static_cast<std::size_t>(classes[i])].push_back(i);
  return by_class;
}

}  // namespace

std::vector<int> stratified_folds(const std::vector<int>& classes, int class_count, int folds, std::uint64_t seed,
                                  std::uint64_t salt) {
  if (folds < 1) throw InputError(cat("stratified folds: ", folds, " folds requested; expected at least 1"));
  check_classes(classes, class_count, "stratified folds");
  std::vector<std::size_t> all(classes.size());
  for (std::size_t i = 0; i < all.size(); ++i) all[i] = i;
  auto by_class = rows_by_class(all, classes, class_count);
  std::vector<int> fold_of(classes.size(), 0);
  for (std::size_t k = 0; k < by_class.size(); ++k) {
    auto& rows = by_class[k];
    core::Rng rng(seed, core::Stream::split, salt + k);  // one stream per class
    for (std::size_t i = rows.size(); i > 1; --i) std::swap(rows[i - 1], rows[rng.below(i)]);
    for (std::size_t i = 0; i < rows.size(); ++i) fold_of[rows[i]] = static_cast<int>(i % static_cast<std::size_t>(folds));
  }
  return fold_of;
}

std::vector<int> group_folds(const std::vector<std::int64_t>& groups) {
  std::vector<std::int64_t> distinct(groups);
  std::sort(distinct.begin(), distinct.end());
  distinct.erase(std::unique(distinct.begin(), distinct.end()), distinct.end());
  std::vector<int> fold_of(groups.size());
  for (std::size_t i = 0; i < groups.size(); ++i)
    fold_of[i] = static_cast<int>(std::lower_bound(distinct.begin(), distinct.end(), groups[i]) - distinct.begin());
  return fold_of;
}

std::vector<std::size_t> oversample(const std::vector<std::size_t>& rows, const std::vector<int>& classes,
                                    int class_count, core::Rng& rng) {
  check_classes(classes, class_count, "oversampling");
  const auto by_class = rows_by_class(rows, classes, class_count);
  std::size_t largest = 0;
  for (const auto& c : by_class) largest = std::max(largest, c.size());
  std::vector<std::size_t> out = rows;
  for (const auto& c : by_class) {
    if (c.empty()) continue;  // a class the training set lacks cannot be drawn
    for (std::size_t extra = c.size(); extra < largest; ++extra) out.push_back(c[rng.below(c.size())]);
  }
  return out;
}

Standardiser Standardiser::fit(const std::vector<double>& x, std::size_t d, const std::vector<std::size_t>& rows) {
  if (d == 0 || x.size() % d != 0)
    throw InputError(cat("standardisation: ", x.size(), " values are not rows of ", d, " columns"));
  Standardiser s;
  s.mean.assign(d, 0.0);
  s.scale.assign(d, 1.0);
  s.present.assign(d, false);
  std::vector<double> count(d, 0.0), var(d, 0.0);
  // Two passes (mean, then squared deviations) in row order: the SVM's
  // historical arithmetic, so its cross-validation is unchanged bit for bit.
  for (std::size_t i : rows)
    for (std::size_t j = 0; j < d; ++j) {
      const double v = x[i * d + j];
      if (std::isfinite(v)) s.mean[j] += v, count[j] += 1.0;
    }
  for (std::size_t j = 0; j < d; ++j) s.mean[j] = count[j] > 0 ? s.mean[j] / count[j] : 0.0;
  for (std::size_t i : rows)
    for (std::size_t j = 0; j < d; ++j) {
      const double v = x[i * d + j];
      if (std::isfinite(v)) var[j] += (v - s.mean[j]) * (v - s.mean[j]);
    }
  for (std::size_t j = 0; j < d; ++j) {
    s.present[j] = count[j] > 0;
    if (!s.present[j]) continue;
    const double sd = std::sqrt(var[j] / count[j]);
    s.scale[j] = sd > 1e-12 * (1.0 + std::fabs(s.mean[j])) ? 1.0 / sd : 1.0;
  }
  return s;
}

std::vector<double> Standardiser::apply(const std::vector<double>& x) const {
  const std::size_t d = mean.size();
  if (d == 0 || x.size() % d != 0)
    throw InputError(cat("standardisation: ", x.size(), " values are not rows of the fitted ", d, " columns"));
  std::vector<double> out(x.size());
  for (std::size_t i = 0; i < x.size(); ++i) {
    const std::size_t j = i % d;
    out[i] = present[j] && std::isfinite(x[i]) ? (x[i] - mean[j]) * scale[j] : 0.0;
  }
  return out;
}

ConfusionMatrix::ConfusionMatrix(int class_count)
    : classes(class_count), counts(static_cast<std::size_t>(class_count) * static_cast<std::size_t>(class_count), 0) {}

void ConfusionMatrix::add(int truth, int predicted) {
  if (truth < 0 || truth >= classes || predicted < 0 || predicted >= classes)
    throw Error(cat("confusion matrix: class pair (", truth, ", ", predicted, ") outside 0..", classes - 1));
  ++counts[static_cast<std::size_t>(truth) * static_cast<std::size_t>(classes) + static_cast<std::size_t>(predicted)];
}

std::int64_t ConfusionMatrix::total() const {
  std::int64_t n = 0;
  for (auto c : counts) n += c;
  return n;
}

double ConfusionMatrix::accuracy() const {
  std::int64_t right = 0;
  for (int k = 0; k < classes; ++k) right += counts[static_cast<std::size_t>(k) * classes + k];
  return total() > 0 ? double(right) / double(total()) : kNaN;
}

double ConfusionMatrix::f1(int k) const { return f1_score(counts.data(), classes, k); }
double ConfusionMatrix::macro_f1() const { return ml::macro_f1(counts.data(), classes); }

double f1_score(const std::int64_t* counts, int classes, int k) {
  std::int64_t truth = 0, predicted = 0;
  for (int j = 0; j < classes; ++j) {
    truth += counts[k * classes + j];
    predicted += counts[j * classes + k];
  }
  if (truth + predicted == 0) return kNaN;
  // 2 TP / (2 TP + FP + FN), written with the row and column sums.
  return 2.0 * double(counts[k * classes + k]) / double(truth + predicted);
}

double macro_f1(const std::int64_t* counts, int classes) {
  double sum = 0.0;
  int present = 0;
  for (int k = 0; k < classes; ++k) {
    const double f = f1_score(counts, classes, k);
    if (!std::isnan(f)) sum += f, ++present;
  }
  return present ? sum / present : kNaN;
}

}  // namespace phenoscale::ml
