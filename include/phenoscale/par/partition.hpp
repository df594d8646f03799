// Block partitions of global index ranges.
//
// Every sharded dataset (subtomograms, trajectories, movies, feature rows) is
// split into contiguous row blocks: rank r owns [begin, end). Sizes differ by
// at most one, the first `n % parts` blocks are the longer ones, and ranks
// beyond n own an empty block — they still take part in every collective.
#pragma once

#include <cstdint>

namespace phenoscale::par {

class Comm;

struct Range {
  std::uint64_t begin = 0;
  std::uint64_t end = 0;
  std::uint64_t size() const { return end - begin; }
  bool empty() const { return end == begin; }
  bool contains(std::uint64_t i) const { return i >= begin && i < end; }
};

class BlockPartition {
 public:
  BlockPartition(std::uint64_t global_size, int parts);
  // The partition of `global_size` rows over the ranks of `comm`.
  static BlockPartition over(std::uint64_t global_size, const Comm& comm);

  Range range(int part) const;
  int owner(std::uint64_t index) const;
  std::uint64_t global_size() const { return n_; }
  int parts() const { return parts_; }

 private:
  std::uint64_t n_;
  int parts_;
};

}  // namespace phenoscale::par
