// Fourier-space averaging and reference-free classification
// (see include/phenoscale/tomo/averaging.hpp).
#include "phenoscale/tomo/averaging.hpp"

#include <Eigen/Dense>

#include <algorithm>
#include <cmath>
#include <limits>
#include <numeric>

#include "phenoscale/core/error.hpp"
#include "phenoscale/core/rng.hpp"
#include "phenoscale/tomo/missing_wedge.hpp"

namespace phenoscale::tomo {

FourierAverager::FourierAverager(int n, double voxel_nm) : n_(n), voxel_nm_(voxel_nm) {
  sums_.assign(3 * static_cast<std::size_t>(n) * n * (n / 2 + 1), 0.0);
}

void FourierAverager::add(const Volume& v, double tilt_max_deg, const Mat3& rotation, const Vec3& shift_voxels) {
  if (!v.is_cube() || v.nx != n_)
    throw Error("tomo::FourierAverager: expected a " + std::to_string(n_) + "^3 subtomogram, found " +
                std::to_string(v.nx) + "x" + std::to_string(v.ny) + "x" + std::to_string(v.nz));
  const Spectrum f = forward_fft(rotate(v, rotation, shift_voxels));
  const auto mask = missing_wedge_mask(n_, n_, n_, tilt_max_deg, rotation);
  for (std::size_t i = 0; i < mask.size(); ++i) {
    if (mask[i] == 0.0f) continue;
    sums_[3 * i] += f.data[i].real();
    sums_[3 * i + 1] += f.data[i].imag();
    sums_[3 * i + 2] += 1.0;
  }
  ++added_;
}

void FourierAverager::merge(const FourierAverager& o) {
  if (o.n_ != n_) throw Error("tomo::FourierAverager::merge: box sizes differ");
  for (std::size_t i = 0; i < sums_.size(); ++i) sums_[i] += o.sums_[i];
  added_ += o.added_;
}

Volume FourierAverager::average(double min_count) const {
  Spectrum s(n_, n_, n_, voxel_nm_);
  for (std::size_t i = 0; i < s.size(); ++i) {
    const double count = sums_[3 * i + 2];
    if (count >= min_count) s.data[i] = {float(sums_[3 * i] / count), float(sums_[3 * i + 1] / count)};
  }
  return inverse_fft(s);
}

std::vector<float> FourierAverager::observed_mask(double min_count) const {
  std::vector<float> m(sums_.size() / 3);
  for (std::size_t i = 0; i < m.size(); ++i) m[i] = sums_[3 * i + 2] >= min_count ? 1.0f : 0.0f;
  return m;
}

namespace {

// The part of `v` seen through `mask` (half spectrum).
Volume masked(const Volume& v, const std::vector<float>& mask) {
  Spectrum s = forward_fft(v);
  apply_mask(s, mask);
  return inverse_fft(s);
}

// Lloyd's k-means with k-means++ seeding; the best of `restarts` by inertia.
std::vector<int> kmeans(const Eigen::MatrixXd& x, int k, std::uint64_t seed, int restarts = 8) {
  const int n = static_cast<int>(x.rows());
  std::vector<int> best_labels(n, 0);
  double best_inertia = std::numeric_limits<double>::infinity();
  for (int r = 0; r < restarts; ++r) {
    core::Rng rng(seed, core::Stream::kmeans, static_cast<std::uint64_t>(r));
    Eigen::MatrixXd centres(k, x.cols());
    centres.row(0) = x.row(static_cast<int>(rng.below(n)));
    for (int c = 1; c < k; ++c) {
      std::vector<double> d2(n);
      double total = 0;
      for (int i = 0; i < n; ++i) {
        double m = std::numeric_limits<double>::infinity();
        for (int j = 0; j < c; ++j) m = std::min(m, (x.row(i) - centres.row(j)).squaredNorm());
        d2[i] = m;
        total += m;
      }
      double u = rng.uniform() * total;
      int pick = n - 1;
      for (int i = 0; i < n; ++i) {
        if ((u -= d2[i]) <= 0) {
          pick = i;
          break;
        }
      }
      centres.row(c) = x.row(pick);
    }
    std::vector<int> labels(n, -1);
    double inertia = 0;
    for (int iteration = 0; iteration < 100; ++iteration) {
      bool changed = false;
      inertia = 0;
      for (int i = 0; i < n; ++i) {
        int arg = 0;
        double m = std::numeric_limits<double>::infinity();
        for (int j = 0; j < k; ++j) {
          const double d = (x.row(i) - centres.row(j)).squaredNorm();
          if (d < m) {
            m = d;
            arg = j;
          }
        }
        changed = changed || labels[i] != arg;
        labels[i] = arg;
        inertia += m;
      }
      if (!changed) break;
      for (int j = 0; j < k; ++j) {
        Eigen::RowVectorXd sum = Eigen::RowVectorXd::Zero(x.cols());
        int count = 0;
        for (int i = 0; i < n; ++i)
          if (labels[i] == j) {
            sum += x.row(i);
            ++count;
          }
        if (count > 0) centres.row(j) = sum / count;
      }
    }
    if (inertia < best_inertia) {
      best_inertia = inertia;
      best_labels = labels;
    }
  }
  return best_labels;
}

// Step 1 of the classification: PCA features of the masked differences
// between each aligned subtomogram and the global average, then k-means.
std::vector<int> initial_labels(const std::vector<Volume>& subs, double tilt, const std::vector<AlignmentResult>& al,
                                const ClassificationSettings& s) {
  const int n = subs.front().nx;
  FourierAverager global(n, subs.front().voxel_nm);
  for (std::size_t i = 0; i < subs.size(); ++i) global.add(subs[i], tilt, al[i]);
  const Volume avg = global.average(s.min_count);
  std::vector<Volume> diffs;
  for (std::size_t i = 0; i < subs.size(); ++i) {
    // Compare only where subtomogram i observed: its rotated wedge on both.
    const auto m = missing_wedge_mask(n, n, n, tilt, al[i].rotation);
    Volume d = masked(apply_alignment(subs[i], al[i]), m);
    const Volume a = masked(avg, m);
    for (std::size_t v = 0; v < d.size(); ++v) d.data[v] -= a.data[v];
    diffs.push_back(std::move(d));
  }
  // The highest-variance voxels carry the differences between classes.
  const std::size_t voxels = diffs.front().size();
  std::vector<double> var(voxels, 0.0);
  for (std::size_t v = 0; v < voxels; ++v) {
    double m = 0, m2 = 0;
    for (const auto& d : diffs) {
      m += d.data[v];
      m2 += double(d.data[v]) * d.data[v];
    }
    m /= diffs.size();
    var[v] = m2 / diffs.size() - m * m;
  }
  std::vector<std::size_t> order(voxels);
  std::iota(order.begin(), order.end(), 0);
  const std::size_t keep = std::max<std::size_t>(1, static_cast<std::size_t>(s.high_variance_fraction * voxels));
  std::partial_sort(order.begin(), order.begin() + keep, order.end(),
                    [&](std::size_t a, std::size_t b) { return var[a] > var[b] || (var[a] == var[b] && a < b); });
  Eigen::MatrixXd x(diffs.size(), keep);
  for (std::size_t i = 0; i < diffs.size(); ++i)
    for (std::size_t j = 0; j < keep; ++j) x(i, j) = diffs[i].data[order[j]];
  x.rowwise() -= x.colwise().mean();
  Eigen::JacobiSVD<Eigen::MatrixXd> svd(x, Eigen::ComputeThinU);
  const int comps = std::min<int>(s.pca_components, static_cast<int>(svd.singularValues().size()));
  Eigen::MatrixXd features = svd.matrixU().leftCols(comps) * svd.singularValues().head(comps).asDiagonal();
  return kmeans(features, s.classes, s.seed);
}

}  // namespace

ClassificationResult classify(const std::vector<Volume>& subs, double tilt, const std::vector<AlignmentResult>& initial,
                              const ClassificationSettings& s) {
  if (subs.size() != initial.size() || subs.size() < static_cast<std::size_t>(s.classes) || s.classes < 1)
    throw Error("tomo::classify: expected at least `classes` subtomograms with one initial alignment each, found " +
                std::to_string(subs.size()) + " subtomograms, " + std::to_string(initial.size()) + " alignments, " +
                std::to_string(s.classes) + " classes");
  const int n = subs.front().nx;
  ClassificationResult result;
  result.alignments = initial;
  result.labels = initial_labels(subs, tilt, initial, s);
  for (int iteration = 0; iteration < s.iterations; ++iteration) {
    // Class averages from the current labels and alignments.
    std::vector<FourierAverager> averagers(s.classes, FourierAverager(n, subs.front().voxel_nm));
    for (std::size_t i = 0; i < subs.size(); ++i) averagers[result.labels[i]].add(subs[i], tilt, result.alignments[i]);
    result.class_averages.clear();
    std::vector<std::vector<float>> masks;
    for (const auto& a : averagers) {
      result.class_averages.push_back(a.average(s.min_count));
      masks.push_back(a.observed_mask(s.min_count));
    }
    if (iteration == s.iterations - 1) break;
    // Realign every subtomogram to every class average (local search from its
    // current pose) and move it to the best-scoring class.
    bool changed = false;
    for (std::size_t i = 0; i < subs.size(); ++i) {
      AlignmentResult best;
      int best_class = result.labels[i];
      for (int c = 0; c < s.classes; ++c) {
        if (averagers[c].added() == 0) continue;
        const AlignmentResult r =
            refine_alignment(result.class_averages[c], masks[c], subs[i], tilt, result.alignments[i].rotation, s.alignment);
        if (r.score > best.score) {
          best = r;
          best_class = c;
        }
      }
      changed = changed || best_class != result.labels[i];
      result.labels[i] = best_class;
      result.alignments[i] = best;
    }
    if (!changed && iteration > 0) {
      iteration = s.iterations - 2;  // converged: one last pass to form the averages
    }
  }
  return result;
}

}  // namespace phenoscale::tomo
