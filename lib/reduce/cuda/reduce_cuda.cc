// reduce_cuda.cc: the host side of the fused CUDA reduce-copy: argument
// checks, grid size, dispatch to the per-dtype launchers.
#include "reduce/cuda/reduce_cuda.hpp"

#include <algorithm>
#include <atomic>
#include <cstdint>

#include "reduce/cuda/launch.hpp"
#include "reduce/dispatch.hpp"

namespace colossus::reduce::gpu {
namespace {

// Multiprocessors of `device`, asked once per device.
int sm_count(int device) {
  static std::atomic<int> cache[64] = {};
  if (device < 0 || device >= 64) return 1;
  int n = cache[device].load(std::memory_order_relaxed);
  if (n == 0) {
    if (cudaDeviceGetAttribute(&n, cudaDevAttrMultiProcessorCount, device) != cudaSuccess || n < 1)
      n = 1;
    cache[device].store(n, std::memory_order_relaxed);
  }
  return n;
}

// Enough blocks for one pass of 16-byte vectors (kUnroll per thread), capped
// at a few resident blocks per multiprocessor: the kernel strides over the rest.
unsigned blocks_for(std::size_t bytes) {
  int device = 0;
  if (cudaGetDevice(&device) != cudaSuccess) device = 0;
  const std::size_t per_block = std::size_t{detail::kThreads} * 16 * 4;
  const std::size_t want = std::max<std::size_t>(1, (bytes + per_block - 1) / per_block);
  const std::size_t cap = static_cast<std::size_t>(sm_count(device)) * 4;
  return static_cast<unsigned>(std::min(want, cap));
}

bool aligned(const void* p, std::size_t size) {
  return reinterpret_cast<std::uintptr_t>(p) % size == 0;
}

}  // namespace

cudaError_t reduce_copy_async(const MultiReduceCopyArgs& args, cudaStream_t stream) {
  if (!is_valid(args.dtype) || !is_valid(args.op)) return cudaErrorInvalidValue;
  if (args.num_inputs < 1 || args.num_inputs > kMaxInputs) return cudaErrorInvalidValue;
  if (args.num_outputs < 1 || args.num_outputs > kMaxOutputs) return cudaErrorInvalidValue;
  if (args.count == 0) return cudaSuccess;
  const std::size_t size = dtype_size(args.dtype);
  Operands ops{};
  for (int j = 0; j < args.num_inputs; ++j) {
    if (args.in[j] == nullptr || !aligned(args.in[j], size)) return cudaErrorInvalidValue;
    ops.in[j] = args.in[j];
  }
  for (int o = 0; o < args.num_outputs; ++o) {
    if (args.out[o] == nullptr || !aligned(args.out[o], size)) return cudaErrorInvalidValue;
    ops.out[o] = args.out[o];
  }
  ops.num_inputs = args.num_inputs;
  ops.num_outputs = args.num_outputs;
  ops.count = args.count;
  ops.divisor = args.divisor;
  const unsigned blocks = blocks_for(args.count * size);

  // A copy is the same for every dtype: move bytes (the uint8 kernel with one input).
  if (args.num_inputs == 1 && args.divisor <= 1) {
    ops.count = args.count * size;
    return detail::launch_typed<std::uint8_t>(ReduceOp::Sum, ops, blocks, stream);
  }
  cudaError_t err = cudaErrorInvalidValue;
  dispatch_dtype_op(args.dtype, args.op, [&](auto type_tag, auto) {
    using T = typename decltype(type_tag)::type;
    err = detail::launch_typed<T>(args.op, ops, blocks, stream);
  });
  return err;
}

cudaError_t reduce_copy_async(const ReduceCopyArgs& args, cudaStream_t stream) {
  MultiReduceCopyArgs m;
  m.dtype = args.dtype;
  m.op = args.op;
  m.in[0] = args.in0;
  m.in[1] = args.in1;
  m.num_inputs = args.in1 != nullptr ? 2 : 1;
  m.out[0] = args.out0;
  m.num_outputs = 1;
  if (args.out1 != nullptr && args.out1 != args.out0) {
    m.out[1] = args.out1;
    m.num_outputs = 2;
  }
  m.count = args.count;
  m.divisor = args.divisor;
  return reduce_copy_async(m, stream);
}

bool device_available(const char** why) {
  int n = 0;
  const cudaError_t err = cudaGetDeviceCount(&n);
  if (err != cudaSuccess) {
    if (why != nullptr) *why = cudaGetErrorString(err);
    return false;
  }
  if (n == 0) {
    if (why != nullptr) *why = "no CUDA device";
    return false;
  }
  return true;
}

}  // namespace colossus::reduce::gpu
