#include "phenoscale/par/agree.hpp"

#include <cstdint>
#include <vector>

#include "phenoscale/core/log.hpp"
#include "phenoscale/core/stop_signal.hpp"
#include "phenoscale/par/environment.hpp"

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
  const int candidate = local_error ? comm.rank() : comm.size();
  const int first_failed = comm.allreduce_min(candidate);
  if (first_failed == comm.size()) return;

  LocalFailure failure;
  if (comm.rank() == first_failed) failure = describe(local_error);
  comm.broadcast(failure.message, first_failed);
  std::int32_t code = failure.code;
  comm.broadcast(code, first_failed);
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
