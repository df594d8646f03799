#include "phenoscale/app/cli.hpp"

#include <CLI/CLI.hpp>
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <map>
#include <optional>
#include <sstream>

#include "phenoscale/app/registry.hpp"
#include "phenoscale/core/buildinfo.hpp"
#include "phenoscale/core/error.hpp"
#include "phenoscale/core/log.hpp"
#include "phenoscale/core/progress.hpp"
#include "phenoscale/core/stop_signal.hpp"
#include "phenoscale/par/agree.hpp"
#include "phenoscale/nn/model_spec.hpp"
#include "phenoscale/par/allreducer.hpp"
#include "phenoscale/par/environment.hpp"
#include "phenoscale/par/failure_vote.hpp"
#include "phenoscale/par/timer_report.hpp"

namespace phenoscale::app {
namespace {

// How long a rank whose stage threw waits for the other ranks to fail too
// (par::FailureVote) before it aborts the job: ranks failing on the same
// deck value arrive within milliseconds of one another.
constexpr double kFailureVoteSeconds = 3.0;

struct StageOptions {
  std::string deck;
  bool deck_given = false;  // -c given (an empty value is then an error, not "no deck")
  std::vector<std::string> overrides;
  bool print_deck = false;
  std::map<std::string, std::string> alias_values;  // deck key -> value from --input etc.
  std::vector<std::pair<const CLI::Option*, std::string>> alias_options;  // (option, deck key)
};

std::string join_command_line(int argc, char** argv) {
  std::string out;
  for (int i = 0; i < argc; ++i) out += (i ? " " : "") + std::string(argv[i]);
  return out;
}

// Rank 0 reads the deck and broadcasts it; every rank parses the same text.
// A missing deck is found here, by rank 0 for all (a check on every rank, as
// CLI11's ExistingFile, would let a deck missing on some nodes only end
// those ranks and leave the others waiting).
std::string read_deck(const std::string& path, bool given, const par::Comm& comm) {
  std::string text;
  if (path.empty() && !given) return text;
  par::collectively(comm, [&] {
    if (path.empty())  // -c "$UNSET": not the same as no deck
      throw ConfigError("-c/--config is empty; expected an input deck (TOML file)");
    if (!comm.is_root()) return;
    std::error_code ec;
    const bool exists = std::filesystem::exists(path, ec);
    if (ec) throw ConfigError(at_file(path, "cannot read input deck: " + ec.message()));
    if (!exists) throw ConfigError(at_file(path, "no such input deck"));
    if (std::filesystem::is_directory(path, ec))
      throw ConfigError(at_file(path, "is a directory; expected an input deck (TOML file)"));
    std::ifstream in(path);
    if (!in) throw ConfigError(at_file(path, "cannot open input deck (not readable)"));
    std::ostringstream buffer;
    buffer << in.rdbuf();
    text = buffer.str();
  });
  comm.broadcast(text);
  return text;
}

void run_stage(const Pipeline& pipeline, const Stage& stage, const StageOptions& options,
               const std::string& command_line, const par::Comm& comm) {
  const std::string deck_text = read_deck(options.deck, options.deck_given, comm);
  core::Config config;
  par::collectively(comm, [&] {
    // Option aliases (--input X) come first so an explicit --set wins.
    std::vector<std::string> overrides;
    for (const auto& [option, key] : options.alias_options) {
      if (option->count() > 0) overrides.push_back(key + "=" + options.alias_values.at(key));
    }
    overrides.insert(overrides.end(), options.overrides.begin(), options.overrides.end());
    config = core::Config::resolve(pipeline.schema(), deck_text, options.deck, overrides);
  });
  if (options.print_deck) {
    if (comm.is_root()) std::cout << config.to_toml();
    return;
  }
  const std::string name = pipeline.name + " " + stage.name;
  core::Log::info(name + " on " + std::to_string(comm.size()) + " rank(s), deck " +
                  (options.deck.empty() ? "(defaults)" : options.deck));
  const auto start = std::chrono::steady_clock::now();
  core::Timers timers;
  StageContext context{config, comm, name, command_line, timers};
  core::StopSignal stop_signal;  // SIGTERM/SIGUSR1 only raise a flag that the stages poll (par::stop_point)
  stage.run(context);
  if (core::StopSignal::received() != 0) core::Log::info(name + ": a stop signal arrived after the last stop point; the stage completed");
  par::report_timers(timers, comm, name);
  const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  core::Log::info(name + " done in " + core::Progress::format_duration(seconds));
}

void print_list() {
  std::cout << "pipelines and stages:\n";
  for (const auto& p : pipelines()) {
    std::cout << "  " << p.name << " — " << p.summary << "\n";
    for (const auto& s : p.stages) std::cout << "    " << p.name << " " << s.name << " — " << s.summary << "\n";
  }
  std::cout << "allreduce backends (run.allreduce):\n";
  for (const auto& b : par::allreducer_backends()) std::cout << "  " << b.name << " — " << b.description << "\n";
  std::cout << "network architectures (model.architecture):\n";
  for (const auto& a : nn::architectures()) {
    std::cout << "  " << a.name << " — " << a.summary << " [" << nn::task_name(a.task) << ", "
              << (a.input == nn::InputKind::sequence ? "series" : "fixed-shape") << "]\n";
  }
}

void print_deck_reference() {
  std::cout << "<!-- generated by `phenoscale deck-reference`; do not edit by hand -->\n";
  for (const auto& p : pipelines()) {
    std::cout << "\n## Pipeline `" << p.name << "`\n\n" << p.summary << ".\n\n"
              << p.schema().to_markdown();
  }
}

}  // namespace

int run_cli(int argc, char** argv, const par::Comm& world) {
  CLI::App app{"phenoscale — deep phenotyping of heterogeneous subcellular data at supercomputer scale",
               "phenoscale"};
  app.set_version_flag("--version", std::string("phenoscale ") + core::version() + " (git " +
                                        core::git_revision() + ")");
  app.require_subcommand(1);
  bool verbose = false, quiet = false;
  app.add_flag("-v,--verbose", verbose, "Debug output");
  app.add_flag("-q,--quiet", quiet, "Errors and warnings only");

  const Pipeline* chosen_pipeline = nullptr;
  const Stage* chosen_stage = nullptr;
  StageOptions options;
  for (const auto& pipeline : pipelines()) {
    if (pipeline.stages.empty()) continue;
    CLI::App* p = app.add_subcommand(pipeline.name, pipeline.summary);
    p->require_subcommand(1);
    p->fallthrough();  // -v/-q may follow the subcommands
    for (const auto& stage : pipeline.stages) {
      CLI::App* s = p->add_subcommand(stage.name, stage.summary);
      s->fallthrough();
      const CLI::Option* deck = s->add_option("-c,--config", options.deck,
                                              "Input deck (TOML); defaults apply to keys it omits")
                                    ->type_name("FILE");
      s->add_option("--set", options.overrides, "Override a deck key: --set section.key=value (repeatable)")
          ->type_name("KEY=VALUE");
      s->add_flag("--print-deck", options.print_deck, "Print the resolved deck and exit");
      for (const auto& alias : stage.aliases) {
        const CLI::Option* option = s->add_option("--" + alias.option, options.alias_values[alias.key],
                                                  "Shortcut for --set " + alias.key + "=VALUE");
        options.alias_options.emplace_back(option, alias.key);
      }
      s->callback([&chosen_pipeline, &chosen_stage, &options, &pipeline, &stage, deck] {
        chosen_pipeline = &pipeline;
        chosen_stage = &stage;
        options.deck_given = deck->count() > 0;
      });
    }
  }
  std::string info_path;
  bool show_deck = false;
  CLI::App* info = app.add_subcommand("info", "Show datasets, shapes, attributes and provenance of an HDF5 file");
  info->fallthrough();
  info->add_option("file", info_path, "HDF5 file")->required();
  info->add_flag("--deck", show_deck, "Also print the resolved input deck stored in the file");
  CLI::App* list = app.add_subcommand("list", "List pipelines, stages and allreduce backends");
  CLI::App* reference = app.add_subcommand("deck-reference", "Print the input-deck reference (Markdown)");

  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    if (e.get_exit_code() == 0) return world.is_root() ? app.exit(e) : 0;  // --help
    // Every rank exits with the documented code (2), not CLI11's own (105 for
    // a missing file): mpirun reports whichever rank's code comes first.
    if (world.is_root()) std::fprintf(stderr, "phenoscale: error: %s (try --help)\n", e.what());
    return exit_code::usage;
  }
  if (verbose) core::Log::set_level(core::LogLevel::debug);
  if (quiet) core::Log::set_level(core::LogLevel::warn);

  std::optional<par::FailureVote> vote;  // its communicator, made before any stage's collectives
  try {
    vote.emplace(world);
  } catch (const std::exception& e) {
    core::Log::error(e.what());
    par::Environment::abort(exit_code::error);
  }
  try {
    if (info->parsed()) {
      print_file_info(info_path, show_deck, world);
    } else if (list->parsed()) {
      if (world.is_root()) print_list();
    } else if (reference->parsed()) {
      if (world.is_root()) print_deck_reference();
    } else if (chosen_stage) {
      run_stage(*chosen_pipeline, *chosen_stage, options, join_command_line(argc, argv), world);
    }
    return exit_code::ok;
  } catch (const Preempted& e) {
    if (world.is_root()) std::fprintf(stderr, "phenoscale: preempted: %s\n", e.what());
    return e.exit_code();
  } catch (const CollectiveError& e) {
    // Every rank holds the same message; rank 0 reports it once.
    if (world.is_root()) std::fprintf(stderr, "phenoscale: error: %s\n", e.what());
    return e.exit_code();
  } catch (const std::exception& e) {
    // An error outside every agreement. When all ranks failed alike (a deck
    // value each rank checked), rank 0 reports it once and all exit cleanly;
    // when only some did, the others may wait in a collective: report and end
    // the whole job rather than hang.
    int code = exit_code_for(e);
    if (world.size() > 1 && !vote->everyone_failed(kFailureVoteSeconds, code)) {
      core::Log::error(e.what());
      par::Environment::abort(code);
    }
    if (world.is_root()) std::fprintf(stderr, "phenoscale: error: %s\n", e.what());
    return code;
  }
}

}  // namespace phenoscale::app
