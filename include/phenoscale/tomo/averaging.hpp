// Missing-wedge-aware subtomogram averaging and reference-free classification
// (Xu et al. 2017, §2.3).
//
// The average is formed in Fourier space, avg(k) = Σ_i R_i(F_i)(k) / Σ_i R_i(M_i)(k)
// wherever the count of observations Σ_i R_i(M_i)(k) reaches a threshold
// (2), else 0: every frequency is averaged only over the subtomograms that
// saw it, so the wedges fill each other in. The accumulators are plain
// sums, so partial averages from several ranks add up (merge / allreduce of
// `accumulators()`).
//
// CTF correction (Frank 2006, "Three-Dimensional Electron Microscopy of
// Macromolecular Assemblies", ch. 4, CTF correction; Penczek 2010, "Image
// restoration in cryo-electron microscopy", Methods Enzymol. 482, sections on
// phase flipping and Wiener filtration): the CTF flips the sign of whole frequency bands, so below its first
// zero, and in every second band past it, an uncorrected average carries the inverted signal. Options:
//  - phase-flip: each subtomogram's transform times sign(CTF(|k|)) before
//    summing; avg = Σ sign(CTF)·F / count;
//  - wiener:     avg = Σ CTF·F / (Σ CTF² + 1/SNR), sums over the subtomograms
//    that observed k (SNR: the Wiener constant, `wiener_snr`).
// The simulated CTF is isotropic in |k|, so it commutes with the alignment
// rotation and is applied to the aligned transform.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "phenoscale/par/comm.hpp"
#include "phenoscale/tomo/alignment.hpp"
#include "phenoscale/tomo/ctf.hpp"
#include "phenoscale/tomo/fourier.hpp"
#include "phenoscale/tomo/fsc.hpp"
#include "phenoscale/tomo/volume.hpp"

namespace phenoscale::tomo {

enum class CtfCorrection { none, phase_flip, wiener };
std::string ctf_correction_name(CtfCorrection c);                  // "none" | "phase-flip" | "wiener"
CtfCorrection ctf_correction_from_name(const std::string& name);  // throws Error naming the accepted values

struct CtfCorrectionSettings {
  CtfCorrection mode = CtfCorrection::none;
  CtfParameters ctf;        // of the acquisition that made the subtomograms
  double wiener_snr = 1.0;  // the 1/SNR term of the Wiener filter
};

class FourierAverager {
 public:
  FourierAverager(int n, double voxel_nm, const CtfCorrectionSettings& correction = {});

  // Adds rotate(v, rotation, shift) with its rotated wedge mask R(M).
  void add(const Volume& subtomogram, double tilt_max_deg, const Mat3& rotation, const Vec3& shift_voxels);
  void add(const Volume& subtomogram, double tilt_max_deg, const AlignmentResult& alignment) {
    add(subtomogram, tilt_max_deg, alignment.rotation, alignment.shift_voxels);
  }
  void merge(const FourierAverager& other);

  // The average (zero where fewer than min_count subtomograms observed k).
  Volume average(double min_count = 2.0) const;
  // Half-spectrum mask of the frequencies with count ≥ min_count: the
  // average's own "observed region" when it becomes an alignment reference.
  std::vector<float> observed_mask(double min_count = 2.0) const;
  std::uint64_t added() const { return added_; }
  // [re, im, count, weight] per half-spectrum point (weight: Σ CTF² with
  // Wiener, else the count), for an MPI sum across ranks.
  std::vector<double>& accumulators() { return sums_; }

 private:
  static constexpr std::size_t stride = 4;
  int n_;
  double voxel_nm_;
  CtfCorrectionSettings correction_;
  std::vector<float> ctf_;  // CTF per half-spectrum point; empty without correction
  std::vector<double> sums_;
  std::uint64_t added_ = 0;
};

struct HalfSetAverages {
  Volume halves[2];
  std::uint64_t sizes[2] = {0, 0};  // members per half (global)
  HalfSetFsc fsc;                   // between the two half averages
  Volume full;                      // both halves' sums merged: the class's final map
  std::uint64_t used = 0;           // members averaged (global)
};

// Collective. Gold-standard half sets of one class (see fsc.hpp): the local
// members with labels[i] == cls, numbered in global row order (exscan over
// the ranks), split by half_set_of(ordinal); each half is averaged from the
// members' poses, then (`realign_passes` times) every member is realigned by
// local search (`alignment.refine_steps_deg`) to its own half's average only
// and the half is averaged again, so neither half ever sees the other.
// Returns the final half averages and their merge (min_count as for the
// class averages), each CTF-corrected as `correction` says. The realignment
// references are not corrected, like the members aligned to them.
HalfSetAverages half_set_averages(const std::vector<Volume>& local_subtomograms, double tilt_max_deg,
                                  const std::vector<AlignmentResult>& poses, const std::vector<std::int64_t>& labels,
                                  std::int64_t cls, double min_count, const AlignmentSettings& alignment,
                                  int realign_passes, const par::Comm& comm,
                                  FscDefinition definition = FscDefinition::interpolated,
                                  const CtfCorrectionSettings& correction = {});

struct ClassificationSettings {
  int classes = 3;
  int iterations = 5;
  int pca_components = 5;
  double high_variance_fraction = 0.1;  // of the voxels, ranked by variance of the masked differences
  std::uint64_t max_high_variance_voxels = 500;  // caps the PCA dimension (d×d covariance, eigensolver)
  double min_count = 2.0;
  std::uint64_t seed = 1;
  AlignmentSettings alignment;  // its refine_steps_deg drive the local realignment
  // The first `global_realign_passes` realignment passes search every pose
  // (align() with `global_alignment`) instead of refining the current one:
  // members the initial alignment left far off their class's frame.
  int global_realign_passes = 0;
  AlignmentSettings global_alignment;
};

struct ClassificationResult {
  std::vector<std::int64_t> labels;         // per local subtomogram
  std::vector<AlignmentResult> alignments;  // of each local subtomogram to its class average
  std::vector<Volume> class_averages;       // on every rank
  std::vector<std::int64_t> class_sizes;    // global
  int iterations_run = 0;
};

// Collective. Iterative reference-free classification of subtomograms held
// in row blocks over the ranks of `comm` (each rank passes its own block and
// the starting alignment of each to a common frame):
//  1. global average (Fourier sums, allreduce);
//  2. differences to it, both seen through the subtomogram's rotated wedge;
//  3. PCA (ml::pca_fit, distributed) of the highest-variance voxels of the
//     differences;
//  4. k-means (ml::kmeans_fit, distributed) → labels;
//  then, for each iteration: class averages (allreduce) → realign every
//  subtomogram to every class average (a full search in the first
//  `global_realign_passes`, then a local search from its current pose; each
//  rank its own block) → assign it to the best score; stop early when no
//  label changes in a local pass (after a global one the labels are checked
//  once more). The final class averages use the final labels.
ClassificationResult classify(const std::vector<Volume>& local_subtomograms, double tilt_max_deg,
                              const std::vector<AlignmentResult>& local_initial, const ClassificationSettings& settings,
                              const par::Comm& comm);

}  // namespace phenoscale::tomo
