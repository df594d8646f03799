// Subtomogram averaging and classification in the tomo pipeline (Xu et al.
// 2017; src/app/tomo_averaging.cpp):
//   average  : missing-wedge-aware Fourier average of one class, with the
//              true poses or by alignment to the class map, CTF-corrected
//              (phase flip or Wiener, docs/methods.md §1.3), its FSC against
//              that map and the gold-standard half-set FSC;
//   classify : iterative reference-free classification (PCA + k-means of
//              masked differences, realignment to class averages).
#pragma once

#include <vector>

#include "phenoscale/app/registry.hpp"

namespace phenoscale::app {

void add_tomo_averaging_keys(core::Schema& schema);
std::vector<Stage> tomo_averaging_stages();

}  // namespace phenoscale::app
