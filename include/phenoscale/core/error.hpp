// The one exception hierarchy of phenoscale.
//
// Every error a user can cause (a missing file, a wrong dataset shape, an
// unknown deck key, NaN in the data) is reported as a single line that names
// the file, dataset or key, what was expected and what was found. The CLI
// prints `phenoscale: error: <what()>` and exits non-zero; nothing else is
// printed (no HDF5 or Torch stack traces).
#pragma once

#include <stdexcept>
#include <string>

namespace phenoscale {

// Base of all phenoscale errors. `what()` is the complete one-line message.
class Error : public std::runtime_error {
 public:
  explicit Error(const std::string& message) : std::runtime_error(message) {}
};

// A problem in the input deck or the command line (unknown key, bad type,
// out-of-range value). Exit code 2, like argparse/CLI11 usage errors.
class ConfigError : public Error {
 public:
  using Error::Error;
};

// A problem with an input or output file: missing, unreadable, wrong format,
// wrong dtype or shape, NaN/Inf values.
class InputError : public Error {
 public:
  using Error::Error;
};

// An I/O failure while writing (disk full, permission) or an internal library
// failure that is not the user's fault.
class IoError : public Error {
 public:
  using Error::Error;
};

// Thrown on every rank after a collective agreement found that some rank
// failed; carries the failing rank's message so all ranks report the same thing.
class CollectiveError : public Error {
 public:
  CollectiveError(const std::string& message, int failed_rank, int exit_code)
      : Error(message), failed_rank_(failed_rank), exit_code_(exit_code) {}
  int failed_rank() const { return failed_rank_; }
  int exit_code() const { return exit_code_; }

 private:
  int failed_rank_;
  int exit_code_;
};

// Exit codes of the `phenoscale` binary, documented in docs/cli.md.
namespace exit_code {
constexpr int ok = 0;
constexpr int error = 1;        // input, I/O or internal error
constexpr int usage = 2;        // bad command line or input deck
constexpr int preempted = 75;   // checkpoint written after SIGTERM/SIGUSR1; requeue (EX_TEMPFAIL)
}  // namespace exit_code

// Thrown on every rank together when a stop signal (SIGTERM/SIGUSR1: Slurm
// preemption or time limit with --signal) arrived and the checkpoint has been
// written: the job exits 75 and the job script requeues it.
class Preempted : public CollectiveError {
 public:
  explicit Preempted(const std::string& message) : CollectiveError(message, 0, exit_code::preempted) {}
};

// Maps an exception to the process exit code above.
int exit_code_for(const std::exception& e);

// Returns "`path`: message" — the standard way to attach a file to a message.
std::string at_file(const std::string& path, const std::string& message);

}  // namespace phenoscale
