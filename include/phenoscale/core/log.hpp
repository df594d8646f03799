// Rank-aware logging.
//
// By default only rank 0 speaks; `Log::all()` lines are printed by every rank
// with a `[rank k]` prefix. Lines go to stderr so stdout stays clean for data
// (e.g. `phenoscale info`). Verbosity comes from PHENOSCALE_LOG
// (error|warn|info|debug) or the CLI's -v/-q. PHENOSCALE_STOP_AT_LINE (a
// regular expression) is a preemption drill: the first printed line that
// matches it makes the process send itself SIGTERM (docs/slurm.md).
#pragma once

#include <sstream>
#include <string>

namespace phenoscale::core {

enum class LogLevel { error = 0, warn = 1, info = 2, debug = 3 };

class Log {
 public:
  // Called once by the MPI environment; before that every process is "rank 0".
  static void set_rank(int rank, int size);
  static void set_level(LogLevel level);
  static LogLevel level();
  static int rank();

  static void error(const std::string& msg);  // every rank prints errors
  static void warn(const std::string& msg);   // rank 0
  static void info(const std::string& msg);   // rank 0
  static void debug(const std::string& msg);  // rank 0
  static void all(const std::string& msg);    // every rank, with [rank k]

 private:
  static void emit(LogLevel level, const std::string& msg, bool every_rank);
};

// Concatenates streamable values: `cat("read ", n, " rows")`.
template <typename... Args>
std::string cat(const Args&... args) {
  std::ostringstream os;
  (os << ... << args);
  return os.str();
}

}  // namespace phenoscale::core
