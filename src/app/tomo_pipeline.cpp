// The `tomo` pipeline (Xu et al. 2017): its deck schema and its stages in the
// documented order, one group per file:
//   structures, simulate                   tomo_data.cpp
//   train, extract, subdivide              tomo_learning.cpp
//   rif-svm                                tomo_rif_svm.cpp
//   tomogram, pick                         tomo_data.cpp
//   average, classify                      tomo_averaging.cpp
//   recover, sweep, sweep-report           tomo_sweep.cpp
// with the helpers they share in tomo_common.cpp.
//
//   mpirun -n 4 phenoscale tomo structures -c inputs/tomo/demo.toml
//   mpirun -n 4 phenoscale tomo simulate   -c inputs/tomo/demo.toml --set simulate.snr=0.05
//   mpirun -n 2 phenoscale tomo average    -c inputs/tomo/demo.toml --set average.class_id=9
#include "phenoscale/app/registry.hpp"
#include "phenoscale/app/tomo_averaging.hpp"
#include "phenoscale/app/tomo_data.hpp"
#include "phenoscale/app/tomo_learning.hpp"
#include "phenoscale/app/tomo_sweep.hpp"

namespace phenoscale::app {
namespace {

core::Schema tomo_schema() {
  core::Schema s;
  add_run_section(s);
  add_tomo_data_keys(s);
  add_tomo_averaging_keys(s);
  add_tomo_learning_keys(s);
  add_tomo_sweep_keys(s);
  add_tomo_rif_svm_keys(s);
  return s;
}

// simulate -> train -> extract -> subdivide (the learning stages, then the
// RIF-SVM baseline beside the CNNs, Table 2) -> tomogram -> pick -> average
// -> classify -> recover, sweep, sweep-report (the leave-one-class-out study).
std::vector<Stage> tomo_stages() {
  std::vector<Stage> stages;
  for (const auto& group : {tomo_simulation_stages(), tomo_learning_stages(), std::vector<Stage>{tomo_rif_svm_stage()},
                            tomo_picking_stages(), tomo_averaging_stages(), tomo_sweep_stages()})
    stages.insert(stages.end(), group.begin(), group.end());
  return stages;
}

}  // namespace

Pipeline tomo_pipeline() {
  return {"tomo",
          "Cryo-ET: class maps, simulated subtomograms and tomograms, CNN classification, subdivision, averaging (Xu et al. 2017)",
          tomo_schema, tomo_stages()};
}

}  // namespace phenoscale::app
