// scale.cu: the CUDA scaling kernel of the pre-multiplied sum (see
// reduce_cuda.hpp's scale_async). One element per thread and grid stride;
// the arithmetic is FuncScale's (functors.hpp), the CPU kernel's exactly.
#include <cstdint>
#include <cstring>

#include "reduce/cuda/reduce_cuda.hpp"
#include "reduce/dispatch.hpp"
#include "reduce/functors.hpp"

namespace colossus::reduce::gpu {
namespace {

constexpr int kScaleThreads = 256;

// scalar_ptr != nullptr: the scalar is read from device memory; else `scalar`.
template <class T>
__global__ void scale_kernel(const T* in, T* out, std::size_t n, const T* scalar_ptr, T scalar) {
  const FuncScale<T> f(scalar_ptr != nullptr ? *scalar_ptr : scalar);
  const std::size_t stride = std::size_t{gridDim.x} * blockDim.x;
  for (std::size_t i = std::size_t{blockIdx.x} * blockDim.x + threadIdx.x; i < n; i += stride) {
    out[i] = f(in[i]);
  }
}

}  // namespace

cudaError_t scale_async(DataType dtype, const void* in, void* out, std::size_t count,
                        const void* scalar, bool scalar_on_device, cudaStream_t stream) {
  if (!is_valid(dtype) || scalar == nullptr) return cudaErrorInvalidValue;
  if (count == 0) return cudaSuccess;
  const std::size_t size = dtype_size(dtype);
  for (const void* p : {in, static_cast<const void*>(out)}) {
    if (p == nullptr || reinterpret_cast<std::uintptr_t>(p) % size != 0)
      return cudaErrorInvalidValue;
  }
  const std::size_t want = (count + kScaleThreads - 1) / kScaleThreads;
  const auto blocks = static_cast<unsigned>(want < 4096 ? want : 4096);
  cudaError_t err = cudaErrorInvalidValue;
  dispatch_dtype_op(dtype, ReduceOp::Sum, [&](auto type_tag, auto) {
    using T = typename decltype(type_tag)::type;
    T value{};
    const T* pointer = nullptr;
    if (scalar_on_device) {
      pointer = static_cast<const T*>(scalar);
    } else {
      std::memcpy(&value, scalar, sizeof(T));
    }
    scale_kernel<T><<<blocks, kScaleThreads, 0, stream>>>(
        static_cast<const T*>(in), static_cast<T*>(out), count, pointer, value);
    err = cudaGetLastError();
  });
  return err;
}

}  // namespace colossus::reduce::gpu
