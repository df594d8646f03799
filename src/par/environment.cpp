#include "phenoscale/par/environment.hpp"

#include <atomic>
#include <charconv>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <string_view>

#include "phenoscale/core/error.hpp"
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

namespace {
std::atomic<double> agreement_grace{Environment::kDefaultAgreementGraceSeconds};

// PHENOSCALE_AGREEMENT_GRACE as seconds (a decimal number, blanks around
// it allowed); NaN when it is set to anything else or below the least
// grace (a shorter one would abort before ranks that fail alike meet).
double parse_agreement_grace() {
  const char* env = std::getenv("PHENOSCALE_AGREEMENT_GRACE");
  if (env == nullptr) return Environment::kDefaultAgreementGraceSeconds;
  std::string_view text(env);
  const auto first = text.find_first_not_of(" \t");
  if (first == std::string_view::npos) return Environment::kDefaultAgreementGraceSeconds;
  text = text.substr(first, text.find_last_not_of(" \t") - first + 1);
  if (text.size() > 1 && text.front() == '+') text.remove_prefix(1);  // from_chars takes no sign; strtod did
  double seconds = 0;
  const auto [end, error] = std::from_chars(text.data(), text.data() + text.size(), seconds);
  if (error != std::errc() || end != text.data() + text.size() || !std::isfinite(seconds) ||
      seconds < Environment::kLeastAgreementGraceSeconds)
    return std::nan("");
  return seconds;
}
}  // namespace

double Environment::agreement_grace_seconds() { return agreement_grace; }

Environment::Environment(int& argc, char**& argv) : init_(argc, argv), world_(MPI_COMM_WORLD) {
  // Errors come back as codes so they can be turned into one-line messages
  // (par::check_mpi); communicators made from these inherit it.
  MPI_Comm_set_errhandler(MPI_COMM_WORLD, MPI_ERRORS_RETURN);
  MPI_Comm_set_errhandler(MPI_COMM_SELF, MPI_ERRORS_RETURN);
  core::Log::set_rank(world_.rank(), world_.size());
  // Agreed: a remote rank may not see the variable (mpirun without -x), and
  // ranks that left alone would leave the others waiting for them.
  const double grace = parse_agreement_grace();
  int first_bad = world_.size();
  try {
    first_bad = world_.allreduce_min(std::isnan(grace) ? world_.rank() : world_.size());
  } catch (const std::exception& e) {  // before main's handlers: report and end the job here
    std::fprintf(stderr, "phenoscale: error: %s\n", e.what());
    abort(exit_code::error);
  }
  if (first_bad < world_.size()) {
    if (world_.rank() == first_bad) {
      std::fprintf(stderr,
                   "phenoscale: error: PHENOSCALE_AGREEMENT_GRACE = '%s': expected a number of seconds, at least "
                   "%g\n",
                   std::getenv("PHENOSCALE_AGREEMENT_GRACE"), kLeastAgreementGraceSeconds);
    }
    MPI_Finalize();
    std::exit(exit_code::usage);
  }
  agreement_grace = grace;
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
  int unsafe = 0;
  try {
    unsafe = world_.allreduce_max<int>(finalize_unsafe ? 1 : 0);
  } catch (const std::exception& e) {
    core::Log::error(e.what());
    abort(code == 0 ? 1 : code);
  }
  if (unsafe == 1) {
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
