// Fourier-space averaging and reference-free classification
// (see include/phenoscale/tomo/averaging.hpp).
#include "phenoscale/tomo/averaging.hpp"

#include <algorithm>
#include <cmath>
#include <limits>
#include <numeric>

#include "phenoscale/core/error.hpp"
#include "phenoscale/core/log.hpp"
#include "phenoscale/core/stop_signal.hpp"
#include "phenoscale/ml/kmeans.hpp"
#include "phenoscale/ml/pca.hpp"
#include "phenoscale/par/agree.hpp"
#include "phenoscale/tomo/missing_wedge.hpp"

namespace phenoscale::tomo {

std::string ctf_correction_name(CtfCorrection c) {
  switch (c) {
    case CtfCorrection::none: return "none";
    case CtfCorrection::phase_flip: return "phase-flip";
    case CtfCorrection::wiener: return "wiener";
  }
  return "none";
}

CtfCorrection ctf_correction_from_name(const std::string& name) {
  for (auto c : {CtfCorrection::none, CtfCorrection::phase_flip, CtfCorrection::wiener})
    if (ctf_correction_name(c) == name) return c;
  throw Error("tomo: CTF correction expected \"none\", \"phase-flip\" or \"wiener\", found \"" + name + "\"");
}

FourierAverager::FourierAverager(int n, double voxel_nm, const CtfCorrectionSettings& correction)
    : n_(n), voxel_nm_(voxel_nm), correction_(correction) {
  sums_.assign(stride * static_cast<std::size_t>(n) * n * (n / 2 + 1), 0.0);
  if (correction_.mode == CtfCorrection::none) return;
  if (correction_.mode == CtfCorrection::wiener && !(correction_.wiener_snr > 0))
    throw Error("tomo::FourierAverager: wiener_snr expected > 0, found " + std::to_string(correction_.wiener_snr));
  Spectrum unit(n, n, n, voxel_nm);
  for (auto& c : unit.data) c = {1.0f, 0.0f};
  apply_ctf(unit, correction_.ctf);
  ctf_.resize(unit.size());
  for (std::size_t i = 0; i < ctf_.size(); ++i) ctf_[i] = unit.data[i].real();
}

void FourierAverager::add(const Volume& v, double tilt_max_deg, const Mat3& rotation, const Vec3& shift_voxels) {
  if (!v.is_cube() || v.nx != n_)
    throw Error("tomo::FourierAverager: expected a " + std::to_string(n_) + "^3 subtomogram, found " +
                std::to_string(v.nx) + "x" + std::to_string(v.ny) + "x" + std::to_string(v.nz));
  const Spectrum f = forward_fft(rotate(v, rotation, shift_voxels));
  const auto mask = missing_wedge_mask(n_, n_, n_, tilt_max_deg, rotation);
  for (std::size_t i = 0; i < mask.size(); ++i) {
    if (mask[i] == 0.0f) continue;
    // The factor on F and its contribution to the normaliser: 1 and 1 without
    // correction, sign(CTF) and 1 for phase flipping, CTF and CTF² for Wiener.
    double factor = 1.0, weight = 1.0;
    if (correction_.mode == CtfCorrection::phase_flip) {
      factor = (ctf_[i] > 0.0f) - (ctf_[i] < 0.0f);
    } else if (correction_.mode == CtfCorrection::wiener) {
      factor = ctf_[i];
      weight = double(ctf_[i]) * ctf_[i];
    }
    double* acc = &sums_[stride * i];
    acc[0] += factor * f.data[i].real();
    acc[1] += factor * f.data[i].imag();
    acc[2] += 1.0;
    acc[3] += weight;
  }
  ++added_;
}

void FourierAverager::merge(const FourierAverager& o) {
  if (o.n_ != n_ || o.correction_.mode != correction_.mode)
    throw Error("tomo::FourierAverager::merge: box sizes or CTF corrections differ");
  for (std::size_t i = 0; i < sums_.size(); ++i) sums_[i] += o.sums_[i];
  added_ += o.added_;
}

Volume FourierAverager::average(double min_count) const {
  Spectrum s(n_, n_, n_, voxel_nm_);
  const bool wiener = correction_.mode == CtfCorrection::wiener;
  for (std::size_t i = 0; i < s.size(); ++i) {
    const double* acc = &sums_[stride * i];
    if (acc[2] < min_count) continue;
    const double norm = wiener ? acc[3] + 1.0 / correction_.wiener_snr : acc[2];
    s.data[i] = {float(acc[0] / norm), float(acc[1] / norm)};
  }
  return inverse_fft(s);
}

std::vector<float> FourierAverager::observed_mask(double min_count) const {
  std::vector<float> m(sums_.size() / stride);
  for (std::size_t i = 0; i < m.size(); ++i) m[i] = sums_[stride * i + 2] >= min_count ? 1.0f : 0.0f;
  return m;
}

namespace {

// The part of `v` seen through `mask` (half spectrum).
Volume masked(const Volume& v, const std::vector<float>& mask) {
  Spectrum s = forward_fft(v);
  apply_mask(s, mask);
  return inverse_fft(s);
}

// Class averages from the labels (Fourier sums over all ranks).
std::vector<FourierAverager> class_sums(const std::vector<Volume>& subs, double tilt,
                                        const std::vector<AlignmentResult>& al, const std::vector<std::int64_t>& labels,
                                        int classes, const par::Comm& comm, int n, double voxel_nm) {
  std::vector<FourierAverager> sums(classes, FourierAverager(n, voxel_nm));
  for (std::size_t i = 0; i < subs.size(); ++i) sums[labels[i]].add(subs[i], tilt, al[i]);
  for (auto& a : sums) comm.allreduce_sum_inplace(a.accumulators());
  return sums;
}

// Steps 1-4: PCA features of the masked differences to the global average, k-means labels.
std::vector<std::int64_t> initial_labels(const std::vector<Volume>& subs, double tilt,
                                         const std::vector<AlignmentResult>& al, const ClassificationSettings& s,
                                         const par::Comm& comm, int n, double voxel_nm) {
  if (s.classes <= 1) return std::vector<std::int64_t>(subs.size(), 0);  // one class: nothing to tell apart
  FourierAverager global(n, voxel_nm);
  for (std::size_t i = 0; i < subs.size(); ++i) global.add(subs[i], tilt, al[i]);
  comm.allreduce_sum_inplace(global.accumulators());
  const Volume avg = global.average(s.min_count);
  const std::size_t voxels = static_cast<std::size_t>(n) * n * n;
  std::vector<Volume> diffs;
  // Per-voxel Σd and Σd² over all subtomograms, for the variance ranking.
  std::vector<double> moments(2 * voxels, 0.0);
  for (std::size_t i = 0; i < subs.size(); ++i) {
    // Compare only where subtomogram i observed: its rotated wedge on both.
    const auto m = missing_wedge_mask(n, n, n, tilt, al[i].rotation);
    Volume d = masked(apply_alignment(subs[i], al[i]), m);
    const Volume a = masked(avg, m);
    for (std::size_t v = 0; v < voxels; ++v) {
      d.data[v] -= a.data[v];
      moments[v] += d.data[v];
      moments[voxels + v] += double(d.data[v]) * d.data[v];
    }
    diffs.push_back(std::move(d));
  }
  comm.allreduce_sum_inplace(moments);
  const double total = comm.allreduce_sum(static_cast<double>(subs.size()));
  std::vector<double> var(voxels);
  for (std::size_t v = 0; v < voxels; ++v) {
    const double mean = moments[v] / total;
    var[v] = moments[voxels + v] / total - mean * mean;
  }
  // The highest-variance voxels carry the differences between classes; the
  // same on every rank (identical sums, ties broken by index).
  std::vector<std::size_t> order(voxels);
  std::iota(order.begin(), order.end(), 0);
  const std::size_t keep = std::clamp<std::size_t>(static_cast<std::size_t>(s.high_variance_fraction * voxels), 1,
                                                   std::max<std::uint64_t>(1, s.max_high_variance_voxels));
  std::partial_sort(order.begin(), order.begin() + keep, order.end(),
                    [&](std::size_t a, std::size_t b) { return var[a] > var[b] || (var[a] == var[b] && a < b); });
  ml::ShardedMatrix x;
  x.local_rows = subs.size();
  x.cols = keep;
  x.global_rows = static_cast<std::uint64_t>(total);
  x.first_row = comm.exscan_sum(static_cast<std::uint64_t>(subs.size()));
  x.data.resize(x.local_rows * keep);
  for (std::size_t i = 0; i < subs.size(); ++i)
    for (std::size_t j = 0; j < keep; ++j) x.row(i)[j] = diffs[i].data[order[j]];
  ml::PcaOptions pca;  // at most one component per member: a small cluster has few
  pca.components = static_cast<std::uint64_t>(
      std::min<std::size_t>({static_cast<std::size_t>(s.pca_components), keep, static_cast<std::size_t>(total)}));
  const ml::PcaModel model = ml::pca_fit(x, pca, comm);
  ml::KMeansOptions km;
  km.k = s.classes;
  km.n_init = 8;
  km.seed = s.seed;
  return ml::kmeans_fit(ml::pca_transform(model, x), km, comm).labels;
}

}  // namespace

HalfSetAverages half_set_averages(const std::vector<Volume>& subs, double tilt, const std::vector<AlignmentResult>& poses,
                                  const std::vector<std::int64_t>& labels, std::int64_t cls, double min_count,
                                  const AlignmentSettings& alignment, int realign_passes, const par::Comm& comm,
                                  FscDefinition definition, const CtfCorrectionSettings& correction) {
  const int n = comm.allreduce_max(subs.empty() ? 0 : subs.front().nx);
  const double voxel_nm = comm.allreduce_max(subs.empty() ? 0.0 : subs.front().voxel_nm);
  par::check_all(comm, n > 0 && subs.size() == poses.size() && subs.size() == labels.size(),
                 "tomo::half_set_averages: expected one pose and one label per subtomogram and at least one "
                 "subtomogram in all");
  std::vector<std::size_t> members;
  for (std::size_t i = 0; i < subs.size(); ++i)
    if (labels[i] == cls) members.push_back(i);
  const std::uint64_t first = comm.exscan_sum(static_cast<std::uint64_t>(members.size()));
  std::vector<int> half(members.size());
  for (std::size_t j = 0; j < members.size(); ++j) half[j] = half_set_of(first + j);
  std::vector<AlignmentResult> current;
  for (auto i : members) current.push_back(poses[i]);
  // The two half sums under `mode` (none for the realignment references,
  // `correction` for the output).
  const auto sums = [&](const CtfCorrectionSettings& mode) {
    std::vector<FourierAverager> h(2, FourierAverager(n, voxel_nm, mode));
    for (std::size_t j = 0; j < members.size(); ++j) h[half[j]].add(subs[members[j]], tilt, current[j]);
    for (auto& a : h) comm.allreduce_sum_inplace(a.accumulators());
    return h;
  };
  for (int pass = 0; pass < realign_passes; ++pass) {
    // The members are not CTF-corrected, so neither is what they are aligned
    // to: below the first zero a corrected reference is their inverse.
    const auto plain = sums(CtfCorrectionSettings{});
    const Volume ref[2] = {plain[0].average(min_count), plain[1].average(min_count)};
    const std::vector<float> mask[2] = {plain[0].observed_mask(min_count), plain[1].observed_mask(min_count)};
    for (std::size_t j = 0; j < members.size(); ++j) {
      if (core::StopSignal::received() != 0) break;  // the stop point below ends the stage
      current[j] = refine_alignment(ref[half[j]], mask[half[j]], subs[members[j]], tilt, current[j].rotation, alignment);
    }
    par::stop_point(comm, "half-set realignment pass " + std::to_string(pass + 1));
    core::Log::debug("half sets: realignment pass " + std::to_string(pass + 1) + " of " +
                     std::to_string(realign_passes) + " done");
  }
  auto h = sums(correction);
  HalfSetAverages out;
  for (int k = 0; k < 2; ++k) {
    out.halves[k] = h[k].average(min_count);
    out.sizes[k] = comm.allreduce_sum(h[k].added());
  }
  out.fsc = half_set_fsc(out.halves[0], out.halves[1], definition);
  h[0].merge(h[1]);
  out.full = h[0].average(min_count);
  out.used = out.sizes[0] + out.sizes[1];
  return out;
}

ClassificationResult classify(const std::vector<Volume>& subs, double tilt, const std::vector<AlignmentResult>& initial,
                              const ClassificationSettings& s, const par::Comm& comm) {
  // Shape and count checks agree across ranks: a rank with no rows must not hang.
  int n = subs.empty() ? 0 : subs.front().nx;
  n = comm.allreduce_max(n);
  const double voxel_nm = comm.allreduce_max(subs.empty() ? 0.0 : subs.front().voxel_nm);
  const auto total = comm.allreduce_sum(static_cast<std::uint64_t>(subs.size()));
  bool ok = subs.size() == initial.size() && s.classes >= 1 && total >= static_cast<std::uint64_t>(s.classes);
  for (const auto& v : subs) ok = ok && v.is_cube() && v.nx == n;
  par::check_all(comm, ok,
                 "tomo::classify: expected at least `classes` = " + std::to_string(s.classes) +
                     " cubic subtomograms of one size, each with an initial alignment; found " + std::to_string(total) +
                     " subtomograms in all");
  ClassificationResult result;
  result.alignments = initial;
  result.labels = initial_labels(subs, tilt, initial, s, comm, n, voxel_nm);
  for (int iteration = 0;; ++iteration) {
    const auto sums = class_sums(subs, tilt, result.alignments, result.labels, s.classes, comm, n, voxel_nm);
    result.class_averages.clear();
    std::vector<std::vector<float>> masks;
    for (const auto& a : sums) {
      result.class_averages.push_back(a.average(s.min_count));
      masks.push_back(a.observed_mask(s.min_count));
    }
    result.iterations_run = iteration;
    if (iteration >= s.iterations) break;
    // Realign every local subtomogram to every class average (a full search
    // in the first global_realign_passes, then a local search from its
    // current pose) and move it to the best-scoring class.
    std::vector<double> occupied(s.classes);
    for (int c = 0; c < s.classes; ++c) occupied[c] = static_cast<double>(sums[c].added());
    comm.allreduce_sum_inplace(occupied);
    std::uint64_t changed = 0;
    for (std::size_t i = 0; i < subs.size(); ++i) {
      if (core::StopSignal::received() != 0) break;  // the stop point below ends the stage (see recovery.cpp)
      AlignmentResult best;
      std::int64_t best_class = result.labels[i];
      for (int c = 0; c < s.classes; ++c) {
        if (occupied[c] == 0) continue;
        const AlignmentResult r =
            iteration < s.global_realign_passes
                ? align(result.class_averages[c], masks[c], subs[i], tilt, s.global_alignment)
                : refine_alignment(result.class_averages[c], masks[c], subs[i], tilt, result.alignments[i].rotation,
                                   s.alignment);
        if (r.score > best.score) {
          best = r;
          best_class = c;
        }
      }
      changed += best_class != result.labels[i];
      result.labels[i] = best_class;
      result.alignments[i] = best;
    }
    par::stop_point(comm, "classification iteration " + std::to_string(iteration + 1));
    const std::uint64_t changed_total = comm.allreduce_sum(changed);
    core::Log::debug("classification: iteration " + std::to_string(iteration + 1) + ", " + std::to_string(changed_total) +
                     " label(s) changed");
    // After a global pass the poses may have moved far, and the averages
    // with them: the labels are checked again against the new averages.
    if (changed_total == 0 && iteration >= s.global_realign_passes) {
      // Converged: the averages above already match these labels, up to the
      // refined poses; one more pass forms them from the final poses.
      const auto final_sums = class_sums(subs, tilt, result.alignments, result.labels, s.classes, comm, n, voxel_nm);
      result.class_averages.clear();
      for (const auto& a : final_sums) result.class_averages.push_back(a.average(s.min_count));
      result.iterations_run = iteration + 1;
      break;
    }
  }
  result.class_sizes.assign(s.classes, 0);
  for (auto l : result.labels) ++result.class_sizes[l];
  comm.allreduce_sum_inplace(result.class_sizes);
  return result;
}

}  // namespace phenoscale::tomo
