// Program version and git revision, recorded in every output's provenance.
#pragma once

namespace phenoscale::core {
const char* version();       // "0.1.0"
const char* git_revision();  // short hash, "-dirty" when the tree had changes, or "unknown"
}  // namespace phenoscale::core
