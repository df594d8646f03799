// edge student (docs/cli.md "edge student"; docs/methods.md §3.3).
//   mpirun -n 2 phenoscale edge student -c inputs/edge/demo.toml                            (every λ in turn)
//   mpirun -n 2 phenoscale edge student -c inputs/edge/demo.toml --set student.lambda_index=2 (one λ: array task)
//   mpirun -n 2 phenoscale edge student -c inputs/edge/demo.toml --set student.select_only=true
// The guided bi-LSTM autoencoder of DeepHACKS (Ma et al. 2024, §2 "guided
// autoencoder"): input tanh(0.15 v), the teacher's clusters as the classes,
// loss = cross-entropy + λ·masked MSE of the reconstruction, masked
// variable-length batches (no sample is dropped for its length, unlike the
// reference code). Each λ of student.lambdas is trained by the shared nn
// trainer; λ is then chosen by the effect size (Cohen's d of per-cell
// proportions, from the bootstrap of cells) of the reference contrast named in
// the deck, on the phenotypes of that λ's latent (edge phenotype's
// clustering), as the paper chose λ = 25.
// Without cells or conditions (imported series alone) there is no contrast:
// student.default_lambda is trained and used.
#include <algorithm>
#include <cmath>
#include <filesystem>
#include <fstream>
#include <limits>
#include <utility>

#include "phenoscale/app/edge_common.hpp"
#include "phenoscale/app/edge_stages.hpp"
#include "phenoscale/app/stage_io.hpp"
#include "phenoscale/core/error.hpp"
#include "phenoscale/core/log.hpp"
#include "phenoscale/core/rng.hpp"
#include "phenoscale/io/atomic_file.hpp"
#include "phenoscale/io/csv.hpp"
#include "phenoscale/io/provenance.hpp"
#include "phenoscale/io/sample_array.hpp"
#include "phenoscale/ml/bootstrap.hpp"
#include "phenoscale/ml/matrix.hpp"
#include "phenoscale/nn/engine.hpp"
#include "phenoscale/par/agree.hpp"
#include "phenoscale/par/check_deck.hpp"

namespace phenoscale::app {
namespace {

using core::cat;
namespace fs = std::filesystem;

std::string in_student_dir(const core::Config& cfg, const std::string& name) {
  return (fs::path(output_path(cfg, cfg.string("student.output"))) / name).string();
}

std::string lambda_tag(double lambda) {
  std::string s = cat(lambda);
  std::replace(s.begin(), s.end(), '.', 'p');
  return s;
}

// The training file of the student: /inputs = tanh(scale · v) as CSR series, /labels = teacher clusters.
void write_training_file(const StageContext& ctx, const std::string& path, const EdgeSamples& s,
                         const std::vector<std::int64_t>& labels, double scale) {
  io::RaggedSeries<float> inputs;
  for (std::uint64_t i = 0; i < s.size(); ++i) {
    std::vector<float> v(s.velocity.length(i));
    for (std::size_t t = 0; t < v.size(); ++t) v[t] = static_cast<float>(std::tanh(scale * s.velocity.series(i)[t]));
    inputs.push_back(v.data(), v.size());
  }
  io::H5File out = io::H5File::create(path, ctx.comm);
  io::write_ragged(out, "/inputs", inputs);
  out.write_attribute("/inputs", "transform", cat("tanh(", scale, " * velocity_nm_s)"));
  io::write_samples(out, "/labels", labels, {});
  io::write_provenance(out, stage_provenance(ctx, {}));
  out.commit();
}

struct Contrast {
  bool available = false;
  std::int64_t phenotype = -1, control = 0, treated = 1;
  bool same_as(const Contrast& o) const {
    return phenotype == o.phenotype && control == o.control && treated == o.treated;
  }
};

// The first entry of the reference contrast: "auto" (-1) or a teacher cluster
// 0..clusters-1, checked whole ("VI" or "2x" is an error, not 0 or 2).
std::int64_t reference_cluster(const std::string& text, std::int64_t clusters) {
  if (text == "auto") return -1;
  const auto k = io::parse_integer(text);
  if (!k || *k < 0 || *k >= clusters)
    throw ConfigError(cat("student.reference_contrast[0] = '", text, "': expected \"auto\" or a teacher cluster 0..",
                          clusters - 1, " (the teacher found ", clusters, ")"));
  return *k;
}

// The deck's reference contrast; phenotype "auto" takes the teacher cluster
// whose pooled proportion differs most between the two conditions.
Contrast reference_contrast(const core::Config& cfg, const EdgeSamples& s, const std::vector<std::int64_t>& teacher,
                            std::int64_t clusters, const par::Comm& comm) {
  Contrast c;
  const auto ref = cfg.string_list("student.reference_contrast");
  std::int64_t named = -1;
  par::collectively(comm, [&] {  // every rank fails alike; one error line, not one per rank
    if (ref.size() != 3) throw ConfigError(cat("student.reference_contrast has ", ref.size(),
                                               " entries; expected [phenotype, control, treated]"));
    named = reference_cluster(ref[0], clusters);
  });
  if (!all_have_cells(s, comm) || s.conditions.size() < 2) return c;
  par::collectively(comm, [&] {
    c.control = find_condition(s.conditions, ref[1], "student.reference_contrast", "the data");
    c.treated = find_condition(s.conditions, ref[2], "student.reference_contrast", "the data");
    if (c.control == c.treated)
      throw ConfigError(cat("student.reference_contrast names '", ref[1],
                            "' as both control and treated; expected two conditions"));
  });
  if (named >= 0) {
    c.phenotype = named;
  } else {
    // Pooled counts per (side, cluster) and samples per side, over all ranks.
    std::vector<double> count(2 * static_cast<std::size_t>(clusters), 0.0), total(2, 0.0);
    for (std::uint64_t i = 0; i < s.size(); ++i) {
      const int side = s.condition[i] == c.control ? 0 : s.condition[i] == c.treated ? 1 : -1;
      if (side < 0) continue;
      total[static_cast<std::size_t>(side)] += 1;
      count[static_cast<std::size_t>(side * clusters + teacher[i])] += 1;
    }
    comm.allreduce_sum_inplace(count);
    comm.allreduce_sum_inplace(total);
    double best = -1;
    for (std::int64_t k = 0; k < clusters; ++k) {
      const double d = std::abs(count[static_cast<std::size_t>(clusters + k)] / std::max(total[1], 1.0) -
                                count[static_cast<std::size_t>(k)] / std::max(total[0], 1.0));
      if (d > best) best = d, c.phenotype = k;
    }
  }
  c.available = true;
  return c;
}

// What a λ row was computed from, so that select_only never compares rows
// of other data or other settings (a teacher rerun, a changed scale or
// phenotyping between the array tasks and the choice).
struct LambdaInputs {
  std::string settings;  // "key=value; key=value; ..." of lambda_setting_keys
  std::string digest;    // of the samples, their annotations and teacher labels, in hex
};

// The deck keys that decide a λ's network and its Cohen's d: the seed, the
// input scale, the bootstrap, the model (not its classes and λ, set per λ from
// the data), the trainer (not where it reads and writes, its checkpointing,
// device or gradient bucketing), the latent's batching (predict.batch_size
// changes a series' latent beyond rounding) and the coarse phenotyping
// effect_of shares with edge phenotype. Not the rank count, although
// training depends on it (BatchNorm): a λ may be rerun on another allocation.
std::vector<std::string> lambda_setting_keys(const core::Config& cfg) {
  const std::string model = cat("model.", cfg.string("model.architecture"), ".");
  const std::vector<std::string> not_results = {
      "train.input", "train.inputs_dataset", "train.labels_dataset", "train.output", "train.metrics",
      "train.checkpoint", "train.checkpoint_every_steps", "train.resume", "train.device", "train.bucket_mib",
      "train.overlap", model + "classes", model + "reconstruction_weight"};
  std::vector<std::string> keys = {"student.scale", "student.replicates", "predict.batch_size", "model.architecture"};
  for (const auto& key : latent_phenotype_keys()) keys.push_back(key);  // run.seed among them
  for (const auto& spec : cfg.schema().keys()) {
    const bool listed = spec.key.rfind("train.", 0) == 0 || spec.key.rfind(model, 0) == 0;
    if (listed && std::find(not_results.begin(), not_results.end(), spec.key) == not_results.end())
      keys.push_back(spec.key);
  }
  return keys;
}

// Collective. Each sample's values, cell, condition, experiment and teacher
// label hashed with its global index, summed modulo 2^64 over the ranks (the
// same at any rank count), then the condition names.
LambdaInputs lambda_inputs(const core::Config& cfg, const EdgeSamples& s, const std::vector<std::int64_t>& teacher,
                           const par::Comm& comm) {
  LambdaInputs in;
  for (const auto& key : lambda_setting_keys(cfg)) in.settings += cat(in.settings.empty() ? "" : "; ", key, "=", cfg.text(key));
  std::uint64_t total = 0;
  for (std::uint64_t i = 0; i < s.size(); ++i) {
    const std::uint64_t global = s.velocity.first_series + i;
    const std::int64_t fields[] = {static_cast<std::int64_t>(s.velocity.length(i)), s.cell_id[i], s.condition[i],
                                   s.experiment[i], teacher[i]};
    std::uint64_t h = core::mix_bytes(0xCBF29CE484222325ull, &global, sizeof global);
    h = core::mix_bytes(h, fields, sizeof fields);
    h = core::mix_bytes(h, s.velocity.series(i), s.velocity.length(i) * s.velocity.width * sizeof(float));
    total += core::mix64(h);
  }
  total = comm.allreduce_sum(total);
  for (const auto& name : s.conditions) total = core::mix_bytes(core::mix64(total), name.data(), name.size());
  in.digest = cat(std::hex, total);
  return in;
}

// The value of `key` in settings text, or "(not recorded)". A value runs to
// the next "; <key of the schema>=" (a row of another architecture records
// its model's keys), so a value holding "; " does not cut it short.
std::string setting_value(const std::string& text, const std::string& key, const std::vector<std::string>& keys) {
  std::size_t at = text.rfind(key + "=", 0) == 0 ? 0 : text.find("; " + key + "=");
  if (at == std::string::npos) return "(not recorded)";
  if (at > 0) at += 2;
  const std::size_t from = at + key.size() + 1;
  std::size_t end = text.size();
  for (const auto& other : keys) {
    const std::size_t next = text.find("; " + other + "=", from);
    if (next != std::string::npos) end = std::min(end, next);
  }
  return text.substr(from, end - from);
}

// The settings in which a row and this run differ, "key: row → now; ...".
std::string settings_difference(const core::Config& cfg, const std::string& row) {
  std::string out;
  std::vector<std::string> schema_keys;
  for (const auto& spec : cfg.schema().keys()) schema_keys.push_back(spec.key);
  for (const auto& key : lambda_setting_keys(cfg)) {
    const std::string was = setting_value(row, key, schema_keys), now = cfg.text(key);
    if (was != now) out += cat(out.empty() ? "" : "; ", key, ": ", was, " in the row, ", now, " now");
  }
  return out.empty() ? "the recorded settings differ" : out;
}

struct LambdaResult {
  double lambda = 0, validation_accuracy = 0, cohens_d = std::numeric_limits<double>::quiet_NaN();
  double p_greater = std::numeric_limits<double>::quiet_NaN(), p_less = std::numeric_limits<double>::quiet_NaN();
  std::int64_t phenotypes = 0, reference_phenotype = -1;  // of this λ's latent
  Contrast contrast;  // the contrast d and p belong to
  LambdaInputs inputs;  // the data and settings d and p belong to
};

// A number per cell of this rank's samples, the same on every rank: a cell is
// its cell_id within its paired experiment (as edge stats keys it), so labs
// that number the cells of each experiment 1..n keep them apart when the
// reference contrast's conditions occur in several experiments. Ordered by
// id first, as edge stats orders cells: unique ids keep their order (and the
// bootstrap its draws). Collective.
std::vector<std::int64_t> cell_numbers(const EdgeSamples& s, const par::Comm& comm) {
  using Key = std::pair<std::int64_t, std::int64_t>;  // (cell_id, experiment)
  const auto distinct = [](std::vector<Key>& k) {
    std::sort(k.begin(), k.end());
    k.erase(std::unique(k.begin(), k.end()), k.end());
  };
  std::vector<Key> keys;
  for (std::size_t i = 0; i < s.size(); ++i) keys.emplace_back(s.cell_id[i], s.experiment[i]);
  distinct(keys);
  std::vector<std::int64_t> flat;
  for (const auto& [e, c] : keys) flat.insert(flat.end(), {e, c});
  flat = comm.allgatherv(flat);
  keys.clear();
  for (std::size_t j = 0; j + 1 < flat.size(); j += 2) keys.emplace_back(flat[j], flat[j + 1]);
  distinct(keys);
  std::vector<std::int64_t> numbers;
  for (std::size_t i = 0; i < s.size(); ++i) {
    const Key k{s.cell_id[i], s.experiment[i]};
    numbers.push_back(std::lower_bound(keys.begin(), keys.end(), k) - keys.begin());
  }
  return numbers;
}

// The effect size of the reference contrast on the phenotypes of this λ's
// latent, found as edge phenotype finds them (the paper compared λ by "the
// effect sizes of accelerating protrusion" in each λ's clustering): the
// reference phenotype is the one sharing the most phenotyped samples with the
// reference teacher cluster (Jaccard), the statistic the bootstrap of cells
// over the two conditions' phenotyped samples.
LambdaResult effect_of(const core::Config& cfg, const EdgeSamples& s, const std::string& latent,
                       const std::vector<std::int64_t>& teacher, const Contrast& c, const par::Comm& comm) {
  LambdaResult r;
  r.contrast = c;
  if (!c.available) return r;
  const ml::ShardedMatrix z = ml::read_matrix({latent, "/features"}, comm);
  const LatentPhenotypes lp = latent_phenotypes(cfg, z, s, latent, "edge student", comm);
  const auto all_teacher = ml::gather_values(teacher, comm);
  std::int64_t phenotypes = 0;
  for (auto p : lp.coarse) phenotypes = std::max(phenotypes, p + 1);
  double best = -1;
  for (std::int64_t p = 0; p < phenotypes; ++p) {
    double both = 0, either = 0;
    for (std::size_t i = 0; i < lp.coarse.size(); ++i) {
      if (lp.coarse[i] < 0) continue;
      const bool a = lp.coarse[i] == p, t = all_teacher[i] == c.phenotype;
      both += a && t;
      either += a || t;
    }
    const double jaccard = either > 0 ? both / either : 0;
    if (jaccard > best) best = jaccard, r.reference_phenotype = p;
  }
  r.phenotypes = phenotypes;
  ml::Observations two;  // the two conditions' phenotyped samples
  const auto first = static_cast<std::size_t>(s.velocity.first_series);
  const std::vector<std::int64_t> cells = cell_numbers(s, comm);
  for (std::size_t i = 0; i < s.size(); ++i) {
    const auto label = lp.coarse[first + i];
    if (label < 0 || (s.condition[i] != c.control && s.condition[i] != c.treated)) continue;
    two.labels.push_back(label);
    two.groups.push_back(cells[i]);
    two.conditions.push_back(s.condition[i]);
  }
  const ml::CellTable table = ml::build_cell_table(two, static_cast<std::uint64_t>(phenotypes), comm);
  ml::BootstrapOptions options;
  options.replicates = static_cast<std::uint64_t>(cfg.integer("student.replicates"));
  options.control = c.control;
  options.seed = static_cast<std::uint64_t>(cfg.integer("run.seed"));
  const ml::BootstrapResult b = ml::bootstrap(table, options, comm);
  const auto k = static_cast<std::size_t>(r.reference_phenotype);
  r.cohens_d = b.cohens_d[k];
  r.p_greater = b.p_greater[k];
  r.p_less = b.p_less[k];
  return r;
}

// One row per finished λ; the contrast columns (teacher cluster, control and
// treated as indices of the data's conditions) let select_only refuse a d
// computed for another reference contrast than the deck's.
void write_lambda_row(const std::string& path, const LambdaResult& r) {
  const Contrast& c = r.contrast;
  io::write_csv_table(path, {"inputs_digest", "settings"}, {{r.inputs.digest}, {r.inputs.settings}},
                      {"lambda", "validation_accuracy", "cohens_d", "p_greater", "p_less", "phenotypes",
                       "reference_phenotype", "contrast_cluster", "contrast_control", "contrast_treated"},
                      {{r.lambda}, {r.validation_accuracy}, {r.cohens_d}, {r.p_greater}, {r.p_less},
                       {double(r.phenotypes)}, {double(r.reference_phenotype)},
                       {double(c.available ? c.phenotype : -1)}, {double(c.control)}, {double(c.treated)}});
}

LambdaResult read_lambda_row(const std::string& path) {
  const io::TextTable t = io::read_csv_text(path);
  if (t.rows.size() != 1) throw InputError(cat(path, ": expected one row (a finished λ), found ", t.rows.size()));
  auto column = [&](const char* name) {
    const int c = t.column(name);
    if (c < 0)
      throw InputError(cat(path, ": no column '", name, "'; expected a row written by this version of edge student "
                                 "(rerun the λ)"));
    return c;
  };
  auto field = [&](const char* name, bool allow_nan) { return io::parse_real_field(t, 0, column(name), allow_nan); };
  LambdaResult r;
  r.inputs.digest = t.rows[0][static_cast<std::size_t>(column("inputs_digest"))];
  r.inputs.settings = t.rows[0][static_cast<std::size_t>(column("settings"))];
  r.lambda = field("lambda", false);
  r.validation_accuracy = field("validation_accuracy", true);
  r.cohens_d = field("cohens_d", true);
  r.p_greater = field("p_greater", true);
  r.p_less = field("p_less", true);
  r.phenotypes = static_cast<std::int64_t>(field("phenotypes", true));
  r.reference_phenotype = static_cast<std::int64_t>(field("reference_phenotype", true));
  r.contrast.phenotype = static_cast<std::int64_t>(field("contrast_cluster", false));
  r.contrast.control = static_cast<std::int64_t>(field("contrast_control", false));
  r.contrast.treated = static_cast<std::int64_t>(field("contrast_treated", false));
  r.contrast.available = r.contrast.phenotype >= 0;
  return r;
}

std::string contrast_text(const Contrast& c, const std::vector<std::string>& conditions) {
  if (!c.available) return "none (data without cells or conditions)";
  auto name = [&](std::int64_t k) {
    return k >= 0 && k < static_cast<std::int64_t>(conditions.size()) ? conditions[static_cast<std::size_t>(k)]
                                                                        : cat("condition ", k);
  };
  return cat("teacher cluster ", c.phenotype, ", ", name(c.control), " -> ", name(c.treated));
}

// Trains and applies the student at one λ; writes student/lambda_<λ>.csv.
void train_one(const StageContext& ctx, const EdgeSamples& s, const std::vector<std::int64_t>& teacher,
               const std::string& data, double lambda, std::int64_t clusters, const Contrast& contrast,
               const LambdaInputs& inputs) {
  const auto& cfg = ctx.config;
  const std::string tag = lambda_tag(lambda);
  const std::string arch = cfg.string("model.architecture");
  const core::Config lcfg = core::Config::resolve(
      edge_pipeline().schema(), cfg.to_toml(), cfg.deck_name(),
      {cat("model.", arch, ".classes=", clusters), cat("model.", arch, ".reconstruction_weight=", lambda)});
  const StageContext lctx{lcfg, ctx.comm, ctx.stage, ctx.command_line, ctx.timers};
  nn::TrainFiles files;
  files.data = data;
  files.inputs = "/inputs";
  files.labels = "/labels";
  files.model = in_student_dir(cfg, cat("model_lambda", tag, ".h5"));
  // As the other training stages: train.metrics or train.checkpoint = "" writes none.
  const auto per_lambda = [&](const char* key, const char* stem) {
    const std::string given = cfg.string(key);
    return given.empty() ? std::string() : in_student_dir(cfg, cat(stem, tag, fs::path(given).extension().string()));
  };
  files.metrics_csv = per_lambda("train.metrics", "training_lambda");
  files.checkpoint = per_lambda("train.checkpoint", "checkpoint_lambda");
  core::Log::info(cat("edge student: λ = ", lambda, ", ", clusters, " teacher classes, ", arch));
  const auto summary = nn::run_training(lcfg, files, stage_provenance(lctx, {data}), ctx.comm);
  nn::PredictFiles pf;
  pf.data = data;
  pf.inputs = "/inputs";
  pf.labels = "/labels";
  pf.models = {files.model};
  pf.output = in_student_dir(cfg, cat("latent_lambda", tag, ".h5"));
  nn::run_prediction(lcfg, pf, stage_provenance(lctx, {files.model, data}), ctx.comm);
  LambdaResult r = effect_of(cfg, s, pf.output, teacher, contrast, ctx.comm);
  // effect_of clusters the latent as edge phenotype does: a stop signal during
  // it ends the stage here, before the λ's row (a rerun resumes from the
  // finished checkpoint, when there is one, and predicts again).
  par::stop_point(ctx.comm, cat("edge student: effect of λ = ", lambda));
  r.lambda = lambda;
  r.validation_accuracy = summary.final_validation_accuracy;
  r.inputs = inputs;
  par::collectively(ctx.comm, [&] {  // agreed: a failed write is every rank's error
    if (ctx.comm.is_root()) write_lambda_row(in_student_dir(cfg, cat("lambda_", tag, ".csv")), r);
  });
  core::Log::info(cat("edge student: λ = ", lambda, ": validation accuracy on the teacher's labels ",
                      r.validation_accuracy,
                      contrast.available ? cat(", Cohen's d of the reference contrast ", r.cohens_d) : std::string(),
                      " -> ", pf.output));
}

// Chooses λ among the finished ones (largest |d|; without a contrast the
// default) and copies its latent file to student/latent.h5.
void select_lambda(const StageContext& ctx, const std::vector<double>& lambdas, const Contrast& reference,
                   const std::vector<std::string>& conditions, const LambdaInputs& inputs) {
  const auto& cfg = ctx.config;
  const bool contrast = reference.available;
  std::vector<LambdaResult> rows;
  par::collectively(ctx.comm, [&] {
    for (double l : lambdas) {
      const std::string row = in_student_dir(cfg, cat("lambda_", lambda_tag(l), ".csv"));
      if (!fs::exists(row))
        throw InputError(cat(row, ": missing; λ = ", l, " has not been trained (run its array task first)"));
      rows.push_back(read_lambda_row(row));
      const Contrast& c = rows.back().contrast;
      if (contrast && !c.same_as(reference))
        throw ConfigError(cat(row, ": λ = ", l, " was scored on the contrast ", contrast_text(c, conditions),
                              " but student.reference_contrast now gives ", contrast_text(reference, conditions),
                              "; rerun that λ (student.lambda_index) or restore the contrast"));
      const LambdaInputs& was = rows.back().inputs;
      if (was.digest != inputs.digest)
        throw InputError(cat(row, ": λ = ", l, " was trained and scored on other samples or teacher labels (digest ",
                             was.digest, " in the row, ", inputs.digest, " now); rerun that λ (student.lambda_index)"));
      if (was.settings != inputs.settings)
        throw ConfigError(cat(row, ": λ = ", l, " was trained and scored with other settings (",
                              settings_difference(cfg, was.settings),
                              "); rerun that λ (student.lambda_index) or restore them"));
    }
  });
  // A NaN d (fewer than 3 cells in the contrast, or no spread) never wins
  // over a finite one; with no finite d the first λ is kept.
  const auto larger = [](double a, double b) { return !std::isnan(a) && (std::isnan(b) || std::abs(a) > std::abs(b)); };
  std::size_t best = 0;
  for (std::size_t k = 1; k < rows.size(); ++k)
    if (contrast && larger(rows[k].cohens_d, rows[best].cohens_d)) best = k;
  if (contrast && std::isnan(rows[best].cohens_d))
    core::Log::warn(cat("edge student: no λ has a finite Cohen's d of the reference contrast (fewer than 3 cells on a "
                        "side, or no spread); λ = ", rows[best].lambda, ", the first, is kept"));
  const double chosen = rows[best].lambda;
  // Retired together first: a kill between the two commits leaves no table,
  // rather than the previous choice's table beside this choice's latent.
  begin_outputs(ctx, {in_student_dir(cfg, "latent.h5"), in_student_dir(cfg, "lambda_sweep.csv")});
  par::collectively(ctx.comm, [&] {  // agreed: a failed copy or write is every rank's error
    if (!ctx.comm.is_root()) return;
    io::AtomicFile latent(in_student_dir(cfg, "latent.h5"));
    fs::copy_file(in_student_dir(cfg, cat("latent_lambda", lambda_tag(chosen), ".h5")), latent.path(),
                  fs::copy_options::overwrite_existing);
    latent.commit();
    std::vector<double> l, acc, d, pg, pl, np, ref, mark;
    for (std::size_t k = 0; k < rows.size(); ++k) {
      l.push_back(rows[k].lambda);
      acc.push_back(rows[k].validation_accuracy);
      d.push_back(rows[k].cohens_d);
      pg.push_back(rows[k].p_greater);
      pl.push_back(rows[k].p_less);
      np.push_back(double(rows[k].phenotypes));
      ref.push_back(double(rows[k].reference_phenotype));
      mark.push_back(k == best ? 1 : 0);
    }
    io::write_csv_table(in_student_dir(cfg, "lambda_sweep.csv"),
                        {"lambda", "validation_accuracy", "cohens_d", "p_greater", "p_less", "phenotypes",
                         "reference_phenotype", "chosen"},
                        {l, acc, d, pg, pl, np, ref, mark});
  });
  core::Log::info(cat("edge student: λ = ", chosen,
                      contrast ? cat(" (largest |Cohen's d| of the reference contrast, ", rows[best].cohens_d, ")")
                               : std::string(" (student.default_lambda: no cells/conditions, no contrast)"),
                      " -> ", in_student_dir(cfg, "latent.h5")));
}

}  // namespace

void add_edge_student_keys(core::Schema& s) {
  s.string("student.input", "", "Samples (default: denoise.output)")
      .string("student.teacher", "", "Teacher labels (default: teacher.output)")
      .string("student.output", "student", "Directory of the λ sweep (models, latents, lambda_sweep.csv, latent.h5)")
      .real("student.scale", 0.15, "Input transform tanh(scale · v) = 2/(1 + exp(-2·scale·v)) - 1", 1e-9, 1e9)
      .real_list("student.lambdas", {1, 5, 10, 25, 50}, "λ values of the sweep (loss = CE + λ·MSE)")
      .integer("student.lambda_index", -1, "Train only this entry of student.lambdas (a Slurm array task); -1: all",
               -1, 1e6)
      .boolean("student.select_only", false, "Only choose λ among the finished ones (after the array)")
      .real("student.default_lambda", 25, "λ used when the data have no cells or conditions (no contrast)", 0, 1e9)
      .string_list("student.reference_contrast", {"auto", "DMSO", "drug"},
                   "[teacher cluster or auto, control, treated]: λ maximises |Cohen's d| of this contrast")
      .integer("student.replicates", 2000, "Bootstrap replicates of the λ choice", 100, 1e9);
}

void edge_student(const StageContext& ctx) {
  const auto& cfg = ctx.config;
  const std::string input = input_or_output(cfg, "student.input", "denoise.output");
  const std::string teacher = input_or_output(cfg, "student.teacher", "teacher.output");
  const EdgeSamples s = read_edge_samples(input, ctx.comm);
  const auto labels = read_teacher_labels(teacher, s.velocity.global_series, ctx.comm);
  std::int64_t clusters = 0;
  for (auto l : labels) clusters = std::max(clusters, l + 1);
  clusters = ctx.comm.allreduce_max(clusters);
  const Contrast contrast = reference_contrast(cfg, s, labels, clusters, ctx.comm);
  std::vector<double> lambdas = cfg.real_list("student.lambdas");
  if (!contrast.available) lambdas = {cfg.real("student.default_lambda")};
  par::check_deck(ctx.comm, !lambdas.empty(), "student.lambdas is empty: give at least one λ");
  const std::int64_t only = cfg.integer("student.lambda_index");
  const auto listed = static_cast<std::int64_t>(cfg.real_list("student.lambdas").size());
  par::check_deck(ctx.comm, only < listed,
                  cat("student.lambda_index = ", only, " but student.lambdas has ", listed, " values"));
  const std::string data = in_student_dir(cfg, "train.h5");
  make_parent_dir(ctx, data);
  const LambdaInputs inputs = lambda_inputs(cfg, s, labels, ctx.comm);
  if (!cfg.boolean("student.select_only")) {
    write_training_file(ctx, data, s, labels, cfg.real("student.scale"));
    if (contrast.available)
      core::Log::info(cat("edge student: reference contrast: ", contrast_text(contrast, s.conditions)));
    for (std::size_t k = 0; k < lambdas.size(); ++k) {
      if (only >= 0 && contrast.available && static_cast<std::int64_t>(k) != only) continue;
      train_one(ctx, s, labels, data, lambdas[k], clusters, contrast, inputs);
    }
    if (only >= 0 && contrast.available) return;  // an array task; selection runs after the array
  }
  select_lambda(ctx, lambdas, contrast, s.conditions, inputs);
}

}  // namespace phenoscale::app
