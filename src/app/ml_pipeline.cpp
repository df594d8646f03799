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
  add_ml_kmeans_keys(s);
  add_ml_knn_keys(s);
  add_ml_communities_keys(s);
  add_ml_bootstrap_keys(s);
  add_ml_embed_keys(s);
  add_ml_pca_keys(s);
  add_ml_quality_keys(s);
  add_ml_sweep_keys(s);
  return s;
}

}  // namespace

Pipeline ml_pipeline() {
  return {"ml",
          "Distributed k-means, PCA, kNN graphs, communities, cluster quality, bootstrap, embeddings",
          ml_schema,
          {
              ml_kmeans_stage(),
              ml_knn_stage(),
              ml_communities_stage(),
              ml_bootstrap_stage(),
              ml_embed_stage(),
              ml_pca_stage(),
              ml_quality_stage(),
              ml_sweep_stage(),
          }};
}

}  // namespace phenoscale::app
