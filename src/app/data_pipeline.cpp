// The `data` pipeline: synthetic sharded datasets with planted structure.
//
// Exercises the whole foundation end to end — deck, counter-based RNG,
// block partitions, collective HDF5 sample arrays and ragged series,
// provenance, atomic outputs, progress and timers — and gives every
// downstream engine (ml/ k-means and kNN graphs, nn/ sequence models)
// test data with a known answer:
//   generate  : Gaussian-mixture feature vectors around planted centres, and
//               2-D Brownian trajectories of random length (diffusion
//               coefficient D, frame interval dt), one per sample;
//   summarize : recovers the planted centres (per-cluster means) and D (the
//               lag-1 mean squared displacement, MSD = 4 D dt in 2-D) and
//               reports how close they are.
#include <cmath>
#include <cstdio>

#include "phenoscale/app/registry.hpp"
#include "phenoscale/app/stage_io.hpp"
#include "phenoscale/core/error.hpp"
#include "phenoscale/core/log.hpp"
#include "phenoscale/core/progress.hpp"
#include "phenoscale/core/rng.hpp"
#include "phenoscale/io/csv.hpp"
#include "phenoscale/io/provenance.hpp"
#include "phenoscale/io/ragged.hpp"
#include "phenoscale/io/sample_array.hpp"
#include "phenoscale/par/agree.hpp"
#include "phenoscale/par/partition.hpp"

namespace phenoscale::app {
namespace {

using core::cat;

core::Schema data_schema() {
  core::Schema s;
  add_run_section(s);
  s.integer("generate.samples", 2000, "Number of samples N", 0, 1e10)
      .integer("generate.features", 8, "Feature dimension d", 1, 4096)
      .integer("generate.clusters", 4, "Number of planted Gaussian clusters k", 1, 100000)
      .real("generate.centre_spread", 6.0, "Standard deviation of the planted centres", 0.0)
      .real("generate.noise_sigma", 1.0, "Standard deviation of samples around their centre", 0.0)
      .integer("generate.min_frames", 20, "Shortest trajectory, frames", 2, 1e7)
      .integer("generate.max_frames", 200, "Longest trajectory, frames", 2, 1e7)
      .real("generate.diffusion_coefficient_um2_s", 0.1, "Planted diffusion coefficient D, µm²/s", 0.0)
      .real("generate.dt_s", 0.1, "Frame interval, s", 1e-9)
      .string("generate.output", "samples.h5", "Output file name inside run.output_dir")
      .string("summarize.input", "", "Input file; empty = run.output_dir/<generate.output>")
      .string("summarize.output", "summary.h5", "Output file name inside run.output_dir")
      .string("summarize.table", "summary.csv", "Per-cluster CSV table inside run.output_dir");
  return s;
}

// The planted centres, identical on every rank: stream `init`, index = cluster.
std::vector<double> planted_centres(const core::Config& cfg) {
  const auto k = cfg.integer("generate.clusters"), d = cfg.integer("generate.features");
  std::vector<double> centres(k * d);
  for (std::int64_t c = 0; c < k; ++c) {
    core::Rng rng(cfg.integer("run.seed"), core::Stream::init, c);
    for (std::int64_t j = 0; j < d; ++j) centres[c * d + j] = rng.normal(0.0, cfg.real("generate.centre_spread"));
  }
  return centres;
}

void generate(const StageContext& ctx) {
  const auto& cfg = ctx.config;
  // Checked collectively: an exception outside agreement would end the job
  // through MPI_Abort instead of one clean error line.
  par::collectively(ctx.comm, [&] {
    if (cfg.integer("generate.min_frames") > cfg.integer("generate.max_frames")) {
      throw ConfigError(cat(deck_label(cfg),
                            ": generate.min_frames = ", cfg.integer("generate.min_frames"),
                            " exceeds generate.max_frames = ", cfg.integer("generate.max_frames")));
    }
  });
  const std::uint64_t n = cfg.integer("generate.samples");
  const std::int64_t d = cfg.integer("generate.features");
  const std::int64_t k = cfg.integer("generate.clusters");
  const std::uint64_t min_frames = cfg.integer("generate.min_frames");
  const std::uint64_t span = cfg.integer("generate.max_frames") - min_frames + 1;
  const double step_sigma = std::sqrt(2.0 * cfg.real("generate.diffusion_coefficient_um2_s") *
                                      cfg.real("generate.dt_s"));
  const auto mine = par::BlockPartition::over(n, ctx.comm).range(ctx.comm.rank());
  const std::vector<double> centres = planted_centres(cfg);
  core::Log::info(cat("data generate: ", n, " samples x ", d, " features, ", k, " clusters, on ",
                      ctx.comm.size(), " rank(s)"));

  std::vector<float> features(mine.size() * d);
  std::vector<std::int64_t> labels(mine.size());
  io::RaggedSeries<double> tracks;
  tracks.width = 2;
  {
    core::ScopedTimer t(ctx.timers, "simulate");
    core::Progress progress("data generate", n, ctx.comm.size(), cfg.real("run.progress_interval_s"));
    std::vector<double> track;
    for (std::uint64_t i = mine.begin; i < mine.end; ++i) {
      // Every draw of sample i comes from its own counter-based stream, so
      // the dataset is the same whichever rank owns i.
      core::Rng rng(cfg.integer("run.seed"), core::Stream::data_synthesis, i);
      const std::uint64_t local = i - mine.begin;
      const auto label = static_cast<std::int64_t>(rng.below(k));
      labels[local] = label;
      for (std::int64_t j = 0; j < d; ++j) {
        features[local * d + j] = static_cast<float>(
            rng.normal(centres[label * d + j], cfg.real("generate.noise_sigma")));
      }
      const std::uint64_t frames = min_frames + rng.below(span);
      track.assign(2 * frames, 0.0);
      for (std::uint64_t f = 1; f < frames; ++f) {
        track[2 * f] = track[2 * f - 2] + step_sigma * rng.normal();
        track[2 * f + 1] = track[2 * f - 1] + step_sigma * rng.normal();
      }
      tracks.push_back(track.data(), frames);
      progress.advance();
    }
  }

  core::ScopedTimer t(ctx.timers, "write");
  const std::string path = output_path(cfg, cfg.string("generate.output"));
  make_parent_dir(ctx, path);
  io::H5File out = io::H5File::create(path, ctx.comm);
  io::write_samples(out, "/features", features, {static_cast<std::uint64_t>(d)});
  io::write_samples(out, "/labels", labels, {});
  // Centres are global: rank 0 contributes all k rows, the others none.
  io::write_samples(out, "/centres", centres.data(), ctx.comm.is_root() ? k : 0,
                    {static_cast<std::uint64_t>(d)});
  io::write_ragged(out, "/tracks", tracks);
  out.write_attribute("/tracks", "dt_s", cfg.real("generate.dt_s"));
  out.write_attribute("/tracks", "diffusion_coefficient_um2_s",
                      cfg.real("generate.diffusion_coefficient_um2_s"));
  out.write_attribute("/tracks", "columns", std::string("x_um, y_um"));
  io::write_provenance(out, stage_provenance(ctx, {}));
  out.commit();
  core::Log::info("data generate: wrote " + path);
}

void summarize(const StageContext& ctx) {
  const auto& cfg = ctx.config;
  const std::string input = cfg.string("summarize.input").empty()
                                ? output_path(cfg, cfg.string("generate.output"))
                                : cfg.string("summarize.input");
  io::H5File in = io::H5File::open(input, ctx.comm);
  core::ScopedTimer t(ctx.timers, "summarize");

  const auto features = io::read_samples<float>(in, "/features");
  const std::uint64_t d = features.sample_shape.empty() ? 1 : features.sample_shape[0];
  const auto labels = io::read_samples<std::int64_t>(in, "/labels", io::one_value_per_row());
  par::check_all(ctx.comm, labels.global_rows == features.global_rows,
                 cat(input, ": /labels has ", labels.global_rows, " rows but /features has ",
                     features.global_rows));
  const auto centres_info = in.info("/centres");
  const std::uint64_t k = centres_info.shape.at(0);
  const auto centres = io::read_sample_rows<double>(in, "/centres", {0, k}, {{d}, true});
  par::collectively(ctx.comm, [&] {
    for (std::uint64_t i = 0; i < labels.data.size(); ++i) {
      if (labels.data[i] < 0 || static_cast<std::uint64_t>(labels.data[i]) >= k) {
        throw InputError(cat(in.where("/labels"), ": label ", labels.data[i], " of sample ",
                             labels.rows.begin + i, " is outside [0, ", k, ")"));
      }
    }
  });

  // Per-cluster sums in double; allreduce gives the global means.
  std::vector<double> sums(k * d, 0.0), counts(k, 0.0);
  for (std::uint64_t i = 0; i < labels.data.size(); ++i) {
    const auto c = static_cast<std::uint64_t>(labels.data[i]);
    counts[c] += 1.0;
    for (std::uint64_t j = 0; j < d; ++j) sums[c * d + j] += features.row(i)[j];
  }
  ctx.comm.allreduce_sum_inplace(sums);
  ctx.comm.allreduce_sum_inplace(counts);
  std::vector<double> means(k * d, 0.0);
  double squared_error = 0.0;
  std::uint64_t populated = 0;
  for (std::uint64_t c = 0; c < k; ++c) {
    if (counts[c] == 0) continue;
    ++populated;
    for (std::uint64_t j = 0; j < d; ++j) {
      means[c * d + j] = sums[c * d + j] / counts[c];
      const double e = means[c * d + j] - centres.data[c * d + j];
      squared_error += e * e;
    }
  }
  const double centre_rmse = populated ? std::sqrt(squared_error / double(populated * d)) : 0.0;

  // Lag-1 MSD of the trajectories: MSD = 2 · dims · D · dt.
  const auto tracks = io::read_ragged<double>(in, "/tracks", 2);
  const double dt = in.read_double_attribute("/tracks", "dt_s");
  const double planted_d = in.read_double_attribute("/tracks", "diffusion_coefficient_um2_s");
  double sq = 0.0, steps = 0.0;
  for (std::uint64_t s = 0; s < tracks.size(); ++s) {
    const double* p = tracks.series(s);
    for (std::uint64_t f = 1; f < tracks.length(s); ++f) {
      const double dx = p[2 * f] - p[2 * f - 2], dy = p[2 * f + 1] - p[2 * f - 1];
      sq += dx * dx + dy * dy;
      steps += 1.0;
    }
  }
  sq = ctx.comm.allreduce_sum(sq);
  steps = ctx.comm.allreduce_sum(steps);
  const double estimated_d = steps > 0 ? sq / (4.0 * dt * steps) : 0.0;

  core::Log::info(cat("data summarize: ", features.global_rows, " samples, ", k,
                      " clusters; centre recovery RMSE = ", centre_rmse, "; D = ", estimated_d,
                      " µm²/s (planted ", planted_d, ") from ", tracks.global_series, " tracks"));

  const std::string path = output_path(cfg, cfg.string("summarize.output"));
  const std::string table = output_path(cfg, cfg.string("summarize.table"));
  begin_outputs(ctx, {path, table});
  io::H5File out = io::H5File::create(path, ctx.comm);
  std::vector<std::int64_t> sizes(counts.begin(), counts.end());
  const std::uint64_t rows = ctx.comm.is_root() ? k : 0;
  io::write_samples(out, "/cluster_means", means.data(), rows, {d});
  io::write_samples(out, "/cluster_sizes", sizes.data(), rows, {});
  out.write_attribute("/", "centre_recovery_rmse", centre_rmse);
  out.write_attribute("/", "diffusion_coefficient_estimate_um2_s", estimated_d);
  out.write_attribute("/", "diffusion_coefficient_planted_um2_s", planted_d);
  out.write_attribute("/", "samples", static_cast<std::int64_t>(features.global_rows));
  io::write_provenance(out, stage_provenance(ctx, {input}));
  out.commit();

  // The same per-cluster table as CSV for spreadsheets and pandas.
  par::collectively(ctx.comm, [&] {
    if (!ctx.comm.is_root()) return;
    std::vector<std::string> header{"cluster", "size"};
    std::vector<std::vector<double>> columns(2 + d);
    for (std::uint64_t j = 0; j < d; ++j) header.push_back("mean_" + std::to_string(j));
    for (std::uint64_t c = 0; c < k; ++c) {
      columns[0].push_back(double(c));
      columns[1].push_back(counts[c]);
      for (std::uint64_t j = 0; j < d; ++j) columns[2 + j].push_back(means[c * d + j]);
    }
    io::write_csv_table(table, header, columns);
  });
  core::Log::info("data summarize: wrote " + path + " and " + table);
}

}  // namespace

Pipeline data_pipeline() {
  return {"data",
          "Synthetic sharded datasets with planted structure (smoke test and test data)",
          data_schema,
          {
              {"generate", "Simulate Gaussian-mixture features and Brownian trajectories", generate},
              {"summarize", "Recover the planted centres and diffusion coefficient", summarize},
          }};
}

}  // namespace phenoscale::app
