// The edge sample file (app/edge_common.hpp).
#include "phenoscale/app/edge_common.hpp"

#include <algorithm>

#include "phenoscale/core/error.hpp"
#include "phenoscale/core/log.hpp"
#include "phenoscale/edge/phenotype.hpp"
#include "phenoscale/io/sample_array.hpp"
#include "phenoscale/par/agree.hpp"
#include "phenoscale/par/check_deck.hpp"

namespace phenoscale::app {
namespace {

using core::cat;

std::vector<std::int64_t> read_ints(const io::H5File& in, const std::string& name, std::uint64_t expected_rows,
                                   const par::Comm& comm) {
  par::check_all(comm, in.has(name), cat(in.where(name), ": missing; expected int64 per sample (edge sample layout)"));
  auto block = io::read_samples<std::int64_t>(in, name, io::one_value_per_row());
  par::check_all(comm, block.global_rows == expected_rows,
                 cat(in.where(name), ": ", block.global_rows, " rows, expected one per sample (", expected_rows, ")"));
  return std::move(block.data);
}

// The `names` attribute of an id dataset (/cell_id, /experiment), when the
// imported ids were names; every id must then be -1 (unknown, cells only) or
// index a name.
std::vector<std::string> read_id_names(const io::H5File& in, const std::string& dataset,
                                       const std::vector<std::int64_t>& ids, const par::Comm& comm) {
  if (!in.has_attribute(dataset, "names")) return {};
  auto names = io::parse_name_list(in.read_string_attribute(dataset, "names"));
  const auto outside = std::find_if(ids.begin(), ids.end(), [&](std::int64_t id) {
    return id < -1 || id >= static_cast<std::int64_t>(names.size());
  });
  par::check_all(comm, outside == ids.end(),
                 cat(in.where(dataset), ": an id outside the ", names.size(), " name(s) of its 'names' attribute "
                                        "(one per line)"));
  return names;
}

// The imported sample_id texts of this rank's samples (/sample_name), when
// they were names.
void read_sample_names(const io::H5File& in, EdgeSamples& s, const par::Comm& comm) {
  s.named_samples = in.has("/sample_name");
  if (!s.named_samples) return;
  const auto names = io::read_ragged<std::uint8_t>(in, "/sample_name", 1);
  par::check_all(comm, names.global_series == s.velocity.global_series,
                 cat(in.where("/sample_name"), ": ", names.global_series, " names, expected one per sample (",
                     s.velocity.global_series, ")"));
  for (std::uint64_t i = 0; i < names.size(); ++i) {
    const auto* bytes = reinterpret_cast<const char*>(names.series(i));
    s.sample_name.emplace_back(bytes, bytes + names.length(i));
  }
}

}  // namespace

std::string id_text(std::int64_t id, const std::vector<std::string>& names) {
  if (id < 0 || names.empty()) return cat(id);
  return names[static_cast<std::size_t>(id)];
}

std::string EdgeSamples::sample_text(std::uint64_t i) const {
  return named_samples ? sample_name[i] : cat(sample_id[i]);
}

std::string EdgeSamples::cell_text(std::int64_t cell) const { return id_text(cell, cell_names); }

std::string EdgeSamples::experiment_text(std::int64_t e) const {
  return id_text(e, experiment_names);
}

void EdgeSamples::push_back(const std::vector<double>& v, std::int64_t id, std::int64_t cell, std::int64_t cond,
                            std::int64_t exp, std::int64_t win, std::int64_t onset) {
  std::vector<float> f(v.begin(), v.end());
  velocity.push_back(f.data(), f.size());
  sample_id.push_back(id);
  cell_id.push_back(cell);
  condition.push_back(cond);
  experiment.push_back(exp);
  window.push_back(win);
  onset_frame.push_back(onset);
}

EdgeSamples read_edge_samples(const std::string& path, const par::Comm& comm) {
  io::H5File in = io::H5File::open(path, comm);
  EdgeSamples s;
  par::check_all(comm, in.has("/velocity"),
                 cat(in.where("/velocity"), ": missing; expected the CSR group of aligned velocity series "
                                             "(written by edge events or edge import)"));
  s.velocity = io::read_ragged<float>(in, "/velocity", 1);
  const std::uint64_t n = s.velocity.global_series;
  s.sample_id = read_ints(in, "/sample_id", n, comm);
  s.cell_id = read_ints(in, "/cell_id", n, comm);
  s.condition = read_ints(in, "/condition", n, comm);
  s.experiment = read_ints(in, "/experiment", n, comm);
  s.window = read_ints(in, "/window", n, comm);
  s.onset_frame = read_ints(in, "/onset_frame", n, comm);
  read_sample_names(in, s, comm);
  s.cell_names = read_id_names(in, "/cell_id", s.cell_id, comm);
  s.experiment_names = read_id_names(in, "/experiment", s.experiment, comm);
  if (in.has("/truth/phenotype")) s.truth = read_ints(in, "/truth/phenotype", n, comm);
  s.conditions = io::parse_name_list(in.read_string_attribute("/", "conditions"));
  s.frame_s = in.read_double_attribute("/", "frame_s");
  bool ok = true;
  for (auto c : s.condition) ok = ok && c >= 0 && c < static_cast<std::int64_t>(s.conditions.size());
  par::check_all(comm, ok, cat(in.where("/condition"), ": condition index outside the ", s.conditions.size(),
                               " name(s) of the 'conditions' attribute (one per line)"));
  const bool experiments_ok = std::all_of(s.experiment.begin(), s.experiment.end(), [](auto e) { return e >= 0; });
  par::check_all(comm, experiments_ok, cat(in.where("/experiment"), ": a negative paired-experiment id; expected ids >= 0"));
  return s;
}

void write_edge_samples(io::H5File& out, const EdgeSamples& s) {
  io::write_ragged(out, "/velocity", s.velocity);
  out.write_attribute("/velocity", "units", std::string("nm/s"));
  write_sample_ids(out, s);
  io::write_samples(out, "/cell_id", s.cell_id, {});
  if (!s.cell_names.empty()) out.write_attribute("/cell_id", "names", io::name_list_attribute(s.cell_names));
  io::write_samples(out, "/condition", s.condition, {});
  io::write_samples(out, "/experiment", s.experiment, {});
  if (!s.experiment_names.empty())
    out.write_attribute("/experiment", "names", io::name_list_attribute(s.experiment_names));
  io::write_samples(out, "/window", s.window, {});
  io::write_samples(out, "/onset_frame", s.onset_frame, {});
  const bool truth = out.comm().allreduce_max<int>(s.truth.empty() ? 0 : 1) == 1;
  if (truth) {
    out.create_group("/truth");
    io::write_samples(out, "/truth/phenotype", s.truth, {});
    out.write_attribute("/truth/phenotype", "names",
                        std::string("0 steady, 1 bursting, 2 periodic, 3 accelerating, 4 bursting_early (rare)"));
  }
  out.write_attribute("/", "conditions", io::name_list_attribute(s.conditions));
  out.write_attribute("/", "frame_s", s.frame_s);
}

void write_sample_ids(io::H5File& out, const EdgeSamples& s) {
  io::write_samples(out, "/sample_id", s.sample_id, {});
  if (!s.named_samples) return;
  io::RaggedSeries<std::uint8_t> names;
  for (const auto& name : s.sample_name) names.push_back(reinterpret_cast<const std::uint8_t*>(name.data()), name.size());
  io::write_ragged(out, "/sample_name", names);
  out.write_attribute("/sample_name", "encoding", std::string("UTF-8 bytes of each sample's imported sample_id"));
}

std::int64_t find_condition(const std::vector<std::string>& names, const std::string& name, const std::string& key,
                            const std::string& where) {
  const auto it = std::find(names.begin(), names.end(), name);
  if (it != names.end()) return it - names.begin();
  std::string known;
  for (const auto& c : names) known += (known.empty() ? "" : ", ") + c;
  throw ConfigError(cat(key, ": condition '", name, "' is not in ", where, " (", known, ")"));
}

std::vector<std::int64_t> neighbour_counts(const core::Config& cfg, const std::string& key, std::int64_t n,
                                           const std::string& rows, const par::Comm& comm) {
  const auto& grid = cfg.integer_list(key);
  par::check_deck(comm, !grid.empty(), cat(key, " is empty: give at least one neighbour count K"));
  std::vector<std::int64_t> ks;
  for (auto k : grid) {
    if (k < n) ks.push_back(k);
    else core::Log::warn(cat(key, ": K = ", k, " is not below the ", n, " ", rows, "; skipped"));
  }
  par::check_deck(comm, !ks.empty(), cat(key, ": every K is at least the ", n, " ", rows, "; give smaller K"));
  return ks;
}

bool all_have_cells(const EdgeSamples& s, const par::Comm& comm) {
  int ok = 1;
  for (auto c : s.cell_id) ok = ok && c >= 0;
  return comm.allreduce_min<int>(ok) == 1;
}

std::vector<std::int64_t> read_teacher_labels(const std::string& path, std::uint64_t expected, const par::Comm& comm) {
  io::H5File in = io::H5File::open(path, comm);
  auto block = io::read_samples<std::int64_t>(in, "/labels", io::one_value_per_row());
  par::check_all(comm, block.global_rows == expected,
                 cat(in.where("/labels"), ": ", block.global_rows, " labels but ", expected,
                     " samples; run edge teacher on the same samples"));
  return std::move(block.data);
}

// Local truth restricted to matched samples, coarse (rare merged into its parent) or fine.
std::pair<std::vector<std::int64_t>, std::vector<std::int64_t>> scored_pairs(const EdgeSamples& s,
                                                                            const std::vector<std::int64_t>& labels,
                                                                            bool coarse) {
  std::vector<std::int64_t> truth, predicted;
  for (std::uint64_t i = 0; i < s.truth.size(); ++i) {
    if (s.truth[i] < 0) continue;
    const auto t = static_cast<edge::Phenotype>(s.truth[i]);
    truth.push_back(static_cast<std::int64_t>(coarse ? edge::coarse_phenotype(t) : t));
    predicted.push_back(labels[i]);
  }
  return {truth, predicted};
}

std::string without_suffix(const std::string& path, const std::string& suffix) {
  const bool has = path.size() >= suffix.size() && path.compare(path.size() - suffix.size(), suffix.size(), suffix) == 0;
  return has ? path.substr(0, path.size() - suffix.size()) : path;
}

}  // namespace phenoscale::app
