// The config module: size parsing and environment handling.
#include "base/config.hpp"

#include <cstdlib>

#include "catch.hpp"

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
