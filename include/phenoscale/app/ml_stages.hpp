// The tools of the `ml` pipeline (src/app/ml_<tool>.cpp). Each contributes
// its input-deck section and its stage; src/app/ml_pipeline.cpp registers them.
#pragma once

#include "phenoscale/app/registry.hpp"

namespace phenoscale::app {

// Declarations are added here, one pair per tool:
//   void add_ml_kmeans_keys(core::Schema& schema);
//   Stage ml_kmeans_stage();

}  // namespace phenoscale::app
