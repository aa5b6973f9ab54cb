// logging.hpp: COLOSSUS_DEBUG-controlled log lines.
//
//   CLOG(Info) << "allreduce " << bytes << " B: ring, 2 channels";
//
// The stream is evaluated only when the level is enabled. Each line goes out
// in one write(), prefixed "host:pid:tid colossus LEVEL", so lines of many
// ranks and threads interleave whole.
#pragma once

#include <sstream>

#include "base/config.hpp"

namespace colossus::base {

bool log_enabled(LogLevel level);

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

#define CLOG(level)                                                        \
  if (!::colossus::base::log_enabled(::colossus::base::LogLevel::level)) { \
  } else                                                                   \
    ::colossus::base::LogLine(::colossus::base::LogLevel::level)
