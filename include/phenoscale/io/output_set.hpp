// The files one stage writes together (edge teacher's teacher.h5, teacher.csv
// and its tables) are a set: a reader takes them for one result.
//
// Each file is committed atomically (atomic_file.hpp), but one at a time, so a
// job killed or failing between two commits would leave a new file beside the
// previous run's copy of another: a mixed set that looks whole. A stage
// therefore retires the set before its first commit, once everything it
// writes has been computed. After that a kill or a failure leaves files
// missing, never files of two runs; a file the rerun does not write (a
// truth table on imported data) no longer survives from the previous run.
#pragma once

#include <string>
#include <vector>

#include "phenoscale/par/comm.hpp"

namespace phenoscale::io {

// Collective. Removes every path of `paths` that exists (missing ones are
// fine; "" stands for an optional output not wanted and is skipped); rank 0
// removes, the others learn the outcome. Throws IoError on every
// rank naming the file that could not be removed (a directory, permissions).
void retire_outputs(const std::vector<std::string>& paths, const par::Comm& comm);

}  // namespace phenoscale::io
