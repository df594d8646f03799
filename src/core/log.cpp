#include "phenoscale/core/log.hpp"

#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <ctime>
#include <mutex>
#include <optional>
#include <regex>
#include <string>

namespace phenoscale::core {
namespace {

// Process-wide logging settings: written once at start-up by the MPI
// environment and the CLI, read afterwards.
struct LogState {
  int rank = 0;
  int size = 1;
  LogLevel level = LogLevel::info;
  std::mutex mutex;  // OpenMP threads may log
  // PHENOSCALE_STOP_AT_LINE (a preemption drill, docs/slurm.md): the first
  // printed line it matches makes this process send itself SIGTERM, so a test
  // places the stop signal at a known point instead of timing it from outside.
  std::optional<std::regex> stop_at;
  bool stop_sent = false;
  LogState() {
    if (const char* env = std::getenv("PHENOSCALE_LOG")) {
      std::string v(env);
      if (v == "error") level = LogLevel::error;
      if (v == "warn") level = LogLevel::warn;
      if (v == "debug") level = LogLevel::debug;
    }
    if (const char* env = std::getenv("PHENOSCALE_STOP_AT_LINE"); env && *env) {
      try {
        stop_at.emplace(env);
      } catch (const std::regex_error& e) {
        std::fprintf(stderr, "phenoscale: error: PHENOSCALE_STOP_AT_LINE = '%s': expected a regular expression (%s)\n",
                     env, e.what());
        std::exit(2);
      }
    }
  }
};

LogState& state() {
  static LogState s;
  return s;
}

const char* tag(LogLevel level) {
  switch (level) {
    case LogLevel::error: return "error: ";
    case LogLevel::warn: return "warning: ";
    case LogLevel::debug: return "debug: ";
    default: return "";
  }
}

}  // namespace

void Log::set_rank(int rank, int size) {
  state().rank = rank;
  state().size = size;
}
void Log::set_level(LogLevel level) { state().level = level; }
LogLevel Log::level() { return state().level; }
int Log::rank() { return state().rank; }

void Log::emit(LogLevel level, const std::string& msg, bool every_rank) {
  auto& s = state();
  if (static_cast<int>(level) > static_cast<int>(s.level)) return;
  if (!every_rank && s.rank != 0) return;
  std::string prefix = "phenoscale: ";
  if (every_rank && s.size > 1) prefix += "[rank " + std::to_string(s.rank) + "] ";
  bool stop_now = false;
  {
    std::lock_guard<std::mutex> lock(s.mutex);
    std::fprintf(stderr, "%s%s%s\n", prefix.c_str(), tag(level), msg.c_str());
    std::fflush(stderr);
    if (s.stop_at && !s.stop_sent && std::regex_search(msg, *s.stop_at)) stop_now = s.stop_sent = true;
  }
  if (stop_now) std::raise(SIGTERM);  // after the line: the log shows where the signal came
}

void Log::error(const std::string& msg) { emit(LogLevel::error, msg, true); }
void Log::warn(const std::string& msg) { emit(LogLevel::warn, msg, false); }
void Log::info(const std::string& msg) { emit(LogLevel::info, msg, false); }
void Log::debug(const std::string& msg) { emit(LogLevel::debug, msg, false); }
void Log::all(const std::string& msg) { emit(LogLevel::info, msg, true); }

}  // namespace phenoscale::core
