// Collective error agreement: one failing rank never leaves the others hanging.
//
// Work that may fail on some ranks only (reading a shard with NaN, a missing
// file on one node) is wrapped in `collectively(comm, fn)`. Every rank then
// learns whether any rank failed; if so, all ranks throw the same
// `CollectiveError` carrying the message of the lowest failing rank, and the
// program exits cleanly through MPI_Finalize with the same code everywhere.
//
// The work inside `collectively` may itself be collective. The agreement
// therefore meets on a communicator of its own (Comm::agreement()), so that
// a rank that failed cannot enter, or be matched with, a collective that the
// others are still blocked in; and a failed rank waits for the others 30 s,
// after which it logs its error and aborts the job (they wait in a
// collective of the work that it left). See docs/architecture.md.
#pragma once

#include <exception>
#include <string>

#include "phenoscale/core/error.hpp"
#include "phenoscale/par/comm.hpp"

namespace phenoscale::par {

// Collective. `local_error` is null on ranks that succeeded.
void agree(const Comm& comm, std::exception_ptr local_error);

// Collective. Throws on every rank if `ok` is false on any rank.
void check_all(const Comm& comm, bool ok, const std::string& message_if_not_ok);

// Collective. A preemption point of a long stage: when any rank has received
// SIGTERM or SIGUSR1 (core::StopSignal, installed for every CLI stage), every
// rank throws Preempted (exit 75) naming `what`. Call it before a stage
// writes its outputs and between the passes of long collective loops: the
// outputs are atomic, so nothing is left under a final name and the requeued
// job reruns (or, where the stage checkpoints, resumes) the stage. `left`
// says what is on disk for the message, where a stage writes as it goes.
inline constexpr const char* nothing_written = "nothing written under a final name";  // stop_point's default `left`
void stop_point(const Comm& comm, const std::string& what, const std::string& left = nothing_written);

template <typename F>
void collectively(const Comm& comm, F&& fn) {
  static_cast<void>(comm.agreement());  // made before the work: a failed rank cannot make it alone
  std::exception_ptr error;
  try {
    fn();
  } catch (...) {
    error = std::current_exception();
  }
  agree(comm, error);
}

}  // namespace phenoscale::par
