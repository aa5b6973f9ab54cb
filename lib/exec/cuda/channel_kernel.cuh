// channel_kernel.cuh: the device-side executor's persistent kernel (nvcc only).
//
// channel_kernel<T, Op> runs one DeviceWork of its WorkBatch per block: the
// loop of channel_loop.hpp (shared with the CPU test, tests/exec) with the
// CUDA policy below: counters through cuda::atomic_ref at system scope (peers
// and the host proxy write them), deadlines on %globaltimer, __syncthreads
// for the block, and the fused reduce-copy of reduce_copy.cuh over the
// block's threads. Protocol and data: device_plan.hpp.
#pragma once

#include <cstddef>
#include <cstdint>
#include <cuda/atomic>

#include "exec/cuda/channel_loop.hpp"
#include "exec/cuda/device_plan.hpp"
#include "plan/step_io.hpp"
#include "reduce/cuda/reduce_copy.cuh"

namespace colossus::exec::gpu {

inline constexpr int kChannelThreads = 512;

// channel_loop.hpp's Policy on the device: one block of threads.
template <class T, class Op>
struct CudaChannelPolicy {
  // Long waits yield issue slots to other blocks every 256 polls.
  static constexpr unsigned kPollMask = 255;
  // Thread i loads and saves connection i's counters.
  static constexpr bool kThreadPerConn = true;
  static_assert(kChannelThreads >= kMaxConns);

  __device__ __forceinline__ unsigned thread() const { return threadIdx.x; }
  __device__ __forceinline__ std::size_t element_bytes() const { return sizeof(T); }
  __device__ __forceinline__ void barrier() const { __syncthreads(); }

  __device__ __forceinline__ std::uint64_t load_acquire(std::uint64_t* p) const {
    return cuda::atomic_ref<std::uint64_t, cuda::thread_scope_system>(*p).load(
        cuda::memory_order_acquire);
  }
  __device__ __forceinline__ void store_release(std::uint64_t* p, std::uint64_t v) const {
    cuda::atomic_ref<std::uint64_t, cuda::thread_scope_system>(*p).store(
        v, cuda::memory_order_release);
  }
  __device__ __forceinline__ std::uint64_t now_ns() const {
    std::uint64_t t;
    asm volatile("mov.u64 %0, %%globaltimer;" : "=l"(t));
    return t;
  }
  __device__ __forceinline__ void pause(unsigned spins) const {
    if ((spins & kPollMask) == kPollMask) __nanosleep(100);
  }
  // The flag is host-mapped memory the host (and the proxy) writes.
  __device__ __forceinline__ bool aborted(const DeviceWork& w) const {
    return w.abort != nullptr && *w.abort != 0;
  }
  __device__ __forceinline__ void raise_abort(const DeviceWork& w) const {
    if (w.abort != nullptr) *w.abort = 1;
  }

  __device__ __forceinline__ void reduce_copy(const plan::PieceOperands& o, std::uint64_t count,
                                              int divisor) const {
    reduce::gpu::Operands ops{};
    ops.count = count;
    ops.divisor = divisor;
    ops.num_inputs = o.num_inputs;
    ops.num_outputs = o.num_outputs;
    ops.in[0] = o.in[0];
    ops.in[1] = o.in[1];
    ops.out[0] = o.out[0];
    ops.out[1] = o.out[1];
    reduce::gpu::reduce_copy<T, Op>(ops, threadIdx.x, blockDim.x);
  }

  // The CPU test's hooks: nothing to check on the device.
  __device__ __forceinline__ bool message_fits(int, std::uint64_t, int, std::uint64_t,
                                               std::uint64_t) const {
    return true;
  }
  __device__ __forceinline__ void sent(int, std::uint64_t, std::uint64_t) const {}
  __device__ __forceinline__ void gave_up(DeviceError, int, std::uint64_t, int, bool) const {}
};

template <class T, class Op>
__global__ void __launch_bounds__(kChannelThreads, 1) channel_kernel(const WorkBatch batch) {
  __shared__ ChannelState state;
  CudaChannelPolicy<T, Op> policy;
  run_channel(batch.works[blockIdx.x], policy, state);
}

}  // namespace colossus::exec::gpu
