// Helpers every stage uses for its outputs: where they go, creating the
// output directory (rank 0, agreed), and the provenance record.
#pragma once

#include <string>
#include <vector>

#include "phenoscale/app/registry.hpp"
#include "phenoscale/io/provenance.hpp"
#include "phenoscale/par/agree.hpp"

namespace phenoscale::app {

// `name` inside run.output_dir, unless `name` is an absolute path or starts
// with "./" (then it is used as given).
std::string output_path(const core::Config& config, const std::string& name);
// An optional output: the string key `key` placed as output_path places it,
// or "" when the key is empty (no such file wanted).
std::string optional_output(const core::Config& config, const std::string& key);

// An input file: the string key `key` when set, else the output named by
// `output_key` inside run.output_dir (the previous stage's output).
std::string input_or_output(const core::Config& config, const std::string& key, const std::string& output_key);

// How error messages name the deck: its file name, or "input deck" when the
// keys came from defaults and --set only.
std::string deck_label(const core::Config& config);

// Collective. Creates the parent directory of `path` (rank 0), agreed on all
// ranks. Stages call it just before they write an output, so it is also the
// stage's last preemption point (par::stop_point): a stop signal received
// while the stage computed ends it here with exit 75 and nothing written.
void make_parent_dir(const StageContext& ctx, const std::string& path);
// The same without the preemption point: for a file written after the
// stage's main output is committed (it must not be skipped by a stop).
void create_parent_dir(const StageContext& ctx, const std::string& path);
// Collective. For a stage that writes a set of files (teacher.h5 with
// teacher.csv and its tables), once it has computed them: the stop point,
// the parent directories of every path, then the previous run's files of the
// set removed (io::retire_outputs; "" = an optional output not wanted), so a
// job killed between two commits leaves files missing, never two runs mixed.
// `left` says what is on disk for the stop point's message, where the stage
// has committed other files before this set (par::stop_point).
void begin_outputs(const StageContext& ctx, const std::vector<std::string>& set,
                   const std::string& left = par::nothing_written);

// Collective. Throws the same ConfigError on every rank when the string key
// `key` is empty: "<key> is empty: <how_to_set_it>".
void require_setting(const StageContext& ctx, const std::string& key, const std::string& how_to_set_it);

// Provenance of the current stage with the given input files.
io::Provenance stage_provenance(const StageContext& ctx, std::vector<std::string> inputs);

}  // namespace phenoscale::app
