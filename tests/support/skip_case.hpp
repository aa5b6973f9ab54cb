// skip_case.hpp: ending a test case as skipped, where what it needs is
// missing from this machine (IPv6, say), so that ctest reports it skipped
// rather than passed.
//
// Catch2 >= 3.3: SKIP. Catch2 v2 has no skip: the case prints one line,
// "SKIPPED: <case>: <why>", and the process exits with code 77, the
// SKIP_RETURN_CODE of every discovered test (colossus_add_test in
// tests/CMakeLists.txt). Exiting ends the whole binary, which is harmless
// under catch_discover_tests (one process per case); running the binary by
// hand, the cases after it do not run.
// Include after catch.hpp (SKIP is looked for).
#pragma once

#include <cstdio>
#include <cstdlib>
#include <string>

namespace colossus::test {

inline void skip_case(const char* test, const std::string& why) {
#if defined(SKIP)  // Catch2 >= 3.3: throws; the case is reported skipped
  (void)test;
  SKIP(why);
#else
  std::printf("SKIPPED: %s: %s\n", test, why.c_str());
  std::fflush(stdout);
  std::_Exit(77);
#endif
}

}  // namespace colossus::test
