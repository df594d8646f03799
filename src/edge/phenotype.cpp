// Names of the planted protrusion phenotypes (edge/phenotype.hpp).
#include "phenoscale/edge/phenotype.hpp"

#include <array>

#include "phenoscale/core/error.hpp"

namespace phenoscale::edge {
namespace {

const std::array<std::string, kPhenotypes>& names() {
  static const std::array<std::string, kPhenotypes> n{"steady", "bursting", "periodic", "accelerating",
                                                       "bursting_early"};
  return n;
}

}  // namespace

const std::string& phenotype_name(Phenotype p) { return names().at(static_cast<std::size_t>(p)); }

Phenotype parse_phenotype(const std::string& name, const std::string& key) {
  for (std::size_t i = 0; i < names().size(); ++i) {
    if (names()[i] == name) return static_cast<Phenotype>(i);
  }
  throw ConfigError(key + " = \"" + name +
                    "\": expected one of steady, bursting, periodic, accelerating, bursting_early");
}

Phenotype coarse_phenotype(Phenotype p) { return p == Phenotype::bursting_early ? Phenotype::bursting : p; }

}  // namespace phenoscale::edge
