// A vote among failing ranks (see failure_vote.hpp).
#include "phenoscale/par/failure_vote.hpp"

#include <chrono>
#include <cmath>
#include <exception>
#include <limits>
#include <thread>

#include "phenoscale/core/error.hpp"
#include "phenoscale/core/log.hpp"
#include "phenoscale/par/environment.hpp"

namespace phenoscale::par {

FailureVote::FailureVote(const Comm& world) {
  check_mpi(MPI_Comm_dup(world.raw(), &comm_), "MPI_Comm_dup (the failure vote's communicator)");
}

FailureVote::~FailureVote() {
  // After a lost vote the job is aborted before this runs; a vote still in
  // flight here was completed by ranks that voted later (the tests do).
  if (request_ != MPI_REQUEST_NULL) MPI_Wait(&request_, MPI_STATUS_IGNORE);
  if (comm_ != MPI_COMM_NULL) MPI_Comm_free(&comm_);
}

bool completes_within(MPI_Request& request, double grace_seconds) {
  if (!std::isfinite(grace_seconds)) {
    check_mpi(MPI_Wait(&request, MPI_STATUS_IGNORE), "MPI_Wait");
    return true;
  }
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::duration<double>(grace_seconds);
  int done = 0;
  while (true) {
    check_mpi(MPI_Test(&request, &done, MPI_STATUS_IGNORE), "MPI_Test");
    if (done || std::chrono::steady_clock::now() >= deadline) return done != 0;
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
}

bool FailureVote::everyone_failed(double grace_seconds, int& code) {
  // One non-blocking reduction is both the vote and the agreement on the
  // exit code: MINLOC over (rank, code) pairs yields rank 0's code.
  // A failed MPI call is reported here and counts as a lost vote: the
  // callers (the CLI's last resort, a teardown) then end the job.
  try {
    check_mpi(MPI_Comm_rank(comm_, &mine_.rank), "MPI_Comm_rank");
    mine_.code = code;
    check_mpi(MPI_Iallreduce(&mine_, &lowest_, 1, MPI_2INT, MPI_MINLOC, comm_, &request_), "MPI_Iallreduce");
    if (!completes_within(request_, grace_seconds)) return false;  // some rank did not come: the caller aborts the job
  } catch (const std::exception& e) {
    core::Log::error(std::string("the failure vote: ") + e.what());
    return false;
  }
  code = lowest_.code;
  return true;
}

TeardownVote::TeardownVote(const Comm& comm)
    : uncaught_at_start_(std::uncaught_exceptions()),
      vote_(comm.size() > 1 ? std::make_unique<FailureVote>(comm) : nullptr) {}

bool TeardownVote::everyone_comes() {
  if (!vote_) return true;
  const bool unwinding = std::uncaught_exceptions() > uncaught_at_start_;
  // A teardown on this rank was abandoned before, or io::H5File's barrier
  // after a close failed (the sources of a pending abort): the job will be
  // aborted. Unwinding past another object, the rank leaves it alone at
  // once rather than wait again (10 s per file still open) and goes on to
  // report its error; not unwinding, it ends the job now (finish would).
  if (Environment::abort_pending()) {
    if (!unwinding) Environment::abort(exit_code::error);
    after_abandoned_ = true;
    return false;
  }
  int code = 0;  // the vote's exit code is not used here
  if (vote_->everyone_failed(unwinding ? kUnwindGraceSeconds : std::numeric_limits<double>::infinity(), code))
    return true;
  // Without a limit the vote ends false only when one of its MPI calls
  // failed (logged): this rank can neither tear down nor go on past the
  // others, who may wait in the vote.
  if (!unwinding) Environment::abort(exit_code::error);
  return false;
}

void TeardownVote::abandon(const std::string& subject, const char* teardown, const char* left) noexcept {
  try {
    const std::string why = after_abandoned_
                                ? std::string("after an earlier teardown on this rank was abandoned, without waiting "
                                              "for the other ranks")
                                : core::cat("the other ranks did not come to ", teardown, " within ",
                                            kUnwindGraceSeconds, " s");
    core::Log::error(at_file(subject, "an error on this rank alone (" + why + ") leaves it " + std::string(left) +
                                          "; the job will be aborted"));
  } catch (...) {  // the message is a courtesy; the abort is what matters
  }
  static_cast<void>(vote_.release());  // NOLINT: deliberately leaked, see the header
  Environment::abort_at_finish();
}

}  // namespace phenoscale::par
