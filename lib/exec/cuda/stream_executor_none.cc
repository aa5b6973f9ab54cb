// stream_executor_none.cc: the device path of a build without CUDA. Binding a
// communicator to a device says so, once, clearly (COLOSSUS_CUDA, cmake/Cuda.cmake).
#include "colossus/error.hpp"
#include "exec/cuda/stream_executor.hpp"

namespace colossus::exec::gpu {
namespace {
[[noreturn]] void no_cuda() {
  throw Error(ErrorCode::InvalidUsage,
              "device buffers: this colossus was built without CUDA (no nvcc found, or "
              "COLOSSUS_CUDA=OFF); rebuild with the CUDA toolkit to bind a communicator to a GPU");
}
}  // namespace

DeviceInfo describe_device(int) { no_cuda(); }
bool is_device_memory(const void*) { return false; }
std::unique_ptr<StreamExecutor> make_stream_executor(StreamSetup) { no_cuda(); }

}  // namespace colossus::exec::gpu
