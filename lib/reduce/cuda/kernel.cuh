// kernel.cuh: internal to lib/reduce/cuda: the standalone kernel and its launcher.
#pragma once

#include "reduce/cuda/launch.hpp"
#include "reduce/cuda/reduce_copy.cuh"
#include "reduce/dispatch.hpp"

namespace colossus::reduce::gpu::detail {

// The whole grid is one group: thread = global index.
template <class T, class Op>
__global__ void __launch_bounds__(kThreads, 1) reduce_copy_kernel(const Operands operands) {
  reduce_copy<T, Op>(operands, blockIdx.x * blockDim.x + threadIdx.x, gridDim.x * blockDim.x);
}

template <class T>
cudaError_t launch_typed(ReduceOp op, const Operands& operands, unsigned blocks,
                         cudaStream_t stream) {
  cudaError_t err = cudaErrorInvalidValue;
  dispatch_op<T>(op, [&](auto, auto op_tag) {
    using Op = typename decltype(op_tag)::type;
    reduce_copy_kernel<T, Op><<<blocks, kThreads, 0, stream>>>(operands);
    err = cudaGetLastError();
  });
  return err;
}

}  // namespace colossus::reduce::gpu::detail

#define COLOSSUS_INSTANTIATE_LAUNCH(T)                                 \
  template cudaError_t colossus::reduce::gpu::detail::launch_typed<T>( \
      colossus::ReduceOp, const colossus::reduce::gpu::Operands&, unsigned, cudaStream_t)
