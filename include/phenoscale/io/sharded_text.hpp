// One text file (a CSV table) written by every rank at once.
//
// Each rank formats the rows of its own block of data; the file is the
// concatenation of the ranks' texts in rank order, written with MPI-IO at
// byte offsets from an exclusive prefix sum, so no rank gathers the whole
// table and the file is byte-identical at any rank count when the blocks
// are. Written to a temporary name and renamed when complete (atomic_file.hpp).
#pragma once

#include <string>

#include "phenoscale/par/comm.hpp"

namespace phenoscale::io {

// Collective. Writes the ranks' `local_text` in rank order to `path`.
// Throws IoError (on every rank) naming the file when it cannot be written.
void write_text_in_rank_order(const std::string& path, const std::string& local_text, const par::Comm& comm);

}  // namespace phenoscale::io
