// The tools of the `ml` pipeline (src/app/ml_<tool>.cpp). Each contributes
// its input-deck section and its stage; src/app/ml_pipeline.cpp registers them.
#pragma once

#include "phenoscale/app/registry.hpp"

namespace phenoscale::app {

// One pair per tool: its deck section and its stage.
void add_ml_kmeans_keys(core::Schema& schema);
Stage ml_kmeans_stage();
void add_ml_knn_keys(core::Schema& schema);
Stage ml_knn_stage();
void add_ml_communities_keys(core::Schema& schema);
Stage ml_communities_stage();
void add_ml_bootstrap_keys(core::Schema& schema);
Stage ml_bootstrap_stage();
void add_ml_embed_keys(core::Schema& schema);
Stage ml_embed_stage();
void add_ml_pca_keys(core::Schema& schema);
Stage ml_pca_stage();
void add_ml_quality_keys(core::Schema& schema);
Stage ml_quality_stage();

}  // namespace phenoscale::app
