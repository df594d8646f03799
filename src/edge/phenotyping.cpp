// Label clouds and the join of partial phenotypes (edge/phenotyping.hpp;
// docs/methods.md §3.4). Everything here runs on the gathered rows, the same
// on every rank, so the result does not depend on the rank count.
#include "phenoscale/edge/phenotyping.hpp"

#include <algorithm>
#include <cmath>
#include <map>
#include <set>

#include "phenoscale/ml/distance.hpp"

namespace phenoscale::edge {

double Clouds::distance(std::size_t a, std::size_t b) const {
  return std::sqrt(ml::nan_squared_distance(&centroid[a * cols], &centroid[b * cols], cols));
}

Clouds label_clouds(const std::vector<float>& rows, std::uint64_t cols, const std::vector<std::int64_t>& group,
                    const std::vector<std::int64_t>& labels) {
  const std::int64_t top = labels.empty() ? -1 : *std::max_element(labels.begin(), labels.end());
  const auto n = static_cast<std::size_t>(top + 1);
  Clouds c{cols, std::vector<double>(n * cols, 0.0), std::vector<double>(n, 0.0), std::vector<double>(n, 0.0),
           std::vector<std::int64_t>(n, -1)};
  for (std::size_t i = 0; i < labels.size(); ++i) {
    if (labels[i] < 0) continue;
    const auto l = static_cast<std::size_t>(labels[i]);
    c.count[l] += 1;
    c.owner[l] = group[i];
    for (std::uint64_t j = 0; j < cols; ++j) c.centroid[l * cols + j] += rows[i * cols + j];
  }
  for (std::size_t l = 0; l < n; ++l)
    for (std::uint64_t j = 0; j < cols; ++j) c.centroid[l * cols + j] /= c.count[l];
  for (std::size_t i = 0; i < labels.size(); ++i) {
    if (labels[i] < 0) continue;
    const auto l = static_cast<std::size_t>(labels[i]);
    for (std::uint64_t j = 0; j < cols; ++j) {
      const double d = rows[i * cols + j] - c.centroid[l * cols + j];
      c.radius[l] += d * d;
    }
  }
  for (std::size_t l = 0; l < n; ++l) c.radius[l] = std::sqrt(c.radius[l] / c.count[l]);
  return c;
}

std::vector<PartialJoin> join_partial_phenotypes(const std::vector<float>& rows, std::uint64_t cols,
                                                 const std::vector<std::int64_t>& group,
                                                 std::vector<std::int64_t>& coarse, std::vector<std::int64_t>& deep) {
  std::set<std::int64_t> groups;
  std::map<std::int64_t, std::set<std::int64_t>> found_in;  // phenotype -> groups
  std::map<std::int64_t, std::set<std::int64_t>> parts;     // phenotype -> deep phenotypes
  std::map<std::int64_t, std::int64_t> parent;              // deep -> phenotype
  for (std::size_t i = 0; i < coarse.size(); ++i) {
    if (coarse[i] < 0) continue;
    groups.insert(group[i]);
    found_in[coarse[i]].insert(group[i]);
    parts[coarse[i]].insert(deep[i]);
    parent[deep[i]] = coarse[i];
  }
  std::vector<PartialJoin> joins;
  if (groups.size() < 2) return joins;
  const Clouds c = label_clouds(rows, cols, group, deep);
  std::vector<std::int64_t> candidates;  // sub-clusters of complete phenotypes
  for (const auto& [p, in] : found_in)
    if (in.size() == groups.size() && parts[p].size() >= 2) candidates.insert(candidates.end(), parts[p].begin(), parts[p].end());
  std::map<std::int64_t, std::size_t> into;  // deep -> its join
  for (const auto& [p, in] : found_in) {
    if (in.size() == groups.size()) continue;
    for (auto d : parts[p]) {
      PartialJoin j;
      for (auto e : candidates) {
        const auto a = static_cast<std::size_t>(d), b = static_cast<std::size_t>(e);
        const double dist = c.distance(a, b);
        if (dist > c.gate(a, b) || (j.into_deep >= 0 && dist >= j.distance)) continue;
        j.into_deep = e, j.distance = dist, j.gate = c.gate(a, b);
      }
      if (j.into_deep < 0) continue;
      j.phenotype = p, j.deep = d, j.into_phenotype = parent[j.into_deep];
      j.experiments.assign(in.begin(), in.end());
      into[d] = joins.size();
      joins.push_back(j);
    }
  }
  for (std::size_t i = 0; i < coarse.size(); ++i) {
    if (coarse[i] < 0) continue;
    const auto it = into.find(deep[i]);
    if (it == into.end()) continue;
    PartialJoin& j = joins[it->second];
    deep[i] = j.into_deep;
    coarse[i] = j.into_phenotype;
    ++j.samples;
  }
  // Drop the phenotypes left empty, keeping the order of the others.
  std::set<std::int64_t> left;
  for (auto p : coarse)
    if (p >= 0) left.insert(p);
  std::map<std::int64_t, std::int64_t> renumber;
  for (auto p : left) renumber[p] = static_cast<std::int64_t>(renumber.size());
  for (auto& p : coarse)
    if (p >= 0) p = renumber[p];
  for (auto& j : joins) j.into_phenotype = renumber[j.into_phenotype];  // j.phenotype keeps its old number (it may be gone)
  return joins;
}

std::vector<std::string> name_deep_phenotypes(const std::vector<std::int64_t>& coarse, std::vector<std::int64_t>& deep) {
  std::map<std::int64_t, std::map<std::int64_t, std::int64_t>> size;  // phenotype -> deep -> samples
  for (std::size_t i = 0; i < coarse.size(); ++i)
    if (coarse[i] >= 0) ++size[coarse[i]][deep[i]];
  std::map<std::int64_t, std::pair<std::int64_t, std::int64_t>> rename;  // old deep -> (new id, k)
  std::int64_t next = 0;
  for (const auto& [p, members] : size) {
    std::vector<std::pair<std::int64_t, std::int64_t>> order;  // (−size, old id)
    for (auto [d, n] : members) order.push_back({-n, d});
    std::sort(order.begin(), order.end());
    for (std::size_t k = 0; k < order.size(); ++k)
      rename[order[k].second] = {next + static_cast<std::int64_t>(k), static_cast<std::int64_t>(k + 1)};
    next += static_cast<std::int64_t>(order.size());
  }
  std::vector<std::string> names(coarse.size(), "-1");
  for (std::size_t i = 0; i < coarse.size(); ++i) {
    if (coarse[i] < 0) {
      deep[i] = -1;
      continue;
    }
    const auto [id, k] = rename[deep[i]];
    deep[i] = id;
    names[i] = std::to_string(coarse[i]) + "-" + std::to_string(k);
  }
  return names;
}

}  // namespace phenoscale::edge
