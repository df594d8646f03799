// The tools of the `ml` pipeline (src/app/ml_<tool>.cpp). Each contributes
// its input-deck section and its stage; src/app/ml_pipeline.cpp registers them.
#pragma once

#include "phenoscale/app/registry.hpp"
#include "phenoscale/ml/kmeans.hpp"
#include "phenoscale/ml/louvain.hpp"
#include "phenoscale/ml/quality.hpp"

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
void add_ml_sweep_keys(core::Schema& schema);
Stage ml_sweep_stage();

// Method options from their deck sections ([kmeans], [communities],
// [quality]), shared by the tools and the sweep.
ml::KMeansOptions kmeans_options(const core::Config& config);
ml::CommunityOptions community_options(const core::Config& config);
ml::SilhouetteOptions silhouette_options(const core::Config& config);

// Collective: `x` (read from `where`, FILE.h5:/dataset) is a square matrix
// of distances >= 0, as metric = "precomputed" needs; InputError naming
// `where` otherwise.
void check_precomputed(const std::string& where, const ml::ShardedMatrix& x, const par::Comm& comm);

}  // namespace phenoscale::app
