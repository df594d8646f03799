#include "phenoscale/app/registry.hpp"

namespace phenoscale::app {

void add_run_section(core::Schema& schema) {
  schema.integer("run.seed", 20261122, "Seed of every random stream (counter-based: results do not "
                 "depend on the rank count)", 0, 9.2e18)
      .string("run.output_dir", "runs/out", "Directory that receives the stage's output files")
      .string("run.allreduce", "mpi", "Gradient allreduce backend: mpi (CPU) or nccl (GPU build)",
              {"mpi", "nccl"})
      .real("run.progress_interval_s", 10.0,
            "Seconds between progress lines when stderr is not a terminal (Slurm logs)", 0.1, 3600);
}

const std::vector<Pipeline>& pipelines() {
  // The one table of pipelines.
  static const std::vector<Pipeline> table = {
      data_pipeline(),
      ml_pipeline(),
      nn_pipeline(),
      tomo_pipeline(),
      spt_pipeline(),
      edge_pipeline(),
  };
  return table;
}

}  // namespace phenoscale::app
