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

FailureVote::FailureVote(const Comm& world) { MPI_Comm_dup(world.raw(), &comm_); }

FailureVote::~FailureVote() {
  // After a lost vote the job is aborted before this runs; a vote still in
  // flight here was completed by ranks that voted later (the tests do).
  if (request_ != MPI_REQUEST_NULL) MPI_Wait(&request_, MPI_STATUS_IGNORE);
  if (comm_ != MPI_COMM_NULL) MPI_Comm_free(&comm_);
}

bool completes_within(MPI_Request& request, double grace_seconds) {
  if (!std::isfinite(grace_seconds)) {
    MPI_Wait(&request, MPI_STATUS_IGNORE);
    return true;
  }
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::duration<double>(grace_seconds);
  int done = 0;
  while (true) {
    MPI_Test(&request, &done, MPI_STATUS_IGNORE);
    if (done || std::chrono::steady_clock::now() >= deadline) return done != 0;
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
}

bool FailureVote::everyone_failed(double grace_seconds, int& code) {
  // One non-blocking reduction is both the vote and the agreement on the
  // exit code: MINLOC over (rank, code) pairs yields rank 0's code.
  MPI_Comm_rank(comm_, &mine_.rank);
  mine_.code = code;
  MPI_Iallreduce(&mine_, &lowest_, 1, MPI_2INT, MPI_MINLOC, comm_, &request_);
  if (!completes_within(request_, grace_seconds)) return false;  // some rank did not come: the caller aborts the job
  code = lowest_.code;
  return true;
}

TeardownVote::TeardownVote(const Comm& comm)
    : uncaught_at_start_(std::uncaught_exceptions()),
      vote_(comm.size() > 1 ? std::make_unique<FailureVote>(comm) : nullptr) {}

bool TeardownVote::everyone_comes() {
  if (!vote_) return true;
  const bool unwinding = std::uncaught_exceptions() > uncaught_at_start_;
  int code = 0;  // the vote's exit code is not used here
  return vote_->everyone_failed(unwinding ? kUnwindGraceSeconds : std::numeric_limits<double>::infinity(), code);
}

void TeardownVote::abandon(const std::string& subject, const char* teardown, const char* left) noexcept {
  try {
    core::Log::error(at_file(subject, core::cat("an error on this rank alone (the other ranks did not come to ",
                                                teardown, " within ", kUnwindGraceSeconds, " s) leaves it ", left,
                                                "; the job will be aborted")));
  } catch (...) {  // the message is a courtesy; the abort is what matters
  }
  static_cast<void>(vote_.release());  // NOLINT: deliberately leaked, see the header
  Environment::abort_at_finish();
}

}  // namespace phenoscale::par
