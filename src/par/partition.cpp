#include "phenoscale/par/partition.hpp"

#include <stdexcept>

#include "phenoscale/par/comm.hpp"

namespace phenoscale::par {

BlockPartition::BlockPartition(std::uint64_t global_size, int parts)
    : n_(global_size), parts_(parts) {
  if (parts < 1) throw std::invalid_argument("BlockPartition needs at least one part");
}

BlockPartition BlockPartition::over(std::uint64_t global_size, const Comm& comm) {
  return BlockPartition(global_size, comm.size());
}

Range BlockPartition::range(int part) const {
  const std::uint64_t p = static_cast<std::uint64_t>(part);
  const std::uint64_t base = n_ / parts_;
  const std::uint64_t extra = n_ % parts_;
  const std::uint64_t begin = p * base + (p < extra ? p : extra);
  return {begin, begin + base + (p < extra ? 1 : 0)};
}

int BlockPartition::owner(std::uint64_t index) const {
  if (index >= n_) throw std::out_of_range("index beyond the partitioned range");
  const std::uint64_t base = n_ / parts_;
  const std::uint64_t extra = n_ % parts_;
  const std::uint64_t long_rows = extra * (base + 1);
  if (index < long_rows) return static_cast<int>(index / (base + 1));
  return static_cast<int>(extra + (index - long_rows) / base);
}

}  // namespace phenoscale::par
