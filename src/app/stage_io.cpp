#include "phenoscale/app/stage_io.hpp"

#include <filesystem>

#include "phenoscale/core/error.hpp"
#include "phenoscale/io/output_set.hpp"
#include "phenoscale/par/agree.hpp"

namespace phenoscale::app {

namespace fs = std::filesystem;

std::string output_path(const core::Config& config, const std::string& name) {
  if (fs::path(name).is_absolute() || name.rfind("./", 0) == 0) return name;
  return (fs::path(config.string("run.output_dir")) / name).string();
}

std::string optional_output(const core::Config& config, const std::string& key) {
  return config.string(key).empty() ? std::string() : output_path(config, config.string(key));
}

void make_parent_dir(const StageContext& ctx, const std::string& path) {
  par::stop_point(ctx.comm, ctx.stage);
  create_parent_dir(ctx, path);
}

void begin_outputs(const StageContext& ctx, const std::vector<std::string>& set, const std::string& left) {
  par::stop_point(ctx.comm, ctx.stage, left);  // before anything is removed
  for (const auto& path : set)
    if (!path.empty()) create_parent_dir(ctx, path);
  io::retire_outputs(set, ctx.comm);
}

void create_parent_dir(const StageContext& ctx, const std::string& path) {
  par::collectively(ctx.comm, [&] {
    if (!ctx.comm.is_root()) return;
    const fs::path dir = fs::path(path).parent_path();
    if (dir.empty()) return;
    std::error_code ec;
    fs::create_directories(dir, ec);
    if (ec) throw IoError(at_file(dir.string(), "cannot create output directory: " + ec.message()));
  });
}

void require_setting(const StageContext& ctx, const std::string& key, const std::string& how_to_set_it) {
  par::collectively(ctx.comm, [&] {
    if (ctx.config.string(key).empty()) throw ConfigError(key + " is empty: " + how_to_set_it);
  });
}

std::string deck_label(const core::Config& config) {
  return config.deck_name().empty() ? std::string("input deck") : config.deck_name();
}

std::string input_or_output(const core::Config& config, const std::string& key, const std::string& output_key) {
  return config.string(key).empty() ? output_path(config, config.string(output_key)) : config.string(key);
}

io::Provenance stage_provenance(const StageContext& ctx, std::vector<std::string> inputs) {
  return {ctx.stage, ctx.config.to_toml(), ctx.command_line, std::move(inputs),
          ctx.config.integer("run.seed")};
}

}  // namespace phenoscale::app
