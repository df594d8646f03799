#include "phenoscale/par/agree.hpp"

#include <cstdint>
#include <limits>
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

// How long a rank whose work failed waits at the agreement for the others.
// Ranks that fail alike arrive together and ranks still working arrive when
// their share is done; a rank that does not come within the grace is taken
// to be blocked in a collective of the work that the failed rank left (or too
// slow to wait for), and the failed rank ends the job with its error.
constexpr double kAgreementGraceSeconds = 30.0;

LocalFailure describe(std::exception_ptr error) {
  try {
    std::rethrow_exception(error);
  } catch (const std::exception& e) {
    return {e.what(), exit_code_for(e)};
  } catch (...) {
    return {"unknown error", exit_code::error};
  }
}

}  // namespace

void agree(const Comm& comm, std::exception_ptr local_error) {
  // This rank's error left a collective unfinished (io::H5File, unwinding
  // alone): the other ranks may wait in it and never reach this agreement.
  // Report the error here, where it is known, and end the job.
  if (local_error && Environment::abort_pending()) {
    const LocalFailure failure = describe(local_error);
    core::Log::error(failure.message);
    Environment::abort(failure.code);
  }
  // On the agreement's own communicator: a failed rank can never enter a
  // collective that the others, still inside the work, are blocked in, and
  // it waits for them only so long.
  const Comm agreement(comm.agreement());
  int candidate = local_error ? comm.rank() : comm.size();
  int first_failed = comm.size();
  MPI_Request request = MPI_REQUEST_NULL;
  MPI_Iallreduce(&candidate, &first_failed, 1, MPI_INT, MPI_MIN, agreement.raw(), &request);
  if (!completes_within(request, local_error ? kAgreementGraceSeconds : std::numeric_limits<double>::infinity())) {
    const LocalFailure failure = describe(local_error);
    core::Log::error(core::cat(failure.message, " (the other ranks did not come to agree on this error within ",
                               kAgreementGraceSeconds,
                               " s: they wait in a collective step of the failed work, or are slower; the job is "
                               "aborted)"));
    Environment::abort(failure.code);  // `request` stays in flight with its buffers
  }
  if (first_failed == comm.size()) return;

  LocalFailure failure;
  if (comm.rank() == first_failed) failure = describe(local_error);
  agreement.broadcast(failure.message, first_failed);
  std::int32_t code = failure.code;
  agreement.broadcast(code, first_failed);
  // A stop signal stays a preemption (exit 75, a "preempted" line) when a
  // stage stops inside an agreement, e.g. a trainer on MPI_COMM_SELF inside
  // `collectively` (spt classify's cross-validation folds).
  if (code == exit_code::preempted) throw Preempted(failure.message);
  throw CollectiveError(failure.message, first_failed, code);
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
