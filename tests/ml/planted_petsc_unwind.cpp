// An error that only one rank raises inside a PETSc/SLEPc session (as in
// ml::spectral_decomposition's Krylov–Schur solve, run inside
// par::collectively), while the other ranks are blocked in a PETSc reduction
// that waits for it. The failed rank unwinds past its PETSc objects and the
// session (SlepcFinalize) before it reaches the agreement: neither may wait
// for the blocked ranks, and the agreement ends the job with the error's
// message after its grace. Registered by tests/CMakeLists.txt at 2 and 3
// ranks; it passes only when the failed rank's message says so.
#include <gtest/gtest.h>
#include <petscvec.h>

#include <stdexcept>

#include "phenoscale/ml/spectral.hpp"
#include "phenoscale/par/agree.hpp"
#include "test_support.hpp"

namespace {

using phenoscale::testing::world;
namespace ml = phenoscale::ml;
namespace par = phenoscale::par;

struct OwnedVec {
  Vec v = nullptr;
  ~OwnedVec() { VecDestroy(&v); }
};

TEST(SlepcSession, AnErrorOnOneRankInsideASolveEndsTheJob) {
  par::collectively(world(), [&] {
    const ml::SlepcSession session(world());
    ASSERT_TRUE(session.owns_initialisation());
    OwnedVec x;
    session.check(VecCreateMPI(world().raw(), 100, PETSC_DETERMINE, &x.v), "VecCreateMPI");
    session.check(VecSet(x.v, 1.0), "VecSet");
    if (world().rank() == world().size() - 1) throw std::runtime_error("planted error on the last rank only");
    // VecDot, not VecNorm: VecSet cached the norm, which would then need no
    // communication.
    PetscScalar dot = 0;
    session.check(VecDot(x.v, x.v, &dot), "VecDot");  // the other ranks wait here for the last one
  });
  ADD_FAILURE() << "the agreement returned";
}

}  // namespace
