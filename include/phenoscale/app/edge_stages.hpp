// The edge pipeline's stages (DeepHACKS; docs/cli.md "edge"), grouped by file:
// edge_movies.cpp (simulate, window, events), edge_import.cpp (import),
// edge_teacher.cpp (denoise, teacher), edge_student.cpp (student),
// edge_phenotype.cpp (phenotype), edge_stats.cpp (stats, cells).
#pragma once

#include "phenoscale/app/registry.hpp"
#include "phenoscale/core/config.hpp"

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
void edge_import(const StageContext& ctx);
void edge_denoise(const StageContext& ctx);
void edge_teacher(const StageContext& ctx);
void edge_student(const StageContext& ctx);
void edge_phenotype(const StageContext& ctx);
void edge_stats(const StageContext& ctx);
void edge_cells(const StageContext& ctx);

}  // namespace phenoscale::app
