// reduce_cuda.hpp: the fused CUDA reduce-copy, host launch API.
//
// One kernel pass reads k inputs (k = 1..kMaxInputs: the local buffer and
// peers' buffers mapped over NVLink, any device-accessible memory) and writes
// the same result to m outputs (m = 1..kMaxOutputs):
//
//   out[o][i] = fold(op, in[0][i], ..., in[k-1][i])  (/ divisor when > 1)
//
// with fold.hpp's arithmetic (fp16, bf16 and fp8 accumulate in fp32 and round
// once; integers wrap; Max/Min propagate NaN; Avg is Sum plus the divisor, as
// for the CPU reduce_copy). k = 1 without a divisor is a plain copy of the
// bits. Every dtype and op of the API.
//
// Contract:
// - Pointers must be device-accessible from the current device and aligned
//   to the element size (cudaMalloc'd buffers at any element offset are).
//   Buffers whose addresses agree modulo 16 bytes run on 16-byte vectors with
//   a scalar head and tail; others run element by element (correct, slower).
// - An output may alias an input exactly (in place); partial overlap is not
//   allowed. Outputs must not alias each other.
// - Asynchronous on `stream`; returns a launch error or cudaErrorInvalidValue
//   for bad arguments, never blocks. count == 0 launches nothing.
// - The library links the CUDA runtime statically with its symbols hidden (as
//   NCCL does): streams and device pointers from the caller's runtime work,
//   cudaGetLastError() in the caller does not see this library's errors.
//
// The device-callable form, for kernels of the library's own (the device-side
// executor), is reduce_copy.cuh.
#pragma once

#include <cuda_runtime_api.h>

#include <cstddef>

#include "colossus/types.hpp"
#include "reduce/reduce.hpp"

namespace colossus::reduce::gpu {

inline constexpr int kMaxInputs = 8;
inline constexpr int kMaxOutputs = 4;

struct MultiReduceCopyArgs {
  DataType dtype = DataType::Float32;
  ReduceOp op = ReduceOp::Sum;
  const void* in[kMaxInputs] = {};
  int num_inputs = 0;  // 1..kMaxInputs
  void* out[kMaxOutputs] = {};
  int num_outputs = 0;    // 1..kMaxOutputs
  std::size_t count = 0;  // elements per buffer
  int divisor = 1;        // > 1: divide the result (Avg finalize)
};

cudaError_t reduce_copy_async(const MultiReduceCopyArgs& args, cudaStream_t stream);

// The same operands as plain data, without dtype and op: what the kernels
// take (a kernel parameter, or one step's operands in device memory for the
// device-side executor). Unused slots are ignored.
struct Operands {
  const void* in[kMaxInputs];
  void* out[kMaxOutputs];
  int num_inputs;
  int num_outputs;
  std::size_t count;  // elements
  int divisor;
};

// The CPU entry point's argument shape (in0, optional in1, out0, optional
// out1), on the GPU: the same results as reduce_copy(args) on the host.
cudaError_t reduce_copy_async(const ReduceCopyArgs& args, cudaStream_t stream);

// The pre-multiplied sum's scaling (scale.hpp's arithmetic, FuncScale):
// out[i] = in[i] * scalar on `stream`. scalar_on_device: `scalar` is a
// device pointer to one element of dtype, read when the kernel runs; else it
// points to host memory, read now. in and out as above (out == in is fine).
// Asynchronous; cudaErrorInvalidValue for bad arguments; count == 0 launches
// nothing.
cudaError_t scale_async(DataType dtype, const void* in, void* out, std::size_t count,
                        const void* scalar, bool scalar_on_device, cudaStream_t stream);

// Whether this library's CUDA runtime sees a usable device; when not, `why`
// (if given) says what the runtime answered. For tests and benchmarks.
bool device_available(const char** why = nullptr);

}  // namespace colossus::reduce::gpu
