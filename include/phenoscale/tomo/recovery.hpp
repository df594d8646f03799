// Structure recovery from a set of subtomograms with unknown poses (Xu et al. 2017
// §2.4 "subdivision and structure recovery"): the step of the
// leave-one-class-out study that turns the k-means cluster most enriched in
// the left-out complex into a density map and scores it against the truth.
//
//  1. reference-free alignment: the first subtomogram (global row 0) seeds
//     the reference; every subtomogram is aligned to the current reference
//     with the full missing-wedge-aware search (tomo::align), the aligned
//     set is averaged in Fourier space, and the average becomes the next
//     reference (`alignment_iterations` passes). No true map is used.
//  2. iterative reference-free classification from those poses
//     (tomo::classify: 3 classes, 5 iterations by default).
//  3. the structural discrepancy of a class average against a true map: the
//     map is aligned to the average (whose frame is arbitrary), then the
//     FSC-0.5 resolution in nm (interpolated crossing by default; the
//     paper read the first shell below 0.5); the paper counts < 7 nm as
//     recovered.
#pragma once

#include <cstdint>
#include <optional>
#include <vector>

#include "phenoscale/par/comm.hpp"
#include "phenoscale/tomo/alignment.hpp"
#include "phenoscale/tomo/averaging.hpp"
#include "phenoscale/tomo/ctf.hpp"
#include "phenoscale/tomo/fsc.hpp"
#include "phenoscale/tomo/volume.hpp"

namespace phenoscale::tomo {

struct RecoverySettings {
  int alignment_iterations = 2;          // reference-free global alignment passes
  AlignmentSettings alignment;           // their rotational search
  ClassificationSettings classification; // then classify (classes, iterations, ...)
};

// Collective. Step 1: poses that bring every local subtomogram (row blocks
// over the ranks) into one common, arbitrary frame.
std::vector<AlignmentResult> reference_free_alignment(const std::vector<Volume>& local_subtomograms,
                                                      double tilt_max_deg, const RecoverySettings& settings,
                                                      const par::Comm& comm);

// Collective. Steps 1 and 2.
ClassificationResult recover_classes(const std::vector<Volume>& local_subtomograms, double tilt_max_deg,
                                     const RecoverySettings& settings, const par::Comm& comm);

struct Discrepancy {
  FscCurve fsc;             // average vs the aligned true map
  AlignmentResult pose;     // of the true map onto the average
  double resolution_nm = 0; // = fsc.resolution_nm, by the definition asked for
};

// Step 3 (local, deterministic): aligns `truth` to `average` (compared only
// where the average has signal: its non-zero Fourier coefficients, i.e. the
// frequencies the averaged wedges observed) and returns the FSC between them.
// `uncorrected_ctf`: the CTF an average that was not CTF-corrected carries;
// the pose is then sought for the truth as that CTF transmits it (the
// alignment's correlation is signed), and the FSC taken against the truth.
Discrepancy structural_discrepancy(const Volume& average, const Volume& truth, const AlignmentSettings& settings = {},
                                   FscDefinition definition = FscDefinition::interpolated,
                                   const std::optional<CtfParameters>& uncorrected_ctf = std::nullopt);

}  // namespace phenoscale::tomo
