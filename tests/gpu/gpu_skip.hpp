// gpu_skip.hpp: skipping a GPU test case where no GPU is usable.
//
// require_gpu(test) returns when this library's CUDA runtime sees a device;
// otherwise the case is skipped with one line saying why (skip_case.hpp:
// ctest reports it skipped, never failed). A binary may mix GPU cases with
// cases that run everywhere.
// Include after catch.hpp (SKIP is looked for).
#pragma once

#include <string>

#include "reduce/cuda/reduce_cuda.hpp"
#include "support/skip_case.hpp"

namespace colossus::test {

inline void require_gpu(const char* test) {
  const char* why = "";
  if (reduce::gpu::device_available(&why)) return;
  skip_case(test, std::string("no usable CUDA device here (") + why +
                      "); run on a GPU machine (tests/gpu/README.md)");
}

}  // namespace colossus::test
