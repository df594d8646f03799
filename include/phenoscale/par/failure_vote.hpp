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
// io::H5File uses one per file for its close: there every rank that closes
// the file votes (ranks not failing with an infinite grace), so that a rank
// an exception unwinds past the file learns whether the others come to the
// collective close at all.
#pragma once

#include <mpi.h>

#include "phenoscale/par/comm.hpp"

namespace phenoscale::par {

class FailureVote {
 public:
  explicit FailureVote(const Comm& world);  // collective over `world` (any communicator)
  ~FailureVote();
  FailureVote(const FailureVote&) = delete;
  FailureVote& operator=(const FailureVote&) = delete;

  // Called (once) by a rank whose work failed (or, in io::H5File, by every
  // rank closing the file), with its exit code. True
  // when every rank called it within `grace_seconds` of this rank's call;
  // `code` is then rank 0's on every rank. False when some rank did not
  // come: the caller must end the job (Environment::abort), as the vote
  // stays open. An infinite grace waits for every rank (always true).
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

}  // namespace phenoscale::par
