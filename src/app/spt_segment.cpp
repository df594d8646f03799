// spt train / segment / baseline / evaluate (docs/cli.md "spt").
//   mpirun -n 2 phenoscale spt train    -c inputs/spt/demo.toml                       (all members)
//   mpirun -n 2 phenoscale spt train    -c inputs/spt/demo.toml --set train.member=1  (one, e.g. a Slurm array task)
//   mpirun -n 2 phenoscale spt segment  -c inputs/spt/demo.toml --input tracks.csv --output segments
//   mpirun -n 2 phenoscale spt baseline -c inputs/spt/demo.toml
//   mpirun -n 2 phenoscale spt evaluate -c inputs/spt/demo.toml
// segments.csv (track_id,frame,state,p_normal,p_directed,p_confined,p_subdiffusive) and
// segments.h5 are a fixed contract (docs/file-formats.md).
#include <algorithm>
#include <cmath>
#include <filesystem>
#include <functional>
#include <limits>

#include "phenoscale/app/nn_stage_io.hpp"
#include "phenoscale/app/spt_common.hpp"
#include "phenoscale/app/spt_stages.hpp"
#include "phenoscale/app/stage_io.hpp"
#include "phenoscale/core/error.hpp"
#include "phenoscale/core/first_repeat.hpp"
#include "phenoscale/core/log.hpp"
#include "phenoscale/io/csv.hpp"
#include "phenoscale/io/provenance.hpp"
#include "phenoscale/io/sample_array.hpp"
#include "phenoscale/io/sharded_text.hpp"
#include "phenoscale/nn/engine.hpp"
#include "phenoscale/par/agree.hpp"
#include "phenoscale/par/check_deck.hpp"
#include "phenoscale/spt/features.hpp"
#include "phenoscale/spt/rolling_msd.hpp"
#include "phenoscale/spt/segmentation.hpp"

namespace phenoscale::app {
namespace {

using core::cat;

// Per-frame states and class probabilities of this rank's tracks.
struct Segmentation {
  io::RaggedSeries<std::int64_t> states;
  io::RaggedSeries<float> probabilities;  // width kStates
};

// The segments.csv rows of this rank's tracks.
std::string segment_rows(const TrackBlock& tracks, const Segmentation& seg) {
  std::string text;
  char buffer[160];
  for (std::uint64_t i = 0; i < tracks.size(); ++i) {
    const auto* states = seg.states.series(i);
    const auto* p = seg.probabilities.series(i);
    for (std::uint64_t t = 0; t < seg.states.length(i); ++t) {
      const float* q = p + t * spt::kStates;
      const int n = std::snprintf(buffer, sizeof buffer, "%lld,%lld,%lld,%.6g,%.6g,%.6g,%.6g\n",
                                  static_cast<long long>(tracks.track_id[i]),
                                  static_cast<long long>(tracks.frames.series(i)[t]), static_cast<long long>(states[t]),
                                  double(q[0]), double(q[1]), double(q[2]), double(q[3]));
      text.append(buffer, static_cast<std::size_t>(n));
    }
  }
  return text;
}

// Writes <dir>/segments.h5 and <dir>/segments.csv (each atomically).
void write_segments(const StageContext& ctx, const std::string& dir, const TrackBlock& tracks,
                    const Segmentation& seg, const std::string& method, const std::vector<std::string>& inputs,
                    double temperature) {
  const std::string h5 = (std::filesystem::path(dir) / "segments.h5").string();
  const std::string csv = (std::filesystem::path(dir) / "segments.csv").string();
  begin_outputs(ctx, {h5, csv});
  io::RaggedSeries<std::int64_t> points;
  for (std::uint64_t i = 0; i < tracks.size(); ++i) {
    const auto cp = spt::changepoints(seg.states.series(i), static_cast<std::int64_t>(seg.states.length(i)));
    points.push_back(cp.data(), cp.size());
  }
  {
    io::H5File out = io::H5File::create(h5, ctx.comm);
    io::write_ragged(out, "/states", seg.states);
    out.write_attribute("/states", "names", std::string("0 normal, 1 directed, 2 confined, 3 subdiffusive"));
    io::write_ragged(out, "/probabilities", seg.probabilities);
    out.write_attribute("/probabilities", "columns", std::string("p_normal, p_directed, p_confined, p_subdiffusive"));
    io::write_ragged(out, "/changepoints", points);
    out.write_attribute("/changepoints", "meaning", std::string("index (0-based, within the track) of the first frame of every run but the first"));
    io::write_ragged(out, "/frames", tracks.frames);
    io::write_samples(out, "/track_id", tracks.track_id, {});
    out.write_attribute("/", "method", method);
    out.write_attribute("/", "temperature", temperature);
    io::write_provenance(out, stage_provenance(ctx, inputs));
    out.commit();
  }
  const std::string header = "track_id,frame,state,p_normal,p_directed,p_confined,p_subdiffusive\n";
  io::write_text_in_rank_order(csv, (ctx.comm.is_root() ? header : "") + segment_rows(tracks, seg), ctx.comm);
}

std::vector<std::string> ensemble_models(const core::Config& cfg) {
  auto models = cfg.string_list("segment.models");
  if (!models.empty()) return models;
  for (std::int64_t m = 0; m < cfg.integer("train.members"); ++m) models.push_back(member_path(cfg, "train.output", m));
  return models;
}

// Rejects a network that is not a per-frame segmentation model, and tracks of
// another dimensionality than the ensemble was trained on.
void check_model_fits(const std::string& model, const TrackBlock& tracks, const std::string& input,
                      const par::Comm& comm) {
  const nn::ModelSpec spec = nn::read_model_spec(model, comm);
  const nn::Task task = nn::find_architecture(spec.architecture).task;
  par::check_all(comm, task == nn::Task::segment,
                 cat(model, ": a ", spec.architecture, " (", nn::task_name(task), " network), not a segmentation "
                     "model; segment.models must name networks that predict one state per frame (spt train)"));
  const std::int64_t channels = spec.values.count("inputs") ? spec.integer("inputs") : spec.integer("channels");
  const auto expected = spt::feature_channels(tracks.dim);
  par::check_all(comm, channels == expected,
                 cat(model, ": the network was trained on ", channels - 2, "D tracks (", channels,
                     " channels per frame) but ", input, " holds ", tracks.dim, "D tracks; use a ", tracks.dim,
                     "D model (segment.models)"));
  // segments.h5 holds the four diffusion states (docs/file-formats.md): a
  // tagger of other classes (the event network's two) is not a segmentation.
  const std::int64_t classes = spec.values.count("classes") ? spec.integer("classes") : -1;
  par::check_all(comm, classes == spt::kStates,
                 cat(model, ": a ", spec.architecture, " of ", classes, " classes per frame; expected ", spt::kStates,
                     " (the diffusion states of spt train; segment.models)"));
}

nn::SeriesBlock series_of(const TrackBlock& tracks, bool with_truth) {
  FrameFeatures f = frame_features(tracks);
  nn::SeriesBlock block;
  block.channels = f.channels;
  block.lengths = std::move(f.lengths);
  block.values = std::move(f.values);
  if (with_truth) block.targets = tracks.states.values;
  return block;
}

}  // namespace

void add_spt_segment_keys(core::Schema& s) {
  s.integer("train.members", 3, "Ensemble size: networks trained with seeds run.seed + member (docs/methods.md §2.2)", 1, 1000)
      .integer("train.member", -1, "Train only this member (a Slurm array task); -1: all members in turn", -1, 999)
      .string("segment.input", "", "Tracks to segment: trajectory CSV or tracks HDF5 (default: simulate.test_output)")
      .string("segment.output", "segments", "Directory receiving segments.csv and segments.h5, inside run.output_dir")
      .string_list("segment.models", {}, "Ensemble model files (default: the train.members members of train.output)")
      .real("segment.temperature", 1.0, "Temperature T: members' softmax(logits / T), averaged", 1e-6, 1e6)
      .string("segment.calibration_input", "",
              "Labelled tracks (e.g. a simulated validation set) on which to fit T by NLL; empty: use segment.temperature")
      .integer("segment.min_run", 5, "Runs shorter than this many frames are merged into a neighbour", 1, 1e9)
      .integer("segment.batch_size", 64, "Tracks per forward pass on each rank", 1, 1e9)
      .real("segment.pixel_um", 1.0, "CSV input: coordinates are multiplied by this", 1e-12, 1e12)
      .string("baseline.input", "", "Tracks (default: simulate.test_output)")
      .string("baseline.output", "baseline", "Directory receiving segments.csv and segments.h5, inside run.output_dir")
      .integer("baseline.window", 20, "Frames per rolling-MSD window", 3, 1e6)
      .real("baseline.alpha_low", 0.7, "α at or below this: subdiffusive", 0, 10)
      .real("baseline.alpha_high", 1.3, "α at or above this: directed", 0, 10)
      .string("evaluate.truth", "", "Tracks with truth /states (default: simulate.test_output)")
      .string_list("evaluate.methods", {"segments", "baseline"},
                   "Segmentation directories to score (each holding segments.h5), inside run.output_dir")
      .string("evaluate.output", "evaluation.csv", "Scores per method and subset, inside run.output_dir")
      .string("evaluate.changepoints_output", "changepoints.csv", "Changepoint errors on two-segment tracks");
}

void spt_train(const StageContext& ctx) {
  const auto& cfg = ctx.config;
  const std::string data = input_or_output(cfg, "train.input", "features.output");
  const std::int64_t members = cfg.integer("train.members"), only = cfg.integer("train.member");
  par::check_deck(ctx.comm, only < members,
                  cat("train.member = ", only, " but train.members = ", members, " (members are 0..", members - 1,
                      ")"));
  for (std::int64_t m = 0; m < members; ++m) {
    if (only >= 0 && m != only) continue;
    nn::TrainFiles files = train_files(ctx, data);
    files.model = member_path(cfg, "train.output", m);
    files.checkpoint = member_path(cfg, "train.checkpoint", m);
    files.metrics_csv = member_path(cfg, "train.metrics", m);
    files.member = static_cast<std::uint64_t>(m);
    core::Log::info(cat("spt train: ensemble member ", m, " of ", members, " (", cfg.string("model.architecture"), ")"));
    const auto s = nn::run_training(cfg, files, stage_provenance(ctx, {data}), ctx.comm);
    core::Log::info(cat("spt train: member ", m, ": ", s.parameters, " parameters, ", s.steps, " steps, best epoch ",
                        s.best_epoch, ", validation frame accuracy ", s.final_validation_accuracy,
                        s.has_test ? cat(", test frame accuracy ", s.test_accuracy) : std::string(), " -> ", files.model));
  }
}

void spt_segment(const StageContext& ctx) {
  const auto& cfg = ctx.config;
  const std::string input = input_or_output(cfg, "segment.input", "simulate.test_output");
  const auto models = ensemble_models(cfg);
  TrackBlock tracks;
  {
    core::ScopedTimer t(ctx.timers, "read");
    tracks = read_tracks(input, ctx.comm, cfg.real("segment.pixel_um"));
  }
  check_model_fits(models.front(), tracks, input, ctx.comm);
  nn::PredictOptions options;
  options.batch = cfg.integer("segment.batch_size");
  options.temperature = cfg.real("segment.temperature");
  if (!cfg.string("segment.calibration_input").empty()) {
    const std::string calibration = cfg.string("segment.calibration_input");
    const TrackBlock labelled = read_tracks(calibration, ctx.comm);
    par::check_all(ctx.comm, any_states(labelled, ctx.comm),
                   cat(calibration, ": segment.calibration_input needs per-frame truth (/states) to fit the temperature"));
    nn::PredictOptions fit = options;
    fit.fit_temperature = true;
    options.temperature = nn::predict_series(models, series_of(labelled, true), fit, calibration, ctx.comm).temperature;
    core::Log::info(cat("spt segment: temperature fitted on ", calibration, ": T = ", options.temperature));
  }
  nn::FramePredictions p;
  {
    core::ScopedTimer t(ctx.timers, "predict");
    p = nn::predict_series(models, series_of(tracks, false), options, input, ctx.comm);
  }
  Segmentation seg;
  seg.probabilities.width = spt::kStates;
  const auto min_run = cfg.integer("segment.min_run");
  std::int64_t offset = 0;
  for (std::uint64_t i = 0; i < tracks.size(); ++i) {
    const auto n = static_cast<std::int64_t>(tracks.positions.length(i));
    std::vector<std::int64_t> states(p.predicted.begin() + offset, p.predicted.begin() + offset + n);
    spt::merge_short_runs(states.data(), n, min_run);
    seg.states.push_back(states.data(), static_cast<std::uint64_t>(n));
    seg.probabilities.push_back(p.probabilities.data() + offset * spt::kStates, static_cast<std::uint64_t>(n));
    offset += n;
  }
  const std::string dir = output_path(cfg, cfg.string("segment.output"));
  core::ScopedTimer t(ctx.timers, "write");
  auto inputs = models;
  inputs.insert(inputs.begin(), input);
  write_segments(ctx, dir, tracks, seg, cat("unet ensemble of ", models.size()), inputs, options.temperature);
  core::Log::info(cat("spt segment: ", tracks.global_tracks, " tracks with ", models.size(), " model(s), T = ",
                      options.temperature, ", ", static_cast<std::int64_t>(p.samples_per_s), " tracks/s -> ", dir,
                      "/segments.csv, segments.h5"));
}

void spt_baseline(const StageContext& ctx) {
  const auto& cfg = ctx.config;
  const std::string input = input_or_output(cfg, "baseline.input", "simulate.test_output");
  const TrackBlock tracks = read_tracks(input, ctx.comm);
  spt::RollingMsdOptions options;
  options.window = cfg.integer("baseline.window");
  options.lo = cfg.real("baseline.alpha_low");
  options.hi = cfg.real("baseline.alpha_high");
  options.dt = tracks.dt_s;
  par::collectively(ctx.comm, [&] {
    if (options.lo > options.hi)
      throw ConfigError(cat("baseline.alpha_low = ", options.lo, " is above baseline.alpha_high = ", options.hi,
                            "; expected alpha_low <= alpha_high"));
  });
  Segmentation seg;
  seg.probabilities.width = spt::kStates;
  par::collectively(ctx.comm, [&] {
    for (std::uint64_t i = 0; i < tracks.size(); ++i) {
      const auto states = spt::rolling_msd_states(tracks.view(i), options);
      std::vector<float> onehot(states.size() * spt::kStates, 0.0f);
      for (std::size_t t = 0; t < states.size(); ++t) onehot[t * spt::kStates + states[t]] = 1.0f;
      seg.states.push_back(states.data(), states.size());
      seg.probabilities.push_back(onehot.data(), states.size());
    }
  });
  const std::string dir = output_path(cfg, cfg.string("baseline.output"));
  write_segments(ctx, dir, tracks, seg, "rolling MSD", {input}, 1.0);
  core::Log::info(cat("spt baseline: rolling MSD (", options.window, "-frame windows) of ", tracks.global_tracks,
                      " tracks -> ", dir, "/segments.csv, segments.h5"));
}

namespace {

// Subsets of tracks scored separately: all, by length, by localisation quality Q.
struct Subset {
  std::string name;
  std::function<bool(std::uint64_t length, double q)> contains;
};
std::vector<Subset> subsets() {
  return {{"all", [](std::uint64_t, double) { return true; }},
          {"length<50", [](std::uint64_t n, double) { return n < 50; }},
          {"50<=length<200", [](std::uint64_t n, double) { return n >= 50 && n < 200; }},
          {"length>=200", [](std::uint64_t n, double) { return n >= 200; }},
          {"Q<4", [](std::uint64_t, double q) { return q > 0 && q < 4; }},
          {"4<=Q<8", [](std::uint64_t, double q) { return q >= 4 && q < 8; }},
          {"Q>=8", [](std::uint64_t, double q) { return q >= 8; }}};
}

// Error in frames of the predicted changepoint nearest to the one true
// changepoint of every two-segment track; -1 when none was predicted.
std::vector<double> changepoint_errors(const TrackBlock& truth, const io::RaggedSeries<std::int64_t>& predicted) {
  std::vector<double> errors;
  for (std::uint64_t i = 0; i < truth.size(); ++i) {
    const auto n = static_cast<std::int64_t>(truth.states.length(i));
    const auto true_points = spt::changepoints(truth.states.series(i), n);
    if (true_points.size() != 1) continue;
    const auto points = spt::changepoints(predicted.series(i), n);
    double best = -1;
    for (auto p : points) {
      const double e = std::abs(double(p - true_points[0]));
      if (best < 0 || e < best) best = e;
    }
    errors.push_back(best);
  }
  return errors;
}

}  // namespace

void spt_evaluate(const StageContext& ctx) {
  const auto& cfg = ctx.config;
  const auto& methods = cfg.string_list("evaluate.methods");
  par::collectively(ctx.comm, [&] {  // deck values: one error line, before any file is read
    if (methods.empty())
      throw ConfigError(cat(deck_label(cfg), ": evaluate.methods is empty; expected segmentation directories "
                                             "(e.g. [\"segments\", \"baseline\"])"));
    if (const auto i = core::first_repeat(methods); i < methods.size())
      throw ConfigError(cat(deck_label(cfg), ": evaluate.methods names '", methods[i], "' twice"));
  });
  const std::string truth_path = input_or_output(cfg, "evaluate.truth", "simulate.test_output");
  const TrackBlock truth = read_tracks(truth_path, ctx.comm);
  par::check_all(ctx.comm, any_states(truth, ctx.comm), cat(truth_path, ": no /states (per-frame truth) to score against"));
  const auto sets = subsets();
  std::vector<std::vector<double>> table(10);
  std::vector<std::string> method_names, subset_names;
  std::vector<std::vector<double>> cp_table(5);
  std::vector<std::string> cp_methods;
  for (const auto& method : methods) {
    const std::string path = (std::filesystem::path(output_path(cfg, method)) / "segments.h5").string();
    io::H5File in = io::H5File::open(path, ctx.comm);
    const auto predicted = read_states(in, ctx.comm);
    check_same_tracks(predicted, path, truth, truth_path, ctx.comm);
    for (const auto& subset : sets) {
      spt::Confusion confusion;
      std::int64_t count = 0;
      for (std::uint64_t i = 0; i < truth.size(); ++i) {
        const double q = truth.quality.empty() ? 0.0 : truth.quality[i];
        if (!subset.contains(truth.states.length(i), q)) continue;
        confusion.add(truth.states.series(i), predicted.series(i), static_cast<std::int64_t>(truth.states.length(i)));
        ++count;
      }
      ctx.comm.allreduce_sum_inplace(confusion.counts);
      count = ctx.comm.allreduce_sum(count);
      if (count == 0) continue;
      method_names.push_back(method);
      subset_names.push_back(subset.name);
      const std::vector<double> row = {double(count), double(confusion.total()), confusion.accuracy(), confusion.macro_f1(),
                                       confusion.f1(0), confusion.f1(1), confusion.f1(2), confusion.f1(3)};
      for (std::size_t c = 0; c < row.size(); ++c) table[c].push_back(row[c]);
      if (subset.name == "all") {
        core::Log::info(cat("spt evaluate: ", method, ": per-frame accuracy ", confusion.accuracy(), ", macro-F1 ",
                            confusion.macro_f1(), " over ", confusion.total(), " frames of ", count, " tracks"));
      }
    }
    auto errors = ctx.comm.allgatherv(changepoint_errors(truth, predicted));
    std::vector<double> found;
    for (double e : errors) if (e >= 0) found.push_back(e);
    std::sort(found.begin(), found.end());
    double mean = 0;
    for (double e : found) mean += e / double(found.size());
    const double median = found.empty() ? std::numeric_limits<double>::quiet_NaN()
                                        : (found[(found.size() - 1) / 2] + found[found.size() / 2]) / 2.0;
    cp_methods.push_back(method);
    for (auto [c, v] : {std::pair{0, double(errors.size())}, {1, double(found.size())}, {2, median},
                        {3, found.empty() ? std::numeric_limits<double>::quiet_NaN() : mean}}) {
      cp_table[c].push_back(v);
    }
    core::Log::info(cat("spt evaluate: ", method, ": changepoint error on ", errors.size(), " two-segment tracks: median ",
                        median, ", mean ", mean, " frames (", errors.size() - found.size(), " without a predicted changepoint)"));
  }
  table.resize(8);
  cp_table.resize(4);
  begin_outputs(ctx, {output_path(cfg, cfg.string("evaluate.output")),
                      output_path(cfg, cfg.string("evaluate.changepoints_output"))});
  par::collectively(ctx.comm, [&] {  // agreed: a failed write is every rank's error
    if (!ctx.comm.is_root()) return;
    io::write_csv_table(output_path(cfg, cfg.string("evaluate.output")), {"method", "subset"}, {method_names, subset_names},
                        {"tracks", "frames", "accuracy", "macro_f1", "f1_normal", "f1_directed", "f1_confined", "f1_subdiffusive"},
                        table);
    io::write_csv_table(output_path(cfg, cfg.string("evaluate.changepoints_output")), {"method"}, {cp_methods},
                        {"two_segment_tracks", "detected", "median_error_frames", "mean_error_frames"}, cp_table);
  });
  core::Log::info("spt evaluate: wrote " + output_path(cfg, cfg.string("evaluate.output")) + ", " +
                  output_path(cfg, cfg.string("evaluate.changepoints_output")));
}

}  // namespace phenoscale::app
