// phenoscale — deep phenotyping of heterogeneous subcellular data at scale.
//
// Examples (see docs/cli.md and README.md):
//   mpirun -n 2 phenoscale data generate -c inputs/data/demo.toml --set run.output_dir=runs/demo
//       simulates a sharded dataset with planted clusters and trajectories
//   mpirun -n 2 phenoscale data summarize -c inputs/data/demo.toml --set run.output_dir=runs/demo
//       recovers the planted structure and writes summary.h5 / summary.csv
//   phenoscale info runs/demo/samples.h5
//       lists datasets, shapes and the provenance of an output file
#include "phenoscale/app/cli.hpp"
#include "phenoscale/par/environment.hpp"

int main(int argc, char** argv) {
  phenoscale::par::Environment environment(argc, argv);
  return environment.finish(phenoscale::app::run_cli(argc, argv, environment.world()));
}
