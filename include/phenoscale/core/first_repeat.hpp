// Deck lists whose elements name things (conditions, class ids, models,
// methods) must not name one twice: the repeat would be simulated, trained or
// reported twice under one name. The stages check their lists with this.
#pragma once

#include <algorithm>
#include <cstddef>
#include <vector>

namespace phenoscale::core {

// The index of the first element equal to an earlier one; list.size() when
// all elements differ.
template <typename T>
std::size_t first_repeat(const std::vector<T>& list) {
  for (std::size_t i = 1; i < list.size(); ++i) {
    const auto end = list.begin() + static_cast<std::ptrdiff_t>(i);
    if (std::find(list.begin(), end, list[i]) != end) return i;
  }
  return list.size();
}

}  // namespace phenoscale::core
