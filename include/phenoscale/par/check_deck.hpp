// Collective check of a deck value against the data it meets: subdivide.k
// above the subtomogram count, an array index (sweep.task,
// student.lambda_index) past its list, a K grid with no K below the sample
// count. The user fixes such an error in the deck, so it is a ConfigError
// (exit 2, like a schema error), where par::check_all's InputError (exit 1)
// is for the data itself. Agreed like check_all: one line, no rank left
// waiting.
#pragma once

#include <string>

#include "phenoscale/core/error.hpp"
#include "phenoscale/par/agree.hpp"

namespace phenoscale::par {

// Collective. Throws a CollectiveError with exit code 2 on every rank if `ok`
// is false on any rank.
inline void check_deck(const Comm& comm, bool ok, const std::string& message_if_not_ok) {
  collectively(comm, [&] {
    if (!ok) throw ConfigError(message_if_not_ok);
  });
}

}  // namespace phenoscale::par
