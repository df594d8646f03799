// edge import (docs/cli.md "edge import"; docs/file-formats.md "edge series CSV").
//   mpirun -n 2 phenoscale edge import -c inputs/edge/demo.toml --set import.input=series.csv
// Aligned protrusion samples windowed and aligned elsewhere, into the sample
// layout every later stage reads (app/edge_common.hpp). Two CSV layouts:
//   long: sample_id,frame,velocity[,cell_id,condition,experiment,window]
//   wide: sample_id[,cell_id,condition,experiment,window],v0,v1,...,vN
// In either layout: a gap is any of pandas' missing-value spellings
// (io::is_missing_value), and gaps after the last velocity end a shorter
// sample; -1 or a missing value in cell_id or window is unknown;
// velocities within the float32 range; rows of empty fields are blank
// lines; a column the layout reads may be named once. sample_id, cell_id and
// experiment are numbers when every field of the column is one (sample_id in
// plain digits; cell_id and experiment also as "3.0", pandas' integers with
// gaps), and names otherwise ("s0001", "A01-c3", "2024-05-01", or a
// sample_id "007" beside "7"; io::IdColumn): each distinct text is one id,
// numbered in the order of its first line and written back as imported.
// The key (import.input) and these column names are a fixed contract:
// external evaluations write them. Interior NaN are filled as for movies
// (±4 frames); samples that still hold NaN (all-NaN, or NaN before the
// first velocity) are skipped and counted. Every rank parses the file and
// keeps its BlockPartition block of samples, so the result does not depend
// on the rank count.
#include <algorithm>
#include <charconv>
#include <cmath>
#include <limits>
#include <map>
#include <optional>

#include "phenoscale/app/edge_common.hpp"
#include "phenoscale/app/edge_stages.hpp"
#include "phenoscale/app/stage_io.hpp"
#include "phenoscale/core/error.hpp"
#include "phenoscale/core/log.hpp"
#include "phenoscale/edge/series.hpp"
#include "phenoscale/io/csv.hpp"
#include "phenoscale/io/provenance.hpp"
#include "phenoscale/par/agree.hpp"
#include "phenoscale/par/partition.hpp"

namespace phenoscale::app {
namespace {

using core::cat;

// One imported sample before sharding.
struct ImportedSample {
  std::int64_t id = 0, cell = -1, experiment = 0, window = -1;
  std::string text;  // sample_id as written
  std::string condition = "all";
  std::vector<double> velocity;
  std::size_t row = 0;  // first row, for messages
};

// A window id: -1 or a missing value (empty, NA, nan: pandas' spellings) is
// "unknown", as the pipeline writes it (/window).
std::int64_t optional_id_field(const io::TextTable& t, std::size_t k, int column) {
  if (io::is_missing_value(t.rows[k][static_cast<std::size_t>(column)])) return -1;
  return io::parse_integer_field(t, k, column, -1);
}

// The sample_id column, numbers (in plain digits: they are written back) or
// names.
struct SampleIds {
  int column;
  io::IdColumn ids;
  SampleIds(const io::TextTable& t, int c) : column(c), ids(t, c, io::IdColumn::Numbers::plain_digits, false) {}
  void fill(const io::TextTable& t, std::size_t k, ImportedSample& s) const {
    s.id = ids.id(t, k, std::numeric_limits<std::int64_t>::min());
    s.text = t.rows[k][static_cast<std::size_t>(column)];
  }
};

// A velocity, NaN for a gap; the samples are stored as 32-bit floats.
double velocity_field(const io::TextTable& t, std::size_t k, int column) {
  const double v = io::parse_real_field(t, k, column, true);
  if (std::abs(v) > double(std::numeric_limits<float>::max()))
    throw InputError(cat(t.where(k), ": column '", t.header[static_cast<std::size_t>(column)],
                         "': expected a velocity within the 32-bit float range (nm/s), found '",
                         t.rows[k][static_cast<std::size_t>(column)], "'"));
  return v;
}

// The optional annotation columns, -1 when absent.
struct Annotations {
  int cell = -1, condition = -1, experiment = -1, window = -1;
  io::IdColumn cells, experiments;  // numbers as before names were read ("3.0" too)
  explicit Annotations(const io::TextTable& t)
      : cell(t.column("cell_id")), condition(t.column("condition")), experiment(t.column("experiment")),
        window(t.column("window")), cells(t, cell, io::IdColumn::Numbers::any_integer, true),
        experiments(t, experiment, io::IdColumn::Numbers::any_integer, false) {}
  void fill(const io::TextTable& t, std::size_t k, ImportedSample& s) const {
    if (cell >= 0) s.cell = cells.id(t, k, -1);
    if (condition >= 0) s.condition = t.rows[k][static_cast<std::size_t>(condition)];
    if (experiment >= 0) s.experiment = experiments.id(t, k, 0);
    if (window >= 0) s.window = optional_id_field(t, k, window);
    if (s.condition.empty()) throw InputError(t.where(k) + ": column 'condition' is empty; expected a name");
  }
  bool same(const ImportedSample& a, const ImportedSample& b) const {
    return a.cell == b.cell && a.condition == b.condition && a.experiment == b.experiment && a.window == b.window;
  }
};

// Gaps after a sample's last velocity end a shorter sample, in either
// layout (a wide table's padding; the same table melted to the long layout
// by pandas keeps those cells as rows of NaN).
void trim_trailing_gaps(std::vector<double>& velocity) {
  while (!velocity.empty() && std::isnan(velocity.back())) velocity.pop_back();
}

// The columns a layout reads may each appear once: with two 'velocity'
// columns the reader would silently take the first.
void check_single_columns(const io::TextTable& t, bool long_layout) {
  std::vector<std::string> names{"sample_id", "cell_id", "condition", "experiment", "window"};
  if (long_layout) names.insert(names.end(), {"frame", "velocity"});
  for (const auto& name : names) {
    const auto found = t.columns_named(name);
    if (found.size() > 1)
      throw InputError(cat(t.path, ": the header names column '", name, "' twice (columns ", found[0] + 1, " and ",
                           found[1] + 1, "); expected it once"));
  }
}

int required_column(const io::TextTable& t, const std::string& name, const std::string& layout) {
  const int c = t.column(name);
  if (c < 0) {
    std::string found;
    for (const auto& h : t.header) found += (found.empty() ? "" : ",") + h;
    throw InputError(cat(t.path, ": no column '", name, "'; expected ", layout, ", found ", found));
  }
  return c;
}

const char* kLong = "sample_id,frame,velocity[,cell_id,condition,experiment,window]";
const char* kWide = "sample_id[,cell_id,condition,experiment,window],v0,v1,...";

// What a layout's reader found: the samples sorted by sample_id, and the
// columns of ids that hold names.
struct ImportedSeries {
  std::vector<ImportedSample> samples;
  bool named_samples = false;
  std::vector<std::string> cell_names, experiment_names;  // empty when the ids are numbers
  std::vector<std::string> notes;                         // one log line per column of names

  ImportedSeries(std::vector<ImportedSample> sorted, const io::TextTable& t, const SampleIds& ids,
                 const Annotations& ann)
      : samples(std::move(sorted)), named_samples(ids.ids.named()), cell_names(ann.cells.names()),
        experiment_names(ann.experiments.names()) {
    for (const io::IdColumn* c : {&ids.ids, &ann.cells, &ann.experiments})
      if (c->named()) notes.push_back(c->describe(t));
  }
};

ImportedSeries read_long(const io::TextTable& t) {
  const int id = required_column(t, "sample_id", kLong), frame = required_column(t, "frame", kLong),
            velocity = required_column(t, "velocity", kLong);
  const SampleIds ids(t, id);
  const Annotations ann(t);
  struct Row {
    std::int64_t frame;
    double v;
    std::size_t k;
  };
  std::map<std::int64_t, std::vector<Row>> rows;
  std::map<std::int64_t, ImportedSample> meta;
  for (std::size_t k = 0; k < t.rows.size(); ++k) {
    if (io::is_blank_row(t.rows[k])) continue;  // ",,,": cleared spreadsheet cells
    ImportedSample s;
    ids.fill(t, k, s);
    rows[s.id].push_back({io::parse_integer_field(t, k, frame), velocity_field(t, k, velocity), k});
    s.row = k;
    ann.fill(t, k, s);
    auto [it, fresh] = meta.emplace(s.id, s);
    if (!fresh && !ann.same(it->second, s))
      throw InputError(cat(t.where(k), ": sample ", s.text, " has other cell_id/condition/experiment/window than on line ",
                           t.line[it->second.row], "; a sample belongs to one window of one cell"));
  }
  std::vector<ImportedSample> out;
  for (auto& [sid, r] : rows) {
    std::stable_sort(r.begin(), r.end(), [](const Row& a, const Row& b) { return a.frame < b.frame; });
    ImportedSample s = meta[sid];
    for (std::size_t j = 0; j < r.size(); ++j) {
      if (j > 0 && r[j].frame == r[j - 1].frame)
        throw InputError(cat(t.where(r[j].k), ": frame ", r[j].frame, " of sample ", s.text, " repeats line ",
                             t.line[r[j - 1].k]));
      if (j > 0 && r[j].frame != r[j - 1].frame + 1)
        throw InputError(cat(t.where(r[j].k), ": sample ", s.text, " jumps from frame ", r[j - 1].frame, " to ",
                             r[j].frame, "; write missing frames with an empty or NaN velocity"));
      s.velocity.push_back(r[j].v);
    }
    trim_trailing_gaps(s.velocity);
    out.push_back(std::move(s));
  }
  return ImportedSeries(std::move(out), t, ids, ann);
}

// The frame of a wide-layout column name: v<j> (or V<j>) without leading
// zeros; -1 for any other column.
long frame_of_column(const std::string& h) {
  long j = -1;
  const bool digits = h.size() >= 2 && (h[0] == 'v' || h[0] == 'V') && (h[1] != '0' || h.size() == 2) &&
                      std::from_chars(h.data() + 1, h.data() + h.size(), j).ptr == h.data() + h.size();
  return digits ? j : -1;
}

ImportedSeries read_wide(const io::TextTable& t) {
  const int id = required_column(t, "sample_id", kWide);
  const SampleIds ids(t, id);
  std::map<long, int> by_frame;  // v<j> -> its column, in one pass over the header
  for (std::size_t c = 0; c < t.header.size(); ++c) {
    const long j = frame_of_column(t.header[c]);
    if (j < 0) continue;
    if (const auto [it, fresh] = by_frame.emplace(j, static_cast<int>(c)); !fresh)
      throw InputError(cat(t.path, ": the header names column 'v", j, "' twice (columns ", it->second + 1, " and ",
                           c + 1, "); expected one column per frame"));
  }
  std::vector<int> value_columns;
  for (const auto& [j, c] : by_frame) {
    // A misspelt or missing column inside the range would otherwise cut every
    // sample short at it, silently.
    if (j != static_cast<long>(value_columns.size()))
      throw InputError(cat(t.path, ": no column 'v", value_columns.size(), "' but a column 'v", by_frame.rbegin()->first,
                           "'; the wide layout needs v0..vN without gaps"));
    value_columns.push_back(c);
  }
  if (value_columns.empty()) required_column(t, "v0", kWide);
  const Annotations ann(t);
  std::vector<ImportedSample> out;
  std::map<std::int64_t, std::size_t> seen;
  for (std::size_t k = 0; k < t.rows.size(); ++k) {
    if (io::is_blank_row(t.rows[k])) continue;  // ",,,": cleared spreadsheet cells
    ImportedSample s;
    ids.fill(t, k, s);
    s.row = k;
    ann.fill(t, k, s);
    if (auto [it, fresh] = seen.emplace(s.id, k); !fresh)
      throw InputError(cat(t.where(k), ": sample_id ", s.text, " repeats line ", t.line[it->second]));
    for (int c : value_columns) s.velocity.push_back(velocity_field(t, k, c));
    trim_trailing_gaps(s.velocity);
    out.push_back(std::move(s));
  }
  std::sort(out.begin(), out.end(), [](const ImportedSample& a, const ImportedSample& b) { return a.id < b.id; });
  return ImportedSeries(std::move(out), t, ids, ann);
}

ImportedSeries read_series_csv(const std::string& path, const std::string& format) {
  const io::TextTable t = io::read_csv_text(path);
  std::string layout = format;
  // Either long-layout column names that layout (a typo in the other is then
  // named as missing, not reported as a wide table without v0).
  if (layout == "auto") layout = t.column("frame") >= 0 || t.column("velocity") >= 0 ? "long" : "wide";
  check_single_columns(t, layout == "long");
  return layout == "long" ? read_long(t) : read_wide(t);
}

}  // namespace

void add_edge_import_keys(core::Schema& s) {
  s.string("import.input", "", "Aligned series CSV: long sample_id,frame,velocity[,cell_id,condition,experiment,window] "
                               "or wide sample_id[,cell_id,condition,experiment,window],v0..vN; required")
      .string("import.output", "events.h5", "Sample file, inside run.output_dir (where later stages look by default)")
      .string("import.format", "auto", "CSV layout: auto (long when a frame or velocity column exists), long, wide",
              {"auto", "long", "wide"})
      .real("import.frame_s", 5.0, "Frame interval of the series, s", 1e-6, 1e6)
      .integer("import.min_frames", 17, "Shorter samples are skipped (counted)", 2, 100000);
}

void edge_import(const StageContext& ctx) {
  const auto& cfg = ctx.config;
  require_setting(ctx, "import.input", "give the series with --input series.csv (or --set import.input=FILE)");
  const std::string input = cfg.string("import.input");
  std::optional<ImportedSeries> read;
  par::collectively(ctx.comm, [&] { read.emplace(read_series_csv(input, cfg.string("import.format"))); });
  std::vector<ImportedSample>& all = read->samples;
  // Conditions by first appearance in the file; samples with NaN left after
  // gap filling, or too short, are skipped with counts.
  EdgeSamples samples;
  samples.conditions.clear();
  samples.frame_s = cfg.real("import.frame_s");
  samples.named_samples = read->named_samples;
  samples.cell_names = read->cell_names;
  samples.experiment_names = read->experiment_names;
  std::size_t nan_skipped = 0, short_skipped = 0, filled = 0;
  std::vector<ImportedSample> kept;
  {  // the samples come sorted by sample_id; a condition's place is its first line in the file
    std::vector<std::pair<std::size_t, std::string>> first;  // (row, condition)
    for (const auto& s : all) first.emplace_back(s.row, s.condition);
    std::sort(first.begin(), first.end());
    for (const auto& [row, c] : first)
      if (std::find(samples.conditions.begin(), samples.conditions.end(), c) == samples.conditions.end())
        samples.conditions.push_back(c);
  }
  for (auto& s : all) {
    filled += edge::fill_gaps(s.velocity, static_cast<int>(cfg.integer("events.gap_half_width")));
    if (s.velocity.empty() || std::any_of(s.velocity.begin(), s.velocity.end(), [](double v) { return std::isnan(v); })) {
      ++nan_skipped;
      continue;
    }
    if (static_cast<std::int64_t>(s.velocity.size()) < cfg.integer("import.min_frames")) {
      ++short_skipped;
      continue;
    }
    kept.push_back(std::move(s));
  }
  par::check_all(ctx.comm, !kept.empty(),
                 cat(input, ": no usable sample among ", all.size(), " (", nan_skipped, " all NaN or NaN at the start, ",
                     short_skipped, " shorter than import.min_frames = ", cfg.integer("import.min_frames"), ")"));
  const par::Range mine = par::BlockPartition::over(kept.size(), ctx.comm).range(ctx.comm.rank());
  for (std::uint64_t i = mine.begin; i < mine.end; ++i) {
    const auto& s = kept[i];
    const auto cond = std::find(samples.conditions.begin(), samples.conditions.end(), s.condition) - samples.conditions.begin();
    // Named samples are numbered 0..N−1 over the samples kept (the names
    // were numbered over every sample of the file).
    const auto id = samples.named_samples ? static_cast<std::int64_t>(i) : s.id;
    samples.push_back(s.velocity, id, s.cell, cond, s.experiment, s.window, -1);
    if (samples.named_samples) samples.sample_name.push_back(s.text);
  }
  for (const auto& note : read->notes) core::Log::info("edge import: " + note);
  const std::string path = output_path(cfg, cfg.string("import.output"));
  make_parent_dir(ctx, path);
  io::H5File out = io::H5File::create(path, ctx.comm);
  write_edge_samples(out, samples);
  io::write_provenance(out, stage_provenance(ctx, {input}));
  out.commit();
  core::Log::info(cat("edge import: ", kept.size(), " samples of ", all.size(), " in ", input, " (", nan_skipped,
                      " skipped: all NaN or NaN at the start; ", short_skipped, " skipped: shorter than ",
                      cfg.integer("import.min_frames"), " frames; ", filled, " interior NaN filled), ",
                      samples.conditions.size(), " condition(s) -> ", path));
}

}  // namespace phenoscale::app
