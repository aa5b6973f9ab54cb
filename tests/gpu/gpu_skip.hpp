// gpu_skip.hpp: skipping a GPU test case where no GPU is usable.
//
// require_gpu(test) returns when this library's CUDA runtime sees a device;
// otherwise the case is skipped with one line saying why: Catch2 >= 3.3
// SKIP, or on Catch2 v2 "SKIPPED: ..." and exit code 77, which these tests
// register as their SKIP_RETURN_CODE (ctest then reports them as skipped,
// never failed). Exiting ends the whole binary, which is harmless under
// catch_discover_tests (one ctest test per case), so a binary may mix GPU
// cases with cases that run everywhere.
// Include after catch.hpp (SKIP is looked for).
#pragma once

#include <cstdio>
#include <cstdlib>

#include "reduce/cuda/reduce_cuda.hpp"

namespace colossus::test {

inline void require_gpu(const char* test) {
  const char* why = "";
  if (reduce::gpu::device_available(&why)) return;
  (void)test;
#if defined(SKIP)  // Catch2 >= 3.3: throws; the case is reported skipped
  SKIP("no usable CUDA device here (" << why << "); run on a GPU machine (tests/gpu/README.md)");
#else  // Catch2 v2: exit 77, the test's SKIP_RETURN_CODE
  std::printf(
      "SKIPPED: %s: no usable CUDA device here (%s); run on a GPU machine "
      "(tests/gpu/README.md)\n",
      test, why);
  std::fflush(stdout);
  std::_Exit(77);
#endif
}

}  // namespace colossus::test
