// The `ml` pipeline: distributed classical ML and statistics as command-line
// tools over sharded HDF5 datasets (`--input FILE.h5:/dataset --output OUT.h5`).
// Each tool lives in its own file src/app/ml_<tool>.cpp, which provides its
// deck keys and its stage; this file is the table that registers them.
#include "phenoscale/app/ml_stages.hpp"

namespace phenoscale::app {
namespace {

core::Schema ml_schema() {
  core::Schema s;
  add_run_section(s);
  // One line per tool: its deck section.
  return s;
}

}  // namespace

Pipeline ml_pipeline() {
  return {"ml",
          "Distributed k-means, PCA, kNN graphs, communities, cluster quality, bootstrap, embeddings",
          ml_schema,
          {
              // One line per tool: its stage.
          }};
}

}  // namespace phenoscale::app
