// channel_kernel.cuh: the device-side executor's persistent kernel (nvcc only).
//
// channel_kernel<T, Op> runs one DeviceWork of its WorkBatch per block: the block walks its
// channel's Steps in order, each in pieces of one FIFO slot. Per piece, thread
// 0 waits for the message and/or the free slot (acquire loads at system scope,
// with a deadline and the abort flag), the block runs the fused reduce-copy
// (reduce_copy.cuh) on the piece, and after a barrier thread 0 publishes the
// counters (release stores at system scope; the barrier orders every thread's
// writes before them). Protocol and data: device_plan.hpp.
//
// Step -> reduce-copy operands, as the host executor (executor.cc) does:
//   Send               slot = src             Recv          dst = msg
//   RecvReduce         dst = msg (+) src       RecvReduceSend slot = msg (+) src
//   RecvCopySend       dst, slot = msg         RecvReduceCopySend dst, slot = msg (+) src
//   Copy               dst = src              Reduce        dst = dst (+) src
#pragma once

#include <cstdint>
#include <cuda/atomic>

#include "exec/cuda/device_plan.hpp"
#include "plan/plan.hpp"
#include "reduce/cuda/reduce_copy.cuh"

namespace colossus::exec::gpu {

inline constexpr int kChannelThreads = 512;

namespace detail {

__device__ __forceinline__ std::uint64_t global_ns() {
  std::uint64_t t;
  asm volatile("mov.u64 %0, %%globaltimer;" : "=l"(t));
  return t;
}

__device__ __forceinline__ std::uint64_t load_acquire(std::uint64_t* p) {
  return cuda::atomic_ref<std::uint64_t, cuda::thread_scope_system>(*p).load(
      cuda::memory_order_acquire);
}

__device__ __forceinline__ void store_release(std::uint64_t* p, std::uint64_t v) {
  cuda::atomic_ref<std::uint64_t, cuda::thread_scope_system>(*p).store(v,
                                                                       cuda::memory_order_release);
}

// Spins until *flag >= value. Returns DeviceError::None, or why it gave up.
__device__ inline DeviceError wait_at_least(std::uint64_t* flag, std::uint64_t value,
                                            const DeviceWork& w) {
  const std::uint64_t start = global_ns();
  for (unsigned spins = 0;; ++spins) {
    if (load_acquire(flag) >= value) return DeviceError::None;
    if ((spins & 255) == 255) {
      if (w.abort != nullptr && *w.abort != 0) return DeviceError::Aborted;
      if (w.timeout_ns != 0 && global_ns() - start > w.timeout_ns) return DeviceError::Timeout;
      __nanosleep(100);  // long waits yield issue slots to other blocks
    }
  }
}

__device__ __forceinline__ char* address(const DeviceWork& w, int buffer, std::uint64_t elem,
                                         std::size_t esize) {
  return static_cast<char*>(w.buffers[buffer]) + elem * esize;
}

}  // namespace detail

template <class T, class Op>
__global__ void __launch_bounds__(kChannelThreads, 1) channel_kernel(const WorkBatch batch) {
  using plan::StepKind;
  const DeviceWork& w = batch.works[blockIdx.x];
  const unsigned tid = threadIdx.x, nthreads = blockDim.x;
  __shared__ std::uint64_t sent[kMaxConns], received[kMaxConns];
  __shared__ int stop;
  if (tid == 0) stop = (w.abort != nullptr && *w.abort != 0) ? 1 : 0;
  __syncthreads();
  if (stop) return;  // this rank's device work is dead (an earlier failure, or destroy)
  if (tid < static_cast<unsigned>(w.num_conns)) {
    sent[tid] = w.conns[tid].progress[0];
    received[tid] = w.conns[tid].progress[1];
  }
  __syncthreads();

  const std::uint64_t piece = w.slot_bytes / sizeof(T);
  for (int s = 0; s < w.num_steps; ++s) {
    const DeviceStep step = w.steps[s];
    const auto kind = static_cast<StepKind>(step.kind);
    const int rc = step.recv_conn, sc = step.send_conn;
    const int divisor = step.finalize ? w.divisor : 1;
    for (std::uint64_t done = 0; done < step.count; done += piece) {
      const std::uint64_t n = step.count - done < piece ? step.count - done : piece;
      if (tid == 0) {
        DeviceError err = DeviceError::None;
        int conn = -1;
        if (rc >= 0) {
          conn = rc;
          err = detail::wait_at_least(w.conns[rc].recv_head, received[rc] + 1, w);
        }
        if (err == DeviceError::None && sc >= 0 && sent[sc] + 1 > w.depth) {
          conn = sc;
          err = detail::wait_at_least(w.conns[sc].send_tail, sent[sc] + 1 - w.depth, w);
        }
        if (err != DeviceError::None) {
          w.status->error = static_cast<int>(err);
          w.status->step = s;
          w.status->peer_conn = conn;
          if (w.abort != nullptr) *w.abort = 1;  // sticky: see DeviceWork::abort
          stop = 1;
        }
      }
      __syncthreads();
      if (stop) return;  // counters stay unsaved: the connection is dead

      const char* msg = rc >= 0 ? static_cast<const char*>(w.conns[rc].recv_ring) +
                                      (received[rc] % w.depth) * w.slot_bytes
                                : nullptr;
      char* slot = sc >= 0 ? static_cast<char*>(w.conns[sc].send_ring_remote) +
                                 (sent[sc] % w.depth) * w.slot_bytes
                           : nullptr;
      const char* src = detail::address(w, step.src_buffer, step.src_offset + done, sizeof(T));
      char* dst = detail::address(w, step.dst_buffer, step.dst_offset + done, sizeof(T));
      reduce::gpu::Operands ops{};
      ops.count = n;
      ops.divisor = divisor;
      ops.num_outputs = 1;
      ops.num_inputs = 1;
      switch (kind) {
        case StepKind::Send:
          ops.in[0] = src;
          ops.out[0] = slot;
          break;
        case StepKind::Recv:
          ops.in[0] = msg;
          ops.out[0] = dst;
          break;
        case StepKind::RecvReduce:
          ops.in[0] = msg;
          ops.in[1] = src;
          ops.num_inputs = 2;
          ops.out[0] = dst;
          break;
        case StepKind::RecvReduceSend:
          ops.in[0] = msg;
          ops.in[1] = src;
          ops.num_inputs = 2;
          ops.out[0] = slot;
          break;
        case StepKind::RecvCopySend:
          ops.in[0] = msg;
          ops.out[0] = dst;
          ops.out[1] = slot;
          ops.num_outputs = 2;
          break;
        case StepKind::RecvReduceCopySend:
          ops.in[0] = msg;
          ops.in[1] = src;
          ops.num_inputs = 2;
          ops.out[0] = dst;
          ops.out[1] = slot;
          ops.num_outputs = 2;
          break;
        case StepKind::Copy:
          ops.in[0] = src;
          ops.out[0] = dst;
          break;
        case StepKind::Reduce:
          ops.in[0] = dst;
          ops.in[1] = src;
          ops.num_inputs = 2;
          ops.out[0] = dst;
          break;
      }
      // An in-place Copy with nothing to finalize has nothing to do.
      if (!(kind == StepKind::Copy && ops.in[0] == ops.out[0] && divisor <= 1))
        reduce::gpu::reduce_copy<T, Op>(ops, tid, nthreads);
      __syncthreads();  // every thread's reads of msg and writes of slot/dst are done

      if (tid == 0) {
        if (rc >= 0) detail::store_release(w.conns[rc].recv_tail_remote, ++received[rc]);
        if (sc >= 0) {
          if (w.conns[sc].send_sizes_remote != nullptr)  // a proxy peer: the network needs lengths
            w.conns[sc].send_sizes_remote[sent[sc] % w.depth] =
                static_cast<std::uint32_t>(n * sizeof(T));
          detail::store_release(w.conns[sc].send_head_remote, ++sent[sc]);
        }
      }
      // (Only thread 0 reads and writes the counters between the barriers.)
      __syncthreads();
    }
  }
  if (tid < static_cast<unsigned>(w.num_conns)) {
    w.conns[tid].progress[0] = sent[tid];
    w.conns[tid].progress[1] = received[tid];
  }
}

}  // namespace colossus::exec::gpu
