#include "base/logging.hpp"

#include <fcntl.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <atomic>
#include <cstdio>
#include <mutex>
#include <shared_mutex>
#include <string>

#include "colossus/colossus.hpp"

#ifndef COLOSSUS_VERSION_STRING
#error "COLOSSUS_VERSION_STRING is defined by lib/base/CMakeLists.txt"
#endif

namespace colossus::base {

namespace {

// The settings in force. Level and subsystems are read by every CLOG, so
// they are atomics; the file descriptor is shared by the writers and taken
// alone by a reload, which may close it.
struct State {
  std::atomic<int> level;
  std::atomic<unsigned> subsys;
  std::atomic<bool> version_due;  // COLOSSUS_DEBUG=VERSION, not printed yet
  std::atomic<bool> version_shown{false};
  std::shared_mutex mu;
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

// Applies a Config's logging fields; the caller holds s.mu alone (or nobody
// else can see s yet).
void apply(State& s, const Config& cfg) {
  int fd = 2;
  if (!cfg.log_file.empty()) {
    const std::string path = expand(cfg.log_file, s.host);
    const int f = open(path.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
    if (f >= 0) fd = f;
  }
  if (s.fd != 2) close(s.fd);
  s.fd = fd;
  s.level.store(static_cast<int>(cfg.log_level), std::memory_order_relaxed);
  s.subsys.store(cfg.log_subsys, std::memory_order_relaxed);
  s.version_due.store(cfg.log_version, std::memory_order_relaxed);
}

// Never destroyed: threads may log while the process exits.
State& state() {
  static State* const s = [] {
    auto* k = new State;
    char host[256] = {};
    gethostname(host, sizeof host - 1);
    k->host = host;
    apply(*k, env_config());
    return k;
  }();
  return *s;
}

bool enabled(const State& s, LogLevel level, LogSub sub) {
  if (level == LogLevel::None || static_cast<int>(level) > s.level.load(std::memory_order_relaxed))
    return false;
  return level == LogLevel::Warn ||
         (s.subsys.load(std::memory_order_relaxed) & static_cast<unsigned>(sub)) != 0;
}

void write_line(State& s, const std::string& line) {
  std::shared_lock<std::shared_mutex> lock(s.mu);
  ssize_t off = 0;
  while (off < static_cast<ssize_t>(line.size())) {
    const ssize_t w = ::write(s.fd, line.data() + off, line.size() - static_cast<std::size_t>(off));
    if (w <= 0) break;
    off += w;
  }
}

// The version line, once per process: bare at VERSION (as NCCL prints it),
// an INFO line at INFO and above.
void show_version(State& s) {
  const bool bare = s.version_due.load(std::memory_order_relaxed);
  if (!bare && !enabled(s, LogLevel::Info, LogSub::Init)) return;
  if (s.version_shown.exchange(true)) return;
  if (bare)
    write_line(s, "colossus version " COLOSSUS_VERSION_STRING "\n");
  else
    LogLine(LogLevel::Info) << "colossus version " COLOSSUS_VERSION_STRING;
}

std::string joined(const std::vector<std::string>& items) {
  std::string out;
  for (const auto& item : items) out += (out.empty() ? "" : ", ") + item;
  return out;
}

// What reading the environment found, reported once by whoever logs first.
// True when this call made the report.
bool report_config() {
  static std::once_flag once;
  bool now = false;
  std::call_once(once, [&] {
    now = true;
    State& s = state();
    const Config& cfg = env_config();
    if (enabled(s, LogLevel::Warn, LogSub::Env))
      for (const auto& w : cfg.warnings) LogLine(LogLevel::Warn) << w;
    show_version(s);
    if (!enabled(s, LogLevel::Info, LogSub::Env)) return;
    if (!cfg.nccl_honoured.empty())
      LogLine(LogLevel::Info) << "honouring " << joined(cfg.nccl_honoured);
    if (!cfg.nccl_ignored.empty())
      LogLine(LogLevel::Info) << "ignoring " << joined(cfg.nccl_ignored)
                              << " (no colossus meaning)";
  });
  return now;
}

}  // namespace

bool log_enabled(LogLevel level, LogSub sub) {
  State& s = state();
  report_config();
  return enabled(s, level, sub);
}

void reload_log_settings() {
  State& s = state();
  const Config fresh = Config::from_env();
  {
    std::unique_lock<std::shared_mutex> lock(s.mu);
    apply(s, fresh);
  }
  // The process's first report goes out under the new settings; after it,
  // only what is wrong with the logging variables just read.
  if (report_config()) return;
  if (enabled(s, LogLevel::Warn, LogSub::Env)) {
    for (const auto& w : fresh.warnings) {
      if (w.rfind("COLOSSUS_DEBUG", 0) == 0 || w.rfind("NCCL_DEBUG", 0) == 0)
        LogLine(LogLevel::Warn) << w;
    }
  }
  show_version(s);
}

LogLine::~LogLine() {
  State& s = state();
  const char* name = level_ == LogLevel::Warn   ? "WARN"
                     : level_ == LogLevel::Info ? "INFO"
                                                : "TRACE";
  write_line(s, s.host + ":" + std::to_string(getpid()) + ":" +
                    std::to_string(static_cast<long>(syscall(SYS_gettid))) + " colossus " + name +
                    " " + os_.str() + "\n");
}

}  // namespace colossus::base

namespace colossus {

void reload_log_settings() { base::reload_log_settings(); }

}  // namespace colossus
