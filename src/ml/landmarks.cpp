// Landmark (sketch) clustering: the draw and the projection of labels
// (include/phenoscale/ml/landmarks.hpp; docs/methods.md §3.2).
#include "phenoscale/ml/landmarks.hpp"

#include <algorithm>
#include <map>
#include <string>
#include <utility>

#include "phenoscale/core/error.hpp"
#include "phenoscale/core/rng.hpp"
#include "phenoscale/par/agree.hpp"
#include "phenoscale/par/parallel_for.hpp"

namespace phenoscale::ml {

Landmarks draw_landmarks(const ShardedMatrix& x, std::uint64_t m, std::uint64_t seed, const par::Comm& comm) {
  if (m < 1) throw ConfigError("landmarks: at least 1 landmark row is needed, got 0");
  const double rate = static_cast<double>(m) / static_cast<double>(x.global_rows);
  std::vector<std::uint64_t> local_source;
  std::vector<float> local_rows;
  for (std::uint64_t i = 0; i < x.local_rows; ++i) {
    core::Rng rng(seed, core::Stream::landmarks, x.first_row + i);
    if (rate < 1.0 && rng.uniform() >= rate) continue;
    local_source.push_back(x.first_row + i);
    local_rows.insert(local_rows.end(), x.row(i), x.row(i) + x.cols);
  }
  Landmarks out;
  out.source_row = comm.allgatherv(local_source);  // ranks hold consecutive blocks: global order
  out.rows = shard_rows(comm.allgatherv(local_rows), x.cols, comm);
  return out;
}

namespace {

double squared(const float* a, const float* b, std::uint64_t d, Distance distance) {
  if (distance == Distance::nan_euclidean) return nan_squared_distance(a, b, d);
  double s = 0.0;
  for (std::uint64_t c = 0; c < d; ++c) {
    const double e = static_cast<double>(a[c]) - static_cast<double>(b[c]);
    s += e * e;
  }
  return s;
}

// The majority label of the k nearest rows of `all` (m × d) to `row`; ties to
// the label whose first member is nearer.
std::int64_t vote(const float* row, const std::vector<float>& all, const std::vector<std::int64_t>& labels,
                  std::uint64_t d, std::uint64_t k, Distance distance) {
  std::vector<std::pair<double, std::uint64_t>> near(labels.size());
  for (std::uint64_t j = 0; j < labels.size(); ++j) near[j] = {squared(row, all.data() + j * d, d, distance), j};
  std::partial_sort(near.begin(), near.begin() + static_cast<std::ptrdiff_t>(k), near.end());
  std::map<std::int64_t, std::pair<std::uint64_t, std::uint64_t>> count;  // label -> (votes, first rank)
  for (std::uint64_t r = 0; r < k; ++r) {
    auto [it, fresh] = count.try_emplace(labels[near[r].second], 0, r);
    ++it->second.first;
  }
  auto best = count.begin();
  for (auto it = count.begin(); it != count.end(); ++it)
    if (it->second.first > best->second.first ||
        (it->second.first == best->second.first && it->second.second < best->second.second))
      best = it;
  return best->first;
}

}  // namespace

std::vector<std::int64_t> project_landmark_labels(const ShardedMatrix& x, const Landmarks& landmarks,
                                                  const std::vector<std::int64_t>& landmark_labels, std::uint64_t k,
                                                  Distance distance, const par::Comm& comm) {
  bool labels_ok = landmark_labels.size() == landmarks.rows.local_rows &&
                   landmarks.source_row.size() == landmarks.rows.global_rows;
  for (const auto l : landmark_labels) labels_ok = labels_ok && l >= 0;
  par::check_all(comm, labels_ok,
                 "landmarks: one label >= 0 per local landmark row and one source row per landmark expected, found " +
                     std::to_string(landmark_labels.size()) + " labels for " +
                     std::to_string(landmarks.rows.local_rows) + " rows (or a negative label)");
  const auto all = comm.allgatherv(landmarks.rows.data);
  const auto labels = comm.allgatherv(landmark_labels);
  if (k < 1 || k > labels.size())
    throw ConfigError("landmarks: the vote needs 1 to " + std::to_string(labels.size()) +
                      " nearest landmarks (the landmark count), got " + std::to_string(k));
  auto out = at_source_rows<std::int64_t>(x, landmarks, labels, -1);
  par::collectively(comm, [&] {
    par::parallel_for(static_cast<std::int64_t>(x.local_rows), 16, [&](std::int64_t i) {
      auto& label = out[static_cast<std::size_t>(i)];
      if (label < 0) label = vote(x.row(static_cast<std::uint64_t>(i)), all, labels, x.cols, k, distance);
    });
  });
  return out;
}

}  // namespace phenoscale::ml
