// The `phenoscale` command line.
//
//   phenoscale <pipeline> <stage> [-c deck.toml] [--set section.key=value ...]
//   phenoscale info FILE.h5|.mrc|.tif|.csv [--deck]
//   phenoscale list
//   phenoscale deck-reference
//
// Every rank parses the same arguments; only rank 0 prints help and errors
// that all ranks agreed on. See docs/cli.md.
#pragma once

#include "phenoscale/par/comm.hpp"

namespace phenoscale::app {

// Runs the command line; returns the process exit code (core/error.hpp).
int run_cli(int argc, char** argv, const par::Comm& world);

// `phenoscale info`: prints datasets, shapes, attributes and provenance of an
// HDF5 file, or a validated summary of an MRC, TIFF or trajectory CSV file.
void print_file_info(const std::string& path, bool show_deck, const par::Comm& comm);

}  // namespace phenoscale::app
