// The config module: size parsing and environment handling.
#include "base/config.hpp"

#include <cstdlib>
#include <string>
#include <vector>

#include "catch.hpp"

using colossus::base::Config;
using colossus::base::LogLevel;
using colossus::base::LogSub;
using colossus::base::parse_bytes;

TEST_CASE("sizes parse with K/M/G suffixes and reject garbage", "[config]") {
  std::size_t v = 0;
  CHECK((parse_bytes("123", &v) && v == 123));
  CHECK((parse_bytes("4K", &v) && v == 4096));
  CHECK((parse_bytes("64M", &v) && v == 64u << 20));
  CHECK((parse_bytes("2G", &v) && v == 2ull << 30));
  CHECK((parse_bytes("512KB", &v) && v == 512u << 10));
  CHECK_FALSE(parse_bytes("", &v));
  CHECK_FALSE(parse_bytes("-4", &v));
  CHECK_FALSE(parse_bytes("4X", &v));
  CHECK_FALSE(parse_bytes("4KK", &v));
  CHECK_FALSE(parse_bytes("99999999999999999999G", &v));
  // Fractions, as the *_perf tools' -b/-e/-i have always taken them.
  CHECK((parse_bytes("1.5k", &v) && v == 1536));
  CHECK((parse_bytes("0.5M", &v) && v == 512u << 10));
  CHECK((parse_bytes(".25KB", &v) && v == 256));
  CHECK((parse_bytes("1.5", &v) && v == 1));  // a fraction of a byte is dropped
  CHECK((parse_bytes("8MB", &v) && v == 8u << 20));
  CHECK((parse_bytes("18446744073709551615", &v) && v == 18446744073709551615ull));
  CHECK_FALSE(parse_bytes("18446744073709551616", &v));
  CHECK_FALSE(parse_bytes("17179869184G", &v));  // 2^64 bytes
  for (const char* bad : {".", "+4", " 4", "4 ", "1e3", "8B", "1.5.K", "K", "0x10", "inf"}) {
    INFO(bad);
    CHECK_FALSE(parse_bytes(bad, &v));
  }
}

TEST_CASE("environment variables set fields, bad values and unknown names warn", "[config]") {
  setenv("COLOSSUS_DEBUG", "info", 1);
  setenv("COLOSSUS_NCHANNELS", "4", 1);
  setenv("COLOSSUS_CHUNK_BYTES", "128K", 1);
  setenv("COLOSSUS_TIMEOUT_S", "abc", 1);
  setenv("COLOSSUS_FIFO_DEPTH", "0", 1);
  setenv("COLOSSUS_NCHANELS", "3", 1);  // typo
  const Config c = Config::from_env();
  CHECK(c.log_level == LogLevel::Info);
  CHECK(c.nchannels == 4);
  CHECK(c.chunk_bytes == 128u << 10);
  CHECK(c.timeout_s == Config{}.timeout_s);
  CHECK(c.fifo_depth == Config{}.fifo_depth);
  std::string all;
  for (const auto& w : c.warnings) all += w + "\n";
  INFO(all);
  CHECK(all.find("COLOSSUS_TIMEOUT_S=abc ignored") != std::string::npos);
  CHECK(all.find("COLOSSUS_FIFO_DEPTH=0 ignored") != std::string::npos);
  CHECK(all.find("unknown variable COLOSSUS_NCHANELS") != std::string::npos);
  for (const char* name : {"COLOSSUS_DEBUG", "COLOSSUS_NCHANNELS", "COLOSSUS_CHUNK_BYTES",
                           "COLOSSUS_TIMEOUT_S", "COLOSSUS_FIFO_DEPTH", "COLOSSUS_NCHANELS"}) {
    unsetenv(name);
  }
}

namespace {

// Sets variables for one test case and unsets them all at its end.
struct Env {
  std::vector<std::string> names;
  void set(const char* name, const char* value) {
    setenv(name, value, 1);
    names.push_back(name);
  }
  ~Env() {
    for (const auto& n : names) unsetenv(n.c_str());
  }
};

std::string lines(const std::vector<std::string>& items) {
  std::string all;
  for (const auto& i : items) all += i + "\n";
  return all;
}

bool has(const std::vector<std::string>& items, const std::string& text) {
  return lines(items).find(text) != std::string::npos;
}

}  // namespace

TEST_CASE("NCCL variables with a colossus meaning set their fields", "[config]") {
  Env env;
  env.set("NCCL_DEBUG", "INFO");
  env.set("NCCL_DEBUG_FILE", "/tmp/nccl.%h.%p");
  env.set("NCCL_DEBUG_SUBSYS", "init,TUNING");
  env.set("NCCL_ALGO", "allreduce:tree;allgather:ring");
  env.set("NCCL_SOCKET_IFNAME", "=eth0");
  env.set("NCCL_COMM_ID", "10.1.2.3:4567");
  env.set("NCCL_TOPO_FILE", "/etc/topo.xml");
  env.set("NCCL_TOPO_DUMP_FILE", "/tmp/dump.xml");
  env.set("NCCL_MIN_NCHANNELS", "2");
  env.set("NCCL_MAX_NCHANNELS", "8");
  env.set("NCCL_SOCKET_NTHREADS", "2");
  env.set("NCCL_NSOCKS_PERTHREAD", "3");
  env.set("NCCL_SHM_DISABLE", "1");
  env.set("NCCL_BUFFSIZE", "4194304");
  const Config c = Config::from_env();
  INFO(lines(c.warnings));
  CHECK(c.warnings.empty());
  CHECK(c.log_level == LogLevel::Info);
  CHECK(c.log_file == "/tmp/nccl.%h.%p");
  CHECK(c.log_subsys ==
        (static_cast<unsigned>(LogSub::Init) | static_cast<unsigned>(LogSub::Tuning)));
  CHECK((c.algo == "allreduce:tree;allgather:ring" && c.algo_var == "NCCL_ALGO"));
  CHECK(c.socket_ifname == "=eth0");
  CHECK((c.bootstrap_addr == "10.1.2.3:4567" && c.bootstrap_addr_var == "NCCL_COMM_ID"));
  CHECK((c.topo_file == "/etc/topo.xml" && c.topo_file_var == "NCCL_TOPO_FILE"));
  CHECK(c.topo_dump_file == "/tmp/dump.xml");
  CHECK((c.min_nchannels == 2 && c.max_nchannels == 8 && !c.nchannels_set));
  CHECK(c.socket_nsocks == 6);
  CHECK(c.transport == "tcp");
  CHECK(c.slot_bytes == (4u << 20) / 4);  // the FIFO of 4 slots holds NCCL_BUFFSIZE
  CHECK(c.nccl_honoured.size() == 14);
  CHECK(has(c.nccl_honoured, "NCCL_ALGO=allreduce:tree;allgather:ring"));
  CHECK(has(c.nccl_honoured, "(2 threads x 3 sockets: 6 sockets per peer)"));
  CHECK(c.nccl_ignored.empty());
}

TEST_CASE("a COLOSSUS_* variable wins over its NCCL_* one", "[config]") {
  Env env;
  const char* pairs[][4] = {
      {"COLOSSUS_DEBUG", "TRACE", "NCCL_DEBUG", "WARN"},
      {"COLOSSUS_DEBUG_SUBSYS", "NET", "NCCL_DEBUG_SUBSYS", "INIT"},
      {"COLOSSUS_ALGO", "ring", "NCCL_ALGO", "tree"},
      {"COLOSSUS_SOCKET_IFNAME", "eth", "NCCL_SOCKET_IFNAME", "ib"},
      {"COLOSSUS_BOOTSTRAP_ADDR", "10.0.0.1:1", "NCCL_COMM_ID", "10.0.0.2:2"},
      {"COLOSSUS_NCHANNELS", "4", "NCCL_MAX_NCHANNELS", "2"},
      {"COLOSSUS_SOCKET_NSOCKS", "3", "NCCL_NSOCKS_PERTHREAD", "8"},
      {"COLOSSUS_TRANSPORT", "shm", "NCCL_SHM_DISABLE", "1"},
      {"COLOSSUS_SLOT_BYTES", "64K", "NCCL_BUFFSIZE", "8M"},
  };
  for (const auto& p : pairs) env.set(p[0], p[1]), env.set(p[2], p[3]);
  const Config c = Config::from_env();
  INFO(lines(c.warnings));
  CHECK(c.warnings.empty());
  CHECK(c.log_level == LogLevel::Trace);
  CHECK(c.log_subsys == static_cast<unsigned>(LogSub::Net));
  CHECK((c.algo == "ring" && c.algo_var == "COLOSSUS_ALGO"));
  CHECK(c.socket_ifname == "eth");
  CHECK((c.bootstrap_addr == "10.0.0.1:1" && c.bootstrap_addr_var == "COLOSSUS_BOOTSTRAP_ADDR"));
  CHECK((c.nchannels == 4 && c.nchannels_set && c.max_nchannels == 64));
  CHECK(c.socket_nsocks == 3);
  CHECK(c.transport == "shm");
  CHECK(c.slot_bytes == 64u << 10);
  for (const auto& p : pairs) {
    INFO(p[2]);
    CHECK(has(c.nccl_honoured, std::string(p[2]) + "=" + p[3] + " (" + p[0] + " wins)"));
  }
}

TEST_CASE("NCCL_BUFFSIZE is divided by the FIFO depth in force", "[config]") {
  Env env;
  env.set("COLOSSUS_FIFO_DEPTH", "8");
  env.set("NCCL_BUFFSIZE", "1M");
  CHECK(Config::from_env().slot_bytes == (1u << 20) / 8);
}

TEST_CASE("bad values of honoured NCCL variables warn and leave the defaults", "[config]") {
  Env env;
  env.set("NCCL_DEBUG", "LOUD");
  env.set("NCCL_DEBUG_SUBSYS", "INIT,NOSUCH");
  env.set("NCCL_COMM_ID", "10.0.0.1");
  env.set("NCCL_MAX_NCHANNELS", "4");
  env.set("NCCL_MIN_NCHANNELS", "9");
  env.set("NCCL_SOCKET_NTHREADS", "17");
  env.set("NCCL_SHM_DISABLE", "yes");
  env.set("NCCL_BUFFSIZE", "12");
  const Config c = Config::from_env();
  const Config d;
  const std::string all = lines(c.warnings);
  INFO(all);
  for (const char* w : {"NCCL_DEBUG=LOUD ignored", "NCCL_DEBUG_SUBSYS=INIT,NOSUCH ignored",
                        "NCCL_COMM_ID=10.0.0.1 ignored", "NCCL_MIN_NCHANNELS=9 ignored",
                        "NCCL_SOCKET_NTHREADS=17 ignored", "NCCL_SHM_DISABLE=yes ignored",
                        "NCCL_BUFFSIZE=12 ignored"})
    CHECK(all.find(w) != std::string::npos);
  CHECK(c.log_level == d.log_level);
  CHECK(c.log_subsys == d.log_subsys);
  CHECK(c.bootstrap_addr.empty());
  CHECK((c.min_nchannels == 1 && c.max_nchannels == 4));  // NCCL_MAX_NCHANNELS was good
  CHECK(c.socket_nsocks == d.socket_nsocks);
  CHECK(c.transport.empty());
  CHECK(c.slot_bytes == d.slot_bytes);

  env.set("NCCL_SOCKET_NTHREADS", "16");
  env.set("NCCL_NSOCKS_PERTHREAD", "8");  // 128 sockets: over NCCL's own 64
  const Config e = Config::from_env();
  CHECK(has(e.warnings, "NCCL_NSOCKS_PERTHREAD=8 ignored"));
  CHECK(e.socket_nsocks == d.socket_nsocks);
  env.set("NCCL_NSOCKS_PERTHREAD", "4");  // 64: valid for NCCL, colossus's 16 at most
  CHECK(Config::from_env().socket_nsocks == 16);
}

TEST_CASE("NCCL variables without a colossus meaning are listed as ignored", "[config]") {
  Env env;
  env.set("NCCL_PROTO", "LL");
  env.set("NCCL_IB_HCA", "mlx5_0");
  env.set("NCCL_P2P_DISABLE", "1");
  env.set("NCCL_TESTS_MIN_BW", "10");  // the *_perf tools' own
  env.set("NCCL_ALGO", "ring");
  const Config c = Config::from_env();
  const std::string ignored = lines(c.nccl_ignored);
  INFO(ignored);
  CHECK(c.nccl_ignored.size() == 3);
  for (const char* name : {"NCCL_PROTO", "NCCL_IB_HCA", "NCCL_P2P_DISABLE"})
    CHECK(ignored.find(name) != std::string::npos);
  CHECK(c.warnings.empty());
}

TEST_CASE("log levels and subsystems parse as NCCL's", "[config]") {
  Env env;
  env.set("COLOSSUS_DEBUG", "version");
  env.set("COLOSSUS_DEBUG_SUBSYS", "^net,shm");
  const Config c = Config::from_env();
  CHECK((c.log_level == LogLevel::None && c.log_version));
  CHECK(c.log_subsys == ~(static_cast<unsigned>(LogSub::Net) | static_cast<unsigned>(LogSub::Shm)));
  env.set("COLOSSUS_DEBUG_SUBSYS", "ALL");
  CHECK(Config::from_env().log_subsys == ~0u);
  for (const auto& v : colossus::base::nccl_vars())
    CHECK(std::string(v.name).rfind("NCCL_", 0) == 0);
}
