// tomo train / extract / subdivide (see tomo_learning.hpp).
//   mpirun -n 2 phenoscale tomo train     -c inputs/tomo/demo.toml
//   mpirun -n 2 phenoscale tomo extract   -c inputs/tomo/demo.toml
//   mpirun -n 2 phenoscale tomo subdivide -c inputs/tomo/demo.toml --set subdivide.k=100
#include "phenoscale/app/tomo_learning.hpp"

#include <algorithm>

#include "phenoscale/app/nn_stage_io.hpp"
#include "phenoscale/app/stage_io.hpp"
#include "phenoscale/app/tomo_common.hpp"
#include "phenoscale/core/error.hpp"
#include "phenoscale/core/log.hpp"
#include "phenoscale/io/sample_array.hpp"
#include "phenoscale/io/star.hpp"
#include "phenoscale/ml/kmeans.hpp"
#include "phenoscale/ml/matrix.hpp"
#include "phenoscale/nn/engine.hpp"
#include "phenoscale/par/agree.hpp"
#include "phenoscale/par/check_deck.hpp"

namespace phenoscale::app {
namespace {

using core::cat;

void train(const StageContext& ctx) {
  const auto& cfg = ctx.config;
  const nn::TrainFiles files = train_files(ctx, input_or_output(cfg, "train.input", "simulate.output"));
  const auto s = nn::run_training(cfg, files, stage_provenance(ctx, {files.data}), ctx.comm);
  core::Log::info(cat("tomo train: ", cfg.string("model.architecture"), " (", s.parameters, " parameters), ", s.steps,
                      " steps, train accuracy ", s.final_train_accuracy,
                      s.has_test ? cat(", held-out test accuracy ", s.test_accuracy) : std::string(), " -> ",
                      files.model));
}

void extract(const StageContext& ctx) {
  const auto& cfg = ctx.config;
  const nn::PredictFiles files = predict_files(ctx, input_or_output(cfg, "predict.input", "simulate.output"));
  const auto s = nn::run_prediction(cfg, files, stage_provenance(ctx, {files.data}), ctx.comm);
  core::Log::info(cat("tomo extract: structural features of ", s.rows, " subtomograms, ",
                      static_cast<std::int64_t>(s.samples_per_s), " samples/s",
                      s.labelled ? cat(", accuracy ", s.accuracy) : std::string(), " -> ", files.output));
}

void subdivide(const StageContext& ctx) {
  const auto& cfg = ctx.config;
  const std::string features_path = input_or_output(cfg, "subdivide.input", "predict.output");
  const std::string labels_path = input_or_output(cfg, "subdivide.labels_input", "simulate.output");
  const std::string labels_ds = cfg.string("subdivide.labels_dataset");
  const ml::ShardedMatrix x = ml::read_matrix({features_path, "/features"}, ctx.comm);
  io::H5File labels_file = io::H5File::open(labels_path, ctx.comm);
  const auto labels = io::read_samples<std::int64_t>(labels_file, labels_ds, io::one_value_per_row());
  par::check_all(ctx.comm, labels.global_rows == x.global_rows,
                 cat(labels_file.where(labels_ds), ": ", labels.global_rows, " labels for ", x.global_rows,
                     " feature rows in ", features_path, ":/features"));
  bool labels_ok = true;  // they index the enrichment table
  for (auto l : labels.data) labels_ok = labels_ok && l >= 0;
  par::check_all(ctx.comm, labels_ok,
                 cat(labels_file.where(labels_ds), ": negative class labels; expected 0..C-1 (subdivide.labels_dataset)"));
  ml::KMeansOptions options;
  options.k = cfg.integer("subdivide.k");
  options.n_init = static_cast<int>(cfg.integer("subdivide.n_init"));
  options.seed = static_cast<std::uint64_t>(cfg.integer("run.seed"));
  par::check_deck(ctx.comm, static_cast<std::uint64_t>(options.k) <= x.global_rows,
                  cat("subdivide.k = ", options.k, " exceeds the ", x.global_rows, " subtomograms"));
  const ml::KMeansResult km = ml::kmeans_fit(x, options, ctx.comm);

  // Enrichment: members of every true class in every cluster.
  std::int64_t classes = 0;
  for (auto l : labels.data) classes = std::max(classes, l + 1);
  classes = ctx.comm.allreduce_max(classes);
  std::vector<std::int64_t> counts(km.k * classes, 0);
  for (std::size_t i = 0; i < km.labels.size(); ++i) ++counts[km.labels[i] * classes + labels.data[i]];
  ctx.comm.allreduce_sum_inplace(counts);
  // The cluster most enriched in each class: highest fraction of its members.
  std::vector<std::int64_t> best_cluster(classes, -1);
  std::vector<double> best_fraction(classes, 0.0);
  for (std::int64_t c = 0; c < classes; ++c) {
    for (std::int64_t j = 0; j < km.k; ++j) {
      if (km.cluster_sizes[j] == 0) continue;
      const double f = double(counts[j * classes + c]) / double(km.cluster_sizes[j]);
      if (f > best_fraction[c]) best_fraction[c] = f, best_cluster[c] = j;
    }
  }
  std::int64_t small = 0;
  for (auto n : km.cluster_sizes) small += n <= 10 ? 1 : 0;

  const std::string path = output_path(cfg, cfg.string("subdivide.output"));
  begin_outputs(ctx, {path, optional_output(cfg, "subdivide.star")});
  io::H5File out = io::H5File::create(path, ctx.comm);
  const auto k = static_cast<std::uint64_t>(km.k), c = static_cast<std::uint64_t>(classes);
  io::write_samples(out, "/labels", km.labels, {});
  io::write_samples(out, "/centroids", km.centroids.data(), ctx.comm.is_root() ? k : 0, {static_cast<std::uint64_t>(km.d)});
  io::write_samples(out, "/cluster_sizes", km.cluster_sizes.data(), ctx.comm.is_root() ? k : 0, {});
  io::write_samples(out, "/class_counts", counts.data(), ctx.comm.is_root() ? k : 0, {c});
  io::write_samples(out, "/most_enriched_cluster", best_cluster.data(), ctx.comm.is_root() ? c : 0, {});
  io::write_samples(out, "/most_enriched_fraction", best_fraction.data(), ctx.comm.is_root() ? c : 0, {});
  out.write_attribute("/", "inertia", km.inertia);
  out.write_attribute("/", "clusters_with_at_most_10_members", small);
  io::write_provenance(out, stage_provenance(ctx, {features_path, labels_path}));
  out.commit();
  std::string rows;  // RELION classes count from 1; the row is the subtomogram's row in the input
  for (std::size_t i = 0; i < km.labels.size(); ++i) {
    rows += io::star_row({std::to_string(x.first_row + i), std::to_string(km.labels[i] + 1)}, 2);
  }
  const std::string star = write_star_particles(ctx, "subdivide.star", {"phenoscaleRow", "rlnClassNumber"}, rows);
  core::Log::info(cat("tomo subdivide: k-means k = ", km.k, " on ", x.global_rows, " x ", km.d, " features; ", small,
                      " cluster(s) with <= 10 members -> ", path, star.empty() ? "" : " and " + star));
}

}  // namespace

void add_tomo_learning_keys(core::Schema& s) {
  const nn::EngineDefaults d{"dsrf3d", "/subtomograms", "/class_rows",
                             "Subtomograms; empty = run.output_dir/<simulate.output>", nn::TrainDefaults{}};
  nn::add_model_schema(s, d);
  nn::add_train_schema(s, d);
  nn::add_predict_schema(s, d);
  s.string("subdivide.input", "", "Structural features (/features); empty = run.output_dir/<predict.output>")
      .string("subdivide.labels_input", "", "True classes for the enrichment table; empty = the simulate output")
      .string("subdivide.labels_dataset", "/class_rows", "Dataset of true classes (0..C-1)")
      .integer("subdivide.k", 100, "Number of k-means clusters (the paper: 100)", 1, 1e7)
      .integer("subdivide.n_init", 3, "k-means restarts", 1, 1000)
      .string("subdivide.output", "subdivide.h5", "Output file name inside run.output_dir")
      .string("subdivide.star", "subdivide.star",
              "RELION-style STAR file: each subtomogram's row (phenoscaleRow) and cluster (rlnClassNumber, from 1) "
              "inside run.output_dir; empty = none");
}

std::vector<Stage> tomo_learning_stages() {
  return {
      {"train", "Train Inception3D/DSRF3D on simulated subtomograms (data-parallel, checkpointed)", train},
      {"extract", "Structural features (linear outputs) of every subtomogram, confusion matrix", extract},
      {"subdivide", "k-means in feature space, cluster sizes, enrichment of each class per cluster", subdivide},
  };
}

}  // namespace phenoscale::app
