#include "phenoscale/par/environment.hpp"

#include <atomic>
#include <cstdio>
#include <cstdlib>

#include "phenoscale/core/log.hpp"

namespace phenoscale::par {

Environment::Init::Init(int& argc, char**& argv) {
  // Must precede the first HDF5 call; `0` keeps an explicit user choice.
  setenv("HDF5_USE_FILE_LOCKING", "FALSE", 0);
  int initialized = 0;
  MPI_Initialized(&initialized);
  if (!initialized) {
    int provided = 0;
    // FUNNELED: OpenMP threads compute, only the main thread calls MPI.
    MPI_Init_thread(&argc, &argv, MPI_THREAD_FUNNELED, &provided);
  }
}

Environment::Environment(int& argc, char**& argv) : init_(argc, argv), world_(MPI_COMM_WORLD) {
  // Errors come back as codes so they can be turned into one-line messages.
  MPI_Comm_set_errhandler(MPI_COMM_WORLD, MPI_ERRORS_RETURN);
  core::Log::set_rank(world_.rank(), world_.size());
}

namespace {
std::atomic<bool> finalize_unsafe{false};
std::atomic<bool> abort_requested{false};
}

void Environment::skip_finalize() { finalize_unsafe = true; }

void Environment::abort_at_finish() { abort_requested = true; }

bool Environment::abort_pending() { return abort_requested; }

int Environment::finish(int code) {
  // Decided by this rank alone: the ranks it left behind may be blocked in a
  // collective (a file close) that this rank will never join.
  if (abort_requested) abort(code == 0 ? 1 : code);
  // Agreed over the world (every rank reaches here; FailureVote aborts the
  // rest): a close may fail on some ranks only (the aggregators, a per-rank
  // file), and ranks that went on into MPI_Finalize would wait there for
  // those that skipped it.
  if (world_.allreduce_max<int>(finalize_unsafe ? 1 : 0) == 1) {
    // The error has been reported already; the exit code carries it.
    std::fflush(stdout);
    std::fflush(stderr);
    std::_Exit(code == 0 ? 1 : code);
  }
  return code;
}

Environment::~Environment() {
  int finalized = 0;
  MPI_Finalized(&finalized);
  if (!finalized) MPI_Finalize();
}

void Environment::abort(int code) {
  // The error line has been written; MPI_Abort kills without flushing.
  std::fflush(stdout);
  std::fflush(stderr);
  MPI_Abort(MPI_COMM_WORLD, code);
  std::exit(code);  // not reached
}

}  // namespace phenoscale::par
