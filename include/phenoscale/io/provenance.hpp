// Provenance: what made an output file.
//
// Written as attributes on the root group of every stage output so a figure
// in a paper can be traced back to the exact program, settings and inputs:
// program version and git revision, the resolved input deck (TOML), the
// command line, the MPI rank count, the seed, the UTC creation time and the
// stage's input files. `phenoscale info FILE.h5` prints them.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "phenoscale/io/hdf5.hpp"

namespace phenoscale::io {

struct Provenance {
  std::string stage;          // "data generate"
  std::string deck;           // resolved deck, TOML
  std::string command_line;
  std::vector<std::string> inputs;
  std::int64_t seed = 0;
};

// Collective. Adds version, git revision, rank count and creation time.
void write_provenance(H5File& file, const Provenance& provenance);

// The names of the provenance attributes, in the order `info` shows them.
const std::vector<std::string>& provenance_attributes();

// UTC time as ISO 8601, "2026-11-22T01:35:46Z".
std::string utc_now_iso8601();

}  // namespace phenoscale::io
