// The log: subsystem filtering and reloading the settings while threads log.
#include "base/logging.hpp"

#include <unistd.h>

#include <cstdlib>
#include <fstream>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "catch.hpp"

using colossus::base::LogLevel;
using colossus::base::LogSub;

namespace {

std::string temp_file() {
  char name[] = "/tmp/logging_test.XXXXXX";
  const int fd = mkstemp(name);
  REQUIRE(fd >= 0);
  close(fd);
  return name;
}

std::vector<std::string> lines_of(const std::string& path) {
  std::ifstream in(path);
  std::vector<std::string> lines;
  for (std::string l; std::getline(in, l);) lines.push_back(l);
  return lines;
}

}  // namespace

TEST_CASE("lines stay whole while another thread reloads the log settings", "[logging]") {
  const std::string a = temp_file(), b = temp_file();
  setenv("COLOSSUS_DEBUG", "INFO", 1);
  setenv("COLOSSUS_DEBUG_FILE", a.c_str(), 1);
  colossus::base::reload_log_settings();
  constexpr int kThreads = 2, kLines = 2000;
  std::vector<std::thread> loggers;
  for (int t = 0; t < kThreads; ++t) {
    loggers.emplace_back([t] {
      for (int i = 0; i < kLines; ++i) CLOG_SUB(Info, Net) << "payload " << t << " " << i << " end";
    });
  }
  for (int r = 0; r < 200; ++r) {
    setenv("COLOSSUS_DEBUG_FILE", (r % 2 ? a : b).c_str(), 1);
    colossus::base::reload_log_settings();
  }
  for (auto& t : loggers) t.join();
  int payload = 0;
  for (const std::string& path : {a, b}) {
    for (const std::string& l : lines_of(path)) {
      if (l.find(" colossus INFO payload ") == std::string::npos) continue;
      ++payload;
      CHECK(l.size() > 4);
      CHECK(l.compare(l.size() - 4, 4, " end") == 0);
    }
  }
  CHECK(payload == kThreads * kLines);

  // A subsystem filter drops the INFO lines of the others, never a WARN line.
  setenv("COLOSSUS_DEBUG_SUBSYS", "^NET", 1);
  colossus::base::reload_log_settings();
  CHECK_FALSE(colossus::base::log_enabled(LogLevel::Info, LogSub::Net));
  CHECK(colossus::base::log_enabled(LogLevel::Info, LogSub::Init));
  CHECK(colossus::base::log_enabled(LogLevel::Info));  // a line of no subsystem: all
  CHECK(colossus::base::log_enabled(LogLevel::Warn, LogSub::Net));
  CHECK_FALSE(colossus::base::log_enabled(LogLevel::Trace, LogSub::Init));
  for (const char* v : {"COLOSSUS_DEBUG", "COLOSSUS_DEBUG_FILE", "COLOSSUS_DEBUG_SUBSYS"})
    unsetenv(v);
  colossus::base::reload_log_settings();
  unlink(a.c_str());
  unlink(b.c_str());
}
