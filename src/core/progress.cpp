#include "phenoscale/core/progress.hpp"

#include <unistd.h>

#include <algorithm>
#include <cmath>
#include <cstdio>

#include "phenoscale/core/log.hpp"
#include "phenoscale/core/stop_signal.hpp"

namespace phenoscale::core {

Progress::Progress(std::string label, std::uint64_t total, int ranks, double interval_s)
    : label_(std::move(label)),
      total_(total),
      ranks_(std::max(1, ranks)),
      interval_s_(interval_s),
      tty_(isatty(fileno(stderr)) != 0),
      start_(std::chrono::steady_clock::now()),
      last_report_(start_) {}

Progress::~Progress() {
  if (!finished_) finish();
}

void Progress::advance(std::uint64_t local_amount) {
  local_done_ += local_amount;
  const auto now = std::chrono::steady_clock::now();
  const double since = std::chrono::duration<double>(now - last_report_).count();
  if (since >= (tty_ ? 0.5 : interval_s_)) {
    last_report_ = now;
    report(false);
  }
}

void Progress::finish() {
  if (finished_) return;
  finished_ = true;
  report(true);
}

std::string Progress::format_duration(double s) {
  char buf[64];
  if (!std::isfinite(s) || s < 0) return "?";
  if (s < 60) {
    std::snprintf(buf, sizeof buf, "%.1f s", s);
  } else if (s < 3600) {
    std::snprintf(buf, sizeof buf, "%d min %02d s", int(s) / 60, int(s) % 60);
  } else {
    std::snprintf(buf, sizeof buf, "%d h %02d min", int(s) / 3600, (int(s) % 3600) / 60);
  }
  return buf;
}

void Progress::report(bool final_line) {
  if (Log::rank() != 0 || Log::level() < LogLevel::info) return;
  const double elapsed =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - start_).count();
  const double done = std::min<double>(double(local_done_) * ranks_, double(total_));
  const double rate = elapsed > 0 ? done / elapsed : 0.0;
  const double eta = rate > 0 ? (double(total_) - done) / rate : NAN;
  char line[256];
  if (final_line && ranks_ == 1 && done < double(total_) && StopSignal::received() != 0) {
    // A loop left early for a stop signal (its stage then exits at the stop
    // point). Single-rank loops only: rank 0's share times the rank count is
    // an estimate, which may fall short of the total in a finished loop.
    std::snprintf(line, sizeof line, "%s: stopped by a signal at %.0f/%llu after %s", label_.c_str(), done,
                  static_cast<unsigned long long>(total_), format_duration(elapsed).c_str());
  } else if (final_line) {
    std::snprintf(line, sizeof line, "%s: %llu done in %s (%.3g/s)", label_.c_str(),
                  static_cast<unsigned long long>(total_), format_duration(elapsed).c_str(), rate);
  } else {
    std::snprintf(line, sizeof line, "%s: %.0f/%llu (%.0f%%), %.3g/s, ETA %s", label_.c_str(), done,
                  static_cast<unsigned long long>(total_), total_ ? 100.0 * done / total_ : 100.0,
                  rate, format_duration(eta).c_str());
  }
  if (tty_) {
    std::fprintf(stderr, "\rphenoscale: %-70s%s", line, final_line ? "\n" : "");
    std::fflush(stderr);
  } else {
    Log::info(line);
  }
}

}  // namespace phenoscale::core
