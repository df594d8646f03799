#include "phenoscale/app/spt_common.hpp"

#include <cmath>
#include <filesystem>
#include <type_traits>
#include <utility>

#include "phenoscale/app/stage_io.hpp"
#include "phenoscale/core/error.hpp"
#include "phenoscale/core/log.hpp"
#include "phenoscale/io/csv.hpp"
#include "phenoscale/io/sample_array.hpp"
#include "phenoscale/par/agree.hpp"
#include "phenoscale/par/partition.hpp"
#include "phenoscale/spt/features.hpp"

namespace phenoscale::app {
namespace {

using core::cat;

TrackBlock from_table(const io::TrajectoryTable& table, const par::Comm& comm, double pixel_um, double dt_s) {
  TrackBlock out;
  out.dim = table.has_z ? 3 : 2;
  out.dt_s = dt_s;
  out.global_tracks = table.tracks();
  const par::Range mine = par::BlockPartition::over(table.tracks(), comm).range(comm.rank());
  out.first = mine.begin;
  out.positions.width = static_cast<std::uint64_t>(out.dim);
  for (std::uint64_t k = mine.begin; k < mine.end; ++k) {
    const auto begin = table.track_offsets[k], end = table.track_offsets[k + 1];
    std::vector<double> xyz;
    std::vector<std::int64_t> frames;
    for (auto r = begin; r < end; ++r) {
      xyz.push_back(table.x[r] * pixel_um);
      xyz.push_back(table.y[r] * pixel_um);
      if (table.has_z) xyz.push_back(table.z[r] * pixel_um);
      frames.push_back(table.frame[r]);
    }
    out.track_id.push_back(table.track_id[begin]);
    out.positions.push_back(xyz.data(), frames.size());
    out.frames.push_back(frames.data(), frames.size());
  }
  return out;
}

TrackBlock from_hdf5(const std::string& path, const par::Comm& comm) {
  io::H5File in = io::H5File::open(path, comm);
  TrackBlock out;
  const auto positions = io::read_ragged<float>(in, "/tracks");
  par::check_all(comm, positions.width == 2 || positions.width == 3,
                 cat(in.where("/tracks"), ": expected 2 or 3 coordinates per frame (x, y[, z]), found ", positions.width));
  out.dim = static_cast<int>(positions.width);
  out.dt_s = in.has_attribute("/tracks", "dt_s") ? in.read_double_attribute("/tracks", "dt_s") : 1.0;
  par::check_all(comm, out.dt_s > 0 && std::isfinite(out.dt_s),
                 cat(in.where("/tracks"), ": attribute dt_s = ", out.dt_s, "; expected a frame interval > 0 s"));
  out.first = positions.first_series;
  out.global_tracks = positions.global_series;
  out.positions.width = positions.width;
  out.positions.values.assign(positions.values.begin(), positions.values.end());
  out.positions.offsets = positions.offsets;
  if (in.has("/frames")) {
    out.frames = io::read_ragged<std::int64_t>(in, "/frames", 1);
  } else {
    for (std::uint64_t i = 0; i < positions.size(); ++i) {
      std::vector<std::int64_t> f(positions.length(i));
      for (std::size_t t = 0; t < f.size(); ++t) f[t] = static_cast<std::int64_t>(t);
      out.frames.push_back(f.data(), f.size());
    }
  }
  if (in.has("/states")) out.states = read_states(in, comm);
  // One series of frames (and of states) per track, or the length check
  // below would read past the shorter dataset.
  for (const auto& [name, series] : {std::pair{"/frames", &out.frames}, std::pair{"/states", &out.states}}) {
    if (!in.has(name)) continue;
    par::check_all(comm, series->global_series == positions.global_series,
                   cat(in.where(name), ": ", series->global_series, " series; expected one per track of /tracks (",
                       positions.global_series, ")"));
  }
  // Optional per-track ids, truth and labels: one value per track, in track order.
  const auto per_track = [&](const char* name, auto& values) {
    if (!in.has(name)) return;
    auto block = io::read_samples<typename std::decay_t<decltype(values)>::value_type>(in, name);
    par::check_all(comm, block.global_rows == out.global_tracks && block.sample_size() == 1,
                   cat(in.where(name), ": expected one value per track (", out.global_tracks, "), found ",
                       block.global_rows, " rows of ", block.sample_size()));
    values = std::move(block.data);
  };
  per_track("/track_id", out.track_id);
  if (!in.has("/track_id"))
    for (std::uint64_t i = 0; i < positions.size(); ++i) out.track_id.push_back(static_cast<std::int64_t>(out.first + i));
  per_track("/D", out.diffusion);
  per_track("/Q", out.quality);
  per_track("/population", out.population);
  per_track("/experiment", out.experiment);
  par::collectively(comm, [&] {
    for (std::uint64_t i = 0; i < out.size(); ++i) {
      if (out.frames.length(i) != out.positions.length(i) ||
          (out.states.size() > 0 && out.states.length(i) != out.positions.length(i))) {
        throw InputError(cat(path, ": track ", out.first + i, " has ", out.positions.length(i),
                             " positions but a different number of /frames or /states entries"));
      }
    }
  });
  return out;
}

}  // namespace

io::RaggedSeries<std::int64_t> read_states(const io::H5File& in, const par::Comm& comm) {
  auto states = io::read_ragged<std::int64_t>(in, "/states", 1);
  par::collectively(comm, [&] {
    for (std::uint64_t i = 0; i < states.size(); ++i)
      for (std::uint64_t t = 0; t < states.length(i); ++t) {
        const auto s = states.series(i)[t];
        if (s < 0 || s >= spt::kStates)
          throw InputError(cat(in.where("/states"), ": state ", s, " at position ", t, " of track ", states.first_series + i,
                               " is outside 0..", spt::kStates - 1, " (the diffusion states)"));
      }
  });
  return states;
}

bool is_trajectory_table(const std::string& path) {
  auto ext = std::filesystem::path(path).extension().string();
  for (auto& c : ext) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return ext == ".csv" || ext == ".tsv" || ext == ".txt";
}

void check_same_tracks(const io::RaggedSeries<std::int64_t>& series, const std::string& path, const TrackBlock& tracks,
                       const std::string& tracks_path, const par::Comm& comm) {
  par::check_all(comm, series.global_series == tracks.global_tracks,
                 cat(path, ": ", series.global_series, " tracks do not match the ", tracks.global_tracks, " tracks of ",
                     tracks_path));
  // Both are split over the ranks by the same partition of their (equal) track counts.
  std::uint64_t first_bad = tracks.global_tracks;
  for (std::uint64_t i = 0; i < tracks.size(); ++i)
    if (i >= series.size() || series.length(i) != tracks.positions.length(i)) {
      first_bad = tracks.first + i;
      break;
    }
  first_bad = comm.allreduce_min(first_bad);
  par::check_all(comm, first_bad == tracks.global_tracks,
                 cat(path, ": track ", first_bad, " has another number of frames than in ", tracks_path,
                     " (a segmentation of other tracks?)"));
}

TrackBlock read_tracks(const std::string& path, const par::Comm& comm, double pixel_um, double dt_s) {
  TrackBlock tracks;
  if (!is_trajectory_table(path)) {
    tracks = from_hdf5(path, comm);
  } else {
    io::TrajectoryTable table;
    par::collectively(comm, [&] { table = io::read_trajectories_csv(path); });
    if (table.constant_z)
      core::Log::info(cat(path, ": column z is ", *table.constant_z, " on every row (TrackMate writes 0 for 2-D "
                                "movies): read as 2-D tracks"));
    tracks = from_table(table, comm, pixel_um, dt_s);
  }
  // No stage has anything to do without tracks; empty outputs would replace
  // those of an earlier run.
  par::check_all(comm, tracks.global_tracks > 0,
                 cat(path, ": no tracks (a header without data rows, or empty datasets); expected at least one track"));
  return tracks;
}

void write_tracks(io::H5File& out, const TrackBlock& tracks) {
  io::RaggedSeries<float> positions;
  positions.width = tracks.positions.width;
  positions.values.assign(tracks.positions.values.begin(), tracks.positions.values.end());
  positions.offsets = tracks.positions.offsets;
  io::write_ragged(out, "/tracks", positions);
  out.write_attribute("/tracks", "dim", static_cast<std::int64_t>(tracks.dim));
  out.write_attribute("/tracks", "dt_s", tracks.dt_s);
  out.write_attribute("/tracks", "columns", std::string(tracks.dim == 3 ? "x, y, z" : "x, y"));
  io::write_ragged(out, "/frames", tracks.frames);
  if (any_states(tracks, out.comm())) {
    io::write_ragged(out, "/states", tracks.states);
    out.write_attribute("/states", "names", std::string("0 normal, 1 directed, 2 confined, 3 subdiffusive"));
  }
  std::vector<std::int64_t> lengths;
  for (std::uint64_t i = 0; i < tracks.size(); ++i) lengths.push_back(static_cast<std::int64_t>(tracks.positions.length(i)));
  io::write_samples(out, "/track_id", tracks.track_id, {});
  io::write_samples(out, "/length", lengths, {});
  // Per-track truth and labels, each written when some rank holds it (a
  // tracks HDF5 read back keeps what it had; an imported table has none).
  const auto per_track = [&](const char* name, const auto& values) {
    if (out.comm().allreduce_max<int>(values.empty() ? 0 : 1) == 1) io::write_samples(out, name, values, {});
  };
  per_track("/D", tracks.diffusion);
  per_track("/Q", tracks.quality);
  per_track("/population", tracks.population);
  per_track("/experiment", tracks.experiment);
}

bool any_states(const TrackBlock& tracks, const par::Comm& comm) {
  return comm.allreduce_max<int>(tracks.has_states() ? 1 : 0) == 1;
}

FrameFeatures frame_features(const TrackBlock& tracks) {
  FrameFeatures f;
  f.channels = spt::feature_channels(tracks.dim);
  // One allocation for all tracks (a reserve per track would copy the buffer every time).
  f.values.reserve(tracks.positions.offsets.back() * static_cast<std::uint64_t>(f.channels));
  for (std::uint64_t i = 0; i < tracks.size(); ++i) {
    spt::append_frame_features(tracks.view(i), f.values);
    f.lengths.push_back(static_cast<std::int64_t>(tracks.positions.length(i)));
  }
  return f;
}

std::string member_path(const core::Config& config, const std::string& key, std::int64_t member) {
  if (config.string(key).empty()) return {};
  const std::filesystem::path base(config.string(key));
  const auto name = base.stem().string() + "_member" + std::to_string(member) + base.extension().string();
  return output_path(config, (base.parent_path() / name).string());
}

}  // namespace phenoscale::app
