// Planted protrusion phenotypes of the simulated cell edges (DeepHACKS,
// Ma et al. 2024, §2 and Fig. 2: I steady, II bursting, III-V periodic, VI
// accelerating; docs/methods.md §3.1). The simulator draws one phenotype per
// protrusion event; the rare bursting_early events (a sharp burst a few
// frames after onset) are a sub-phenotype of bursting, planted so that the
// deep-phenotype sub-clustering has something to find.
//
// These ids are stored in the truth datasets (/truth/phenotype); never renumber.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace phenoscale::edge {

enum class Phenotype : std::int64_t {
  steady = 0,
  bursting = 1,
  periodic = 2,
  accelerating = 3,
  bursting_early = 4,  // rare sub-phenotype of bursting
};

inline constexpr int kPhenotypes = 5;

// "steady", "bursting", "periodic", "accelerating", "bursting_early".
const std::string& phenotype_name(Phenotype p);
// The name's phenotype; ConfigError naming `key` for an unknown name.
Phenotype parse_phenotype(const std::string& name, const std::string& key);
// The coarse phenotype a sub-phenotype belongs to (bursting_early -> bursting).
Phenotype coarse_phenotype(Phenotype p);

}  // namespace phenoscale::edge
