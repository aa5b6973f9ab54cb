// memory_none.cc: --buffers device in a build without CUDA (memory.hpp).
#include "perf/memory.hpp"

namespace colossus::perf {

int process_device() {
  throw Error(ErrorCode::InvalidUsage,
              "--buffers device: these tools were built without CUDA (no nvcc found, or "
              "COLOSSUS_CUDA=OFF)");
}

std::unique_ptr<RankMemory> make_device_memory(int) {
  (void)process_device();
  return nullptr;
}

}  // namespace colossus::perf
