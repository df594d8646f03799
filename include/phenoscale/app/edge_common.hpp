// The edge pipeline's sample file (events.h5, denoised.h5): aligned protrusion
// samples and what is known about each (DeepHACKS, Ma et al. 2024, §2;
// docs/file-formats.md "edge"). Every later stage reads this layout, whether
// it came from movies (edge events) or from a user's CSV (edge import).
//
//   /velocity      CSR group (values N_frames × 1 float32 nm/s, offsets N + 1):
//                  sample i starts `before` frames ahead of its protrusion onset
//   /sample_id     int64 N   as imported (movies: the row index); when the
//                  imported ids were not all integers, 0..N−1 in the file's
//                  order, and /sample_name holds each sample's text
//   /sample_name   CSR group (values N_bytes × 1 uint8, offsets N + 1): the
//                  imported sample_id's UTF-8 bytes (only when they were names)
//   /cell_id       int64 N   −1 when unknown (imported series without cells)
//   /condition     int64 N   index into the root attribute `conditions`
//   /experiment    int64 N   paired-experiment id (0 when unknown)
//   /window        int64 N   probing window (−1 when unknown)
//   /onset_frame   int64 N   frame of the onset in its movie block (−1 when unknown)
//   /truth/phenotype int64 N planted phenotype (simulated data only; scoring only)
//   attributes on /: conditions ("DMSO\nCK666", newline-separated), frame_s
//   attribute `names` on /cell_id and /experiment (newline-separated), only
//   when the imported ids were names: id k is names[k]
//
// Samples are in a global order that does not depend on the rank count
// (cells in order, then windows, then onsets); ranks hold BlockPartition blocks.
#pragma once

#include <cstdint>
#include <string>
#include <utility>
#include <vector>

#include "phenoscale/core/config.hpp"
#include "phenoscale/io/hdf5.hpp"
#include "phenoscale/io/ragged.hpp"
#include "phenoscale/par/comm.hpp"

namespace phenoscale::app {

struct EdgeSamples {
  io::RaggedSeries<float> velocity;
  std::vector<std::int64_t> sample_id, cell_id, condition, experiment, window, onset_frame;
  std::vector<std::int64_t> truth;          // empty unless simulated
  std::vector<std::string> conditions{"all"};  // names, identical on every rank
  double frame_s = 5.0;
  // Ids imported as text (edge import: a column of ids that are not all
  // integers): sample i's sample_id as written, and the text of each cell and
  // paired-experiment number. Empty when the ids are numbers.
  bool named_samples = false;                              // the same on every rank
  std::vector<std::string> sample_name;                    // local, one per sample when named_samples
  std::vector<std::string> cell_names, experiment_names;   // identical on every rank
  std::uint64_t size() const { return velocity.size(); }
  // The ids as the outputs write them: the imported text, or the number
  // (an unknown cell, −1, stays "-1").
  std::string sample_text(std::uint64_t i) const;
  std::string cell_text(std::int64_t cell) const;
  std::string experiment_text(std::int64_t e) const;
  // Appends one sample with its annotations.
  void push_back(const std::vector<double>& v, std::int64_t id, std::int64_t cell, std::int64_t cond,
                 std::int64_t exp, std::int64_t win, std::int64_t onset);
};

// An id as the outputs write it: names[id] when the ids were names, else
// the number (an unknown one, −1, stays "-1").
std::string id_text(std::int64_t id, const std::vector<std::string>& names);

// Collective. Reads this rank's block; InputError naming file and dataset for
// a missing dataset, a length mismatch or a condition index outside the names.
EdgeSamples read_edge_samples(const std::string& path, const par::Comm& comm);

// Collective. Writes the layout above into `out` (the caller adds provenance
// and commits). The truth dataset is written when any rank holds truth.
void write_edge_samples(io::H5File& out, const EdgeSamples& samples);

// Collective. /sample_id, and /sample_name when the ids are names (a stage's
// own output that names its samples: teacher.h5).
void write_sample_ids(io::H5File& out, const EdgeSamples& samples);

// Index of condition `name` in `names`; otherwise ConfigError
// "<key>: condition '<name>' is not in <where> (a, b, c)".
std::int64_t find_condition(const std::vector<std::string>& names, const std::string& name, const std::string& key,
                            const std::string& where);

// Collective. The neighbour counts K of deck list `key` below the `n` rows a
// kNN graph is built on (`rows` names them in messages: "samples", "cells"):
// larger K are skipped with a warning (a small data set with the default
// grid); an empty list, or none left, is one error line naming the key.
std::vector<std::int64_t> neighbour_counts(const core::Config& cfg, const std::string& key, std::int64_t n,
                                           const std::string& rows, const par::Comm& comm);

// Collective. Whether every sample has a cell id (cell_id ≥ 0) on every rank.
bool all_have_cells(const EdgeSamples& samples, const par::Comm& comm);

// Collective. This rank's block of the teacher's cluster labels (teacher.h5:/labels);
// InputError naming the dataset when their count is not `expected` samples.
std::vector<std::int64_t> read_teacher_labels(const std::string& path, std::uint64_t expected, const par::Comm& comm);

// This rank's (truth, labels) pairs of the samples matched to a planted
// phenotype (truth ≥ 0), for ARI scoring only: truth coarse (the rare
// sub-phenotype merged into bursting) or fine.
std::pair<std::vector<std::int64_t>, std::vector<std::int64_t>> scored_pairs(const EdgeSamples& samples,
                                                                            const std::vector<std::int64_t>& labels,
                                                                            bool coarse);

// `path` without a trailing `suffix` (".csv", ".h5"): sibling outputs such as
// teacher_sweep.csv are named after their stage's main output.
std::string without_suffix(const std::string& path, const std::string& suffix);

}  // namespace phenoscale::app
