#include "base/logging.hpp"

#include <fcntl.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <cstdio>
#include <mutex>
#include <string>

namespace colossus::base {

namespace {

struct Sink {
  int fd = 2;
  std::string host;
};

std::string expand(const std::string& pattern, const std::string& host) {
  std::string out;
  for (std::size_t i = 0; i < pattern.size(); ++i) {
    if (pattern[i] == '%' && i + 1 < pattern.size()) {
      const char c = pattern[++i];
      if (c == 'h')
        out += host;
      else if (c == 'p')
        out += std::to_string(getpid());
      else
        out += c;
    } else {
      out += pattern[i];
    }
  }
  return out;
}

const Sink& sink() {
  static const Sink s = [] {
    Sink k;
    char host[256] = {};
    gethostname(host, sizeof host - 1);
    k.host = host;
    const Config& cfg = env_config();
    if (!cfg.log_file.empty()) {
      const std::string path = expand(cfg.log_file, k.host);
      const int fd = open(path.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
      if (fd >= 0) k.fd = fd;
    }
    return k;
  }();
  return s;
}

const char* level_name(LogLevel l) {
  switch (l) {
    case LogLevel::Warn: return "WARN";
    case LogLevel::Info: return "INFO";
    case LogLevel::Trace: return "TRACE";
    case LogLevel::None: break;
  }
  return "";
}

// Configuration warnings are logged once, by whoever logs first.
void report_config_warnings() {
  static std::once_flag once;
  std::call_once(once, [] {
    for (const auto& w : env_config().warnings) LogLine(LogLevel::Warn) << w;
  });
}

}  // namespace

bool log_enabled(LogLevel level) {
  const Config& cfg = env_config();
  if (!cfg.warnings.empty() && cfg.log_level >= LogLevel::Warn) report_config_warnings();
  return level != LogLevel::None && level <= cfg.log_level;
}

LogLine::~LogLine() {
  const Sink& s = sink();
  std::string line = s.host + ":" + std::to_string(getpid()) + ":" +
                     std::to_string(static_cast<long>(syscall(SYS_gettid))) + " colossus " +
                     level_name(level_) + " " + os_.str() + "\n";
  ssize_t off = 0;
  while (off < static_cast<ssize_t>(line.size())) {
    const ssize_t w = ::write(s.fd, line.data() + off, line.size() - static_cast<std::size_t>(off));
    if (w <= 0) break;
    off += w;
  }
}

}  // namespace colossus::base
