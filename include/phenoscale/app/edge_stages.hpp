// The edge pipeline's stages (DeepHACKS; docs/cli.md "edge"), grouped by file:
// edge_movies.cpp (simulate, window, import-maps, events), edge_import.cpp (import),
// edge_teacher.cpp (denoise, teacher), edge_student.cpp (student),
// edge_phenotype.cpp (phenotype), edge_stats.cpp (stats, cells).
#pragma once

#include "phenoscale/app/edge_common.hpp"
#include "phenoscale/app/registry.hpp"
#include "phenoscale/core/config.hpp"
#include "phenoscale/ml/matrix.hpp"
#include "phenoscale/ml/pca.hpp"

namespace phenoscale::app {

void add_edge_movie_keys(core::Schema& s);
void add_edge_import_keys(core::Schema& s);
void add_edge_teacher_keys(core::Schema& s);
void add_edge_student_keys(core::Schema& s);
void add_edge_phenotype_keys(core::Schema& s);
void add_edge_stats_keys(core::Schema& s);

void edge_simulate(const StageContext& ctx);
void edge_window(const StageContext& ctx);
void edge_events(const StageContext& ctx);
void edge_import_maps(const StageContext& ctx);
void edge_import(const StageContext& ctx);
void edge_denoise(const StageContext& ctx);
void edge_teacher(const StageContext& ctx);
void edge_student(const StageContext& ctx);
void edge_phenotype(const StageContext& ctx);
void edge_stats(const StageContext& ctx);
void edge_cells(const StageContext& ctx);

// The coarse phenotypes of a student latent `z` (N × latent, the rows of
// `s`), as edge phenotype finds them: PCA of the gathered latent, samples of
// at least phenotype.min_frames frames clustered per paired experiment.
// Shared with edge student, which chooses λ by the effect size of the
// reference contrast on these phenotypes (the paper's criterion). Collective;
// the same on every rank and at every rank count.
struct LatentPhenotypes {
  ml::PcaModel pca;
  std::vector<float> scores;          // N × cols, every row, every rank
  std::uint64_t cols = 0;
  double explained = 0;               // variance ratio kept
  std::vector<std::int64_t> lengths;  // frames per sample, N
  std::vector<std::int64_t> coarse;   // phenotype per sample, N; −1: not phenotyped
  std::vector<std::int64_t> group;    // paired experiment per sample, N (all 0 unless phenotype.per_experiment); −1: not phenotyped
  std::size_t phenotyped = 0;
};
// `stage` names the caller in messages (edge phenotype, or edge student for its λ choice).
LatentPhenotypes latent_phenotypes(const core::Config& cfg, const ml::ShardedMatrix& z, const EdgeSamples& s,
                                   const std::string& where, const std::string& stage, const par::Comm& comm);
// The deck keys latent_phenotypes reads (edge student records them with each λ).
std::vector<std::string> latent_phenotype_keys();

}  // namespace phenoscale::app
