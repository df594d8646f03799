// Phenotypes across paired experiments (DeepHACKS, Ma et al. 2024, Methods,
// "Deep phenotyping"; docs/methods.md §3.4): the clouds that clustering
// labels make in the PCA scores of the student's latent, and the rule that
// joins a phenotype found in only some paired experiments to the deep
// phenotype it is in the others.
//
// Why the join: each paired experiment is clustered on its own, so a small
// sub-phenotype (the planted rare early bursts, ≈ 5 %) is a community of its
// own where it is dense enough and stays inside its parent phenotype where it
// is not. Matching the experiments' communities leaves the former over as a
// new phenotype; the deep sub-clustering, which pools the experiments, cuts
// the latter out of the parent under another name — the same samples under
// two names. The join gives them one.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace phenoscale::edge {

// Every label's cloud (labels ≥ 0; −1 rows are left out): its centroid, RMS
// radius (root mean squared distance of its rows to the centroid), size and
// the group (paired experiment) of its last row — a community belongs to one.
struct Clouds {
  std::uint64_t cols = 0;
  std::vector<double> centroid;  // labels × cols
  std::vector<double> radius;
  std::vector<double> count;
  std::vector<std::int64_t> owner;
  double distance(std::size_t a, std::size_t b) const;  // of the centroids (Euclidean)
  // The gate of the experiments' matching: the clouds overlap while their
  // centroid distance is at most the sum of their RMS radii.
  double gate(std::size_t a, std::size_t b) const { return radius[a] + radius[b]; }
  bool overlap(std::size_t a, std::size_t b) const { return distance(a, b) <= gate(a, b); }
};
// rows: N × cols (row-major); group and labels: N. Labels run 0..max.
Clouds label_clouds(const std::vector<float>& rows, std::uint64_t cols, const std::vector<std::int64_t>& group,
                    const std::vector<std::int64_t>& labels);

// One deep phenotype of a partial phenotype moved into another's deep phenotype.
struct PartialJoin {
  std::int64_t phenotype = -1, deep = -1;  // the partial phenotype and its deep phenotype (ids before the join)
  std::int64_t into_phenotype = -1, into_deep = -1;
  double distance = 0, gate = 0;  // centroid distance, sum of RMS radii
  std::size_t samples = 0;        // moved
  std::vector<std::int64_t> experiments;  // those the partial phenotype was found in
};

// The join (docs/methods.md §3.4, "Phenotypes of some experiments only"): a
// phenotype is partial when it has no samples in some group (paired
// experiment) that has phenotyped samples. Each deep phenotype of a partial
// phenotype moves into the nearest deep phenotype whose cloud it overlaps
// among the sub-clusters of complete phenotypes (phenotypes found in every
// group and split into two or more deep phenotypes). A complete phenotype
// left whole is no candidate: the experiments' matching already weighed the
// partial phenotype against it and kept them apart. With fewer than two
// groups nothing is partial. coarse and deep (N, −1: not phenotyped) are
// relabelled in place; phenotypes left empty are dropped and the rest
// renumbered in order; deep ids keep theirs (renumber with name_deep_phenotypes).
std::vector<PartialJoin> join_partial_phenotypes(const std::vector<float>& rows, std::uint64_t cols,
                                                 const std::vector<std::int64_t>& group,
                                                 std::vector<std::int64_t>& coarse, std::vector<std::int64_t>& deep);

// Deep phenotype ids numbered 0.. phenotype by phenotype, and within one by
// decreasing size (ties: the lower old id); names "p-k", k from 1 in that
// order ("-1" for rows not phenotyped). deep is renumbered in place.
std::vector<std::string> name_deep_phenotypes(const std::vector<std::int64_t>& coarse, std::vector<std::int64_t>& deep);

}  // namespace phenoscale::edge
