// The config module: size parsing and environment handling.
#include <cstdlib>

#include "catch.hpp"
#include "base/config.hpp"

using colossus::base::Config;
using colossus::base::LogLevel;
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
