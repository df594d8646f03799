// edge simulate / window / events (docs/cli.md "edge"; docs/methods.md §3.1).
//   mpirun -n 2 phenoscale edge simulate -c inputs/edge/demo.toml   → movies/cell_0000.tif ..., movies.csv, truth.h5
//   mpirun -n 2 phenoscale edge window   -c inputs/edge/demo.toml   → windows/cell_0000.h5 ..., movies.csv
//   mpirun -n 2 phenoscale edge events   -c inputs/edge/demo.toml   → events.h5
// Movies are sharded over ranks in BlockPartition blocks of the movie list;
// each rank writes the files of its own movies (HDF5 on MPI_COMM_SELF), and
// the per-sample outputs are written collectively in movie order, so every
// file is the same at any rank count.
#include <algorithm>
#include <cctype>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <limits>
#include <array>
#include <map>
#include <optional>
#include <set>

#include "phenoscale/app/edge_common.hpp"
#include "phenoscale/app/edge_stages.hpp"
#include "phenoscale/app/stage_io.hpp"
#include "phenoscale/core/error.hpp"
#include "phenoscale/core/first_repeat.hpp"
#include "phenoscale/core/log.hpp"
#include "phenoscale/core/progress.hpp"
#include "phenoscale/core/rng.hpp"
#include "phenoscale/core/stop_signal.hpp"
#include "phenoscale/edge/movie.hpp"
#include "phenoscale/edge/phenotype.hpp"
#include "phenoscale/edge/protrusion_model.hpp"
#include "phenoscale/edge/series.hpp"
#include "phenoscale/edge/windows.hpp"
#include "phenoscale/io/csv.hpp"
#include "phenoscale/io/provenance.hpp"
#include "phenoscale/io/sample_array.hpp"
#include "phenoscale/io/tiff.hpp"
#include "phenoscale/par/agree.hpp"
#include "phenoscale/par/partition.hpp"

namespace phenoscale::app {
namespace {

using core::cat;
namespace fs = std::filesystem;

// One row of movies.csv: a movie of one cell and what is known about it.
struct MovieEntry {
  std::string movie;       // file name inside the movie directory
  std::int64_t cell_id = 0;
  std::string condition;
  std::int64_t experiment = 0;
};

// movies.csv: its rows, and the names of cell and experiment ids when the
// table gives names (io::IdColumn; empty for numbers).
struct MovieTable {
  std::vector<MovieEntry> movies;
  std::vector<std::string> cell_names, experiment_names;
  std::size_t size() const { return movies.size(); }
  const MovieEntry& operator[](std::size_t i) const { return movies[i]; }
  std::string cell_text(const MovieEntry& m) const { return id_text(m.cell_id, cell_names); }
  std::string experiment_text(const MovieEntry& m) const { return id_text(m.experiment, experiment_names); }
};

std::string movie_name(std::int64_t cell) {
  char buffer[32];
  std::snprintf(buffer, sizeof buffer, "cell_%04lld", static_cast<long long>(cell));
  return buffer;
}

// ---- movies.csv ---------------------------------------------------------------

MovieTable read_movie_table(const std::string& path, const par::Comm& comm) {
  MovieTable table;
  std::vector<std::string> notes;
  par::collectively(comm, [&] {
    const io::TextTable t = io::read_csv_text(path);
    const int movie = t.column("movie"), cell = t.column("cell_id"), cond = t.column("condition"),
              exp = t.column("experiment");
    if (movie < 0 || cell < 0 || cond < 0) {
      std::string found;
      for (const auto& h : t.header) found += (found.empty() ? "" : ",") + h;
      throw InputError(cat(path, ": no column '", movie < 0 ? "movie" : cell < 0 ? "cell_id" : "condition",
                           "'; expected columns movie,cell_id,condition[,experiment], found ", found));
    }
    // Cell and experiment ids: numbers, or names written back as given.
    const io::IdColumn cells(t, cell, io::IdColumn::Numbers::any_integer, false),
        experiments(t, exp, io::IdColumn::Numbers::any_integer, false);
    for (std::size_t k = 0; k < t.rows.size(); ++k) {
      if (io::is_blank_row(t.rows[k])) continue;  // ",,,": cleared spreadsheet cells
      MovieEntry e;
      e.movie = t.rows[k][static_cast<std::size_t>(movie)];
      e.cell_id = cells.id(t, k, 0);
      e.condition = t.rows[k][static_cast<std::size_t>(cond)];
      e.experiment = exp >= 0 ? experiments.id(t, k, 0) : 0;
      if (e.movie.empty()) throw InputError(t.where(k) + ": column 'movie' is empty; expected a file name");
      if (e.condition.empty()) throw InputError(t.where(k) + ": column 'condition' is empty; expected a name");
      table.movies.push_back(e);
    }
    if (table.movies.empty()) throw InputError(cat(path, ": no movies listed; expected one row per movie"));
    table.cell_names = cells.names();
    table.experiment_names = experiments.names();
    for (const io::IdColumn* c : {&cells, &experiments})
      if (c->named()) notes.push_back(cat(path, ": ", c->describe(t)));
  });
  for (const auto& note : notes) core::Log::info(note);
  return table;
}

// movies.csv beside the velocity maps: `table`'s rows with `movies`' file
// names (the maps), their ids as the table gave them.
void write_movie_table(const std::string& path, const MovieTable& table, const std::vector<MovieEntry>& movies,
                       const std::vector<std::int64_t>& windows = {}, const std::vector<std::int64_t>& frames = {}) {
  std::vector<std::string> names, conditions, cells, experiments;
  for (const auto& m : movies) {
    names.push_back(m.movie);
    conditions.push_back(m.condition);
    cells.push_back(table.cell_text(m));
    experiments.push_back(table.experiment_text(m));
  }
  std::vector<std::string> header;
  std::vector<std::vector<double>> columns;
  if (!windows.empty()) {
    header = {"windows", "frames"};
    columns.emplace_back(windows.begin(), windows.end());
    columns.emplace_back(frames.begin(), frames.end());
  }
  io::write_csv_table(path, {"movie", "condition", "cell_id", "experiment"}, {names, conditions, cells, experiments},
                      header, columns);
}

// Condition names in order of first appearance, and each movie's index into them.
std::vector<std::string> condition_names(const std::vector<MovieEntry>& movies) {
  std::vector<std::string> names;
  for (const auto& m : movies)
    if (std::find(names.begin(), names.end(), m.condition) == names.end()) names.push_back(m.condition);
  return names;
}

std::int64_t condition_index(const std::vector<std::string>& names, const std::string& name) {
  return std::find(names.begin(), names.end(), name) - names.begin();
}

// ---- simulate -------------------------------------------------------------------

// Base phenotype proportions with the deck's drug effects applied: every
// "condition:phenotype:delta" of this condition adds its delta to that
// phenotype, and the phenotypes none of them names share the rest in
// proportion to their base shares (edge::apply_effects: jointly, so each
// named phenotype moves by exactly its delta).
std::vector<double> condition_proportions(const core::Config& cfg, const std::string& condition) {
  std::vector<double> p = cfg.real_list("simulate.proportions");
  if (p.size() != static_cast<std::size_t>(edge::kPhenotypes))
    throw ConfigError(cat("simulate.proportions has ", p.size(), " values; expected ", edge::kPhenotypes,
                          " (steady, bursting, periodic, accelerating, bursting_early)"));
  for (std::size_t k = 0; k < p.size(); ++k)
    if (!(p[k] >= 0.0) || !std::isfinite(p[k]))
      throw ConfigError(cat("simulate.proportions[", k, "] (", edge::phenotype_name(static_cast<edge::Phenotype>(k)),
                            ") = ", p[k], ": expected a finite proportion >= 0"));
  std::vector<edge::ProportionEffect> effects;
  for (const auto& effect : cfg.string_list("simulate.effects")) {
    const auto a = effect.find(':'), b = effect.rfind(':');
    if (a == std::string::npos || a == b)
      throw ConfigError(cat("simulate.effects entry '", effect, "': expected condition:phenotype:delta"));
    if (effect.substr(0, a) != condition) continue;
    const std::string key = cat("simulate.effects entry '", effect, "': phenotype");
    const auto target = edge::parse_phenotype(effect.substr(a + 1, b - a - 1), key);
    const auto parsed = io::parse_double(effect.substr(b + 1));
    if (!parsed || !std::isfinite(*parsed))
      throw ConfigError(cat("simulate.effects entry '", effect, "': the delta '", effect.substr(b + 1),
                            "' is not a number (expected condition:phenotype:delta)"));
    effects.push_back({target, *parsed});
  }
  p = edge::apply_effects(std::move(p), effects);
  double total = 0;
  for (std::size_t k = 0; k < p.size(); ++k) {
    if (p[k] < 0)
      throw ConfigError(cat("simulate.effects make the ", edge::phenotype_name(static_cast<edge::Phenotype>(k)),
                            " proportion of condition ", condition, " negative (", p[k], "); expected >= 0"));
    total += p[k];
  }
  if (!(total > 0))
    throw ConfigError(cat("simulate.proportions", effects.empty() ? "" : " with simulate.effects", " of condition ",
                          condition, ": every proportion is 0; expected at least one > 0"));
  for (double& v : p) v /= total;
  return p;
}

// Each condition's planted event proportions, condition -> proportions.
using PlantedProportions = std::map<std::string, std::vector<double>>;

// Checks simulate.conditions and simulate.effects before any movie is
// written — there is a condition, and every effect entry parses, names a
// condition of simulate.conditions (a misspelt one would otherwise plant no
// effect, silently) and keeps every proportion >= 0 — and returns each
// condition's proportions, computed once for every cell to draw from.
PlantedProportions planned_proportions(const core::Config& cfg) {
  const auto conditions = cfg.string_list("simulate.conditions");
  if (conditions.empty()) throw ConfigError("simulate.conditions is empty: name at least one condition");
  // The names are stored one per line (the HDF5 'conditions' attribute) and
  // in movies.csv's rows, whose fields are read back trimmed.
  for (std::size_t i = 0; i < conditions.size(); ++i) {
    const std::string& c = conditions[i];
    const bool control = std::any_of(c.begin(), c.end(), [](char ch) { return static_cast<unsigned char>(ch) < 0x20; });
    const std::string problem = c.empty() ? "empty"
                                : control ? "a name with a line break or another control character"
                                : std::isspace(static_cast<unsigned char>(c.front())) ||
                                        std::isspace(static_cast<unsigned char>(c.back()))
                                    ? cat("'", c, "', with spaces around it")
                                    : "";
    if (!problem.empty())
      throw ConfigError(cat("simulate.conditions entry ", i + 1, " is ", problem,
                            "; expected a condition name on one line, without spaces around it"));
  }
  if (const auto i = core::first_repeat(conditions); i < conditions.size())
    throw ConfigError(cat("simulate.conditions names '", conditions[i], "' twice; expected distinct conditions"));
  for (const auto& effect : cfg.string_list("simulate.effects")) {
    find_condition(conditions, effect.substr(0, effect.find(':')), cat("simulate.effects entry '", effect, "'"),
                   "simulate.conditions");
  }
  PlantedProportions planted;
  for (const auto& c : conditions) planted[c] = condition_proportions(cfg, c);
  return planted;
}

// One log line per condition with the event proportions it plants, so a run's
// log states the effect the statistics should find.
void log_planted_proportions(const core::Config& cfg, const PlantedProportions& planted) {
  for (const auto& c : cfg.string_list("simulate.conditions")) {
    const auto& p = planted.at(c);
    std::string line = cat("edge simulate: condition ", c, " plants");
    for (std::size_t k = 0; k < p.size(); ++k)
      line += cat(k ? ", " : " ", edge::phenotype_name(static_cast<edge::Phenotype>(k)), " ", p[k]);
    core::Log::info(line);
  }
}

std::vector<MovieEntry> planned_cells(const core::Config& cfg) {
  std::vector<MovieEntry> cells;
  const auto conditions = cfg.string_list("simulate.conditions");
  for (std::int64_t e = 0; e < cfg.integer("simulate.experiments"); ++e)
    for (const auto& c : conditions)
      for (std::int64_t k = 0; k < cfg.integer("simulate.cells_per_condition"); ++k) {
        MovieEntry m;
        m.cell_id = static_cast<std::int64_t>(cells.size());
        m.movie = movie_name(m.cell_id) + ".tif";
        m.condition = c;
        m.experiment = e;
        cells.push_back(m);
      }
  return cells;
}

edge::ProtrusionModel protrusion_model(const core::Config& cfg) {
  edge::ProtrusionModel m;
  m.frame_s = cfg.real("simulate.frame_s");
  m.frames = static_cast<int>(cfg.integer("simulate.frames"));
  m.noise_sd = cfg.real("simulate.velocity_noise");
  m.noise_phi = cfg.real("simulate.velocity_noise_phi");
  m.amplitude_jitter = cfg.real("simulate.amplitude_jitter");
  m.velocity_scale = cfg.real("simulate.velocity_scale");
  return m;
}

edge::MovieOptions movie_options(const core::Config& cfg) {
  edge::MovieOptions o;
  o.size = static_cast<int>(cfg.integer("simulate.size"));
  o.pixel_nm = cfg.real("simulate.pixel_nm");
  o.radius_nm = cfg.real("simulate.radius_nm");
  o.read_noise = cfg.real("simulate.read_noise");
  o.cell_level = cfg.real("simulate.cell_level");
  o.rim_level = 0.5 * o.cell_level;
  return o;
}

// Planted truth of this rank's cells: one velocity series per sector, and the events.
struct PlantedTruth {
  io::RaggedSeries<float> sector_velocity;
  std::vector<std::int64_t> sector_cell;
  std::vector<double> sector_angle;
  std::vector<std::int64_t> event_cell, event_sector, event_onset, event_end, event_phenotype;
  // Per cell: its id, condition (index into the `conditions` attribute),
  // experiment, the phenotype proportions it drew its events from, and how
  // many events of each phenotype it got (cells × kPhenotypes each).
  std::vector<std::int64_t> cell_id, cell_condition, cell_experiment, cell_events;
  std::vector<double> cell_proportions;

  void add_cell(const MovieEntry& cell, std::int64_t condition, const std::vector<double>& proportions) {
    cell_id.push_back(cell.cell_id);
    cell_condition.push_back(condition);
    cell_experiment.push_back(cell.experiment);
    cell_proportions.insert(cell_proportions.end(), proportions.begin(), proportions.end());
    cell_events.resize(cell_events.size() + edge::kPhenotypes, 0);
  }

  void add(std::int64_t cell, std::int64_t sector, double angle, const edge::PlantedSeries& s) {
    std::vector<float> v(s.velocity.begin(), s.velocity.end());
    sector_velocity.push_back(v.data(), v.size());
    sector_cell.push_back(cell);
    sector_angle.push_back(angle);
    for (const auto& e : s.events) {
      event_cell.push_back(cell);
      event_sector.push_back(sector);
      event_onset.push_back(e.onset);
      event_end.push_back(e.end);
      event_phenotype.push_back(static_cast<std::int64_t>(e.phenotype));
      if (!cell_id.empty() && cell_id.back() == cell)
        ++cell_events[cell_events.size() - edge::kPhenotypes + static_cast<std::size_t>(e.phenotype)];
    }
  }
};

void write_truth(const StageContext& ctx, const std::string& path, const PlantedTruth& t,
                 const std::vector<std::string>& conditions) {
  io::H5File out = io::H5File::create(path, ctx.comm);
  const std::uint64_t k = edge::kPhenotypes;
  io::write_samples(out, "/cell_id", t.cell_id, {});
  io::write_samples(out, "/cell_condition", t.cell_condition, {});
  io::write_samples(out, "/cell_experiment", t.cell_experiment, {});
  io::write_samples(out, "/cell_proportions", t.cell_proportions, {k});
  io::write_samples(out, "/cell_events", t.cell_events, {k});
  out.write_attribute("/", "conditions", io::name_list_attribute(conditions));
  io::write_ragged(out, "/sector_velocity", t.sector_velocity);
  out.write_attribute("/sector_velocity", "units", std::string("nm/s, planted (before imaging)"));
  io::write_samples(out, "/sector_cell", t.sector_cell, {});
  io::write_samples(out, "/sector_angle", t.sector_angle, {});
  for (const auto& [name, v] : {std::pair{"/event_cell", &t.event_cell}, {"/event_sector", &t.event_sector},
                                {"/event_onset", &t.event_onset}, {"/event_end", &t.event_end},
                                {"/event_phenotype", &t.event_phenotype}})
    io::write_samples(out, name, *v, {});
  out.write_attribute("/", "phenotypes",
                      std::string("0 steady, 1 bursting, 2 periodic, 3 accelerating, 4 bursting_early (rare)"));
  io::write_provenance(out, stage_provenance(ctx, {}));
  out.commit();
}

int sector_count(const core::Config& cfg) {
  const double kTwoPi = 6.283185307179586;
  return std::max(4, static_cast<int>(std::lround(kTwoPi * cfg.real("simulate.radius_nm") / cfg.real("window.width_nm"))));
}

edge::AlignOptions align_options(const core::Config& cfg) {
  edge::AlignOptions o;
  o.before = static_cast<int>(cfg.integer("events.before"));
  o.after = static_cast<int>(cfg.integer("events.after"));
  o.min_frames = static_cast<int>(cfg.integer("events.min_frames"));
  return o;
}

// kind = "series": the planted window series cut into aligned samples directly
// (no imaging, no windowing): benchmarks and statistics at scale. Each series
// is cut into blocks of events.block_frames as `edge events` cuts a movie's
// velocity map (a planted event keeps its block's part; frame 0 carries no
// velocity), so the samples have the lengths the movie path gives.
void simulate_series(const StageContext& ctx, const std::vector<MovieEntry>& cells, const PlantedProportions& by_condition,
                     par::Range mine) {
  const auto& cfg = ctx.config;
  const auto names = condition_names(cells);
  const auto model = protrusion_model(cfg);
  const auto align = align_options(cfg);
  const auto blocks = edge::velocity_blocks(model.frames, static_cast<int>(cfg.integer("events.block_frames")));
  EdgeSamples samples;
  samples.conditions = names;
  samples.frame_s = model.frame_s;
  for (std::uint64_t i = mine.begin; i < mine.end; ++i) {
    const auto& cell = cells[i];
    core::Rng rng(static_cast<std::uint64_t>(cfg.integer("run.seed")), core::Stream::edge_simulation, i);
    const auto& proportions = by_condition.at(cell.condition);
    for (int s = 0; s < sector_count(cfg); ++s) {
      const auto planted = edge::simulate_window_series(model, proportions, rng);
      for (const auto& b : blocks) {
        // Velocity sample t of the block is frame (map column) b.begin + 1 + t.
        const int first = b.begin + 1, last = b.end + 1;
        const std::vector<double> v(planted.velocity.begin() + first, planted.velocity.begin() + last);
        for (const auto& e : planted.events) {
          if (e.onset < first || e.onset >= last) continue;  // not this block's event
          std::vector<edge::ProtrusionEvent> one{{e.onset - first, std::min(e.end, last) - first}};
          for (auto& a : edge::align_events(v, one, align)) {
            samples.push_back(a.velocity, 0, cell.cell_id, condition_index(names, cell.condition), cell.experiment, s,
                              first + a.onset);
            samples.truth.push_back(static_cast<std::int64_t>(e.phenotype));
          }
        }
      }
    }
  }
  const auto first = ctx.comm.exscan_sum<std::uint64_t>(samples.size());
  for (std::uint64_t k = 0; k < samples.size(); ++k) samples.sample_id[k] = static_cast<std::int64_t>(first + k);
  const std::string path = output_path(cfg, cfg.string("simulate.series_output"));
  make_parent_dir(ctx, path);
  io::H5File out = io::H5File::create(path, ctx.comm);
  write_edge_samples(out, samples);
  // The samples sit at the planted onsets (perfect detection): said in the
  // file, and by edge_report.py in its first lines.
  out.write_attribute("/", "onsets", std::string("planted (simulate.kind = series: no imaging, windowing or detection)"));
  io::write_provenance(out, stage_provenance(ctx, {}));
  out.commit();
  core::Log::info(cat("edge simulate: ", ctx.comm.allreduce_sum<std::uint64_t>(samples.size()),
                      " aligned samples of ", cells.size(), " cells, at the planted onsets -> ", path));
}

// The stop point of the stages that write one file per movie as they go
// (simulate, window, import-maps): movies.csv, written last, is what the next
// stage reads, so a stopped stage leaves whole files but no table.
void stop_point_after_files(const StageContext& ctx, const std::string& files) {
  par::stop_point(ctx.comm, ctx.stage,
                  "the " + files + " written so far are whole files; movies.csv, which the next stage reads, is not written");
}

void simulate_movies(const StageContext& ctx, const std::vector<MovieEntry>& cells, const PlantedProportions& by_condition,
                     par::Range mine) {
  const auto& cfg = ctx.config;
  const std::string dir = output_path(cfg, cfg.string("simulate.output"));
  make_parent_dir(ctx, (fs::path(dir) / "movies.csv").string());
  // A table of an earlier run goes first: a failed or stopped run leaves none
  // beside a mix of old and new movies.
  par::collectively(ctx.comm, [&] {
    if (ctx.comm.is_root()) fs::remove(fs::path(dir) / "movies.csv");
  });
  const auto model = protrusion_model(cfg);
  const auto options = movie_options(cfg);
  const auto names = condition_names(cells);
  PlantedTruth truth;
  core::Progress progress("edge simulate: movies", cells.size(), ctx.comm.size(), cfg.real("run.progress_interval_s"));
  par::collectively(ctx.comm, [&] {
    for (std::uint64_t i = mine.begin; i < mine.end; ++i) {
      core::Rng rng(static_cast<std::uint64_t>(cfg.integer("run.seed")), core::Stream::edge_simulation, i);
      const auto& proportions = by_condition.at(cells[i].condition);
      const auto cell = edge::simulate_cell(options, model, proportions, cfg.real("window.width_nm"), rng);
      truth.add_cell(cells[i], condition_index(names, cells[i].condition), proportions);
      io::write_tiff_stack((fs::path(dir) / cells[i].movie).string(), cell.movie, 16);
      for (std::size_t s = 0; s < cell.sectors.size(); ++s)
        truth.add(cells[i].cell_id, static_cast<std::int64_t>(s), cell.sector_angle[s], cell.sectors[s]);
      progress.advance();
      // A stop signal leaves the loop after this movie; the stop point below
      // ends the stage before truth.h5 and movies.csv, which later stages read
      // (movies written so far are complete files; a rerun rewrites them).
      if (core::StopSignal::received() != 0) break;
    }
  });
  progress.finish();
  stop_point_after_files(ctx, "movies");
  write_truth(ctx, (fs::path(dir) / "truth.h5").string(), truth, names);
  par::collectively(ctx.comm, [&] {  // agreed: a failed write is every rank's error
    if (ctx.comm.is_root()) write_movie_table((fs::path(dir) / "movies.csv").string(), MovieTable{}, cells);
  });
  core::Log::info(cat("edge simulate: ", cells.size(), " movies (", cfg.integer("simulate.frames"), " frames of ",
                      options.size, "x", options.size, " px, ", options.pixel_nm, " nm/px) -> ", dir));
}

// ---- window ---------------------------------------------------------------------

std::string movie_dir(const core::Config& cfg) {
  return cfg.string("window.input").empty() ? output_path(cfg, cfg.string("simulate.output")) : cfg.string("window.input");
}

edge::WindowOptions window_options(const core::Config& cfg) {
  edge::WindowOptions o;
  o.width_nm = cfg.real("window.width_nm");
  o.pixel_nm = cfg.real("window.pixel_nm");
  o.frame_s = cfg.real("window.frame_s");
  o.sigma_px = cfg.real("window.sigma_px");
  o.rays_per_window = static_cast<int>(cfg.integer("window.rays_per_window"));
  return o;
}

void write_velocity_map(const std::string& path, const edge::VelocityMap& map, const MovieTable& table,
                        const MovieEntry& movie, const edge::WindowOptions& o, const StageContext& ctx,
                        const std::string& source) {
  par::Comm self(MPI_COMM_SELF);
  io::H5File out = io::H5File::create(path, self);
  std::vector<float> v(map.velocity.begin(), map.velocity.end());
  io::write_samples(out, "/velocity", v, {static_cast<std::uint64_t>(map.frames)});
  out.write_attribute("/velocity", "units", std::string("nm/s; windows x frames; frame 0 is NaN (no previous frame)"));
  io::write_samples(out, "/angle", map.angle, {});
  io::write_samples(out, "/x", map.x, {});
  io::write_samples(out, "/y", map.y, {});
  out.write_attribute("/", "cell_id", movie.cell_id);
  out.write_attribute("/", "condition", movie.condition);
  out.write_attribute("/", "experiment", movie.experiment);
  // Ids the table gave as names: the numbers above are their indices.
  if (!table.cell_names.empty()) out.write_attribute("/", "cell_name", table.cell_text(movie));
  if (!table.experiment_names.empty()) out.write_attribute("/", "experiment_name", table.experiment_text(movie));
  out.write_attribute("/", "pixel_nm", o.pixel_nm);
  out.write_attribute("/", "frame_s", o.frame_s);
  out.write_attribute("/", "width_nm", o.width_nm);
  out.write_attribute("/", "centroid", std::vector<double>{map.cx, map.cy});
  io::write_provenance(out, stage_provenance(ctx, {source}));
  out.commit();
}

std::string map_name(const MovieEntry& m) { return fs::path(m.movie).stem().string() + ".h5"; }

// Before a stage writes one velocity map per movie into `out_dir`: two movies
// may not map to one file (a.csv and sub/a.csv, or a.csv and a.h5), no map may
// overwrite its own source, and a movies.csv of an earlier run is removed, so
// that a failed or stopped run leaves no table naming a mix of old and new
// maps (the stop point's promise: no table).
void prepare_map_dir(const StageContext& ctx, const std::string& table, const std::string& in_dir,
                     const std::string& out_dir, const std::vector<MovieEntry>& movies) {
  const std::string out_table = (fs::path(out_dir) / "movies.csv").string();
  make_parent_dir(ctx, out_table);
  par::collectively(ctx.comm, [&] {
    std::error_code same_table;
    if (fs::equivalent(table, out_table, same_table))
      throw InputError(cat(table, ": the output directory ", out_dir, " is the table's own; its movies.csv would "
                           "replace the table of movies; set window.output (or maps.output) to another directory"));
    std::map<std::string, std::size_t> first;
    for (std::size_t i = 0; i < movies.size(); ++i) {
      const std::string name = map_name(movies[i]);
      if (auto [it, fresh] = first.emplace(name, i); !fresh)
        throw InputError(cat(table, ": movies '", movies[it->second].movie, "' and '", movies[i].movie,
                             "' would both be written to ", (fs::path(out_dir) / name).string(), "; rename one"));
      std::error_code ec;
      if (fs::equivalent(fs::path(in_dir) / movies[i].movie, fs::path(out_dir) / name, ec))
        throw InputError(cat(table, ": movie '", movies[i].movie, "' would be overwritten by its own velocity map in ",
                             out_dir, "; set window.output (or maps.output) to another directory"));
    }
    if (ctx.comm.is_root()) fs::remove(out_table);
  });
}

// ---- velocity maps windowed elsewhere (edge import-maps) -------------------------

// One map of `windows` rows × `intervals` frame intervals (column k: the
// displacement from frame k to k + 1) in edge window's layout, where frame 0
// has no velocity. Imported maps carry no geometry: the angle is nominal
// (windows spread evenly around the edge), the centres and centroid NaN.
edge::VelocityMap imported_map(std::size_t windows, std::size_t intervals) {
  edge::VelocityMap m;
  m.windows = static_cast<int>(windows);
  m.frames = static_cast<int>(intervals + 1);
  m.velocity.assign(windows * (intervals + 1), std::nan(""));
  constexpr double kTwoPi = 6.283185307179586;
  for (std::size_t w = 0; w < windows; ++w) m.angle.push_back(kTwoPi * (static_cast<double>(w) + 0.5) / double(windows));
  m.x.assign(windows, std::nan(""));
  m.y.assign(windows, std::nan(""));
  m.cx = m.cy = std::nan("");
  return m;
}

// Decimal places written in a number ("0.033" -> 3, "5" or "1e2" -> 0).
int decimals(const std::string& text) {
  const auto dot = text.find('.');
  if (dot == std::string::npos) return 0;
  std::size_t end = dot + 1;
  while (end < text.size() && std::isdigit(static_cast<unsigned char>(text[end]))) ++end;
  return static_cast<int>(end - dot - 1);
}

// Column names that are numbers: increasing and evenly spaced as written
// (pandas' indices 0, 1, 2; frame numbers; frame times 0, 0.1, 0.2 or
// 0, 0.033, 0.067, rounded for printing), at least three of them; two only
// as consecutive integers (k, k + 1).
bool evenly_spaced(const std::vector<double>& x, const std::vector<std::string>& text) {
  const std::size_t n = x.size();
  if (n == 1) return true;
  if (n == 2) return x[1] == x[0] + 1.0 && x[0] == std::floor(x[0]);
  const double step = (x[n - 1] - x[0]) / double(n - 1);
  if (!(step > 0.0)) return false;
  int places = 0;
  double largest = 0.0;
  for (std::size_t k = 0; k < n; ++k) places = std::max(places, decimals(text[k])), largest = std::max(largest, std::fabs(x[k]));
  const double tolerance = 0.5 * std::pow(10.0, -places) + 1e-9 * largest;
  for (std::size_t k = 0; k < n; ++k)
    if (std::fabs(x[k] - x[0] - double(k) * step) > tolerance) return false;
  return true;
}

// With maps.header = true, a header of numbers is the first window's
// velocities: numpy.savetxt(header=...) writes its header as a '#' comment,
// which every reader skips. Numbers evenly spaced (evenly_spaced) are names;
// other numbers, or numbers with gaps (empty, NA or nan cells), are refused,
// and so is pandas' index column (an empty first header cell): its values
// would be read as velocities.
void check_map_header(const io::TextTable& t) {
  const auto& h = t.header;
  if (h.size() > 1 && h.front().empty())
    throw InputError(cat(t.path, ": the header's first cell is empty, as pandas writes its index column "
                         "(DataFrame.to_csv with index=True); expected velocities only: write the map with "
                         "index=False"));
  std::vector<double> numbers;
  std::vector<std::string> written;
  bool gaps = false;
  for (const std::string& name : h) {
    const auto value = io::parse_double(name);
    if (io::is_missing_value(name)) {
      gaps = true;
      continue;
    }
    if (!value) return;  // a name
    numbers.push_back(*value);
    written.push_back(name);
  }
  if (!gaps && !numbers.empty() && evenly_spaced(numbers, written)) return;
  throw InputError(cat(t.path, ": maps.header = true but the header row is velocities ('", h.front(), "', ...), "
                       "not column names (numbers increasing evenly are taken as names); if the header was "
                       "written as a '#' comment (numpy.savetxt), it is skipped: set maps.header = false"));
}

// A CSV map as numpy.savetxt or MATLAB's writematrix write it: one row per
// window, one column per frame interval, no header unless `header`; empty,
// nan, NA (io::is_missing_value) cells are gaps.
edge::VelocityMap read_map_csv(const std::string& path, bool header) {
  const io::TextTable t = header ? io::read_csv_text(path) : io::read_csv_rows(path);
  if (header) check_map_header(t);
  const auto& rows = t.rows;
  if (rows.empty()) throw InputError(cat(path, ": no window rows after the header; expected one row per window"));
  edge::VelocityMap m = imported_map(rows.size(), rows.front().size());
  const auto& lines = t.line;
  for (std::size_t w = 0; w < rows.size(); ++w)
    for (std::size_t k = 0; k < rows[w].size(); ++k) {
      const std::string& field = rows[w][k];
      if (io::is_missing_value(field)) continue;  // a gap
      const auto value = io::parse_double(field);
      if (!value || !std::isfinite(*value) || std::abs(*value) > double(std::numeric_limits<float>::max())) {
        throw InputError(cat(path, ":", lines[w], ": column ", k + 1, ": expected a velocity in nm/s within the "
                             "32-bit float range (empty, nan, NA or another missing-value spelling: a gap), found '",
                             field, "'",
                             !header && w == 0 ? "; if the first row is a header, set maps.header = true" : ""));
      }
      m.velocity[w * static_cast<std::size_t>(m.frames) + k + 1] = *value;
    }
  return m;
}

// An HDF5 map: the 2-D dataset `dataset` (float32 or float64), windows ×
// frame intervals, or frame intervals × windows when `frames_by_windows`
// (MATLAB's column-major arrays read back transposed); NaN are gaps.
edge::VelocityMap read_map_h5(const std::string& path, const std::string& dataset, bool frames_by_windows) {
  par::Comm self(MPI_COMM_SELF);
  io::H5File in = io::H5File::open(path, self);
  if (!in.has(dataset)) throw InputError(cat(in.where(dataset), ": missing; expected the velocity map (maps.dataset)"));
  io::ReadOptions any;
  any.require_finite = false;
  any.widen_float32 = true;
  const auto v = io::read_samples<double>(in, dataset, any);
  if (v.sample_shape.size() != 1)
    throw InputError(cat(in.where(dataset), ": expected a 2-D map, found ", v.sample_shape.size() + 1, " dimensions"));
  const std::size_t rows = v.global_rows, cols = v.sample_shape[0];
  edge::VelocityMap m = frames_by_windows ? imported_map(cols, rows) : imported_map(rows, cols);
  const auto intervals = static_cast<std::size_t>(m.frames - 1);
  for (std::size_t w = 0; w < static_cast<std::size_t>(m.windows); ++w)
    for (std::size_t k = 0; k < intervals; ++k) {
      const double x = frames_by_windows ? v.data[k * cols + w] : v.data[w * cols + k];
      if (std::isinf(x) || std::abs(x) > double(std::numeric_limits<float>::max()))
        throw InputError(cat(in.where(dataset), ": velocity ", x, " at window ", w, ", interval ", k,
                             "; expected a finite velocity within the 32-bit float range (|v| <= 3.4e38 nm/s)"));
      m.velocity[w * static_cast<std::size_t>(m.frames) + k + 1] = x;
    }
  return m;
}

edge::VelocityMap read_foreign_map(const core::Config& cfg, const std::string& table, const std::string& source) {
  std::string ext = fs::path(source).extension().string();
  std::transform(ext.begin(), ext.end(), ext.begin(), [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  edge::VelocityMap m;
  if (ext == ".csv" || ext == ".txt") {
    m = read_map_csv(source, cfg.boolean("maps.header"));
  } else if (ext == ".h5" || ext == ".hdf5" || ext == ".he5") {
    m = read_map_h5(source, cfg.string("maps.dataset"), cfg.string("maps.layout") == "frames-by-windows");
  } else {
    throw InputError(cat(table, ": movie '", fs::path(source).filename().string(),
                         "': expected a velocity map ending in .csv, .txt, .h5 or .hdf5"));
  }
  if (m.frames < 3)
    throw InputError(cat(source, ": ", m.windows, " window(s) x ", m.frames - 1, " frame interval(s); expected at least 2 "
                                 "intervals per window (maps.layout = ", cfg.string("maps.layout"), ")"));
  return m;
}

// ---- events ---------------------------------------------------------------------

struct VelocityMapFile {
  std::vector<double> velocity;  // windows × frames, NaN where unknown
  std::vector<double> angle;
  int windows = 0, frames = 0;
  double frame_s = 5.0;
};

VelocityMapFile read_velocity_map(const std::string& path) {
  par::Comm self(MPI_COMM_SELF);
  io::H5File in = io::H5File::open(path, self);
  io::ReadOptions any;
  any.require_finite = false;  // NaN marks frames without a boundary
  auto v = io::read_samples<float>(in, "/velocity", any);
  if (v.sample_shape.size() != 1) throw InputError(cat(in.where("/velocity"), ": expected windows x frames"));
  VelocityMapFile m;
  m.windows = static_cast<int>(v.global_rows);
  m.frames = static_cast<int>(v.sample_shape[0]);
  m.velocity.assign(v.data.begin(), v.data.end());
  m.angle = io::read_samples<double>(in, "/angle", io::one_value_per_row()).data;
  if (m.angle.size() != static_cast<std::size_t>(m.windows))
    throw InputError(cat(in.where("/angle"), ": ", m.angle.size(), " angle(s); expected one per window of /velocity (",
                         m.windows, ")"));
  m.frame_s = in.read_double_attribute("/", "frame_s");
  if (!(m.frame_s > 0) || !std::isfinite(m.frame_s))
    throw InputError(cat(path, ": attribute frame_s = ", m.frame_s, "; expected a frame interval > 0 s"));
  return m;
}

// Planted events of every cell (simulated data): for matching samples to truth.
struct TruthIndex {
  std::map<std::int64_t, std::vector<std::pair<double, std::int64_t>>> sectors;  // cell -> (angle, global sector)
  std::map<std::int64_t, std::vector<std::array<std::int64_t, 3>>> events;        // global sector -> (onset, end, phenotype)
};

TruthIndex read_truth(const std::string& path) {
  par::Comm self(MPI_COMM_SELF);
  io::H5File in = io::H5File::open(path, self);
  const auto cell = io::read_samples<std::int64_t>(in, "/sector_cell", io::one_value_per_row()).data;
  const auto angle = io::read_samples<double>(in, "/sector_angle", io::one_value_per_row()).data;
  const auto same_length = [&](const char* name, std::size_t found, const char* like, std::size_t expected) {
    if (found != expected)
      throw InputError(cat(in.where(name), ": ", found, " values; expected one per entry of ", like, " (", expected, ")"));
  };
  same_length("/sector_angle", angle.size(), "/sector_cell", cell.size());
  TruthIndex t;
  for (std::size_t s = 0; s < cell.size(); ++s) t.sectors[cell[s]].push_back({angle[s], static_cast<std::int64_t>(s)});
  const auto ec = io::read_samples<std::int64_t>(in, "/event_cell", io::one_value_per_row()).data;
  const auto es = io::read_samples<std::int64_t>(in, "/event_sector", io::one_value_per_row()).data;
  const auto eo = io::read_samples<std::int64_t>(in, "/event_onset", io::one_value_per_row()).data;
  const auto ee = io::read_samples<std::int64_t>(in, "/event_end", io::one_value_per_row()).data;
  const auto ep = io::read_samples<std::int64_t>(in, "/event_phenotype", io::one_value_per_row()).data;
  same_length("/event_sector", es.size(), "/event_cell", ec.size());
  same_length("/event_onset", eo.size(), "/event_cell", ec.size());
  same_length("/event_end", ee.size(), "/event_cell", ec.size());
  same_length("/event_phenotype", ep.size(), "/event_cell", ec.size());
  // event_sector is the sector index within its cell; map it to the global one.
  for (std::size_t k = 0; k < ec.size(); ++k) {
    const auto list = t.sectors.find(ec[k]);
    if (list == t.sectors.end())
      throw InputError(cat(in.where("/event_cell"), ": event ", k, " names cell ", ec[k], ", which has no sector in /sector_cell"));
    if (es[k] < 0 || static_cast<std::size_t>(es[k]) >= list->second.size())
      throw InputError(cat(in.where("/event_sector"), ": event ", k, " names sector ", es[k], " of cell ", ec[k],
                           "; expected 0..", list->second.size() - 1));
    t.events[list->second[static_cast<std::size_t>(es[k])].second].push_back({eo[k], ee[k], ep[k]});
  }
  return t;
}

// The planted phenotype of a detected event: the sector nearest in angle to
// the window, and the planted event of that sector whose onset is nearest to
// the detected one (within `tolerance` frames); −1 when none.
std::int64_t planted_phenotype(const TruthIndex& truth, std::int64_t cell, double angle, int onset, int tolerance) {
  auto it = truth.sectors.find(cell);
  if (it == truth.sectors.end()) return -1;
  double best = 1e9;
  std::int64_t sector = -1;
  for (const auto& [a, s] : it->second) {
    const double d = std::abs(std::remainder(a - angle, 6.283185307179586));
    if (d < best) best = d, sector = s;
  }
  auto ev = truth.events.find(sector);
  if (ev == truth.events.end()) return -1;
  std::int64_t phenotype = -1;
  int nearest = tolerance + 1;
  for (const auto& e : ev->second) {
    const int d = std::abs(static_cast<int>(e[0]) - onset);
    if (d < nearest) nearest = d, phenotype = e[2];
  }
  return phenotype;
}

edge::OnsetOptions onset_options(const core::Config& cfg, double frame_s) {
  edge::OnsetOptions o;
  o.min_separation = static_cast<int>(cfg.integer("events.min_separation"));
  o.rise_threshold = cfg.real("events.rise_nm");
  o.smoothing = cfg.real("events.smoothing");
  o.frame_s = frame_s;
  return o;
}

}  // namespace

void add_edge_movie_keys(core::Schema& s) {
  s.string("simulate.kind", "movies",
           "movies: 16-bit TIFF movies of cells (then window, events); series: aligned samples directly (benchmarks)",
           {"movies", "series"})
      .string("simulate.output", "movies", "Directory of the movies, movies.csv and truth.h5, inside run.output_dir")
      .string("simulate.series_output", "events.h5", "kind = series: the aligned samples, inside run.output_dir")
      .string_list("simulate.conditions", {"DMSO", "drug"},
                   "Condition names, distinct, one line each; the first is the control")
      .integer("simulate.cells_per_condition", 15, "Cells (movies) per condition and experiment", 1, 1e7)
      .integer("simulate.experiments", 1, "Paired experiments, each with every condition", 1, 1e5)
      .real_list("simulate.proportions", {0.30, 0.25, 0.20, 0.20, 0.05},
                 "Phenotype proportions of control events: steady, bursting, periodic, accelerating, bursting_early (rare)")
      .string_list("simulate.effects", {"drug:accelerating:0.10"},
                   "Drug effects 'condition:phenotype:delta' (delta added to the proportion; a condition's effects apply "
                   "together, so each named phenotype moves by exactly its delta and the others are rescaled; "
                   "the condition must be one of simulate.conditions)")
      .integer("simulate.frames", 200, "Frames per movie (edge events, and simulate.kind = series, cut them into blocks of events.block_frames)", 20, 1e6)
      .real("simulate.frame_s", 5.0, "Frame interval, s", 1e-6, 1e6)
      .integer("simulate.size", 128, "Movie width and height, pixels", 32, 8192)
      .real("simulate.pixel_nm", 65.0, "Pixel size, nm", 1e-3, 1e6)
      .real("simulate.radius_nm", 2500.0, "Mean cell radius, nm", 100, 1e6)
      .real("simulate.read_noise", 6.0, "Camera read noise, counts (shot noise is added too)", 0, 1e6)
      .real("simulate.cell_level", 3000.0, "Cell fluorescence above background, counts (the rim adds half of it)", 1, 6e4)
      .real("simulate.velocity_noise", 0.3, "Planted velocity fluctuation (stationary sd of an AR(1)), nm/s", 0, 1e3)
      .real("simulate.velocity_noise_phi", 0.5, "AR(1) coefficient of the velocity fluctuation", 0, 0.999)
      .real("simulate.velocity_scale", 1.6,
              "Every planted profile (and the retraction speed) is multiplied by this (1.6: median velocity 1.2 nm/s, "
              "as the paper's data)", 1e-3, 1e3)
      .real("simulate.amplitude_jitter", 0.2,
            "Each event's profile is scaled by U[1 - j, 1 + j] (at most 0.75: beyond it an accelerating event could "
            "start at ~0 and its onset stop being a clear minimum of the displacement)",
            0, 0.75)
      .string("window.input", "", "Directory with movies.csv (movie,cell_id,condition[,experiment]) and the TIFF movies "
                                  "(default: simulate.output)")
      .string("window.output", "windows", "Directory of the velocity maps (one HDF5 per movie), inside run.output_dir")
      .real("window.width_nm", 500.0, "Probing window width along the edge, nm", 1, 1e6)
      .real("window.pixel_nm", 65.0, "Pixel size of the movies, nm", 1e-3, 1e6)
      .real("window.frame_s", 5.0, "Frame interval of the movies, s", 1e-6, 1e6)
      .real("window.sigma_px", 1.0, "Gaussian smoothing before the Otsu threshold, pixels", 0, 100)
      .integer("window.rays_per_window", 8, "Boundary points (rays) per window", 1, 1000)
      .string("maps.input", "", "edge import-maps: table movie,cell_id,condition[,experiment]; movie: a velocity map "
                                "(.csv or .h5, windows x frame intervals) beside the table; required")
      .string("maps.output", "", "Directory of the imported maps in edge window's layout, inside run.output_dir "
                                 "(default: window.output, where edge events looks)")
      .real("maps.frame_s", 5.0, "Frame interval of the imported maps, s", 1e-6, 1e6)
      .boolean("maps.header", false, "CSV maps start with a header row (numpy.savetxt and MATLAB writematrix write none)")
      .string("maps.dataset", "/velocity", "HDF5 maps: the 2-D dataset holding the map")
      .string("maps.layout", "windows-by-frames", "HDF5 maps: rows are windows, or frame intervals (frames-by-windows)",
              {"windows-by-frames", "frames-by-windows"})
      .string("events.input", "", "Directory of velocity maps with movies.csv (default: window.output)")
      .string("events.truth", "",
              "Planted truth (scoring only; default: truth.h5 of simulate.output when the maps are of its movies)")
      .string("events.output", "events.h5", "Aligned protrusion samples, inside run.output_dir")
      .integer("events.block_frames", 200,
               "Movies are cut into blocks of this many frames, each analysed alone (an event ends at its block's "
               "end; 0: the whole movie)",
               0, 1e7)
      .integer("events.gap_half_width", 4, "Gap filling: interior NaN -> mean of the values within ± this many frames", 1, 1000)
      .integer("events.min_separation", 10, "Maxima of the smoothed displacement at least this many frames apart", 1, 1e6)
      .real("events.rise_nm", 20.0, "A minimum is an onset when the displacement rises by more than this, nm", 0, 1e9)
      .real("events.smoothing", 0.1, "Smoothing-spline parameter p in (0, 1] (csaps convention; 1 interpolates)", 1e-9, 1)
      .integer("events.before", 5, "Frames kept before the onset", 0, 1000)
      .integer("events.after", 50, "Frames kept after the onset (full samples: before + after + 1)", 1, 100000)
      .integer("events.min_frames", 17, "Shorter samples are dropped (counted)", 2, 100000)
      .integer("events.truth_tolerance", 3, "Scoring: a detected onset matches a planted one within this many frames", 0, 1000);
}

void edge_simulate(const StageContext& ctx) {
  const auto& cfg = ctx.config;
  PlantedProportions planted;
  par::collectively(ctx.comm, [&] { planted = planned_proportions(cfg); });  // one error line, before any output
  log_planted_proportions(cfg, planted);
  const auto cells = planned_cells(cfg);
  const par::Range mine = par::BlockPartition::over(cells.size(), ctx.comm).range(ctx.comm.rank());
  if (cfg.string("simulate.kind") == "series") return simulate_series(ctx, cells, planted, mine);
  simulate_movies(ctx, cells, planted, mine);
}

void edge_window(const StageContext& ctx) {
  const auto& cfg = ctx.config;
  const std::string in_dir = movie_dir(cfg);
  const std::string table = (fs::path(in_dir) / "movies.csv").string();
  const auto movies = read_movie_table(table, ctx.comm);
  const std::string out_dir = output_path(cfg, cfg.string("window.output"));
  prepare_map_dir(ctx, table, in_dir, out_dir, movies.movies);
  const auto options = window_options(cfg);
  const par::Range mine = par::BlockPartition::over(movies.size(), ctx.comm).range(ctx.comm.rank());
  std::vector<std::int64_t> windows, frames;
  std::uint64_t frame_count = 0;
  core::Progress progress("edge window: movies", movies.size(), ctx.comm.size(), cfg.real("run.progress_interval_s"));
  const double start = MPI_Wtime();
  par::collectively(ctx.comm, [&] {
    for (std::uint64_t i = mine.begin; i < mine.end; ++i) {
      const std::string source = (fs::path(in_dir) / movies[i].movie).string();
      const io::ImageStack movie = io::read_tiff_stack(source);
      if (movie.frames < 3) throw InputError(cat(source, ": ", movie.frames, " frame(s); expected at least 3"));
      edge::VelocityMap map;
      try {
        map = edge::window_velocities(movie, options);
      } catch (const InputError& e) {
        throw InputError(cat(source, ": ", e.what()));
      }
      write_velocity_map((fs::path(out_dir) / map_name(movies[i])).string(), map, movies, movies[i], options, ctx, source);
      windows.push_back(map.windows);
      frames.push_back(map.frames);
      frame_count += static_cast<std::uint64_t>(movie.frames);
      progress.advance();
      if (core::StopSignal::received() != 0) break;  // as in edge simulate: the stop point precedes movies.csv
    }
  });
  progress.finish();
  stop_point_after_files(ctx, "velocity maps");
  const double seconds = MPI_Wtime() - start;
  const auto all_windows = ctx.comm.allgatherv(windows), all_frames = ctx.comm.allgatherv(frames);
  std::vector<MovieEntry> renamed = movies.movies;
  for (auto& m : renamed) m.movie = map_name(m);
  par::collectively(ctx.comm, [&] {  // agreed: a failed write is every rank's error
    if (ctx.comm.is_root()) write_movie_table((fs::path(out_dir) / "movies.csv").string(), movies, renamed, all_windows, all_frames);
  });
  core::Log::info(cat("edge window: ", movies.size(), " movies, ", frame_count / std::max(seconds, 1e-9),
                      " frames/s on rank 0 -> ", out_dir));
}

void edge_import_maps(const StageContext& ctx) {
  const auto& cfg = ctx.config;
  require_setting(ctx, "maps.input",
                  "give the table of maps with --input maps.csv (movie,cell_id,condition[,experiment]; movie: a .csv or "
                  ".h5 velocity map beside the table)");
  const std::string table = cfg.string("maps.input");
  const auto movies = read_movie_table(table, ctx.comm);
  const std::string in_dir = fs::path(table).parent_path().string();
  const std::string out_dir =
      output_path(cfg, cfg.string("maps.output").empty() ? cfg.string("window.output") : cfg.string("maps.output"));
  prepare_map_dir(ctx, table, in_dir, out_dir, movies.movies);
  edge::WindowOptions options;  // what the maps' attributes record: only the frame interval is known
  options.frame_s = cfg.real("maps.frame_s");
  options.pixel_nm = options.width_nm = std::nan("");
  const par::Range mine = par::BlockPartition::over(movies.size(), ctx.comm).range(ctx.comm.rank());
  std::vector<std::int64_t> windows, frames;
  std::uint64_t gaps = 0;
  par::collectively(ctx.comm, [&] {
    for (std::uint64_t i = mine.begin; i < mine.end; ++i) {
      const std::string source = (fs::path(in_dir) / movies[i].movie).string();
      const edge::VelocityMap map = read_foreign_map(cfg, table, source);
      for (int w = 0; w < map.windows; ++w)
        for (int t = 1; t < map.frames; ++t) gaps += std::isnan(map.at(w, t));
      write_velocity_map((fs::path(out_dir) / map_name(movies[i])).string(), map, movies, movies[i], options, ctx, source);
      windows.push_back(map.windows);
      frames.push_back(map.frames);
      if (core::StopSignal::received() != 0) break;  // as in edge simulate: the stop point precedes movies.csv
    }
  });
  stop_point_after_files(ctx, "velocity maps");
  const auto all_windows = ctx.comm.allgatherv(windows), all_frames = ctx.comm.allgatherv(frames);
  std::vector<MovieEntry> renamed = movies.movies;
  for (auto& m : renamed) m.movie = map_name(m);
  par::collectively(ctx.comm, [&] {  // agreed: a failed write is every rank's error
    if (ctx.comm.is_root()) write_movie_table((fs::path(out_dir) / "movies.csv").string(), movies, renamed, all_windows, all_frames);
  });
  std::int64_t window_total = 0;
  for (auto w : all_windows) window_total += w;
  core::Log::info(cat("edge import-maps: ", movies.size(), " maps, ", window_total, " windows, ",
                      ctx.comm.allreduce_sum(gaps), " gap(s) (NaN) -> ", out_dir, " (frame 0 added, without velocity, "
                      "as edge window writes it)"));
}

void edge_events(const StageContext& ctx) {
  const auto& cfg = ctx.config;
  const std::string in_dir =
      cfg.string("events.input").empty() ? output_path(cfg, cfg.string("window.output")) : cfg.string("events.input");
  const auto movies = read_movie_table((fs::path(in_dir) / "movies.csv").string(), ctx.comm);
  std::string truth_path = cfg.string("events.truth");
  if (truth_path.empty()) {
    const std::string simulated = (fs::path(output_path(cfg, cfg.string("simulate.output"))) / "truth.h5").string();
    // Agreed: a rank that sees the file (a node-local run.output_dir, a stale
    // NFS cache) must not score alone, nor enter a reduction the others skip.
    if (ctx.comm.allreduce_min<int>(fs::exists(simulated) ? 1 : 0) == 1) {
      // Only for maps of the simulated movies: real movies windowed (or maps
      // imported) into a directory that once held a simulation would be
      // matched to its planted events by cell id, and scored against them.
      const std::string simulated_table = (fs::path(simulated).parent_path() / "movies.csv").string();
      std::string why;
      if (!movies.cell_names.empty()) {
        why = cat("the velocity maps' movies.csv names its cells (", movies.cell_names.front(),
                  ", ...); simulated cells are numbered");
      } else if (ctx.comm.allreduce_min<int>(fs::exists(simulated_table) ? 1 : 0) == 0) {
        why = cat("there is no ", simulated_table, " to match the velocity maps to");
      } else {
        try {  // the truth is optional: a table it cannot read only leaves it unattached
          std::set<std::pair<std::string, std::int64_t>> planted;
          for (const auto& m : read_movie_table(simulated_table, ctx.comm).movies)
            planted.insert({fs::path(m.movie).stem().string(), m.cell_id});
          for (const auto& m : movies.movies)
            if (why.empty() && planted.count({fs::path(m.movie).stem().string(), m.cell_id}) == 0)
              why = cat("the velocity maps in ", in_dir, " are not of the movies it was simulated with (",
                        m.movie, ", cell ", movies.cell_text(m), " is not in ", simulated_table, ")");
        } catch (const CollectiveError& e) {
          why = cat(simulated_table, " is not readable (", e.what(), ")");
        }
      }
      if (why.empty()) truth_path = simulated;
      else
        core::Log::warn(cat("edge events: ", simulated, " not used: ", why,
                            "; no planted truth is attached (set events.truth to score against it anyway)"));
    }
  }
  if (!truth_path.empty() && !movies.cell_names.empty())
    core::Log::warn(cat("edge events: events.truth = ", truth_path, ": the velocity maps' cells are names, matched "
                        "to the planted cells by their rows' order in movies.csv (cell k is the k-th name)"));
  const par::Range mine = par::BlockPartition::over(movies.size(), ctx.comm).range(ctx.comm.rank());
  const auto names = condition_names(movies.movies);
  const auto align = align_options(cfg);
  const int gap = static_cast<int>(cfg.integer("events.gap_half_width"));
  const int tolerance = static_cast<int>(cfg.integer("events.truth_tolerance"));
  const int block_frames = static_cast<int>(cfg.integer("events.block_frames"));
  if (block_frames == 1)
    throw ConfigError("events.block_frames = 1: a block needs at least 2 frames (0 analyses the whole movie)");
  EdgeSamples samples;
  samples.conditions = names;
  samples.cell_names = movies.cell_names;
  samples.experiment_names = movies.experiment_names;
  samples.frame_s = 0.0;  // from the velocity maps; a rank without movies must not contribute the default
  std::uint64_t skipped = 0, filled = 0, series = 0, dropped = 0;
  par::collectively(ctx.comm, [&] {
    TruthIndex truth;
    if (!truth_path.empty()) truth = read_truth(truth_path);
    for (std::uint64_t i = mine.begin; i < mine.end; ++i) {
      const auto map = read_velocity_map((fs::path(in_dir) / movies[i].movie).string());
      samples.frame_s = map.frame_s;
      const auto onset = onset_options(cfg, map.frame_s);
      const auto blocks = edge::velocity_blocks(map.frames, block_frames);  // the same for every window
      // Map column f is the motion from frame f − 1 to f (column 0 has none), so
      // the engine's velocity[t] (frame t to t + 1) is column t + 1.
      const auto* row = map.velocity.data();
      for (int w = 0; w < map.windows; ++w, row += map.frames) {
        for (const auto& b : blocks) {
          std::vector<double> v(row + b.begin + 1, row + b.end + 1);
          filled += edge::fill_gaps(v, gap);
          ++series;
          if (std::any_of(v.begin(), v.end(), [](double x) { return std::isnan(x); })) {
            ++skipped;  // leading/trailing gaps: the window lost the edge
            continue;
          }
          std::size_t unusable = 0;  // onset too close to the block start, or too short
          for (const auto& a : edge::align_events(v, edge::detect_onsets(v, onset), align, &unusable)) {
            const int frame = b.begin + a.onset + 1;  // the onset's map column
            samples.push_back(a.velocity, 0, movies[i].cell_id, condition_index(names, movies[i].condition),
                              movies[i].experiment, w, frame);
            if (!truth_path.empty())
              samples.truth.push_back(planted_phenotype(truth, movies[i].cell_id,
                                                        map.angle[static_cast<std::size_t>(w)], frame, tolerance));
          }
          dropped += unusable;
        }
      }
    }
  });
  const auto first = ctx.comm.exscan_sum<std::uint64_t>(samples.size());
  for (std::uint64_t k = 0; k < samples.size(); ++k) samples.sample_id[k] = static_cast<std::int64_t>(first + k);
  samples.frame_s = ctx.comm.allreduce_max(samples.frame_s);
  const auto total = ctx.comm.allreduce_sum<std::uint64_t>(samples.size());
  par::check_all(ctx.comm, total > 0,
                 cat(in_dir, ": no protrusion events found in ", ctx.comm.allreduce_sum(series),
                     " window series; lower events.rise_nm or check the velocity maps"));
  const std::string path = output_path(cfg, cfg.string("events.output"));
  make_parent_dir(ctx, path);
  io::H5File out = io::H5File::create(path, ctx.comm);
  write_edge_samples(out, samples);
  io::write_provenance(out, stage_provenance(ctx, {in_dir}));
  out.commit();
  std::int64_t matched = 0;
  for (auto t : samples.truth) matched += t >= 0;
  const std::string cut = block_frames == 0 ? "movies uncut" : cat("movies cut into blocks of ", block_frames, " frames");
  core::Log::info(cat("edge events: ", total, " samples from ", ctx.comm.allreduce_sum(series), " window series (",
                      cut, "; ", ctx.comm.allreduce_sum(skipped), " series with gaps at the ends skipped, ",
                      ctx.comm.allreduce_sum(filled), " interior gaps filled, ", ctx.comm.allreduce_sum(dropped),
                      " events dropped: onset within events.before of the block start or shorter than events.min_frames)",
                      truth_path.empty() ? std::string()
                                         : cat("; ", ctx.comm.allreduce_sum(matched), " matched to planted events"),
                      " -> ", path));
}

}  // namespace phenoscale::app
