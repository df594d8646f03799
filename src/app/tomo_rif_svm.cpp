// tomo rif-svm: the RIF-SVM baseline of Xu et al. 2017's Table 2 (see
// tomo_learning.hpp): spherical-harmonic rotation-invariant features of every
// subtomogram (tomo/rotation_invariant) and an RBF SVM (ml/svm) trained on
// the CNN trainer's train + validation rows and tested on its test rows, so
// that its accuracy stands beside `tomo extract`'s.
//
//   mpirun -n 2 phenoscale tomo rif-svm -c inputs/tomo/demo.toml
//   mpirun -n 2 phenoscale tomo rif-svm -c inputs/tomo/table2.toml --set rif_svm.degree=12
//
// 1. each rank reads its block of /subtomograms and the labels;
// 2. features of its rows (OpenMP), gathered to every rank (allgatherv);
// 3. the split of nn::split_samples(N, train.validation_fraction,
//    train.test_fraction, run.seed) — the one `tomo train` uses;
// 4. (C, γ) by cross-validation on train + validation, the grid's fits
//    shared over the ranks; the final SVM is trained on every rank alike;
// 5. test predictions, confusion matrix, one HDF5 file written collectively.
#include <algorithm>
#include <chrono>
#include <cmath>
#include <string>
#include <vector>

#include "phenoscale/app/stage_io.hpp"
#include "phenoscale/app/tomo_common.hpp"
#include "phenoscale/app/tomo_learning.hpp"
#include "phenoscale/core/error.hpp"
#include "phenoscale/core/log.hpp"
#include "phenoscale/io/sample_array.hpp"
#include "phenoscale/ml/svm.hpp"
#include "phenoscale/nn/sampler.hpp"
#include "phenoscale/par/agree.hpp"
#include "phenoscale/par/check_deck.hpp"
#include "phenoscale/tomo/rotation_invariant.hpp"

namespace phenoscale::app {
namespace {

using core::cat;

void rif_svm(const StageContext& ctx) {
  const auto& cfg = ctx.config;
  const std::string deck = deck_label(cfg);
  const std::string input = input_or_output(cfg, "rif_svm.input", "simulate.output");
  const std::string labels_ds = cfg.string("rif_svm.labels_dataset");
  // The cross-validation grids, before the features are computed, not after.
  const char* empty_grid = cfg.real_list("rif_svm.log2_c").empty()         ? "rif_svm.log2_c"
                           : cfg.real_list("rif_svm.gamma_scales").empty() ? "rif_svm.gamma_scales"
                                                                           : nullptr;
  par::check_deck(ctx.comm, empty_grid == nullptr,
                  cat(deck, ": ", empty_grid ? empty_grid : "",
                      " is empty; expected at least one value of the cross-validation grid"));

  // 1. This rank's subtomograms and labels.
  io::H5File in = io::H5File::open(input, ctx.comm);
  const SubtomogramBlock block = read_subtomograms(in);
  const auto& subs = block.block;
  const int n = block.n;
  tomo::RotationInvariantSettings settings;
  settings.degree = static_cast<int>(cfg.integer("rif_svm.degree"));
  settings.shells = static_cast<int>(cfg.integer("rif_svm.shells"));
  settings.oversampling = static_cast<int>(cfg.integer("rif_svm.oversampling"));
  const int max_shells = (n - 1) / 2;
  par::check_deck(ctx.comm, settings.shells <= max_shells,
                  cat(deck, ": rif_svm.shells = ", settings.shells, " but the ", n, "^3 subtomograms of ", input,
                      " hold at most (n - 1)/2 = ", max_shells, " Fourier shells"));
  const auto labels = io::read_samples<std::int64_t>(in, labels_ds, io::one_value_per_row());
  par::check_all(ctx.comm, labels.global_rows == subs.global_rows,
                 cat(in.where(labels_ds), ": ", labels.global_rows, " labels for ", subs.global_rows,
                     " subtomograms in ", in.where("/subtomograms")));
  bool labels_ok = true;
  for (auto l : labels.data) labels_ok = labels_ok && l >= 0;
  par::check_all(ctx.comm, labels_ok, cat(in.where(labels_ds), ": negative class labels; expected 0..C-1"));
  const std::int64_t total = static_cast<std::int64_t>(subs.global_rows);

  // 2. Features of this rank's rows, then every row on every rank.
  const tomo::RotationInvariantFeatures extractor(n, settings);
  const std::size_t d = static_cast<std::size_t>(extractor.dimension());
  core::Log::info(cat("tomo rif-svm: rotation-invariant features of ", total, " subtomograms of ", n, "^3 (",
                      extractor.shells(), " shells x even degrees 0..", extractor.degree(), " = ", d, " values) on ",
                      ctx.comm.size(), " rank(s)"));
  std::vector<double> local;
  double feature_seconds = 0;
  {
    core::ScopedTimer t(ctx.timers, "features");
    const auto start = std::chrono::steady_clock::now();
    local = tomo::rotation_invariant_features(subs.data.data(), subs.data.size() / subs.sample_size(), n, settings);
    feature_seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  }
  feature_seconds = ctx.comm.allreduce_max(feature_seconds);
  const std::vector<double> features = ctx.comm.allgatherv(local);
  const std::vector<std::int64_t> all_labels = ctx.comm.allgatherv(labels.data);

  // 3. The CNN trainer's split: SVM on train + validation, tested on test.
  nn::Split split;
  par::collectively(ctx.comm, [&] {
    split = nn::split_samples(total, cfg.real("train.validation_fraction"), cfg.real("train.test_fraction"),
                              static_cast<std::uint64_t>(cfg.integer("run.seed")));
  });
  par::check_deck(ctx.comm, !split.test.empty(),
                  cat(deck, ": train.test_fraction = ", cfg.real("train.test_fraction"), " leaves no test rows of the ",
                      total,
                      " subtomograms; the RIF-SVM is tested on the rows `tomo train` holds out (0.5 in the paper)"));
  std::vector<std::int64_t> train_rows = split.train;
  train_rows.insert(train_rows.end(), split.validation.begin(), split.validation.end());
  std::sort(train_rows.begin(), train_rows.end());
  auto gather = [&](const std::vector<std::int64_t>& rows, std::vector<double>& x, std::vector<std::int64_t>& y) {
    for (auto r : rows) {
      x.insert(x.end(), features.begin() + r * d, features.begin() + (r + 1) * d);
      y.push_back(all_labels[r]);
    }
  };
  std::vector<double> x_train, x_test;
  std::vector<std::int64_t> y_train, y_test;
  gather(train_rows, x_train, y_train);
  gather(split.test, x_test, y_test);

  // 4. Cross-validated (C, γ), then the final machine on every rank alike.
  ml::SvmGrid grid;
  grid.log2_c = cfg.real_list("rif_svm.log2_c");
  grid.gamma_scales = cfg.real_list("rif_svm.gamma_scales");
  grid.folds = static_cast<int>(cfg.integer("rif_svm.folds"));
  grid.seed = static_cast<std::uint64_t>(cfg.integer("run.seed"));
  ml::RbfSvmClassifier svm;
  {
    core::ScopedTimer t(ctx.timers, "svm");
    par::collectively(ctx.comm, [&] {
      try {
        svm.fit_cross_validated(x_train, d, y_train, grid, &ctx.comm);
      } catch (const InputError& e) {
        throw InputError(cat(input, ": RIF-SVM training on ", y_train.size(), " rows: ", e.what()));
      }
    });
  }

  // 5. Accuracies, confusion matrix (rows: true class, columns: predicted).
  const std::vector<std::int64_t> predicted = svm.predict(x_test);
  const std::vector<std::int64_t> predicted_train = svm.predict(x_train);
  std::int64_t classes = 0;
  for (auto l : all_labels) classes = std::max(classes, l + 1);
  std::vector<std::int64_t> confusion(static_cast<std::size_t>(classes * classes), 0);
  std::size_t right = 0, right_train = 0;
  for (std::size_t i = 0; i < predicted.size(); ++i) {
    ++confusion[static_cast<std::size_t>(y_test[i] * classes + predicted[i])];
    right += predicted[i] == y_test[i];
  }
  for (std::size_t i = 0; i < predicted_train.size(); ++i) right_train += predicted_train[i] == y_train[i];
  const double test_accuracy = double(right) / double(predicted.size());
  const double train_accuracy = double(right_train) / double(predicted_train.size());
  double cv_accuracy = 0;
  std::vector<double> cv_table;  // rows: log2 C, γ, CV accuracy
  for (const auto& p : svm.cross_validation()) {
    cv_table.insert(cv_table.end(), {std::log2(p.c), p.gamma, p.accuracy});
    if (p.c == svm.c() && p.gamma == svm.gamma()) cv_accuracy = p.accuracy;
  }

  const std::string path = output_path(cfg, cfg.string("rif_svm.output"));
  make_parent_dir(ctx, path);
  io::H5File out = io::H5File::create(path, ctx.comm);
  const bool root = ctx.comm.is_root();
  const std::uint64_t tests = predicted.size(), uc = static_cast<std::uint64_t>(classes);
  io::write_samples(out, "/features", local, {d});
  io::write_samples(out, "/test_rows", split.test.data(), root ? tests : 0, {});
  io::write_samples(out, "/predicted", predicted.data(), root ? tests : 0, {});
  io::write_samples(out, "/test_labels", y_test.data(), root ? tests : 0, {});
  io::write_samples(out, "/confusion", confusion.data(), root ? uc : 0, {uc});
  io::write_samples(out, "/cross_validation", cv_table.data(), root ? svm.cross_validation().size() : 0, {3});
  out.write_attribute("/", "test_accuracy", test_accuracy);
  out.write_attribute("/", "train_accuracy", train_accuracy);
  out.write_attribute("/", "cv_accuracy", cv_accuracy);
  out.write_attribute("/", "C", svm.c());
  out.write_attribute("/", "gamma", svm.gamma());
  out.write_attribute("/", "cv_folds", static_cast<std::int64_t>(svm.folds_used()));
  out.write_attribute("/", "support_vectors", static_cast<std::int64_t>(svm.support_vectors()));
  out.write_attribute("/", "degree", static_cast<std::int64_t>(extractor.degree()));
  out.write_attribute("/", "shells", static_cast<std::int64_t>(extractor.shells()));
  out.write_attribute("/", "oversampling", static_cast<std::int64_t>(extractor.oversampling()));
  out.write_attribute("/", "train_rows", static_cast<std::int64_t>(y_train.size()));
  out.write_attribute("/", "feature_seconds", feature_seconds);
  out.write_attribute("/", "missing_wedge_compensated", static_cast<std::int64_t>(0));
  out.write_attribute("/features", "layout", std::string("index (r - 1) * (degree / 2 + 1) + l / 2 for shell r, even l: log(1 + sum_m a_lm(r)^2)"));
  io::write_provenance(out, stage_provenance(ctx, {input}));
  out.commit();
  core::Log::info(cat("tomo rif-svm: C = ", svm.c(), ", gamma = ", svm.gamma(), " (", svm.folds_used(),
                      "-fold CV accuracy ", cv_accuracy, "), train accuracy ", train_accuracy, " on ", y_train.size(),
                      " rows, test accuracy ", test_accuracy, " on ", tests, " held-out rows; features ",
                      feature_seconds, " s -> ", path));
}

}  // namespace

void add_tomo_rif_svm_keys(core::Schema& s) {
  s.string("rif_svm.input", "", "Subtomograms (/subtomograms); empty = run.output_dir/<simulate.output>")
      .string("rif_svm.labels_dataset", "/class_rows", "Dataset of true classes (0..C-1) in the input")
      .integer("rif_svm.degree", 8, "Highest spherical-harmonic degree L (even degrees 0..L are used; odd ones vanish)", 0, 64)
      .integer("rif_svm.shells", 0, "Fourier shells r = 1..R; 0 = every shell inside Nyquist, (n-1)/2", 0, 1024)
      .integer("rif_svm.oversampling", 2, "Zero padding factor of the FFT before sampling the shells", 1, 4)
      .integer("rif_svm.folds", 5, "Cross-validation folds for choosing C and gamma (lowered to the smallest class)",
               2, 100)
      .real_list("rif_svm.log2_c", {-1.0, 1.0, 3.0, 5.0, 7.0}, "Grid of log2 C (SVM penalty)", -30.0, 30.0)
      .real_list("rif_svm.gamma_scales", {0.25, 1.0, 4.0},
                 "Grid of RBF gamma in units of 1/d (d = feature dimension, standardised features)", 1e-9, 1e9)
      .string("rif_svm.output", "rif_svm.h5", "Output file name inside run.output_dir");
}

Stage tomo_rif_svm_stage() {
  return {"rif-svm",
          "RIF-SVM baseline: spherical-harmonic rotation-invariant features + RBF SVM, the CNNs' train/test split",
          rif_svm};
}

}  // namespace phenoscale::app
