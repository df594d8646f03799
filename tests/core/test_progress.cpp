// Progress and timer formatting used in every log line.
#include <gtest/gtest.h>

#include <chrono>
#include <cmath>
#include <thread>

#include "phenoscale/core/progress.hpp"
#include "phenoscale/core/timer.hpp"

using phenoscale::core::Progress;

TEST(Progress, FormatsDurationsForHumans) {
  EXPECT_EQ(Progress::format_duration(12.34), "12.3 s");
  EXPECT_EQ(Progress::format_duration(245), "4 min 05 s");
  EXPECT_EQ(Progress::format_duration(3720), "1 h 02 min");
  EXPECT_EQ(Progress::format_duration(-1), "?");
  EXPECT_EQ(Progress::format_duration(NAN), "?");
}

TEST(Timers, ScopedTimersAccumulatePerSection) {
  phenoscale::core::Timers timers;
  for (int i = 0; i < 2; ++i) {  // two scopes of at least 20 ms each: their sum is kept
    phenoscale::core::ScopedTimer t(timers, "read");
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  timers.add("write", 1.5);
  timers.add("write", 0.5);
  ASSERT_EQ(timers.totals().size(), 2u);
  EXPECT_GE(timers.totals().at("read"), 0.039);
  EXPECT_LT(timers.totals().at("read"), 5.0);  // seconds, not milliseconds
  EXPECT_DOUBLE_EQ(timers.totals().at("write"), 2.0);
}
