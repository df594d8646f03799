// Pieces shared by the exact (knn.cpp) and approximate (ann.cpp) kNN searches:
// the strict (distance, index) candidate order, a bounded top-k heap, the one
// squared-distance routine whose value enters a result, and the final layout.
// Keeping them in one place is what makes approximate_knn with probes = lists
// equal exact_knn bit for bit.
#pragma once

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <limits>
#include <vector>

#include "phenoscale/ml/knn.hpp"

namespace phenoscale::ml::detail {

struct Candidate {
  double d2;
  std::int64_t index;
};

// Strict order that makes the result unique: nearer first, then lower index.
inline bool nearer(const Candidate& a, const Candidate& b) {
  return a.d2 < b.d2 || (a.d2 == b.d2 && a.index < b.index);
}

// The k best candidates of one row; a max-heap so the worst is evicted in O(log k).
class TopK {
 public:
  explicit TopK(std::size_t k = 0) : k_(k) { heap_.reserve(k); }
  bool full() const { return heap_.size() == k_; }
  std::size_t size() const { return heap_.size(); }
  double worst_d2() const { return full() ? heap_.front().d2 : std::numeric_limits<double>::infinity(); }
  void offer(const Candidate& c) {
    if (!full()) {
      heap_.push_back(c);
      std::push_heap(heap_.begin(), heap_.end(), nearer);
    } else if (nearer(c, heap_.front())) {
      std::pop_heap(heap_.begin(), heap_.end(), nearer);
      heap_.back() = c;
      std::push_heap(heap_.begin(), heap_.end(), nearer);
    }
  }
  std::vector<Candidate> sorted() const {
    auto out = heap_;
    std::sort(out.begin(), out.end(), nearer);
    return out;
  }

 private:
  std::size_t k_;
  std::vector<Candidate> heap_;
};

// The one place a squared distance is measured for the result: a fixed
// summation order in double, so it does not depend on which block or rank
// count brought the two rows together.
inline double squared_distance(const float* a, const float* b, std::uint64_t d) {
  double s = 0.0;
  for (std::uint64_t c = 0; c < d; ++c) {
    const double e = static_cast<double>(a[c]) - static_cast<double>(b[c]);
    s += e * e;
  }
  return s;
}

// A result's distance: Euclidean, in float, from the squared distance in double.
inline float result_distance(double d2) { return static_cast<float>(std::sqrt(std::max(0.0, d2))); }

// A result of `local_rows` lists of k, to be filled in.
inline KnnResult sized_result(std::uint64_t k, std::uint64_t first_row, std::uint64_t local_rows, std::uint64_t n) {
  KnnResult r;
  r.k = k;
  r.first_row = first_row;
  r.local_rows = local_rows;
  r.global_rows = n;
  r.neighbours.resize(local_rows * k);
  r.distances.resize(local_rows * k);
  return r;
}

// The KnnResult of full top-k heaps (one per local row).
inline KnnResult finish(const std::vector<TopK>& best, std::uint64_t k, std::uint64_t first_row, std::uint64_t n) {
  KnnResult r = sized_result(k, first_row, best.size(), n);
  for (std::size_t i = 0; i < best.size(); ++i) {
    const auto sorted = best[i].sorted();
    for (std::size_t j = 0; j < k; ++j) {
      r.neighbours[i * k + j] = sorted[j].index;
      r.distances[i * k + j] = result_distance(sorted[j].d2);
    }
  }
  return r;
}

}  // namespace phenoscale::ml::detail
