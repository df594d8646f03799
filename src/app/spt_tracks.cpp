// spt simulate / import / features (docs/cli.md "spt").
//   mpirun -n 2 phenoscale spt simulate -c inputs/spt/demo.toml --set simulate.tracks=5000
//   mpirun -n 2 phenoscale spt import   -c inputs/spt/demo.toml --input my_tracks.csv --set import.pixel_um=0.108
//   mpirun -n 2 phenoscale spt features -c inputs/spt/demo.toml
#include <algorithm>
#include <filesystem>
#include <cmath>

#include "phenoscale/app/spt_common.hpp"
#include "phenoscale/app/spt_stages.hpp"
#include "phenoscale/app/stage_io.hpp"
#include "phenoscale/core/error.hpp"
#include "phenoscale/core/log.hpp"
#include "phenoscale/core/progress.hpp"
#include "phenoscale/io/csv.hpp"
#include "phenoscale/io/provenance.hpp"
#include "phenoscale/io/sample_array.hpp"
#include "phenoscale/io/sharded_text.hpp"
#include "phenoscale/par/agree.hpp"
#include "phenoscale/par/partition.hpp"
#include "phenoscale/spt/features.hpp"
#include "phenoscale/spt/simulate.hpp"

namespace phenoscale::app {
namespace {

using core::cat;

spt::SimulationOptions simulation_options(const core::Config& cfg) {
  spt::SimulationOptions o;
  o.dim = static_cast<int>(cfg.integer("simulate.dim"));
  o.dt = cfg.real("simulate.dt");
  o.min_length = cfg.integer("simulate.min_length");
  o.max_length = cfg.integer("simulate.max_length");
  o.single_mode_fraction = cfg.real("simulate.single_mode_fraction");
  o.d_min = cfg.real("simulate.d_min");
  o.d_max = cfg.real("simulate.d_max");
  o.q_min = cfg.real("simulate.q_min");
  o.q_max = cfg.real("simulate.q_max");
  o.alpha_min = cfg.real("simulate.alpha_min");
  o.alpha_max = cfg.real("simulate.alpha_max");
  o.model = cfg.string("simulate.model");
  o.populations = cfg.integer("simulate.populations");
  o.population_segment_frames = cfg.integer("simulate.population_segment_frames");
  o.experiments = cfg.integer("simulate.experiments");
  // The deck's flat list holds 4 weights (normal, directed, confined, subdiffusive) per population.
  const auto& weights = cfg.real_list("simulate.population_weights");
  if (o.populations > 0 && static_cast<std::int64_t>(weights.size()) != spt::kStates * o.populations) {
    throw ConfigError(cat(deck_label(cfg), ": simulate.population_weights has ", weights.size(), " values; expected ",
                          spt::kStates, " per population (normal, directed, confined, subdiffusive) x ",
                          o.populations, " populations = ", spt::kStates * o.populations));
  }
  if (o.populations == 0 && !weights.empty())
    core::Log::warn(cat(deck_label(cfg), ": simulate.population_weights is ignored: simulate.populations = 0 "
                                         "(no labelled populations)"));
  for (std::size_t p = 0; o.populations > 0 && p < static_cast<std::size_t>(o.populations); ++p) {
    std::array<double, spt::kStates> row{};
    std::copy_n(weights.begin() + static_cast<std::ptrdiff_t>(p * spt::kStates), spt::kStates, row.begin());
    o.population_weights.push_back(row);
  }
  return o;
}

// The table rows of this rank's tracks, `track_id,frame,x,y[,z]`, shortest round-trip numbers.
std::string trajectory_rows(const TrackBlock& tracks) {
  std::string text;
  char buffer[64];
  auto number = [&](double v) {
    const auto r = std::snprintf(buffer, sizeof buffer, "%.9g", v);
    text.append(buffer, static_cast<std::size_t>(r));
  };
  for (std::uint64_t i = 0; i < tracks.size(); ++i) {
    const auto view = tracks.view(i);
    for (std::int64_t t = 0; t < view.frames; ++t) {
      text += std::to_string(tracks.track_id[i]) + "," + std::to_string(tracks.frames.series(i)[t]);
      for (int a = 0; a < view.dim; ++a) {
        text += ",";
        number(view.at(t, a));
      }
      text += "\n";
    }
  }
  return text;
}

// Callers pass their stop point first (begin_outputs, make_parent_dir).
void write_tracks_file(const StageContext& ctx, const TrackBlock& tracks, const std::string& path,
                       const std::vector<std::string>& inputs) {
  create_parent_dir(ctx, path);
  io::H5File out = io::H5File::create(path, ctx.comm);
  write_tracks(out, tracks);
  io::write_provenance(out, stage_provenance(ctx, inputs));
  out.commit();
}

}  // namespace

void add_spt_track_keys(core::Schema& s) {
  s.string("simulate.output", "tracks.h5", "Simulated tracks (tracks.h5 layout), inside run.output_dir")
      .string("simulate.csv", "", "Also write the tracks as a trajectory CSV track_id,frame,x,y[,z] (empty: none)")
      .integer("simulate.tracks", 1000, "Number of training tracks (train splits them into training and validation)", 1, 1e10)
      .integer("simulate.test_tracks", 0, "Number of held-out test tracks, drawn after the training tracks (0: none)", 0, 1e10)
      .string("simulate.test_output", "test_tracks.h5", "Held-out test tracks, inside run.output_dir; the default "
              "input of segment, baseline, evaluate and fingerprint")
      .string("simulate.test_csv", "", "Also write the test tracks as a trajectory CSV (empty: none)")
      .integer("simulate.dim", 2, "Dimensionality: 2 or 3", 2, 3)
      .string("simulate.model", "deepspt",
              "deepspt (4 modes with switching, docs/methods.md §2.1) or an AnDi-2021 model andi:<attm|ctrw|fbm|lw|sbm>")
      .real("simulate.dt", 1.0, "Frame interval dt", 1e-9, 1e9)
      .integer("simulate.min_length", 5, "Shortest track, frames", 2, 1e7)
      .integer("simulate.max_length", 600, "Track lengths are uniform in [min_length, max_length)", 3, 1e7)
      .real("simulate.single_mode_fraction", 0.2, "Fraction of tracks with one diffusion mode", 0, 1)
      .real("simulate.d_min", 1e-4, "Smallest diffusion coefficient D (log-uniform)", 1e-12, 1e6)
      .real("simulate.d_max", 0.5, "Largest diffusion coefficient D", 1e-12, 1e6)
      .real("simulate.q_min", 1.0, "Smallest localisation quality Q (uniform; noise sigma = sqrt(D dt)/Q)", 1e-6, 1e6)
      .real("simulate.q_max", 16.0, "Largest localisation quality Q", 1e-6, 1e6)
      .real("simulate.alpha_min", 0.0, "Subdiffusive segments: smallest anomalous exponent alpha (uniform)", 0, 1.999)
      .real("simulate.alpha_max", 0.7, "Subdiffusive segments: largest alpha (fBm with H = alpha/2)", 0, 1.999)
      .integer("simulate.populations", 0,
               "Labelled populations P for spt classify (0: off). Track i is in population i mod P and experiment "
               "(i / P) mod simulate.experiments; writes /population and /experiment", 0, 1e6)
      .real_list("simulate.population_weights", {},
                 "Per population, 4 weights (normal, directed, confined, subdiffusive): the share of every track's "
                 "frames in each mode, e.g. [0.6, 0, 0, 0.4, 0.4, 0, 0, 0.6]", 0, 1e12)
      .integer("simulate.population_segment_frames", 25,
               "With populations: each mode's frames are cut into pieces of about this many frames, in random order",
               1, 1e7)
      .integer("simulate.experiments", 1, "With populations: number of experiment labels (leave-one-experiment-out)",
               1, 1e9)
      .string("import.input", "", "Trajectory CSV (track_id|particle, frame, x, y[, z]) or tracks HDF5; required")
      .string("import.output", "tracks.h5", "Imported tracks, inside run.output_dir")
      .real("import.pixel_um", 1.0,
            "Trajectory tables: coordinates are multiplied by this (pixels -> µm); not with a tracks HDF5 (µm)", 1e-12,
            1e12)
      .real("import.dt_s", 1.0, "Trajectory tables: frame interval, seconds; not with a tracks HDF5 (has its own)",
            1e-12, 1e12)
      .integer("import.min_length", 5, "Tracks with fewer frames are skipped (counted) or rejected", 1, 1e9)
      .string("import.short_tracks", "skip", "skip (count them) or error", {"skip", "error"})
      .string("import.gaps", "keep", "Tracks with missing frames: keep (counted), skip (counted) or error",
              {"keep", "skip", "error"})
      .string("features.input", "", "Tracks (tracks.h5 layout or a trajectory CSV); default: simulate.output")
      .string("features.output", "features.h5", "Per-frame features (CSR /features) and /states, inside run.output_dir");
}

namespace {

// Simulates tracks [first_index, first_index + count) of the seed's stream
// (track ids 0..count-1) into `path` and, when `csv` is set, a trajectory CSV.
// `retire`: the stage's output set, removed before this set is written (the
// training set's call retires the test set's files too); `left`: what is on
// disk, for the stop point's message.
void simulate_set(const StageContext& ctx, const spt::SimulationOptions& options, std::uint64_t first_index,
                  std::uint64_t count, const std::string& path, const std::string& csv,
                  const std::vector<std::string>& retire, const std::string& left) {
  const auto seed = static_cast<std::uint64_t>(ctx.config.integer("run.seed"));
  const par::Range mine = par::BlockPartition::over(count, ctx.comm).range(ctx.comm.rank());
  TrackBlock tracks;
  tracks.dim = options.dim;
  tracks.dt_s = options.dt;
  tracks.first = mine.begin;
  tracks.global_tracks = count;
  tracks.positions.width = static_cast<std::uint64_t>(options.dim);
  {
    core::ScopedTimer t(ctx.timers, "simulate");
    core::Progress progress("simulate", count, ctx.comm.size(), ctx.config.real("run.progress_interval_s"));
    for (std::uint64_t i = mine.begin; i < mine.end; ++i) {
      const spt::Track track = spt::simulate_track(options, seed, first_index + i);
      std::vector<std::int64_t> frames(static_cast<std::size_t>(track.frames()));
      for (std::size_t f = 0; f < frames.size(); ++f) frames[f] = static_cast<std::int64_t>(f);
      tracks.track_id.push_back(static_cast<std::int64_t>(i));
      tracks.positions.push_back(track.xyz.data(), frames.size());
      tracks.frames.push_back(frames.data(), frames.size());
      tracks.states.push_back(track.states.data(), frames.size());
      tracks.diffusion.push_back(track.diffusion);
      tracks.quality.push_back(track.quality);
      if (options.populations > 0) {
        tracks.population.push_back(spt::population_of(options, first_index + i));
        tracks.experiment.push_back(spt::experiment_of(options, first_index + i));
      }
      progress.advance();
    }
    progress.finish();
  }
  core::ScopedTimer t(ctx.timers, "write");
  begin_outputs(ctx, retire, left);
  write_tracks_file(ctx, tracks, path, {});
  core::Log::info(cat("spt simulate: ", count, " tracks -> ", path));
  if (!csv.empty()) {
    const std::string header = options.dim == 3 ? "track_id,frame,x,y,z\n" : "track_id,frame,x,y\n";
    io::write_text_in_rank_order(csv, (ctx.comm.is_root() ? header : "") + trajectory_rows(tracks), ctx.comm);
    core::Log::info("spt simulate: wrote " + csv);
  }
}

}  // namespace

void spt_simulate(const StageContext& ctx) {
  const auto& cfg = ctx.config;
  spt::SimulationOptions options;
  par::collectively(ctx.comm, [&] {
    options = simulation_options(cfg);
    spt::validate(options);
  });
  const auto train = static_cast<std::uint64_t>(cfg.integer("simulate.tracks"));
  const auto test = static_cast<std::uint64_t>(cfg.integer("simulate.test_tracks"));
  core::Log::info(cat("spt simulate: ", train, " training and ", test, " test ", options.dim, "D tracks (",
                      options.model, ") on ", ctx.comm.size(), " rank(s)"));
  if (options.populations > 0) {
    core::Log::info(cat("spt simulate: ", options.populations, " labelled populations (mode shares ",
                        core::format_value(cfg.real_list("simulate.population_weights")), ") in ", options.experiments,
                        " experiment(s)"));
  }
  const std::string train_path = output_path(cfg, cfg.string("simulate.output"));
  const std::string test_path = output_path(cfg, cfg.string("simulate.test_output"));
  const std::string train_csv = optional_output(cfg, "simulate.csv"), test_csv = optional_output(cfg, "simulate.test_csv");
  // With a test set, its files go with the training set's: a job killed
  // between the two leaves no test set rather than an earlier run's.
  std::vector<std::string> set{train_path, train_csv};
  if (test > 0) set.insert(set.end(), {test_path, test_csv});
  simulate_set(ctx, options, 0, train, train_path, train_csv, set, par::nothing_written);
  // The test tracks continue the seed's stream after the training tracks: independent draws.
  if (test > 0) {
    simulate_set(ctx, options, train, test, test_path, test_csv, {test_path, test_csv},
                 cat("the training set is written (", train_path, "), the test set is not"));
  } else if (ctx.comm.is_root() && std::filesystem::exists(test_path)) {
    // The later stages read simulate.test_output by default: a test set of an
    // earlier run there would be segmented and scored as if it were this
    // one's. Left as it is (a run may add tracks beside a kept test set).
    core::Log::warn(cat("spt simulate: ", test_path, " is from an earlier run (simulate.test_tracks = 0 wrote no test "
                        "set); the later stages read it by default"));
  }
}

namespace {

bool has_gap(const std::int64_t* frames, std::uint64_t n) {
  for (std::uint64_t t = 1; t < n; ++t) {
    if (frames[t] != frames[t - 1] + 1) return true;
  }
  return false;
}

// Keeps the tracks that pass the deck's rules; counts what was dropped.
TrackBlock filter_tracks(const TrackBlock& in, const core::Config& cfg, const std::string& where,
                         const par::Comm& comm, std::int64_t counts[3]) {
  const auto min_length = static_cast<std::uint64_t>(cfg.integer("import.min_length"));
  const std::string short_rule = cfg.string("import.short_tracks"), gap_rule = cfg.string("import.gaps");
  TrackBlock out;
  out.dim = in.dim;
  out.dt_s = in.dt_s;
  out.positions.width = in.positions.width;
  std::string error;
  for (std::uint64_t i = 0; i < in.size(); ++i) {
    const auto n = in.positions.length(i);
    const bool gap = has_gap(in.frames.series(i), n);
    if (n < min_length) {
      ++counts[0];
      if (short_rule == "error" && error.empty()) {
        error = cat(where, ": track ", in.track_id[i], " has ", n, " frame(s), fewer than import.min_length = ",
                    min_length, " (set import.short_tracks = \"skip\" to drop such tracks)");
      }
      continue;
    }
    if (gap) {
      ++counts[1];
      if (gap_rule == "error" && error.empty()) {
        const std::int64_t* f = in.frames.series(i);
        std::uint64_t t = 1;
        while (f[t] == f[t - 1] + 1) ++t;  // has_gap: some t < n breaks the run
        error = cat(where, ": track ", in.track_id[i], " has missing frames (", f[t - 1], " is followed by ", f[t],
                    "; set import.gaps = \"keep\" or \"skip\")");
      }
      if (gap_rule != "keep") continue;
    }
    ++counts[2];
    out.track_id.push_back(in.track_id[i]);
    out.positions.push_back(in.positions.series(i), n);
    out.frames.push_back(in.frames.series(i), n);
    if (in.has_states()) out.states.push_back(in.states.series(i), n);
    // A tracks HDF5's per-track truth and labels stay with their track.
    for (auto [from, to] : {std::pair{&in.diffusion, &out.diffusion}, std::pair{&in.quality, &out.quality}})
      if (!from->empty()) to->push_back((*from)[i]);
    for (auto [from, to] : {std::pair{&in.population, &out.population}, std::pair{&in.experiment, &out.experiment}})
      if (!from->empty()) to->push_back((*from)[i]);
  }
  par::collectively(comm, [&] {
    if (!error.empty()) throw InputError(error);
  });
  return out;
}

}  // namespace

void spt_import(const StageContext& ctx) {
  const auto& cfg = ctx.config;
  require_setting(ctx, "import.input", "give the trajectories with --input tracks.csv");
  const std::string input = cfg.string("import.input");
  if (!is_trajectory_table(input))  // a tracks HDF5 is in µm and carries its dt_s
    for (const char* key : {"import.pixel_um", "import.dt_s"})
      if (cfg.is_set(key))
        throw ConfigError(cat(key, " applies to a trajectory table (.csv); ", input,
                              " is read as a tracks HDF5 (positions in µm, dt_s its own): drop ", key));
  TrackBlock raw;
  {
    core::ScopedTimer t(ctx.timers, "read");
    raw = read_tracks(input, ctx.comm, cfg.real("import.pixel_um"), cfg.real("import.dt_s"));
  }
  std::int64_t counts[3] = {0, 0, 0};  // short, with gaps, kept
  TrackBlock tracks = filter_tracks(raw, cfg, input, ctx.comm, counts);
  for (auto& c : counts) c = ctx.comm.allreduce_sum(c);
  tracks.global_tracks = static_cast<std::uint64_t>(counts[2]);
  core::Log::info(cat("spt import: ", raw.global_tracks, " tracks (", raw.dim, "D) in ", input, "; ", counts[0],
                      " shorter than ", cfg.integer("import.min_length"), " frames skipped; ", counts[1],
                      " with missing frames (", cfg.string("import.gaps"), "); ", counts[2], " kept"));
  par::check_all(ctx.comm, counts[2] > 0,
                 cat(input, ": no track left after import.min_length and import.gaps (", counts[0], " shorter than ",
                     cfg.integer("import.min_length"), " frames, ", counts[1], " with missing frames)"));
  make_parent_dir(ctx, output_path(cfg, cfg.string("import.output")));
  write_tracks_file(ctx, tracks, output_path(cfg, cfg.string("import.output")), {input});
  core::Log::info("spt import: wrote " + output_path(cfg, cfg.string("import.output")));
}

void spt_features(const StageContext& ctx) {
  const auto& cfg = ctx.config;
  const std::string input = input_or_output(cfg, "features.input", "simulate.output");
  const TrackBlock tracks = read_tracks(input, ctx.comm);
  const FrameFeatures features = frame_features(tracks);
  const std::string path = output_path(cfg, cfg.string("features.output"));
  make_parent_dir(ctx, path);
  io::H5File out = io::H5File::create(path, ctx.comm);
  io::RaggedSeries<float> series;
  series.width = static_cast<std::uint64_t>(features.channels);
  std::int64_t offset = 0;
  for (auto length : features.lengths) {
    series.push_back(features.values.data() + offset * features.channels, static_cast<std::uint64_t>(length));
    offset += length;
  }
  io::write_ragged(out, "/features", series);
  out.write_attribute("/features", "dim", static_cast<std::int64_t>(tracks.dim));
  out.write_attribute("/features", "columns",
                      std::string(tracks.dim == 3 ? "x-x0, y-y0, z-z0, step, dot" : "x-x0, y-y0, step, dot"));
  const bool labelled = any_states(tracks, ctx.comm);
  if (labelled) io::write_ragged(out, "/states", tracks.states);
  io::write_samples(out, "/track_id", tracks.track_id, {});
  io::write_provenance(out, stage_provenance(ctx, {input}));
  out.commit();
  core::Log::info(cat("spt features: ", tracks.global_tracks, " tracks, ", features.channels, " channels per frame",
                      labelled ? " with truth states" : "", " -> ", path));
}

}  // namespace phenoscale::app
