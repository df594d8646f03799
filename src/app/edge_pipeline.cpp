// The `edge` pipeline: DeepHACKS (Ma et al. 2024; docs/methods.md §3) on the
// shared engines.
//
//   mpirun -n 2 phenoscale edge simulate  -c inputs/edge/demo.toml  → movies/*.tif, movies.csv (+ truth)
//   mpirun -n 2 phenoscale edge window    -c inputs/edge/demo.toml  → windows/<movie>.h5 (velocity maps)
//   mpirun -n 2 phenoscale edge events    -c inputs/edge/demo.toml  → events.h5 (aligned protrusion samples)
//   mpirun -n 2 phenoscale edge import    -c inputs/edge/demo.toml --set import.input=series.csv → events.h5
//   mpirun -n 2 phenoscale edge denoise   -c inputs/edge/demo.toml  → denoised.h5 (EMD, Hurst < 0.33 removed)
//   mpirun -n 2 phenoscale edge teacher   -c inputs/edge/demo.toml  → teacher.h5, teacher.csv (SAX/ACF communities)
//   mpirun -n 2 phenoscale edge student   -c inputs/edge/demo.toml  → student/ (λ sweep, latent.h5)
//   mpirun -n 2 phenoscale edge phenotype -c inputs/edge/demo.toml  → phenotypes.csv, phenotypes.h5
//   mpirun -n 2 phenoscale edge stats     -c inputs/edge/demo.toml  → stats.csv (bootstrap of cells)
//   mpirun -n 2 phenoscale edge cells     -c inputs/edge/demo.toml  → cells.csv (single-cell phenotypes)
// Ranks shard movies, then samples; every output is the same at any rank count.
#include "phenoscale/app/edge_stages.hpp"
#include "phenoscale/app/registry.hpp"
#include "phenoscale/nn/engine.hpp"

namespace phenoscale::app {
namespace {

core::Schema edge_schema() {
  core::Schema s;
  add_run_section(s);
  nn::EngineDefaults defaults;
  defaults.architecture = "guided-bilstm-ae";
  defaults.inputs_dataset = "/inputs";
  defaults.labels_dataset = "/labels";
  defaults.input_doc = "Training data of the student (written by edge student; leave empty)";
  // The paper's training (Ma et al. 2024, Methods; docs/methods.md §3.3):
  // RMSprop lr 1e-3, batch 128, 237 epochs, split 0.49/0.21/0.30, the epoch
  // with the best validation loss kept.
  //                optimizer  lr    decay epochs batch validation test  select_by
  defaults.train = {"rmsprop", 1e-3, 0.0, 237, 128, 0.21, 0.30, "loss"};
  nn::add_model_schema(s, defaults);
  nn::add_train_schema(s, defaults);
  nn::add_predict_schema(s, defaults);
  add_edge_movie_keys(s);
  add_edge_import_keys(s);
  add_edge_teacher_keys(s);
  add_edge_student_keys(s);
  add_edge_phenotype_keys(s);
  add_edge_stats_keys(s);
  return s;
}

}  // namespace

Pipeline edge_pipeline() {
  return {"edge",
          "DeepHACKS: cell-edge protrusion velocities, ACF teacher, guided bi-LSTM student, phenotypes, drug statistics",
          edge_schema,
          {
              {"simulate", "Synthetic live-cell movies (16-bit TIFF) with planted protrusion phenotypes and drugs",
               edge_simulate, {{"output", "simulate.output"}}},
              {"window", "Segment every frame, track probing windows, velocity map per movie", edge_window,
               {{"input", "window.input"}, {"output", "window.output"}}},
              {"import-maps", "Velocity maps windowed elsewhere (CSV/HDF5, windows x frames) -> edge window's layout",
               edge_import_maps, {{"input", "maps.input"}, {"output", "maps.output"}}},
              {"events", "Gap filling, protrusion onsets, aligned samples (-before..+after frames)", edge_events,
               {{"input", "events.input"}, {"output", "events.output"}}},
              {"import", "Aligned series from CSV (long or wide) -> events.h5",
               edge_import, {{"input", "import.input"}, {"output", "import.output"}}},
              {"denoise", "EMD of the displacement, IMFs with Hurst exponent below the threshold removed",
               edge_denoise, {{"input", "denoise.input"}, {"output", "denoise.output"}}},
              {"teacher", "SAX/ACF vectors, kNN graph, community detection, K by Davies-Bouldin or silhouette", edge_teacher,
               {{"input", "teacher.input"}, {"output", "teacher.output"}}},
              {"student", "Guided bi-LSTM autoencoder on the teacher's labels, λ sweep (or one λ: array task)",
               edge_student, {{"input", "student.input"}, {"output", "student.output"}}},
              {"phenotype", "Latent -> PCA -> kNN-graph communities (phenotypes) -> sub-clusters (deep phenotypes)",
               edge_phenotype, {{"input", "phenotype.input"}, {"output", "phenotype.output"}}},
              {"stats", "Bootstrap of cells: pooled proportions, CIs, one-sided p both ways, Cohen's d",
               edge_stats, {{"input", "stats.input"}, {"output", "stats.output"}}},
              {"cells", "Single-cell phenotypes: per-cell proportions, 3-D UMAP, kNN-graph communities",
               edge_cells, {{"input", "cells.input"}, {"output", "cells.output"}}},
          }};
}

}  // namespace phenoscale::app
