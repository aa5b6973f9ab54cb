// channel_loop.hpp: the channel kernel's loop, written once for two compilers.
//
// run_channel(work, policy, state) is one block of the persistent kernel
// (channel_kernel.cuh): it walks its channel's Steps in order, each in pieces
// of one FIFO slot. Per piece, thread 0 waits for the message and/or the free
// slot (acquire loads, with a deadline and the abort flag), the block runs
// the fused reduce-copy on the piece (operands: plan/step_io.hpp), and after
// a barrier thread 0 publishes the counters (release stores; the barrier
// orders every thread's writes before them). Protocol and data:
// device_plan.hpp.
//
// nvcc compiles it as device code with the CUDA policy (system-scope
// cuda::atomic_ref, %globaltimer, __syncthreads, the CUDA reduce-copy); the
// host compiler compiles it for the CPU test (tests/exec/channel_cpu.hpp:
// std::atomic_ref, steady_clock, the CPU reduce-copy, one thread a block),
// so the test runs this loop, not a copy of it. A Policy provides:
//
//   unsigned thread()                     this thread's index in the block
//   static constexpr bool kThreadPerConn  thread i loads and saves connection
//                                         i's counters (a block of at least
//                                         kMaxConns threads); else thread 0 all
//   std::size_t element_bytes()           the call's element size
//   void barrier()                        every thread of the block
//   uint64_t load_acquire(uint64_t*)      thread 0: a counter another agent writes
//   void store_release(uint64_t*, v)      thread 0: publish a counter
//   uint64_t now_ns()                     a clock for the wait deadlines
//   void pause(unsigned spins)            between two polls of one wait
//   static constexpr unsigned kPollMask   check abort and deadline when
//                                         (spins & kPollMask) == kPollMask
//   bool aborted(w), void raise_abort(w)  read / set *w.abort (may be null)
//   void reduce_copy(ops, count, divisor) every thread: its share of the piece
// and, for the CPU test's checks (the device's do nothing and cost nothing):
//   bool message_fits(step, done, conn, index, bytes)  thread 0, before a
//                                         received message is used; false stops
//                                         the block
//   void sent(conn, index, bytes)         thread 0, after a message is written
//   void gave_up(err, step, done, conn, for_slot)  thread 0, a wait failed
#pragma once

#include <cstdint>

#include "exec/cuda/device_plan.hpp"
#include "plan/step_io.hpp"

#if defined(__CUDACC__)
#define COLOSSUS_CHANNEL_FN __device__ __forceinline__
#else
#define COLOSSUS_CHANNEL_FN inline
#endif

namespace colossus::exec::gpu {

// What the threads of a block share (__shared__ on the device): the
// connections' counters, which only thread 0 touches between barriers, and
// whether the block stops.
struct ChannelState {
  std::uint64_t sent[kMaxConns];
  std::uint64_t received[kMaxConns];
  int stop;
};

// Spins until *flag >= value. Returns DeviceError::None, or why it gave up.
template <class Policy>
COLOSSUS_CHANNEL_FN DeviceError wait_at_least(Policy& p, std::uint64_t* flag, std::uint64_t value,
                                              const DeviceWork& w) {
  const std::uint64_t start = p.now_ns();
  for (unsigned spins = 0;; ++spins) {
    if (p.load_acquire(flag) >= value) return DeviceError::None;
    if ((spins & Policy::kPollMask) == Policy::kPollMask) {
      if (p.aborted(w)) return DeviceError::Aborted;
      if (w.timeout_ns != 0 && p.now_ns() - start > w.timeout_ns) return DeviceError::Timeout;
    }
    p.pause(spins);
  }
}

template <class Policy>
COLOSSUS_CHANNEL_FN char* element_address(const DeviceWork& w, int buffer, std::uint64_t elem,
                                          const Policy& p) {
  return static_cast<char*>(w.buffers[buffer]) + elem * p.element_bytes();
}

// f(i) for the connections this thread loads and saves the counters of.
template <class Policy, class F>
COLOSSUS_CHANNEL_FN void for_own_conns(const DeviceWork& w, unsigned tid, F f) {
  if constexpr (Policy::kThreadPerConn) {
    if (tid < static_cast<unsigned>(w.num_conns)) f(static_cast<int>(tid));
  } else if (tid == 0) {
    for (int i = 0; i < w.num_conns; ++i) f(i);
  }
}

// Thread 0: waits for what piece `done` of step `s` needs. On a failure it
// fills the status and raises the abort flag (sticky: see DeviceWork::abort).
// Returns whether the block may go on.
template <class Policy>
COLOSSUS_CHANNEL_FN bool wait_for_piece(const DeviceWork& w, Policy& p, ChannelState& st, int s,
                                        const DeviceStep& step, std::uint64_t done,
                                        std::uint64_t n) {
  const int rc = step.recv_conn, sc = step.send_conn;
  DeviceError err = DeviceError::None;
  int conn = -1;
  bool for_slot = false;  // which wait gave up (rc may equal sc)
  if (rc >= 0) {
    conn = rc;
    err = wait_at_least(p, w.conns[rc].recv_head, st.received[rc] + 1, w);
  }
  if (err == DeviceError::None && sc >= 0 && st.sent[sc] + 1 > w.depth) {
    conn = sc;
    for_slot = true;
    err = wait_at_least(p, w.conns[sc].send_tail, st.sent[sc] + 1 - w.depth, w);
  }
  if (err != DeviceError::None) {
    w.status->error = static_cast<int>(err);
    w.status->step = s;
    w.status->peer_conn = conn;
    p.raise_abort(w);
    p.gave_up(err, s, done, conn, for_slot);
    return false;
  }
  return rc < 0 || p.message_fits(s, done, rc, st.received[rc] % w.depth, n * p.element_bytes());
}

// Thread 0: the piece is consumed and written; tell the peers.
template <class Policy>
COLOSSUS_CHANNEL_FN void publish_piece(const DeviceWork& w, Policy& p, ChannelState& st,
                                       const DeviceStep& step, std::uint64_t n) {
  const int rc = step.recv_conn, sc = step.send_conn;
  const std::uint64_t bytes = n * p.element_bytes();
  if (rc >= 0) p.store_release(w.conns[rc].recv_tail_remote, ++st.received[rc]);
  if (sc >= 0) {
    const std::uint64_t index = st.sent[sc] % w.depth;
    if (w.conns[sc].send_sizes_remote != nullptr)  // a proxy peer: the network needs lengths
      w.conns[sc].send_sizes_remote[index] = static_cast<std::uint32_t>(bytes);
    p.sent(sc, index, bytes);
    p.store_release(w.conns[sc].send_head_remote, ++st.sent[sc]);
  }
}

// One block: every Step of `w`. Returns false when it stopped early (at
// entry on a raised abort flag, or on a failed wait: then w.status says where).
template <class Policy>
COLOSSUS_CHANNEL_FN bool run_channel(const DeviceWork& w, Policy& p, ChannelState& st) {
  const unsigned tid = p.thread();
  if (tid == 0) st.stop = p.aborted(w) ? 1 : 0;
  p.barrier();
  if (st.stop) return false;  // this rank's device work is dead (an earlier failure, or destroy)
  for_own_conns<Policy>(w, tid, [&](int i) {
    st.sent[i] = w.conns[i].progress[0];
    st.received[i] = w.conns[i].progress[1];
  });
  p.barrier();

  const std::uint64_t piece = w.slot_bytes / p.element_bytes();
  for (int s = 0; s < w.num_steps; ++s) {
    const DeviceStep step = w.steps[s];
    const auto kind = static_cast<plan::StepKind>(step.kind);
    const int rc = step.recv_conn, sc = step.send_conn;
    const int divisor = step.finalize ? w.divisor : 1;
    for (std::uint64_t done = 0; done < step.count; done += piece) {
      const std::uint64_t n = step.count - done < piece ? step.count - done : piece;
      if (tid == 0 && !wait_for_piece(w, p, st, s, step, done, n)) st.stop = 1;
      p.barrier();
      if (st.stop) return false;  // counters stay unsaved: the connection is dead

      plan::PiecePointers at;
      if (rc >= 0)
        at.msg = static_cast<const char*>(w.conns[rc].recv_ring) +
                 (st.received[rc] % w.depth) * w.slot_bytes;
      if (sc >= 0)
        at.slot = static_cast<char*>(w.conns[sc].send_ring_remote) +
                  (st.sent[sc] % w.depth) * w.slot_bytes;
      at.src = element_address(w, step.src_buffer, step.src_offset + done, p);
      at.dst = element_address(w, step.dst_buffer, step.dst_offset + done, p);
      const plan::PieceOperands ops = plan::bind(kind, at);
      if (ops.out[0] != nullptr && !ops.nothing_to_do(divisor)) p.reduce_copy(ops, n, divisor);
      p.barrier();  // every thread's reads of msg and writes of slot/dst are done

      if (tid == 0) publish_piece(w, p, st, step, n);
      // (Only thread 0 reads and writes the counters between the barriers.)
      p.barrier();
    }
  }
  for_own_conns<Policy>(w, tid, [&](int i) {
    w.conns[i].progress[0] = st.sent[i];
    w.conns[i].progress[1] = st.received[i];
  });
  return true;
}

}  // namespace colossus::exec::gpu
