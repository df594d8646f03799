// edge denoise / teacher (docs/cli.md "edge"; docs/methods.md §3.2–3.3).
//   mpirun -n 2 phenoscale edge denoise -c inputs/edge/demo.toml   → denoised.h5
//   mpirun -n 2 phenoscale edge teacher -c inputs/edge/demo.toml   → teacher.h5, teacher.csv, teacher_sweep.csv,
//                                                                    teacher_profiles.csv
// The teacher is DeepHACKS' ACF pre-clustering (Ma et al. 2024, §2 "ACF-based
// clustering"): length pooling with noise padding, z-normalisation, SAX, the
// ACF of the symbol series, a kNN graph on the ACF vectors by the distributed
// exact kNN (no N × N distance matrix), union-symmetrised, community detection,
// and the neighbour count K chosen by silhouette (or Davies–Bouldin). Padding
// noise is drawn from Rng(run.seed, edge_padding, global sample index), so the
// vectors, and everything after them, do not depend on the rank count.
#include <algorithm>
#include <cmath>
#include <limits>

#include "phenoscale/app/edge_common.hpp"
#include "phenoscale/app/edge_stages.hpp"
#include "phenoscale/app/stage_io.hpp"
#include "phenoscale/core/error.hpp"
#include "phenoscale/core/log.hpp"
#include "phenoscale/core/progress.hpp"
#include "phenoscale/core/rng.hpp"
#include "phenoscale/edge/emd.hpp"
#include "phenoscale/edge/phenotype.hpp"
#include "phenoscale/edge/sax.hpp"
#include "phenoscale/io/csv.hpp"
#include "phenoscale/io/provenance.hpp"
#include "phenoscale/io/sample_array.hpp"
#include "phenoscale/io/sharded_text.hpp"
#include "phenoscale/ml/knn.hpp"
#include "phenoscale/ml/landmarks.hpp"
#include "phenoscale/ml/louvain.hpp"
#include "phenoscale/ml/matrix.hpp"
#include "phenoscale/ml/quality.hpp"
#include "phenoscale/ml/sweep.hpp"
#include "phenoscale/par/agree.hpp"
#include "phenoscale/par/check_deck.hpp"
#include "phenoscale/par/parallel_for.hpp"

namespace phenoscale::app {
namespace {

using core::cat;

std::vector<double> sample_velocity(const EdgeSamples& s, std::uint64_t i) {
  return {s.velocity.series(i), s.velocity.series(i) + s.velocity.length(i)};
}

edge::EmdOptions emd_options(const core::Config& cfg) {
  edge::EmdOptions o;
  const auto stop = cfg.real_list("denoise.stop");
  if (stop.size() != 3) throw ConfigError(cat("denoise.stop has ", stop.size(), " values; expected 3 (sd1, sd2, tolerance)"));
  o.sd1 = stop[0];
  o.sd2 = stop[1];
  o.tolerance = stop[2];
  o.max_sifts = static_cast<int>(cfg.integer("denoise.max_sifts"));
  edge::check_options(o, cat("denoise.stop = [", stop[0], ", ", stop[1], ", ", stop[2], "]"));
  return o;
}

// "partial": the ACF is undefined beyond a series' length and those lags are
// left out of the distance (DeepHACKS' pooled partial distances); "zero-filled":
// they are 0 and every lag counts.
ml::Distance teacher_distance(const core::Config& cfg) {
  return cfg.string("teacher.distance") == "partial" ? ml::Distance::nan_euclidean : ml::Distance::euclidean;
}

// The ACF vector of every local sample, each padded to its length pool's
// longest length; under nan-euclidean the lags a sample lacks are NaN.
ml::ShardedMatrix acf_vectors(const core::Config& cfg, const EdgeSamples& s, ml::Distance distance,
                              const par::Comm& comm) {
  std::vector<int> local_lengths;
  for (std::uint64_t i = 0; i < s.size(); ++i) local_lengths.push_back(static_cast<int>(s.velocity.length(i)));
  const auto lengths = comm.allgatherv(local_lengths);
  const auto pools = edge::pool_lengths(lengths, static_cast<int>(cfg.integer("teacher.pool_tolerance")));
  const int lags = static_cast<int>(cfg.integer("teacher.max_lag"));
  ml::ShardedMatrix x;
  x.cols = static_cast<std::uint64_t>(lags);
  x.local_rows = s.size();
  x.global_rows = lengths.size();
  x.first_row = s.velocity.first_series;
  x.data.resize(x.local_rows * x.cols);
  const auto seed = static_cast<std::uint64_t>(cfg.integer("run.seed"));
  const bool partial = distance == ml::Distance::nan_euclidean;
  const int frames_per_symbol = static_cast<int>(cfg.integer("teacher.frames_per_symbol"));
  const int alphabet = static_cast<int>(cfg.integer("teacher.alphabet"));
  const int tail = static_cast<int>(cfg.integer("teacher.padding_tail"));
  par::collectively(comm, [&] {
    par::parallel_for(static_cast<std::int64_t>(s.size()), 64, [&](std::int64_t i) {
      const std::uint64_t global = x.first_row + static_cast<std::uint64_t>(i);
      core::Rng rng(seed, core::Stream::edge_padding, global);
      const auto padded = edge::pad_with_noise(sample_velocity(s, static_cast<std::uint64_t>(i)),
                                               pools.target_length[global], rng, tail);
      auto acf = edge::sax_acf(padded, frames_per_symbol, alphabet, lags);
      if (partial) edge::mark_undefined_lags(acf, edge::symbol_count(padded.size(), frames_per_symbol));
      std::copy(acf.begin(), acf.end(), x.row(static_cast<std::uint64_t>(i)));
    });
  });
  if (partial) {
    std::int64_t undefined = 0;
    for (std::uint64_t i = 0; i < x.local_rows; ++i) undefined += std::isnan(x.row(i)[0]) ? 1 : 0;
    undefined = comm.allreduce_sum(undefined);
    par::check_all(comm, undefined == 0,
                   cat("edge teacher: ", undefined, " sample(s) shorter than 2 SAX symbols (",
                       frames_per_symbol + 1,
                       " frames or more needed): no ACF lag is defined; drop them or set teacher.distance = \"zero-filled\""));
  }
  return x;
}

// The profile table from every sample (rank 0), summed in sample order.
void write_profile_table(const std::string& path, const std::vector<std::int64_t>& all_lengths,
                         const std::vector<std::int64_t>& all_labels, const std::vector<float>& values,
                         std::int64_t clusters, std::int64_t before) {
  const std::int64_t width = all_lengths.empty() ? 0 : *std::max_element(all_lengths.begin(), all_lengths.end());
  std::vector<double> sum(static_cast<std::size_t>(clusters * width), 0.0), count(sum.size(), 0.0);
  std::size_t at = 0;
  for (std::size_t i = 0; i < all_lengths.size(); ++i)
    for (std::int64_t t = 0; t < all_lengths[i]; ++t, ++at) {
      const auto k = static_cast<std::size_t>(all_labels[i] * width + t);
      sum[k] += values[at];
      count[k] += 1;
    }
  std::vector<double> cluster, frame, mean, n;
  for (std::int64_t c = 0; c < clusters; ++c)
    for (std::int64_t t = 0; t < width; ++t) {
      const auto k = static_cast<std::size_t>(c * width + t);
      if (count[k] == 0) continue;
      cluster.push_back(static_cast<double>(c));
      frame.push_back(static_cast<double>(t - before));
      mean.push_back(sum[k] / count[k]);
      n.push_back(count[k]);
    }
  io::write_csv_table(path, {"cluster", "frame", "mean_velocity_nm_s", "samples"}, {cluster, frame, mean, n});
}

// Mean velocity per cluster and aligned frame (onset at frame `before`),
// summed on rank 0 in sample order: the same bits at any rank count.
void write_profiles(const std::string& path, const EdgeSamples& s, const std::vector<std::int64_t>& labels,
                    std::int64_t clusters, std::int64_t before, const par::Comm& comm) {
  std::vector<std::int64_t> lengths;
  for (std::uint64_t i = 0; i < s.size(); ++i) lengths.push_back(static_cast<std::int64_t>(s.velocity.length(i)));
  const auto all_lengths = comm.gatherv(lengths);
  const auto all_labels = comm.gatherv(labels);
  const auto values = comm.gatherv(s.velocity.values);
  par::collectively(comm, [&] {
    if (comm.is_root()) write_profile_table(path, all_lengths, all_labels, values, clusters, before);
  });
}

// Community detection fragments kNN graphs of ACF vectors unless K is a
// sizeable fraction of the samples (docs/methods.md §3.2): at the paper's
// scale (~37,000 samples) the default grid, made for ~5,000, ends in
// hundreds of communities, and the student would be guided by hundreds of
// classes. The paper found 6 pre-phenotypes; past this many, say so.
constexpr std::int64_t kFragmentedClusters = 20;

void warn_if_fragmented(std::int64_t clusters, std::int64_t k, std::int64_t max_k, std::int64_t clustered) {
  if (clusters <= kFragmentedClusters) return;
  core::Log::warn(cat("edge teacher: the chosen partition has ", clusters, " communities (K = ", k,
                      "; the largest K of teacher.neighbours, ", max_k, ", is ",
                      std::round(1000.0 * static_cast<double>(max_k) / static_cast<double>(clustered)) / 10.0,
                      " % of the ", clustered, " samples clustered): ACF kNN graphs fragment unless K is a sizeable "
                      "fraction of them; give teacher.neighbours larger values, or cluster fewer samples with "
                      "teacher.landmarks (docs/methods.md §3.2)"));
}

}  // namespace

void add_edge_teacher_keys(core::Schema& s) {
  s.string("denoise.input", "", "Aligned samples (default: events.output, also where edge import writes)")
      .string("denoise.output", "denoised.h5", "Denoised samples, inside run.output_dir")
      .boolean("denoise.enabled", true, "false: copy the velocities unchanged (to compare with and without EMD)")
      .real("denoise.hurst_threshold", 0.33, "IMFs whose Hurst exponent is below this are removed (every one)", 0, 2)
      .real_list("denoise.stop", {0.05, 0.5, 0.05}, "EMD stop criteria [sd1, sd2, tolerance] (Rilling et al. 2003)")
      .integer("denoise.max_sifts", 2000, "Sifting iterations per IMF at most", 1, 1e7)
      .string("teacher.input", "", "Samples (default: denoise.output)")
      .string("teacher.output", "teacher.h5", "ACF vectors, labels and the K sweep, inside run.output_dir")
      .integer("teacher.pool_tolerance", 6, "Samples whose lengths differ by at most this are pooled and padded", 0, 1e6)
      .integer("teacher.padding_tail", 6, "Noise padding: mean and sd of this many last values", 1, 1e6)
      .integer("teacher.frames_per_symbol", 4, "SAX: frames per symbol", 1, 1e6)
      .integer("teacher.alphabet", 4, "SAX: alphabet size (Gaussian breakpoints)", 2, 20)
      .integer("teacher.max_lag", 13, "ACF of the symbols at lags 1..max_lag (the vector's length)", 1, 1000)
      .string("teacher.knn", "deduplicated",
              "Exact kNN search: deduplicated (once per distinct ACF vector; all rows gathered on every rank) or "
              "ring (row blocks passed around the ranks; for data without repeats); the same neighbours",
              {"deduplicated", "ring"})
      .string("teacher.distance", "partial",
              "partial: ACF lags beyond a series' length are missing and left out of the distance (scikit-learn's "
              "nan_euclidean; DeepHACKS' pooled partial distances); zero-filled: they are 0 and every lag counts",
              {"partial", "zero-filled"})
      .string("teacher.method", "igraph-infomap", "Community detection (ml communities methods)", ml::community_methods())
      .integer_list("teacher.neighbours", {40, 80, 160, 320, 640},
                    "Neighbour counts K of the kNN graph to sweep (K < samples; larger K, fewer communities)", 1)
      .string("teacher.select", "davies-bouldin", "Choose K by the lowest Davies-Bouldin or the highest silhouette",
              {"silhouette", "davies-bouldin"})
      .real("teacher.resolution", 1.0, "Modularity resolution γ (louvain, leiden)", 1e-6, 1e6)
      .integer("teacher.min_community_size", 10,
               "Communities with fewer samples join the community they have the most kNN edges into, before K is "
               "scored (PhenoGraph's min_cluster_size; 1: keep every community)",
               1, 1e9)
      .integer("teacher.landmarks", 0,
               "Cluster about this many samples drawn uniformly (the K sweep on them) and give every other sample "
               "its nearest landmarks' majority label (Seurat v5's sketch); 0: cluster every sample (the paper)",
               0, 1e12)
      .integer("teacher.landmark_votes", 15, "Nearest landmarks whose majority labels a sample not drawn", 1, 1e6);
}

void edge_denoise(const StageContext& ctx) {
  const auto& cfg = ctx.config;
  edge::EmdOptions options;
  par::collectively(ctx.comm, [&] { options = emd_options(cfg); });  // one error line, before reading
  const std::string input = input_or_output(cfg, "denoise.input", "events.output");
  EdgeSamples s = read_edge_samples(input, ctx.comm);
  const double threshold = cfg.real("denoise.hurst_threshold");
  const bool enabled = cfg.boolean("denoise.enabled");
  std::vector<std::vector<double>> out(s.size());
  std::vector<std::int64_t> removed(s.size(), 0), imfs(s.size(), 0);
  core::Progress progress("edge denoise: samples", s.velocity.global_series, ctx.comm.size(),
                          cfg.real("run.progress_interval_s"));
  par::collectively(ctx.comm, [&] {
    par::parallel_for(static_cast<std::int64_t>(s.size()), 16, [&](std::int64_t i) {
      const auto k = static_cast<std::size_t>(i);
      auto v = sample_velocity(s, k);
      if (!enabled) {
        out[k] = std::move(v);
        return;
      }
      const auto d = edge::denoise_velocity(v, s.frame_s, threshold, options);
      out[k] = d.velocity;
      removed[k] = d.removed;
      imfs[k] = d.imfs;
    });
  });
  progress.advance(s.size());
  progress.finish();
  io::RaggedSeries<float> denoised;
  denoised.first_series = s.velocity.first_series;
  denoised.global_series = s.velocity.global_series;
  for (const auto& v : out) {
    std::vector<float> f(v.begin(), v.end());
    denoised.push_back(f.data(), f.size());
  }
  s.velocity = std::move(denoised);
  const std::string path = output_path(cfg, cfg.string("denoise.output"));
  make_parent_dir(ctx, path);
  io::H5File file = io::H5File::create(path, ctx.comm);
  write_edge_samples(file, s);
  io::write_samples(file, "/imfs", imfs, {});
  io::write_samples(file, "/removed_imfs", removed, {});
  file.write_attribute("/", "hurst_threshold", threshold);
  io::write_provenance(file, stage_provenance(ctx, {input}));
  file.commit();
  std::int64_t total_removed = 0, total_imfs = 0;
  for (std::size_t k = 0; k < removed.size(); ++k) total_removed += removed[k], total_imfs += imfs[k];
  core::Log::info(cat("edge denoise: ", s.velocity.global_series, " samples, ", ctx.comm.allreduce_sum(total_removed),
                      " of ", ctx.comm.allreduce_sum(total_imfs), " IMFs removed (H < ", threshold, ") -> ", path));
}

void edge_teacher(const StageContext& ctx) {
  const auto& cfg = ctx.config;
  const std::string input = input_or_output(cfg, "teacher.input", "denoise.output");
  const EdgeSamples s = read_edge_samples(input, ctx.comm);
  const ml::Distance distance = teacher_distance(cfg);
  par::check_deck(ctx.comm, distance == ml::Distance::euclidean || cfg.string("teacher.knn") == "deduplicated",
                  "teacher.knn = \"ring\" measures Euclidean distances only; with teacher.distance = \"partial\" use "
                  "teacher.knn = \"deduplicated\"");
  ml::ShardedMatrix acf;
  {
    core::ScopedTimer t(ctx.timers, "sax-acf");
    acf = acf_vectors(cfg, s, distance, ctx.comm);
  }
  // With teacher.landmarks below the sample count, the graph, the communities
  // and the sweep see a uniform sample of the ACF vectors, and every other
  // sample takes its nearest landmarks' majority label (ml/landmarks.hpp).
  const auto landmark_target = static_cast<std::uint64_t>(cfg.integer("teacher.landmarks"));
  const bool sketch = landmark_target > 0 && landmark_target < acf.global_rows;
  ml::Landmarks landmarks;
  if (sketch) {
    landmarks = ml::draw_landmarks(acf, landmark_target, static_cast<std::uint64_t>(cfg.integer("run.seed")), ctx.comm);
    par::check_deck(ctx.comm, landmarks.rows.global_rows >= static_cast<std::uint64_t>(cfg.integer("teacher.landmark_votes")),
                    cat("teacher.landmarks = ", landmark_target, " drew ", landmarks.rows.global_rows, " of the ",
                        acf.global_rows, " samples, fewer than teacher.landmark_votes = ",
                        cfg.integer("teacher.landmark_votes"), "; raise teacher.landmarks"));
  }
  const ml::ShardedMatrix& clustered = sketch ? landmarks.rows : acf;
  const auto n = static_cast<std::int64_t>(clustered.global_rows);
  const auto neighbours = neighbour_counts(cfg, "teacher.neighbours", n,
                                           sketch ? cat("landmarks drawn from ", input) : cat("samples in ", input), ctx.comm);
  const auto max_k = *std::max_element(neighbours.begin(), neighbours.end());
  ml::CommunityOptions communities;
  communities.method = cfg.string("teacher.method");
  communities.resolution = cfg.real("teacher.resolution");
  communities.min_size = static_cast<std::uint64_t>(cfg.integer("teacher.min_community_size"));
  communities.seed = static_cast<std::uint64_t>(cfg.integer("run.seed"));
  ml::SilhouetteOptions quality;
  quality.seed = communities.seed;
  quality.distance = distance;
  // The exact kNN once, at the largest K (smaller K are its prefixes). SAX/ACF
  // vectors repeat heavily (a few symbols, short series), so by default the
  // search runs once per distinct vector: the same result as the ring search, bit for bit.
  ml::KnnResult knn;
  {
    core::ScopedTimer t(ctx.timers, "knn");
    knn = cfg.string("teacher.knn") == "deduplicated"
              ? ml::exact_knn_deduplicated(clustered, static_cast<std::uint64_t>(max_k), ctx.comm, distance)
              : ml::exact_knn(clustered, static_cast<std::uint64_t>(max_k), ctx.comm);
  }
  ml::SweepResult sweep;
  {
    core::ScopedTimer t(ctx.timers, "communities-quality");
    sweep = ml::sweep_communities(clustered, neighbours, communities, quality, {}, ctx.comm, &knn);
  }
  const std::size_t chosen =
      cfg.string("teacher.select") == "davies-bouldin" ? sweep.lowest_davies_bouldin() : sweep.best;
  std::vector<std::int64_t> labels = sweep.point_labels[chosen];
  std::vector<double> silhouettes = sweep.point_silhouettes[chosen];
  if (sketch) {
    core::ScopedTimer t(ctx.timers, "landmark-vote");
    labels = ml::project_landmark_labels(acf, landmarks, labels,
                                         static_cast<std::uint64_t>(cfg.integer("teacher.landmark_votes")), distance,
                                         ctx.comm);
    silhouettes = ml::at_source_rows(acf, landmarks, ctx.comm.allgatherv(silhouettes),
                                     std::numeric_limits<double>::quiet_NaN());
  }
  const auto& point = sweep.points[chosen];
  const std::int64_t clusters = point.clusters;
  double ari = std::numeric_limits<double>::quiet_NaN();
  const bool truth = ctx.comm.allreduce_max<int>(s.truth.empty() ? 0 : 1) == 1;
  if (truth) {
    auto [t, p] = scored_pairs(s, labels, true);
    ari = ml::adjusted_rand_index(t, p, ctx.comm);
  }
  const std::string path = output_path(cfg, cfg.string("teacher.output"));
  const std::string base = without_suffix(path, ".h5");
  begin_outputs(ctx, {path, base + ".csv", base + "_sweep.csv", base + "_profiles.csv"});
  {
    io::H5File out = io::H5File::create(path, ctx.comm);
    io::write_samples(out, "/acf", acf.data, {acf.cols});
    io::write_samples(out, "/labels", labels, {});
    // Each sample's silhouette in the chosen partition, kept by the sweep (NaN
    // outside the silhouette's sample above its exact limit, and for samples
    // that are not landmarks): the silhouette plot.
    io::write_samples(out, "/silhouette", silhouettes, {});
    write_sample_ids(out, s);
    out.write_attribute("/", "clusters", clusters);
    out.write_attribute("/", "neighbours", point.parameter);
    out.write_attribute("/", "method", cfg.string("teacher.method"));
    out.write_attribute("/", "distance", std::string(ml::distance_name(distance)));
    out.write_attribute("/", "silhouette", point.silhouette);
    out.write_attribute("/", "davies_bouldin", point.davies_bouldin);
    out.write_attribute("/", "landmarks", static_cast<std::int64_t>(clustered.global_rows));
    if (truth) out.write_attribute("/", "ari_planted_coarse", ari);
    io::write_provenance(out, stage_provenance(ctx, {input}));
    out.commit();
  }
  io::write_text_in_rank_order(base + ".csv", [&] {
    std::string text = ctx.comm.is_root() ? "sample_id,teacher_cluster\n" : "";
    for (std::uint64_t i = 0; i < s.size(); ++i) text += cat(io::csv_field(s.sample_text(i)), ",", labels[i], "\n");
    return text;
  }(), ctx.comm);
  par::collectively(ctx.comm, [&] {
    if (!ctx.comm.is_root()) return;
    std::vector<double> k, c, sil, db, q, chosen_col;
    for (std::size_t j = 0; j < sweep.points.size(); ++j) {
      const auto& p = sweep.points[j];
      k.push_back(static_cast<double>(p.parameter));
      c.push_back(static_cast<double>(p.clusters));
      sil.push_back(p.silhouette);
      db.push_back(p.davies_bouldin);
      q.push_back(p.objective);
      chosen_col.push_back(j == chosen ? 1 : 0);
    }
    io::write_csv_table(base + "_sweep.csv", {"neighbours", "clusters", "silhouette", "davies_bouldin", "modularity", "chosen"},
                        {k, c, sil, db, q, chosen_col});
  });
  write_profiles(base + "_profiles.csv", s, labels, clusters, ctx.config.integer("events.before"), ctx.comm);
  warn_if_fragmented(clusters, point.parameter, max_k, n);
  core::Log::info(cat("edge teacher: ", s.velocity.global_series, " samples",
                      sketch ? cat(" (", n, " landmarks clustered, the others labelled by their ",
                                   cfg.integer("teacher.landmark_votes"), " nearest)")
                             : std::string(),
                      ", K = ", point.parameter, " neighbours (by ",
                      cfg.string("teacher.select"), "), ", clusters, " clusters (", cfg.string("teacher.method"),
                      "), silhouette ", point.silhouette, ", Davies-Bouldin ", point.davies_bouldin,
                      truth ? cat(", ARI against the planted phenotypes (scoring only) ", ari) : std::string(),
                      " -> ", path));
}

}  // namespace phenoscale::app
