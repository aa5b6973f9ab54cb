// channel_cpu.hpp: the device channel kernel's own loop on a CPU thread.
//
// lib/exec/cuda/channel_loop.hpp is the persistent kernel's loop, written
// once; nvcc instantiates it with the CUDA policy (channel_kernel.cuh), this
// test with CpuChannelPolicy: one std::thread plays a whole block (thread 0,
// barriers that have nothing to wait for), counters through std::atomic_ref
// (acquire / release, as the kernel's system-scope atomics), deadlines on
// steady_clock, and the library's CPU reduce-copy on the operands the loop
// binds (plan/step_io.hpp), as the host executor runs them.
//
// Test-only instrumentation, through the loop's hooks (empty on the device):
// the sender of every direct message records its byte count in a shadow array
// next to the receiver's ring, and the receiver checks the size of every
// message against the piece it cut itself (for proxied messages, the sizes the
// proxy delivered); a failed wait says which piece and which wait gave up.
#pragma once

#include <atomic>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <string>
#include <thread>
#include <vector>

#include "colossus/types.hpp"
#include "exec/cuda/channel_loop.hpp"
#include "exec/executor.hpp"

namespace colossus::test::emu {

using exec::gpu::DeviceError;
using exec::gpu::DeviceWork;

// Messages the channel loops have sent (for the log: the sweep is not vacuous).
inline std::atomic<std::uint64_t> g_messages{0};

// What a channel checks on its messages, per conn (test-only).
struct ConnCheck {
  std::uint32_t* shadow_send = nullptr;       // sender side: record each message's bytes here
  const std::uint32_t* recv_sizes = nullptr;  // receiver side: the bytes of each slot's message
};

class CpuChannelPolicy {
 public:
  // Abort and deadline checks every 16 polls.
  static constexpr unsigned kPollMask = 15;

  // `stop` (another channel of the run failed) stops every wait as the abort
  // flag does; `problem` receives what went wrong.
  CpuChannelPolicy(DataType dtype, ReduceOp op, const std::vector<ConnCheck>& checks,
                   const std::atomic<bool>& stop, std::string& problem)
      : dtype_(dtype),
        op_(op),
        esize_(dtype_size(dtype)),
        checks_(checks),
        stop_(stop),
        problem_(problem) {}

  static constexpr bool kThreadPerConn = false;  // the one thread has every connection

  unsigned thread() const { return 0; }
  std::size_t element_bytes() const { return esize_; }
  void barrier() const {}  // one thread is the whole block

  std::uint64_t load_acquire(std::uint64_t* p) const {
    return std::atomic_ref<std::uint64_t>(*p).load(std::memory_order_acquire);
  }
  void store_release(std::uint64_t* p, std::uint64_t v) const {
    std::atomic_ref<std::uint64_t>(*p).store(v, std::memory_order_release);
  }
  std::uint64_t now_ns() const {
    return static_cast<std::uint64_t>(std::chrono::duration_cast<std::chrono::nanoseconds>(
                                          std::chrono::steady_clock::now().time_since_epoch())
                                          .count());
  }
  // Yield first (the peer is likely mid-piece); a long wait sleeps a little,
  // so that 16 waiting threads leave 2 cores to the ones with work.
  void pause(unsigned spins) const {
    if (spins < 256)
      std::this_thread::yield();
    else
      std::this_thread::sleep_for(std::chrono::microseconds(10));
  }
  bool aborted(const DeviceWork& w) const {
    return (w.abort != nullptr && flag(w).load(std::memory_order_relaxed) != 0) ||
           stop_.load(std::memory_order_relaxed);
  }
  void raise_abort(const DeviceWork& w) const {
    if (w.abort != nullptr) flag(w).store(1, std::memory_order_relaxed);
  }

  void reduce_copy(const plan::PieceOperands& ops, std::uint64_t count, int divisor) const {
    exec::reduce_copy_piece(ops, dtype_, op_, count, divisor);
  }

  bool message_fits(int step, std::uint64_t done, int conn, std::uint64_t index,
                    std::uint64_t bytes) const {
    const std::uint32_t* sizes = checks_[static_cast<std::size_t>(conn)].recv_sizes;
    if (sizes == nullptr || sizes[index] == bytes) return true;
    problem_ = "step " + std::to_string(step) + " piece at " + std::to_string(done) +
               ": received a " + std::to_string(sizes[index]) + " B message, the step's piece is " +
               std::to_string(bytes) + " B (the ends cut the stream differently)";
    return false;
  }
  void sent(int conn, std::uint64_t index, std::uint64_t bytes) const {
    if (std::uint32_t* shadow = checks_[static_cast<std::size_t>(conn)].shadow_send)
      shadow[index] = static_cast<std::uint32_t>(bytes);
    g_messages.fetch_add(1, std::memory_order_relaxed);
  }
  void gave_up(DeviceError err, int step, std::uint64_t done, int conn, bool for_slot) const {
    problem_ = std::string(err == DeviceError::Timeout ? "timeout" : "aborted") +
               " waiting in step " + std::to_string(step) + " piece at " + std::to_string(done) +
               " on conn " + std::to_string(conn) + (for_slot ? " (free slot)" : " (message)");
  }

 private:
  // The abort flag is a volatile int the proxy may set from its thread.
  static std::atomic_ref<int> flag(const DeviceWork& w) {
    return std::atomic_ref<int>(*const_cast<int*>(w.abort));
  }

  DataType dtype_;
  ReduceOp op_;
  std::size_t esize_;
  const std::vector<ConnCheck>& checks_;
  const std::atomic<bool>& stop_;
  std::string& problem_;
};

// One block of channel_kernel: the loop over `w` on this thread. Returns ""
// or what went wrong (the status is filled as the kernel fills it).
inline std::string run_channel_on_cpu(const DeviceWork& w, DataType dtype, ReduceOp op,
                                      const std::vector<ConnCheck>& checks,
                                      const std::atomic<bool>& stop) {
  if (w.num_conns > exec::gpu::kMaxConns) return "more conns than kMaxConns";
  std::string problem;
  CpuChannelPolicy policy(dtype, op, checks, stop, problem);
  exec::gpu::ChannelState state;
  if (!exec::gpu::run_channel(w, policy, state) && problem.empty())
    problem = "stopped at entry: the rank's abort flag is up (an earlier failure)";
  return problem;
}

}  // namespace colossus::test::emu
