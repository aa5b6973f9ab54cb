// nccl_env_test: NCCL's logging variables through libnccl.so.2.
// ncclResetDebugInit reads NCCL_DEBUG, NCCL_DEBUG_FILE and NCCL_DEBUG_SUBSYS
// again, so a program can change them between communicators. Each test case
// runs in its own process (catch_discover_tests), with fresh settings.
#include <unistd.h>

#include <cstdlib>
#include <fstream>
#include <sstream>
#include <string>

#include "catch.hpp"
#include "colossus/nccl.h"

namespace {

// Host communicators only: hide any GPU before the library first looks (device.cc).
const int hide_gpus = setenv("CUDA_VISIBLE_DEVICES", "", 1);

// A log file of this test, removed (with the variables it set) at the end.
struct LogFile {
  std::string path;
  LogFile() {
    char name[] = "/tmp/nccl_env_test.XXXXXX";
    const int fd = mkstemp(name);
    REQUIRE(fd >= 0);
    close(fd);
    path = name;
    setenv("NCCL_DEBUG_FILE", path.c_str(), 1);
  }
  ~LogFile() {
    unlink(path.c_str());
    for (const char* v :
         {"NCCL_DEBUG", "NCCL_DEBUG_FILE", "NCCL_DEBUG_SUBSYS", "NCCL_PROTO", "NCCL_ALGO"})
      unsetenv(v);
  }
  std::string text() const {
    std::ifstream in(path);
    std::stringstream all;
    all << in.rdbuf();
    return all.str();
  }
};

std::size_t count(const std::string& text, const std::string& what) {
  std::size_t n = 0;
  for (auto at = text.find(what); at != std::string::npos; at = text.find(what, at + 1)) ++n;
  return n;
}

// A one-rank communicator through its life: init, one allreduce, destroy.
void one_rank_comm() {
  ncclComm_t comm = nullptr;
  REQUIRE(ncclCommInitAll(&comm, 1, nullptr) == ncclSuccess);
  float x = 1;
  REQUIRE(ncclAllReduce(&x, &x, 1, ncclFloat, ncclSum, comm, nullptr) == ncclSuccess);
  REQUIRE(ncclCommDestroy(comm) == ncclSuccess);
}

}  // namespace

TEST_CASE("ncclResetDebugInit follows NCCL_DEBUG from INFO to WARN") {
  LogFile log;
  setenv("NCCL_DEBUG", "INFO", 1);
  setenv("NCCL_PROTO", "Simple", 1);  // no colossus meaning: listed once as ignored
  ncclResetDebugInit();
  one_rank_comm();
  const std::string info = log.text();
  INFO(info);
  CHECK(count(info, " colossus INFO ") >= 2);
  CHECK(count(info, "colossus version ") == 1);
  CHECK(count(info, "ignoring NCCL_PROTO (no colossus meaning)") == 1);
  CHECK(count(info, "honouring NCCL_DEBUG=INFO, NCCL_DEBUG_FILE=") == 1);
  one_rank_comm();  // the report was once per process
  CHECK(count(log.text(), "ignoring NCCL_PROTO") == 1);

  setenv("NCCL_DEBUG", "WARN", 1);
  ncclResetDebugInit();
  const std::string before = log.text();
  one_rank_comm();
  CHECK(log.text() == before);  // nothing at WARN from a healthy communicator
}

TEST_CASE("ncclResetDebugInit follows NCCL_DEBUG_SUBSYS") {
  LogFile log;
  setenv("NCCL_DEBUG", "INFO", 1);
  setenv("NCCL_DEBUG_SUBSYS", "INIT", 1);
  ncclResetDebugInit();
  one_rank_comm();
  const std::string init = log.text();
  INFO(init);
  CHECK(count(init, "loopback group: ") == 1);  // an INIT line

  setenv("NCCL_DEBUG_SUBSYS", "^INIT", 1);
  ncclResetDebugInit();
  one_rank_comm();
  const std::string rest = log.text().substr(init.size());
  INFO(rest);
  CHECK(count(rest, "loopback group: ") == 0);

  setenv("NCCL_DEBUG_SUBSYS", "INIT,NOSUCH", 1);  // a bad value warns (the filter is ALL again)
  ncclResetDebugInit();
  CHECK(count(log.text(), "NCCL_DEBUG_SUBSYS=INIT,NOSUCH ignored") == 1);
}

TEST_CASE("NCCL_DEBUG=VERSION prints the version line and nothing else") {
  LogFile log;
  setenv("NCCL_DEBUG", "VERSION", 1);
  ncclResetDebugInit();
  one_rank_comm();
  const std::string text = log.text();
  CHECK(text.rfind("colossus version ", 0) == 0);
  CHECK(count(text, "\n") == 1);
}

TEST_CASE("an NCCL_ALGO naming NCCL's own algorithms warns, and init goes on") {
  LogFile log;
  setenv("NCCL_DEBUG", "WARN", 1);
  setenv("NCCL_ALGO", "NVLS,Ring", 1);  // read at first use: this process's first call
  ncclResetDebugInit();
  one_rank_comm();
  const std::string text = log.text();
  INFO(text);
  CHECK(count(text, "colossus WARN NCCL_ALGO=NVLS,Ring ignored: ") == 1);
}
