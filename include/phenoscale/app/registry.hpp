// The registry of pipelines and their stages — the one table of the CLI.
//
// `phenoscale <pipeline> <stage> -c deck.toml [--set section.key=value]`
// looks the stage up here. A pipeline contributes one deck schema (all of its
// stages' sections plus [run]) and a list of named stages; a stage is a
// function of the resolved deck and the communicator that reads HDF5 inputs
// and writes HDF5 outputs, so stages chain into Slurm jobs and restart
// cleanly. Adding a stage is one function plus one line in its pipeline's table.
#pragma once

#include <functional>
#include <string>
#include <vector>

#include "phenoscale/core/config.hpp"
#include "phenoscale/core/timer.hpp"
#include "phenoscale/par/comm.hpp"

namespace phenoscale::app {

struct StageContext {
  const core::Config& config;
  const par::Comm& comm;
  std::string stage;         // "data generate"
  std::string command_line;  // as typed, for provenance
  core::Timers& timers;
};

// A command-line shortcut for a deck key: `--input X` means `--set kmeans.input=X`.
struct OptionAlias {
  std::string option;  // "input" -> --input
  std::string key;     // "kmeans.input"
};

struct Stage {
  std::string name;
  std::string summary;
  std::function<void(const StageContext&)> run;
  std::vector<OptionAlias> aliases = {};
};

struct Pipeline {
  std::string name;
  std::string summary;
  std::function<core::Schema()> schema;
  std::vector<Stage> stages;
};

// All pipelines compiled into this binary, in the order `--help` lists them.
const std::vector<Pipeline>& pipelines();

// Sections shared by every pipeline's deck ([run]: seed, output_dir, ...).
void add_run_section(core::Schema& schema);

// The pipelines, each defined in its own file.
Pipeline data_pipeline();
Pipeline ml_pipeline();
Pipeline nn_pipeline();
Pipeline tomo_pipeline();
Pipeline spt_pipeline();
Pipeline edge_pipeline();

}  // namespace phenoscale::app
