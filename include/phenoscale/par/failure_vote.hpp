// The last resort of the CLI for an error that escaped every agreement
// (par::collectively / par::check_all): a deck value checked by every rank
// alike, outside an agreement, throws on all ranks at once. Without a vote
// each rank prints the same line and the first one aborts the job. With it,
// the failing ranks find out whether every rank failed: then rank 0 prints
// the one line and all exit cleanly through MPI_Finalize; otherwise (a rank
// still computing, or blocked in a collective waiting for the failed one)
// the caller aborts, as before.
//
// The vote is one non-blocking allreduce (MINLOC over rank and exit code) on
// a communicator of its own (a duplicate of world, made before the stage
// runs): it can never match a collective that other ranks are blocked in on
// world.
//
// TeardownVote (below) uses one before a collective teardown.
#pragma once

#include <mpi.h>

#include <memory>
#include <string>

#include "phenoscale/par/comm.hpp"

namespace phenoscale::par {

// Waits for `request` at most `grace_seconds` (an infinite grace: MPI_Wait).
// True when it completed; false leaves it in flight (its buffers must then
// outlive the process, which the callers end by Environment::abort). Throws
// IoError when MPI_Test or MPI_Wait fails.
bool completes_within(MPI_Request& request, double grace_seconds);

class FailureVote {
 public:
  explicit FailureVote(const Comm& world);  // collective over `world` (any communicator)
  ~FailureVote();
  FailureVote(const FailureVote&) = delete;
  FailureVote& operator=(const FailureVote&) = delete;

  // Called (once) by a rank whose work failed (or, in TeardownVote, by every
  // rank tearing down), with its exit code. True
  // when every rank called it within `grace_seconds` of this rank's call;
  // `code` is then rank 0's on every rank. False when some rank did not
  // come: the caller must end the job (Environment::abort), as the vote
  // stays open. An infinite grace waits for every rank (true unless an MPI
  // call of the vote fails, which is logged and counts as false).
  bool everyone_failed(double grace_seconds, int& code);

 private:
  struct RankCode {  // MPI_2INT
    int rank;
    int code;
  };
  MPI_Comm comm_ = MPI_COMM_NULL;
  // Members, not locals: a vote lost by timeout stays in flight and may still
  // write its result after everyone_failed() returned.
  RankCode mine_{0, 0}, lowest_{0, 0};
  MPI_Request request_ = MPI_REQUEST_NULL;
};

// A vote before a collective teardown that an exception may unwind into on
// some ranks only: closing a parallel HDF5 file (io::H5File), finalising
// PETSc (ml::SlepcSession). Torn down by one rank alone, such an object would
// wait for the others, which are elsewhere (typically blocked in a collective
// that waits for the failed rank), or be matched with a collective of theirs.
// So every rank that tears it down votes first. A rank that is not unwinding
// waits for the others without limit, as the teardown itself would (they may
// still be computing). A rank that an exception is unwinding past waits
// kUnwindGraceSeconds: after an agreed error every rank throws at the same
// point and arrives at once, and a rank whose error is caught inside
// par::collectively meets the others' ordinary teardown if they reach it
// within the grace. When no one comes, the owner must not tear down; it calls
// abandon(), and the job is aborted once the error is reported.
inline constexpr double kUnwindGraceSeconds = 10.0;

class TeardownVote {
 public:
  TeardownVote() = default;  // no vote: tears down alone (one rank, or nothing opened)
  // Collective over `comm`: a duplicate of it (none on one rank). Records the
  // exceptions in flight now; more at the vote means this rank is unwinding.
  explicit TeardownVote(const Comm& comm);
  TeardownVote(TeardownVote&&) noexcept = default;
  TeardownVote& operator=(TeardownVote&&) noexcept = default;

  // True when every rank came to tear down (always on one rank). False at
  // once, without a vote, on a rank unwinding after a teardown on it was
  // abandoned (the job is to be aborted: no need to wait again). A rank not
  // unwinding ends the job instead when an abort is pending, or when its
  // vote fails (an MPI call's error, logged).
  bool everyone_comes();
  // After everyone_comes() returned false: logs "<subject>: an error on this
  // rank alone (the other ranks did not come to <teardown> within 10 s)
  // leaves it <left>; the job will be aborted" (after an earlier
  // abandonment: "(after an earlier teardown on this rank was abandoned,
  // without waiting for the other ranks)"), leaves the vote in flight
  // (leaked on purpose: waiting for it would hang too), and Environment::
  // finish or par::agree aborts the job once the error is reported. The
  // caller leaves its object torn down by no one.
  void abandon(const std::string& subject, const char* teardown, const char* left) noexcept;

 private:
  int uncaught_at_start_ = 0;
  bool after_abandoned_ = false;  // everyone_comes() did not vote: an abort was already pending
  std::unique_ptr<FailureVote> vote_;
};

}  // namespace phenoscale::par
