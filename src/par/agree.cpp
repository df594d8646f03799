#include "phenoscale/par/agree.hpp"

#include <cstdint>
#include <cstdio>
#include <limits>
#include <string>
#include <vector>

#include "phenoscale/core/log.hpp"
#include "phenoscale/core/stop_signal.hpp"
#include "phenoscale/par/environment.hpp"
#include "phenoscale/par/failure_vote.hpp"

namespace phenoscale::par {
namespace {

struct LocalFailure {
  std::string message;
  int code = exit_code::error;
};

LocalFailure describe(std::exception_ptr error) {
  try {
    std::rethrow_exception(error);
  } catch (const std::exception& e) {
    return {e.what(), exit_code_for(e)};
  } catch (...) {
    return {"unknown error", exit_code::error};
  }
}

// Ends the job from this rank, which cannot agree with the others, with its
// error (`why` says why) and the error's exit code.
[[noreturn]] void abort_with(const LocalFailure& failure, const std::string& why) {
  if (failure.code == exit_code::preempted) {
    // Reported as the CLI reports a preemption; MPI_Abort's code is mpirun's
    // exit status, so a requeue on exit 75 still happens.
    std::fprintf(stderr, "phenoscale: preempted: %s%s\n", failure.message.c_str(), why.c_str());
  } else {
    core::Log::error(failure.message + why);
  }
  Environment::abort(failure.code);
}

}  // namespace

void agree(const Comm& comm, std::exception_ptr local_error) {
  // This rank's error left a collective unfinished (io::H5File, unwinding
  // alone): the other ranks may wait in it and never reach this agreement.
  // Report the error here, where it is known, and end the job.
  // Without an error of its own the rank ends the job all the same: the
  // abandoned teardown's line has been written.
  if (Environment::abort_pending()) {
    if (local_error) abort_with(describe(local_error), "");
    Environment::abort(exit_code::error);
  }
  // On the agreement's own communicator: a failed rank can never enter a
  // collective of the work that the others, still inside it, are blocked
  // in, and it waits for them only so long (the grace, 30 s unless
  // PHENOSCALE_AGREEMENT_GRACE says otherwise). Ranks that fail alike arrive
  // together and ranks still working arrive when their share is done; a
  // rank that does not come within the grace is taken to be blocked in a
  // collective of the work that the failed rank left (or too slow to wait
  // for), and the failed rank ends the job with its error.
  const double grace = Environment::agreement_grace_seconds();
  int candidate = local_error ? comm.rank() : comm.size();
  int first_failed = comm.size();
  MPI_Request request = MPI_REQUEST_NULL;  // in flight, with its buffers, when the job is aborted below
  LocalFailure failure;
  try {
    const Comm agreement(comm.agreement());
    check_mpi(MPI_Iallreduce(&candidate, &first_failed, 1, MPI_INT, MPI_MIN, agreement.raw(), &request),
              "MPI_Iallreduce");
    if (!completes_within(request, local_error ? grace : std::numeric_limits<double>::infinity())) {
      abort_with(describe(local_error),
                 core::cat(" (the other ranks did not come to agree on this error within ", grace,
                           " s: they wait in a collective step of the failed work, or are slower; the job is "
                           "aborted)"));
    }
    if (first_failed == comm.size()) return;
    if (comm.rank() == first_failed) failure = describe(local_error);
    agreement.broadcast(failure.message, first_failed);
    std::int32_t code = failure.code;
    agreement.broadcast(code, first_failed);
    failure.code = code;
  } catch (const std::exception& e) {
    // The agreement itself failed: the ranks cannot learn of each other's
    // errors, so this one ends the job with what it knows.
    const std::string failed = std::string("the error agreement failed: ") + e.what();
    if (!local_error) abort_with({failed, exit_code::error}, "");
    abort_with(describe(local_error), " (and " + failed + ")");
  }
  // A stop signal stays a preemption (exit 75, a "preempted" line) when a
  // stage stops inside an agreement, e.g. a trainer on MPI_COMM_SELF inside
  // `collectively` (spt classify's cross-validation folds).
  if (failure.code == exit_code::preempted) throw Preempted(failure.message);
  throw CollectiveError(failure.message, first_failed, failure.code);
}

void check_all(const Comm& comm, bool ok, const std::string& message_if_not_ok) {
  std::exception_ptr error;
  if (!ok) error = std::make_exception_ptr(InputError(message_if_not_ok));
  agree(comm, error);
}

void stop_point(const Comm& comm, const std::string& what, const std::string& left) {
  const int signal_number = comm.allreduce_max(static_cast<int>(core::StopSignal::received()));
  if (signal_number == 0) return;
  throw Preempted("stop signal " + std::to_string(signal_number) + " during " + what + "; " + left +
                  ", a rerun of the same command redoes this stage");
}

}  // namespace phenoscale::par
