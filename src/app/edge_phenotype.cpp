// edge phenotype (docs/cli.md "edge phenotype"; docs/methods.md §3.4).
//   mpirun -n 2 phenoscale edge phenotype -c inputs/edge/demo.toml  → phenotypes.csv, phenotypes.h5, phenotypes_profiles.csv,
//                                                                    phenotypes_summary.csv (+ phenotypes_truth.csv when simulated)
// DeepHACKS' phenotyping (Ma et al. 2024, §2 "phenotyping"): the student's
// latent → PCA (15 components) → kNN graph → communities, per paired
// experiment, K by silhouette, matched across experiments to one set: the
// coarse phenotypes; then each phenotype with
// enough samples is sub-clustered by k-means, K by silhouette, into deep
// phenotypes (kept only when the best silhouette clears
// phenotype.min_silhouette: otherwise the phenotype stays whole). Mean
// velocity profiles carry bootstrap 95 % bands (resampling samples).
//
// phenotypes.csv (sample_id,cell_id,condition,teacher_cluster,phenotype,
// deep_phenotype) is a fixed contract: external evaluations read it.
#include <algorithm>
#include <cmath>
#include <filesystem>
#include <limits>
#include <map>

#include "phenoscale/app/edge_common.hpp"
#include "phenoscale/app/edge_stages.hpp"
#include "phenoscale/app/stage_io.hpp"
#include "phenoscale/core/error.hpp"
#include "phenoscale/core/log.hpp"
#include "phenoscale/core/rng.hpp"
#include "phenoscale/edge/phenotype.hpp"
#include "phenoscale/edge/phenotyping.hpp"
#include "phenoscale/io/csv.hpp"
#include "phenoscale/io/provenance.hpp"
#include "phenoscale/io/sample_array.hpp"
#include "phenoscale/io/sharded_text.hpp"
#include "phenoscale/ml/assignment.hpp"
#include "phenoscale/ml/distance.hpp"
#include "phenoscale/ml/bootstrap.hpp"
#include "phenoscale/ml/embedding.hpp"
#include "phenoscale/ml/kmeans.hpp"
#include "phenoscale/ml/louvain.hpp"
#include "phenoscale/ml/matrix.hpp"
#include "phenoscale/ml/pca.hpp"
#include "phenoscale/ml/quality.hpp"
#include "phenoscale/ml/sweep.hpp"
#include "phenoscale/par/agree.hpp"

namespace phenoscale::app {
namespace {

using core::cat;

// The rows of `x` whose global flag is set, re-sharded in BlockPartition
// blocks (communities and k-means expect balanced blocks), with their global
// row indices in the original matrix.
struct Subset {
  ml::ShardedMatrix x;
  std::vector<std::int64_t> rows;  // global indices in the original, all subset rows
};

Subset subset(const std::vector<float>& all_rows, std::uint64_t cols, const std::vector<char>& keep,
              const par::Comm& comm) {
  Subset s;
  std::vector<float> picked;
  for (std::size_t i = 0; i < keep.size(); ++i)
    if (keep[i]) {
      s.rows.push_back(static_cast<std::int64_t>(i));
      picked.insert(picked.end(), all_rows.begin() + static_cast<std::ptrdiff_t>(i * cols),
                    all_rows.begin() + static_cast<std::ptrdiff_t>((i + 1) * cols));
    }
  s.x = ml::shard_rows(picked, cols, comm);
  return s;
}

ml::CommunityOptions community_options(const core::Config& cfg) {
  ml::CommunityOptions o;
  o.method = cfg.string("phenotype.method");
  o.resolution = cfg.real("phenotype.resolution");
  o.min_size = static_cast<std::uint64_t>(cfg.integer("phenotype.min_community_size"));
  o.seed = static_cast<std::uint64_t>(cfg.integer("run.seed"));
  return o;
}

// Coarse phenotypes: communities per group of rows (a paired experiment, or
// all), numbered consecutively across groups. Returns the global labels.
std::vector<std::int64_t> coarse_phenotypes(const core::Config& cfg, const std::vector<float>& all_rows,
                                            std::uint64_t cols, const std::vector<std::int64_t>& group,
                                            const EdgeSamples& s, const std::string& stage, const par::Comm& comm,
                                            std::vector<ml::SweepPoint>& chosen) {
  std::vector<std::int64_t> labels(group.size(), -1);
  const bool per_experiment = cfg.boolean("phenotype.per_experiment");  // otherwise one group, 0
  std::vector<std::int64_t> groups = group;
  std::sort(groups.begin(), groups.end());
  groups.erase(std::unique(groups.begin(), groups.end()), groups.end());
  std::int64_t next = 0;
  ml::SilhouetteOptions quality;
  quality.seed = static_cast<std::uint64_t>(cfg.integer("run.seed"));
  for (auto g : groups) {
    if (g < 0) continue;  // samples left out of the clustering
    std::vector<char> keep(group.size());
    for (std::size_t i = 0; i < group.size(); ++i) keep[i] = group[i] == g;
    const Subset sub = subset(all_rows, cols, keep, comm);
    const auto ks = neighbour_counts(cfg, "phenotype.neighbours", static_cast<std::int64_t>(sub.rows.size()),
                                     per_experiment ? cat("phenotyped samples of experiment ", s.experiment_text(g))
                                                    : std::string("phenotyped samples"),
                                     comm);
    const auto sweep = ml::sweep_communities(sub.x, ks, community_options(cfg), quality, {}, comm);
    chosen.push_back(sweep.points[sweep.best]);
    const auto found = ml::gather_values(sweep.best_labels(), comm);
    std::int64_t count = 0;
    for (std::size_t j = 0; j < found.size(); ++j) {
      labels[static_cast<std::size_t>(sub.rows[j])] = next + found[j];
      count = std::max(count, found[j] + 1);
    }
    next += count;
  }
  return labels;
}

// The cost of matching communities `a` (rows) to phenotypes, each standing
// for the community in `b` that founded it (columns), with one extra column
// per row for "a new phenotype". A match is the Euclidean distance of the
// centroids, allowed only while the two clouds overlap (distance ≤ the sum
// of their RMS radii); a new phenotype costs more than any set of allowed
// matches, a disallowed match more than a new phenotype. The assignment then
// makes as many allowed matches as it can, at the smallest total distance.
std::vector<double> matching_costs(const edge::Clouds& c, const std::vector<std::size_t>& a,
                                   const std::vector<std::size_t>& b) {
  const std::size_t width = b.size() + a.size();
  std::vector<double> cost(a.size() * width, std::nan(""));  // NaN: not allowed, priced below
  double allowed_sum = 0.0;
  for (std::size_t r = 0; r < a.size(); ++r)
    for (std::size_t k = 0; k < b.size(); ++k) {  // finite centroids: the plain squared Euclidean distance
      const double d = c.distance(a[r], b[k]);
      if (d > c.gate(a[r], b[k])) continue;
      cost[r * width + k] = d;
      allowed_sum += d;
    }
  const double new_phenotype = 1.0 + allowed_sum, disallowed = 2.0 * new_phenotype * static_cast<double>(a.size() + 1);
  for (std::size_t r = 0; r < a.size(); ++r) cost[r * width + b.size() + r] = new_phenotype;
  for (double& x : cost)
    if (std::isnan(x)) x = disallowed;
  return cost;
}

// One set of phenotypes across paired experiments — the paper's clusters
// I–VI are the same in every experiment, and its deep phenotyping pools a
// phenotype's samples from all of them (Methods, "Deep phenotyping"): each
// experiment's communities are matched to the phenotypes found so far by the
// minimum-cost assignment of their centroids (Euclidean, in the PCA scores),
// experiments in order; a community left over, or one whose cloud overlaps
// no phenotype's it could take (a phenotype one experiment's drug makes),
// becomes a new phenotype.
std::vector<std::int64_t> match_experiments(const std::vector<float>& all_rows, std::uint64_t cols,
                                            const std::vector<std::int64_t>& group,
                                            const std::vector<std::int64_t>& labels, const std::string& stage) {
  const edge::Clouds c = edge::label_clouds(all_rows, cols, group, labels);
  std::vector<std::int64_t> groups = c.owner;
  std::sort(groups.begin(), groups.end());
  groups.erase(std::unique(groups.begin(), groups.end()), groups.end());
  if (groups.size() < 2) return labels;
  std::vector<std::int64_t> to_common(c.owner.size(), -1);
  std::vector<std::size_t> common;  // the community whose centroid stands for each phenotype
  for (auto g : groups) {
    std::vector<std::size_t> members;
    for (std::size_t l = 0; l < c.owner.size(); ++l)
      if (c.owner[l] == g) members.push_back(l);
    const auto assigned = ml::min_cost_assignment(matching_costs(c, members, common), members.size(),
                                                  common.size() + members.size());
    for (std::size_t r = 0; r < members.size(); ++r) {
      if (assigned[r] < static_cast<std::int64_t>(common.size())) {
        to_common[members[r]] = assigned[r];
      } else {
        to_common[members[r]] = static_cast<std::int64_t>(common.size());
        common.push_back(members[r]);
      }
    }
  }
  std::vector<std::int64_t> matched(labels.size(), -1);
  for (std::size_t i = 0; i < labels.size(); ++i)
    if (labels[i] >= 0) matched[i] = to_common[static_cast<std::size_t>(labels[i])];
  core::Log::info(cat(stage, ": the ", c.owner.size(), " communities of ", groups.size(),
                      " paired experiments matched to ", common.size(),
                      " phenotypes (minimum-cost assignment of centroids; phenotype.match_experiments)"));
  return matched;
}

// Deep phenotypes: k-means sub-clusters of each chosen phenotype (K by
// silhouette over 2..phenotype.max_deep), as deep ids (numbered apart per
// phenotype; edge::name_deep_phenotypes numbers and names them).
std::vector<std::int64_t> deep_phenotypes(const core::Config& cfg, const std::vector<float>& all_rows, std::uint64_t cols,
                                          const std::vector<std::int64_t>& coarse) {
  std::vector<std::int64_t> deep_id(coarse.size(), -1);
  const std::int64_t phenotypes = *std::max_element(coarse.begin(), coarse.end()) + 1;
  auto chosen = cfg.integer_list("phenotype.subcluster");
  if (chosen.empty())
    for (std::int64_t p = 0; p < phenotypes; ++p) chosen.push_back(p);
  for (auto p : chosen)  // phenotype numbers come from the data: a stale deck names one that is not there
    if (p < 0 || p >= phenotypes)
      core::Log::warn(cat("edge phenotype: phenotype.subcluster names phenotype ", p, ", but this run found ",
                          phenotypes, " (0..", phenotypes - 1, "): nothing to sub-cluster for it"));
  const std::int64_t stride = cfg.integer("phenotype.max_deep");
  for (std::int64_t p = 0; p < phenotypes; ++p) {
    std::vector<char> keep(coarse.size());
    std::int64_t n = 0;
    for (std::size_t i = 0; i < coarse.size(); ++i) n += keep[i] = coarse[i] == p;
    const bool split = std::find(chosen.begin(), chosen.end(), p) != chosen.end() &&
                       n >= cfg.integer("phenotype.min_subcluster_samples");
    std::vector<std::int64_t> sub_labels(static_cast<std::size_t>(n), 0);
    if (split) {
      // On every rank alone over the gathered rows: k-means' sums then do not
      // depend on how the rows are split, so neither do the deep phenotypes.
      par::Comm self(MPI_COMM_SELF);
      const Subset sub = subset(all_rows, cols, keep, self);
      std::vector<std::int64_t> ks;  // K < n: k-means and the silhouette need fewer clusters than samples
      for (std::int64_t k = 2; k <= std::min(stride, n - 1); ++k) ks.push_back(k);
      ml::KMeansOptions km;
      km.seed = static_cast<std::uint64_t>(cfg.integer("run.seed"));
      km.n_init = static_cast<int>(cfg.integer("phenotype.deep_restarts"));
      ml::SilhouetteOptions quality;
      quality.seed = km.seed;
      const auto sweep = ml::sweep_kmeans(sub.x, ks, km, quality, {}, self);
      if (sweep.points[sweep.best].silhouette >= cfg.real("phenotype.min_silhouette")) sub_labels = sweep.best_labels();
    }
    std::size_t j = 0;
    for (std::size_t i = 0; i < coarse.size(); ++i)
      if (keep[i]) deep_id[i] = p * stride + sub_labels[j++];
  }
  return deep_id;
}

// The join of partial phenotypes (edge::join_partial_phenotypes), logged.
void join_partial(const std::vector<float>& all_rows, std::uint64_t cols, const std::vector<std::int64_t>& group,
                  const EdgeSamples& s, std::vector<std::int64_t>& coarse, std::vector<std::int64_t>& deep_id) {
  const auto joins = edge::join_partial_phenotypes(all_rows, cols, group, coarse, deep_id);
  if (joins.empty()) return;
  std::vector<std::int64_t> named = deep_id;
  const auto names = edge::name_deep_phenotypes(coarse, named);
  for (const auto& j : joins) {
    std::string into, in;
    for (std::size_t i = 0; i < deep_id.size() && into.empty(); ++i)
      if (deep_id[i] == j.into_deep) into = names[i];
    for (auto e : j.experiments) in += cat(in.empty() ? "" : ", ", s.experiment_text(e));
    core::Log::info(cat("edge phenotype: ", j.samples, " samples of phenotype ", j.phenotype,
                        " (found in paired experiments ", in, " only) join deep phenotype ", into,
                        ": centroid distance ", j.distance, " <= ", j.gate,
                        ", the sum of RMS radii (phenotype.join_partial)"));
  }
}

// Mean velocity per phenotype and aligned frame, with percentile bootstrap
// bands from resampling the phenotype's samples (Rng stream bootstrap keyed
// by phenotype), computed on rank 0 from the gathered series: the columns of
// PROFILE_HEADER.
const std::vector<std::string> PROFILE_HEADER{"phenotype", "frame", "mean_velocity_nm_s", "band_low", "band_high",
                                              "samples"};
std::vector<std::vector<double>> mean_profiles(const core::Config& cfg, const std::vector<float>& values,
                                               const std::vector<std::int64_t>& offsets,
                                               const std::vector<std::int64_t>& labels) {
  const std::int64_t phenotypes = *std::max_element(labels.begin(), labels.end()) + 1;
  const auto before = cfg.integer("events.before");
  const auto replicates = static_cast<std::uint64_t>(cfg.integer("phenotype.profile_replicates"));
  std::vector<double> col_p, col_t, col_mean, col_lo, col_hi, col_n;
  for (std::int64_t p = 0; p < phenotypes; ++p) {
    std::vector<std::size_t> members;
    std::size_t width = 0;
    for (std::size_t i = 0; i < labels.size(); ++i)
      if (labels[i] == p) {
        members.push_back(i);
        width = std::max(width, static_cast<std::size_t>(offsets[i + 1] - offsets[i]));
      }
    auto mean_at = [&](const std::vector<std::size_t>& pick, std::vector<double>& mean, std::vector<double>& n) {
      mean.assign(width, 0.0);
      n.assign(width, 0.0);
      for (auto i : pick)
        for (std::int64_t t = 0; t < offsets[i + 1] - offsets[i]; ++t) {
          mean[static_cast<std::size_t>(t)] += values[static_cast<std::size_t>(offsets[i] + t)];
          n[static_cast<std::size_t>(t)] += 1;
        }
      for (std::size_t t = 0; t < width; ++t) mean[t] = n[t] > 0 ? mean[t] / n[t] : std::nan("");
    };
    std::vector<double> mean, n;
    mean_at(members, mean, n);
    std::vector<std::vector<double>> boot(width);
    core::Rng rng(static_cast<std::uint64_t>(cfg.integer("run.seed")), core::Stream::bootstrap,
                  1000000 + static_cast<std::uint64_t>(p));
    std::vector<std::size_t> pick(members.size());
    std::vector<double> m, c;
    for (std::uint64_t r = 0; r < replicates; ++r) {
      for (auto& x : pick) x = members[rng.below(members.size())];
      mean_at(pick, m, c);
      for (std::size_t t = 0; t < width; ++t)
        if (c[t] > 0) boot[t].push_back(m[t]);
    }
    for (std::size_t t = 0; t < width; ++t) {
      auto& b = boot[t];
      std::sort(b.begin(), b.end());
      auto q = [&](double f) { return ml::quantile_sorted(b, f); };
      col_p.push_back(static_cast<double>(p));
      col_t.push_back(static_cast<double>(static_cast<std::int64_t>(t) - before));
      col_mean.push_back(mean[t]);
      col_lo.push_back(q(0.025));
      col_hi.push_back(q(0.975));
      col_n.push_back(n[t]);
    }
  }
  return {col_p, col_t, col_mean, col_lo, col_hi, col_n};
}

// Scoring against the planted truth (simulation only): ARIs, and how well the
// rare sub-phenotype is isolated by its best-matching deep phenotype.
struct Scores {
  double teacher_ari_all = std::nan("");  // the teacher on every matched sample
  double teacher_ari = std::nan(""), phenotype_ari = std::nan(""), deep_ari = std::nan("");  // on the phenotyped ones
  double rare_precision = std::nan(""), rare_recall = std::nan("");
  std::string rare_deep;
};

Scores score(const std::vector<std::int64_t>& truth, const std::vector<std::int64_t>& teacher,
             const std::vector<std::int64_t>& coarse, const std::vector<std::int64_t>& deep,
             const std::vector<std::string>& deep_names) {
  Scores s;
  par::Comm self(MPI_COMM_SELF);
  std::vector<std::int64_t> t_coarse, t_fine, a, b, c, t_all, a_all;
  for (std::size_t i = 0; i < truth.size(); ++i) {
    if (truth[i] < 0) continue;
    t_all.push_back(static_cast<std::int64_t>(edge::coarse_phenotype(static_cast<edge::Phenotype>(truth[i]))));
    a_all.push_back(teacher[i]);
    if (coarse[i] < 0) continue;  // not phenotyped (shorter than phenotype.min_frames)
    t_fine.push_back(truth[i]);
    t_coarse.push_back(static_cast<std::int64_t>(edge::coarse_phenotype(static_cast<edge::Phenotype>(truth[i]))));
    a.push_back(teacher[i]);
    b.push_back(coarse[i]);
    c.push_back(deep[i]);
  }
  if (!t_all.empty()) s.teacher_ari_all = ml::adjusted_rand_index(t_all, a_all, self);
  if (t_fine.empty()) return s;
  s.teacher_ari = ml::adjusted_rand_index(t_coarse, a, self);
  s.phenotype_ari = ml::adjusted_rand_index(t_coarse, b, self);
  s.deep_ari = ml::adjusted_rand_index(t_fine, c, self);
  const auto rare = static_cast<std::int64_t>(edge::Phenotype::bursting_early);
  std::map<std::int64_t, std::pair<double, double>> per;  // deep -> (rare members, members)
  double rare_total = 0;
  for (std::size_t i = 0; i < t_fine.size(); ++i) {
    per[c[i]].second += 1;
    if (t_fine[i] == rare) per[c[i]].first += 1, rare_total += 1;
  }
  double best_f1 = -1;
  for (auto [d, pr] : per) {
    if (pr.first == 0) continue;
    const double precision = pr.first / pr.second, recall = pr.first / rare_total;
    const double f1 = 2 * precision * recall / (precision + recall);
    if (f1 > best_f1) {
      best_f1 = f1, s.rare_precision = precision, s.rare_recall = recall;
      for (std::size_t i = 0; i < deep.size(); ++i)
        if (deep[i] == d) {
          s.rare_deep = deep_names[i];
          break;
        }
    }
  }
  return s;
}

// Scoring only: the planted composition of every phenotype (which planted
// phenotype it mostly holds, and how purely), to name the found phenotypes in
// reports and to find the one a planted drug effect should move.
void write_truth_composition(const std::string& path, const std::vector<std::int64_t>& truth,
                             const std::vector<std::int64_t>& labels) {
  const std::int64_t phenotypes = *std::max_element(labels.begin(), labels.end()) + 1;
  std::vector<std::vector<double>> count(static_cast<std::size_t>(std::max<std::int64_t>(phenotypes, 0)),
                                         std::vector<double>(edge::kPhenotypes, 0.0));
  for (std::size_t i = 0; i < truth.size(); ++i)
    if (labels[i] >= 0 && truth[i] >= 0) count[static_cast<std::size_t>(labels[i])][static_cast<std::size_t>(truth[i])] += 1;
  std::vector<std::string> majority;
  std::vector<std::vector<double>> cols(3 + edge::kPhenotypes);
  for (std::size_t p = 0; p < count.size(); ++p) {
    double n = 0, best = -1;
    std::size_t arg = 0;
    for (std::size_t t = 0; t < count[p].size(); ++t) {
      n += count[p][t];
      if (count[p][t] > best) best = count[p][t], arg = t;
    }
    majority.push_back(edge::phenotype_name(static_cast<edge::Phenotype>(arg)));
    cols[0].push_back(double(p));
    cols[1].push_back(n);
    cols[2].push_back(n > 0 ? best / n : std::nan(""));
    for (std::size_t t = 0; t < count[p].size(); ++t) cols[3 + t].push_back(count[p][t]);
  }
  std::vector<std::string> header{"phenotype", "matched_samples", "purity"};
  for (int t = 0; t < edge::kPhenotypes; ++t) header.push_back("planted_" + edge::phenotype_name(static_cast<edge::Phenotype>(t)));
  io::write_csv_table(path, {"majority_planted"}, {majority}, header, cols);
}

}  // namespace

LatentPhenotypes latent_phenotypes(const core::Config& cfg, const ml::ShardedMatrix& z, const EdgeSamples& s,
                                   const std::string& where, const std::string& stage, const par::Comm& comm) {
  LatentPhenotypes out;
  ml::PcaOptions po;
  po.components = static_cast<std::uint64_t>(std::min<std::int64_t>(cfg.integer("phenotype.components"),
                                                                     static_cast<std::int64_t>(z.cols)));
  // PCA of the gathered latent on every rank alone (N × 30 is small): the
  // scores are then the same bits at any rank count, and so is every kNN
  // graph built on them (the exact kNN is bit-identical for identical rows).
  par::Comm self(MPI_COMM_SELF);
  ml::ShardedMatrix full;
  full.data = ml::gather_rows(z, comm);
  full.cols = z.cols;
  full.local_rows = full.global_rows = z.global_rows;
  out.pca = ml::pca_fit(full, po, self);
  ml::ShardedMatrix all_scores = ml::pca_transform(out.pca, full);
  out.scores = std::move(all_scores.data);
  out.cols = all_scores.cols;
  for (double r : out.pca.explained_variance_ratio) out.explained += r;
  // Only samples of at least phenotype.min_frames frames are phenotyped (the
  // paper clusters complete samples): a short sample's latent says little
  // about the shape of its protrusion.
  std::vector<std::int64_t> lengths;
  for (std::uint64_t i = 0; i < s.size(); ++i) lengths.push_back(static_cast<std::int64_t>(s.velocity.length(i)));
  out.lengths = ml::gather_values(lengths, comm);
  std::vector<std::int64_t> group = ml::gather_values(s.experiment, comm);
  if (!cfg.boolean("phenotype.per_experiment")) std::fill(group.begin(), group.end(), 0);
  for (std::size_t i = 0; i < group.size(); ++i) {
    if (out.lengths[i] < cfg.integer("phenotype.min_frames")) group[i] = -1;
    out.phenotyped += group[i] >= 0;
  }
  par::check_all(comm, out.phenotyped > 0,
                 cat(where, ": no sample has phenotype.min_frames = ", cfg.integer("phenotype.min_frames"),
                     " frames or more; lower it"));
  std::vector<ml::SweepPoint> chosen;
  out.coarse = coarse_phenotypes(cfg, out.scores, out.cols, group, s, stage, comm, chosen);
  out.group = group;
  if (cfg.boolean("phenotype.per_experiment") && cfg.boolean("phenotype.match_experiments"))
    out.coarse = match_experiments(out.scores, out.cols, group, out.coarse, stage);
  return out;
}

std::vector<std::string> latent_phenotype_keys() {  // keep in step with the functions above
  return {"run.seed",           "phenotype.min_frames",         "phenotype.components",
          "phenotype.neighbours", "phenotype.method",           "phenotype.resolution",
          "phenotype.min_community_size", "phenotype.per_experiment", "phenotype.match_experiments"};
}

void add_edge_phenotype_keys(core::Schema& s) {
  s.string("phenotype.input", "", "Student latent (/features; default: latent.h5 in student.output)")
      .string("phenotype.samples", "", "Samples the latent belongs to (default: denoise.output)")
      .string("phenotype.teacher", "", "Teacher labels (default: teacher.output)")
      .string("phenotype.output", "phenotypes.csv",
              "sample_id,cell_id,condition,teacher_cluster,phenotype,deep_phenotype (fixed contract), inside run.output_dir")
      .string("phenotype.h5", "phenotypes.h5", "The same per sample, with PCA scores and t-SNE, inside run.output_dir")
      .integer("phenotype.min_frames", 56,
               "Samples with at least this many frames are phenotyped (the paper: complete samples); the others "
               "get phenotype -1 and are left out of stats and cells", 2, 1e6)
      .integer("phenotype.components", 15, "Principal components of the latent kept", 1, 10000)
      .integer_list("phenotype.neighbours", {40, 80, 160, 320}, "Neighbour counts K of the kNN graph (K by silhouette)",
                    1)
      .string("phenotype.method", "igraph-leiden",
              "Community detection (ml communities methods); the igraph methods give the same partition at any "
              "rank count, the distributed louvain does not", ml::community_methods())
      .real("phenotype.resolution", 1.0, "Modularity resolution γ (louvain, leiden)", 1e-6, 1e6)
      .integer("phenotype.min_community_size", 1,
               "Communities with fewer samples join the community they have the most kNN edges into, before "
               "the partition is scored (PhenoGraph's min_cluster_size; 1: keep every community)", 1, 1e9)
      .boolean("phenotype.per_experiment", true, "Cluster each paired experiment separately (the paper's design)")
      .boolean("phenotype.match_experiments", true,
               "Match the phenotypes of different paired experiments to one set (minimum-cost assignment of their "
               "centroids in the PCA scores), as the paper's clusters I-VI across experiments; a community whose cloud "
               "overlaps no phenotype's (centroid distance above the sum of RMS radii) becomes a new phenotype; false "
               "numbers each experiment's phenotypes apart")
      .boolean("phenotype.join_partial", true,
               "A phenotype found in only some paired experiments joins, deep phenotype by deep phenotype, the "
               "nearest sub-cluster of a phenotype found in all of them whose cloud it overlaps (centroid distance at "
               "most the sum of RMS radii): the same sub-phenotype under one name (methods.md 3.4); false keeps it apart")
      .integer_list("phenotype.subcluster", {}, "Phenotypes to sub-cluster into deep phenotypes (empty: every one)")
      .integer("phenotype.max_deep", 5, "Deep phenotypes per phenotype at most (K = 2..max by silhouette)", 2, 100)
      .real("phenotype.min_silhouette", 0.5, "A sub-clustering is kept only at or above this mean silhouette (0.5: Kaufman & Rousseeuw's \"reasonable structure\"; below it \"weak, could be artificial\")", -1, 1)
      .integer("phenotype.min_subcluster_samples", 50, "Phenotypes with fewer samples are not sub-clustered", 4, 1e9)
      .integer("phenotype.deep_restarts", 10,
               "k-means restarts of the sub-clustering, the lowest inertia kept (10: scikit-learn's n_init until 1.4; "
               "a sub-phenotype of a few percent is missed by some starts, methods.md 3.4)", 1, 1000)
      .integer("phenotype.profile_replicates", 1000, "Bootstrap replicates of the mean-profile bands", 10, 1e7)
      .boolean("phenotype.tsne", true,
               "t-SNE (perplexity 30) of the principal components into phenotypes.h5:/tsne; skipped with a "
               "warning above 100,000 samples (t-SNE's size limit; embed /pca_scores with `phenoscale ml embed` "
               "and a larger embed.max_points)");
}

void edge_phenotype(const StageContext& ctx) {
  const auto& cfg = ctx.config;
  const std::string latent = cfg.string("phenotype.input").empty()
                                 ? (std::filesystem::path(output_path(cfg, cfg.string("student.output"))) / "latent.h5").string()
                                 : cfg.string("phenotype.input");
  const std::string samples_path = input_or_output(cfg, "phenotype.samples", "denoise.output");
  const std::string teacher_path = input_or_output(cfg, "phenotype.teacher", "teacher.output");
  const EdgeSamples s = read_edge_samples(samples_path, ctx.comm);
  const ml::ShardedMatrix z = ml::read_matrix({latent, "/features"}, ctx.comm);
  par::check_all(ctx.comm, z.global_rows == s.velocity.global_series,
                 cat(latent, ":/features has ", z.global_rows, " rows but ", samples_path, " has ",
                     s.velocity.global_series, " samples"));
  const auto teacher = read_teacher_labels(teacher_path, s.velocity.global_series, ctx.comm);
  const LatentPhenotypes lp = latent_phenotypes(cfg, z, s, samples_path, "edge phenotype", ctx.comm);
  const auto& pca = lp.pca;
  const auto& all_rows = lp.scores;
  std::vector<std::int64_t> coarse = lp.coarse;
  const std::size_t phenotyped = lp.phenotyped;
  const double explained = lp.explained;
  const auto& all_lengths = lp.lengths;
  ml::ShardedMatrix scores = ml::shard_rows(all_rows, lp.cols, ctx.comm);
  std::vector<std::int64_t> deep_id = deep_phenotypes(cfg, all_rows, scores.cols, coarse);
  if (cfg.boolean("phenotype.per_experiment") && cfg.boolean("phenotype.match_experiments") &&
      cfg.boolean("phenotype.join_partial"))
    join_partial(all_rows, scores.cols, lp.group, s, coarse, deep_id);
  const auto deep = edge::name_deep_phenotypes(coarse, deep_id);
  // Local slices of the global label vectors.
  const auto first = static_cast<std::size_t>(s.velocity.first_series);
  auto local = [&](const std::vector<std::int64_t>& v) {
    return std::vector<std::int64_t>(v.begin() + static_cast<std::ptrdiff_t>(first),
                                     v.begin() + static_cast<std::ptrdiff_t>(first + s.size()));
  };
  // Everything is computed before the stop point (make_parent_dir below) and
  // only written after it, so a stop signal leaves every output or none. The
  // t-SNE (rank 0; the stage's longest step at scale) leaves its descent at
  // once on a stop signal.
  ml::TsneOptions to;
  to.seed = static_cast<std::uint64_t>(cfg.integer("run.seed"));
  to.progress_interval_s = cfg.real("run.progress_interval_s");
  // Perplexity P needs more than P + 1 samples (each point's P-nearest set).
  const bool enough = static_cast<double>(scores.global_rows) > to.perplexity + 1.0;
  const bool with_tsne = cfg.boolean("phenotype.tsne") && scores.global_rows <= to.max_points && enough;
  if (cfg.boolean("phenotype.tsne") && !with_tsne)
    core::Log::warn(enough ? cat("edge phenotype: no t-SNE of ", scores.global_rows, " samples (more than ",
                                 to.max_points, "); embed phenotypes.h5:/pca_scores with `phenoscale ml embed` and a larger "
                                 "embed.max_points, or set phenotype.tsne = false")
                           : cat("edge phenotype: no t-SNE of ", scores.global_rows, " samples (perplexity ",
                                 to.perplexity, " needs more than ", to.perplexity + 1, ")"));
  std::vector<float> tsne;
  if (with_tsne)  // agreed: an error on rank 0 is every rank's, not a hang
    par::collectively(ctx.comm, [&] {
      if (ctx.comm.is_root()) tsne = ml::tsne(all_rows, scores.global_rows, scores.cols, to).coordinates;
    });
  if (with_tsne) par::stop_point(ctx.comm, "edge phenotype: t-SNE");  // a stopped t-SNE has no layout
  // Profiles and the scoring summary on rank 0 from the gathered series.
  const auto values = ctx.comm.gatherv(s.velocity.values);
  const auto all_teacher = ctx.comm.gatherv(teacher);  // rank 0 scores, writes and logs
  const bool has_truth = ctx.comm.allreduce_max<int>(s.truth.empty() ? 0 : 1) == 1;
  const auto all_truth = has_truth ? ctx.comm.gatherv(s.truth) : std::vector<std::int64_t>{};
  Scores sc;
  if (has_truth)
    par::collectively(ctx.comm, [&] {
      if (ctx.comm.is_root()) sc = score(all_truth, all_teacher, coarse, deep_id, deep);
    });
  std::vector<std::vector<double>> profiles;
  if (ctx.comm.is_root()) {
    std::vector<std::int64_t> offsets{0};
    for (auto l : all_lengths) offsets.push_back(offsets.back() + l);
    profiles = mean_profiles(cfg, values, offsets, coarse);
  }
  std::string rows = ctx.comm.is_root() ? "sample_id,cell_id,condition,teacher_cluster,phenotype,deep_phenotype\n" : "";
  for (std::uint64_t i = 0; i < s.size(); ++i)
    rows += cat(io::csv_field(s.sample_text(i)), ",", io::csv_field(s.cell_text(s.cell_id[i])), ",",
                io::csv_field(s.conditions[static_cast<std::size_t>(s.condition[i])]), ",",
                teacher[i], ",", coarse[first + i], ",", deep[first + i], "\n");
  const std::string csv = output_path(cfg, cfg.string("phenotype.output"));
  const std::string h5 = output_path(cfg, cfg.string("phenotype.h5"));
  const std::string base = without_suffix(csv, ".csv");
  begin_outputs(ctx, {csv, h5, base + "_truth.csv", base + "_profiles.csv", base + "_summary.csv"});
  io::write_text_in_rank_order(csv, rows, ctx.comm);
  {
    io::H5File out = io::H5File::create(h5, ctx.comm);
    write_edge_samples(out, s);
    io::write_samples(out, "/teacher_cluster", teacher, {});
    io::write_samples(out, "/phenotype", local(coarse), {});
    io::write_samples(out, "/deep_phenotype", local(deep_id), {});
    io::write_samples(out, "/pca_scores", scores.data, {scores.cols});
    ml::save_pca(out, pca);
    if (with_tsne) {
      const auto n = ctx.comm.is_root() ? scores.global_rows : 0;
      io::write_samples(out, "/tsne", tsne.data(), n, {2});
    }
    io::write_provenance(out, stage_provenance(ctx, {latent, samples_path, teacher_path}));
    out.commit();
  }
  par::collectively(ctx.comm, [&] {
    if (!ctx.comm.is_root()) return;
    if (has_truth) write_truth_composition(base + "_truth.csv", all_truth, coarse);
    io::write_csv_table(base + "_profiles.csv", PROFILE_HEADER, profiles);
    std::int64_t phenotypes = *std::max_element(coarse.begin(), coarse.end()) + 1;
    std::int64_t deeps = *std::max_element(deep_id.begin(), deep_id.end()) + 1;
    io::write_csv_table(base + "_summary.csv", {"scored_against"}, {{has_truth ? "planted truth (simulation)" : "none"}},
                        {"samples", "phenotyped", "phenotypes", "deep_phenotypes", "pca_explained_variance",
                         "teacher_ari_all", "teacher_ari", "phenotype_ari", "deep_ari", "rare_precision", "rare_recall"},
                        {{double(coarse.size())}, {double(phenotyped)}, {double(phenotypes)}, {double(deeps)},
                         {explained}, {sc.teacher_ari_all}, {sc.teacher_ari}, {sc.phenotype_ari}, {sc.deep_ari},
                         {sc.rare_precision}, {sc.rare_recall}});
  });
  core::Log::info(cat("edge phenotype: ", coarse.size(), " samples (", phenotyped, " of at least ",
                      cfg.integer("phenotype.min_frames"), " frames phenotyped), PCA ", pca.n_components(), " components (",
                      explained, " of the variance), ", *std::max_element(coarse.begin(), coarse.end()) + 1,
                      " phenotypes, ", *std::max_element(deep_id.begin(), deep_id.end()) + 1, " deep phenotypes -> ",
                      csv));
  if (has_truth)
    core::Log::info(cat("edge phenotype: scored against the planted truth (simulation): on the phenotyped samples "
                        "ARI teacher ", sc.teacher_ari, ", phenotype ", sc.phenotype_ari, ", deep ", sc.deep_ari, "; rare sub-phenotype best matched by ",
                        sc.rare_deep, " (precision ", sc.rare_precision, ", recall ", sc.rare_recall, "); teacher on all matched samples ",
                        sc.teacher_ari_all));
}

}  // namespace phenoscale::app
