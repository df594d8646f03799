// An error that only one rank raises inside par::collectively, while the
// other ranks go on into a collective of the same work (a PETSc solve, a
// ring exchange, a barrier here). The failed rank must not wait in a
// collective that the others cannot join (an agreement on the same
// communicator would even be matched with the others' barrier): it meets
// them on the agreement's own communicator, waits the agreement's grace and
// then ends the job with its message. Registered by tests/CMakeLists.txt at 2
// and 3 ranks; it passes only when the failed rank's message says so.
#include <gtest/gtest.h>

#include <stdexcept>

#include "phenoscale/par/agree.hpp"
#include "test_support.hpp"

namespace {

using phenoscale::testing::world;
namespace par = phenoscale::par;

TEST(Agreement, AnErrorOnOneRankInsideCollectiveWorkEndsTheJob) {
  par::collectively(world(), [&] {
    if (world().rank() == world().size() - 1) throw std::runtime_error("planted error on the last rank only");
    world().barrier();  // the other ranks wait here for the last one
  });
  ADD_FAILURE() << "the agreement returned";
}

}  // namespace
