// channel_kernel_launch.cuh: internal: the launcher each channel_kernel_*.cu instantiates.
#pragma once

#include "exec/cuda/channel_kernel.cuh"
#include "exec/cuda/device_executor.hpp"
#include "reduce/dispatch.hpp"

namespace colossus::exec::gpu::detail {

template <class T>
cudaError_t launch_typed(ReduceOp op, const WorkBatch& batch, int num_works, bool cooperative,
                         cudaStream_t stream) {
  cudaError_t err = cudaErrorInvalidValue;
  reduce::dispatch_op<T>(op, [&](auto, auto op_tag) {
    using Op = typename decltype(op_tag)::type;
    void (*kernel)(WorkBatch) = channel_kernel<T, Op>;
    // The launch's own status (not a pending error of an earlier call).
    void* args[] = {const_cast<WorkBatch*>(&batch)};
    const void* fn = reinterpret_cast<const void*>(kernel);
    err = cooperative
              ? cudaLaunchCooperativeKernel(fn, dim3(num_works), dim3(kChannelThreads), args, 0,
                                            stream)
              : cudaLaunchKernel(fn, dim3(num_works), dim3(kChannelThreads), args, 0, stream);
  });
  return err;
}

}  // namespace colossus::exec::gpu::detail

#define COLOSSUS_INSTANTIATE_CHANNELS(T)                             \
  template cudaError_t colossus::exec::gpu::detail::launch_typed<T>( \
      colossus::ReduceOp, const colossus::exec::gpu::WorkBatch&, int, bool, cudaStream_t)
