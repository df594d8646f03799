#include "phenoscale/core/error.hpp"

namespace phenoscale {

int exit_code_for(const std::exception& e) {
  if (auto* c = dynamic_cast<const CollectiveError*>(&e)) return c->exit_code();
  if (dynamic_cast<const ConfigError*>(&e)) return exit_code::usage;
  return exit_code::error;
}

std::string at_file(const std::string& path, const std::string& message) {
  return path + ": " + message;
}

}  // namespace phenoscale
