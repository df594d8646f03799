// spt classify (docs/cli.md "spt"): the downstream classifier of DeepSPT
// (Kæstel-Hansen et al. 2024; docs/methods.md §2.7) —
// which population (organelle, condition, ...) a track belongs to, from its
// diffusional fingerprint (`spt fingerprint`).
//
//   mpirun -n 2 phenoscale spt classify -c inputs/spt/classify.toml
//   mpirun -n 2 phenoscale spt classify -c deck.toml --input fp/fingerprints.h5 --set classify.labels=labels.csv
//
// 1. every rank reads all fingerprint rows and the labels (small data);
//    length-dependent columns are dropped, and columns without a finite
//    value in any row;
// 2. folds: stratified k-fold, and leave-one-experiment-out when the tracks
//    carry experiment labels;
// 3. one task per (model, scheme, fold), dealt round-robin to the ranks
//    (as the SVM's grid, ml/svm.cpp): standardise and impute with the
//    training rows' statistics, oversample the minority classes of the
//    training rows, train (nn::fit_predict_rows: Adam, one process, one
//    thread) and predict the held-out rows; every row is held out once per
//    scheme, so a sum over ranks assembles the out-of-fold probabilities
//    exactly — the results are identical at any rank count;
// 4. argmax, "unsure" below classify.unsure_threshold, macro-F1 of the
//    confident tracks, confusion matrices; files written by rank 0.
#include <algorithm>
#include <charconv>
#include <chrono>
#include <cmath>
#include <filesystem>
#include <map>

#include "phenoscale/app/spt_stages.hpp"
#include "phenoscale/app/stage_io.hpp"
#include "phenoscale/core/error.hpp"
#include "phenoscale/core/first_repeat.hpp"
#include "phenoscale/core/log.hpp"
#include "phenoscale/core/rng.hpp"
#include "phenoscale/io/csv.hpp"
#include "phenoscale/io/hdf5.hpp"
#include "phenoscale/io/provenance.hpp"
#include "phenoscale/io/sample_array.hpp"
#include "phenoscale/io/sharded_text.hpp"
#include "phenoscale/ml/cross_validation.hpp"
#include "phenoscale/nn/engine.hpp"
#include "phenoscale/par/agree.hpp"
#include "phenoscale/par/check_deck.hpp"

namespace phenoscale::app {
namespace {

using core::cat;

constexpr std::uint64_t kFoldSalt = 0x5350'5443'0000ULL;        // "SPTC": stratified folds, one stream per class
constexpr std::uint64_t kOversampleSalt = 0x5350'5443'4f00'0000ULL;  // "SPTCO": oversampling, one stream per task

// ---- inputs -------------------------------------------------------------------

std::vector<std::string> split_names(const std::string& text) {
  std::vector<std::string> out;
  std::string item;
  for (std::size_t k = 0; k <= text.size(); ++k) {
    if (k == text.size() || text[k] == ',') {
      const auto b = item.find_first_not_of(' '), e = item.find_last_not_of(' ');
      if (b != std::string::npos) out.push_back(item.substr(b, e - b + 1));
      item.clear();
    } else {
      item += text[k];
    }
  }
  return out;
}

std::string join(const std::vector<std::string>& items, const char* separator = ",") {
  std::string out;
  for (const auto& s : items) out += (out.empty() ? "" : separator) + s;
  return out;
}

struct Fingerprints {
  std::string path;
  std::vector<std::string> columns;
  std::vector<std::string> length_dependent;
  std::vector<double> values;  // rows × columns
  std::vector<std::int64_t> track_id;
  std::size_t rows() const { return track_id.size(); }
};

// Collective. Every row on every rank: the table is small (tracks × 42).
Fingerprints read_fingerprints(const std::string& path, const par::Comm& comm) {
  Fingerprints f;
  f.path = path;
  io::H5File in = io::H5File::open(path, comm);
  io::DatasetInfo info;
  par::collectively(comm, [&] {
    info = in.info("/fingerprints");
    if (info.shape.size() != 2 || !in.has_attribute("/fingerprints", "columns"))
      throw InputError(cat(in.where("/fingerprints"), ": expected an N x columns table with a `columns` attribute "
                           "(spt fingerprint's layout), found shape ", io::shape_string(info.shape)));
    f.columns = split_names(in.read_string_attribute("/fingerprints", "columns"));
    if (f.columns.size() != info.shape[1])
      throw InputError(cat(in.where("/fingerprints"), ": the `columns` attribute names ", f.columns.size(),
                           " columns, the table has ", info.shape[1]));
    if (in.has_attribute("/fingerprints", "length_dependent"))
      f.length_dependent = split_names(in.read_string_attribute("/fingerprints", "length_dependent"));
  });
  const par::Range all{0, info.shape[0]};
  f.values = io::read_sample_rows<double>(in, "/fingerprints", all, {{}, false}).data;
  f.track_id = io::read_sample_rows<std::int64_t>(in, "/track_id", all).data;
  par::check_all(comm, f.track_id.size() == info.shape[0],
                 cat(in.where("/track_id"), ": ", f.track_id.size(), " track ids for ", info.shape[0], " fingerprints"));
  par::check_all(comm, f.rows() > 0, cat(in.where("/fingerprints"), ": no tracks to classify"));
  return f;
}

// Per-track labels as given: class and experiment names (text).
struct LabelTable {
  std::string source;
  std::vector<std::int64_t> track_id;
  std::vector<std::string> label;
  std::vector<std::string> experiment;  // empty: no experiment labels
};

// The first of `names` that is a column of `t` (case-insensitive), or -1.
int column_of(const io::TextTable& t, std::initializer_list<const char*> names) {
  for (const char* n : names)
    if (const int c = t.column(n); c >= 0) return c;
  return -1;
}

// `track_id,label[,experiment]` with a header (also `particle`/`trajectory`
// for the id, `class`/`population` for the label), read as every table of
// the project is (io::read_csv_text: `,`, `;` or tab, quotes, a UTF-8 BOM,
// CRLF or CR line ends; pandas' "12.0" ids).
LabelTable read_labels_csv(const std::string& path) {
  const io::TextTable t = io::read_csv_text(path);
  const int id_col = column_of(t, {"track_id", "particle", "trajectory"});
  const int label_col = column_of(t, {"label", "class", "population"});
  const int experiment_col = column_of(t, {"experiment"});
  if (id_col < 0 || label_col < 0) {
    std::string found;
    for (const auto& h : t.header) found += (found.empty() ? "" : ",") + h;
    throw InputError(cat(path, ": expected a header track_id,label[,experiment] (classify.labels), found ", found));
  }
  LabelTable out;
  out.source = path;
  std::map<std::int64_t, std::size_t> seen;
  for (std::size_t k = 0; k < t.rows.size(); ++k) {
    const std::int64_t id = io::parse_integer_field(t, k, id_col);
    if (auto [it, fresh] = seen.emplace(id, k); !fresh)
      throw InputError(cat(t.where(k), ": track id ", id, " appears twice (first on line ", t.line[it->second], ")"));
    const std::string& label = t.rows[k][static_cast<std::size_t>(label_col)];
    if (label.empty()) throw InputError(cat(t.where(k), ": empty label for track ", id));
    out.track_id.push_back(id);
    out.label.push_back(label);
    if (experiment_col >= 0) out.experiment.push_back(t.rows[k][static_cast<std::size_t>(experiment_col)]);
  }
  if (t.rows.empty()) throw InputError(cat(path, ": no data rows; expected one row track_id,label per track"));
  return out;
}

// Collective. Per-track int64 datasets of a tracks.h5 (spt simulate with
// simulate.populations > 0 writes /population and /experiment), matched by
// /track_id (row index when absent).
LabelTable read_labels_hdf5(const std::string& path, const std::string& label_ds, const std::string& experiment_ds,
                            bool experiments_required, const par::Comm& comm) {
  io::H5File in = io::H5File::open(path, comm);
  par::check_all(comm, in.has(label_ds),
                 cat(in.where(label_ds), ": no such dataset; classify.labels_dataset names the per-track class labels "
                     "(spt simulate writes /population when simulate.populations > 0)"));
  const std::uint64_t n = in.info(label_ds).shape.empty() ? 0 : in.info(label_ds).shape[0];
  auto read_all = [&](const std::string& ds) {
    const auto values = io::read_sample_rows<std::int64_t>(in, ds, {0, n}).data;
    par::check_all(comm, in.info(ds).shape.size() == 1 && in.info(ds).shape[0] == n,
                   cat(in.where(ds), ": expected ", n, " values, one per track (as ", label_ds, "), found shape ",
                       io::shape_string(in.info(ds).shape)));
    return values;
  };
  LabelTable t;
  t.source = path;
  for (auto v : read_all(label_ds)) t.label.push_back(std::to_string(v));
  if (in.has("/track_id")) {
    t.track_id = read_all("/track_id");
  } else {
    for (std::uint64_t i = 0; i < n; ++i) t.track_id.push_back(static_cast<std::int64_t>(i));
  }
  // A dataset the deck names but the file lacks is a typo, not "no experiments".
  par::check_deck(comm, !experiments_required || in.has(experiment_ds),
                 cat(in.where(experiment_ds), ": no such dataset; classify.experiments_dataset names the per-track "
                     "experiment ids (or set classify.leave_one_experiment_out = false)"));
  if (!experiment_ds.empty() && in.has(experiment_ds))
    for (auto v : read_all(experiment_ds)) t.experiment.push_back(std::to_string(v));
  return t;
}

bool parse_int(const std::string& text, std::int64_t& value) {
  const char* end = text.data() + text.size();
  const auto r = std::from_chars(text.data(), end, value);
  return !text.empty() && r.ec == std::errc() && r.ptr == end;
}

bool is_csv(const std::string& path) {
  auto ext = std::filesystem::path(path).extension().string();
  for (auto& c : ext) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return ext == ".csv" || ext == ".tsv" || ext == ".txt";
}

// Distinct names in order: numerically when all are integers ("2" < "10").
std::vector<std::string> sorted_names(std::vector<std::string> names) {
  std::sort(names.begin(), names.end());
  names.erase(std::unique(names.begin(), names.end()), names.end());
  const bool numeric = std::all_of(names.begin(), names.end(), [](const std::string& s) {
    std::int64_t v;
    return parse_int(s, v);
  });
  if (numeric)
    std::sort(names.begin(), names.end(), [](const std::string& a, const std::string& b) { return std::stoll(a) < std::stoll(b); });
  return names;
}

int index_of(const std::vector<std::string>& names, const std::string& name) {
  return static_cast<int>(std::find(names.begin(), names.end(), name) - names.begin());
}

// The labels of the fingerprinted tracks, as class and experiment indices.
struct Labels {
  std::vector<std::string> class_names, experiment_names;
  std::vector<int> classes;                 // per fingerprint row
  std::vector<std::int64_t> experiments;    // per fingerprint row; empty: none
};

Labels match_labels(const Fingerprints& f, const LabelTable& t) {
  std::map<std::int64_t, std::size_t> row_of;
  for (std::size_t r = 0; r < t.track_id.size(); ++r)
    if (!row_of.emplace(t.track_id[r], r).second)
      throw InputError(cat(t.source, ": track id ", t.track_id[r], " has two labels"));
  Labels l;
  std::vector<std::size_t> rows;
  for (std::int64_t id : f.track_id) {
    const auto it = row_of.find(id);
    if (it == row_of.end())
      throw InputError(cat(t.source, ": no label for track ", id, " of ", f.path,
                           "; expected one for every fingerprinted track (classify.labels)"));
    rows.push_back(it->second);
  }
  std::vector<std::string> labels, experiments;
  for (auto r : rows) {
    labels.push_back(t.label[r]);
    if (!t.experiment.empty()) experiments.push_back(t.experiment[r]);
  }
  l.class_names = sorted_names(labels);
  for (const auto& s : labels) l.classes.push_back(index_of(l.class_names, s));
  if (!experiments.empty()) {
    l.experiment_names = sorted_names(experiments);
    for (const auto& s : experiments) l.experiments.push_back(index_of(l.experiment_names, s));
  }
  if (l.class_names.size() < 2)
    throw InputError(cat(t.source, ": the ", f.rows(), " fingerprinted tracks hold ", l.class_names.size(),
                         " class(es) ('", join(l.class_names), "'); a classifier needs at least 2"));
  return l;
}

// ---- the design matrix ----------------------------------------------------------

struct Design {
  std::vector<std::string> used, dropped;  // dropped: "name (why)"
  std::vector<double> x;                   // rows × used
  std::int64_t missing = 0;                // non-finite values kept for imputation
  std::size_t d() const { return used.size(); }
};

// DeepSPT drops the length-dependent columns (docs/methods.md §2.3: classes
// must not be told apart by track length); a column with no finite value
// carries nothing; the user may drop more. Other non-finite values stay and
// are imputed per fold.
Design design_matrix(const Fingerprints& f, const std::vector<std::string>& drop, const std::string& where) {
  for (const auto& name : drop)
    if (std::find(f.columns.begin(), f.columns.end(), name) == f.columns.end())
      throw ConfigError(cat(where, ": classify.drop_columns names '", name, "', not a column of ", f.path,
                            " (columns: ", join(f.columns, ", "), ")"));
  const std::size_t c = f.columns.size();
  Design design;
  std::vector<std::size_t> keep;
  for (std::size_t j = 0; j < c; ++j) {
    const auto& name = f.columns[j];
    bool any_finite = false;
    for (std::size_t i = 0; i < f.rows() && !any_finite; ++i) any_finite = std::isfinite(f.values[i * c + j]);
    if (std::count(f.length_dependent.begin(), f.length_dependent.end(), name)) design.dropped.push_back(name + " (length-dependent)");
    else if (std::count(drop.begin(), drop.end(), name)) design.dropped.push_back(name + " (classify.drop_columns)");
    else if (!any_finite) design.dropped.push_back(name + " (no finite value)");
    else keep.push_back(j), design.used.push_back(name);
  }
  if (keep.empty()) throw InputError(cat(f.path, ": no fingerprint column is left to classify on"));
  for (std::size_t i = 0; i < f.rows(); ++i)
    for (std::size_t j : keep) {
      design.x.push_back(f.values[i * c + j]);
      design.missing += !std::isfinite(design.x.back());
    }
  return design;
}

// ---- cross-validation -------------------------------------------------------------

struct Scheme {
  std::string name;   // "stratified", "leave_one_experiment_out"
  std::vector<int> fold_of;
  int folds = 0;
};

Scheme stratified_scheme(const Labels& l, std::int64_t requested, std::uint64_t seed, const std::string& where) {
  const int k = static_cast<int>(l.class_names.size());
  std::vector<std::int64_t> count(static_cast<std::size_t>(k), 0);
  for (int c : l.classes) ++count[static_cast<std::size_t>(c)];
  const auto smallest = std::min_element(count.begin(), count.end());
  const std::string name = l.class_names[static_cast<std::size_t>(smallest - count.begin())];
  if (*smallest < 2)
    throw InputError(cat(where, ": class '", name, "' has ", *smallest,
                         " track; stratified cross-validation needs at least 2 tracks per class"));
  Scheme s;
  s.name = "stratified";
  s.folds = static_cast<int>(std::min<std::int64_t>(requested, *smallest));
  if (s.folds < requested)
    core::Log::warn(cat("spt classify: classify.folds = ", requested, " lowered to ", s.folds, ": class '", name,
                        "' has only ", *smallest, " tracks"));
  s.fold_of = ml::stratified_folds(l.classes, k, s.folds, seed, kFoldSalt);
  return s;
}

struct Settings {
  std::vector<std::string> models;
  std::int64_t hidden = 64, epochs = 10, batch = 32;
  double learning_rate = 1e-3, weight_decay = 0.0;
  bool oversample = true;
  std::uint64_t seed = 0;
};

nn::ModelSpec spec_of(const std::string& model, const Settings& s, int classes) {
  // `mlp` with no hidden layer is one linear layer + softmax: multinomial
  // logistic regression trained by the same engine as the MLP.
  const double layers = model == "logistic" ? 0.0 : 1.0;
  return nn::make_spec("mlp", {{"layers", layers}, {"hidden", double(s.hidden)}, {"dropout", 0.0},
                               {"classes", double(classes)}});
}

// One task: train on every fold but `fold`, predict `fold` into `out` (rows × K).
void run_fold(const Design& design, const Labels& labels, const Scheme& scheme, int fold, const std::string& model,
              const Settings& s, std::uint64_t task, std::vector<float>& out) {
  const int k = static_cast<int>(labels.class_names.size());
  const std::size_t d = design.d();
  std::vector<std::size_t> train_rows, test_rows;
  for (std::size_t i = 0; i < scheme.fold_of.size(); ++i) (scheme.fold_of[i] == fold ? test_rows : train_rows).push_back(i);
  // Scaling and imputation from the training rows only: nothing of the
  // held-out rows leaks into the model.
  const std::vector<double> z = ml::Standardiser::fit(design.x, d, train_rows).apply(design.x);
  if (s.oversample) {
    core::Rng rng(s.seed, core::Stream::split, kOversampleSalt + task);
    train_rows = ml::oversample(train_rows, labels.classes, k, rng);
  }
  auto rows_of = [&](const std::vector<std::size_t>& rows) {
    nn::RowSet set;
    set.features = static_cast<std::int64_t>(d);
    for (std::size_t i : rows) {
      for (std::size_t j = 0; j < d; ++j) set.values.push_back(static_cast<float>(z[i * d + j]));
      set.labels.push_back(labels.classes[i]);
    }
    return set;
  };
  nn::RowFit fit;
  fit.spec = spec_of(model, s, k);
  fit.learning_rate = s.learning_rate;
  fit.weight_decay = s.weight_decay;
  fit.epochs = s.epochs;
  fit.batch_size = s.batch;
  fit.seed = s.seed + task;
  const std::vector<float> p = nn::fit_predict_rows(fit, rows_of(train_rows), rows_of(test_rows));
  for (std::size_t r = 0; r < test_rows.size(); ++r)
    std::copy_n(p.begin() + static_cast<std::ptrdiff_t>(r * k), k, out.begin() + static_cast<std::ptrdiff_t>(test_rows[r] * k));
}

// Out-of-fold probabilities of every (model, scheme), rows × K each, on every rank.
std::vector<std::vector<float>> cross_validate(const Design& design, const Labels& labels,
                                               const std::vector<Scheme>& schemes, const Settings& s,
                                               const par::Comm& comm) {
  const std::size_t n = labels.classes.size(), k = labels.class_names.size();
  std::vector<std::vector<float>> probabilities(s.models.size() * schemes.size(), std::vector<float>(n * k, 0.0f));
  std::uint64_t task = 0;
  par::collectively(comm, [&] {
    for (std::size_t m = 0; m < s.models.size(); ++m)
      for (std::size_t c = 0; c < schemes.size(); ++c)
        for (int f = 0; f < schemes[c].folds; ++f, ++task)
          if (task % static_cast<std::uint64_t>(comm.size()) == static_cast<std::uint64_t>(comm.rank()))
            run_fold(design, labels, schemes[c], f, s.models[m], s, task, probabilities[m * schemes.size() + c]);
  });
  // Each row is held out by exactly one task per (model, scheme): the sum
  // over ranks adds zeros to it, so every rank ends with the exact values.
  for (auto& p : probabilities) comm.allreduce_sum_inplace(p);
  return probabilities;
}

// ---- scores and outputs ------------------------------------------------------------

struct Outcome {
  std::string scheme, model;
  int folds = 0;
  std::vector<std::int64_t> predicted, unsure;
  std::vector<float> probability;        // of the predicted class
  ml::ConfusionMatrix confident, all;    // confident: tracks at or above the threshold
  std::vector<std::int64_t> unsure_by_class;
  double unsure_fraction() const { return double(all.total() - confident.total()) / double(all.total()); }
};

Outcome score(const std::vector<float>& p, const Labels& labels, double threshold) {
  const int k = static_cast<int>(labels.class_names.size());
  Outcome o;
  o.confident = ml::ConfusionMatrix(k);
  o.all = ml::ConfusionMatrix(k);
  o.unsure_by_class.assign(static_cast<std::size_t>(k), 0);
  for (std::size_t i = 0; i < labels.classes.size(); ++i) {
    const float* row = p.data() + i * static_cast<std::size_t>(k);
    const int best = static_cast<int>(std::max_element(row, row + k) - row);  // ties: the lower class
    const bool unsure = row[best] < threshold;
    o.predicted.push_back(best);
    o.probability.push_back(row[best]);
    o.unsure.push_back(unsure ? 1 : 0);
    o.all.add(labels.classes[i], best);
    if (unsure) ++o.unsure_by_class[static_cast<std::size_t>(labels.classes[i])];
    else o.confident.add(labels.classes[i], best);
  }
  return o;
}

std::string number(double v) {
  char buffer[32];
  std::snprintf(buffer, sizeof buffer, "%.6g", v);
  return buffer;
}

std::string experiment_name(const Labels& l, std::size_t i) {
  return l.experiments.empty() ? std::string() : l.experiment_names[static_cast<std::size_t>(l.experiments[i])];
}

std::string predictions_csv(const std::vector<Outcome>& outcomes, const std::vector<Scheme>& schemes,
                            const Fingerprints& f, const Labels& l) {
  std::string text = "scheme,model,track_id,label,experiment,fold,predicted,probability,unsure,reported\n";
  for (const auto& o : outcomes) {
    const auto& scheme = *std::find_if(schemes.begin(), schemes.end(), [&](const Scheme& s) { return s.name == o.scheme; });
    for (std::size_t i = 0; i < f.rows(); ++i) {
      const std::string predicted = io::csv_field(l.class_names[static_cast<std::size_t>(o.predicted[i])]);
      text += cat(o.scheme, ",", o.model, ",", f.track_id[i], ",", io::csv_field(l.class_names[static_cast<std::size_t>(l.classes[i])]),
                  ",", io::csv_field(experiment_name(l, i)), ",", scheme.fold_of[i], ",", predicted, ",", number(o.probability[i]),
                  ",", o.unsure[i], ",", o.unsure[i] ? std::string("unsure") : predicted, "\n");
    }
  }
  return text;
}

std::string summary_csv(const std::vector<Outcome>& outcomes, const Labels& l, double threshold) {
  std::string text = "scheme,model,folds,tracks,unsure,unsure_fraction,unsure_threshold,accuracy,macro_f1,macro_f1_all";
  for (const auto& c : l.class_names) text += "," + io::csv_field("f1_" + c);
  text += "\n";
  for (const auto& o : outcomes) {
    text += cat(o.scheme, ",", o.model, ",", o.folds, ",", o.all.total(), ",", o.all.total() - o.confident.total(), ",",
                number(o.unsure_fraction()), ",", number(threshold), ",", number(o.confident.accuracy()), ",",
                number(o.confident.macro_f1()), ",", number(o.all.macro_f1()));
    for (int k = 0; k < o.confident.classes; ++k) text += "," + number(o.confident.f1(k));
    text += "\n";
  }
  return text;
}

// Long form: one row per (true, predicted) pair, "unsure" as a predicted column.
std::string confusion_csv(const std::vector<Outcome>& outcomes, const Labels& l) {
  std::string text = "scheme,model,label,predicted,tracks\n";
  const int k = static_cast<int>(l.class_names.size());
  for (const auto& o : outcomes)
    for (int t = 0; t < k; ++t) {
      for (int p = 0; p < k; ++p)
        text += cat(o.scheme, ",", o.model, ",", io::csv_field(l.class_names[t]), ",", io::csv_field(l.class_names[p]), ",",
                    o.confident.counts[static_cast<std::size_t>(t * k + p)], "\n");
      text += cat(o.scheme, ",", o.model, ",", io::csv_field(l.class_names[t]), ",unsure,", o.unsure_by_class[static_cast<std::size_t>(t)], "\n");
    }
  return text;
}

void write_hdf5(const StageContext& ctx, const std::string& path, const std::vector<Outcome>& outcomes,
                const std::vector<std::vector<float>>& probabilities, const std::vector<Scheme>& schemes,
                const Fingerprints& f, const Labels& l, const Design& design, const std::vector<std::string>& inputs) {
  const bool root = ctx.comm.is_root();
  const std::uint64_t n = root ? f.rows() : 0, k = l.class_names.size();
  io::H5File out = io::H5File::create(path, ctx.comm);
  io::write_samples(out, "/track_id", f.track_id.data(), n, {});
  std::vector<std::int64_t> classes(l.classes.begin(), l.classes.end());
  io::write_samples(out, "/label", classes.data(), n, {});
  out.write_attribute("/label", "classes", join(l.class_names));
  if (!l.experiments.empty()) {
    io::write_samples(out, "/experiment", l.experiments.data(), n, {});
    out.write_attribute("/experiment", "experiments", join(l.experiment_names));
  }
  for (std::size_t i = 0; i < outcomes.size(); ++i) {
    const auto& o = outcomes[i];
    const std::string g = "/" + o.scheme + "/" + o.model;
    out.create_group(g);
    const auto& scheme = *std::find_if(schemes.begin(), schemes.end(), [&](const Scheme& s) { return s.name == o.scheme; });
    std::vector<std::int64_t> folds(scheme.fold_of.begin(), scheme.fold_of.end());
    io::write_samples(out, g + "/probabilities", probabilities[i].data(), n, {k});
    io::write_samples(out, g + "/predicted", o.predicted.data(), n, {});
    io::write_samples(out, g + "/unsure", o.unsure.data(), n, {});
    io::write_samples(out, g + "/fold", folds.data(), n, {});
    io::write_samples(out, g + "/confusion", o.confident.counts.data(), root ? k : 0, {k});
    io::write_samples(out, g + "/confusion_all", o.all.counts.data(), root ? k : 0, {k});
    out.write_attribute(g, "folds", static_cast<std::int64_t>(o.folds));
    out.write_attribute(g, "macro_f1", o.confident.macro_f1());
    out.write_attribute(g, "macro_f1_all", o.all.macro_f1());
    out.write_attribute(g, "accuracy", o.confident.accuracy());
    out.write_attribute(g, "unsure_fraction", o.unsure_fraction());
  }
  out.write_attribute("/", "unsure_threshold", ctx.config.real("classify.unsure_threshold"));
  out.write_attribute("/", "columns", join(design.used));
  out.write_attribute("/", "dropped_columns", join(design.dropped));
  out.write_attribute("/", "missing_values_imputed", design.missing);
  io::write_provenance(out, stage_provenance(ctx, inputs));
  out.commit();
}

std::string fingerprints_path(const core::Config& cfg) {
  std::string path = cfg.string("classify.input");
  if (path.empty()) return (std::filesystem::path(output_path(cfg, cfg.string("fingerprint.output"))) / "fingerprints.h5").string();
  if (std::filesystem::is_directory(path)) path = (std::filesystem::path(path) / "fingerprints.h5").string();
  return path;
}

Settings settings_of(const core::Config& cfg) {
  Settings s;
  s.models = cfg.string_list("classify.models");
  s.hidden = cfg.integer("classify.hidden");
  s.epochs = cfg.integer("classify.epochs");
  s.batch = cfg.integer("classify.batch_size");
  s.learning_rate = cfg.real("classify.learning_rate");
  s.weight_decay = cfg.real("classify.weight_decay");
  s.oversample = cfg.boolean("classify.oversample");
  s.seed = static_cast<std::uint64_t>(cfg.integer("run.seed"));
  if (s.models.empty()) throw ConfigError(cat(deck_label(cfg), ": classify.models is empty; expected [\"logistic\", \"mlp\"] or one of them"));
  for (const auto& m : s.models)
    if (m != "logistic" && m != "mlp")
      throw ConfigError(cat(deck_label(cfg), ": classify.models names '", m, "'; expected \"logistic\" or \"mlp\""));
  if (const auto i = core::first_repeat(s.models); i < s.models.size())
    throw ConfigError(cat(deck_label(cfg), ": classify.models names '", s.models[i], "' twice"));
  return s;
}

}  // namespace

void add_spt_classify_keys(core::Schema& s) {
  s.string("classify.input", "",
           "Fingerprints (fingerprints.h5, or the directory holding it); default: fingerprint.output/fingerprints.h5")
      .string("classify.labels", "",
              "Per-track classes: a CSV track_id,label[,experiment] or an HDF5 file with classify.labels_dataset "
              "(and classify.experiments_dataset) per track; default: the fingerprinted tracks "
              "(fingerprint.input, else simulate.test_output)")
      .string("classify.labels_dataset", "/population", "HDF5 labels: int64 class per track, matched by /track_id")
      .string("classify.experiments_dataset", "/experiment",
              "HDF5 labels: int64 experiment per track (leave-one-experiment-out); absent: that scheme is skipped, "
              "unless this key is set")
      .string("classify.output", "classify",
              "Directory receiving classify.h5, classify.csv, summary.csv and confusion.csv, inside run.output_dir")
      .string_list("classify.models", {"logistic", "mlp"},
                   "Classifiers: logistic (multinomial logistic regression) and/or mlp (one hidden ReLU layer)")
      .integer("classify.hidden", 64, "Units of the MLP's hidden layer", 1, 1e6)
      .real("classify.learning_rate", 1e-3, "Adam learning rate", 1e-9, 10)
      .real("classify.weight_decay", 0.0, "L2 weight decay", 0, 1e3)
      .integer("classify.epochs", 10, "Epochs per fit", 1, 1e6)
      .integer("classify.batch_size", 32, "Mini-batch size", 1, 1e9)
      .integer("classify.folds", 10, "Stratified cross-validation folds (lowered to the smallest class's tracks)", 2, 1e6)
      .boolean("classify.leave_one_experiment_out", true,
               "Also cross-validate leaving one experiment out at a time (needs experiment labels)")
      .boolean("classify.oversample", true,
               "Oversample the minority classes of every training fold to the largest class (never the held-out fold)")
      .real("classify.unsure_threshold", 0.6,
            "Predictions whose probability is below this are reported as unsure and left out of macro-F1", 0, 1)
      .string_list("classify.drop_columns", {},
                   "Fingerprint columns to leave out besides the length-dependent ones (e.g. the seg_* columns)");
}

void spt_classify(const StageContext& ctx) {
  const auto& cfg = ctx.config;
  const auto t0 = std::chrono::steady_clock::now();
  Settings settings;
  par::collectively(ctx.comm, [&] { settings = settings_of(cfg); });
  const std::string fp_path = fingerprints_path(cfg);
  const std::string labels_path = cfg.string("classify.labels").empty()
                                      ? input_or_output(cfg, "fingerprint.input", "simulate.test_output")
                                      : cfg.string("classify.labels");
  const Fingerprints fingerprints = read_fingerprints(fp_path, ctx.comm);
  LabelTable table;
  if (is_csv(labels_path)) {
    par::collectively(ctx.comm, [&] { table = read_labels_csv(labels_path); });
  } else {
    const bool required = cfg.is_set("classify.experiments_dataset") && cfg.boolean("classify.leave_one_experiment_out");
    table = read_labels_hdf5(labels_path, cfg.string("classify.labels_dataset"),
                             cfg.string("classify.experiments_dataset"), required, ctx.comm);
  }
  Labels labels;
  Design design;
  std::vector<Scheme> schemes;
  par::collectively(ctx.comm, [&] {
    labels = match_labels(fingerprints, table);
    design = design_matrix(fingerprints, cfg.string_list("classify.drop_columns"), deck_label(cfg));
    schemes.push_back(stratified_scheme(labels, cfg.integer("classify.folds"), settings.seed, labels_path));
  });
  const bool by_experiment = cfg.boolean("classify.leave_one_experiment_out");
  if (by_experiment && labels.experiment_names.size() >= 2) {
    schemes.push_back({"leave_one_experiment_out", ml::group_folds(labels.experiments),
                       static_cast<int>(labels.experiment_names.size())});
  } else if (by_experiment) {
    core::Log::warn(cat("spt classify: ", labels_path, " gives ", labels.experiment_names.size(),
                        " experiment(s); leave-one-experiment-out needs at least 2 and is skipped"));
  }
  const double threshold = cfg.real("classify.unsure_threshold");
  core::Log::info(cat("spt classify: ", fingerprints.rows(), " tracks, ", labels.class_names.size(), " classes (",
                      join(labels.class_names, ", "), "), ", design.d(), " of ", fingerprints.columns.size(),
                      " fingerprint columns (dropped: ", design.dropped.empty() ? "none" : join(design.dropped, ", "),
                      "; ", design.missing, " missing values imputed per fold); models ", join(settings.models, ", "),
                      "; ", ctx.comm.size(), " rank(s)"));

  std::vector<std::vector<float>> probabilities;
  {
    core::ScopedTimer t(ctx.timers, "cross-validation");
    probabilities = cross_validate(design, labels, schemes, settings, ctx.comm);
  }
  std::vector<Outcome> outcomes;
  for (std::size_t m = 0; m < settings.models.size(); ++m)
    for (std::size_t c = 0; c < schemes.size(); ++c) {
      Outcome o = score(probabilities[m * schemes.size() + c], labels, threshold);
      o.scheme = schemes[c].name;
      o.model = settings.models[m];
      o.folds = schemes[c].folds;
      core::Log::info(cat("spt classify: ", o.scheme, " (", o.folds, " folds), ", o.model, ": macro-F1 ",
                          number(o.confident.macro_f1()), " on ", o.confident.total(), " confident tracks, ",
                          number(100 * o.unsure_fraction()), " % unsure (p < ", threshold, "); macro-F1 ",
                          number(o.all.macro_f1()), " on all tracks"));
      outcomes.push_back(std::move(o));
    }
  // Reorder to scheme-major for the files: a scheme's models side by side.
  std::vector<std::size_t> order;
  for (std::size_t c = 0; c < schemes.size(); ++c)
    for (std::size_t m = 0; m < settings.models.size(); ++m) order.push_back(m * schemes.size() + c);
  std::vector<Outcome> sorted;
  std::vector<std::vector<float>> sorted_p;
  for (auto i : order) sorted.push_back(outcomes[i]), sorted_p.push_back(probabilities[i]);

  core::ScopedTimer t(ctx.timers, "write");
  const std::filesystem::path dir = output_path(cfg, cfg.string("classify.output"));
  const std::string h5 = (dir / "classify.h5").string();
  begin_outputs(ctx, {h5, (dir / "classify.csv").string(), (dir / "summary.csv").string(),
                      (dir / "confusion.csv").string()});
  write_hdf5(ctx, h5, sorted, sorted_p, schemes, fingerprints, labels, design, {fp_path, labels_path});
  const bool root = ctx.comm.is_root();
  io::write_text_in_rank_order((dir / "classify.csv").string(),
                               root ? predictions_csv(sorted, schemes, fingerprints, labels) : "", ctx.comm);
  io::write_text_in_rank_order((dir / "summary.csv").string(), root ? summary_csv(sorted, labels, threshold) : "",
                               ctx.comm);
  io::write_text_in_rank_order((dir / "confusion.csv").string(), root ? confusion_csv(sorted, labels) : "", ctx.comm);
  const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  core::Log::info(cat("spt classify: ", schemes.size(), " scheme(s) x ", settings.models.size(), " model(s) in ",
                      number(seconds), " s -> ", dir.string(), "/classify.h5, classify.csv, summary.csv, confusion.csv"));
}

}  // namespace phenoscale::app
