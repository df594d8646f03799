// What the spt stages share: this rank's block of trajectories, read from a
// trajectory CSV (trackpy/TrackMate columns, io/csv.hpp) or from the tracks
// HDF5 layout that `spt simulate` and `spt import` write
// (docs/file-formats.md "tracks.h5"):
//   /tracks    CSR float32, width 2 or 3 (x, y[, z]), attributes dim, dt_s
//   /frames    CSR int64, the frame number of every position
//   /states    CSR int64, per-frame diffusion state (simulated truth; optional)
//   /track_id  int64 per track;  /length int64 per track
//   /D, /Q     float64 per track (simulation only)
//   /population, /experiment  int64 per track (simulated labelled populations only)
// Tracks are dealt to ranks in contiguous blocks (par::BlockPartition), so
// every stage's per-track output is the same at any rank count.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "phenoscale/app/registry.hpp"
#include "phenoscale/io/hdf5.hpp"
#include "phenoscale/io/ragged.hpp"
#include "phenoscale/spt/track.hpp"

namespace phenoscale::app {

struct TrackBlock {
  int dim = 2;
  double dt_s = 1.0;
  std::uint64_t first = 0, global_tracks = 0;
  std::vector<std::int64_t> track_id;
  io::RaggedSeries<double> positions;      // width dim
  io::RaggedSeries<std::int64_t> frames;   // width 1
  io::RaggedSeries<std::int64_t> states;   // width 1; no series when there is no truth
  std::vector<double> diffusion, quality;  // simulation only
  std::vector<std::int64_t> population, experiment;  // simulated labelled populations only

  std::uint64_t size() const { return track_id.size(); }
  bool has_states() const { return states.size() == size() && size() > 0; }
  spt::TrackView view(std::uint64_t i) const {
    return {positions.series(i), static_cast<std::int64_t>(positions.length(i)), dim};
  }
};

// Collective. A `.csv` path is read as a trajectory table (every rank parses
// it and keeps its block; `pixel_um` scales coordinates); anything else as
// the tracks HDF5 layout (µm, with its own dt_s: pixel_um and dt_s unused).
TrackBlock read_tracks(const std::string& path, const par::Comm& comm, double pixel_um = 1.0, double dt_s = 1.0);
// A path read_tracks reads as a trajectory table (.csv, .tsv, .txt).
bool is_trajectory_table(const std::string& path);

// Collective. The per-frame states `/states` of `in` (truth in a tracks file,
// or a segmentation's segments.h5), each checked to be a diffusion state
// 0..kStates−1: InputError naming the file, track and frame otherwise.
io::RaggedSeries<std::int64_t> read_states(const io::H5File& in, const par::Comm& comm);

// Collective: do per-frame `series` (a segmentation read from `path`) and
// `tracks` (read from `tracks_path`) hold the same tracks with the same
// lengths? Throws InputError naming both files otherwise (equal totals of
// another track set are not enough: states would be read across tracks).
void check_same_tracks(const io::RaggedSeries<std::int64_t>& series, const std::string& path, const TrackBlock& tracks,
                       const std::string& tracks_path, const par::Comm& comm);

// Collective. Writes the layout above into `out` (no commit).
void write_tracks(io::H5File& out, const TrackBlock& tracks);

// True when any rank holds truth states (collective).
bool any_states(const TrackBlock& tracks, const par::Comm& comm);

// The per-frame network input of every local track (spt/features.hpp).
struct FrameFeatures {
  std::int64_t channels = 0;
  std::vector<std::int64_t> lengths;
  std::vector<float> values;
};
FrameFeatures frame_features(const TrackBlock& tracks);

// The file of ensemble member `member` for the path key `key` (train.output,
// train.checkpoint, train.metrics): "_member<i>" before the extension, inside
// run.output_dir; "" when the key is empty.
std::string member_path(const core::Config& config, const std::string& key, std::int64_t member);

}  // namespace phenoscale::app
