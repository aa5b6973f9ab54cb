// logging.hpp: COLOSSUS_DEBUG-controlled log lines (NCCL_DEBUG too, config.hpp).
//
//   CLOG(Warn) << "peer " << r << " is slow";
//   CLOG_SUB(Info, Tuning) << "allreduce " << bytes << " B: ring, 2 channels";
//
// The stream is evaluated only when the level is enabled. Each line goes out
// in one write(), prefixed "host:pid:tid colossus LEVEL", so lines of many
// ranks and threads interleave whole. An INFO or TRACE line of a subsystem
// (LogSub) shows only when COLOSSUS_DEBUG_SUBSYS / NCCL_DEBUG_SUBSYS selects
// it; a line without one (CLOG) belongs to all, as NCCL's NCCL_ALL lines do,
// and WARN lines always show.
#pragma once

#include <sstream>

#include "base/config.hpp"

namespace colossus::base {

bool log_enabled(LogLevel level, LogSub sub = LogSub::All);

// Reads the log level, file and subsystems again from the environment, for
// ncclResetDebugInit (colossus::reload_log_settings). Safe while other
// threads log: a line goes out whole, under the old or the new settings.
void reload_log_settings();

class LogLine {
 public:
  explicit LogLine(LogLevel level) : level_(level) {}
  ~LogLine();
  LogLine(const LogLine&) = delete;
  LogLine& operator=(const LogLine&) = delete;
  template <typename T>
  LogLine& operator<<(const T& v) {
    os_ << v;
    return *this;
  }

 private:
  LogLevel level_;
  std::ostringstream os_;
};

}  // namespace colossus::base

#define CLOG_SUB(level, sub)                                            \
  if (!::colossus::base::log_enabled(::colossus::base::LogLevel::level, \
                                     ::colossus::base::LogSub::sub)) {  \
  } else                                                                \
    ::colossus::base::LogLine(::colossus::base::LogLevel::level)
#define CLOG(level) CLOG_SUB(level, All)
