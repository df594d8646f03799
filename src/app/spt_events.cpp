// spt event-features / event-train / events: DeepSPT's event timing
// (Kæstel-Hansen et al. 2024; docs/methods.md §2.6): sliding-window features
// per frame → bidirectional GRU → per-frame before/after; the event is the
// first frame "after".
//   mpirun -n 2 phenoscale spt event-features -c inputs/spt/demo.toml          → event_features.h5
//   mpirun -n 2 phenoscale spt event-train    -c inputs/spt/demo.toml          → event_model.h5
//   mpirun -n 2 phenoscale spt events         -c inputs/spt/demo.toml --input test_tracks.csv
//                                                                               → events/events.csv, events_summary.csv
// Labels: 0 before a track's first true changepoint, 1 from it on; a track
// without a changepoint is all 0 (no event). Errors are in frames (frame
// numbers of the input), against the first true changepoint.
#include <algorithm>
#include <cmath>
#include <filesystem>
#include <limits>

#include "phenoscale/app/spt_common.hpp"
#include "phenoscale/app/spt_stages.hpp"
#include "phenoscale/app/stage_io.hpp"
#include "phenoscale/core/error.hpp"
#include "phenoscale/core/log.hpp"
#include "phenoscale/io/csv.hpp"
#include "phenoscale/io/provenance.hpp"
#include "phenoscale/io/sample_array.hpp"
#include "phenoscale/io/sharded_text.hpp"
#include "phenoscale/nn/engine.hpp"
#include "phenoscale/par/agree.hpp"
#include "phenoscale/spt/event_features.hpp"
#include "phenoscale/spt/segmentation.hpp"

namespace phenoscale::app {
namespace {

using core::cat;

spt::EventFeatureOptions event_options(const core::Config& cfg) {
  spt::EventFeatureOptions o;
  o.window = cfg.integer("events.window");
  return o;
}

// Index of the first true changepoint of local track i, or -1.
std::int64_t true_event(const TrackBlock& tracks, std::uint64_t i) {
  const auto n = static_cast<std::int64_t>(tracks.states.length(i));
  const auto labels = spt::event_labels(tracks.states.series(i), n);
  return spt::first_after(labels.data(), n);
}

// The network input of every local track, in track order.
nn::SeriesBlock event_series(const TrackBlock& tracks, const spt::EventFeatureOptions& options,
                             const par::Comm& comm) {
  nn::SeriesBlock block;
  block.channels = spt::kEventFeatureChannels;
  par::collectively(comm, [&] {
    for (std::uint64_t i = 0; i < tracks.size(); ++i) {
      spt::append_event_features(tracks.view(i), options, block.values);
      block.lengths.push_back(static_cast<std::int64_t>(tracks.positions.length(i)));
    }
  });
  return block;
}

// "<dir>/<stem of events.model><suffix><extension of the [train] key>" when
// the [train] key is set, else "": event-train's metrics and checkpoint never
// share files with `spt train`'s.
std::string beside_model(const core::Config& cfg, const std::string& train_key, const std::string& suffix) {
  if (cfg.string(train_key).empty()) return {};
  const std::filesystem::path model(output_path(cfg, cfg.string("events.model")));
  const auto extension = std::filesystem::path(cfg.string(train_key)).extension().string();
  return (model.parent_path() / (model.stem().string() + suffix + extension)).string();
}

// Event timing needs one class per frame: the registered segmentation networks.
std::vector<std::string> per_frame_architectures() {
  std::vector<std::string> names;
  for (const auto& a : nn::architectures())
    if (a.task == nn::Task::segment) names.push_back(a.name);
  return names;
}

}  // namespace

void add_spt_event_keys(core::Schema& s) {
  s.string("events.input", "", "Tracks for event-features (tracks HDF5 or trajectory CSV; default: simulate.output)")
      .string("events.features", "event_features.h5",
              "Event-timing features (CSR /features, /labels with truth): event-features writes, event-train reads, "
              "inside run.output_dir")
      .string("events.train_input", "", "Training data of event-train (default: events.features)")
      .integer("events.window", 20, "Frames per sliding window of the event features (docs/methods.md §2.6; the paper uses 20-30); "
               "events checks it against the model's", 3, 1e6)
      .string("events.tracks", "all",
              "Tracks with truth that event-features keeps: all (no changepoint: all frames 'before'), switching "
              "(at least one changepoint) or two-segment (exactly one)",
              {"all", "switching", "two-segment"})
      .string("events.architecture", "gru-tagger",
              "Per-frame network event-train trains (replaces model.architecture; sized by [model.<name>], "
              "classes set to 2); the registered networks that predict one class per frame",
              per_frame_architectures())
      .string("events.model", "event_model.h5", "Event-timing model: event-train writes, events reads, inside run.output_dir")
      .string("events.predict_input", "", "Tracks to time events in (trajectory CSV or tracks HDF5; default: "
              "simulate.test_output); CSV coordinates are scaled by segment.pixel_um")
      .string("events.output", "events", "Directory receiving events.csv and events_summary.csv, inside run.output_dir")
      .integer("events.min_run", 5, "Before/after runs shorter than this many frames are merged into a neighbour "
               "before the first 'after' frame is taken", 1, 1e9);
}

void spt_event_features(const StageContext& ctx) {
  const auto& cfg = ctx.config;
  const std::string input = input_or_output(cfg, "events.input", "simulate.output");
  const std::string keep = cfg.string("events.tracks");
  TrackBlock all;
  {
    core::ScopedTimer t(ctx.timers, "read");
    all = read_tracks(input, ctx.comm);
  }
  const bool labelled = any_states(all, ctx.comm);
  par::check_all(ctx.comm, labelled || keep == "all",
                 cat(input, ": events.tracks = \"", keep, "\" selects tracks by their true changepoints, but the "
                     "tracks have no /states"));
  // The tracks kept, with their labels.
  TrackBlock tracks;
  tracks.dim = all.dim;
  tracks.dt_s = all.dt_s;
  tracks.positions.width = all.positions.width;
  io::RaggedSeries<std::int64_t> labels;
  std::int64_t with_event = 0;
  for (std::uint64_t i = 0; i < all.size(); ++i) {
    const auto n = all.positions.length(i);
    if (labelled) {
      const auto l = spt::event_labels(all.states.series(i), static_cast<std::int64_t>(n));
      const auto changepoints = spt::changepoints(all.states.series(i), static_cast<std::int64_t>(n)).size();
      if ((keep == "switching" && changepoints < 1) || (keep == "two-segment" && changepoints != 1)) continue;
      labels.push_back(l.data(), n);
      with_event += changepoints > 0 ? 1 : 0;
    }
    tracks.track_id.push_back(all.track_id[i]);
    tracks.positions.push_back(all.positions.series(i), n);
    tracks.frames.push_back(all.frames.series(i), n);
  }
  const auto kept = ctx.comm.allreduce_sum(static_cast<std::int64_t>(tracks.size()));
  with_event = ctx.comm.allreduce_sum(with_event);
  par::check_all(ctx.comm, kept > 0, cat(input, ": no track left with events.tracks = \"", keep, "\""));
  nn::SeriesBlock block;
  {
    core::ScopedTimer t(ctx.timers, "features");
    block = event_series(tracks, event_options(cfg), ctx.comm);
  }
  io::RaggedSeries<float> features;
  features.width = spt::kEventFeatureChannels;
  std::int64_t offset = 0;
  for (auto length : block.lengths) {
    features.push_back(block.values.data() + offset * spt::kEventFeatureChannels, static_cast<std::uint64_t>(length));
    offset += length;
  }
  const std::string path = output_path(cfg, cfg.string("events.features"));
  core::ScopedTimer t(ctx.timers, "write");
  make_parent_dir(ctx, path);
  io::H5File out = io::H5File::create(path, ctx.comm);
  io::write_ragged(out, "/features", features);
  std::string columns;
  for (const auto& name : spt::event_feature_names()) columns += (columns.empty() ? "" : ", ") + name;
  out.write_attribute("/features", "columns", columns);
  out.write_attribute("/features", "window", cfg.integer("events.window"));
  out.write_attribute("/features", "dim", static_cast<std::int64_t>(tracks.dim));
  if (labelled) {
    io::write_ragged(out, "/labels", labels);
    out.write_attribute("/labels", "meaning", std::string("0 before the track's first true changepoint, 1 from it on "
                                                          "(all 0 without a changepoint)"));
  }
  io::write_ragged(out, "/frames", tracks.frames);
  io::write_samples(out, "/track_id", tracks.track_id, {});
  io::write_provenance(out, stage_provenance(ctx, {input}));
  out.commit();
  core::Log::info(cat("spt event-features: ", kept, " of ", all.global_tracks, " tracks (events.tracks = ", keep, ")",
                      labelled ? cat(", ", with_event, " with a true event") : std::string(), ", ",
                      spt::kEventFeatureChannels, " channels per frame, ", cfg.integer("events.window"),
                      "-frame windows -> ", path));
}

void spt_event_train(const StageContext& ctx) {
  const auto& cfg = ctx.config;
  const std::string data = input_or_output(cfg, "events.train_input", "events.features");
  const std::string architecture = cfg.string("events.architecture");
  bool has_classes = false;  // the schema's choices are the per-frame networks
  for (const auto& h : nn::find_architecture(architecture).hyperparameters) has_classes = has_classes || h.key == "classes";
  std::int64_t window = cfg.integer("events.window");
  {
    par::collectively(ctx.comm, [&] {
      if (!std::filesystem::exists(data)) throw InputError(cat(data, ": not found; run `spt event-features` first"));
    });
    io::H5File in = io::H5File::open(data, ctx.comm);
    par::check_all(ctx.comm, in.has("/labels"), cat(data, ": no /labels; event-train needs tracks with truth /states "
                                                         "(run `spt event-features` on simulated tracks)"));
    if (in.has_attribute("/features", "window")) window = in.read_int_attribute("/features", "window");
  }
  // The deck with the event network selected: [train] as given, [model] of
  // events.architecture, and events.window of the training features (so that
  // the model file's provenance deck tells `spt events` the window).
  std::vector<std::string> overrides = {cat("model.architecture=", architecture), cat("events.window=", window)};
  if (has_classes) overrides.push_back(cat("model.", architecture, ".classes=2"));
  const core::Config events_cfg =
      core::Config::resolve(spt_pipeline().schema(), cfg.to_toml(), cfg.deck_name(), overrides);
  const StageContext events_ctx{events_cfg, ctx.comm, ctx.stage, ctx.command_line, ctx.timers};
  nn::TrainFiles files;
  files.data = data;
  files.inputs = "/features";
  files.labels = "/labels";
  files.model = output_path(cfg, cfg.string("events.model"));
  files.metrics_csv = beside_model(cfg, "train.metrics", "_training");
  files.checkpoint = beside_model(cfg, "train.checkpoint", "_checkpoint");
  make_parent_dir(ctx, files.model);
  core::Log::info(cat("spt event-train: ", architecture, " on ", data));
  const auto s = nn::run_training(events_cfg, files, stage_provenance(events_ctx, {data}), ctx.comm);
  core::Log::info(cat("spt event-train: ", s.parameters, " parameters, ", s.steps, " steps, best epoch ", s.best_epoch,
                      ", validation frame accuracy ", s.final_validation_accuracy,
                      s.has_test ? cat(", test frame accuracy ", s.test_accuracy) : std::string(), " -> ", files.model));
}

namespace {

// Event-time errors of one predictor against the true events.
struct EventScore {
  std::string method;
  double tracks = 0, true_events = 0, predicted = 0, detected = 0, false_events = 0;
  std::vector<double> errors;  // |predicted − true| frames of the detected events, all ranks
};

void add_track(EventScore& s, std::int64_t predicted_frame, bool has_prediction, std::int64_t true_frame,
               bool has_truth_event) {
  s.tracks += 1;
  s.predicted += has_prediction ? 1 : 0;
  if (has_truth_event) {
    s.true_events += 1;
    if (has_prediction) {
      s.detected += 1;
      s.errors.push_back(std::abs(double(predicted_frame - true_frame)));
    }
  } else if (has_prediction) {
    s.false_events += 1;
  }
}

void reduce(EventScore& s, const par::Comm& comm) {
  std::vector<double> counts = {s.tracks, s.true_events, s.predicted, s.detected, s.false_events};
  comm.allreduce_sum_inplace(counts);
  s.tracks = counts[0], s.true_events = counts[1], s.predicted = counts[2], s.detected = counts[3];
  s.false_events = counts[4];
  s.errors = comm.allgatherv(s.errors);
  std::sort(s.errors.begin(), s.errors.end());
}

double median(const std::vector<double>& sorted) {
  if (sorted.empty()) return std::numeric_limits<double>::quiet_NaN();
  return (sorted[(sorted.size() - 1) / 2] + sorted[sorted.size() / 2]) / 2.0;
}

double mean(const std::vector<double>& v) {
  if (v.empty()) return std::numeric_limits<double>::quiet_NaN();
  double m = 0;
  for (double e : v) m += e / double(v.size());
  return m;
}

}  // namespace

void spt_events(const StageContext& ctx) {
  const auto& cfg = ctx.config;
  const std::string input = input_or_output(cfg, "events.predict_input", "simulate.test_output");
  const std::string model = output_path(cfg, cfg.string("events.model"));
  TrackBlock tracks;
  {
    core::ScopedTimer t(ctx.timers, "read");
    tracks = read_tracks(input, ctx.comm, cfg.real("segment.pixel_um"));
  }
  par::collectively(ctx.comm, [&] {
    if (!std::filesystem::exists(model)) throw InputError(cat(model, ": not found; run `spt event-train` first"));
  });
  const nn::ModelSpec spec = nn::read_model_spec(model, ctx.comm);
  const std::int64_t channels = spec.values.count("inputs") ? spec.integer("inputs") : spec.integer("channels");
  const std::int64_t classes = spec.values.count("classes") ? spec.integer("classes") : 0;
  par::check_all(ctx.comm, channels == spt::kEventFeatureChannels && classes == 2,
                 cat(model, ": a ", spec.architecture, " with ", channels, " input channels and ", classes,
                     " classes is not an event-timing model (", spt::kEventFeatureChannels,
                     " channels, 2 classes: train it with `spt event-train`)"));
  // The window the model was trained with: events.window of its provenance deck (event-train records it).
  std::int64_t trained_window = -1;
  {
    io::H5File in = io::H5File::open(model, ctx.comm);
    if (in.has_attribute("/", "deck")) {
      const std::string deck = in.read_string_attribute("/", "deck");
      try {
        trained_window = core::Config::resolve(spt_pipeline().schema(), deck, model, {}).integer("events.window");
      } catch (const std::exception&) {
        trained_window = -1;  // not an spt deck (or an older one): nothing to compare
      }
    }
  }
  par::check_all(ctx.comm, trained_window < 0 || trained_window == cfg.integer("events.window"),
                 cat(model, ": the model was trained on ", trained_window, "-frame windows but events.window = ",
                     cfg.integer("events.window"), "; set events.window = ", trained_window));
  nn::PredictOptions options;
  options.batch = cfg.integer("segment.batch_size");
  nn::FramePredictions p;
  {
    core::ScopedTimer t(ctx.timers, "predict");
    p = nn::predict_series({model}, event_series(tracks, event_options(cfg), ctx.comm), options, input, ctx.comm);
  }
  const bool truth = any_states(tracks, ctx.comm);
  const auto min_run = cfg.integer("events.min_run");
  EventScore network, midpoint;
  network.method = "network";
  midpoint.method = "midpoint";
  std::string rows;
  std::int64_t offset = 0, found = 0;
  for (std::uint64_t i = 0; i < tracks.size(); ++i) {
    const auto n = static_cast<std::int64_t>(tracks.positions.length(i));
    const std::int64_t* frames = tracks.frames.series(i);
    std::vector<std::int64_t> states(p.predicted.begin() + offset, p.predicted.begin() + offset + n);
    spt::merge_short_runs(states.data(), n, min_run);
    const std::int64_t event = spt::first_after(states.data(), n);
    rows += std::to_string(tracks.track_id[i]) + ",";
    if (event >= 0) {
      char buffer[64];
      std::snprintf(buffer, sizeof buffer, "%lld,%.6g\n", static_cast<long long>(frames[event]),
                    double(p.probabilities[static_cast<std::size_t>((offset + event) * 2 + 1)]));
      rows += buffer;
      ++found;
    } else {
      rows += "-1,\n";
    }
    if (truth) {
      const std::int64_t true_index = true_event(tracks, i);
      const std::int64_t true_frame = true_index >= 0 ? frames[true_index] : -1;
      add_track(network, event >= 0 ? frames[event] : -1, event >= 0, true_frame, true_index >= 0);
      add_track(midpoint, n > 0 ? frames[n / 2] : -1, n > 0, true_frame, true_index >= 0);
    }
    offset += n;
  }
  found = ctx.comm.allreduce_sum(found);
  const std::string dir = output_path(cfg, cfg.string("events.output"));
  const std::string csv = (std::filesystem::path(dir) / "events.csv").string();
  const std::string summary = (std::filesystem::path(dir) / "events_summary.csv").string();
  begin_outputs(ctx, {csv, summary});  // the summary too: a rerun on tracks without states writes none
  {
    core::ScopedTimer t(ctx.timers, "write");
    io::write_text_in_rank_order(csv, (ctx.comm.is_root() ? "track_id,event_frame,p_after_at_event\n" : "") + rows,
                                 ctx.comm);
  }
  core::Log::info(cat("spt events: ", tracks.global_tracks, " tracks, ", found, " with an event (", spec.architecture,
                      ", min_run ", min_run, ") -> ", csv));
  if (!truth) return;
  std::vector<std::string> methods;
  std::vector<std::vector<double>> table(8);
  for (EventScore* s : {&network, &midpoint}) {
    reduce(*s, ctx.comm);
    methods.push_back(s->method);
    const std::vector<double> row = {s->tracks,       s->true_events,  s->predicted,     s->detected,
                                     s->true_events - s->detected, s->false_events, median(s->errors), mean(s->errors)};
    for (std::size_t c = 0; c < row.size(); ++c) table[c].push_back(row[c]);
    core::Log::info(cat("spt events: ", s->method, ": error vs the first true changepoint on ", s->true_events,
                        " tracks with an event: median ", median(s->errors), ", mean ", mean(s->errors), " frames (",
                        s->true_events - s->detected, " without a predicted event; ", s->false_events,
                        " events predicted on ", s->tracks - s->true_events, " tracks without one)"));
  }
  par::collectively(ctx.comm, [&] {  // agreed: a failed write is every rank's error
    if (!ctx.comm.is_root()) return;
    io::write_csv_table(summary, {"method"}, {methods},
                        {"tracks", "true_events", "predicted_events", "detected", "missed", "false_events",
                         "median_error_frames", "mean_error_frames"},
                        table);
  });
  core::Log::info("spt events: wrote " + summary);
}

}  // namespace phenoscale::app
